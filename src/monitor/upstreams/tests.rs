use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::journal::Record;
use crate::status::ComponentStatus;
use crate::upstream::Followed;
use crate::vocab::VendorIncident;

fn config() -> Config {
    let text = "[site]\ntitle = \"Shop\"\nbase_url = \"https://status.shop.example\"\ntimezone = \"UTC\"\n[site.contact]\nemail = \"help@shop.example\"\n\n[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"https://shop.example/\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"https://status.payments.example\"\ncomponents = [\"Card payments\"]\n";
    Config::parse(std::path::Path::new("forewarn.toml"), text, &|_| None).expect("config")
}

fn t(min: i64) -> DateTime<Utc> {
    "2026-11-28T10:00:00Z".parse::<DateTime<Utc>>().unwrap() + TimeDelta::minutes(min)
}

fn reading(status: ComponentStatus, incident: Option<&str>) -> Followed {
    Followed {
        reading: VendorReading {
            status: Some(status),
            components: BTreeMap::from([("Card payments".to_owned(), status)]),
            incidents: incident
                .map(|title| VendorIncident {
                    id: "p31".into(),
                    title: title.into(),
                    status: None,
                    impact: None,
                    url: "https://status.payments.example/incidents/p31".into(),
                    started_at: Some(t(-5)),
                    updated_at: None,
                    maintenance: false,
                })
                .into_iter()
                .collect(),
        },
        missing: Vec::new(),
        available: Vec::new(),
        ambiguous: Vec::new(),
    }
}

/// Feed reads to the watches, folding what they record into the view.
struct Run {
    config: Config,
    view: StatusView,
    watches: Watches,
    seq: u64,
}

impl Run {
    fn new() -> Run {
        Run {
            config: config(),
            view: StatusView::default(),
            watches: Watches::default(),
            seq: 0,
        }
    }

    fn read(&mut self, at: DateTime<Utc>, result: Result<Followed, PageError>) -> Outcome {
        let up = self.config.upstream("payments").expect("upstream").clone();
        let out = self.watches.read(&self.config, &self.view, &up, at, result);
        self.record(&out.events);
        out
    }

    fn record(&mut self, events: &[(DateTime<Utc>, Event)]) {
        for (at, e) in events {
            self.seq += 1;
            self.view.apply(&Record {
                seq: self.seq,
                at: *at,
                more: false,
                event: e.clone(),
            });
        }
    }
}

fn kinds(out: &Outcome) -> Vec<&str> {
    out.events.iter().map(|(_, e)| e.kind()).collect()
}

fn alerts(out: &Outcome) -> Vec<String> {
    out.alerts.iter().map(|(k, _, _)| k.clone()).collect()
}

