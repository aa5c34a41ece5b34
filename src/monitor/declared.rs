//! From declared incident files to journal events, exactly once. Pure: compares what
//! the files say with what the journal already holds, and returns only the difference.
//!
//! An update's identity is its incident and its `at`: re-reading files, restarting or
//! touching a file yields nothing new; a new `[[update]]` yields one event; changing the
//! words of a published update yields `incident.update_edited` (nobody is notified
//! again). Deleting a file or an update never rewrites history: it is only reported.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::incidents::unique_reference;
use crate::config::declared::{Declared, IncidentFile};
use crate::journal::{Event, IncidentUpdate};
use crate::status::{ComponentStatus, Incident, IncidentStatus, StatusView};

/// What reading the files found.
#[derive(Debug, Default)]
pub struct Diff {
    pub events: Vec<(DateTime<Utc>, Event)>,
    /// Things the files no longer say but the journal keeps, for the log.
    pub warnings: Vec<String>,
}

pub fn incident_events(declared: &Declared, view: &StatusView, tz: Tz, now: DateTime<Utc>) -> Diff {
    let mut diff = Diff::default();
    let mut new_refs: HashSet<String> = HashSet::new();
    for file in &declared.incidents {
        match view.incidents.get(file.incident_id()) {
            None if file.follows.is_none() => open(file, view, tz, now, &mut new_refs, &mut diff),
            None => diff.warnings.push(format!(
                "{}: follows {}, which is not in the journal",
                file.path.display(),
                file.incident_id()
            )),
            Some(existing) => continue_incident(file, existing, view, now, &mut diff),
        }
    }
    let declared_ids: HashSet<&str> = declared
        .incidents
        .iter()
        .map(IncidentFile::incident_id)
        .collect();
    for inc in view.incidents.values() {
        if !inc.automatic && !declared_ids.contains(inc.id.as_str()) {
            diff.warnings.push(format!(
                "the file of incident {} ({}) is gone; its history stays in the journal",
                inc.reference, inc.id
            ));
        }
    }
    diff
}

fn open(
    file: &IncidentFile,
    view: &StatusView,
    tz: Tz,
    now: DateTime<Utc>,
    new_refs: &mut HashSet<String>,
    diff: &mut Diff,
) {
    let Some((first, rest)) = file.updates.split_first() else {
        return;
    };
    let reference = unique_reference(&file.id, first.at, tz, &|r| {
        view.has_reference(r) || new_refs.contains(r)
    });
    new_refs.insert(reference.clone());
    diff.events.push((
        now,
        Event::IncidentOpened {
            id: file.id.clone(),
            reference: reference.clone(),
            title: file.title.clone().unwrap_or_default(),
            components: file.components.clone(),
            impact: file.impact.unwrap_or(crate::status::Impact::Minor),
            automatic: false,
            update: Some(first.clone()),
            postmortem_url: file.postmortem_url.clone(),
        },
    ));
    let mut resolved = first.status == IncidentStatus::Resolved;
    if resolved {
        diff.events
            .push((now, resolution(&file.id, &reference, first.at, first)));
    }
    for u in rest {
        diff.events
            .push((now, new_update(&file.id, &reference, first.at, resolved, u)));
        resolved |= u.status == IncidentStatus::Resolved;
    }
}

