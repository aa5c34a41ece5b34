//! The HTTP front under a flood, with its default limits: 20,000 idle connections (each
//! sends a request line and one header, then waits; with `FRONT_FLOOD_RECONNECT=1s`,
//! it comes back that long after the front closes it) and 2,000 slowloris clients (a header line every 5 s), from 120
//! loopback addresses, for 60 s, while a new visitor on 127.0.0.1 asks for `/healthz`
//! and `/` every second. Prints the visitor's slowest answers, the daemon's peak
//! memory, how long the slowloris clients were kept, and any status change.
//!
//! Run with: `cargo bench --bench front_flood`, and
//! `FRONT_FLOOD_RECONNECT=1s cargo bench --bench front_flood` for a storm of reconnects.
//! The flood comes from two child processes of this benchmark (10,000 + 1,000 sockets
//! each), so each stays under a hard open-file limit of 20,000.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

const FLOOD_FOR: Duration = Duration::from_secs(60);
const IDLE_PER_FLOODER: usize = 10_000;
const SLOW_PER_FLOODER: usize = 1_000;

fn main() {
    if let Ok(spec) = std::env::var("FRONT_FLOOD_ROLE") {
        return flooder(&spec);
    }
    let _ = rlimit::increase_nofile_limit(4096);
    let target = common::health_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let config = dir.path().join("forewarn.toml");
    let mut text = common::config_text(target, 20, "10s");
    text.push_str(&format!("\n[serve]\nlisten = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&config, text).expect("write config");
    let state = dir.path().join("state");
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["run", "--config"])
        .arg(&config)
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(dir.path().join("site"))
        .env("FOREWARN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn forewarn run");
    let front = SocketAddr::from(([127, 0, 0, 1], port));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let visitor = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let answer = |path: &str| -> Option<Duration> {
        let started = Instant::now();
        rt.block_on(async {
            let r = match visitor.get(format!("http://{front}{path}")).send().await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("visitor: {path}: {e:?}");
                    return None;
                }
            };
            let ok = r.status().is_success();
            r.bytes().await.ok()?;
            ok.then(|| started.elapsed())
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while answer("/").is_none() {
        assert!(Instant::now() < deadline, "the front never answered");
        std::thread::sleep(Duration::from_millis(200));
    }
    let rss_before = common::proc_kib(daemon.id(), "VmRSS:");

    let flooders: Vec<_> = (0..2u8)
        .map(|n| {
            Command::new(std::env::current_exe().expect("this benchmark"))
                .env("FRONT_FLOOD_ROLE", format!("{n}:{port}"))
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn a flooder")
        })
        .collect();
    let started = Instant::now();
    let mut health = Vec::new();
    let mut page = Vec::new();
    let mut failed = 0;
    let mut rss_peak_seen = 0;
    while started.elapsed() < FLOOD_FOR {
        std::thread::sleep(Duration::from_secs(1));
        match (answer("/healthz"), answer("/")) {
            (Some(h), Some(p)) => {
                health.push(h);
                page.push(p);
            }
            _ => failed += 1,
        }
        rss_peak_seen = rss_peak_seen.max(common::proc_kib(daemon.id(), "VmRSS:"));
    }
    for f in flooders {
        let out = f.wait_with_output().expect("flooder");
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    let peak = common::proc_kib(daemon.id(), "VmHWM:");
    let _ = daemon.kill();
    let _ = daemon.wait();
    let changes = forewarn::journal::Journal::read(&state)
        .map(|r| {
            r.records
                .iter()
                .filter(|r| {
                    matches!(
                        r.event,
                        forewarn::journal::Event::ComponentStatusChanged { .. }
                    )
                })
                .count()
        })
        .unwrap_or(0);
    let slowest = |d: &[Duration]| {
        d.iter()
            .max()
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(f64::NAN)
    };
    println!(
        "visitor during the flood: {} of {} rounds answered; slowest /healthz {:.1} ms, slowest / {:.1} ms",
        health.len(),
        health.len() + failed,
        slowest(&health),
        slowest(&page)
    );
    println!(
        "daemon RSS: {:.1} MiB before, {:.1} MiB highest sampled, peak (VmHWM) {:.1} MiB; component status changes: {changes}",
        rss_before as f64 / 1024.0,
        rss_peak_seen as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

/// One flooder: `IDLE_PER_FLOODER` idle clients that come back when closed and
/// `SLOW_PER_FLOODER` slowloris clients that do not, for `FLOOD_FOR`.
fn flooder(spec: &str) {
    let _ = rlimit::increase_nofile_limit(20_000);
    let (n, port) = spec.split_once(':').expect("n:port");
    let n: u8 = n.parse().expect("flooder number");
    let front = SocketAddr::from(([127, 0, 0, 1], port.parse::<u16>().expect("port")));
    let reconnect = std::env::var("FRONT_FLOOD_RECONNECT").ok().map(|d| {
        humantime::parse_duration(&d).expect("FRONT_FLOOD_RECONNECT: a duration such as 1s")
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let end = tokio::time::Instant::now() + FLOOD_FOR;
        let closed = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for i in 0..IDLE_PER_FLOODER {
            let from = IpAddr::from([127, 0, 1 + n, 2 + (i % 50) as u8]);
            let (closed, refused) = (closed.clone(), refused.clone());
            tasks.push(tokio::spawn(async move {
                while tokio::time::Instant::now() < end {
                    match open(from, front, b"GET / HTTP/1.1\r\nHost: flood\r\n").await {
                        Some(mut s) => {
                            let mut buf = [0u8; 512];
                            let read = tokio::time::timeout_at(end, async {
                                loop {
                                    match s.read(&mut buf).await {
                                        Ok(0) | Err(_) => break,
                                        Ok(_) => {}
                                    }
                                }
                            });
                            if read.await.is_ok() {
                                closed.fetch_add(1, Ordering::Relaxed);
                            }
                            let Some(pause) = reconnect else {
                                break;
                            };
                            tokio::time::sleep(pause).await;
                            continue;
                        }
                        None => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }));
        }
        let mut slow = Vec::new();
        for i in 0..SLOW_PER_FLOODER {
            let from = IpAddr::from([127, 0, 3 + n, 2 + (i % 10) as u8]);
            slow.push(tokio::spawn(async move {
                // None: never connected; Some(None): still open at the end.
                let opened = tokio::time::Instant::now();
                let mut s = open(from, front, b"GET / HTTP/1.1\r\n").await?;
                let mut k = 0;
                while tokio::time::Instant::now() < end {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    k += 1;
                    if s.write_all(format!("X-Slow-{k}: y\r\n").as_bytes()).await.is_err() {
                        return Some(Some(opened.elapsed()));
                    }
                    let mut buf = [0u8; 64];
                    if let Ok(Ok(0) | Err(_)) =
                        tokio::time::timeout(Duration::from_millis(1), s.read(&mut buf)).await
                    {
                        return Some(Some(opened.elapsed()));
                    }
                }
                Some(None)
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        let mut kept = Vec::new();
        let (mut still_open, mut never) = (0, 0);
        for t in slow {
            match t.await.ok().flatten() {
                Some(Some(d)) => kept.push(d),
                Some(None) => still_open += 1,
                None => never += 1,
            }
        }
        kept.sort();
        println!(
            "flooder {n} (reconnect: {reconnect:?}): {IDLE_PER_FLOODER} idle clients closed by the front {} times ({} connects failed); slowloris: {} cut off (median after {:.1} s, longest {:.1} s), {still_open} still open after {} s, {never} never connected",
            closed.load(Ordering::Relaxed),
            refused.load(Ordering::Relaxed),
            kept.len(),
            kept.get(kept.len() / 2).map(|d| d.as_secs_f64()).unwrap_or(f64::NAN),
            kept.last().map(|d| d.as_secs_f64()).unwrap_or(f64::NAN),
            FLOOD_FOR.as_secs()
        );
    });
}

async fn open(from: IpAddr, to: SocketAddr, first: &[u8]) -> Option<tokio::net::TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(from, 0)).ok()?;
    let mut s = tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
        .await
        .ok()?
        .ok()?;
    s.write_all(first).await.ok()?;
    Some(s)
}
