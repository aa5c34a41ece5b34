//! The daemon's main loop: samples in from the scheduler, through the trackers, out as
//! journal events (fsync'ed before anything else sees them), folded into the view.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::incidents::events_for;
use super::scheduler::{Job, Observation, Scheduler};
use super::tracker::{Thresholds, Tracker};
use crate::config::{Config, LoadError};
use crate::journal::{Event, Journal, Record};
use crate::probe::Prober;
use crate::status::StatusView;
use crate::status::rollup::Rollups;

/// How often the hour in progress is saved.
pub const ROLLUP_SAVE_EVERY: Duration = Duration::from_secs(30);
/// Samples that may wait for the main loop before probes pause.
const SAMPLE_QUEUE: usize = 4096;

pub struct RunOptions {
    pub config_path: PathBuf,
    pub state_dir: PathBuf,
}

/// Everything the main loop owns.
struct Daemon {
    config: Arc<Config>,
    journal: Journal,
    view: StatusView,
    trackers: HashMap<String, Tracker>,
    rollups: Rollups,
    records: Option<broadcast::Sender<Record>>,
}

fn thresholds(config: &Config, id: &str) -> Option<Thresholds> {
    config.component(id).map(|c| Thresholds {
        fail_after: c.check.fail_after,
        recover_after: c.check.recover_after,
        severity: c.check.severity,
    })
}

fn jobs(config: &Config) -> Vec<Job> {
    config
        .components
        .iter()
        .map(|c| Job {
            component: c.id.clone(),
            check: Arc::new(c.check.clone()),
        })
        .collect()
}

/// Run until `shutdown` is cancelled. Every journal record appended is also sent to
/// `records`, after it is durable.
pub async fn run(
    opts: RunOptions,
    config: Config,
    shutdown: CancellationToken,
    records: Option<broadcast::Sender<Record>>,
) -> anyhow::Result<()> {
    let (journal, history) = Journal::open(&opts.state_dir)?;
    let view = StatusView::from_records(&history);
    let rollups = Rollups::open(&opts.state_dir)?;
    let config = Arc::new(config);
    let mut daemon = Daemon {
        trackers: HashMap::new(),
        config: config.clone(),
        journal,
        view,
        rollups,
        records,
    };
    daemon.sync_trackers();
    tracing::info!(
        components = config.components.len(),
        journal = %daemon.journal.path().display(),
        replayed = history.len(),
        open_incidents = daemon.view.open_incidents().count(),
        "monitoring started"
    );
    drop(history);

    let prober = Prober::new().context("cannot set up the probes")?;
    let limit = Arc::new(Semaphore::new(config.monitor.max_concurrency));
    let (tx, mut rx) = mpsc::channel::<Observation>(SAMPLE_QUEUE);
    let mut scheduler = Scheduler::start(
        jobs(&config),
        prober.clone(),
        limit.clone(),
        config.site.timezone,
        tx.clone(),
    );
    let mut save = tokio::time::interval(ROLLUP_SAVE_EVERY);
    save.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut hangup = hangup_signal()?;

    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(()) = recv_hangup(&mut hangup) => {
                match Config::load(&opts.config_path) {
                    Ok(new) => {
                        scheduler.stop().await;
                        let new = Arc::new(new);
                        daemon.config = new.clone();
                        daemon.sync_trackers();
                        scheduler = Scheduler::start(jobs(&new), prober.clone(), limit.clone(), new.site.timezone, tx.clone());
                        tracing::info!(components = new.components.len(), "configuration reloaded");
                    }
                    Err(e) => report_bad_reload(&e),
                }
            }
            Some(obs) = rx.recv() => daemon.observe(obs),
            _ = save.tick() => {
                if let Err(e) = daemon.rollups.persist(Utc::now()) {
                    tracing::error!(error = %format!("{e:#}"), "cannot save hourly rollups");
                }
            }
        }
    }

    scheduler.stop().await;
    while let Ok(obs) = rx.try_recv() {
        daemon.observe(obs);
    }
    daemon
        .rollups
        .persist(Utc::now())
        .context("cannot save hourly rollups")?;
    tracing::info!(last_seq = daemon.view.last_seq, "monitoring stopped");
    Ok(())
}

fn report_bad_reload(e: &LoadError) {
    match e {
        LoadError::Invalid(diags) => {
            for d in diags.iter() {
                tracing::error!(problem = %d, "configuration not reloaded");
            }
        }
        other => tracing::error!(problem = %other, "configuration not reloaded"),
    }
    tracing::warn!("still running with the last good configuration");
}

impl Daemon {
    /// One tracker per configured component, continuing from the journal's status.
    fn sync_trackers(&mut self) {
        let config = self.config.clone();
        self.trackers.retain(|id, _| config.component(id).is_some());
        for c in &config.components {
            let Some(t) = thresholds(&config, &c.id) else {
                continue;
            };
            let status = self.view.probe_status(&c.id);
            self.trackers
                .entry(c.id.clone())
                .and_modify(|tr| tr.set_thresholds(t))
                .or_insert_with(|| Tracker::new(status, t));
        }
        for inc in self.view.open_incidents() {
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

    fn observe(&mut self, obs: Observation) {
        let Some(component) = self.config.component(&obs.component).cloned() else {
            return; // a late sample from a component removed by a reload
        };
        self.rollups.record(&obs.component, &obs.sample);
        tracing::debug!(component = %obs.component, outcome = %obs.sample.outcome, latency_ms = obs.sample.latency.as_millis() as u64, "sample");
        let Some(tracker) = self.trackers.get_mut(&obs.component) else {
            return;
        };
        let Some(transition) = tracker.observe(&obs.sample) else {
            return;
        };
        let events = events_for(
            &component,
            &transition,
            &self.view,
            self.config.site.timezone,
        );
        match self.append(events) {
            Ok(()) => tracing::info!(
                component = %component.id,
                from = %transition.from,
                to = %transition.to,
                reason = %transition.reason,
                "status changed"
            ),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), component = %component.id, "cannot record a status change; it will be retried");
                // Forget the change so the tracker confirms it again on later samples.
                let t = thresholds(&self.config, &component.id);
                if let Some(t) = t {
                    self.trackers.insert(
                        component.id.clone(),
                        Tracker::new(self.view.probe_status(&component.id), t),
                    );
                }
            }
        }
    }

    /// Append durably, then fold in and announce.
    fn append(&mut self, events: Vec<(DateTime<Utc>, Event)>) -> anyhow::Result<()> {
        let journal = &mut self.journal;
        let records = blocking(|| journal.append(events))?;
        for r in records {
            self.view.apply(&r);
            if let Some(tx) = &self.records {
                let _ = tx.send(r);
            }
        }
        Ok(())
    }
}

/// Run blocking file work without stalling other tasks on a multi-threaded runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(unix)]
type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangup = ();

#[cfg(unix)]
fn hangup_signal() -> anyhow::Result<Hangup> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP")
}

#[cfg(not(unix))]
fn hangup_signal() -> anyhow::Result<Hangup> {
    Ok(())
}

#[cfg(unix)]
async fn recv_hangup(s: &mut Hangup) -> Option<()> {
    s.recv().await
}

#[cfg(not(unix))]
async fn recv_hangup(_: &mut Hangup) -> Option<()> {
    std::future::pending().await
}
