//! The daemon's main loop: samples in from the scheduler, through the trackers, out as
//! journal events (fsync'ed before anything else sees them), folded into the view; and
//! the declared files, watched and turned into events, with the maintenance clock.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

mod alerting;
mod delivering;
mod front;
mod publishing;
mod reading;
mod wait;

use super::alerts::{self, AlertLog};
use super::incidents::events_for;
use super::scheduler::{Job, Observation, Scheduler};
use super::tracker::{Thresholds, Tracker};
use super::{maintenance, watch};
use crate::config::Config;
use crate::config::declared::Declared;
use crate::journal::{Event, Journal, Record};
use crate::notify::asks::Ask;
use crate::notify::dispatch::Notifier;
use crate::notify::fold::{self, Fold};
use crate::probe::Prober;
use crate::rollup::Rollups;
use crate::site::{self, Builder, Changes};
use crate::status::StatusView;
use wait::{blocking, hangup_signal, recv_hangup, sleep_until_due, sleep_until_utc};

/// How often the hour in progress is saved.
pub const ROLLUP_SAVE_EVERY: Duration = Duration::from_secs(30);
/// How often the maintenance clock is consulted.
pub const CLOCK_TICK: Duration = Duration::from_secs(1);
/// How often the declared files are read even when no change was reported.
pub const DECLARED_REREAD: Duration = Duration::from_secs(60);
/// Samples that may wait for the main loop before probes pause.
const SAMPLE_QUEUE: usize = 4096;

pub struct RunOptions {
    pub config_path: PathBuf,
    pub state_dir: PathBuf,
    /// Where to keep the status site (`--out`); `[site] out_dir` or `site/` otherwise.
    pub out_dir: Option<PathBuf>,
}

/// The status site, rebuilt shortly after events (several events in a burst make one
/// rebuild).
struct SiteState {
    builder: Builder,
    pending: Changes,
    due: Option<tokio::time::Instant>,
}

/// How long after an event the site is rebuilt, gathering the events that follow.
pub const SITE_DEBOUNCE: Duration = Duration::from_millis(200);
/// How often the site is refreshed without events (uptime bars, "updated" times).
pub const SITE_REFRESH: Duration = Duration::from_secs(60);

/// Everything the main loop owns.
struct Daemon {
    /// The configuration in force, and the declared files read with it.
    config: Arc<Config>,
    declared: Declared,
    /// The status view, folded from the journal.
    view: StatusView,
    /// When each operator alert was last raised (folded from the journal).
    alerts: AlertLog,
    state_dir: PathBuf,
    site: SiteState,
    notifier: Notifier,
    reading: Reading,
    ledger: Ledger,
    probing: Probing,
}

/// What reading the configuration folder remembers between reads.
struct Reading {
    config_path: PathBuf,
    /// The text of the configuration in force, to tell whether an edit touched it.
    config_text: String,
    /// Bumped at every reload of the main configuration.
    generation: u64,
    /// Warnings already logged, so a repeated reload does not repeat them.
    warned: HashSet<String>,
    /// The configuration generation and subscribers file text last read.
    subscribers_seen: Option<(u64, Option<String>)>,
}

/// The journal, and what waits to go into it or was just written to it.
struct Ledger {
    journal: Journal,
    /// Every record appended is also sent here, once durable.
    records: Option<broadcast::Sender<Record>>,
    /// Delivery receipts the journal could not take yet. Their deliveries stay under
    /// way (never sent again) until the receipts are recorded.
    unsaved: Vec<(DateTime<Utc>, Event)>,
    /// Since when, and why, the journal cannot be written: told to operators once it
    /// can be again.
    journal_trouble: Option<(DateTime<Utc>, String)>,
}

/// What the probes feed: trackers, hourly rollups, and the counts behind `/metrics`.
struct Probing {
    trackers: HashMap<String, Tracker>,
    rollups: Rollups,
    /// Checks that could not run since the last log line about it, and when that was.
    not_run: (u64, Option<std::time::Instant>),
    metrics: super::metrics::Metrics,
}

/// A daemon that holds the journal's lock, has replayed it and recorded what the
/// configuration changed while it was away: ready to [`Prepared::run`].
pub struct Prepared {
    daemon: Daemon,
    hangup: wait::Hangup,
    opts: RunOptions,
}

