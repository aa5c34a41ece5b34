//! Heartbeat checks in the daemon: a job's report from the front, and the periods that
//! run out without one, each fed to its component's tracker as a sample.

use chrono::{DateTime, Utc};

use super::Daemon;
use crate::config::Target;
use crate::monitor::heartbeat::Report;
use crate::monitor::scheduler::Observation;
use crate::probe::Sample;

impl Daemon {
    /// Follow the heartbeat checks of the configuration in force, from the reports
    /// remembered across restarts.
    pub(super) fn sync_heartbeats(&mut self, now: DateTime<Utc>) {
        let reports = self.probing.rollups.reports().clone();
        let watched = self.probing.rollups.watched().clone();
        self.probing
            .heartbeats
            .configure(&self.config, &reports, &watched, now);
        self.save_watched(now);
        let keys = self.notifier.keys();
        self.probing.heartbeat_tokens = self
            .config
            .components
            .iter()
            .filter(|c| matches!(c.check.target, Target::Heartbeat(_)))
            .map(|c| (keys.heartbeat_token(&c.id), c.id.clone()))
            .collect();
    }

    /// A job reported through `/heartbeat/<token>` (`fail`: through `/fail`). The
    /// component's name when the token is one of ours.
    pub(super) fn heartbeat(
        &mut self,
        token: &str,
        fail: bool,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let id = self.probing.heartbeat_tokens.get(token)?.clone();
        if let Some(c) = &self.cluster {
            // Every node hears of it, so whichever leads next counts the job's periods
            // from its last report; the leader decides on it.
            let client = c.link.client().clone();
            let names = c.link.names().clone();
            let beat = crate::cluster::forward::Beat {
                from: c.link.node().name.clone(),
                component: id.clone(),
                fail,
                at: now,
            };
            tokio::spawn(
                async move { crate::cluster::forward::beat(&client, &names, &beat).await },
            );
        }
        self.report(&id, fail, now)
    }

    /// A heartbeat report another node heard.
    pub(super) fn passed_beat(&mut self, beat: crate::cluster::forward::Beat) {
        let own = self
            .cluster
            .as_ref()
            .is_some_and(|c| c.link.node().name == beat.from);
        if !own && self.config.component(&beat.component).is_some() {
            self.report(&beat.component, beat.fail, beat.at);
        }
    }

    /// Count a job's report of component `id` (on a node that does not lead, only as
    /// the last report heard: the leader decides).
    fn report(&mut self, id: &str, fail: bool, now: DateTime<Utc>) -> Option<String> {
        let id = id.to_owned();
        let report = if fail { Report::Fail } else { Report::Beat };
        let sample = self.probing.heartbeats.report(&id, report, now)?;
        if let Err(e) = self.probing.rollups.note_report(&id, now) {
            tracing::error!(component = %id, error = %format!("{e:#}"), "cannot save when the job last reported; after a restart its next period counts from an earlier report");
        }
        self.save_watched(now);
        tracing::info!(component = %id, failed = fail, "heartbeat");
        self.feed(&id, sample);
        self.config.component(&id).map(|c| c.name.clone())
    }

    /// The periods that ran out without a report.
    pub(super) fn heartbeats_due(&mut self, now: DateTime<Utc>) {
        for (id, sample) in self.probing.heartbeats.due(now) {
            tracing::info!(component = %id, "heartbeat missed");
            self.feed(&id, sample);
        }
    }

    /// Keep when the checks whose jobs never reported began to be watched.
    fn save_watched(&mut self, now: DateTime<Utc>) {
        let unreported = self.probing.heartbeats.unreported();
        if let Err(e) = self.probing.rollups.note_watched(unreported, now) {
            tracing::error!(error = %format!("{e:#}"), "cannot save when heartbeat checks began to be watched; after a restart they are watched from then");
        }
    }

    fn feed(&mut self, id: &str, sample: Sample) {
        self.observe(Observation {
            component: id.to_owned(),
            generation: self.reading.generation,
            sample,
        });
    }
}
