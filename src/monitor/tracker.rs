//! The tracker: a pure state machine per component turning samples into confirmed
//! status changes. A status gets worse only after `fail_after` consecutive worse
//! samples, and better only after `recover_after` consecutive better ones, so a single
//! blip never flaps the status.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::probe::{CertificateSeen, Outcome, Sample};
use crate::vocab::ComponentStatus;

/// How a sample or status ranks: up, degraded, down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Up,
    Degraded,
    Down,
}

impl Level {
    /// None for a probe that could not run: it tells nothing either way.
    fn of_outcome(o: &Outcome) -> Option<Level> {
        match o {
            Outcome::Up | Outcome::Warning(_) => Some(Level::Up),
            Outcome::Degraded(_) => Some(Level::Degraded),
            Outcome::Down(_) => Some(Level::Down),
            Outcome::Unknown(_) => None,
        }
    }

    fn of_status(s: ComponentStatus) -> Level {
        match s {
            ComponentStatus::Operational | ComponentStatus::UnderMaintenance => Level::Up,
            ComponentStatus::DegradedPerformance => Level::Degraded,
            ComponentStatus::PartialOutage | ComponentStatus::MajorOutage => Level::Down,
        }
    }
}

/// The thresholds of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    pub fail_after: u32,
    pub recover_after: u32,
    /// The status a confirmed failure means.
    pub severity: ComponentStatus,
}

impl Thresholds {
    fn status_of(&self, level: Level) -> ComponentStatus {
        match level {
            Level::Up => ComponentStatus::Operational,
            Level::Degraded => ComponentStatus::DegradedPerformance,
            Level::Down => self.severity,
        }
    }
}

/// A confirmed change of status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub from: ComponentStatus,
    pub to: ComponentStatus,
    /// What the confirming sample saw.
    pub reason: String,
    pub at: DateTime<Utc>,
    /// The certificate the confirming sample saw (TLS checks).
    pub certificate: Option<CertificateSeen>,
    /// With several locations: where it is seen ("2 of 3 locations (Frankfurt and
    /// Virginia)"), for the words customers read.
    pub seen_from: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Tracker {
    status: ComponentStatus,
    thresholds: Thresholds,
    /// The most recent samples' levels, reasons and certificates, newest last.
    recent: VecDeque<(Level, Option<String>, Option<CertificateSeen>)>,
}

impl Tracker {
    /// A tracker continuing from a known status (replayed from the journal).
    pub fn new(status: ComponentStatus, thresholds: Thresholds) -> Tracker {
        Tracker {
            status,
            thresholds,
            recent: VecDeque::new(),
        }
    }

    pub fn status(&self) -> ComponentStatus {
        self.status
    }

    pub fn thresholds(&self) -> Thresholds {
        self.thresholds
    }

    /// New thresholds after a configuration reload; the streak so far is kept.
    pub fn set_thresholds(&mut self, thresholds: Thresholds) {
        self.thresholds = thresholds;
    }

    /// Take one sample; returns the status change it confirms, if any. A sample of a
    /// probe that could not run is passed over: it neither confirms nor breaks a streak.
    pub fn observe(&mut self, sample: &Sample) -> Option<Transition> {
        let level = Level::of_outcome(&sample.outcome)?;
        let keep = self
            .thresholds
            .fail_after
            .max(self.thresholds.recover_after) as usize;
        self.recent.push_back((
            level,
            sample.outcome.reason().map(str::to_owned),
            sample.certificate,
        ));
        while self.recent.len() > keep {
            self.recent.pop_front();
        }

        let current = Level::of_status(self.status);
        let new_level = if level > current {
            // Worse: the mildest of the confirming samples, so Down-Degraded-Down
            // confirms degraded, not down.
            self.last_all(self.thresholds.fail_after, |l| l > current)?
                .into_iter()
                .min()?
        } else if level < current {
            // Better: the worst of the confirming samples.
            self.last_all(self.thresholds.recover_after, |l| l < current)?
                .into_iter()
                .max()?
        } else {
            return None;
        };
        let to = self.thresholds.status_of(new_level);
        if to == self.status {
            return None;
        }
        let from = std::mem::replace(&mut self.status, to);
        // The words of the newest sample that saw the new level.
        let newest = self.recent.iter().rev().find(|(l, _, _)| *l == new_level);
        let reason = newest
            .and_then(|(_, r, _)| r.clone())
            .unwrap_or_else(|| "checks are passing again".to_owned());
        Some(Transition {
            from,
            to,
            reason,
            at: sample.at,
            certificate: newest.and_then(|(_, _, c)| *c),
            seen_from: None,
        })
    }

