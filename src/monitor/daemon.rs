//! The daemon, wired: [`prepare`] takes the journal, replays it and catches up with the
//! configuration; [`Prepared::run`] is the loop that receives (samples, signals, file
//! changes, the front's asks, finished attempts, clock ticks) and hands each to the
//! concern that owns it: `probing` (scheduler, trackers, rollups), `recording` (append,
//! fold, the maintenance clock and promises), `reading` (the configuration folder),
//! `delivering` (the outbox's attempts and receipts), `publishing` (the site),
//! `alerting` (operator alerts) and `front` (routing asks to `notify::self_service`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

mod alerting;
mod delivering;
mod following;
mod front;
mod heartbeats;
mod leading;
mod probing;
mod publishing;
mod reading;
mod recording;
mod wait;

use super::alerts::{self, AlertLog};
use super::scheduler::Observation;
use super::snapshot;
use super::tracker::{Tracker, Transition};
use super::upstreams::{Followers, Read};
use super::watch;
use crate::config::Config;
use crate::config::declared::Declared;
use crate::journal::{Event, Journal, Record, Store};
use crate::notify::asks::Ask;
use crate::notify::dispatch::Notifier;
use crate::notify::fold::Fold;
use crate::rollup::Rollups;
use crate::site::{self, Builder, Changes};
use crate::status::StatusView;
use wait::{hangup_signal, recv_hangup, sleep_until_due, sleep_until_utc};

/// How often the hour in progress is saved.
pub const ROLLUP_SAVE_EVERY: Duration = Duration::from_secs(30);
/// How often the maintenance clock is consulted.
pub const CLOCK_TICK: Duration = Duration::from_secs(1);
/// How often the declared files are read even when no change was reported.
pub const DECLARED_REREAD: Duration = Duration::from_secs(60);
/// Samples that may wait for the main loop before probes pause.
const SAMPLE_QUEUE: usize = 4096;
/// Reads of vendors' pages that may wait for the main loop.
const READ_QUEUE: usize = 64;

pub struct RunOptions {
    pub config_path: PathBuf,
    pub state_dir: PathBuf,
    /// Where to keep the status site (`--out`); `[site] out_dir` or `site/` otherwise.
    pub out_dir: Option<PathBuf>,
    /// This node, with `[cluster]` (its name and location as the file, the command
    /// line and the environment give them).
    pub node: Option<crate::config::Node>,
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
    following: Following,
    /// With `[cluster]`: the link to the others, and whether this node leads.
    cluster: Option<leading::Membership>,
}

/// What following the vendors' pages remembers between reads.
#[derive(Default)]
struct Following {
    watches: super::upstreams::Watches,
    /// Bumped each time the readers restart; reads of older ones are dropped.
    generation: u64,
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
    /// The declared files' problems last told, so each is told once.
    problems: HashSet<String>,
}

/// The journal, and what waits to go into it or was just written to it.
struct Ledger {
    /// The file, or with `[cluster]` the shared stream.
    journal: Box<dyn Store>,
    /// Every record appended is also sent here, once durable.
    records: Option<broadcast::Sender<Record>>,
    /// Delivery receipts the journal could not take yet. Their deliveries stay under
    /// way (never sent again) until the receipts are recorded.
    unsaved: Vec<(DateTime<Utc>, Event)>,
    /// Since when, and why, the journal cannot be written: told to operators once it
    /// can be again.
    journal_trouble: Option<(DateTime<Utc>, String)>,
    /// Records folded since the last snapshot.
    since_snapshot: u64,
    /// Status changes confirmed while the journal could not take them, oldest first,
    /// each with the time it happened: recorded in order once it can.
    waiting: VecDeque<(String, Transition)>,
    /// Status changes that found the waiting line full since the journal's trouble
    /// began: told to operators as a gap in the history.
    dropped: u64,
    /// Status changes recorded late, after waiting, since the trouble began.
    late: usize,
    /// The waiting line is being recorded (appends made meanwhile are its own).
    draining: bool,
}

/// Status changes kept in memory while the journal cannot be written.
pub const WAITING_MAX: usize = 1_000;

/// What the probes feed: trackers, hourly rollups, and the counts behind `/metrics`.
struct Probing {
    trackers: HashMap<String, Tracker>,
    rollups: Rollups,
    /// Checks that could not run since the last log line about it, and when that was.
    not_run: (u64, Option<std::time::Instant>),
    metrics: super::metrics::Metrics,
    /// Heartbeat checks, and the token in each one's address.
    heartbeats: super::heartbeat::Heartbeats,
    heartbeat_tokens: HashMap<String, String>,
}

/// A daemon that holds the journal's lock, has replayed it and recorded what the
/// configuration changed while it was away: ready to [`Prepared::run`].
pub struct Prepared {
    daemon: Daemon,
    hangup: wait::Hangup,
    opts: RunOptions,
}

/// The journal taken, what it replayed, and the snapshot it replayed after.
struct Taken {
    journal: Box<dyn Store>,
    opened: crate::journal::Opened,
    snapshot: Option<snapshot::Snapshot>,
    /// With `[cluster]`: the link to the others.
    membership: Option<leading::Membership>,
}

