use super::*;
use crate::journal::Record;
use crate::status::Impact;

const PARIS: Tz = chrono_tz::Europe::Paris;

fn component() -> Component {
    crate::config::tests::minimal().components[0].clone()
}

fn tr(from: ComponentStatus, to: ComponentStatus, at: &str) -> Transition {
    Transition {
        from,
        to,
        reason: "HTTP 503 from 10.0.0.7".into(),
        at: at.parse().unwrap(),
    }
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

#[test]
fn an_outage_opens_one_incident_in_plain_words_and_recovery_resolves_it() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events_for(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T23:30:00Z"),
        &view,
        PARIS,
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

    let worse = events_for(
        &c,
        &tr(MajorOutage, PartialOutage, "2026-11-22T23:35:00Z"),
        &view,
        PARIS,
    );
    assert_eq!(worse.len(), 1, "no second incident while one is open");
    apply(&mut view, worse);

    let fixed = events_for(
        &c,
        &tr(PartialOutage, Operational, "2026-11-22T23:40:00Z"),
        &view,
        PARIS,
    );
    match &fixed[1].1 {
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

    let again = events_for(
        &c,
        &tr(Operational, MajorOutage, "2026-11-23T08:00:00Z"),
        &view,
        PARIS,
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
    let opened = events_for(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:00:00Z"),
        &StatusView::default(),
        PARIS,
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
fn a_slowdown_is_worded_as_such_and_an_escalation_says_so() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events_for(
        &c,
        &tr(Operational, DegradedPerformance, "2026-11-22T10:00:00Z"),
        &view,
        PARIS,
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
    let worse = events_for(
        &c,
        &tr(DegradedPerformance, MajorOutage, "2026-11-22T10:05:00Z"),
        &view,
        PARIS,
    );
    assert_eq!(worse.len(), 2);
    assert!(
        matches!(&worse[1].1, Event::IncidentUpdated { update, .. } if update.message.contains("seeing errors"))
    );
}

#[test]
fn an_incident_a_person_wrote_on_is_left_for_them_to_resolve() {
    let c = component();
    let mut view = StatusView::default();
    let opened = events_for(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:00:00Z"),
        &view,
        PARIS,
    );
    let id = match &opened[1].1 {
        Event::IncidentOpened { id, .. } => id.clone(),
        _ => unreachable!(),
    };
    apply(&mut view, opened);
    apply(
        &mut view,
        vec![(
            "2026-11-22T10:10:00Z".parse().unwrap(),
            Event::IncidentUpdated {
                id: id.clone(),
                reference: id.clone(),
                update: IncidentUpdate {
                    at: "2026-11-22T10:10:00Z".parse().unwrap(),
                    status: IncidentStatus::Identified,
                    message: "A database failover is under way.".into(),
                    eta: None,
                    notify: true,
                    apology: None,
                    credit: None,
                    automatic: false,
                },
            },
        )],
    );
    let fixed = events_for(
        &c,
        &tr(MajorOutage, Operational, "2026-11-22T10:20:00Z"),
        &view,
        PARIS,
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
    let events = events_for(
        &c,
        &tr(Operational, MajorOutage, "2026-11-22T10:05:00Z"),
        &view,
        PARIS,
    );
    assert_eq!(events.len(), 1);
    assert!(
        matches!(&events[0].1, Event::ComponentStatusChanged { incident: Some(i), .. } if i == "api-slow")
    );
}
