//! Heartbeat checks: jobs that report to forewarn (`/heartbeat/<token>`) instead of
//! being probed. A report is a sample (a beat is up, `/fail` is down); each period that
//! passes without one, once its grace is over, is a down sample too, so the component's
//! tracker confirms an outage after `fail_after` missed periods like any check. Pure:
//! the daemon gives the clock, the reports remembered across restarts, and the
//! configuration.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::{Config, HeartbeatTarget, Target};
use crate::present::text::when;
use crate::probe::{Outcome, Sample};

/// What is known of one heartbeat check.
#[derive(Debug, Clone, PartialEq)]
struct Watch {
    target: HeartbeatTarget,
    /// The last report, or when watching began.
    since: DateTime<Utc>,
    /// A report was received at `since` (else it is when watching began).
    reported: bool,
    /// Periods since `since` already told to the tracker as missed.
    missed: u32,
    /// When this process began watching it: a period that ended before was not seen
    /// (reports sent while nothing listened were lost, not missed).
    from: DateTime<Utc>,
}

/// Every heartbeat check of the configuration in force.
#[derive(Debug, Default)]
pub struct Heartbeats {
    watches: HashMap<String, Watch>,
    tz: Option<chrono_tz::Tz>,
}

/// Missed periods told at once at most (a machine that slept for a week): enough for
/// any `fail_after`; the rest are counted without a sample each.
const MOST_AT_ONCE: u32 = 200;

/// A report from a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// `GET` or `POST /heartbeat/<token>`: the job ran.
    Beat,
    /// `/heartbeat/<token>/fail`: the job says it failed.
    Fail,
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl Heartbeats {
    /// Follow the heartbeat checks of `config`, continuing from the `last` report of each
    /// (kept across restarts); a check without one is watched from when it was first
    /// `watched` (also kept), or from `now`.
    pub fn configure(
        &mut self,
        config: &Config,
        last: &BTreeMap<String, DateTime<Utc>>,
        watched: &BTreeMap<String, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) {
        self.tz = Some(config.site.timezone);
        let mut next = HashMap::new();
        for c in &config.components {
            let Target::Heartbeat(target) = c.check.target else {
                continue;
            };
            let watch = match self.watches.remove(&c.id) {
                Some(mut w) => {
                    if w.target != target {
                        // New terms: the periods are counted again from the last
                        // report, and only those that end from now on are told.
                        w.target = target;
                        w.missed = 0;
                        w.from = now;
                    }
                    w
                }
                None => match last.get(&c.id) {
                    Some(at) => Watch {
                        target,
                        since: (*at).min(now),
                        reported: true,
                        missed: 0,
                        from: now,
                    },
                    None => Watch {
                        target,
                        since: watched.get(&c.id).map_or(now, |at| (*at).min(now)),
                        reported: false,
                        missed: 0,
                        from: now,
                    },
                },
            };
            next.insert(c.id.clone(), watch);
        }
        self.watches = next;
    }

    /// The checks whose job has not reported yet, and since when they are watched (to
    /// be kept across restarts, so restarts never push their first deadline back).
    pub fn unreported(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.watches
            .iter()
            .filter(|(_, w)| !w.reported)
            .map(|(id, w)| (id.as_str(), w.since))
    }

    /// Is `component` a heartbeat check in force?
    pub fn watches(&self, component: &str) -> bool {
        self.watches.contains_key(component)
    }

    /// A job reported: the sample it makes.
    pub fn report(&mut self, component: &str, report: Report, at: DateTime<Utc>) -> Option<Sample> {
        let w = self.watches.get_mut(component)?;
        w.since = at;
        w.reported = true;
        w.missed = 0;
        let outcome = match report {
            Report::Beat => Outcome::Up,
            Report::Fail => Outcome::Down("the job reported a failure".into()),
        };
        Some(sample(outcome, at))
    }

    /// The periods that ended without a report by `now`, once each, oldest first: one
    /// down sample each, at the moment its grace ran out.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<(String, Sample)> {
        let tz = self.tz.unwrap_or(chrono_tz::UTC);
        let mut out = Vec::new();
        for (id, w) in &mut self.watches {
            // Periods that ended before watching began are passed over at once.
            let unseen = periods_ended(w, w.from).saturating_sub(1);
            w.missed = w.missed.max(unseen);
            let ended = periods_ended(w, now);
            if ended.saturating_sub(w.missed) > MOST_AT_ONCE {
                w.missed = ended - MOST_AT_ONCE;
            }
            while w.missed < ended {
                let Some(deadline) = deadline(w, w.missed + 1) else {
                    break;
                };
                w.missed += 1;
                if deadline < w.from {
                    continue; // ended while nothing listened
                }
                let reason = if w.reported {
                    format!("no report since {}", when(w.since, tz))
                } else {
                    format!("no report since watching began at {}", when(w.since, tz))
                };
                out.push((id.clone(), sample(Outcome::Down(reason), deadline)));
            }
        }
        out.sort_by_key(|(_, s)| s.at);
        out
    }

    /// When the next period runs out, for the daemon's timer.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.watches
            .values()
            .filter_map(|w| deadline(w, w.missed + 1))
            .min()
    }
}

