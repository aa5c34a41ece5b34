//! The same journal gives the same files: nothing a tool reads (the API, feeds, the
//! calendar, badges) moves with the build's clock, so ETags hold and diffs are real.
//! Components say when they first appeared and last changed; an incident's components
//! stand where they stand on the page.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};
use forewarn::config::Config;
use forewarn::journal::{Event, IncidentUpdate, Journal, MaintenanceWindow};
use forewarn::site::Builder;
use forewarn::status::{ComponentStatus, Impact, IncidentStatus, StatusView};
use serde_json::Value;

const COMPONENTS: &str = r#"
[[component]]
id = "api"
name = "Public API"
group = "Core"
[component.check]
url = "https://api.acme.test/health"

[[component]]
id = "checkout"
name = "Checkout"
group = "Core"
[component.check]
url = "https://shop.acme.test/health"

[[component]]
id = "db"
name = "Database"
[component.check]
kind = "tcp"
address = "db.acme.test:5432"

[[component]]
id = "cdn"
name = "Images"
[component.check]
kind = "tcp"
address = "cdn.acme.test:443"
"#;

struct Story {
    config: Config,
    view: StatusView,
    journal: Journal,
    state: std::path::PathBuf,
    /// When the journal began, api degraded, api recovered, the incident opened.
    began: DateTime<Utc>,
    degraded: DateTime<Utc>,
    recovered: DateTime<Utc>,
    opened: DateTime<Utc>,
    now: DateTime<Utc>,
}

fn story(dir: &Path) -> Story {
    let path = common::write_config(dir, COMPONENTS);
    let config = Config::load(&path).expect("config");
    let state = dir.join("state");
    let (mut journal, _) = Journal::open(&state).expect("journal");
    let now = Utc::now();
    let began = now - TimeDelta::days(3);
    let degraded = now - TimeDelta::days(2);
    let recovered = degraded + TimeDelta::minutes(40);
    let opened = now - TimeDelta::hours(2);
    let update = IncidentUpdate {
        at: opened,
        status: IncidentStatus::Investigating,
        message: "Card payments fail for some customers & we are on it.".into(),
        eta: None,
        notify: true,
        apology: None,
        credit: None,
        automatic: false,
        next_update: None,
    };
    let records = journal
        .append(vec![
            (
                began,
                Event::ComponentVisibility {
                    component: "api".into(),
                    public: true,
                },
            ),
            (
                degraded,
                Event::ComponentStatusChanged {
                    component: "api".into(),
                    from: ComponentStatus::Operational,
                    to: ComponentStatus::DegradedPerformance,
                    reason: "slow".into(),
                    incident: None,
                },
            ),
            (
                recovered,
                Event::ComponentStatusChanged {
                    component: "api".into(),
                    from: ComponentStatus::DegradedPerformance,
                    to: ComponentStatus::Operational,
                    reason: "ok".into(),
                    incident: None,
                },
            ),
            (
                opened,
                Event::IncidentOpened {
                    id: "cards".into(),
                    reference: "INC-cards".into(),
                    title: "Card payments failing".into(),
                    components: BTreeMap::from([(
                        "checkout".to_string(),
                        ComponentStatus::PartialOutage,
                    )]),
                    impact: Impact::Major,
                    automatic: false,
                    update: Some(update),
                    postmortem_url: None,
                },
            ),
            (
                opened,
                Event::MaintenanceScheduled {
                    id: "db-upgrade".into(),
                    window: db_window(now + TimeDelta::days(2)),
                },
            ),
        ])
        .expect("append");
    Story {
        view: StatusView::from_records(&records),
        journal,
        config,
        state,
        began,
        degraded,
        recovered,
        opened,
        now,
    }
}

fn db_window(starts_at: DateTime<Utc>) -> MaintenanceWindow {
    MaintenanceWindow {
        title: "Database upgrade".into(),
        components: vec!["db".into()],
        starts_at,
        ends_at: starts_at + TimeDelta::hours(2),
        message: "Writes pause for two hours.".into(),
    }
}

/// Every file of a built site, by path.
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn build(s: &Story, out: &Path, now: DateTime<Utc>) -> BTreeMap<String, Vec<u8>> {
    let mut b = Builder::new(&s.config, out.to_owned()).expect("builder");
    b.build_all(&s.config, &s.view, &s.state, now)
        .expect("build");
    files(out)
}

fn iso(at: DateTime<Utc>) -> String {
    forewarn::present::text::iso(at)
}

