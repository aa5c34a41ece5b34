//! Resident memory of `forewarn run` watching 10 and 1,000 HTTP components (every 10 s)
//! on a loopback server, read from /proc after the daemon has run a while.
//!
//! Run with: `cargo bench --bench daemon_memory`

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

const RUN_FOR: Duration = Duration::from_secs(45);

fn kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn measure(addr: std::net::SocketAddr, components: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("forewarn.toml");
    std::fs::write(&config, common::config_text(addr, components, "10s")).expect("write config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--out")
        .arg(dir.path().join("site"))
        .env("FOREWARN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn forewarn run");
    let status_path = format!("/proc/{}/status", child.id());
    let mut rss = Vec::new();
    let steps = RUN_FOR.as_secs() / 5;
    for _ in 0..steps {
        std::thread::sleep(Duration::from_secs(5));
        let status = std::fs::read_to_string(&status_path).expect("the daemon is running");
        rss.push(kib(&status, "VmRSS:"));
    }
    let status = std::fs::read_to_string(&status_path).expect("the daemon is running");
    let peak = kib(&status, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    let last = *rss.last().unwrap_or(&0);
    println!(
        "daemon with {components:>4} components every 10s: RSS after {}s {:.1} MiB, peak {:.1} MiB (samples every 5s, MiB: {})",
        RUN_FOR.as_secs(),
        last as f64 / 1024.0,
        peak as f64 / 1024.0,
        rss.iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

fn main() {
    let _ = rlimit::increase_nofile_limit(10_000);
    let addr = common::health_server();
    measure(addr, 10);
    measure(addr, 1000);
}