/// When the `n`th period after `since` runs out, grace included; None beyond the
/// calendar.
fn deadline(w: &Watch, n: u32) -> Option<DateTime<Utc>> {
    let periods = delta(w.target.expect_every).checked_mul(i32::try_from(n).ok()?)?;
    w.since
        .checked_add_signed(periods)?
        .checked_add_signed(delta(w.target.grace))
}

/// How many periods after `since` have run out by `at`.
fn periods_ended(w: &Watch, at: DateTime<Utc>) -> u32 {
    let every = w.target.expect_every.as_millis().max(1);
    let grace = delta(w.target.grace);
    let Some(first) = w.since.checked_add_signed(grace) else {
        return 0;
    };
    let Ok(past) = (at - first).to_std() else {
        return 0; // before the grace is over
    };
    u32::try_from(past.as_millis() / every).unwrap_or(u32::MAX)
}

fn sample(outcome: Outcome, at: DateTime<Utc>) -> Sample {
    Sample {
        outcome,
        latency: Duration::ZERO,
        at,
        certificate: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(every: &str, grace: &str) -> Config {
        let text = format!(
            "[site]\ntitle = \"T\"\nbase_url = \"https://status.t.example\"\ntimezone = \"UTC\"\n[site.contact]\nemail = \"h@t.example\"\n\n[[component]]\nid = \"nightly\"\nname = \"Nightly export\"\n[component.check]\nkind = \"heartbeat\"\nexpect_every = \"{every}\"\ngrace = \"{grace}\"\n"
        );
        Config::parse(std::path::Path::new("forewarn.toml"), &text, &|_| None).expect("config")
    }

    /// Heartbeats following `config` from `now`.
    fn watching(
        config: &Config,
        last: &BTreeMap<String, DateTime<Utc>>,
        watched: &BTreeMap<String, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Heartbeats {
        let mut h = Heartbeats::default();
        h.configure(config, last, watched, now);
        h
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn each_missed_period_is_one_down_sample_when_its_grace_runs_out() {
        let mut h = watching(
            &config("5m", "1m"),
            &BTreeMap::new(),
            &BTreeMap::new(),
            at("2026-01-01T10:00:00Z"),
        );
        assert!(h.due(at("2026-01-01T10:05:59Z")).is_empty());
        let first = h.due(at("2026-01-01T10:06:00Z"));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].1.at, at("2026-01-01T10:06:00Z"));
        assert!(first[0].1.outcome.is_down());
        assert!(h.due(at("2026-01-01T10:06:30Z")).is_empty(), "told once");
        // Two more periods pass unseen (the daemon was busy): both are told, in order.
        let later = h.due(at("2026-01-01T10:17:00Z"));
        let times: Vec<_> = later.iter().map(|(_, s)| s.at).collect();
        assert_eq!(
            times,
            [at("2026-01-01T10:11:00Z"), at("2026-01-01T10:16:00Z")]
        );
        // A beat is up, and starts the count again.
        let beat = h
            .report("nightly", Report::Beat, at("2026-01-01T10:18:00Z"))
            .unwrap();
        assert_eq!(beat.outcome, Outcome::Up);
        assert_eq!(h.next_deadline(), Some(at("2026-01-01T10:24:00Z")));
        assert!(h.due(at("2026-01-01T10:23:59Z")).is_empty());
        let fail = h
            .report("nightly", Report::Fail, at("2026-01-01T10:20:00Z"))
            .unwrap();
        assert!(fail.outcome.is_down());
        assert!(
            h.report("other", Report::Beat, at("2026-01-01T10:20:00Z"))
                .is_none()
        );
    }

    #[test]
    fn a_restart_continues_from_the_last_report_but_never_blames_the_job_for_its_own_absence() {
        let mut last = BTreeMap::new();
        last.insert("nightly".to_owned(), at("2026-01-01T10:00:00Z"));
        // Back a minute later: the period runs out at 10:06 as it would have.
        let mut h = watching(
            &config("5m", "1m"),
            &last,
            &BTreeMap::new(),
            at("2026-01-01T10:01:00Z"),
        );
        assert!(h.due(at("2026-01-01T10:05:00Z")).is_empty());
        assert_eq!(h.due(at("2026-01-01T10:06:00Z")).len(), 1);
        // Back an hour later: the periods that ended while away are not told; the next
        // one is.
        let mut h = watching(
            &config("5m", "1m"),
            &last,
            &BTreeMap::new(),
            at("2026-01-01T11:00:00Z"),
        );
        assert!(h.due(at("2026-01-01T11:00:30Z")).is_empty());
        let next = h.due(at("2026-01-01T11:01:00Z"));
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].1.at, at("2026-01-01T11:01:00Z"));
    }

    #[test]
    fn a_job_that_never_reported_is_watched_from_the_first_start_not_each_restart() {
        let mut h = watching(
            &config("5m", "1m"),
            &BTreeMap::new(),
            &BTreeMap::new(),
            at("2026-01-01T10:00:00Z"),
        );
        let watched: BTreeMap<String, DateTime<Utc>> =
            h.unreported().map(|(id, at)| (id.to_owned(), at)).collect();
        assert_eq!(watched["nightly"], at("2026-01-01T10:00:00Z"));
        // Restarted at 10:04, and again at 10:05:30: the deadline stays at 10:06.
        for restart in ["2026-01-01T10:04:00Z", "2026-01-01T10:05:30Z"] {
            let h = watching(&config("5m", "1m"), &BTreeMap::new(), &watched, at(restart));
            assert_eq!(h.next_deadline(), Some(at("2026-01-01T10:06:00Z")));
        }
        h.report("nightly", Report::Beat, at("2026-01-01T10:02:00Z"));
        assert_eq!(h.unreported().count(), 0);
    }

    #[test]
    fn new_terms_count_again_from_the_last_report() {
        let mut h = watching(
            &config("5m", "1m"),
            &BTreeMap::new(),
            &BTreeMap::new(),
            at("2026-01-01T10:00:00Z"),
        );
        h.report("nightly", Report::Beat, at("2026-01-01T10:01:00Z"));
        h.configure(
            &config("1h", "5m"),
            &BTreeMap::new(),
            &BTreeMap::new(),
            at("2026-01-01T10:04:00Z"),
        );
        assert!(h.due(at("2026-01-01T10:30:00Z")).is_empty());
        assert_eq!(h.next_deadline(), Some(at("2026-01-01T11:06:00Z")));
    }

    #[test]
    fn a_check_added_later_is_not_blamed_for_periods_before_it_was_watched() {
        let mut last = BTreeMap::new();
        last.insert("nightly".to_owned(), at("2026-01-01T10:00:00Z"));
        // Configured a day after its job last reported (it was removed, then added back).
        let mut h = watching(
            &config("5m", "1m"),
            &last,
            &BTreeMap::new(),
            at("2026-01-02T10:00:30Z"),
        );
        assert!(
            h.due(at("2026-01-02T10:00:59Z")).is_empty(),
            "nothing back-dated"
        );
        let next = h.due(at("2026-01-02T10:01:00Z"));
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].1.at, at("2026-01-02T10:01:00Z"));
    }

    #[test]
    fn a_week_asleep_tells_a_bounded_number_and_huge_terms_never_overflow() {
        let mut h = watching(
            &config("1s", "1s"),
            &BTreeMap::new(),
            &BTreeMap::new(),
            at("2026-01-01T10:00:00Z"),
        );
        let told = h.due(at("2026-01-08T10:00:00Z"));
        assert_eq!(told.len(), MOST_AT_ONCE as usize);
        assert!(h.due(at("2026-01-08T10:00:00Z")).is_empty());
        let mut h = watching(
            &config("32d", "32d"),
            &BTreeMap::new(),
            &BTreeMap::new(),
            at("2026-01-01T10:00:00Z"),
        );
        assert!(h.due(at("2026-01-02T10:00:00Z")).is_empty());
        assert_eq!(h.next_deadline(), Some(at("2026-03-06T10:00:00Z")));
    }
}
