//! Does the scheduler keep time with 10,000 checks? Runs 10,000 HTTP checks every 10 s
//! (six times the rate of 10,000 checks a minute) against a loopback server with the
//! default concurrency limit, and counts probes done and ticks skipped.
//!
//! Run with: `cargo bench --bench schedule`

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use forewarn::config::Config;
use forewarn::monitor::scheduler::{Job, Observation, Scheduler};
use forewarn::probe::Prober;
use tokio::sync::{Semaphore, mpsc};

const CHECKS: usize = 10_000;
const EVERY: Duration = Duration::from_secs(10);
const RUN_FOR: Duration = Duration::from_secs(40);

fn main() {
    let _ = rlimit::increase_nofile_limit(20_000);
    let addr = common::health_server();
    let config = Config::parse(
        Path::new("bench.toml"),
        &common::config_text(addr, CHECKS, "10s"),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let jobs = config
            .components
            .iter()
            .map(|c| Job {
                component: c.id.clone(),
                check: Arc::new(c.check.clone()),
                generation: 0,
            })
            .collect();
        let (tx, mut rx) = mpsc::channel::<Observation>(4096);
        let limit = Arc::new(Semaphore::new(config.monitor.max_concurrency));
        let started = Instant::now();
        let scheduler = Scheduler::start(jobs, Prober::new().expect("prober"), limit, chrono_tz::UTC, tx);
        let stats = scheduler.stats.clone();
        let (mut done, mut down, mut slowest) = (0u64, 0u64, Duration::ZERO);
        let deadline = tokio::time::Instant::now() + RUN_FOR;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                Some(obs) = rx.recv() => {
                    done += 1;
                    if obs.sample.outcome.is_down() { down += 1; }
                    slowest = slowest.max(obs.sample.latency);
                }
            }
        }
        scheduler.stop().await;
        let elapsed = started.elapsed().as_secs_f64();
        // Each check starts within its first 10 s (jitter) and then fires every 10 s.
        let ideal = CHECKS as f64 * (elapsed / EVERY.as_secs_f64());
        println!(
            "{CHECKS} checks every {}s for {elapsed:.0}s: {done} probes ({:.0}/s, {:.0}% of the ideal {ideal:.0}), {down} down, {} ticks skipped, slowest probe {} ms",
            EVERY.as_secs(),
            done as f64 / elapsed,
            100.0 * done as f64 / ideal,
            stats.skipped.load(Ordering::Relaxed),
            slowest.as_millis()
        );
    });
}
