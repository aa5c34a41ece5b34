//! How fast one incident reaches many subscribers, through the real daemon:
//! 10,000 email subscribers handed to a local SMTP server, 1,000 webhook endpoints on a
//! local HTTP server, and the time from the probe that confirms an outage to the first
//! webhook received.
//!
//! `cargo bench --bench notify_fanout`

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use chrono::{DateTime, Utc};
use forewarn::config::Config;
use forewarn::journal::{Event, Record};
use forewarn::monitor::RunOptions;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

const SITE: &str = "[site]\ntitle = \"Bench\"\nbase_url = \"https://status.bench.example\"\n[site.contact]\nemail = \"help@bench.example\"\n";

/// Arrivals at a webhook receiver.
#[derive(Default)]
struct Arrivals {
    count: usize,
    first: Option<SystemTime>,
    last: Option<SystemTime>,
}

/// An HTTP receiver answering 204 to everything, on a runtime of its own.
fn receiver() -> (SocketAddr, Arc<Mutex<Arrivals>>) {
    let arrivals = Arc::new(Mutex::new(Arrivals::default()));
    let seen = arrivals.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let app = Router::new().fallback(move || {
                let seen = seen.clone();
                async move {
                    let now = SystemTime::now();
                    let mut a = seen.lock().unwrap();
                    a.count += 1;
                    a.first.get_or_insert(now);
                    a.last = Some(now);
                    axum::http::StatusCode::NO_CONTENT
                }
            });
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind("127.0.0.1:0".parse().unwrap()).expect("bind");
            let listener = socket.listen(4096).expect("listen");
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.expect("serve");
        });
    });
    (rx.recv_timeout(Duration::from_secs(10)).unwrap(), arrivals)
}

/// Run the daemon on `dir/config` until `done` says so; returns the records it appended.
fn run_daemon(
    dir: &Path,
    mut act: impl FnMut(&Path) + Send + 'static,
    done: impl Fn(&[Record]) -> bool,
    limit: Duration,
) -> Vec<Record> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config_path = dir.join("config/forewarn.toml");
    let config = Config::load(&config_path).expect("valid config");
    let (tx, mut rx) = broadcast::channel::<Record>(1 << 16);
    let shutdown = CancellationToken::new();
    let handle = rt.spawn(forewarn::commands::run::daemon(
        RunOptions {
            config_path: config_path.clone(),
            state_dir: dir.join("state"),
            out_dir: Some(dir.join("site")),
            node: None,
        },
        None,
        config,
        shutdown.clone(),
        Some(tx),
    ));
    let mut records = Vec::new();
    let started = Instant::now();
    let mut acted = false;
    rt.block_on(async {
        while !done(&records) {
            assert!(started.elapsed() < limit, "did not finish within {limit:?}");
            match tokio::time::timeout(Duration::from_millis(100), rx.recv()).await {
                Ok(Ok(r)) => records.push(r),
                Ok(Err(broadcast::error::RecvError::Lagged(n))) => panic!("lagged by {n}"),
                Ok(Err(_)) => break,
                Err(_) => {}
            }
            let subscribed = records
                .iter()
                .any(|r| matches!(r.event, Event::SubscriberConfirmed { .. }));
            if subscribed && !acted {
                acted = true;
                act(dir);
            }
        }
    });
    shutdown.cancel();
    rt.block_on(handle).unwrap().unwrap();
    records
}

fn write(dir: &Path, config: &str, subscribers: &str) {
    std::fs::create_dir_all(dir.join("config/incidents")).unwrap();
    std::fs::write(dir.join("config/forewarn.toml"), config).unwrap();
    std::fs::write(dir.join("config/subscribers.toml"), subscribers).unwrap();
}

fn declare_incident(dir: &Path) {
    let path = dir.join("config/incidents/cards.toml");
    std::fs::write(
        &path,
        format!(
            "id = \"cards\"\ntitle = \"Card payments failing\"\nimpact = \"major\"\n[components]\napi = \"partial_outage\"\n[[update]]\nat = {}\nstatus = \"identified\"\nmessage = \"A faulty release; we are rolling it back.\"\n",
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    )
    .unwrap();
}

fn opened_at(records: &[Record]) -> DateTime<Utc> {
    records
        .iter()
        .find(|r| matches!(r.event, Event::IncidentOpened { .. }))
        .map(|r| r.at)
        .expect("an incident")
}

fn delivered(records: &[Record]) -> Vec<&Record> {
    records
        .iter()
        .filter(|r| matches!(r.event, Event::DeliverySucceeded { .. }))
        .collect()
}

fn secs(d: chrono::TimeDelta) -> f64 {
    d.num_microseconds().unwrap_or(0) as f64 / 1e6
}

/// A minimal SMTP sink on its own runtime: accepts every message, counts them. The
/// test peer (mailin-embedded) serves eight sessions at a time and answers slowly, which
/// would measure it rather than forewarn.
struct Sink {
    port: u16,
    messages: Arc<std::sync::atomic::AtomicUsize>,
}

fn smtp_sink() -> Sink {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let messages = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = messages.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap().port()).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                stream.set_nodelay(true).unwrap();
                let count = count.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r).lines();
                    w.write_all(b"220 sink ESMTP\r\n").await.ok()?;
                    let mut in_data = false;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let reply: &[u8] = if in_data {
                            if line != "." {
                                continue;
                            }
                            in_data = false;
                            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            b"250 queued\r\n"
                        } else {
                            match line.get(..4).map(|c| c.to_ascii_uppercase()).as_deref() {
                                Some("EHLO") => b"250-sink\r\n250 8BITMIME\r\n",
                                Some("DATA") => {
                                    in_data = true;
                                    b"354 go on\r\n"
                                }
                                Some("QUIT") => {
                                    let _ = w.write_all(b"221 bye\r\n").await;
                                    return Some(());
                                }
                                _ => b"250 ok\r\n",
                            }
                        };
                        w.write_all(reply).await.ok()?;
                    }
                    Some(())
                });
            }
        });
    });
    Sink {
        port: rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        messages,
    }
}

