//! Maintenance windows over time: which events are due now. Pure: the daemon calls it
//! every second and after every restart, so a moment missed while the daemon was down
//! is recorded late, once.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::declared::{Declared, MaintenanceFile};
use crate::journal::Event;
use crate::status::{Maintenance, MaintenanceState, StatusView};

/// The events due at `now` for the declared windows.
pub fn due_events(
    declared: &Declared,
    view: &StatusView,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Event)> {
    let mut events = Vec::new();
    for file in &declared.maintenance {
        let known = view.maintenance.get(&file.id);
        if known.is_none() {
            if file.cancelled {
                continue; // called off before anyone heard of it
            }
            events.push((
                now,
                Event::MaintenanceScheduled {
                    id: file.id.clone(),
                    window: file.window.clone(),
                },
            ));
        }
        let state = known.map_or(MaintenanceState::Scheduled, |m| m.state);
        if state.is_over() {
            continue;
        }
        if let Some(m) = known
            && m.window != file.window
        {
            events.push((
                now,
                Event::MaintenanceChanged {
                    id: file.id.clone(),
                    window: file.window.clone(),
                },
            ));
        }
        if file.cancelled {
            events.push((
                now,
                Event::MaintenanceCancelled {
                    id: file.id.clone(),
                },
            ));
            continue;
        }
        let id = || file.id.clone();
        if state == MaintenanceState::Scheduled && now < file.window.starts_at {
            if let Some(before) = reminder_due(file, known, now) {
                events.push((
                    now,
                    Event::MaintenanceReminder {
                        id: id(),
                        before_secs: before.as_secs(),
                    },
                ));
            }
            continue;
        }
        if state == MaintenanceState::Scheduled {
            events.push((now, Event::MaintenanceStarted { id: id() }));
        }
        if now >= file.window.ends_at {
            events.push((now, Event::MaintenanceCompleted { id: id() }));
        }
    }
    // A window whose file is gone (or unreadable) keeps the times it was announced with:
    // deleting a file rewrites nothing, and no window is left running forever.
    for m in view.maintenance.values() {
        if m.state.is_over() || declared.maintenance.iter().any(|f| f.id == m.id) {
            continue;
        }
        if m.state == MaintenanceState::Scheduled && now >= m.window.starts_at {
            events.push((now, Event::MaintenanceStarted { id: m.id.clone() }));
        }
        if now >= m.window.ends_at {
            events.push((now, Event::MaintenanceCompleted { id: m.id.clone() }));
        }
    }
    events
}

/// The reminder to send now, if any: the closest one to the start whose moment has
/// come, unless it (or a closer one) was sent already, or the window was announced
/// after that moment (the announcement said it all).
fn reminder_due(
    file: &MaintenanceFile,
    known: Option<&Maintenance>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let announced = known.map_or(now, |m| m.scheduled_at);
    let sent_closest = known.and_then(|m| m.reminders_sent.iter().min().copied());
    file.remind_before
        .iter()
        .copied()
        .filter(|d| {
            let moment =
                file.window.starts_at - chrono::TimeDelta::from_std(*d).unwrap_or_default();
            now >= moment && announced < moment
        })
        .min()
        .filter(|d| sent_closest.is_none_or(|s| d.as_secs() < s))
}

#[cfg(test)]
mod tests;
