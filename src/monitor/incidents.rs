//! From a confirmed status change to journal events: the change itself, and the opening,
//! escalation, easing or resolution of the component's automatic incident, worded for
//! customers. Pure: reads the current view, returns events.
//!
//! Rules:
//! - A component going bad opens an automatic incident, unless an operator's declared
//!   incident already covers it (the change is then filed under that incident).
//! - An automatic incident follows what it describes: when the component gets worse or
//!   better without recovering, its title (unless a person retitled it), components and
//!   impact follow the new status, and an update says what changed.
//! - Recovery resolves the automatic incident, unless a person has written on its
//!   timeline: then the operator owns it and resolves it with their own words.
//! - A TLS check whose certificate clients refuse says so in words customers know.
//! - Every automatic update promises the next one (`[wording] update_every`).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::tracker::Transition;
use crate::config::wording::{self, Vars};
use crate::config::{Component, Config, Target};
use crate::journal::{Event, IncidentUpdate};
use crate::notify::notice::local_time;
use crate::status::{ComponentStatus, Incident, IncidentStatus, StatusView};

/// The events one confirmed transition of `component` produces.
pub fn events_for(
    config: &Config,
    component: &Component,
    transition: &Transition,
    view: &StatusView,
) -> Vec<(DateTime<Utc>, Event)> {
    let at = transition.at;
    let words = Words {
        config,
        component,
        at,
    };
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
                events.extend(peak_header(view, open, at));
                events.push((
                    at,
                    Event::IncidentResolved {
                        id: open.id.clone(),
                        reference: open.reference.clone(),
                        duration_secs: (at - open.opened_at).num_seconds().max(0) as u64,
                        update: Some(words.update(
                            IncidentStatus::Resolved,
                            &component.wording.resolved,
                            Vars::default(),
                            None,
                        )),
                    },
                ));
            }
        } else if transition.from != transition.to {
            // Worse, better, or failing again after recovering while a person owns it.
            events.extend(follow(open, transition, &words));
        }
        return events;
    }

    if let Some(declared) = view.open_declared_incident(&component.id) {
        return vec![change(Some(declared.id.clone()))];
    }

    if transition.to.is_operational() {
        return vec![change(None)];
    }

    let reference = new_reference(&component.id, at, config.site.timezone, view);
    let mut vars = Vars {
        seen_from: transition.seen_from.clone().unwrap_or_default(),
        ..Vars::default()
    };
    let template = match transition.certificate {
        Some(cert) if is_tls(component) && !cert.accepted && cert.expires_at <= at => {
            vars.expired_at = local_time(cert.expires_at, config.site.timezone);
            &component.wording.certificate_expired
        }
        Some(cert) if is_tls(component) && !cert.accepted => {
            &component.wording.certificate_rejected
        }
        _ if is_outage(transition.to) => &component.wording.opened,
        _ => &component.wording.degraded,
    };
    let refused = transition.certificate.is_some_and(|c| !c.accepted) && is_tls(component);
    vec![
        change(Some(reference.clone())),
        (
            at,
            Event::IncidentOpened {
                id: reference.clone(),
                reference,
                title: if refused {
                    format!("{}: secure connections fail", component.name)
                } else {
                    title(&component.name, transition.to)
                },
                components: BTreeMap::from([(component.id.clone(), transition.to)]),
                impact: transition.to.impact(),
                automatic: true,
                update: Some(words.update(
                    IncidentStatus::Investigating,
                    template,
                    vars,
                    Some(&transition.reason),
                )),
                postmortem_url: None,
            },
        ),
    ]
}

/// An open automatic incident whose component got worse or better without recovering:
/// its header follows the new status, and an update says what changed.
fn follow(
    open: &Incident,
    transition: &Transition,
    words: &Words<'_>,
) -> Vec<(DateTime<Utc>, Event)> {
    let component = words.component;
    let mut components = open.components.clone();
    components.insert(component.id.clone(), transition.to);
    let worst = ComponentStatus::worst(components.values().copied()).unwrap_or(transition.to);
    // A title a person chose (or one naming the cause) stays.
    let automatic_title = [
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ]
    .into_iter()
    .any(|s| open.title == title(&component.name, s));
    let new_title = if automatic_title {
        title(&component.name, worst)
    } else {
        open.title.clone()
    };
    let worse = transition.to.severity() > transition.from.severity();
    let template = if worse {
        &component.wording.escalated
    } else {
        &component.wording.improved
    };
    let vars = Vars {
        status: transition.to.label().to_lowercase(),
        was: if transition.from.is_operational() {
            "working again".to_owned()
        } else {
            transition.from.label().to_lowercase()
        },
        ..Vars::default()
    };
    vec![
        (
            words.at,
            Event::IncidentChanged {
                id: open.id.clone(),
                reference: open.reference.clone(),
                title: new_title,
                components,
                impact: worst.impact(),
                postmortem_url: open.postmortem_url.clone(),
            },
        ),
        (
            words.at,
            Event::IncidentUpdated {
                id: open.id.clone(),
                reference: open.reference.clone(),
                // Where the repair stands does not change because the symptoms did.
                update: words.update(open.status(), template, vars, Some(&transition.reason)),
            },
        ),
    ]
}

