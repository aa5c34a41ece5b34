//! Three forewarn nodes on a three-server NATS cluster, for the cluster tests: the
//! shared configuration folder, each node's state, site and log, who leads, and what
//! the subscribers' webhooks were told.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::nats::{NatsCluster, require_server};
use super::peers::{Received, WebhookPeer};
use super::{Behaviour, Peer, Running, background_runtime, daemon_command, daemon_log, http_peer};

/// What every cluster test stands on: one such test at a time, three NATS servers, the
/// service the nodes check, a receiver for webhooks and the shared configuration
/// folder with `hooks` webhook subscribers. Fields drop in order: the servers before
/// the folder they keep their files in, the turn last.
pub struct Stage {
    pub nats: NatsCluster,
    pub service: Peer,
    pub peer: WebhookPeer,
    pub rt: tokio::runtime::Runtime,
    pub config: PathBuf,
    pub dir: tempfile::TempDir,
    pub turn: std::sync::MutexGuard<'static, ()>,
}

impl Stage {
    /// None when no `nats-server` is to be had (and none is required).
    pub fn new(service: Behaviour, hooks: usize) -> Option<Stage> {
        let turn = serial();
        let binary = require_server()?;
        let rt = background_runtime();
        let dir = tempfile::tempdir().expect("tempdir");
        let nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
        let service = rt.block_on(http_peer(service));
        let peer = rt.block_on(WebhookPeer::start(Some(SECRET)));
        let config = config(dir.path(), &nats, &service.url("/health"), &peer, hooks);
        Some(Stage {
            nats,
            service,
            peer,
            rt,
            config,
            dir,
            turn,
        })
    }
}

/// Wait until the three nodes have joined and one of them leads.
pub fn wait_for_one_leader(dir: &Path) {
    wait_for(
        dir,
        Duration::from_secs(45),
        "the three nodes to join and one to lead",
        || {
            (0..3).all(|i| daemon_log(&state(dir, i)).contains("joined the cluster"))
                && leaders(dir, &[0, 1, 2]).len() == 1
        },
    );
}

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const SECRET_VAR: &str = "TEST_CLUSTER_SECRET";
/// The key every node signs subscribers' links and heartbeat addresses with.
pub const SIGNING_KEY: &str = "a-shared-signing-key-of-at-least-32-characters";
pub const LOCATIONS: [(&str, &str); 3] = [
    ("fra-1", "Frankfurt"),
    ("iad-1", "Virginia"),
    ("sin-1", "Singapore"),
];

/// The shared configuration folder: one HTTP check on `target`, `[cluster]` on the
/// servers with a 2-second lease, and `hooks` webhook subscribers on the peer.
pub fn config(
    dir: &Path,
    nats: &NatsCluster,
    target: &str,
    peer: &WebhookPeer,
    hooks: usize,
) -> PathBuf {
    let config_dir = dir.join("config");
    std::fs::create_dir_all(&config_dir).expect("mkdir");
    let path = config_dir.join("forewarn.toml");
    std::fs::write(
        &path,
        format!(
            r#"{site}
[[component]]
id = "api"
name = "Public API"

[component.check]
kind = "http"
url = "{target}"
every = "200ms"
timeout = "150ms"
fail_after = 2
recover_after = 2

[[component]]
id = "nightly"
name = "Nightly export"

[component.check]
kind = "heartbeat"
expect_every = "1h"

[notify]
concurrency = 16

[cluster]
nats = {nats}
lease = "2s"
"#,
            site = super::SITE,
            nats = nats.toml_urls()
        ),
    )
    .expect("write config");
    let mut subscribers = String::new();
    for i in 0..hooks {
        subscribers.push_str(&format!(
            "[[webhook]]\nurl = \"{}\"\nsecret_env = \"{SECRET_VAR}\"\n\n",
            peer.url(&format!("/hook/{i}"))
        ));
    }
    std::fs::write(config_dir.join("subscribers.toml"), subscribers).expect("write subscribers");
    path
}

/// Operator alerts of the shared configuration go to the peer's `/ops`.
pub fn with_operator(config: &Path, peer: &WebhookPeer) {
    let subscribers = config.with_file_name("subscribers.toml");
    let mut text = std::fs::read_to_string(&subscribers).expect("subscribers");
    text.push_str(&format!(
        "[[operator]]\nurl = \"{}\"\nsecret_env = \"{SECRET_VAR}\"\n",
        peer.url("/ops")
    ));
    std::fs::write(&subscribers, text).expect("write subscribers");
}

