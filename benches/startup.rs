//! Start-up after a year of history: a journal of a year at 20 components and 1,000
//! email subscribers (1,500 outages, each opened and resolved and told to everyone:
//! about 3 million lines), then `forewarn run` started on it. Measures, from the spawn:
//! the first probe sent, the first `/healthz` answer, `/readyz` turning 200, and the
//! daemon's peak memory; first with no snapshot (the whole journal is replayed, and a
//! snapshot written), then three times from the snapshot.
//!
//! Run with: `cargo bench --bench startup` (`STARTUP_BENCH_OUTAGES=N`,
//! `STARTUP_BENCH_COMPONENTS=N` (default 20) for another size).

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use chrono::{TimeDelta, Utc};
use forewarn::notify::outbox::delivery_id;
use serde_json::json;

const SUBSCRIBERS: usize = 1_000;

/// A health endpoint that counts the requests it gets.
fn counting_server() -> (SocketAddr, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = Router::new().route(
                "/health",
                get(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                    async { "{\"status\":\"ok\"}" }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(listener.local_addr().expect("addr")).expect("send");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    (
        rx.recv_timeout(Duration::from_secs(10)).expect("addr"),
        hits,
    )
}

/// Write the year's journal; how many lines.
fn write_journal(state: &Path, outages: usize, components: usize) -> u64 {
    std::fs::create_dir_all(state).expect("state");
    let file = std::fs::File::create(state.join("journal.jsonl")).expect("journal");
    let mut out = std::io::BufWriter::new(file);
    let mut seq = 0u64;
    let start = Utc::now() - TimeDelta::days(365);
    let mut line = |out: &mut std::io::BufWriter<std::fs::File>, mut v: serde_json::Value| {
        seq += 1;
        v["seq"] = json!(seq);
        serde_json::to_writer(&mut *out, &v).expect("write");
        out.write_all(b"\n").expect("write");
        seq
    };
    let keys: Vec<String> = (0..SUBSCRIBERS)
        .map(|i| format!("email:customer{i}@bench.example"))
        .collect();
    for (i, key) in keys.iter().enumerate() {
        line(
            &mut out,
            json!({"at": start, "type": "subscriber.confirmed", "key": key, "channel": "email",
                   "address": format!("customer{i}@bench.example"), "source": "self"}),
        );
    }
    let step = TimeDelta::seconds(365 * 86_400 / outages.max(1) as i64);
    for n in 0..outages {
        let at = start + step * n as i32 + TimeDelta::minutes(1);
        let back = at + TimeDelta::minutes(12);
        let c = format!("c{}", n % components);
        let id = format!("INC-{n}-{c}");
        let update = |status: &str, when| json!({"at": when, "status": status, "message": "We are looking into it.", "automatic": true});
        line(
            &mut out,
            json!({"at": at, "more": true, "type": "component.status_changed", "component": c,
                   "from": "operational", "to": "major_outage", "reason": "HTTP 503", "incident": id}),
        );
        let opened = line(
            &mut out,
            json!({"at": at, "type": "incident.opened", "id": id, "reference": id,
                   "title": format!("Component {}: major outage", n % components),
                   "components": {c.clone(): "major_outage"}, "impact": "critical", "automatic": true,
                   "update": update("investigating", at)}),
        );
        for key in &keys {
            line(
                &mut out,
                json!({"at": at, "type": "delivery.succeeded", "id": delivery_id(opened, key), "attempt": 1}),
            );
        }
        line(
            &mut out,
            json!({"at": back, "more": true, "type": "component.status_changed", "component": c,
                   "from": "major_outage", "to": "operational", "reason": "HTTP 200", "incident": id}),
        );
        let resolved = line(
            &mut out,
            json!({"at": back, "type": "incident.resolved", "id": id, "reference": id,
                   "duration_secs": 720, "update": update("resolved", back)}),
        );
        for key in &keys {
            line(
                &mut out,
                json!({"at": back, "type": "delivery.succeeded", "id": delivery_id(resolved, key), "attempt": 1}),
            );
        }
    }
    out.flush().expect("flush");
    seq
}

/// The HTTP status `GET path` answers with, on a fresh connection; none if it does not.
fn status_of(front: SocketAddr, path: &str) -> Option<u16> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect_timeout(&front, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(1500))).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

struct Start {
    first_probe: Duration,
    healthz: Duration,
    ready: Duration,
    peak_mib: f64,
}

/// Start the daemon and time what it does first; stop it cleanly.
fn start(config: &Path, state: &Path, port: u16, hits: &AtomicU64) -> Start {
    let before = hits.load(Ordering::Relaxed);
    let spawned = Instant::now();
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["run", "--config"])
        .arg(config)
        .arg("--state")
        .arg(state)
        .arg("--out")
        .arg(state.with_file_name("site"))
        .env("FOREWARN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn forewarn run");
    let front = SocketAddr::from(([127, 0, 0, 1], port));
    let status = |path: &str| status_of(front, path);
    let (mut first_probe, mut healthz, mut ready) = (None, None, None);
    let deadline = Instant::now() + Duration::from_secs(600);
    while (first_probe.is_none() || healthz.is_none() || ready.is_none())
        && Instant::now() < deadline
    {
        if first_probe.is_none() && hits.load(Ordering::Relaxed) > before {
            first_probe = Some(spawned.elapsed());
        }
        if healthz.is_none() && status("/healthz") == Some(200) {
            healthz = Some(spawned.elapsed());
        }
        if healthz.is_some() && ready.is_none() && status("/readyz") == Some(200) {
            ready = Some(spawned.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    // Let it settle (the first site build), then read its peak.
    std::thread::sleep(Duration::from_secs(3));
    let peak = common::proc_kib(child.id(), "VmHWM:");
    // SAFETY: kill only signals the child this function started.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
    Start {
        first_probe: first_probe.expect("a first probe"),
        healthz: healthz.expect("a /healthz answer"),
        ready: ready.expect("ready"),
        peak_mib: peak as f64 / 1024.0,
    }
}

fn show(what: &str, s: &Start) {
    println!(
        "{what}: first probe {:.0} ms, first /healthz {:.0} ms, /readyz 200 {:.0} ms, peak RSS {:.1} MiB",
        s.first_probe.as_secs_f64() * 1000.0,
        s.healthz.as_secs_f64() * 1000.0,
        s.ready.as_secs_f64() * 1000.0,
        s.peak_mib
    );
}

fn main() {
    let outages: usize = std::env::var("STARTUP_BENCH_OUTAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500);
    let components: usize = std::env::var("STARTUP_BENCH_COMPONENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let (addr, hits) = counting_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let config = dir.path().join("forewarn.toml");
    let mut text = common::config_text(addr, components, "10s");
    text.push_str(&format!("\n[serve]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&config, text).expect("config");
    let state = dir.path().join("state");
    let made = Instant::now();
    let lines = write_journal(&state, outages, components);
    let bytes = std::fs::metadata(state.join("journal.jsonl"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "{components} components; journal: {lines} lines, {:.0} MiB ({outages} outages, {SUBSCRIBERS} subscribers; written in {:.1} s)",
        bytes as f64 / 1_048_576.0,
        made.elapsed().as_secs_f64()
    );
    show(
        "no snapshot (whole journal)",
        &start(&config, &state, port, &hits),
    );
    let snapshot = std::fs::metadata(state.join("snapshot.json"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!("snapshot: {:.1} MiB", snapshot as f64 / 1_048_576.0);
    for run in 1..=3 {
        show(
            &format!("from the snapshot, run {run}"),
            &start(&config, &state, port, &hits),
        );
    }
}
