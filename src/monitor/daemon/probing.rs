//! What the probes feed: the scheduler started for the configuration in force, each
//! sample into metrics, rollups and its component's tracker, and a confirmed change
//! into the journal.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{Semaphore, mpsc};

use super::{Daemon, WAITING_MAX};
use crate::cluster::samples::{self, Seen};
use crate::config::Component;
use crate::monitor::incidents::events_for;
use crate::monitor::scheduler::{Job, Observation, Scheduler};
use crate::monitor::tracker::Transition;
use crate::monitor::tracker::{Thresholds, Tracker};
use crate::monitor::{alerts, quorum};
use crate::probe::Prober;

impl Daemon {
    pub(super) fn start_scheduler(
        &self,
        tx: mpsc::Sender<Observation>,
    ) -> anyhow::Result<Scheduler> {
        // A fresh prober and limit per configuration: new CA files and a new
        // max_concurrency take effect.
        let source = self.cluster.as_ref().and_then(|c| c.link.node().probe_from);
        let prober = Prober::from_source(source).context("cannot set up the probes")?;
        let limit = Arc::new(Semaphore::new(self.config.monitor.max_concurrency));
        let jobs = self
            .config
            .components
            .iter()
            // Heartbeat checks are not probed: their jobs report.
            .filter(|c| !matches!(c.check.target, crate::config::Target::Heartbeat(_)))
            .map(|c| Job {
                component: c.id.clone(),
                check: Arc::new(c.check.clone()),
                generation: self.reading.generation,
            })
            .collect();
        Ok(Scheduler::start(
            jobs,
            prober,
            limit,
            self.config.site.timezone,
            tx,
        ))
    }

    /// One tracker per configured component, continuing from the journal's status.
    pub(super) fn sync_trackers(&mut self) {
        self.sync_heartbeats(chrono::Utc::now());
        let config = self.config.clone();
        self.probing
            .trackers
            .retain(|id, _| config.component(id).is_some());
        if let Some(c) = &mut self.cluster {
            c.locations.retain(|id| config.component(id).is_some());
        }
        for c in &config.components {
            let t = thresholds(c);
            let status = self.view.probe_status(&c.id);
            self.probing
                .trackers
                .entry(c.id.clone())
                .and_modify(|tr| tr.set_thresholds(t))
                .or_insert_with(|| Tracker::new(status, t));
        }
        for inc in self.view.open_incidents().filter(|i| i.automatic) {
            for id in inc.components.keys() {
                if config.component(id).is_none() {
                    tracing::warn!(
                        component = %id,
                        incident = %inc.reference,
                        "an open incident names a component that is no longer configured"
                    );
                }
            }
        }
    }

    pub(super) fn observe(&mut self, obs: Observation) {
        if obs.generation != self.reading.generation {
            return; // taken under a configuration that has since been replaced
        }
        let Some(component) = self.config.component(&obs.component).cloned() else {
            return;
        };
        let timed = !matches!(component.check.target, crate::config::Target::Heartbeat(_));
        self.probing.metrics.probe(
            &component.id,
            timed.then_some(obs.sample.latency),
            obs.sample.outcome.is_down(),
        );
        self.tell_operators(&component, &obs.sample);
        // The other locations hear what this one sees (a heartbeat's job reports to
        // one node: it is not a location's view).
        let located = timed && self.cluster.is_some();
        if located {
            self.share(&component.id, &obs.sample);
            if let Some(c) = &mut self.cluster {
                c.last_sample_at = Some(obs.sample.at);
            }
        }
        let in_maintenance = self.view.under_maintenance(&component.id);
        let counted = if located {
            self.counted(&component.id, &obs.sample)
        } else {
            obs.sample.clone()
        };
        let here = located
            .then(|| {
                self.cluster
                    .as_ref()
                    .map(|c| c.link.node().location.clone())
            })
            .flatten();
        self.probing
            .rollups
            .record(&component.id, here.as_deref(), &counted, in_maintenance);
        tracing::debug!(component = %component.id, outcome = %obs.sample.outcome, latency_ms = obs.sample.latency.as_millis() as u64, in_maintenance, "sample");
        if in_maintenance {
            return; // planned work: failures open nothing, and the streak waits
        }
        if !self.leading() {
            return; // the leader decides
        }
        if let Some(here) = here {
            self.agree(&component, &here, &obs.sample);
            return;
        }
        let Some(tracker) = self.probing.trackers.get_mut(&component.id) else {
            return;
        };
        let Some(transition) = tracker.observe(&obs.sample) else {
            return;
        };
        self.await_recording(&component, transition);
    }