/// Take the journal, replay it and catch up with the configuration. Every journal
/// record appended from here on is also sent to `records`, after it is durable.
pub fn prepare(
    opts: RunOptions,
    config: Config,
    records: Option<broadcast::Sender<Record>>,
) -> anyhow::Result<Prepared> {
    // Listen for SIGHUP first: an early one must not end the process.
    let hangup = hangup_signal()?;
    let (journal, history) = Journal::open(&opts.state_dir)?;
    let replayed = Fold::replay(&config, &history);
    let alert_log = AlertLog::from_records(&history);
    let view = replayed.view;
    let notifier = Notifier::new(&config, &opts.state_dir, replayed.audience, replayed.outbox)
        .context("cannot prepare notifications")?;
    let rollups = Rollups::open(&opts.state_dir)?;
    let config_text = std::fs::read_to_string(&opts.config_path).unwrap_or_default();
    let out = site::out_dir(&config, opts.out_dir.as_deref());
    let builder = Builder::new(&config, out).context("cannot prepare the status site")?;
    let mut daemon = Daemon {
        config: Arc::new(config),
        declared: Declared::default(),
        view,
        alerts: alert_log,
        state_dir: opts.state_dir.clone(),
        site: SiteState {
            builder,
            pending: Changes::everything(),
            due: Some(tokio::time::Instant::now()),
        },
        notifier,
        reading: Reading {
            config_path: opts.config_path.clone(),
            config_text,
            generation: 0,
            warned: HashSet::new(),
            subscribers_seen: None,
        },
        ledger: Ledger {
            journal,
            records,
            unsaved: Vec::new(),
            journal_trouble: None,
        },
        probing: Probing {
            trackers: HashMap::new(),
            rollups,
            not_run: (0, None),
            metrics: Default::default(),
        },
    };
    daemon.sync_trackers();
    tracing::info!(
        components = daemon.config.components.len(),
        journal = %daemon.ledger.journal.path().display(),
        replayed = history.len(),
        open_incidents = daemon.view.open_incidents().count(),
        subscribers = daemon.notifier.audience.members.len(),
        deliveries_owed = daemon.notifier.outbox.depth(),
        "monitoring started"
    );
    drop(history);
    daemon.sync_visibility();
    daemon.reload_subscribers();
    daemon.reload_declared(Utc::now());
    daemon.run_clock(Utc::now());

    Ok(Prepared {
        daemon,
        hangup,
        opts,
    })
}

impl Prepared {
    pub fn config(&self) -> &Config {
        &self.daemon.config
    }

    /// Where the status site is built.
    pub fn site_dir(&self) -> &Path {
        self.daemon.site.builder.out()
    }

    pub fn state_dir(&self) -> &Path {
        &self.daemon.state_dir
    }

    /// Run until `shutdown` is cancelled, answering `asks` (from the HTTP front).
    pub async fn run(
        self,
        mut asks: mpsc::Receiver<Ask>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let Prepared {
            mut daemon,
            mut hangup,
            opts,
        } = self;
        let (tx, mut rx) = mpsc::channel::<Observation>(SAMPLE_QUEUE);
        let mut scheduler = daemon.start_scheduler(tx.clone())?;
        let (changed_tx, mut changed) = mpsc::unbounded_channel();
        let config_dir = opts
            .config_path
            .parent()
            .unwrap_or(Path::new("."))
            .to_owned();
        let _watcher = match watch::watch(&config_dir, changed_tx) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "configuration changes will only be read on SIGHUP");
                None
            }
        };
        let mut clock = tokio::time::interval(CLOCK_TICK);
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut save = tokio::time::interval(ROLLUP_SAVE_EVERY);
        save.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Declared files are also read now and then, in case a change went unnoticed (a
        // file written while the folder could not be watched, an update dated a little ahead).
        let mut refresh = tokio::time::interval(SITE_REFRESH);
        refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        refresh.tick().await;
        let mut reread = tokio::time::interval(DECLARED_REREAD);
        reread.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        reread.tick().await;

        loop {
            let notify_due = daemon.notifier.next_due();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(()) = recv_hangup(&mut hangup) => {
                    tracing::info!("SIGHUP received, reading the configuration again");
                    if daemon.reload(true) {
                        scheduler.stop().await;
                        scheduler = daemon.start_scheduler(tx.clone())?;
                    }
                }
                Some(()) = changed.recv() => {
                    if daemon.reload(false) {
                        scheduler.stop().await;
                        scheduler = daemon.start_scheduler(tx.clone())?;
                    }
                }
                Some(obs) = rx.recv() => daemon.observe(obs),
                Some(ask) = asks.recv() => daemon.answer(ask),
                Some(done) = daemon.notifier.finished() => daemon.record_attempts(done),
                _ = sleep_until_utc(notify_due) => daemon.start_deliveries(),
                _ = clock.tick() => {
                    daemon.run_clock(Utc::now());
                    daemon.take_requests();
                    if !daemon.ledger.unsaved.is_empty() {
                        daemon.record_receipts(Vec::new());
                    }
                }
                _ = reread.tick() => daemon.reload_declared(Utc::now()),
                _ = refresh.tick() => daemon.site.due = Some(tokio::time::Instant::now()),
                _ = sleep_until_due(daemon.site.due) => daemon.rebuild_site(),
                _ = save.tick() => {
                    if let Err(e) = daemon.probing.rollups.persist(Utc::now()) {
                        tracing::error!(error = %format!("{e:#}"), "cannot save hourly rollups");
                    }
                }
            }
        }

        scheduler.stop().await;
        while let Ok(obs) = rx.try_recv() {
            daemon.observe(obs);
        }
        // Give attempts under way a moment to end, so their receipts are kept.
        let grace = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while daemon.notifier.outbox.in_flight() > 0 {
            match tokio::time::timeout_at(grace, daemon.notifier.finished()).await {
                Ok(Some(done)) => daemon.record_attempts(done),
                _ => break,
            }
        }
        if !daemon.site.pending.is_empty() {
            daemon.rebuild_site();
        }
        daemon
            .probing
            .rollups
            .persist(Utc::now())
            .context("cannot save hourly rollups")?;
        tracing::info!(last_seq = daemon.view.last_seq, "monitoring stopped");
        Ok(())
    }
}

