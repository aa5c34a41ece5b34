//! The scheduler against real servers: a hung target never delays other checks, ticks
//! that find their probe still running are skipped and counted, cron schedules fire.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Behaviour, http_peer};
use forewarn::config::Config;
use forewarn::monitor::scheduler::{Job, Observation, Scheduler};
use forewarn::probe::Prober;
use tokio::sync::{Semaphore, mpsc};

fn config(components: &str) -> Config {
    let src = format!("{}\n{components}", common::SITE);
    Config::parse(Path::new("test.toml"), &src, &|_| None).unwrap_or_else(|e| panic!("{e}"))
}

fn component(id: &str, url: &str, when: &str) -> String {
    format!(
        "[[component]]\nid = \"{id}\"\nname = \"{id}\"\n[component.check]\nurl = \"{url}\"\n{when}\n"
    )
}

/// Run the configured checks for `run_for`; count samples per component.
async fn run(config: &Config, limit: usize, run_for: Duration) -> (HashMap<String, usize>, u64) {
    let jobs = config
        .components
        .iter()
        .map(|c| Job {
            component: c.id.clone(),
            check: Arc::new(c.check.clone()),
            generation: 0,
        })
        .collect();
    let (tx, mut rx) = mpsc::channel::<Observation>(1024);
    let scheduler = Scheduler::start(
        jobs,
        Prober::new().expect("prober"),
        Arc::new(Semaphore::new(limit)),
        chrono_tz::UTC,
        tx,
    );
    let stats = scheduler.stats.clone();
    let mut counts: HashMap<String, usize> = HashMap::new();
    let deadline = tokio::time::Instant::now() + run_for;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            Some(obs) = rx.recv() => *counts.entry(obs.component).or_default() += 1,
        }
    }
    scheduler.stop().await;
    (counts, stats.skipped.load(Ordering::Relaxed))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_target_does_not_delay_other_checks() {
    let hang = http_peer(Behaviour::Hang).await;
    let up = http_peer(Behaviour::Ok("ok")).await;
    let cfg = config(&format!(
        "{}\n{}",
        component("stuck", &hang.url("/"), "every = \"1s\"\ntimeout = \"1s\""),
        component("fine", &up.url("/"), "every = \"100ms\"")
    ));
    let (counts, _) = run(&cfg, 100, Duration::from_millis(2500)).await;
    let fine = counts.get("fine").copied().unwrap_or(0);
    // 2.5 s at 100 ms is 25 ticks, minus up to 100 ms of start jitter.
    assert!(
        fine >= 20,
        "the healthy check ran only {fine} times next to a hung one"
    );
    assert!(counts.get("stuck").copied().unwrap_or(0) <= 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn ticks_finding_their_probe_still_running_are_skipped_not_stacked() {
    let hang = http_peer(Behaviour::Hang).await;
    let cfg = config(&format!(
        "{}\n{}",
        component(
            "a",
            &hang.url("/a"),
            "every = \"200ms\"\ntimeout = \"200ms\""
        ),
        component(
            "b",
            &hang.url("/b"),
            "every = \"200ms\"\ntimeout = \"200ms\""
        )
    ));
    // One probe at a time, each holding its slot for its whole 200 ms timeout: the two
    // checks want twice the time there is.
    let (counts, skipped) = run(&cfg, 1, Duration::from_secs(2)).await;
    let total: usize = counts.values().sum();
    assert!(
        total <= 11,
        "{total} probes finished in 2 s with room for 10: probes were stacked"
    );
    assert!(total >= 6, "only {total} probes ran");
    assert!(skipped >= 5, "only {skipped} ticks were counted as skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cron_schedule_fires_on_its_seconds() {
    let up = http_peer(Behaviour::Ok("ok")).await;
    let cfg = config(&component(
        "cron",
        &up.url("/"),
        "schedule = \"* * * * * *\"\ntimeout = \"500ms\"",
    ));
    let (counts, _) = run(&cfg, 10, Duration::from_millis(3200)).await;
    let n = counts.get("cron").copied().unwrap_or(0);
    assert!(
        (2..=4).contains(&n),
        "an every-second schedule fired {n} times in 3.2 s"
    );
}
