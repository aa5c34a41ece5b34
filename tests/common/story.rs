//! A realistic status history for site tests: components with 90 days of hourly rollups,
//! incidents (automatic, declared, resolved with an apology, one still open) and planned
//! maintenance, recorded in a real journal.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Days, DurationRound, TimeDelta, Utc};
use forewarn::config::Config;
use forewarn::journal::{
    Event, IncidentUpdate, Journal, MaintenanceWindow, VendorIncident, VendorReading,
};
use forewarn::rollup::HourRollup;
use forewarn::status::{ComponentStatus, Impact, IncidentStatus, StatusView};

pub struct Story {
    pub config: Config,
    pub view: StatusView,
    pub state: PathBuf,
    pub now: DateTime<Utc>,
    /// The open incident's title, shown on the front page.
    pub open_title: String,
}

fn upd(at: DateTime<Utc>, status: IncidentStatus, message: &str) -> IncidentUpdate {
    IncidentUpdate {
        at,
        status,
        message: message.into(),
        eta: None,
        notify: true,
        apology: None,
        credit: None,
        automatic: false,
        next_update: None,
    }
}

/// Write the story for `n` components into `dir`.
pub fn write(dir: &Path, n: usize) -> Story {
    write_with(dir, n, "")
}

/// As [`write`], with more configuration (`extra`) before the components.
pub fn write_with(dir: &Path, n: usize, extra: &str) -> Story {
    // A vendor we depend on, followed; listed for customers (nothing private depends on it).
    let mut components = format!(
        "{extra}[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"https://status.payments.acme.test\"\ncomponents = [\"Card payments\"]\n\n"
    );
    for i in 0..n {
        let group = if i < n / 2 { "Core" } else { "Integrations" };
        components.push_str(&format!(
            "[[component]]\nid = \"c{i}\"\nname = \"Component {i}\"\ngroup = \"{group}\"\ndescription = \"What customers use, number {i}.\"\n[component.check]\nurl = \"https://c{i}.acme.test/health\"\n\n"
        ));
    }
    let config_path = super::write_config(dir, &components);
    let config = Config::load(&config_path).expect("story config");
    let state = dir.join("state");
    let now = Utc::now();
    let hour = now.duration_trunc(TimeDelta::hours(1)).expect("hour");

    // 90 days of hourly rollups; a bad afternoon now and then.
    let rollups = state.join("rollups");
    std::fs::create_dir_all(&rollups).expect("mkdir");
    let mut files: BTreeMap<String, std::fs::File> = BTreeMap::new();
    for h in 1..(90 * 24) {
        let at = hour - TimeDelta::hours(h);
        let day = at.date_naive().to_string();
        let f = files.entry(day.clone()).or_insert_with(|| {
            std::fs::File::create(rollups.join(format!("{day}.jsonl"))).expect("create")
        });
        for i in 0..n {
            let failures = if (h as usize + i * 7).is_multiple_of(211) {
                30
            } else {
                0
            };
            let row = HourRollup {
                component: format!("c{i}"),
                location: None,
                hour: at,
                checks: 120,
                failures,
                degraded: 0,
                maintenance: 0,
                p50_ms: 40 + ((h as u32 + i as u32) % 17),
                p95_ms: 120,
                max_ms: 300,
            };
            serde_json::to_writer(&mut *f, &row).expect("row");
            f.write_all(b"\n").expect("newline");
        }
    }
    drop(files);

    let (mut journal, _) = Journal::open(&state).expect("journal");
    let mut events: Vec<(DateTime<Utc>, Event)> = Vec::new();
    let day = |d: u64| now.checked_sub_days(Days::new(d)).expect("day");
    // A resolved automatic incident.
    let t = day(20);
    events.push((
        t,
        Event::ComponentStatusChanged {
            component: "c0".into(),
            from: ComponentStatus::Operational,
            to: ComponentStatus::MajorOutage,
            reason: "HTTP 503".into(),
            incident: Some("INC-auto".into()),
        },
    ));
    events.push((
        t,
        Event::IncidentOpened {
            id: "INC-auto".into(),
            reference: "INC-auto".into(),
            title: "Component 0 & search <beta>: major outage".into(),
            components: BTreeMap::from([("c0".to_string(), ComponentStatus::MajorOutage)]),
            impact: Impact::Critical,
            automatic: true,
            update: Some(IncidentUpdate {
                automatic: true,
                next_update: None,
                ..upd(
                    t,
                    IncidentStatus::Investigating,
                    "We are seeing errors on Component 0 and are investigating.",
                )
            }),
            postmortem_url: None,
        },
    ));
    let r = t + TimeDelta::minutes(40);
    events.push((
        r,
        Event::ComponentStatusChanged {
            component: "c0".into(),
            from: ComponentStatus::MajorOutage,
            to: ComponentStatus::Operational,
            reason: "ok".into(),
            incident: Some("INC-auto".into()),
        },
    ));
    let mut fixed = upd(
        r,
        IncidentStatus::Resolved,
        "Component 0 works normally again.",
    );
    fixed.apology = Some("We are sorry for the **40 minutes** of trouble.".into());
    fixed.credit = Some("We have credited 10% of this month's fee to affected accounts.".into());
    events.push((
        r,
        Event::IncidentResolved {
            id: "INC-auto".into(),
            reference: "INC-auto".into(),
            duration_secs: 2400,
            update: Some(fixed),
        },
    ));
    // An open declared incident with an ETA.
    let o = now - TimeDelta::minutes(50);
    let open_title = "Card payments failing for some customers".to_owned();
    let mut first = upd(
        o,
        IncidentStatus::Investigating,
        "Some card payments fail. We are looking into it.",
    );
    first.eta = Some(now + TimeDelta::hours(2));
    events.push((
        o,
        Event::IncidentOpened {
            id: "cards".into(),
            reference: "INC-now-cards".into(),
            title: open_title.clone(),
            components: BTreeMap::from([("c1".to_string(), ComponentStatus::PartialOutage)]),
            impact: Impact::Major,
            automatic: false,
            update: Some(first),
            postmortem_url: None,
        },
    ));
    events.push((o + TimeDelta::minutes(20), Event::IncidentUpdated { id: "cards".into(), reference: "INC-now-cards".into(), update: upd(o + TimeDelta::minutes(20), IncidentStatus::Identified, "A faulty release; we are **rolling it back**. See [our notes](https://acme.test/notes).") }));
    // The payment provider reports trouble with cards, in words that need escaping: the
    // open incident of card payments names them as its likely cause.
    events.push((
        o + TimeDelta::minutes(30),
        Event::UpstreamChanged {
            upstream: "payments".into(),
            name: "Payment provider".into(),
            page: "https://status.payments.acme.test/".into(),
            reading: VendorReading {
                status: Some(ComponentStatus::PartialOutage),
                components: BTreeMap::from([(
                    "Card payments".to_owned(),
                    ComponentStatus::PartialOutage,
                )]),
                incidents: vec![VendorIncident {
                    id: "p31".into(),
                    title: "Cards <declined> & \"slow\"".into(),
                    status: Some(IncidentStatus::Identified),
                    impact: Some(Impact::Major),
                    url: "https://status.payments.acme.test/incidents/p31?a=1&b=2".into(),
                    started_at: Some(o + TimeDelta::minutes(25)),
                    updated_at: Some(o + TimeDelta::minutes(28)),
                    maintenance: false,
                }],
            },
            affects: vec!["c1".into()],
            notify_customers: false,
            reason: None,
        },
    ));
    // A window announced, moved a day later, then cancelled.
    let cdn = |starts_at: DateTime<Utc>| MaintenanceWindow {
        title: "CDN switch".into(),
        components: vec!["c2".into()],
        starts_at,
        ends_at: starts_at + TimeDelta::hours(1),
        message: "Pages may load slowly for a few minutes & images a little longer.".into(),
    };
    let first_start = now + TimeDelta::days(5);
    events.push((
        now - TimeDelta::minutes(25),
        Event::MaintenanceScheduled {
            id: "cdn-switch".into(),
            window: cdn(first_start),
        },
    ));
    events.push((
        now - TimeDelta::minutes(15),
        Event::MaintenanceChanged {
            id: "cdn-switch".into(),
            window: cdn(first_start + TimeDelta::days(1)),
        },
    ));
    events.push((
        now - TimeDelta::minutes(5),
        Event::MaintenanceCancelled {
            id: "cdn-switch".into(),
        },
    ));
    // Planned maintenance.
    events.push((
        now,
        Event::MaintenanceScheduled {
            id: "db-upgrade".into(),
            window: MaintenanceWindow {
                title: "Database upgrade".into(),
                components: vec!["c2".into()],
                starts_at: now + TimeDelta::days(3),
                ends_at: now + TimeDelta::days(3) + TimeDelta::hours(2),
                message: "Writes pause for two hours; nothing you send is lost.".into(),
            },
        },
    ));
    let records = journal.append(events).expect("append");
    let view = StatusView::from_records(&records);
    Story {
        config,
        view,
        state,
        now,
        open_title,
    }
}