impl Daemon {
    fn start_scheduler(&self, tx: mpsc::Sender<Observation>) -> anyhow::Result<Scheduler> {
        // A fresh prober and limit per configuration: new CA files and a new
        // max_concurrency take effect.
        let prober = Prober::new().context("cannot set up the probes")?;
        let limit = Arc::new(Semaphore::new(self.config.monitor.max_concurrency));
        let jobs = self
            .config
            .components
            .iter()
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

    /// Record the maintenance events that are due, and keep the promises made.
    fn run_clock(&mut self, now: DateTime<Utc>) {
        let events = maintenance::due_events(&self.declared, &self.view, now);
        if let Err(e) = self.append(events) {
            tracing::error!(error = %format!("{e:#}"), "cannot record maintenance events; will retry");
        }
        let promised = super::promises::due(&self.config, &self.view, &self.alerts, now);
        if let Err(e) = self.append(promised) {
            tracing::error!(error = %format!("{e:#}"), "cannot record a promised update; will retry");
        }
    }

    /// One tracker per configured component, continuing from the journal's status.
    fn sync_trackers(&mut self) {
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

    fn observe(&mut self, obs: Observation) {
        if obs.generation != self.reading.generation {
            return; // taken under a configuration that has since been replaced
        }
        let Some(component) = self.config.component(&obs.component).cloned() else {
            return;
        };
        self.probing.metrics.probe(
            &component.id,
            obs.sample.latency,
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
        let Some(tracker) = self.probing.trackers.get_mut(&component.id) else {
            return;
        };
        let Some(transition) = tracker.observe(&obs.sample) else {
            return;
        };
        let events = events_for(&self.config, &component, &transition, &self.view);
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
                self.probing.trackers.insert(
                    component.id.clone(),
                    Tracker::new(
                        self.view.probe_status(&component.id),
                        thresholds(&component),
                    ),
                );
            }
        }
    }

    /// Append durably, then fold in and announce. A journal that cannot be written is
    /// told to operators once it can be again.
    fn append(&mut self, events: Vec<(DateTime<Utc>, Event)>) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let journal = &mut self.ledger.journal;
        let records = match blocking(|| journal.append(events)) {
            Ok(r) => r,
            Err(e) => {
                if self.ledger.journal_trouble.is_none() {
                    self.ledger.journal_trouble = Some((Utc::now(), e.to_string()));
                }
                return Err(e.into());
            }
        };
        self.fold(records);
        if let Some((since, error)) = self.ledger.journal_trouble.take() {
            let now = Utc::now();
            let event = alerts::journal_unwritable(&self.config, since, now, &error);
            if let Ok(records) = blocking(|| self.ledger.journal.append(vec![(now, event)])) {
                self.fold(records);
            }
        }
        Ok(())
    }

    /// Fold records just made durable into everything derived from the journal.
    fn fold(&mut self, records: Vec<Record>) {
        for r in records {
            fold::step(
                &self.config,
                &mut self.view,
                &mut self.notifier.audience,
                &mut self.notifier.outbox,
                &r,
                None,
            );
            self.alerts.apply(&r);
            if r.event.is_bookkeeping() {
                tracing::debug!(seq = r.seq, event = r.event.kind(), "recorded");
            } else {
                self.site.pending.note(&r.event, &self.view);
                if self.site.due.is_none() {
                    self.site.due = Some(tokio::time::Instant::now() + SITE_DEBOUNCE);
                }
                tracing::info!(seq = r.seq, event = r.event.kind(), "recorded");
            }
            if let Some(tx) = &self.ledger.records {
                let _ = tx.send(r);
            }
        }
    }
}

/// How long attempts under way may take to end at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

fn thresholds(c: &crate::config::Component) -> Thresholds {
    Thresholds {
        fail_after: c.check.fail_after,
        recover_after: c.check.recover_after,
        severity: c.check.severity,
    }
}
