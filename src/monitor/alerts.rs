//! What operators, and only they, are told: a certificate nearing expiry, checks that
//! could not run on this machine, a journal that could not be written, notices given up
//! on. Each alert has a key; the same key is not raised again within its quiet time, a
//! rule folded from the journal so a restart does not repeat alerts. Pure.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::{Component, Config};
use crate::journal::{Event, Record};
use crate::notify::notice::local_time;
use crate::probe::CertificateSeen;

/// How long the same certificate warning stays quiet: one reminder a day.
pub const CERTIFICATE_QUIET: TimeDelta = TimeDelta::hours(24);
/// How long "checks could not run" stays quiet while it goes on.
pub const PROBES_QUIET: TimeDelta = TimeDelta::hours(1);
/// How long "notices given up on" stays quiet.
pub const DEAD_QUIET: TimeDelta = TimeDelta::hours(1);

/// When each alert key was last raised, folded from `operator.alert` events.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AlertLog {
    last: BTreeMap<String, DateTime<Utc>>,
}

impl AlertLog {
    pub fn from_records(records: &[Record]) -> AlertLog {
        let mut log = AlertLog::default();
        for r in records {
            log.apply(r);
        }
        log
    }

    pub fn apply(&mut self, record: &Record) {
        if let Event::OperatorAlert { key, .. } = &record.event {
            self.last.insert(key.clone(), record.at);
        }
    }

    /// Has `key` been raised, ever?
    pub fn raised(&self, key: &str) -> bool {
        self.last.contains_key(key)
    }

    /// May `key` be raised at `now`, or was it raised within `quiet`?
    pub fn may_raise(&self, key: &str, now: DateTime<Utc>, quiet: TimeDelta) -> bool {
        self.last.get(key).is_none_or(|last| now - *last >= quiet)
    }
}

fn alert(key: String, kind: &str, component: Option<&Component>, message: String) -> Event {
    Event::OperatorAlert {
        key,
        kind: kind.to_owned(),
        component: component.map(|c| c.id.clone()),
        incident: None,
        message,
    }
}

/// A probe could not run on this machine: nothing was published or concluded.
pub fn probes_not_run(component: &Component, reason: &str) -> (String, Event) {
    let key = "probes-not-run".to_owned();
    let reason = reason.strip_prefix("could not check: ").unwrap_or(reason);
    let message = format!(
        "forewarn could not check {} from this machine: {reason}. Other checks may be affected too. Nothing was published and no status changed because of it; customers were not told. Look at the machine forewarn runs on (its open-files limit, memory and network settings); checks resume by themselves once it has room.",
        component.name
    );
    let e = alert(key.clone(), "probes_not_run", Some(component), message);
    (key, e)
}

/// A failure fewer locations than the quorum confirm: told to operators once an hour
/// per component and location.
pub const ALONE_QUIET: TimeDelta = TimeDelta::hours(1);

/// Some locations of a cluster see a component fail while the others see it work: no
/// incident, and operators hear where.
pub fn seen_alone(component: &Component, alone: &crate::monitor::quorum::Alone) -> (String, Event) {
    let key = format!("alone:{}:{}", component.id, alone.location);
    let seen = if alone.seen_from.locations.len() > 1 {
        format!("from {}, fewer than must agree", alone.seen_from.phrase())
    } else {
        format!("from {} only", alone.location)
    };
    let message = format!(
        "{} fails {seen} ({}, {}): the other locations see it working, so no incident was opened and customers were not told. Look at the network between {} and the service, and at how the service routes that region.",
        component.name,
        alone.status.label().to_lowercase(),
        alone.reason,
        alone.location
    );
    let e = alert(
        key.clone(),
        "location_failing_alone",
        Some(component),
        message,
    );
    (key, e)
}

/// A location confirmed a failure, but fewer locations are heard from than the
/// configured quorum: nothing can be declared until enough are back.
pub fn quorum_unreachable(
    component: &Component,
    location: &str,
    heard: usize,
    needed: usize,
) -> (String, Event) {
    let key = format!("quorum:{}", component.id);
    let message = format!(
        "{} fails from {location}, but only {heard} of the {needed} locations the quorum asks for are heard from, so nothing can be declared: customers were not told. Bring the silent nodes back, or lower [cluster] quorum.",
        component.name
    );
    let e = alert(key.clone(), "quorum_unreachable", Some(component), message);
    (key, e)
}

