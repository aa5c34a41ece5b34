//! Promises kept. When an open incident's latest update promised the next one by a time
//! (`next_update`), or a fix by one (`eta`), and nobody has written since: operators are
//! reminded five minutes before, and at the time a short automatic update tells
//! customers the team is still on it, and when the next update comes. After
//! [`MAX_UNATTENDED`] automatic updates in a row, forewarn stops speaking for a team that
//! has not spoken: operators are told instead. Pure: reads the view and the alert log,
//! returns events (`[wording] keep_promises = false` turns it off).

use chrono::{DateTime, TimeDelta, Utc};

use super::alerts::AlertLog;
use crate::config::Config;
use crate::config::wording::{self, PROMISE_REMINDER, StillVars};
use crate::journal::{Event, IncidentUpdate};
use crate::notify::notice::local_time;
use crate::status::{Incident, IncidentStatus, StatusView};

/// How many automatic updates in a row end an incident's timeline before forewarn stops
/// saying the team is still on it.
pub const MAX_UNATTENDED: usize = 3;

/// When an open incident's latest words promised the next update or a fix, if they did.
/// An ETA is a promise only while the repair is under way (investigating, identified):
/// once someone writes "monitoring", the fix is in.
pub fn promised_by(incident: &Incident) -> Option<DateTime<Utc>> {
    if !incident.is_open() {
        return None;
    }
    let latest = incident.updates.last()?;
    let repairing = matches!(
        latest.status,
        IncidentStatus::Investigating | IncidentStatus::Identified
    );
    let eta = incident
        .eta_given(latest.at)
        .filter(|e| *e > latest.at && repairing);
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
        let unattended = inc.updates.iter().rev().take_while(|u| u.automatic).count();
        if now >= by && unattended >= MAX_UNATTENDED {
            let since = inc
                .updates
                .iter()
                .rev()
                .find(|u| !u.automatic)
                .map_or(inc.opened_at, |u| u.at);
            events.extend(due_alert(
                log,
                inc,
                format!("update-due:{}:{}:unattended", inc.id, by.timestamp()),
                format!(
                    "Nobody has written on {} ({}) since {}, and forewarn has posted {unattended} updates of its own. It posts no more until someone writes: customers were last promised an update by {}. Write one with `forewarn incident update {} --status ... --message ...`.",
                    inc.reference,
                    inc.title,
                    local_time(since, tz),
                    local_time(by, tz),
                    inc.reference
                ),
                now,
            ));
        } else if now >= by {
            events.push((now, still_working(config, view, inc, by, now)));
        } else if now >= by - remind {
            events.extend(due_alert(
                log,
                inc,
                format!("update-due:{}:{}", inc.id, by.timestamp()),
                format!(
                    "{} ({}) promised customers an update by {}. Write it with `forewarn incident update {} --status ... --message ...`; if nobody does by then, forewarn posts that the team is still working on it.",
                    inc.reference,
                    inc.title,
                    local_time(by, tz),
                    inc.reference
                ),
                now,
            ));
        }
    }
    events
}

/// An operator alert about a promise, unless this one was raised already.
fn due_alert(
    log: &AlertLog,
    inc: &Incident,
    key: String,
    message: String,
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, Event)> {
    (!log.raised(&key)).then(|| {
        (
            now,
            Event::OperatorAlert {
                key,
                kind: "update_due".into(),
                component: inc.components.keys().next().cloned(),
                incident: Some(inc.id.clone()),
                message,
            },
        )
    })
}

