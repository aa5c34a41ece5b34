//! `forewarn run` at scale: 1,000 and 10,000 HTTP components, each checked every 10 s
//! on a loopback server in the benchmark's process, for 5 minutes each
//! (`DAEMON_BENCH_SECONDS`, `DAEMON_BENCH_SIZES=1000,10000`). Reads, from outside the
//! daemon: its resident memory (`VmRSS`, `VmHWM`), its CPU time (`/proc/<pid>/stat`)
//! after the first minute, the probes it ran (`forewarn_probes_total` on `/metrics`)
//! against the schedule's ideal, and the ticks it logged as skipped.
//!
//! Run with: `cargo bench --bench daemon_memory`

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Left out of the CPU figure: the start, the first site build, the first rounds.
const SETTLE: Duration = Duration::from_secs(60);

fn kib(pid: u32, field: &str) -> u64 {
    common::proc_kib(pid, field)
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf only reads a constant of the system.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / hz
}

/// The sum of `forewarn_probes_total` on the daemon's `/metrics`.
fn probes_done(port: u16) -> f64 {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0.0;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    text.lines()
        .filter(|l| l.starts_with("forewarn_probes_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn measure(addr: std::net::SocketAddr, components: usize, run_for: Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("forewarn.toml");
    let port = common::free_port();
    let text = common::config_text(addr, components, "10s")
        + &format!("\n[serve]\nlisten = \"127.0.0.1:{port}\"\n");
    std::fs::write(&config, text).expect("write config");
    let log = dir.path().join("daemon.log");
    let started = Instant::now();
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
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn forewarn run");
    let pid = child.id();
    std::thread::sleep(SETTLE);
    let (cpu0, probes0, t0) = (cpu_seconds(pid), probes_done(port), Instant::now());
    let mut rss = Vec::new();
    while started.elapsed() < run_for {
        std::thread::sleep(Duration::from_secs(5));
        rss.push(kib(pid, "VmRSS:"));
    }
    let (cpu1, probes1, elapsed) = (cpu_seconds(pid), probes_done(port), t0.elapsed());
    let peak = kib(pid, "VmHWM:");
    let _ = child.kill();
    let _ = child.wait();
    let skipped = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .matches("skipped a tick")
        .count();
    let ideal = components as f64 * elapsed.as_secs_f64() / 10.0;
    let mib = |k: u64| k as f64 / 1024.0;
    println!(
        "{components:>5} components every 10s for {}s: CPU {:.1}% of one core after the first {}s; probes {:.0} of an ideal {:.0} ({:.1}%); {} ticks logged as skipped; RSS at the end {:.1} MiB, peak {:.1} MiB, highest sample {:.1} MiB",
        run_for.as_secs(),
        100.0 * (cpu1 - cpu0) / elapsed.as_secs_f64(),
        SETTLE.as_secs(),
        probes1 - probes0,
        ideal,
        100.0 * (probes1 - probes0) / ideal,
        skipped,
        mib(*rss.last().unwrap_or(&0)),
        mib(peak),
        mib(rss.iter().copied().max().unwrap_or(0)),
    );
}

fn main() {
    let _ = rlimit::increase_nofile_limit(20_000);
    let run_for = Duration::from_secs(
        std::env::var("DAEMON_BENCH_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    )
    .max(SETTLE + Duration::from_secs(30));
    let sizes: Vec<usize> = std::env::var("DAEMON_BENCH_SIZES")
        .unwrap_or_else(|_| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let addr = common::health_server();
    for n in sizes {
        measure(addr, n, run_for);
    }
}