#[test]
fn the_same_journal_gives_the_same_files_whenever_it_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let s = story(dir.path());
    let first = build(&s, &dir.path().join("a"), s.now);
    let again = build(&s, &dir.path().join("b"), s.now);
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        again.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &first {
        assert!(again[path] == *bytes, "{path} differs between two builds");
    }

    // Seven minutes later, with nothing new: what tools read is the same, byte for byte.
    let later = build(&s, &dir.path().join("c"), s.now + TimeDelta::minutes(7));
    let data: Vec<&String> = first
        .keys()
        // Pages say how long an open incident has lasted; the manifest lists their digests.
        .filter(|p| !p.ends_with(".html") && !p.ends_with(".css") && !p.starts_with('.'))
        .collect();
    for expected in [
        "api/v2/summary.json",
        "api/v2/components.json",
        "feed.atom",
        "history.rss",
        "maintenance.ics",
        "components/db.atom",
        "badge.svg",
    ] {
        assert!(data.iter().any(|p| *p == expected), "{expected} is built");
    }
    for path in data {
        assert!(
            later[path] == first[path],
            "{path} moved with the clock:\n{}\n---\n{}",
            String::from_utf8_lossy(&first[path]),
            String::from_utf8_lossy(&later[path])
        );
    }
}

#[test]
fn components_say_when_they_appeared_and_last_changed() {
    let dir = tempfile::tempdir().unwrap();
    let s = story(dir.path());
    let site = build(&s, &dir.path().join("site"), s.now);
    let json = |p: &str| -> Value { serde_json::from_slice(&site[p]).expect(p) };
    let components = json("api/v2/components.json");
    let by_id = |id: &str| -> Value {
        components["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} in components.json"))
            .clone()
    };
    let api = by_id("api");
    assert_eq!(
        api["created_at"],
        iso(s.began),
        "first named in the journal"
    );
    assert_eq!(
        api["updated_at"],
        iso(s.recovered),
        "its last status change"
    );
    assert_ne!(api["updated_at"], iso(s.degraded));
    let checkout = by_id("checkout");
    assert_eq!(
        checkout["created_at"],
        iso(s.opened),
        "named by the incident"
    );
    assert_eq!(checkout["updated_at"], iso(s.opened));
    let db = by_id("db");
    assert_eq!(
        db["created_at"],
        iso(s.opened),
        "named by its maintenance window"
    );
    assert_eq!(
        db["updated_at"],
        iso(s.opened),
        "the window has not started"
    );
    let cdn = by_id("cdn");
    assert_eq!(
        cdn["created_at"],
        iso(s.began),
        "never named: there since monitoring began"
    );
    assert_eq!(cdn["updated_at"], iso(s.began));
    let core = by_id("group-core");
    assert_eq!(core["created_at"], iso(s.began), "its first member's");
    assert_eq!(core["updated_at"], iso(s.opened), "its latest member's");

    // An incident's components stand where they stand on the page.
    let incidents = json("api/v2/incidents.json");
    let affected = &incidents["incidents"][0]["components"];
    assert_eq!(affected[0]["id"], "checkout");
    assert_eq!(affected[0]["position"], 2, "{affected}");
    assert_eq!(affected[0]["position"], checkout["position"]);
}

#[test]
fn a_moved_window_keeps_its_feed_entry_and_calendar_event_and_says_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = story(dir.path());
    let before = build(&s, &dir.path().join("a"), s.now);
    let entry_ids = |site: &BTreeMap<String, Vec<u8>>| -> Vec<String> {
        let feed: atom_syndication::Feed = String::from_utf8_lossy(&site["components/db.atom"])
            .parse()
            .expect("Atom");
        feed.entries().iter().map(|e| e.id().to_owned()).collect()
    };
    let first = entry_ids(&before);
    assert_eq!(
        first.len(),
        1,
        "the window is in the component's feed: {first:?}"
    );
    let ics = |site: &BTreeMap<String, Vec<u8>>| {
        String::from_utf8_lossy(&site["maintenance.ics"]).into_owned()
    };
    assert!(ics(&before).contains("SEQUENCE:0"), "{}", ics(&before));

    // The next day, the window moves a day later.
    let moved_at = s.now + TimeDelta::days(1);
    let records = s
        .journal
        .append(vec![(
            moved_at,
            Event::MaintenanceChanged {
                id: "db-upgrade".into(),
                window: db_window(s.now + TimeDelta::days(3)),
            },
        )])
        .expect("append");
    for r in &records {
        s.view.apply(r);
    }
    let after = build(&s, &dir.path().join("b"), moved_at);
    assert_eq!(entry_ids(&after), first, "the same entry, not a second one");
    let cal = ics(&after);
    assert!(cal.contains("SEQUENCE:1"), "{cal}");
    assert!(cal.contains("UID:db-upgrade@status.test.example"), "{cal}");
    assert!(
        cal.contains(&format!("DTSTAMP:{}", moved_at.format("%Y%m%dT%H%M%SZ"))),
        "stamped when it changed: {cal}"
    );
}