/// The automatic update that keeps a promise nobody else kept.
fn still_working(
    config: &Config,
    view: &StatusView,
    inc: &Incident,
    promised: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Event {
    // With update_every = "off", the update promises nothing further.
    let next = config
        .promises
        .update_every
        .map(|every| now + TimeDelta::from_std(every).unwrap_or(TimeDelta::minutes(30)));
    let recovered = inc
        .components
        .keys()
        .all(|c| view.status_of(c).is_operational());
    let repairing = matches!(
        inc.status(),
        IncidentStatus::Investigating | IncidentStatus::Identified
    );
    let late = !recovered
        && repairing
        && inc
            .updates
            .last()
            .and_then(|u| inc.eta_given(u.at))
            .is_some_and(|eta| eta <= now && eta <= promised);
    let vars = StillVars {
        next_update: next
            .map(|n| local_time(n, config.site.timezone))
            .unwrap_or_default(),
        late,
        recovered,
    };
    let message = wording::render(&config.promises.still_working, &vars)
        .unwrap_or_else(|_| "We are still working on it.".to_owned());
    Event::IncidentUpdated {
        id: inc.id.clone(),
        reference: inc.reference.clone(),
        update: IncidentUpdate::automatic(now, inc.status(), message, next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Record;
    use crate::vocab::{ComponentStatus, Impact};

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn update(at: &str, status: IncidentStatus) -> IncidentUpdate {
        IncidentUpdate {
            at: t(at),
            status,
            message: "words".into(),
            eta: None,
            notify: true,
            apology: None,
            credit: None,
            automatic: false,
            next_update: None,
        }
    }

    fn view_with(updates: Vec<IncidentUpdate>) -> StatusView {
        let mut view = StatusView::default();
        let mut seq = 0;
        let mut push = |view: &mut StatusView, at: DateTime<Utc>, event: Event| {
            seq += 1;
            view.apply(&Record {
                seq,
                at,
                more: false,
                event,
            });
        };
        let mut updates = updates.into_iter();
        let first = updates.next().unwrap();
        push(
            &mut view,
            first.at,
            Event::IncidentOpened {
                id: "cards".into(),
                reference: "INC-cards".into(),
                title: "Card payments failing".into(),
                components: [("checkout".to_string(), ComponentStatus::PartialOutage)].into(),
                impact: Impact::Major,
                automatic: false,
                update: Some(first),
                postmortem_url: None,
            },
        );
        for u in updates {
            push(
                &mut view,
                u.at,
                Event::IncidentUpdated {
                    id: "cards".into(),
                    reference: "INC-cards".into(),
                    update: u,
                },
            );
        }
        view
    }

    fn config() -> Config {
        crate::config::tests::minimal()
    }

    #[test]
    fn a_promise_is_reminded_once_then_kept_by_a_still_working_update() {
        let mut first = update("2026-11-22T10:00:00Z", IncidentStatus::Identified);
        first.next_update = Some(t("2026-11-22T10:30:00Z"));
        let view = view_with(vec![first]);
        let mut log = AlertLog::default();
        assert!(due(&config(), &view, &log, t("2026-11-22T10:20:00Z")).is_empty());

        let remind = due(&config(), &view, &log, t("2026-11-22T10:26:00Z"));
        assert!(
            matches!(&remind[..], [(_, Event::OperatorAlert { kind, .. })] if kind == "update_due"),
            "{remind:?}"
        );
        for (at, e) in &remind {
            log.apply(&Record {
                seq: 9,
                at: *at,
                more: false,
                event: e.clone(),
            });
        }
        assert!(
            due(&config(), &view, &log, t("2026-11-22T10:27:00Z")).is_empty(),
            "reminded once"
        );

        let kept = due(&config(), &view, &log, t("2026-11-22T10:30:00Z"));
        match &kept[..] {
            [(_, Event::IncidentUpdated { update, .. })] => {
                assert!(update.automatic);
                assert_eq!(update.status, IncidentStatus::Identified);
                assert!(update.message.contains("We are still working on it."));
                assert_eq!(update.next_update, Some(t("2026-11-22T11:00:00Z")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_passed_eta_is_late_until_someone_writes_monitoring() {
        let mut first = update("2026-11-22T10:00:00Z", IncidentStatus::Identified);
        first.eta = Some(t("2026-11-22T10:15:00Z"));
        let view = view_with(vec![first.clone()]);
        let late = due(
            &config(),
            &view,
            &AlertLog::default(),
            t("2026-11-22T10:15:00Z"),
        );
        match &late[..] {
            [(_, Event::IncidentUpdated { update, .. })] => {
                assert!(
                    update
                        .message
                        .starts_with("This is taking longer than we expected."),
                    "{}",
                    update.message
                );
            }
            other => panic!("{other:?}"),
        }
        let monitoring = update("2026-11-22T10:10:00Z", IncidentStatus::Monitoring);
        let view = view_with(vec![first, monitoring]);
        assert_eq!(promised_by(&view.incidents["cards"]), None);
        assert!(
            due(
                &config(),
                &view,
                &AlertLog::default(),
                t("2026-11-22T10:15:00Z")
            )
            .is_empty()
        );
    }

    #[test]
    fn keep_promises_off_keeps_quiet() {
        let mut first = update("2026-11-22T10:00:00Z", IncidentStatus::Identified);
        first.next_update = Some(t("2026-11-22T10:30:00Z"));
        let view = view_with(vec![first]);
        let mut config = config();
        config.promises.keep = false;
        assert!(
            due(
                &config,
                &view,
                &AlertLog::default(),
                t("2026-11-22T11:00:00Z")
            )
            .is_empty()
        );
    }

    #[test]
    fn after_three_updates_of_its_own_forewarn_tells_operators_instead() {
        let mut first = update("2026-11-22T10:00:00Z", IncidentStatus::Identified);
        first.next_update = Some(t("2026-11-22T10:30:00Z"));
        let mut updates = vec![first];
        for (n, at) in ["10:30", "11:00", "11:30"].iter().enumerate() {
            updates.push(IncidentUpdate::automatic(
                t(&format!("2026-11-22T{at}:00Z")),
                IncidentStatus::Identified,
                format!("still on it {n}"),
                Some(t(&format!("2026-11-22T{at}:00Z")) + TimeDelta::minutes(30)),
            ));
        }
        let view = view_with(updates);
        let due_now = due(
            &config(),
            &view,
            &AlertLog::default(),
            t("2026-11-22T12:00:00Z"),
        );
        match &due_now[..] {
            [(_, Event::OperatorAlert { kind, message, .. })] => {
                assert_eq!(kind, "update_due");
                assert!(
                    message.contains("It posts no more until someone writes"),
                    "{message}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn with_update_every_off_the_still_working_update_promises_nothing() {
        let mut first = update("2026-11-22T10:00:00Z", IncidentStatus::Identified);
        first.next_update = Some(t("2026-11-22T10:30:00Z"));
        let view = view_with(vec![first]);
        let mut config = config();
        config.promises.update_every = None;
        match &due(
            &config,
            &view,
            &AlertLog::default(),
            t("2026-11-22T10:30:00Z"),
        )[..]
        {
            [(_, Event::IncidentUpdated { update, .. })] => {
                assert_eq!(update.next_update, None);
                assert_eq!(update.message, "We are still working on it.");
            }
            other => panic!("{other:?}"),
        }
    }
}
