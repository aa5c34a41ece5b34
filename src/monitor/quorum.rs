//! Several locations, one verdict (`[cluster]`). Each location's samples of a
//! component are confirmed by a tracker of its own, with the check's `fail_after` and
//! `recover_after`; the component's status is the one at least `quorum` of the
//! locations heard from lately agree it is at least as bad as. So with three locations
//! and a quorum of two, an outage is declared when two confirm it, and is over when
//! fewer than two still see it. A failure one location confirms alone is for
//! operators ([`Alone`]), never an incident.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};

use super::tracker::{Thresholds, Tracker, Transition};
use crate::probe::Sample;
use crate::vocab::ComponentStatus;

/// A location counts while its last sample of the component is at most this old, or
/// three of the check's intervals when that is longer ([`seen_within`]).
pub const SEEN_WITHIN: TimeDelta = TimeDelta::minutes(2);

/// How long a location counts after its last sample of a check run every `interval`.
pub fn seen_within(interval: Option<std::time::Duration>) -> TimeDelta {
    interval
        .and_then(|i| TimeDelta::from_std(i * 3).ok())
        .map_or(TimeDelta::days(1), |t| t.max(SEEN_WITHIN))
}

/// A sample that ends this long before it is weighed, or the check's interval when
/// that is longer, is not weighed ([`fresh_within`]): it tells of a moment since
/// passed, as samples a node sends while cut off and delivers once it is back. Also
/// the leeway for clocks that disagree.
pub const FRESH_WITHIN: TimeDelta = TimeDelta::seconds(5);

/// How late a sample of a check run every `interval` may be weighed.
pub fn fresh_within(interval: Option<std::time::Duration>) -> TimeDelta {
    interval
        .and_then(|i| TimeDelta::from_std(i).ok())
        .map_or(FRESH_WITHIN, |t| t.max(FRESH_WITHIN))
}

/// How long a new leader listens before it decides: long enough for every location
/// still running to have sent a sample (one interval, the timeout and
/// [`FRESH_WITHIN`]; [`SEEN_WITHIN`] for a check with no regular interval), so that
/// one location heard first is not taken for all of them.
pub fn settling(interval: Option<std::time::Duration>, timeout: std::time::Duration) -> TimeDelta {
    interval
        .and_then(|i| TimeDelta::from_std(i + timeout).ok())
        .map_or(SEEN_WITHIN, |t| t + FRESH_WITHIN)
}

/// How one component's locations are weighed.
#[derive(Debug, Clone, Copy)]
pub struct Weighing {
    pub thresholds: Thresholds,
    /// The locations that must agree; `None`: a majority of those heard from lately.
    pub quorum: Option<usize>,
    /// How recent a location's last sample must be for it to count ([`seen_within`]).
    pub seen_within: TimeDelta,
    /// How late a sample may arrive and still be weighed ([`fresh_within`]).
    pub fresh_within: TimeDelta,
    /// How long after [`Locations::listening`] samples only feed the locations'
    /// trackers, deciding nothing ([`settling`]).
    pub settling: TimeDelta,
    /// This moment.
    pub now: DateTime<Utc>,
}

/// Where a status was seen from: the locations that agree, out of those heard from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenFrom {
    pub locations: Vec<String>,
    pub of: usize,
}

impl SeenFrom {
    /// "2 of 3 locations (Frankfurt and Virginia)".
    pub fn phrase(&self) -> String {
        let names = match self.locations.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        let noun = if self.of == 1 {
            "location"
        } else {
            "locations"
        };
        format!("{} of {} {noun} ({names})", self.locations.len(), self.of)
    }
}

/// A failure one location (or fewer than the quorum) confirmed while the others see
/// the component working: for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alone {
    pub location: String,
    pub status: ComponentStatus,
    pub reason: String,
    /// The locations that agree with it, itself included, and those heard from.
    pub seen_from: SeenFrom,
}

