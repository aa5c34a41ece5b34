//! The HTTP front under a flood: a daemon with 400 file descriptors, offered 1,000 idle
//! connections from ten client addresses, still answers a new visitor, keeps probing,
//! and sees no outage; a client that sends its headers too slowly, or says nothing on
//! a kept-alive connection, is cut off. Before the front held its connections within
//! limits, the flood took every descriptor (`Too many open files`) and the visitor,
//! the probes and the journal with it.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Behaviour, closed_port, http_peer, wait_until, write_config};
use forewarn::journal::{Event, Journal};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Open files the daemon may have: room for its probes and mail, and a few hundred
/// connections, far fewer than the flood.
const FD_LIMIT: u64 = 400;
/// Idle connections offered, from ten addresses.
const FLOOD: usize = 1_000;

fn config(dir: &Path, port: u16, target: &str, serve: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "[serve]\nlisten = \"127.0.0.1:{port}\"\n{serve}\n[monitor]\nmax_concurrency = 8\n\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{target}\"\nevery = \"1s\"\nfail_after = 1\nrecover_after = 1\n"
        ),
    )
}

/// A connection from `from` that sends a request line and one header, then waits.
async fn idle_from(from: IpAddr, to: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(from, 0)).ok()?;
    let mut stream = socket.connect(to).await.ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: status.test\r\n")
        .await
        .ok()?;
    Some(stream)
}

/// Whether the server has closed `stream` (bounded: a stream still open after
/// `within` is not).
async fn closed(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

fn status_changes(state: &Path) -> Vec<String> {
    Journal::read(state)
        .map(|r| {
            r.records
                .into_iter()
                .filter_map(|r| match r.event {
                    Event::ComponentStatusChanged { component, to, .. } => {
                        Some(format!("{component}: {to:?}"))
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn limited_daemon(config: &Path, state: &Path) -> common::Running {
    let mut cmd = common::daemon_command(config, state);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: FD_LIMIT,
                rlim_max: FD_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    common::Running::new(cmd.spawn().expect("spawn forewarn run"))
}

#[test]
fn a_flood_of_idle_connections_leaves_the_front_answering_and_the_monitor_probing() {
    // The flood's own sockets live in this process.
    rlimit::increase_nofile_limit(FLOOD as u64 + 256).expect("open-file limit");
    let rt = common::background_runtime();
    let peer = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    // Timeouts far longer than the test: only the connection limits can help.
    let config = config(
        dir.path(),
        port,
        &peer.url("/health"),
        "header_timeout = \"1h\"\nidle_timeout = \"1h\"\nmax_connections_per_client = 60\n",
    );
    let state = dir.path().join("state");
    let daemon = limited_daemon(&config, &state);
    let front = SocketAddr::from(([127, 0, 0, 1], port));
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let get = |path: &str| -> Result<(u16, String), String> {
        rt.block_on(async {
            let r = http
                .get(format!("http://{front}{path}"))
                .send()
                .await
                .map_err(|e| format!("{e:?}"))?;
            Ok((r.status().as_u16(), r.text().await.unwrap_or_default()))
        })
    };
    wait_until(
        Duration::from_secs(30),
        "the site is built and served",
        || get("/").is_ok_and(|(s, body)| s == 200 && body.contains("Public API")),
    );

    let flood: Vec<TcpStream> = rt.block_on(async {
        let mut held = Vec::new();
        for i in 0..FLOOD {
            let from = IpAddr::from([127, 0, 0, 2 + (i % 10) as u8]);
            if let Some(s) = idle_from(from, front).await {
                held.push(s);
            }
        }
        held
    });
    assert!(
        flood.len() > FD_LIMIT as usize,
        "the flood holds more connections ({}) than the daemon has descriptors",
        flood.len()
    );

    // A new visitor is answered while the flood holds on.
    let probed_before = peer.requests.load(Ordering::Relaxed);
    let health = get("/healthz");
    assert_eq!(health.map(|(s, _)| s), Ok(200), "/healthz during the flood");
    let page = get("/");
    assert!(
        page.as_ref()
            .is_ok_and(|(s, body)| *s == 200 && body.contains("Public API")),
        "the status page during the flood: {page:?}"
    );
    // The monitor keeps probing and recording.
    wait_until(
        Duration::from_secs(20),
        "probes go on during the flood",
        || peer.requests.load(Ordering::Relaxed) >= probed_before + 3,
    );
    assert_eq!(
        get("/readyz").map(|(s, _)| s),
        Ok(200),
        "the journal is writable"
    );

    // The front closes connections to make room, and takes in the rest of the flood
    // from the kernel's queue: it never stalls with the queue full.
    let mut cut = 0;
    let mut open: Vec<TcpStream> = flood;
    wait_until(
        Duration::from_secs(30),
        "the front to close the flood's excess",
        || {
            let still: Vec<TcpStream> = rt.block_on(async {
                let mut still = Vec::new();
                for mut s in open.drain(..) {
                    if closed(&mut s, Duration::from_millis(1)).await {
                        cut += 1;
                    } else {
                        still.push(s);
                    }
                }
                still
            });
            open = still;
            cut >= FLOOD - FD_LIMIT as usize
        },
    );
    drop(open);

    let out = daemon.stop();
    assert!(out.status.success(), "clean exit: {:?}", out.status);
    let log = common::daemon_log(&state);
    assert!(
        !log.contains("Too many open files"),
        "no descriptor ran out:\n{log}"
    );
    let told = log.matches("at its connection limit").count();
    assert!(
        (1..=2).contains(&told),
        "the limit is told, at most once a minute:\n{log}"
    );
    let changes = status_changes(&state);
    assert!(
        changes.iter().all(|c| c.ends_with("Operational")),
        "no component changed status: {changes:?}"
    );
}

#[test]
fn a_client_too_slow_with_its_headers_or_silent_when_kept_alive_is_cut_off() {
    let rt = common::background_runtime();
    let peer = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let port = closed_port();
    let config = config(
        dir.path(),
        port,
        &peer.url("/health"),
        "header_timeout = \"1s\"\nidle_timeout = \"2s\"\n",
    );
    let state = dir.path().join("state");
    let daemon = common::Running::new(common::start_daemon_logged(&config, &state, &[]));
    let front = SocketAddr::from(([127, 0, 0, 1], port));
    wait_until(Duration::from_secs(30), "the front answers", || {
        std::net::TcpStream::connect(front).is_ok()
    });

    rt.block_on(async {
        // Slowloris: a header line every 300 ms, never the blank line ending them.
        let mut slow = TcpStream::connect(front).await.expect("connect");
        slow.write_all(b"GET / HTTP/1.1\r\n").await.expect("write");
        let mut cut_off = false;
        for i in 0..60 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow
                .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
                || closed(&mut slow, Duration::from_millis(1)).await
            {
                cut_off = true;
                break;
            }
        }
        assert!(
            cut_off,
            "a client dripping its headers for 18 s is still connected"
        );

        // A kept-alive connection that asks nothing more is closed.
        let mut kept = TcpStream::connect(front).await.expect("connect");
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: status.test\r\n\r\n")
            .await
            .expect("write");
        let mut answer = vec![0u8; 1024];
        let n = kept.read(&mut answer).await.expect("answer");
        assert!(
            String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"),
            "the request on it was answered"
        );
        assert!(
            closed(&mut kept, Duration::from_secs(15)).await,
            "a silent kept-alive connection is still open after 15 s"
        );
    });
    let out = daemon.stop();
    assert!(out.status.success(), "clean exit: {:?}", out.status);
}
