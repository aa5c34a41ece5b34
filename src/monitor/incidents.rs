//! From a confirmed status change to journal events: the change itself, and the opening
//! or resolution of the component's automatic incident. Pure: reads the current view,
//! returns events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::tracker::Transition;
use crate::config::Component;
use crate::journal::Event;
use crate::status::{ComponentStatus, StatusView};

/// The events one confirmed transition of `component` produces.
pub fn events_for(
    component: &Component,
    transition: &Transition,
    view: &StatusView,
    tz: Tz,
) -> Vec<(DateTime<Utc>, Event)> {
    let at = transition.at;
    let open = view.open_automatic_incident(&component.id);
    let mut events = Vec::new();

    match open {
        None if !transition.to.is_operational() => {
            let reference = new_reference(&component.id, at, tz, view);
            events.push((
                at,
                Event::ComponentStatusChanged {
                    component: component.id.clone(),
                    from: transition.from,
                    to: transition.to,
                    reason: transition.reason.clone(),
                    incident: Some(reference.clone()),
                },
            ));
            events.push((
                at,
                Event::IncidentOpened {
                    id: reference.clone(),
                    reference,
                    title: title(&component.name, transition.to),
                    components: BTreeMap::from([(component.id.clone(), transition.to)]),
                    impact: transition.to.impact(),
                    automatic: true,
                },
            ));
        }
        Some(incident) if transition.to.is_operational() => {
            let duration_secs = (at - incident.opened_at).num_seconds().max(0) as u64;
            events.push((
                at,
                Event::ComponentStatusChanged {
                    component: component.id.clone(),
                    from: transition.from,
                    to: transition.to,
                    reason: transition.reason.clone(),
                    incident: Some(incident.id.clone()),
                },
            ));
            events.push((
                at,
                Event::IncidentResolved {
                    id: incident.id.clone(),
                    reference: incident.reference.clone(),
                    duration_secs,
                },
            ));
        }
        open => events.push((
            at,
            Event::ComponentStatusChanged {
                component: component.id.clone(),
                from: transition.from,
                to: transition.to,
                reason: transition.reason.clone(),
                incident: open.map(|i| i.id.clone()),
            },
        )),
    }
    events
}

/// `INC-2026-1122-api`, dated in the site's time zone; `-2`, `-3`... when the same
/// component had an incident the same day.
fn new_reference(component: &str, at: DateTime<Utc>, tz: Tz, view: &StatusView) -> String {
    let base = format!(
        "INC-{}-{}",
        at.with_timezone(&tz).format("%Y-%m%d"),
        component
    );
    if !view.has_reference(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|r| !view.has_reference(r))
        .unwrap_or(base)
}

/// A plain title for an automatic incident.
fn title(name: &str, status: ComponentStatus) -> String {
    match status {
        ComponentStatus::DegradedPerformance => format!("{name}: degraded performance"),
        ComponentStatus::PartialOutage => format!("{name}: partial outage"),
        ComponentStatus::MajorOutage => format!("{name}: major outage"),
        other => format!("{name}: {}", other.label().to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Record;

    fn component() -> Component {
        let cfg = crate::config::tests::minimal();
        cfg.components[0].clone()
    }

    fn tr(from: ComponentStatus, to: ComponentStatus, at: &str) -> Transition {
        Transition {
            from,
            to,
            reason: "HTTP 503".into(),
            at: at.parse().unwrap(),
        }
    }

    fn apply(view: &mut StatusView, events: Vec<(DateTime<Utc>, Event)>) {
        for (at, event) in events {
            let seq = view.last_seq + 1;
            view.apply(&Record { seq, at, event });
        }
    }

    #[test]
    fn an_outage_opens_one_incident_and_recovery_resolves_it() {
        let c = component();
        let mut view = StatusView::default();
        let opened = events_for(
            &c,
            &tr(
                ComponentStatus::Operational,
                ComponentStatus::MajorOutage,
                "2026-11-22T23:30:00Z",
            ),
            &view,
            chrono_tz::Europe::Paris,
        );
        assert_eq!(opened.len(), 2);
        match &opened[1].1 {
            Event::IncidentOpened {
                reference, title, ..
            } => {
                // 23:30 UTC is already the 23rd in Paris.
                assert_eq!(reference, "INC-2026-1123-api");
                assert_eq!(title, "Public API: major outage");
            }
            other => panic!("expected an opening, got {other:?}"),
        }
        apply(&mut view, opened);

        let worse = events_for(
            &c,
            &tr(
                ComponentStatus::MajorOutage,
                ComponentStatus::PartialOutage,
                "2026-11-22T23:35:00Z",
            ),
            &view,
            chrono_tz::Europe::Paris,
        );
        assert_eq!(worse.len(), 1, "no second incident while one is open");
        apply(&mut view, worse);

        let fixed = events_for(
            &c,
            &tr(
                ComponentStatus::PartialOutage,
                ComponentStatus::Operational,
                "2026-11-22T23:40:00Z",
            ),
            &view,
            chrono_tz::Europe::Paris,
        );
        match &fixed[1].1 {
            Event::IncidentResolved { duration_secs, .. } => assert_eq!(*duration_secs, 600),
            other => panic!("expected a resolution, got {other:?}"),
        }
        apply(&mut view, fixed);

        let again = events_for(
            &c,
            &tr(
                ComponentStatus::Operational,
                ComponentStatus::MajorOutage,
                "2026-11-23T08:00:00Z",
            ),
            &view,
            chrono_tz::Europe::Paris,
        );
        match &again[1].1 {
            Event::IncidentOpened { reference, .. } => assert_eq!(reference, "INC-2026-1123-api-2"),
            other => panic!("expected an opening, got {other:?}"),
        }
    }
}