/// What a sample changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The component's status moved: record it (`seen_from` says where).
    pub transition: Option<(Transition, SeenFrom)>,
    /// A location confirmed a failure the quorum does not share.
    pub alone: Option<Alone>,
    /// A location confirmed a failure, but fewer locations are heard from than the
    /// configured quorum: (heard, quorum). Nothing changes until enough are back.
    pub too_few: Option<(usize, usize)>,
    /// The sample ended this long ago (negative: this far ahead of this node's clock):
    /// it was not weighed.
    pub stale: Option<TimeDelta>,
}

struct Seat {
    tracker: Tracker,
    last_at: DateTime<Utc>,
    /// What this location's confirming sample saw.
    reason: String,
    /// A failure only this location (or too few) confirmed: its own samples still to
    /// come before operators are told (then 0; `None` once told, or with nothing to tell).
    alone: Option<u32>,
    /// A failure this location confirmed that no verdict has weighed yet (it came
    /// while the leader listened, or too few locations were heard to weigh it).
    unweighed: bool,
}

/// Every location's tracker of every component.
#[derive(Default)]
pub struct Locations {
    seats: HashMap<String, BTreeMap<String, Seat>>,
    /// Since when samples are heard (`None`: long enough to decide at once).
    since: Option<DateTime<Utc>>,
}

impl Locations {
    /// Trackers that start listening at `now`: they decide nothing until the
    /// locations have had time to be heard ([`Weighing::settling`]).
    pub fn listening(now: DateTime<Utc>) -> Self {
        Self {
            seats: HashMap::new(),
            since: Some(now),
        }
    }

