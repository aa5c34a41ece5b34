use super::*;
use crate::journal::Record;
use crate::vocab::Impact;

const PARIS: Tz = chrono_tz::Europe::Paris;

fn config() -> Config {
    let mut c = crate::config::tests::minimal();
    c.site.timezone = PARIS;
    c
}

fn component() -> Component {
    config().components[0].clone()
}

fn tr(from: ComponentStatus, to: ComponentStatus, at: &str) -> Transition {
    Transition {
        from,
        to,
        reason: "HTTP 503 from 10.0.0.7".into(),
        at: at.parse().unwrap(),
        certificate: None,
        seen_from: None,
    }
}

/// `events_for` under the test configuration.
fn events(c: &Component, t: &Transition, view: &StatusView) -> Vec<(DateTime<Utc>, Event)> {
    events_for(&config(), c, t, view)
}

fn apply(view: &mut StatusView, events: Vec<(DateTime<Utc>, Event)>) {
    for (at, event) in events {
        let seq = view.last_seq + 1;
        view.apply(&Record {
            seq,
            at,
            more: false,
            event,
        });
    }
}

use ComponentStatus::*;

/// A person posts an "identified" update on the incident `id`.
fn person_writes(view: &mut StatusView, id: &str, at: &str, message: &str) {
    let at: DateTime<Utc> = at.parse().unwrap();
    apply(
        view,
        vec![(
            at,
            Event::IncidentUpdated {
                id: id.to_owned(),
                reference: id.to_owned(),
                update: IncidentUpdate {
                    at,
                    status: IncidentStatus::Identified,
                    message: message.into(),
                    eta: None,
                    notify: true,
                    apology: None,
                    credit: None,
                    automatic: false,
                    next_update: None,
                },
            },
        )],
    );
}

#[test]
fn an_outage_opens_one_incident_in_plain_words_and_recovery_resolves_it() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T23:30:00Z"),
        &view,
    );
    assert_eq!(opened.len(), 2);
    match &opened[1].1 {
        Event::IncidentOpened {
            reference,
            title,
            update: Some(u),
            ..
        } => {
            // 23:30 UTC is already the 23rd in Paris.
            assert_eq!(reference, "INC-2026-1123-api");
            assert_eq!(title, "Public API: major outage");
            assert_eq!(
                u.message,
                "We are seeing errors on Public API and are investigating. We will post an update within 30 minutes."
            );
            assert!(u.automatic && u.notify);
            assert!(
                !u.message.contains("10.0.0.7"),
                "probe internals stay private"
            );
        }
        other => panic!("expected an opening with an update, got {other:?}"),
    }
    apply(&mut view, opened);

    let worse = events(
        &c,
        &tr(MajorOutage, PartialOutage, "2026-11-22T23:35:00Z"),
        &view,
    );
    assert_eq!(
        worse.len(),
        3,
        "no second incident while one is open: {worse:?}"
    );
    assert!(matches!(&worse[1].1, Event::IncidentChanged { .. }));
    apply(&mut view, worse);

    let fixed = events(
        &c,
        &tr(PartialOutage, Operational, "2026-11-22T23:40:00Z"),
        &view,
    );
    // It eased to a partial outage before recovering: history remembers it at its worst.
    match &fixed[1].1 {
        Event::IncidentChanged { title, impact, .. } => {
            assert_eq!(
                (title.as_str(), *impact),
                ("Public API: major outage", Impact::Critical)
            );
        }
        other => panic!("expected the worst restored, got {other:?}"),
    }
    match &fixed[2].1 {
        Event::IncidentResolved {
            duration_secs,
            update: Some(u),
            ..
        } => {
            assert_eq!(*duration_secs, 600);
            assert_eq!(u.status, IncidentStatus::Resolved);
            assert!(
                u.message
                    .starts_with("Public API is working normally again.")
            );
        }
        other => panic!("expected a resolution, got {other:?}"),
    }
    apply(&mut view, fixed);

    let again = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-23T08:00:00Z"),
        &view,
    );
    match &again[1].1 {
        Event::IncidentOpened { reference, .. } => assert_eq!(reference, "INC-2026-1123-api-2"),
        other => panic!("expected an opening, got {other:?}"),
    }
}