/// A TLS check's certificate expires within its `warn_days`.
pub fn certificate_expiring(
    config: &Config,
    component: &Component,
    cert: &CertificateSeen,
    now: DateTime<Utc>,
) -> (String, Event) {
    let key = format!("certificate:{}", component.id);
    let left = cert.expires_at - now;
    let days = left.num_days();
    let within = match days {
        0 => "in less than a day".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    };
    let message = format!(
        "The certificate of {} ({}) expires {within}, at {}. Renew it before then: once it expires, customers' secure connections fail and forewarn publishes an outage. Customers have not been told anything.",
        component.name,
        component.check.target.describe(),
        local_time(cert.expires_at, config.site.timezone)
    );
    let e = alert(
        key.clone(),
        "certificate_expiring",
        Some(component),
        message,
    );
    (key, e)
}

/// Notices were given up on after 24 hours of failed attempts (or refused for good).
pub fn deliveries_dead(count: usize, example: &str) -> (String, Event) {
    let key = "deliveries-dead".to_owned();
    let what = if count == 1 {
        "A notice was".to_owned()
    } else {
        format!("{count} notices were")
    };
    let message = format!(
        "{what} given up on: {example}. `forewarn outbox` lists what is owed and given up on; `forewarn outbox retry --all` sends them again once the cause is fixed."
    );
    (key.clone(), alert(key, "deliveries_dead", None, message))
}

/// The journal could not be written for a while; it can again.
/// The journal could not be written from `since` to `until`: `late` status changes seen
/// meanwhile are being recorded with the times they happened, and `dropped` could not
/// be kept (a gap in the history).
pub fn journal_unwritable(
    config: &Config,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    error: &str,
    late: usize,
    dropped: u64,
) -> Event {
    let tz = config.site.timezone;
    let changes = |n: u64| {
        if n == 1 {
            "1 status change".to_owned()
        } else {
            format!("{n} status changes")
        }
    };
    let late_words = match late {
        1 => "1 status change seen meanwhile is recorded now, with the time it happened, and subscribers are told of it now".to_owned(),
        n => format!(
            "{} seen meanwhile are recorded now, with the times they happened, and subscribers are told of them now",
            changes(n as u64)
        ),
    };
    let changes = match (late, dropped) {
        (0, 0) => "No status change was seen meanwhile.".to_owned(),
        (_, 0) => format!("{late_words}."),
        (0, dropped) => format!(
            "{} could not be kept, so the status history has a gap in that time.",
            changes(dropped)
        ),
        (_, dropped) => format!(
            "{late_words}; {dropped} more could not be kept, so the status history has a gap in that time."
        ),
    };
    alert(
        format!("journal:{}", since.timestamp()),
        "journal_unwritable",
        None,
        format!(
            "forewarn could not write its journal from {} to {} ({error}). {changes} It is writable again now. Check the disk of the state folder.",
            local_time(since, tz),
            local_time(until, tz)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovered_journal_says_what_was_recorded_late_and_what_was_lost() {
        let config = crate::config::tests::minimal();
        let since = Utc::now() - TimeDelta::minutes(10);
        let message = |late, dropped| match journal_unwritable(
            &config,
            since,
            Utc::now(),
            "No space left on device",
            late,
            dropped,
        ) {
            Event::OperatorAlert { message, .. } => message,
            other => panic!("{other:?}"),
        };
        assert!(message(0, 0).contains("No status change was seen meanwhile."));
        assert!(message(1, 0).contains("1 status change seen meanwhile is recorded now"));
        assert!(message(3, 0).contains("3 status changes seen meanwhile are recorded now"));
        let lost = message(0, 1);
        assert!(lost.contains("1 status change could not be kept"), "{lost}");
        let both = message(2, 5);
        assert!(
            both.contains("2 status changes seen") && both.contains("5 more could not be kept"),
            "{both}"
        );
        assert!(both.contains("No space left on device"));
    }

    fn record(seq: u64, at: &str, key: &str) -> Record {
        Record {
            seq,
            at: at.parse().unwrap(),
            more: false,
            event: Event::OperatorAlert {
                key: key.into(),
                kind: "probes_not_run".into(),
                component: None,
                incident: None,
                message: "m".into(),
            },
        }
    }

    #[test]
    fn an_alert_stays_quiet_for_its_quiet_time_even_after_a_restart() {
        let log = AlertLog::from_records(&[record(1, "2026-11-22T10:00:00Z", "k")]);
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(!log.may_raise("k", at("2026-11-22T10:59:00Z"), PROBES_QUIET));
        assert!(log.may_raise("k", at("2026-11-22T11:00:00Z"), PROBES_QUIET));
        assert!(log.may_raise("other", at("2026-11-22T10:01:00Z"), PROBES_QUIET));
        assert!(log.raised("k") && !log.raised("other"));
    }
}