/// An automatic incident about to be resolved is remembered at its worst: while open,
/// its title and impact followed its component down as well as up; history lists the
/// worst it reached (its timeline says when it eased).
pub fn peak_header(
    view: &StatusView,
    incident: &Incident,
    at: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Event)> {
    if !incident.automatic {
        return None;
    }
    let worst_of = |c: &str| {
        view.history
            .get(c)
            .into_iter()
            .flatten()
            .filter(|(t, _)| *t >= incident.opened_at && *t <= at)
            .map(|(_, s)| *s)
            .chain(incident.components.get(c).copied())
            .max_by_key(|s| s.severity())
    };
    let peak: BTreeMap<String, ComponentStatus> = incident
        .components
        .keys()
        .filter_map(|c| worst_of(c).map(|s| (c.clone(), s)))
        .collect();
    let worst = ComponentStatus::worst(peak.values().copied())?;
    if peak == incident.components && worst.impact() == incident.impact {
        return None;
    }
    // A title of the automatic kind names the worst; one a person chose stays.
    let name = incident
        .title
        .split_once(": ")
        .map_or(incident.title.as_str(), |(n, _)| n);
    let automatic_title = [
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
    ]
    .into_iter()
    .any(|s| incident.title == title(name, s));
    Some((
        at,
        Event::IncidentChanged {
            id: incident.id.clone(),
            reference: incident.reference.clone(),
            title: if automatic_title {
                title(name, worst)
            } else {
                incident.title.clone()
            },
            components: peak,
            impact: worst.impact(),
            postmortem_url: incident.postmortem_url.clone(),
        },
    ))
}

fn is_outage(s: ComponentStatus) -> bool {
    matches!(
        s,
        ComponentStatus::PartialOutage | ComponentStatus::MajorOutage
    )
}

fn is_tls(c: &Component) -> bool {
    matches!(c.check.target, Target::Tls(_))
}

/// What automatic updates about one component say.
struct Words<'a> {
    config: &'a Config,
    component: &'a Component,
    at: DateTime<Utc>,
}

impl Words<'_> {
    /// An update worded from a template, promising the next one unless it resolves.
    /// Probe details are published only when the component allows it.
    fn update(
        &self,
        status: IncidentStatus,
        template: &str,
        mut vars: Vars,
        detail: Option<&str>,
    ) -> IncidentUpdate {
        let component = self.component;
        let promise = self
            .config
            .promises
            .update_every
            .filter(|_| status != IncidentStatus::Resolved);
        vars.component = component.name.clone();
        vars.update_within = promise.map(wording::within).unwrap_or_default();
        let mut message = wording::render(template, &vars).unwrap_or_else(|_| {
            // Templates are checked when the configuration loads; this is a last resort.
            format!("We are looking into a problem with {}.", component.name)
        });
        // An operator's own words that do not say where it is seen still say it.
        if !vars.seen_from.is_empty() && !template.contains("seen_from") {
            message.push_str(&format!(" Seen from {}.", vars.seen_from));
        }
        if component.public_detail
            && let Some(d) = detail
        {
            message.push_str(&format!("\n\nWhat our checks see: {d}."));
        }
        IncidentUpdate::automatic(
            self.at,
            status,
            message,
            promise.map(|d| self.at + TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)),
        )
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
pub fn title(name: &str, status: ComponentStatus) -> String {
    match status {
        ComponentStatus::DegradedPerformance => format!("{name}: degraded performance"),
        ComponentStatus::PartialOutage => format!("{name}: partial outage"),
        ComponentStatus::MajorOutage => format!("{name}: major outage"),
        other => format!("{name}: {}", other.label().to_lowercase()),
    }
}

#[cfg(test)]
mod tests;