    /// Send this location's sample to the others.
    fn share(&self, component: &str, sample: &crate::probe::Sample) {
        let Some(c) = &self.cluster else {
            return;
        };
        let node = c.link.node();
        let seen = Seen {
            node: node.name.clone(),
            location: node.location.clone(),
            component: component.to_owned(),
            sample: sample.clone(),
        };
        let client = c.link.client().clone();
        let names = c.link.names().clone();
        tokio::spawn(async move { samples::publish(&client, &names, &seen).await });
    }

    /// Another location's sample: counted in the rollups, and on the leader weighed
    /// with the others'.
    pub(super) fn heard(&mut self, seen: Seen) {
        let Some(component) = self.config.component(&seen.component).cloned() else {
            return;
        };
        if matches!(component.check.target, crate::config::Target::Heartbeat(_)) {
            return;
        }
        let in_maintenance = self.view.under_maintenance(&component.id);
        let counted = self.counted(&component.id, &seen.sample);
        self.probing.rollups.record(
            &component.id,
            Some(&seen.location),
            &counted,
            in_maintenance,
        );
        if in_maintenance || !self.leading() {
            return;
        }
        self.agree(&component, &seen.location, &seen.sample);
    }

    /// A component's status once the changes waiting for the journal are recorded.
    fn status_to_be(&self, component: &str) -> crate::vocab::ComponentStatus {
        self.ledger
            .waiting
            .iter()
            .rev()
            .find(|(id, _)| id == component)
            .map_or_else(|| self.view.probe_status(component), |(_, t)| t.to)
    }

    /// A location's sample as uptime counts it: a failure the locations have not
    /// agreed on (the component is recorded as working) is kept as the last sample but
    /// not counted, as a probe that could not run is not, so one location's trouble
    /// never lowers the uptime customers read.
    fn counted(&self, component: &str, sample: &crate::probe::Sample) -> crate::probe::Sample {
        let failing = matches!(
            sample.outcome,
            crate::probe::Outcome::Down(_) | crate::probe::Outcome::Degraded(_)
        );
        if failing && self.view.probe_status(component).is_operational() {
            let mut s = sample.clone();
            s.outcome = crate::probe::Outcome::Unknown(format!(
                "not counted: the other locations did not agree ({})",
                sample.outcome
            ));
            s
        } else {
            sample.clone()
        }
    }