    /// The levels of the last `n` samples, if there are `n` and all satisfy `pred`.
    fn last_all(&self, n: u32, pred: impl Fn(Level) -> bool) -> Option<Vec<Level>> {
        let n = n as usize;
        if self.recent.len() < n {
            return None;
        }
        let last: Vec<Level> = self
            .recent
            .iter()
            .skip(self.recent.len() - n)
            .map(|(l, _, _)| *l)
            .collect();
        last.iter().all(|l| pred(*l)).then_some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;
    use std::time::Duration;

    const T: Thresholds = Thresholds {
        fail_after: 3,
        recover_after: 2,
        severity: MajorOutage,
    };

    fn sample(code: char) -> Sample {
        let outcome = match code {
            'u' => Outcome::Up,
            'g' => Outcome::Degraded("slow response: 2s (threshold 1s)".into()),
            'd' => Outcome::Down("HTTP 503".into()),
            '?' => Outcome::Unknown("could not check: no file descriptors".into()),
            'w' => Outcome::Warning("certificate expires in 5 days".into()),
            other => panic!("unknown sample code {other}"),
        };
        Sample {
            outcome,
            latency: Duration::from_millis(10),
            at: Utc::now(),
            certificate: None,
        }
    }

    /// Feed samples ('u' up, 'g' degraded, 'd' down) and collect the statuses moved to.
    fn run(start: ComponentStatus, t: Thresholds, samples: &str) -> Vec<ComponentStatus> {
        let mut tracker = Tracker::new(start, t);
        samples
            .chars()
            .filter_map(|c| tracker.observe(&sample(c)))
            .map(|tr| tr.to)
            .collect()
    }

    #[test]
    fn table() {
        let cases: &[(&str, ComponentStatus, &str, &[ComponentStatus])] = &[
            (
                "blips below fail_after never change anything",
                Operational,
                "uddudduudduu",
                &[],
            ),
            (
                "a sustained failure is confirmed once",
                Operational,
                "uddddddddd",
                &[MajorOutage],
            ),
            (
                "exactly fail_after failures confirm",
                Operational,
                "ddd",
                &[MajorOutage],
            ),
            ("one success is not a recovery", MajorOutage, "udud", &[]),
            (
                "recovery needs consecutive successes",
                MajorOutage,
                "ududu",
                &[],
            ),
            (
                "recover_after successes recover",
                MajorOutage,
                "dduu",
                &[Operational],
            ),
            (
                "slowness is degraded, not down",
                Operational,
                "gggg",
                &[DegradedPerformance],
            ),
            (
                "mixed bad samples confirm the milder",
                Operational,
                "dgd",
                &[DegradedPerformance],
            ),
            (
                "degraded can worsen to down",
                Operational,
                "gggddd",
                &[DegradedPerformance, MajorOutage],
            ),
            (
                "down can improve to degraded, then recover",
                MajorOutage,
                "gguu",
                &[DegradedPerformance, Operational],
            ),
            (
                "recovery from down through mixed good samples",
                MajorOutage,
                "ug",
                &[DegradedPerformance],
            ),
            ("flapping never confirms", Operational, "dudududududu", &[]),
            (
                "probes that could not run never confirm an outage",
                Operational,
                "??????????",
                &[],
            ),
            (
                "nor break a streak of failures",
                Operational,
                "dd?d",
                &[MajorOutage],
            ),
            ("nor end an outage", MajorOutage, "??????", &[]),
            (
                "a warning is working, for customers",
                Operational,
                "wwwwww",
                &[],
            ),
            ("and a warning recovers", MajorOutage, "ww", &[Operational]),
        ];
        for (name, start, samples, expected) in cases {
            assert_eq!(&run(*start, T, samples), expected, "{name}: {samples}");
        }
    }

    #[test]
    fn severity_decides_the_outage_status() {
        let t = Thresholds {
            severity: PartialOutage,
            ..T
        };
        assert_eq!(run(Operational, t, "ddd"), vec![PartialOutage]);
    }

    #[test]
    fn thresholds_of_one_react_at_once() {
        let t = Thresholds {
            fail_after: 1,
            recover_after: 1,
            severity: MajorOutage,
        };
        assert_eq!(
            run(Operational, t, "dud"),
            vec![MajorOutage, Operational, MajorOutage]
        );
    }

    #[test]
    fn the_reason_matches_the_status_it_explains() {
        let mut tracker = Tracker::new(MajorOutage, T);
        let mut got = None;
        for c in "gu".chars() {
            got = tracker.observe(&sample(c)).or(got);
        }
        let tr = got.expect("confirmed");
        assert_eq!(tr.to, DegradedPerformance);
        assert_eq!(tr.reason, "slow response: 2s (threshold 1s)");

        let mut tracker = Tracker::new(Operational, T);
        let mut got = None;
        for c in "dgd".chars() {
            got = tracker.observe(&sample(c)).or(got);
        }
        let tr = got.expect("confirmed");
        assert_eq!(
            (tr.to, tr.reason.as_str()),
            (DegradedPerformance, "slow response: 2s (threshold 1s)")
        );
    }

    #[test]
    fn a_transition_carries_the_confirming_reason() {
        let mut tracker = Tracker::new(Operational, T);
        let mut last = None;
        for c in "ddd".chars() {
            last = tracker.observe(&sample(c)).or(last);
        }
        let tr = last.expect("confirmed");
        assert_eq!(
            (tr.from, tr.to, tr.reason.as_str()),
            (Operational, MajorOutage, "HTTP 503")
        );
        let mut back = None;
        for c in "uu".chars() {
            back = tracker.observe(&sample(c)).or(back);
        }
        assert_eq!(back.expect("recovered").reason, "checks are passing again");
    }
}