#[test]
fn public_detail_publishes_what_the_checks_see() {
    let mut c = component();
    c.public_detail = true;
    let opened = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:00:00Z"),
        &StatusView::default(),
    );
    let Event::IncidentOpened {
        update: Some(u), ..
    } = &opened[1].1
    else {
        panic!("expected an opening")
    };
    assert!(
        u.message
            .ends_with("What our checks see: HTTP 503 from 10.0.0.7."),
        "{}",
        u.message
    );
}

#[test]
fn every_automatic_update_promises_the_next_one_except_the_resolution() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:00:00Z"),
        &view,
    );
    let Event::IncidentOpened {
        update: Some(u), ..
    } = &opened[1].1
    else {
        panic!("expected an opening")
    };
    assert_eq!(u.next_update, Some("2026-11-22T10:30:00Z".parse().unwrap()));
    apply(&mut view, opened);
    let fixed = events(
        &c,
        &tr(MajorOutage, Operational, "2026-11-22T10:10:00Z"),
        &view,
    );
    let Event::IncidentResolved {
        update: Some(u), ..
    } = &fixed[1].1
    else {
        panic!("expected a resolution")
    };
    assert_eq!(u.next_update, None);
}

#[test]
fn an_escalation_retitles_the_incident_keeps_its_status_and_says_what_changed() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events(
        &c,
        &tr(Operational, DegradedPerformance, "2026-11-22T10:00:00Z"),
        &view,
    );
    apply(&mut view, opened);
    let id = view.open_incidents().next().unwrap().id.clone();
    // A person said what they found; the symptoms then got worse.
    person_writes(&mut view, &id, "2026-11-22T10:02:00Z", "A slow disk.");
    let worse = events(
        &c,
        &tr(DegradedPerformance, MajorOutage, "2026-11-22T10:05:00Z"),
        &view,
    );
    assert_eq!(worse.len(), 3, "{worse:?}");
    match &worse[1].1 {
        Event::IncidentChanged { title, impact, .. } => {
            assert_eq!(title, "Public API: major outage");
            assert_eq!(*impact, Impact::Critical);
        }
        other => panic!("expected the header to follow, got {other:?}"),
    }
    match &worse[2].1 {
        Event::IncidentUpdated { update, .. } => {
            assert_eq!(update.status, IncidentStatus::Identified);
            assert!(
                update
                    .message
                    .contains("now a major outage (it was degraded performance)"),
                "{}",
                update.message
            );
        }
        other => panic!("expected an update, got {other:?}"),
    }
    apply(&mut view, worse);
    let inc = &view.incidents[&id];
    assert_eq!(
        (inc.title.as_str(), inc.impact),
        ("Public API: major outage", Impact::Critical)
    );
    assert_eq!(inc.opened_title, "Public API: degraded performance");

    // Easing back to a slowdown: the header follows down too.
    let better = events(
        &c,
        &tr(MajorOutage, DegradedPerformance, "2026-11-22T10:10:00Z"),
        &view,
    );
    apply(&mut view, better);
    let inc = &view.incidents[&id];
    assert_eq!(
        (inc.title.as_str(), inc.impact),
        ("Public API: degraded performance", Impact::Minor)
    );
    assert!(
        inc.updates
            .last()
            .unwrap()
            .message
            .contains("partly working again")
    );
}

#[test]
fn a_refused_certificate_is_told_in_words_customers_know() {
    let mut c = component();
    c.check.target = crate::config::Target::Tls(crate::config::TlsTarget {
        host: "www.acme.test".into(),
        port: 443,
        server_name: "www.acme.test".into(),
        warn_days: 14,
        verify: true,
        ca_file: None,
        extra_roots: Vec::new(),
    });
    let mut expired = tr(Operational, MajorOutage, "2026-11-27T10:30:00Z");
    expired.certificate = Some(crate::probe::CertificateSeen {
        expires_at: "2026-11-27T09:00:00Z".parse().unwrap(),
        accepted: false,
    });
    let opened = events(&c, &expired, &StatusView::default());
    let Event::IncidentOpened {
        title,
        update: Some(u),
        ..
    } = &opened[1].1
    else {
        panic!("expected an opening")
    };
    assert_eq!(title, "Public API: secure connections fail");
    assert!(
        u.message.starts_with(
            "Secure connections to Public API fail: its certificate expired at 10:00 CET on 27 November."
        ),
        "{}",
        u.message
    );
    let mut untrusted = expired.clone();
    untrusted.certificate = Some(crate::probe::CertificateSeen {
        expires_at: "2027-03-01T00:00:00Z".parse().unwrap(),
        accepted: false,
    });
    let opened = events(&c, &untrusted, &StatusView::default());
    let Event::IncidentOpened {
        update: Some(u), ..
    } = &opened[1].1
    else {
        panic!("expected an opening")
    };
    assert!(
        u.message.contains("browsers do not accept its certificate"),
        "{}",
        u.message
    );
}