/// Take the state folder's journal file: from the newest usable snapshot when there is
/// one (an unusable one is set aside, saying why), else from its start.
fn take_file(state_dir: &Path) -> anyhow::Result<Taken> {
    let snapshot = match snapshot::read(state_dir) {
        Ok(s) => s,
        Err(why) => {
            snapshot::set_aside(state_dir);
            tracing::warn!(
                "the snapshot in the state folder cannot be used ({why}); it was set aside as snapshot.json.unusable and the whole journal is replayed"
            );
            None
        }
    };
    let (journal, opened) = Journal::open_from(state_dir, snapshot.as_ref().map(|s| &s.anchor))?;
    if let Some(problem) = &opened.anchor_problem {
        snapshot::set_aside(state_dir);
        tracing::warn!(
            "the snapshot does not match the journal ({problem}); it was set aside as snapshot.json.unusable and the whole journal is replayed"
        );
    }
    Ok(Taken {
        journal: Box::new(journal),
        opened,
        snapshot,
        membership: None,
    })
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
    let Taken {
        journal,
        opened,
        snapshot,
        membership,
    } = match (&config.cluster, &opts.node) {
        (Some(settings), Some(node)) => leading::join_cluster(settings, node)?,
        _ => take_file(&opts.state_dir)?,
    };
    let history = opened.records;
    let (replayed, alert_log, from) = match snapshot.filter(|_| opened.from_anchor) {
        Some(s) => {
            let mut alerts = s.alerts;
            for r in &history {
                alerts.apply(r);
            }
            let seq = s.anchor.seq;
            (s.fold.resume(&config, &history), alerts, Some(seq))
        }
        None => (
            Fold::replay(&config, &history),
            AlertLog::from_records(&history),
            None,
        ),
    };
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
            problems: HashSet::new(),
        },
        ledger: Ledger {
            journal,
            records,
            unsaved: Vec::new(),
            journal_trouble: None,
            since_snapshot: history.len() as u64,
            waiting: VecDeque::new(),
            dropped: 0,
            late: 0,
            draining: false,
        },
        probing: Probing {
            trackers: HashMap::new(),
            rollups,
            not_run: (0, None),
            metrics: Default::default(),
            heartbeats: Default::default(),
            heartbeat_tokens: HashMap::new(),
        },
        following: Following::default(),
        cluster: membership,
    };
    daemon.sync_trackers();
    tracing::info!(
        components = daemon.config.components.len(),
        journal = %daemon.ledger.journal.describe(),
        snapshot_seq = from,
        replayed = history.len(),
        open_incidents = daemon.view.open_incidents().count(),
        subscribers = daemon.notifier.audience.members.len(),
        deliveries_owed = daemon.notifier.outbox.depth(),
        "monitoring started"
    );
    drop(history);
    if daemon.ledger.since_snapshot >= snapshot::EVERY {
        daemon.save_snapshot();
    }
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
        let (read_tx, mut reads) = mpsc::channel::<Read>(READ_QUEUE);
        let mut followers =
            Followers::start(&daemon.config, daemon.following.generation, read_tx.clone());
        let (changed_tx, mut changed) = mpsc::unbounded_channel();
        let config_dir = opts
            .config_path
            .parent()
            .unwrap_or(Path::new("."))
            .to_owned();
        let catch_up = changed_tx.clone();
        let _watcher = match watch::watch(&config_dir, changed_tx) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "configuration changes will only be read on SIGHUP");
                None
            }
        };
        // What was written after `prepare` read the folder and before the watcher
        // started is read once now.
        let _ = catch_up.send(());
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
            // Only the leader delivers and counts missed heartbeats.
            let leading = daemon.leading();
            let notify_due = daemon.notifier.next_due().filter(|_| leading);
            let heartbeat_due = daemon
                .probing
                .heartbeats
                .next_deadline()
                .filter(|_| leading);
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                Some(()) = recv_hangup(&mut hangup) => {
                    tracing::info!("SIGHUP received, reading the configuration again");
                    if daemon.reload(true) {
                        scheduler.stop().await;
                        scheduler = daemon.start_scheduler(tx.clone())?;
                        followers = daemon.refollow(followers, &read_tx).await;
                    }
                }
                Some(()) = changed.recv() => {
                    if daemon.reload(false) {
                        scheduler.stop().await;
                        scheduler = daemon.start_scheduler(tx.clone())?;
                        followers = daemon.refollow(followers, &read_tx).await;
                    }
                }
                Some(obs) = rx.recv() => daemon.observe(obs),
                news = leading::news(&mut daemon.cluster) => match news {
                    leading::News::Tailed(t) => daemon.tailed(t),
                    leading::News::Lease => daemon.check_lead(),
                    leading::News::Heard(seen) => daemon.heard(seen),
                    leading::News::Proposed(p) => daemon.proposed(p),
                    leading::News::Beat(b) => daemon.passed_beat(b),
                },
                Some(read) = reads.recv() => daemon.upstream_read(read),
                Some(ask) = asks.recv() => daemon.answer(ask),
                Some(done) = daemon.notifier.finished() => daemon.record_attempts(done),
                _ = sleep_until_utc(notify_due) => daemon.start_deliveries(),
                _ = sleep_until_utc(heartbeat_due) => daemon.heartbeats_due(Utc::now()),
                _ = clock.tick() => {
                    daemon.check_lead();
                    daemon.tell_presence();
                    if !daemon.ledger.waiting.is_empty() {
                        daemon.record_waiting();
                    }
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
        followers.stop().await;
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
        if daemon.ledger.since_snapshot > 0 {
            daemon.save_snapshot();
        }
        leading::leave(daemon.cluster.take()).await;
        tracing::info!(last_seq = daemon.view.last_seq, "monitoring stopped");
        Ok(())
    }
}

/// How long attempts under way may take to end at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
