use super::*;
use crate::config::declared::tests::{CARDS, fixture, now};
use crate::journal::Record;

const PARIS: Tz = chrono_tz::Europe::Paris;

fn fold(view: &mut StatusView, events: &[(DateTime<Utc>, Event)]) {
    for (at, event) in events {
        let seq = view.last_seq + 1;
        view.apply(&Record {
            seq,
            at: *at,
            more: false,
            event: event.clone(),
        });
    }
}

fn load(config: &crate::config::Config, view: &StatusView) -> Declared {
    let loaded = Declared::load(config, view, now());
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    loaded.declared
}

#[test]
fn reading_the_same_files_again_and_again_yields_each_event_once() {
    let (_d, config) = fixture(&[("incidents/cards.toml", CARDS)]);
    let mut view = StatusView::default();
    let first = incident_events(&load(&config, &view), &view, PARIS, now());
    let kinds: Vec<&str> = first.events.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(kinds, ["incident.opened", "incident.updated"]);
    match &first.events[0].1 {
        Event::IncidentOpened {
            reference,
            automatic,
            ..
        } => {
            assert_eq!(reference, "INC-2026-1122-cards");
            assert!(!automatic);
        }
        other => panic!("{other:?}"),
    }
    fold(&mut view, &first.events);
    for _ in 0..100 {
        let again = incident_events(&load(&config, &view), &view, PARIS, now());
        assert!(again.events.is_empty(), "{:?}", again.events);
    }
}

#[test]
fn a_new_update_an_edit_and_a_resolution_each_become_one_event() {
    let (dir, config) = fixture(&[("incidents/cards.toml", CARDS)]);
    let mut view = StatusView::default();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    fold(&mut view, &d.events);

    let edited = CARDS.replace("A faulty release", "A faulty payment release")
        + "\n[[update]]\nat = 2026-11-22T11:00:00\nstatus = \"resolved\"\nmessage = \"Payments work again.\"\napology = \"We are sorry.\"\ncredit = \"10% of this month's fee.\"\n";
    std::fs::write(dir.path().join("incidents/cards.toml"), edited).unwrap();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    let kinds: Vec<&str> = d.events.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(kinds, ["incident.update_edited", "incident.resolved"]);
    match &d.events[1].1 {
        Event::IncidentResolved {
            duration_secs,
            update: Some(u),
            ..
        } => {
            assert_eq!(*duration_secs, 56 * 60);
            assert_eq!(u.credit.as_deref(), Some("10% of this month's fee."));
        }
        other => panic!("{other:?}"),
    }
    fold(&mut view, &d.events);
    assert!(!view.incidents["cards"].is_open());
    assert!(
        incident_events(&load(&config, &view), &view, PARIS, now())
            .events
            .is_empty()
    );
}

#[test]
fn deleting_a_file_rewrites_nothing_and_is_reported() {
    let (dir, config) = fixture(&[("incidents/cards.toml", CARDS)]);
    let mut view = StatusView::default();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    fold(&mut view, &d.events);
    std::fs::remove_file(dir.path().join("incidents/cards.toml")).unwrap();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    assert!(d.events.is_empty());
    assert_eq!(d.warnings.len(), 1);
    assert!(d.warnings[0].contains("INC-2026-1122-cards"));
}

#[test]
fn a_header_edit_is_recorded_without_a_new_update() {
    let (dir, config) = fixture(&[("incidents/cards.toml", CARDS)]);
    let mut view = StatusView::default();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    fold(&mut view, &d.events);
    std::fs::write(
        dir.path().join("incidents/cards.toml"),
        CARDS.replace("impact = \"major\"", "impact = \"critical\""),
    )
    .unwrap();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    let kinds: Vec<&str> = d.events.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(kinds, ["incident.changed"]);
}

#[test]
fn editing_an_update_into_the_resolution_resolves_and_a_resolution_cannot_be_undone() {
    let (dir, config) = fixture(&[("incidents/cards.toml", CARDS)]);
    let mut view = StatusView::default();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    fold(&mut view, &d.events);
    let resolving = CARDS.replace("status = \"identified\"", "status = \"resolved\"");
    std::fs::write(dir.path().join("incidents/cards.toml"), &resolving).unwrap();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    let kinds: Vec<&str> = d.events.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(kinds, ["incident.resolved"]);
    fold(&mut view, &d.events);
    assert!(!view.incidents["cards"].is_open());

    std::fs::write(dir.path().join("incidents/cards.toml"), CARDS).unwrap();
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    assert!(d.events.is_empty(), "{:?}", d.events);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("cannot become \"identified\"")),
        "{:?}",
        d.warnings
    );
}

/// An operator resolves an automatic incident while its checks still fail: the
/// component follows them (no status left on the page without an incident to explain
/// it), and a component already working again is left alone.
#[test]
fn resolving_an_automatic_incident_resets_the_components_its_checks_still_fail() {
    let mut view = StatusView::default();
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    fold(
        &mut view,
        &[
            (
                t("2026-11-22T09:00:00Z"),
                Event::ComponentStatusChanged {
                    component: "api".into(),
                    from: ComponentStatus::Operational,
                    to: ComponentStatus::DegradedPerformance,
                    reason: "slow".into(),
                    incident: Some("INC-2026-1122-api".into()),
                },
            ),
            (
                t("2026-11-22T09:00:00Z"),
                Event::IncidentOpened {
                    id: "INC-2026-1122-api".into(),
                    reference: "INC-2026-1122-api".into(),
                    title: "Public API: degraded performance".into(),
                    components: [("api".to_string(), ComponentStatus::DegradedPerformance)].into(),
                    impact: crate::status::Impact::Minor,
                    automatic: true,
                    update: None,
                    postmortem_url: None,
                },
            ),
        ],
    );
    let follows = "id = \"api-follow\"\nfollows = \"INC-2026-1122-api\"\n\n[[update]]\nat = 2026-11-22T10:30:00\nstatus = \"resolved\"\nmessage = \"Not a problem for customers.\"\n";
    let (_d, config) = fixture(&[("incidents/api-follow.toml", follows)]);
    let d = incident_events(&load(&config, &view), &view, PARIS, now());
    let kinds: Vec<&str> = d.events.iter().map(|(_, e)| e.kind()).collect();
    assert_eq!(kinds, ["component.status_changed", "incident.resolved"]);
    fold(&mut view, &d.events);
    assert_eq!(view.status_of("api"), ComponentStatus::Operational);
    assert_eq!(view.open_incidents().count(), 0);
}