#[test]
fn a_slowdown_is_worded_as_such_and_an_escalation_says_so() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events(
        &c,
        &tr(Operational, DegradedPerformance, "2026-11-22T10:00:00Z"),
        &view,
    );
    let Event::IncidentOpened {
        update: Some(u),
        impact,
        ..
    } = &opened[1].1
    else {
        panic!("expected an opening")
    };
    assert!(u.message.contains("more slowly than usual"));
    assert_eq!(*impact, Impact::Minor);
    apply(&mut view, opened);
    let worse = events(
        &c,
        &tr(DegradedPerformance, MajorOutage, "2026-11-22T10:05:00Z"),
        &view,
    );
    assert_eq!(worse.len(), 3);
    assert!(
        matches!(&worse[2].1, Event::IncidentUpdated { update, .. } if update.message.contains("has become worse"))
    );
}

#[test]
fn an_incident_a_person_wrote_on_is_left_for_them_to_resolve() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:00:00Z"),
        &view,
    );
    let id = match &opened[1].1 {
        Event::IncidentOpened { id, .. } => id.clone(),
        _ => unreachable!(),
    };
    apply(&mut view, opened);
    person_writes(
        &mut view,
        &id,
        "2026-11-22T10:10:00Z",
        "A database failover is under way.",
    );
    let fixed = events(
        &c,
        &tr(MajorOutage, Operational, "2026-11-22T10:20:00Z"),
        &view,
    );
    assert_eq!(fixed.len(), 1, "only the status change: {fixed:?}");
    apply(&mut view, fixed);
    assert!(view.incidents[&id].is_open());
    assert_eq!(view.status_of("api"), Operational);
}

#[test]
fn a_declared_incident_covering_the_component_takes_the_change() {
    let c = component();
    let mut view = StatusView::default();
    apply(
        &mut view,
        vec![(
            "2026-11-22T10:00:00Z".parse().unwrap(),
            Event::IncidentOpened {
                id: "api-slow".into(),
                reference: "INC-2026-1122-api-slow".into(),
                title: "API slow".into(),
                components: [("api".to_string(), PartialOutage)].into(),
                impact: Impact::Major,
                automatic: false,
                update: None,
                postmortem_url: None,
            },
        )],
    );
    let events = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:05:00Z"),
        &view,
    );
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].1, Event::ComponentStatusChanged { incident: Some(i), .. } if i == "api-slow")
    );
}

/// A person owns the incident; the component recovered, then fails again: customers,
/// last told it works, hear that it does not.
#[test]
fn a_relapse_under_a_persons_care_is_told() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:00:00Z"),
        &view,
    );
    apply(&mut view, opened);
    let id = view.open_incidents().next().unwrap().id.clone();
    person_writes(&mut view, &id, "2026-11-22T10:05:00Z", "A bad deploy.");
    let fixed = events(
        &c,
        &tr(MajorOutage, Operational, "2026-11-22T10:10:00Z"),
        &view,
    );
    assert_eq!(fixed.len(), 1);
    apply(&mut view, fixed);
    let again = events(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:20:00Z"),
        &view,
    );
    let update = again.iter().find_map(|(_, e)| match e {
        Event::IncidentUpdated { update, .. } => Some(update.clone()),
        _ => None,
    });
    let update = update.expect("an update says it fails again");
    assert!(
        update.message.contains("(it was working again)"),
        "{}",
        update.message
    );
    assert_eq!(update.status, IncidentStatus::Identified);
}
