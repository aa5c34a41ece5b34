//! One probe round of 1,000 HTTP checks against a loopback server, as `forewarn probe`
//! runs it (each probe on a fresh connection, default concurrency limit).
//!
//! Run with: `cargo bench --bench probe_round`

mod common;

use std::path::Path;
use std::time::Instant;

use forewarn::config::Config;

const COMPONENTS: usize = 1000;
const ROUNDS: usize = 7;

fn main() {
    let _ = rlimit::increase_nofile_limit(10_000);
    let addr = common::health_server();
    let config = Config::parse(
        Path::new("bench.toml"),
        &common::config_text(addr, COMPONENTS, "60s"),
        &|_| None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut times = Vec::new();
    for round in 0..=ROUNDS {
        let started = Instant::now();
        let results = rt
            .block_on(forewarn::commands::probe::round(&config, &[]))
            .expect("round");
        let took = started.elapsed();
        let up = results
            .iter()
            .filter(|r| !r.sample.outcome.is_down())
            .count();
        assert_eq!(up, COMPONENTS, "every loopback probe should succeed");
        if round > 0 {
            times.push(took); // the first round warms up
        }
    }
    println!(
        "probe round, {COMPONENTS} loopback HTTP checks: {}",
        common::summary(times)
    );
}