    /// Weigh one location's sample with the others': a status the quorum agrees on is
    /// recorded, a failure fewer locations see is told to operators.
    fn agree(&mut self, component: &Component, location: &str, sample: &crate::probe::Sample) {
        let current = self.status_to_be(&component.id);
        let Some(c) = &mut self.cluster else {
            return;
        };
        let interval = component.check.interval();
        let weighing = quorum::Weighing {
            thresholds: thresholds(component),
            quorum: c.link.quorum(),
            seen_within: quorum::seen_within(interval),
            fresh_within: quorum::fresh_within(interval),
            settling: quorum::settling(interval, component.check.timeout),
            now: chrono::Utc::now(),
        };
        let verdict = c
            .locations
            .observe(&component.id, location, sample, current, &weighing);
        let seat = (component.id.clone(), location.to_owned());
        if let Some(late) = verdict.stale {
            // Said once per component and location until its samples are on time again.
            if c.late.insert(seat) {
                if late < chrono::TimeDelta::zero() {
                    tracing::warn!(component = %component.id, location, ahead_s = -late.num_seconds(), "samples from this location are dated ahead of this node's clock and are not weighed: one of the two clocks is wrong");
                } else {
                    tracing::warn!(component = %component.id, location, late_s = late.num_seconds(), "samples from this location arrive late and are not weighed: it was cut off from NATS, its clock is wrong, or this node is too busy to keep up");
                }
            }
            return;
        }
        c.late.remove(&seat);
        if let Some((heard, needed)) = verdict.too_few {
            tracing::warn!(component = %component.id, heard, needed, "a failure, but too few locations heard from to agree on it");
            self.alert(
                alerts::quorum_unreachable(component, location, heard, needed),
                alerts::ALONE_QUIET,
            );
        }
        if let Some(alone) = &verdict.alone {
            tracing::warn!(component = %component.id, location = %alone.location, reason = %alone.reason, "a failure seen from too few locations to agree");
            self.alert(alerts::seen_alone(component, alone), alerts::ALONE_QUIET);
        }
        if let Some((transition, seen_from)) = verdict.transition {
            tracing::info!(component = %component.id, to = %transition.to, seen_from = %seen_from.phrase(), "the locations agree");
            // The component's own tracker follows what the locations agreed, so an
            // operator's resolution is still told apart (`reload_declared`).
            self.probing.trackers.insert(
                component.id.clone(),
                Tracker::new(transition.to, thresholds(component)),
            );
            self.await_recording(component, transition);
        }
    }

    /// A confirmed change, in line behind any waiting for the journal, then recorded.
    fn await_recording(&mut self, component: &Component, transition: Transition) {
        // In order behind any that wait for the journal, each with its true time.
        if self.ledger.waiting.len() < WAITING_MAX {
            self.ledger
                .waiting
                .push_back((component.id.clone(), transition));
        } else {
            self.ledger.dropped += 1;
            self.probing.metrics.status_change_dropped();
            tracing::error!(
                component = %component.id,
                from = %transition.from,
                to = %transition.to,
                "a status change could not be kept: {WAITING_MAX} already wait for the journal; the history will have a gap"
            );
            // The tracker must not move on from what will be recorded: it confirms this
            // change again once there is room.
            let last = self.status_to_be(&component.id);
            self.probing.trackers.insert(
                component.id.clone(),
                Tracker::new(last, thresholds(component)),
            );
        }
        self.record_waiting();
    }

    /// Record the status changes that wait, oldest first, until the journal refuses
    /// one; it stays first in line (the tracker has moved on, and will not see it again).
    pub(super) fn record_waiting(&mut self) {
        if self.ledger.draining {
            return;
        }
        self.ledger.draining = true;
        self.drain_waiting();
        self.ledger.draining = false;
        self.tell_journal_recovered();
    }

    fn drain_waiting(&mut self) {
        while let Some((id, transition)) = self.ledger.waiting.front().cloned() {
            let Some(component) = self.config.component(&id).cloned() else {
                self.ledger.waiting.pop_front(); // no longer configured
                continue;
            };
            let events = events_for(&self.config, &component, &transition, &self.view);
            let trouble_before = self.ledger.journal_trouble.is_some();
            match self.append(events) {
                Ok(()) => {
                    self.ledger.waiting.pop_front();
                    if self.ledger.journal_trouble.is_some() {
                        self.ledger.late += 1;
                    }
                    tracing::info!(
                        component = %component.id,
                        from = %transition.from,
                        to = %transition.to,
                        reason = %transition.reason,
                        at = %transition.at,
                        "status changed"
                    );
                }
                Err(e) => {
                    if !trouble_before {
                        tracing::error!(
                            error = %format!("{e:#}"),
                            component = %component.id,
                            "cannot record a status change; it waits in memory, with the time it happened, until the journal can be written"
                        );
                    }
                    return;
                }
            }
        }
    }
}

pub(super) fn thresholds(c: &crate::config::Component) -> Thresholds {
    Thresholds {
        fail_after: c.check.fail_after,
        recover_after: c.check.recover_after,
        severity: c.check.severity,
    }
}
