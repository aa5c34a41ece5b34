use super::*;
use crate::vocab::{IncidentUpdate, MaintenanceWindow};

fn rec(seq: u64, at: &str, event: Event) -> Record {
    Record {
        seq,
        at: at.parse().unwrap(),
        more: false,
        event,
    }
}

fn update(at: &str, status: IncidentStatus, message: &str) -> IncidentUpdate {
    IncidentUpdate {
        at: at.parse().unwrap(),
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

#[test]
fn folding_tracks_status_and_automatic_incident_lifecycle() {
    let id = "INC-2026-1122-api".to_string();
    let records = vec![
        rec(
            1,
            "2026-11-22T10:00:00Z",
            Event::ComponentStatusChanged {
                component: "api".into(),
                from: ComponentStatus::Operational,
                to: ComponentStatus::DegradedPerformance,
                reason: "slow".into(),
                incident: Some(id.clone()),
            },
        ),
        rec(
            2,
            "2026-11-22T10:00:00Z",
            Event::IncidentOpened {
                id: id.clone(),
                reference: id.clone(),
                title: "API: degraded performance".into(),
                components: [("api".to_string(), ComponentStatus::DegradedPerformance)].into(),
                impact: Impact::Minor,
                automatic: true,
                update: None,
                postmortem_url: None,
            },
        ),
        rec(
            3,
            "2026-11-22T10:05:00Z",
            Event::ComponentStatusChanged {
                component: "api".into(),
                from: ComponentStatus::DegradedPerformance,
                to: ComponentStatus::MajorOutage,
                reason: "HTTP 503".into(),
                incident: Some(id.clone()),
            },
        ),
    ];
    let view = StatusView::from_records(&records);
    assert_eq!(view.status_of("api"), ComponentStatus::MajorOutage);
    assert_eq!(view.status_of("never-seen"), ComponentStatus::Operational);
    let inc = view.open_automatic_incident("api").unwrap();
    assert_eq!(
        inc.impact,
        Impact::Critical,
        "impact escalates with the status"
    );
    assert_eq!(inc.components["api"], ComponentStatus::MajorOutage);
    assert_eq!(inc.status(), IncidentStatus::Investigating);

    let mut view = view;
    view.apply(&rec(
        4,
        "2026-11-22T10:20:00Z",
        Event::IncidentResolved {
            id: id.clone(),
            reference: id.clone(),
            duration_secs: 1200,
            update: None,
        },
    ));
    assert!(view.open_automatic_incident("api").is_none());
    assert_eq!(view.incidents[&id].status(), IncidentStatus::Resolved);
    assert_eq!(view.last_seq, 4);
}

#[test]
fn a_declared_incident_shows_its_status_timeline_eta_and_apology() {
    let mut first = update(
        "2026-11-22T10:00:00Z",
        IncidentStatus::Investigating,
        "Card payments fail.",
    );
    first.eta = Some("2026-11-22T12:00:00Z".parse().unwrap());
    let mut fixed = update("2026-11-22T11:00:00Z", IncidentStatus::Resolved, "Fixed.");
    fixed.apology = Some("We are sorry.".into());
    fixed.credit = Some("10% credit.".into());
    let mut view = StatusView::from_records(&[
        rec(
            1,
            "2026-11-22T10:01:00Z",
            Event::IncidentOpened {
                id: "cards".into(),
                reference: "INC-2026-1122-cards".into(),
                title: "Card payments failing".into(),
                components: [("checkout".to_string(), ComponentStatus::PartialOutage)].into(),
                impact: Impact::Major,
                automatic: false,
                update: Some(first),
                postmortem_url: None,
            },
        ),
        rec(
            2,
            "2026-11-22T10:31:00Z",
            Event::IncidentUpdated {
                id: "cards".into(),
                reference: "INC-2026-1122-cards".into(),
                update: update(
                    "2026-11-22T10:30:00Z",
                    IncidentStatus::Identified,
                    "A bad deploy.",
                ),
            },
        ),
    ]);
    let inc = &view.incidents["cards"];
    assert_eq!(
        inc.opened_at,
        "2026-11-22T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(inc.status(), IncidentStatus::Identified);
    assert_eq!(inc.eta(), Some("2026-11-22T12:00:00Z".parse().unwrap()));
    assert_eq!(
        view.status_of("checkout"),
        ComponentStatus::PartialOutage,
        "declared status shows"
    );
    assert_eq!(view.probe_status("checkout"), ComponentStatus::Operational);

    view.apply(&rec(
        3,
        "2026-11-22T11:01:00Z",
        Event::IncidentUpdateEdited {
            id: "cards".into(),
            reference: "INC-2026-1122-cards".into(),
            update: update(
                "2026-11-22T10:30:00Z",
                IncidentStatus::Identified,
                "A faulty deploy.",
            ),
        },
    ));
    view.apply(&rec(
        4,
        "2026-11-22T11:01:00Z",
        Event::IncidentResolved {
            id: "cards".into(),
            reference: "INC-2026-1122-cards".into(),
            duration_secs: 3600,
            update: Some(fixed),
        },
    ));
    let inc = &view.incidents["cards"];
    assert_eq!(inc.updates.len(), 3);
    assert_eq!(inc.updates[1].message, "A faulty deploy.");
    assert_eq!(
        inc.resolved_at,
        Some("2026-11-22T11:00:00Z".parse().unwrap())
    );
    assert_eq!(
        (inc.apology(), inc.credit()),
        (Some("We are sorry."), Some("10% credit."))
    );
    assert_eq!(inc.eta(), None, "no ETA once resolved");
    assert_eq!(view.status_of("checkout"), ComponentStatus::Operational);
}

#[test]
fn maintenance_in_progress_shows_under_maintenance_but_never_hides_an_outage() {
    let window = MaintenanceWindow {
        title: "Database upgrade".into(),
        components: vec!["db".into(), "api".into()],
        starts_at: "2026-11-25T01:00:00Z".parse().unwrap(),
        ends_at: "2026-11-25T03:00:00Z".parse().unwrap(),
        message: "Read-only.".into(),
    };
    let mut view = StatusView::from_records(&[
        rec(
            1,
            "2026-11-22T10:00:00Z",
            Event::MaintenanceScheduled {
                id: "m".into(),
                window,
            },
        ),
        rec(
            2,
            "2026-11-22T10:00:00Z",
            Event::ComponentStatusChanged {
                component: "api".into(),
                from: ComponentStatus::Operational,
                to: ComponentStatus::MajorOutage,
                reason: "HTTP 503".into(),
                incident: None,
            },
        ),
    ]);
    assert_eq!(
        view.status_of("db"),
        ComponentStatus::Operational,
        "scheduled is not active"
    );
    view.apply(&rec(
        3,
        "2026-11-25T01:00:00Z",
        Event::MaintenanceStarted { id: "m".into() },
    ));
    assert_eq!(view.status_of("db"), ComponentStatus::UnderMaintenance);
    assert_eq!(view.status_of("api"), ComponentStatus::MajorOutage);
    view.apply(&rec(
        4,
        "2026-11-25T03:00:00Z",
        Event::MaintenanceCompleted { id: "m".into() },
    ));
    assert_eq!(view.status_of("db"), ComponentStatus::Operational);
    assert_eq!(view.maintenance["m"].state, MaintenanceState::Completed);
}

/// What customers saw at each update, for machines' old/new statuses: an update edited
/// into the resolution (same time) says what the resolution left, not what it replaced.
#[test]
fn each_update_remembers_what_customers_saw_and_a_resolution_by_edit_too() {
    let opened = rec(
        1,
        "2026-11-22T10:00:00Z",
        Event::IncidentOpened {
            id: "cards".into(),
            reference: "INC-cards".into(),
            title: "Cards".into(),
            components: [("checkout".to_string(), ComponentStatus::PartialOutage)].into(),
            impact: Impact::Major,
            automatic: false,
            update: Some(update(
                "2026-11-22T10:00:00Z",
                IncidentStatus::Investigating,
                "Failing.",
            )),
            postmortem_url: None,
        },
    );
    let later = update(
        "2026-11-22T10:30:00Z",
        IncidentStatus::Identified,
        "Found it.",
    );
    let view = StatusView::from_records(&[
        opened.clone(),
        rec(
            2,
            "2026-11-22T10:30:00Z",
            Event::IncidentUpdated {
                id: "cards".into(),
                reference: "INC-cards".into(),
                update: later.clone(),
            },
        ),
    ]);
    let (old, new) = view.incidents["cards"].statuses_around(later.at);
    assert_eq!(old["checkout"], ComponentStatus::PartialOutage);
    assert_eq!(new["checkout"], ComponentStatus::PartialOutage);

    let mut resolving = later.clone();
    resolving.status = IncidentStatus::Resolved;
    let view = StatusView::from_records(&[
        opened,
        rec(
            2,
            "2026-11-22T10:30:00Z",
            Event::IncidentUpdated {
                id: "cards".into(),
                reference: "INC-cards".into(),
                update: later.clone(),
            },
        ),
        rec(
            3,
            "2026-11-22T10:40:00Z",
            Event::IncidentResolved {
                id: "cards".into(),
                reference: "INC-cards".into(),
                duration_secs: 1800,
                update: Some(resolving),
            },
        ),
    ]);
    let (_, new) = view.incidents["cards"].statuses_around(later.at);
    assert_eq!(new["checkout"], ComponentStatus::Operational);
}

#[test]
fn the_fold_tells_the_declared_files_what_was_published() {
    let window = MaintenanceWindow {
        title: "Database upgrade".into(),
        components: vec!["db".into()],
        starts_at: "2026-11-25T02:00:00Z".parse().unwrap(),
        ends_at: "2026-11-25T03:00:00Z".parse().unwrap(),
        message: "Brief pauses.".into(),
    };
    let view = StatusView::from_records(&[
        rec(
            1,
            "2026-11-22T10:00:00Z",
            Event::IncidentOpened {
                id: "api-down".into(),
                reference: "INC-2026-1122-api".into(),
                title: "Public API: major outage".into(),
                components: [("api".to_string(), ComponentStatus::MajorOutage)].into(),
                impact: Impact::Critical,
                automatic: true,
                update: None,
                postmortem_url: None,
            },
        ),
        rec(
            2,
            "2026-11-22T11:00:00Z",
            Event::IncidentResolved {
                id: "api-down".into(),
                reference: "INC-2026-1122-api".into(),
                duration_secs: 3600,
                update: None,
            },
        ),
        rec(
            3,
            "2026-11-22T12:00:00Z",
            Event::MaintenanceScheduled {
                id: "db".into(),
                window: window.clone(),
            },
        ),
        rec(
            4,
            "2026-11-22T13:00:00Z",
            Event::MaintenanceCancelled { id: "db".into() },
        ),
    ]);
    let published: &dyn Published = &view;
    let by_id = published.incident("api-down").expect("known by its id");
    assert_eq!(
        published.incident_by_reference("INC-2026-1122-api"),
        Some(by_id.clone())
    );
    assert!(by_id.automatic);
    assert_eq!(
        by_id.opened_at,
        "2026-11-22T10:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
    assert_eq!(
        by_id.resolved_at,
        Some("2026-11-22T11:00:00Z".parse().unwrap())
    );
    assert_eq!(
        published.incident("INC-2026-1122-api"),
        None,
        "an id is not a reference"
    );
    assert_eq!(
        published.maintenance("db"),
        Some(PublishedWindow {
            starts_at: window.starts_at,
            over: true
        }),
        "cancelled is over"
    );
    assert_eq!(published.maintenance("other"), None);
}
