//! The scheduler: one tokio task per check, firing on its interval or cron schedule,
//! with a shared limit on probes running at once. A probe that is still running (or
//! still waiting for a slot) when its next tick comes makes that tick skipped and
//! counted, never stacked, so a slow target can only slow down its own check.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::{Check, When};
use crate::probe::{Outcome, Prober, Sample};

/// Interval checks start at a random offset within this much (or their interval, if
/// shorter), so that many checks do not all fire at the same instant.
pub const MAX_START_JITTER: Duration = Duration::from_secs(10);
/// ... and within this much per check: a few checks all start at once (a restart
/// sees an outage as soon as it can), ten thousand spread over ten seconds.
pub const START_PACE: Duration = Duration::from_millis(1);
/// Cron checks fire up to this much after their scheduled second.
pub const MAX_CRON_JITTER: Duration = Duration::from_millis(500);

/// One check to run for one component.
#[derive(Debug, Clone)]
pub struct Job {
    pub component: String,
    pub check: Arc<Check>,
    /// Which configuration this job comes from; samples carry it back, so a sample
    /// taken under an older configuration can be told apart after a reload.
    pub generation: u64,
}

/// A sample taken for a component.
#[derive(Debug, Clone)]
pub struct Observation {
    pub component: String,
    pub generation: u64,
    pub sample: Sample,
}

/// Counters shared by all checks of one scheduler.
#[derive(Debug, Default)]
pub struct Stats {
    /// Probes started.
    pub started: AtomicU64,
    /// Ticks skipped because the previous probe of the same check was still running.
    pub skipped: AtomicU64,
}

/// Running check tasks. Dropping it does not stop them: call [`Scheduler::stop`].
pub struct Scheduler {
    cancel: CancellationToken,
    loops: JoinSet<()>,
    pub stats: Arc<Stats>,
}

impl Scheduler {
    pub fn start(
        jobs: Vec<Job>,
        prober: Prober,
        limit: Arc<Semaphore>,
        tz: Tz,
        tx: mpsc::Sender<Observation>,
    ) -> Scheduler {
        let cancel = CancellationToken::new();
        let stats = Arc::new(Stats::default());
        let mut loops = JoinSet::new();
        let spread = START_PACE
            .saturating_mul(u32::try_from(jobs.len()).unwrap_or(u32::MAX))
            .min(MAX_START_JITTER);
        for job in jobs {
            let first = first_tick(&job.check.when, tz, spread);
            loops.spawn(drive(
                job,
                first,
                Drive {
                    prober: prober.clone(),
                    limit: limit.clone(),
                    tz,
                    tx: tx.clone(),
                    cancel: cancel.clone(),
                    stats: stats.clone(),
                },
            ));
        }
        Scheduler {
            cancel,
            loops,
            stats,
        }
    }

    /// Stop every check; probes in flight are abandoned.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.loops.join_next().await.is_some() {}
    }
}

/// What every check's loop shares.
struct Drive {
    prober: Prober,
    limit: Arc<Semaphore>,
    tz: Tz,
    tx: mpsc::Sender<Observation>,
    cancel: CancellationToken,
    stats: Arc<Stats>,
}

/// Run `job` from `first` on, at each of its ticks.
async fn drive(job: Job, first: Instant, shared: Drive) {
    let Drive {
        prober,
        limit,
        tz,
        tx,
        cancel,
        stats,
    } = shared;
    let running = Arc::new(AtomicBool::new(false));
    let mut skipped_here: u64 = 0;
    let mut next = first;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
        if running.swap(true, Ordering::AcqRel) {
            skipped_here += 1;
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                component = %job.component,
                skipped = skipped_here,
                "check skipped a tick: its previous probe is still running"
            );
        } else {
            stats.started.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(run_once(
                job.clone(),
                prober.clone(),
                limit.clone(),
                tx.clone(),
                cancel.clone(),
                running.clone(),
            ));
        }
        next = next_tick(&job.check.when, tz, next);
    }
}

async fn run_once(
    job: Job,
    prober: Prober,
    limit: Arc<Semaphore>,
    tx: mpsc::Sender<Observation>,
    cancel: CancellationToken,
    running: Arc<AtomicBool>,
) {
    // Whatever happens below, the check is free to run again at its next tick.
    let _done = Done(running);
    let work = async {
        let Ok(permit) = limit.acquire().await else {
            return;
        };
        // A probe that fails in forewarn itself (a panic) says nothing of the service:
        // an unknown sample, which operators hear about, and the check goes on.
        let check = job.check.clone();
        let started = Utc::now();
        let sample = match tokio::spawn(async move { prober.probe(&check).await }).await {
            Ok(sample) => sample,
            Err(_) => Sample {
                outcome: Outcome::Unknown(
                    "could not check: the probe stopped on an internal fault of forewarn".into(),
                ),
                latency: Duration::ZERO,
                at: started,
                certificate: None,
            },
        };
        drop(permit);
        let _ = tx
            .send(Observation {
                component: job.component.clone(),
                generation: job.generation,
                sample,
            })
            .await;
    };
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = work => {}
    }
}

/// Marks a check's probe as finished when dropped, even by a panic.
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn first_tick(when: &When, tz: Tz, spread: Duration) -> Instant {
    match when {
        When::Every(every) => {
            let spread = (*every).min(spread);
            Instant::now() + spread.mul_f64(fastrand::f64())
        }
        When::Cron { .. } => cron_tick(when, tz),
    }
}

fn next_tick(when: &When, tz: Tz, previous: Instant) -> Instant {
    match when {
        When::Every(every) => {
            let now = Instant::now();
            let next = previous.checked_add(*every).unwrap_or(now + *every);
            // After a stall, skip the ticks already missed rather than firing them in a burst.
            if next > now {
                return next;
            }
            let behind = (now - next).as_nanos() / every.as_nanos().max(1) + 1;
            let skip = every.saturating_mul(u32::try_from(behind).unwrap_or(u32::MAX));
            next.checked_add(skip).unwrap_or(now + *every)
        }
        When::Cron { .. } => cron_tick(when, tz),
    }
}

fn cron_tick(when: &When, tz: Tz) -> Instant {
    let When::Cron { schedule, .. } = when else {
        return Instant::now();
    };
    let now = Utc::now();
    let jitter = MAX_CRON_JITTER.mul_f64(fastrand::f64());
    match schedule.after(&now.with_timezone(&tz)).next() {
        Some(fire) => {
            let wait = (fire.with_timezone(&Utc) - now)
                .to_std()
                .unwrap_or_default();
            Instant::now() + wait + jitter
        }
        // Validation rejects schedules that never fire; should one run dry, wait a day.
        None => Instant::now() + Duration::from_secs(86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_few_checks_start_at_once_and_many_spread_over_ten_seconds() {
        let every = When::Every(Duration::from_secs(60));
        let few = START_PACE * 20;
        for _ in 0..200 {
            let now = Instant::now();
            let first = first_tick(&every, chrono_tz::UTC, few);
            assert!(first >= now && first <= now + few + Duration::from_millis(500));
        }
        let many = START_PACE.saturating_mul(10_000).min(MAX_START_JITTER);
        assert_eq!(many, Duration::from_secs(10));
        // A check more frequent than the spread starts within its own interval.
        let now = Instant::now();
        let quick = first_tick(&When::Every(Duration::from_millis(5)), chrono_tz::UTC, many);
        assert!(quick <= now + Duration::from_millis(500));
    }
}