fn emails(n: usize, concurrency: usize) {
    let smtp = smtp_sink();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{SITE}[email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"none\"\n[notify]\nconcurrency = {concurrency}\n[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nkind = \"tcp\"\naddress = \"127.0.0.1:{}\"\nevery = \"1h\"\n",
        smtp.port, smtp.port
    );
    let subscribers: String = (0..n)
        .map(|i| format!("[[email]]\naddress = \"subscriber{i}@customer.example\"\n"))
        .collect();
    write(dir.path(), &config, &subscribers);
    let records = run_daemon(
        dir.path(),
        declare_incident,
        |r| delivered(r).len() >= n,
        Duration::from_secs(600),
    );
    let t0 = opened_at(&records);
    let last = delivered(&records).last().unwrap().at;
    let received = smtp.messages.load(std::sync::atomic::Ordering::Relaxed);
    let took = secs(last - t0);
    println!(
        "{n} email subscribers, concurrency {concurrency}: all {received} accepted by the SMTP server {took:.2} s after the incident opened ({:.0} emails/s)",
        n as f64 / took
    );
}

fn webhooks(n: usize) {
    let (addr, arrivals) = receiver();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{SITE}[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nkind = \"tcp\"\naddress = \"{addr}\"\nevery = \"1h\"\n"
    );
    let subscribers: String = (0..n)
        .map(|i| {
            format!(
                "[[webhook]]\nurl = \"http://{addr}/hook/{i}\"\nsecret_env = \"BENCH_SECRET\"\n"
            )
        })
        .collect();
    write(dir.path(), &config, &subscribers);
    let records = run_daemon(
        dir.path(),
        declare_incident,
        |r| delivered(r).len() >= n,
        Duration::from_secs(300),
    );
    let t0 = opened_at(&records);
    let last = delivered(&records).last().unwrap().at;
    let took = secs(last - t0);
    println!(
        "{n} webhook endpoints: all {} answered {took:.2} s after the incident opened ({:.0} webhooks/s)",
        arrivals.lock().unwrap().count,
        n as f64 / took
    );
}

fn first_webhook(runs: usize) {
    let mut lat = Vec::new();
    for _ in 0..runs {
        let (addr, arrivals) = receiver();
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = format!(
            "{SITE}[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"http://{closed}/health\"\nevery = \"200ms\"\ntimeout = \"150ms\"\nfail_after = 3\n"
        );
        let subscribers =
            format!("[[webhook]]\nurl = \"http://{addr}/hook\"\nsecret_env = \"BENCH_SECRET\"\n");
        write(dir.path(), &config, &subscribers);
        let records = run_daemon(
            dir.path(),
            |_| {},
            |r| !delivered(r).is_empty(),
            Duration::from_secs(60),
        );
        let confirmed = records
            .iter()
            .find(|r| matches!(r.event, Event::ComponentStatusChanged { .. }))
            .unwrap()
            .at;
        let first: DateTime<Utc> = arrivals.lock().unwrap().first.unwrap().into();
        lat.push(secs(first - confirmed) * 1000.0);
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "confirming failed probe to first webhook received: min {:.1} ms, median {:.1} ms, max {:.1} ms over {runs} runs",
        lat[0],
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
}

fn main() {
    let _ = rlimit::increase_nofile_limit(10_000);
    // SAFETY: set before any thread is started.
    unsafe { std::env::set_var("BENCH_SECRET", SECRET) };
    // `NOTIFY_BENCH=emails:500` runs one part, smaller.
    let only = std::env::var("NOTIFY_BENCH").unwrap_or_default();
    let (part, n) = only.split_once(':').unwrap_or((&only, ""));
    let n: Option<usize> = n.parse().ok();
    if part.is_empty() || part == "first" {
        first_webhook(10);
    }
    if part.is_empty() || part == "webhooks" {
        webhooks(n.unwrap_or(1000));
    }
    if part.is_empty() || part == "emails" {
        emails(n.unwrap_or(10_000), 32);
        emails(n.unwrap_or(10_000), 64);
    }
}
