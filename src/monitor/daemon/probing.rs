//! What the probes feed: the scheduler started for the configuration in force, each
//! sample into metrics, rollups and its component's tracker, and a confirmed change
//! into the journal.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{Semaphore, mpsc};

use super::{Daemon, WAITING_MAX};
use crate::monitor::incidents::events_for;
use crate::monitor::scheduler::{Job, Observation, Scheduler};
use crate::monitor::tracker::{Thresholds, Tracker};
use crate::probe::Prober;

impl Daemon {
    pub(super) fn start_scheduler(
        &self,
        tx: mpsc::Sender<Observation>,
    ) -> anyhow::Result<Scheduler> {
        // A fresh prober and limit per configuration: new CA files and a new
        // max_concurrency take effect.
        let prober = Prober::new().context("cannot set up the probes")?;
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
        let in_maintenance = self.view.under_maintenance(&component.id);
        self.probing
            .rollups
            .record(&component.id, &obs.sample, in_maintenance);
        tracing::debug!(component = %component.id, outcome = %obs.sample.outcome, latency_ms = obs.sample.latency.as_millis() as u64, in_maintenance, "sample");
        if in_maintenance {
            return; // planned work: failures open nothing, and the streak waits
        }
        if !self.leading() {
            return; // the leader decides
        }
        let Some(tracker) = self.probing.trackers.get_mut(&component.id) else {
            return;
        };
        let Some(transition) = tracker.observe(&obs.sample) else {
            return;
        };
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
            let last = self
                .ledger
                .waiting
                .iter()
                .rev()
                .find(|(id, _)| *id == component.id)
                .map_or_else(|| self.view.probe_status(&component.id), |(_, t)| t.to);
            self.probing.trackers.insert(
                component.id.clone(),
                Tracker::new(last, thresholds(&component)),
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