fn continue_incident(
    file: &IncidentFile,
    inc: &Incident,
    view: &StatusView,
    now: DateTime<Utc>,
    diff: &mut Diff,
) {
    // Header edits (title, impact, components, postmortem link).
    let title = file.title.clone().unwrap_or_else(|| inc.title.clone());
    let impact = file.impact.unwrap_or(inc.impact);
    let components = if file.components.is_empty() {
        inc.components.clone()
    } else {
        file.components.clone()
    };
    let postmortem_url = file
        .postmortem_url
        .clone()
        .or_else(|| inc.postmortem_url.clone());
    if title != inc.title
        || impact != inc.impact
        || components != inc.components
        || postmortem_url != inc.postmortem_url
    {
        diff.events.push((
            now,
            Event::IncidentChanged {
                id: inc.id.clone(),
                reference: inc.reference.clone(),
                title,
                components,
                impact,
                postmortem_url,
            },
        ));
    }

    let mut resolved = !inc.is_open();
    for u in &file.updates {
        match inc.update_at(u.at) {
            Some(old) if old.same_text(u) => {}
            // A published update edited into the resolving one resolves the incident.
            Some(old)
                if u.status == IncidentStatus::Resolved
                    && old.status != IncidentStatus::Resolved
                    && !resolved =>
            {
                settle_checks(inc, view, now, diff);
                diff.events
                    .push((now, resolution(&inc.id, &inc.reference, inc.opened_at, u)));
                resolved = true;
            }
            // A resolution is history: editing it back into an open status changes nothing.
            Some(old)
                if old.status == IncidentStatus::Resolved
                    && u.status != IncidentStatus::Resolved =>
            {
                diff.warnings.push(format!(
                    "{}: the resolving update of {} cannot become \"{}\"; to reopen, declare a new incident",
                    file.path.display(),
                    old.at,
                    u.status
                ));
            }
            Some(_) => diff.events.push((
                now,
                Event::IncidentUpdateEdited {
                    id: inc.id.clone(),
                    reference: inc.reference.clone(),
                    update: u.clone(),
                },
            )),
            None => {
                if u.status == IncidentStatus::Resolved && !resolved {
                    settle_checks(inc, view, now, diff);
                }
                diff.events.push((
                    now,
                    new_update(&inc.id, &inc.reference, inc.opened_at, resolved, u),
                ));
                resolved |= u.status == IncidentStatus::Resolved;
            }
        }
    }
    let in_file: HashSet<DateTime<Utc>> = file.updates.iter().map(|u| u.at).collect();
    for old in inc
        .updates
        .iter()
        .filter(|u| !u.automatic && !in_file.contains(&u.at))
    {
        diff.warnings.push(format!(
            "{}: the update of {} was removed from the file; it stays published",
            file.path.display(),
            old.at
        ));
    }
}

/// An operator resolving an automatic incident while its checks still fail: the page
/// follows the operator (the components show operational, not a status with no
/// incident to explain it), and the checks start counting again, so a failure that
/// goes on opens a new incident after `fail_after` samples.
fn settle_checks(inc: &Incident, view: &StatusView, now: DateTime<Utc>, diff: &mut Diff) {
    if !inc.automatic {
        return;
    }
    diff.events
        .extend(super::incidents::peak_header(view, inc, now));
    for c in inc.components.keys() {
        let from = view.probe_status(c);
        if !from.is_operational() {
            diff.events.push((
                now,
                Event::ComponentStatusChanged {
                    component: c.clone(),
                    from,
                    to: ComponentStatus::Operational,
                    reason: format!(
                        "{} was resolved by an operator; the checks confirm any new failure afresh",
                        inc.reference
                    ),
                    incident: Some(inc.id.clone()),
                },
            ));
        }
    }
}

/// A new timeline entry: the resolution if it resolves an open incident, else an update.
fn new_update(
    id: &str,
    reference: &str,
    opened_at: DateTime<Utc>,
    already_resolved: bool,
    u: &IncidentUpdate,
) -> Event {
    if u.status == IncidentStatus::Resolved && !already_resolved {
        resolution(id, reference, opened_at, u)
    } else {
        Event::IncidentUpdated {
            id: id.to_owned(),
            reference: reference.to_owned(),
            update: u.clone(),
        }
    }
}

fn resolution(id: &str, reference: &str, opened_at: DateTime<Utc>, u: &IncidentUpdate) -> Event {
    Event::IncidentResolved {
        id: id.to_owned(),
        reference: reference.to_owned(),
        duration_secs: (u.at - opened_at).num_seconds().max(0) as u64,
        update: Some(u.clone()),
    }
}

#[cfg(test)]
mod tests;