#[test]
fn only_a_change_of_what_they_report_is_recorded() {
    let mut run = Run::new();
    let first = run.read(t(0), Ok(reading(ComponentStatus::Operational, None)));
    assert_eq!(kinds(&first), ["upstream.changed"]);
    assert!(first.alerts.is_empty(), "all is well");
    let same = run.read(t(1), Ok(reading(ComponentStatus::Operational, None)));
    assert!(same.events.is_empty(), "nothing new: {:?}", same.events);
    let trouble = run.read(
        t(2),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    assert_eq!(
        kinds(&trouble),
        ["upstream.changed"],
        "no incident of ours is open"
    );
    assert_eq!(alerts(&trouble).len(), 1, "operators hear once");
    let Event::OperatorAlert { message, kind, .. } = &trouble.alerts[0].1 else {
        panic!("an alert");
    };
    assert_eq!(kind, "upstream_trouble");
    assert!(
        message.contains(
            "Payment provider reports a partial outage affecting Card payments: \"Cards fail\""
        ),
        "{message}"
    );
    assert!(message.contains("Our checks of Checkout pass"), "{message}");
    let still = run.read(
        t(3),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    assert!(still.events.is_empty() && still.alerts.is_empty());
}

#[test]
fn an_unreadable_page_is_unknown_after_three_reads_and_told_after_fifteen_minutes() {
    let mut run = Run::new();
    run.read(
        t(0),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    let down = || {
        Err(PageError::Unreachable(
            "cannot connect to their page".into(),
        ))
    };
    assert!(
        run.read(t(1), down()).events.is_empty(),
        "one failed read is nothing"
    );
    assert!(run.read(t(2), down()).events.is_empty());
    let third = run.read(t(3), down());
    assert_eq!(kinds(&third), ["upstream.changed"]);
    let u = run.view.upstream("payments").expect("recorded");
    assert_eq!(u.reading.status, None, "unknown");
    assert_eq!(u.reason.as_deref(), Some("cannot connect to their page"));
    assert!(
        u.in_trouble(),
        "an unreadable page neither ends their trouble nor begins it"
    );
    assert!(third.alerts.is_empty(), "not yet told");
    assert!(run.read(t(10), down()).events.is_empty(), "recorded once");
    let later = run.read(t(16), down());
    assert_eq!(alerts(&later), ["upstream-unreadable:payments"]);
    let Event::OperatorAlert { message, .. } = &later.alerts[0].1 else {
        panic!("an alert");
    };
    assert!(
        message.contains("since 10:01 UTC on 28 November: cannot connect to their page"),
        "{message}"
    );
    assert!(message.contains("nothing is concluded about their service or ours"));
    // Readable again: known again, and the failures count from zero.
    let back = run.read(
        t(17),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    assert_eq!(kinds(&back), ["upstream.changed"]);
    assert!(run.read(t(18), down()).events.is_empty());
}

#[test]
fn a_name_not_on_their_page_is_told_with_the_names_it_has() {
    let mut run = Run::new();
    let mut followed = reading(ComponentStatus::Operational, None);
    followed.missing = vec!["Crad payments".into()];
    followed.available = vec!["API".into(), "Payments / Card payments".into()];
    let out = run.read(t(0), Ok(followed));
    assert_eq!(alerts(&out), ["upstream-missing:payments"]);
    let Event::OperatorAlert { message, .. } = &out.alerts[0].1 else {
        panic!("an alert");
    };
    assert!(
        message.contains("has no component named \"Crad payments\"")
            && message.contains("The names it has: API, Payments / Card payments."),
        "{message}"
    );
}

#[test]
fn an_automatic_incident_says_when_their_trouble_begins_and_ends() {
    let mut run = Run::new();
    run.read(t(0), Ok(reading(ComponentStatus::Operational, None)));
    // Our checkout fails: an automatic incident opens.
    let opened = crate::journal::Event::IncidentOpened {
        id: "checkout-1".into(),
        reference: "INC-2026-1128-checkout".into(),
        title: "Checkout: major outage".into(),
        components: BTreeMap::from([("checkout".to_owned(), ComponentStatus::MajorOutage)]),
        impact: crate::vocab::Impact::Critical,
        automatic: true,
        update: None,
        postmortem_url: None,
    };
    run.record(&[(t(1), opened)]);
    let begins = run.read(
        t(2),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    assert_eq!(kinds(&begins), ["upstream.changed", "incident.updated"]);
    let Event::IncidentUpdated { update, .. } = &begins.events[1].1 else {
        panic!("an update");
    };
    assert_eq!(
        update.message,
        "Payment provider, a service Checkout depends on, reports a partial outage affecting Card payments. This is the likely cause; we are following their repair."
    );
    let inc = &run.view.incidents["checkout-1"];
    assert_eq!(inc.causes.len(), 1);
    assert_eq!(inc.causes[0].title.as_deref(), Some("Cards fail"));
    assert_eq!(inc.causes[0].reported_at, t(-5), "their incident's start");
    assert!(
        alerts(&begins)[0].starts_with("upstream-trouble:payments:"),
        "{:?}",
        alerts(&begins)
    );
    let Event::OperatorAlert { message, .. } = &begins.alerts[0].1 else {
        panic!("an alert");
    };
    assert!(
        message.contains("Our open incident about Checkout names them as the likely cause."),
        "{message}"
    );
    let ends = run.read(t(9), Ok(reading(ComponentStatus::Operational, None)));
    assert_eq!(kinds(&ends), ["upstream.changed", "incident.updated"]);
    let Event::IncidentUpdated { update, .. } = &ends.events[1].1 else {
        panic!("an update");
    };
    assert!(
        update
            .message
            .starts_with("Payment provider reports the problem on their side fixed.")
    );
    assert_eq!(
        run.view.incidents["checkout-1"].causes[0].fixed_at,
        Some(t(9))
    );
}

fn open_incident(run: &mut Run, at: DateTime<Utc>) {
    let opened = Event::IncidentOpened {
        id: "checkout-2".into(),
        reference: "INC-2026-1128-checkout-2".into(),
        title: "Checkout: major outage".into(),
        components: BTreeMap::from([("checkout".to_owned(), ComponentStatus::MajorOutage)]),
        impact: crate::vocab::Impact::Critical,
        automatic: true,
        update: None,
        postmortem_url: None,
    };
    run.record(&[(at, opened)]);
}

#[test]
fn a_page_that_cannot_be_read_names_no_new_cause() {
    let mut run = Run::new();
    run.read(
        t(0),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    let down = || {
        Err(PageError::Unreachable(
            "cannot connect to their page".into(),
        ))
    };
    for m in 1..=3 {
        run.read(t(m), down());
    }
    assert_eq!(
        run.view.upstream("payments").expect("kept").reading.status,
        None
    );
    open_incident(&mut run, t(4));
    assert!(
        run.view.incidents["checkout-2"].causes.is_empty(),
        "nobody knows what they report now"
    );
    // Readable again, still in trouble: now it is named, with what they say.
    run.read(
        t(5),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    let causes = &run.view.incidents["checkout-2"].causes;
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].title.as_deref(), Some("Cards fail"));
    assert_eq!(causes[0].parts, ["Card payments"]);
}

#[test]
fn every_followed_name_missing_is_unknown_and_says_why() {
    let mut run = Run::new();
    let followed = Followed {
        reading: VendorReading::default(),
        missing: vec!["Card payments".into()],
        available: vec!["API".into()],
        ambiguous: Vec::new(),
    };
    let out = run.read(t(0), Ok(followed));
    assert_eq!(kinds(&out), ["upstream.changed"]);
    let u = run.view.upstream("payments").expect("recorded");
    assert_eq!(u.reading.status, None);
    assert_eq!(
        u.reason.as_deref(),
        Some("none of the components followed is on their page")
    );
}

#[test]
fn a_slow_page_is_not_called_unreadable_before_it_is_unknown() {
    let mut run = Run::new();
    run.read(t(0), Ok(reading(ComponentStatus::Operational, None)));
    let down = || {
        Err(PageError::Unreachable(
            "cannot connect to their page".into(),
        ))
    };
    // Read every 10 minutes: the second failure is 20 minutes after the first.
    assert!(run.read(t(10), down()).alerts.is_empty());
    assert!(
        run.read(t(30), down()).alerts.is_empty(),
        "two failures: not yet unknown"
    );
    let third = run.read(t(50), down());
    assert_eq!(kinds(&third), ["upstream.changed"]);
    assert_eq!(alerts(&third), ["upstream-unreadable:payments"]);
}

#[test]
fn the_heads_up_goes_only_to_components_that_work() {
    let text = "[site]\ntitle = \"Shop\"\nbase_url = \"https://status.shop.example\"\ntimezone = \"UTC\"\n[site.contact]\nemail = \"help@shop.example\"\n\n[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"https://shop.example/\"\n\n[[component]]\nid = \"refunds\"\nname = \"Refunds\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"https://refunds.shop.example/\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"https://status.payments.example\"\ncomponents = [\"Card payments\"]\nnotify_customers = true\n";
    let mut run = Run::new();
    run.config =
        Config::parse(std::path::Path::new("forewarn.toml"), text, &|_| None).expect("config");
    run.read(t(0), Ok(reading(ComponentStatus::Operational, None)));
    // Refunds is slow, with no incident (yet).
    run.record(&[(
        t(1),
        Event::ComponentStatusChanged {
            component: "refunds".into(),
            from: ComponentStatus::Operational,
            to: ComponentStatus::DegradedPerformance,
            reason: "slow".into(),
            incident: None,
        },
    )]);
    run.read(
        t(2),
        Ok(reading(ComponentStatus::PartialOutage, Some("Cards fail"))),
    );
    let told = run
        .view
        .upstream("payments")
        .and_then(|u| u.heads_up.clone())
        .expect("told");
    assert_eq!(
        told.components,
        ["checkout"],
        "not refunds, which does not pass"
    );
}

#[test]
fn maintenance_under_way_on_a_page_that_is_otherwise_fine_reads_as_maintenance() {
    let mut followed = reading(ComponentStatus::Operational, Some("Database upgrade"));
    followed.reading.incidents[0].maintenance = true;
    assert_eq!(
        followed.reading.worst(),
        Some(ComponentStatus::UnderMaintenance)
    );
    followed.reading.incidents[0].maintenance = false;
    assert_eq!(
        followed.reading.worst(),
        Some(ComponentStatus::DegradedPerformance)
    );
}