    /// Feed one location's sample of a component whose recorded status is `current`.
    /// A sample that arrives late, or older than one already weighed, is not weighed.
    /// With fewer locations heard from than a configured quorum, nothing changes.
    pub fn observe(
        &mut self,
        component: &str,
        location: &str,
        sample: &Sample,
        current: ComponentStatus,
        w: &Weighing,
    ) -> Verdict {
        let ended = sample.at + TimeDelta::from_std(sample.latency).unwrap_or_default();
        let late = w.now - ended;
        // Late, or from a clock running ahead: either way not this moment's view.
        if late > w.fresh_within || -late > w.fresh_within {
            return Verdict {
                stale: Some(late),
                ..Verdict::default()
            };
        }
        let thresholds = w.thresholds;
        let seats = self.seats.entry(component.to_owned()).or_default();
        let seat = seats.entry(location.to_owned()).or_insert_with(|| Seat {
            tracker: Tracker::new(current, thresholds),
            last_at: sample.at,
            reason: String::new(),
            alone: None,
            unweighed: false,
        });
        if sample.at < seat.last_at {
            return Verdict::default(); // overtaken by a later sample of this location
        }
        seat.tracker.set_thresholds(thresholds);
        seat.last_at = sample.at;
        let moved = seat.tracker.observe(sample);
        match &moved {
            Some(t) => {
                seat.reason = t.reason.clone();
                // A failure is told as this location's alone only if the others still
                // see it working `fail_after` samples later: in a real outage they
                // confirm it meanwhile.
                seat.alone = (!t.to.is_operational()).then_some(thresholds.fail_after.max(1));
                seat.unweighed = !t.to.is_operational();
            }
            None if !sample.outcome.is_unknown() => {
                seat.alone = seat.alone.map(|k| k.saturating_sub(1));
            }
            None => {}
        }
        if self.since.is_some_and(|since| w.now - since < w.settling) {
            return Verdict::default(); // still listening for every location
        }
        let since = w.now - w.seen_within;
        let heard: Vec<(String, ComponentStatus, String)> = seats
            .iter()
            .filter(|(_, s)| s.last_at >= since)
            .map(|(l, s)| (l.clone(), s.tracker.status(), s.reason.clone()))
            .collect();
        let n = heard.len();
        if n == 0 {
            return Verdict::default();
        }
        let q = w.quorum.unwrap_or(n / 2 + 1).max(1);
        // A failure confirmed since the last verdict (this sample's, or one that came
        // while listening) is weighed now, once.
        let unweighed = seats
            .values()
            .any(|s| s.unweighed && !s.tracker.status().is_operational());
        for s in seats.values_mut() {
            s.unweighed = false;
        }
        if q > n {
            return Verdict {
                too_few: unweighed.then_some((n, q)),
                ..Verdict::default()
            };
        }
        let mut statuses: Vec<ComponentStatus> = heard.iter().map(|(_, s, _)| *s).collect();
        statuses.sort_by_key(|s| std::cmp::Reverse(s.severity()));
        let agreed = statuses[q - 1];
        let agreeing = |bad: bool| -> Vec<String> {
            heard
                .iter()
                .filter(|(_, st, _)| {
                    if bad {
                        st.severity() >= agreed.severity()
                    } else {
                        st.is_operational()
                    }
                })
                .map(|(l, _, _)| l.clone())
                .collect()
        };
        let mut verdict = Verdict::default();
        if agreed != current {
            let seen_from = SeenFrom {
                locations: agreeing(!agreed.is_operational()),
                of: n,
            };
            // The words of a location that sees what was agreed, this one first.
            let own = heard.iter().find(|(l, _, _)| l == location);
            let reason = own
                .filter(|(_, st, _)| *st == agreed)
                .or_else(|| heard.iter().find(|(_, st, _)| *st == agreed))
                .map(|(_, _, r)| r.clone())
                .unwrap_or_default();
            let reason = if reason.is_empty() && agreed.is_operational() {
                "checks are passing again".to_owned()
            } else {
                reason
            };
            // The locations that agreed have nothing to tell alone.
            for s in seats.values_mut() {
                if s.tracker.status().severity() <= agreed.severity() {
                    s.alone = None;
                }
            }
            verdict.transition = Some((
                Transition {
                    from: current,
                    to: agreed,
                    reason,
                    at: sample.at,
                    certificate: moved
                        .as_ref()
                        .and_then(|t| t.certificate)
                        .or(sample.certificate),
                    seen_from: Some(seen_from.phrase()),
                },
                seen_from,
            ));
        } else if let Some(seat) = seats.get_mut(location)
            && seat.alone == Some(0)
            && seat.tracker.status().severity() > agreed.severity()
        {
            seat.alone = None; // told once, until it recovers and fails again
            let status = seat.tracker.status();
            let bad: Vec<String> = heard
                .iter()
                .filter(|(_, st, _)| st.severity() >= status.severity())
                .map(|(l, _, _)| l.clone())
                .collect();
            verdict.alone = Some(Alone {
                location: location.to_owned(),
                status,
                reason: seat.reason.clone(),
                seen_from: SeenFrom {
                    locations: bad,
                    of: n,
                },
            });
        }
        verdict
    }

    /// Every location of `component` starts again from `status` (an operator's
    /// resolution, or a new leader reading the journal).
    pub fn reset(&mut self, component: &str, status: ComponentStatus) {
        if let Some(seats) = self.seats.get_mut(component) {
            for seat in seats.values_mut() {
                seat.tracker = Tracker::new(status, seat.tracker_thresholds());
            }
        }
    }

    /// Forget components no longer configured.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) {
        self.seats.retain(|c, _| keep(c));
    }

    /// Each location heard from for `component`, with its confirmed status and when it
    /// was last heard from.
    pub fn of(&self, component: &str) -> Vec<(String, ComponentStatus, DateTime<Utc>)> {
        self.seats
            .get(component)
            .map(|seats| {
                seats
                    .iter()
                    .map(|(l, s)| (l.clone(), s.tracker.status(), s.last_at))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Seat {
    fn tracker_thresholds(&self) -> Thresholds {
        self.tracker.thresholds()
    }
}

#[cfg(test)]
mod tests;
