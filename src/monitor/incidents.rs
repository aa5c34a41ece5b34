//! From a confirmed status change to journal events: the change itself, and the opening,
//! escalation or resolution of the component's automatic incident, worded for customers.
//! Pure: reads the current view, returns events.
//!
//! Rules:
//! - A component going bad opens an automatic incident, unless an operator's declared
//!   incident already covers it (the change is then filed under that incident).
//! - Recovery resolves the automatic incident, unless a person has written on its
//!   timeline: then the operator owns it and resolves it with their own words.
//! - A slowdown that turns into an outage says so in a new update.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::tracker::Transition;
use crate::config::{Component, wording};
use crate::journal::{Event, IncidentUpdate};
use crate::status::{ComponentStatus, IncidentStatus, StatusView};

/// The events one confirmed transition of `component` produces.
pub fn events_for(
    component: &Component,
    transition: &Transition,
    view: &StatusView,
    tz: Tz,
) -> Vec<(DateTime<Utc>, Event)> {
    let at = transition.at;
    let change = |incident: Option<String>| {
        (
            at,
            Event::ComponentStatusChanged {
                component: component.id.clone(),
                from: transition.from,
                to: transition.to,
                reason: transition.reason.clone(),
                incident,
            },
        )
    };

    if let Some(open) = view.open_automatic_incident(&component.id) {
        let mut events = vec![change(Some(open.id.clone()))];
        if transition.to.is_operational() {
            if !open.has_human_updates() {
                events.push((
                    at,
                    Event::IncidentResolved {
                        id: open.id.clone(),
                        reference: open.reference.clone(),
                        duration_secs: (at - open.opened_at).num_seconds().max(0) as u64,
                        update: Some(automatic_update(
                            at,
                            IncidentStatus::Resolved,
                            &component.wording.resolved,
                            component,
                            None,
                        )),
                    },
                ));
            }
        } else if transition.from == ComponentStatus::DegradedPerformance
            && is_outage(transition.to)
            && !open.has_human_updates()
        {
            events.push((
                at,
                Event::IncidentUpdated {
                    id: open.id.clone(),
                    reference: open.reference.clone(),
                    update: automatic_update(
                        at,
                        IncidentStatus::Investigating,
                        &component.wording.opened,
                        component,
                        Some(&transition.reason),
                    ),
                },
            ));
        }
        return events;
    }

    if let Some(declared) = view.open_declared_incident(&component.id) {
        return vec![change(Some(declared.id.clone()))];
    }

    if transition.to.is_operational() {
        return vec![change(None)];
    }

    let reference = new_reference(&component.id, at, tz, view);
    let template = if is_outage(transition.to) {
        &component.wording.opened
    } else {
        &component.wording.degraded
    };
    vec![
        change(Some(reference.clone())),
        (
            at,
            Event::IncidentOpened {
                id: reference.clone(),
                reference,
                title: title(&component.name, transition.to),
                components: BTreeMap::from([(component.id.clone(), transition.to)]),
                impact: transition.to.impact(),
                automatic: true,
                update: Some(automatic_update(
                    at,
                    IncidentStatus::Investigating,
                    template,
                    component,
                    Some(&transition.reason),
                )),
                postmortem_url: None,
            },
        ),
    ]
}

fn is_outage(s: ComponentStatus) -> bool {
    matches!(
        s,
        ComponentStatus::PartialOutage | ComponentStatus::MajorOutage
    )
}

/// An update worded from a template. Probe details are published only when the
/// component allows it.
fn automatic_update(
    at: DateTime<Utc>,
    status: IncidentStatus,
    template: &str,
    component: &Component,
    detail: Option<&str>,
) -> IncidentUpdate {
    let mut message = wording::render(template, &component.name).unwrap_or_else(|_| {
        // Templates are checked when the configuration loads; this is a last resort.
        format!("We are looking into a problem with {}.", component.name)
    });
    if component.public_detail
        && let Some(d) = detail
    {
        message.push_str(&format!("\n\nWhat our checks see: {d}."));
    }
    IncidentUpdate {
        at,
        status,
        message,
        eta: None,
        notify: true,
        apology: None,
        credit: None,
        automatic: true,
    }
}

/// `INC-2026-1122-api`, dated in the site's time zone; `-2`, `-3`... when the same
/// name was already used that day.
pub fn new_reference(name: &str, at: DateTime<Utc>, tz: Tz, view: &StatusView) -> String {
    unique_reference(name, at, tz, &|r| view.has_reference(r))
}

/// As [`new_reference`], with any notion of "already taken".
pub fn unique_reference(
    name: &str,
    at: DateTime<Utc>,
    tz: Tz,
    taken: &dyn Fn(&str) -> bool,
) -> String {
    let base = format!("INC-{}-{}", at.with_timezone(&tz).format("%Y-%m%d"), name);
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|r| !taken(r))
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
mod tests;
