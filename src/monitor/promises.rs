//! Promises kept. When an open incident's latest update promised the next one by a time
//! (`next_update`), or a fix by one (`eta`), and nobody has written since: operators are
//! reminded five minutes before, and at the time a short automatic update tells
//! customers the team is still on it, and when the next update comes. Pure: reads the
//! view and the alert log, returns events (`[wording] keep_promises = false` turns it off).

use chrono::{DateTime, TimeDelta, Utc};

use super::alerts::AlertLog;
use crate::config::Config;
use crate::config::wording::{self, DEFAULT_UPDATE_EVERY, PROMISE_REMINDER, StillVars};
use crate::journal::{Event, IncidentUpdate};
use crate::notify::notice::local_time;
use crate::status::{Incident, StatusView};

/// When an open incident's latest words promised the next update or a fix, if they did.
pub fn promised_by(incident: &Incident) -> Option<DateTime<Utc>> {
    if !incident.is_open() {
        return None;
    }
    let latest = incident.updates.last()?;
    let eta = incident.eta_given(latest.at).filter(|e| *e > latest.at);
    let next = latest.next_update.filter(|n| *n > latest.at);
    match (eta, next) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The reminders and "still on it" updates due at `now`.
pub fn due(
    config: &Config,
    view: &StatusView,
    log: &AlertLog,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Event)> {
    if !config.promises.keep {
        return Vec::new();
    }
    let remind = TimeDelta::from_std(PROMISE_REMINDER).unwrap_or(TimeDelta::minutes(5));
    let mut events = Vec::new();
    for inc in view.open_by_severity() {
        let Some(by) = promised_by(inc) else {
            continue;
        };
        let tz = config.site.timezone;
        if now >= by {
            events.push((now, still_working(config, view, inc, by, now)));
        } else if now >= by - remind {
            let key = format!("update-due:{}:{}", inc.id, by.timestamp());
            if !log.raised(&key) {
                events.push((
                    now,
                    Event::OperatorAlert {
                        key,
                        kind: "update_due".into(),
                        component: inc.components.keys().next().cloned(),
                        incident: Some(inc.id.clone()),
                        message: format!(
                            "{} ({}) promised customers an update by {}. Write it with `forewarn incident update {} --status ... --message ...`; if nobody does by then, forewarn posts that the team is still working on it.",
                            inc.reference,
                            inc.title,
                            local_time(by, tz),
                            inc.reference
                        ),
                    },
                ));
            }
        }
    }
    events
}

/// The automatic update that keeps a promise nobody else kept.
fn still_working(
    config: &Config,
    view: &StatusView,
    inc: &Incident,
    promised: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Event {
    let every = config.promises.update_every.unwrap_or(DEFAULT_UPDATE_EVERY);
    let next = now + TimeDelta::from_std(every).unwrap_or(TimeDelta::minutes(30));
    let recovered = inc
        .components
        .keys()
        .all(|c| view.status_of(c).is_operational());
    let late = !recovered
        && inc
            .updates
            .last()
            .and_then(|u| inc.eta_given(u.at))
            .is_some_and(|eta| eta <= now && eta <= promised);
    let vars = StillVars {
        next_update: local_time(next, config.site.timezone),
        late,
        recovered,
    };
    let message = wording::render(&config.promises.still_working, &vars).unwrap_or_else(|_| {
        format!(
            "We are still working on it. Our next update will be by {}.",
            vars.next_update
        )
    });
    Event::IncidentUpdated {
        id: inc.id.clone(),
        reference: inc.reference.clone(),
        update: IncidentUpdate {
            at: now,
            status: inc.status(),
            message,
            eta: None,
            notify: true,
            apology: None,
            credit: None,
            automatic: true,
            next_update: Some(next),
        },
    }
}