/// Node `i`: its own state folder, site and log under `dir/<name>/`.
pub fn start_node(dir: &Path, config: &Path, i: usize) -> Running {
    start_node_with(dir, config, i, &[])
}

/// Node `i` with more flags (its source address).
pub fn start_node_with(dir: &Path, config: &Path, i: usize, more: &[&str]) -> Running {
    let (name, location) = LOCATIONS[i];
    let state = dir.join(name).join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    Running::new(
        daemon_command(config, &state)
            .args(["--node", name, "--location", location])
            .args(more)
            .env(SECRET_VAR, SECRET)
            .env("FOREWARN_SECRET", SIGNING_KEY)
            .spawn()
            .expect("start a node"),
    )
}

/// Where node `i` probes from: a loopback address of its own.
pub fn source(i: usize) -> std::net::IpAddr {
    std::net::IpAddr::from([127, 0, 0, 2 + i as u8])
}

pub fn state(dir: &Path, i: usize) -> PathBuf {
    dir.join(LOCATIONS[i].0).join("state")
}

pub fn site_page(dir: &Path, i: usize) -> String {
    std::fs::read_to_string(dir.join(LOCATIONS[i].0).join("site/index.html")).unwrap_or_default()
}

/// The nodes whose logs say they lead now (the last word of each log about leading).
pub fn leaders(dir: &Path, nodes: &[usize]) -> Vec<usize> {
    nodes
        .iter()
        .copied()
        .filter(|&i| {
            let log = daemon_log(&state(dir, i));
            let led = log.rfind("leading: deciding and delivering");
            let stopped = log.rfind("no longer leading");
            led.is_some() && stopped < led
        })
        .collect()
}

/// Wait for `cond`, at most `limit`; on time out, fail with every node's log.
pub fn wait_for(dir: &Path, limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !cond() {
        if std::time::Instant::now() >= deadline {
            let logs: Vec<String> = (0..3)
                .map(|i| format!("--- {}:\n{}", LOCATIONS[i].0, daemon_log(&state(dir, i))))
                .collect();
            panic!(
                "timed out after {limit:?} waiting for {what}\n{}",
                logs.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every node's log, without the lines about each delivery.
pub fn logs(dir: &Path) -> String {
    (0..3)
        .map(|i| {
            let log = daemon_log(&state(dir, i));
            let kept: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains("notice delivered") && !l.contains("Healthcheck"))
                .collect();
            format!("--- {}:\n{}", LOCATIONS[i].0, kept.join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn kind(r: &Received) -> Option<String> {
    r.json
        .as_ref()
        .and_then(|j| j["type"].as_str())
        .map(str::to_owned)
}

/// Per customer's webhook (`/hook/<n>`): the notices of `kind` received, as their
/// webhook ids.
pub fn told(received: &[Received], of: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in received
        .iter()
        .filter(|r| r.path.starts_with("/hook/") && kind(r).as_deref() == Some(of))
    {
        out.entry(r.path.clone())
            .or_default()
            .push(r.webhook_id.clone().unwrap_or_default());
    }
    out
}

/// A copy of the shared configuration for node `i`, reaching NATS only through `addr`.
pub fn through(config: &Path, nats: &NatsCluster, i: usize, addr: std::net::SocketAddr) -> PathBuf {
    let text = std::fs::read_to_string(config).expect("config");
    let text = text.replace(
        &format!("nats = {}", nats.toml_urls()),
        &format!("nats = [\"nats://{addr}\"]"),
    );
    let path = config.with_file_name(format!("forewarn-{}.toml", LOCATIONS[i].0));
    std::fs::write(&path, text).expect("write node config");
    path
}

/// One cluster test at a time: each runs three NATS servers and three nodes.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The incident references the webhooks received name.
pub fn incident_references(received: &[Received]) -> std::collections::BTreeSet<String> {
    received
        .iter()
        .filter_map(|r| {
            r.json.as_ref()?["data"]["incident"]["reference"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

/// `forewarn cluster status --json` with the shared configuration (Null when it
/// printed nothing readable).
pub fn cluster_status(config: &Path) -> serde_json::Value {
    let out = super::run_bounded(
        super::forewarn()
            .args(["--config"])
            .arg(config)
            .args(["cluster", "status", "--json"]),
        Duration::from_secs(30),
    );
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}
