//! Three forewarn nodes on a real three-server NATS JetStream cluster (127.0.0.1 and
//! ephemeral ports), sharing one configuration folder, each given its name and
//! location on the command line. One leads: an outage is one incident, each subscriber
//! is told once (webhooks verified with the `standardwebhooks` crate), and every node's
//! site shows it. The leader killed in the middle of a fan-out to 200 webhooks: another
//! leads within the lease's time and a few seconds, every subscriber gets every notice,
//! and a notice told twice is told with the same id.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cut::CutProxy;
use common::nats::{NatsCluster, require_server};
use common::peers::{Received, Reply, WebhookPeer};
use common::{
    Behaviour, Running, background_runtime, daemon_command, daemon_log, http_peer, switchable,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_VAR: &str = "TEST_CLUSTER_SECRET";
/// The key every node signs subscribers' links and heartbeat addresses with.
const SIGNING_KEY: &str = "a-shared-signing-key-of-at-least-32-characters";
const LOCATIONS: [(&str, &str); 3] = [
    ("fra-1", "Frankfurt"),
    ("iad-1", "Virginia"),
    ("sin-1", "Singapore"),
];

/// The shared configuration folder: one HTTP check on `target`, `[cluster]` on the
/// servers with a 2-second lease, and `hooks` webhook subscribers on the peer.
fn config(
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
            site = common::SITE,
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

/// Node `i`: its own state folder, site and log under `dir/<name>/`.
fn start_node(dir: &Path, config: &Path, i: usize) -> Running {
    start_node_with(dir, config, i, &[])
}

/// Node `i` with more flags (its source address).
fn start_node_with(dir: &Path, config: &Path, i: usize, more: &[&str]) -> Running {
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
fn source(i: usize) -> std::net::IpAddr {
    std::net::IpAddr::from([127, 0, 0, 2 + i as u8])
}

fn state(dir: &Path, i: usize) -> PathBuf {
    dir.join(LOCATIONS[i].0).join("state")
}

fn site_page(dir: &Path, i: usize) -> String {
    std::fs::read_to_string(dir.join(LOCATIONS[i].0).join("site/index.html")).unwrap_or_default()
}

/// The nodes whose logs say they lead now (the last word of each log about leading).
fn leaders(dir: &Path, nodes: &[usize]) -> Vec<usize> {
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
fn wait_for(dir: &Path, limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
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
fn logs(dir: &Path) -> String {
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

fn kind(r: &Received) -> Option<String> {
    r.json
        .as_ref()
        .and_then(|j| j["type"].as_str())
        .map(str::to_owned)
}

/// Per customer's webhook (`/hook/<n>`): the notices of `kind` received, as their
/// webhook ids.
fn told(received: &[Received], of: &str) -> BTreeMap<String, Vec<String>> {
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

#[test]
fn one_outage_is_one_incident_told_once_and_every_node_shows_it() {
    let _serial = serial();
    let Some(binary) = require_server() else {
        return;
    };
    let rt = background_runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let service = rt.block_on(http_peer(behaviour));
    let peer = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let config = config(dir.path(), &nats, &service.url("/health"), &peer, 3);
    let ports: Vec<u16> = (0..3).map(|_| common::peers::free_port()).collect();
    let nodes: Vec<Running> = (0..3)
        .map(|i| {
            let listen = format!("127.0.0.1:{}", ports[i]);
            start_node_with(dir.path(), &config, i, &["--listen", &listen])
        })
        .collect();

    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "one node to lead",
        || leaders(dir.path(), &[0, 1, 2]).len() == 1,
    );
    let leader = leaders(dir.path(), &[0, 1, 2])[0];
    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "every node to build its site",
        || (0..3).all(|i| site_page(dir.path(), i).contains("Public API")),
    );
    // Each node's /metrics says which it is and whether it leads.
    for (i, port) in ports.iter().enumerate() {
        let scrape = rt
            .block_on(async {
                reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
                    .await?
                    .text()
                    .await
            })
            .expect("metrics");
        let leads = if i == leader { 1 } else { 0 };
        assert!(
            scrape.contains(&format!("forewarn_cluster_leader {leads}\n")),
            "{scrape}"
        );
        assert!(
            scrape.contains(&format!(
                "node=\"{}\",location=\"{}\"",
                LOCATIONS[i].0, LOCATIONS[i].1
            )),
            "{scrape}"
        );
    }
    // `forewarn cluster status` lists the three, and the leader.
    let mut status = serde_json::Value::Null;
    wait_for(
        dir.path(),
        Duration::from_secs(20),
        "the status to list three nodes",
        || {
            let out = common::run_bounded(
                common::forewarn()
                    .args(["--config"])
                    .arg(&config)
                    .args(["cluster", "status", "--json"]),
                Duration::from_secs(30),
            );
            status = serde_json::from_slice(&out.stdout).unwrap_or_default();
            status["nodes"].as_array().is_some_and(|n| n.len() == 3)
        },
    );
    assert_eq!(status["leader"]["node"], LOCATIONS[leader].0, "{status}");
    let leading: Vec<&serde_json::Value> = status["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["leading"] == true)
        .collect();
    assert_eq!(leading.len(), 1, "{status}");
    assert_eq!(leading[0]["location"], LOCATIONS[leader].1);

    // A sign-up and a heartbeat report reaching a node that does not lead are passed
    // to the leader: the sign-up is recorded and its confirmation sent, the report
    // counted.
    let follower = (0..3).find(|&i| i != leader).expect("a follower");
    let http = reqwest::Client::new();
    let signed_up = rt
        .block_on(
            http.post(format!("http://127.0.0.1:{}/subscribe", ports[follower]))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("email=new%40customer.example&components=api")
                .send(),
        )
        .expect("sign-up answered");
    assert_eq!(
        signed_up.status(),
        200,
        "the follower's front takes the sign-up"
    );
    let mail = dir.path().join(LOCATIONS[leader].0).join("state/mail");
    wait_for(
        dir.path(),
        Duration::from_secs(20),
        "the leader to send the confirmation",
        || {
            std::fs::read_dir(&mail).is_ok_and(|entries| {
                entries.flatten().any(|e| {
                    std::fs::read_to_string(e.path())
                        .is_ok_and(|m| m.contains("new@customer.example"))
                })
            })
        },
    );
    let hb = common::run_bounded(
        common::forewarn()
            .args(["--config"])
            .arg(&config)
            .arg("--state")
            .arg(state(dir.path(), follower))
            .args(["heartbeat-url", "nightly"])
            .env("FOREWARN_SECRET", SIGNING_KEY),
        Duration::from_secs(20),
    );
    let url = common::text(&hb.stdout);
    let path = url
        .lines()
        .next()
        .and_then(|l| l.find("/heartbeat/").map(|i| l[i..].trim().to_owned()))
        .unwrap_or_else(|| panic!("a heartbeat address: {url}"));
    let beat = rt
        .block_on(
            http.get(format!("http://127.0.0.1:{}{path}", ports[follower]))
                .send(),
        )
        .expect("heartbeat answered");
    assert_eq!(beat.status(), 200);
    wait_for(
        dir.path(),
        Duration::from_secs(20),
        "the leader to count the report",
        || daemon_log(&state(dir.path(), leader)).contains("heartbeat component=nightly"),
    );

    *target.lock().unwrap() = Behaviour::Status(503);
    let got = peer.wait_until(
        Duration::from_secs(30),
        "the outage told to all three",
        |r| told(r, "incident.opened").len() == 3,
    );
    assert!(got.iter().all(|r| r.verified), "every webhook is signed");
    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "every node's site to show the incident",
        || (0..3).all(|i| site_page(dir.path(), i).contains("major outage")),
    );
    // Time for a second leader or a second incident to show itself, if there were one.
    std::thread::sleep(Duration::from_secs(2));
    let opened = told(&peer.received(), "incident.opened");
    for (path, ids) in &opened {
        assert_eq!(
            ids.len(),
            1,
            "{path} was told of the outage {} times",
            ids.len()
        );
    }
    assert_eq!(leaders(dir.path(), &[0, 1, 2]).len(), 1);

    *target.lock().unwrap() = Behaviour::Ok("ok");
    peer.wait_until(
        Duration::from_secs(30),
        "the recovery told to all three",
        |r| told(r, "incident.resolved").len() == 3,
    );
    std::thread::sleep(Duration::from_secs(1));
    for (path, ids) in told(&peer.received(), "incident.resolved") {
        assert_eq!(
            ids.len(),
            1,
            "{path} was told of the recovery {} times",
            ids.len()
        );
    }
    let incidents: BTreeSet<String> = peer
        .received()
        .iter()
        .filter_map(|r| {
            r.json.as_ref()?["data"]["incident"]["reference"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(incidents.len(), 1, "one incident: {incidents:?}");
    for n in nodes {
        n.stop();
    }
}

#[test]
fn the_leader_killed_during_a_fan_out_another_leads_and_every_subscriber_is_told() {
    let _serial = serial();
    let Some(binary) = require_server() else {
        return;
    };
    const HOOKS: usize = 200;
    let rt = background_runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let service = rt.block_on(http_peer(behaviour));
    let peer = rt.block_on(WebhookPeer::start(Some(SECRET)));
    // Slow receivers, so the fan-out is still under way when the leader dies.
    for i in 0..HOOKS {
        peer.script(
            &format!("/hook/{i}"),
            vec![Reply::Delay(Duration::from_millis(300))],
        );
    }
    let config = config(dir.path(), &nats, &service.url("/health"), &peer, HOOKS);
    let mut nodes: Vec<Option<Running>> = (0..3)
        .map(|i| Some(start_node(dir.path(), &config, i)))
        .collect();
    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "one node to lead",
        || leaders(dir.path(), &[0, 1, 2]).len() == 1,
    );
    let first = leaders(dir.path(), &[0, 1, 2])[0];

    *target.lock().unwrap() = Behaviour::Status(503);
    peer.wait_until(Duration::from_secs(30), "the fan-out to begin", |r| {
        told(r, "incident.opened").len() >= 20
    });
    let killed_at = std::time::Instant::now();
    nodes[first].take().expect("the leader").kill();
    let others: Vec<usize> = (0..3).filter(|&i| i != first).collect();
    wait_for(
        dir.path(),
        Duration::from_secs(15),
        "another node to lead",
        || leaders(dir.path(), &others).len() == 1,
    );
    let took_over = killed_at.elapsed();
    // Lease of 2 s, and a few seconds more.
    assert!(
        took_over < Duration::from_secs(10),
        "another node led after {took_over:?}"
    );

    let got = peer.wait_until(Duration::from_secs(60), "every subscriber told", |r| {
        told(r, "incident.opened").len() == HOOKS
    });
    assert!(got.iter().all(|r| r.verified));
    // A notice told twice (in flight when the leader died) keeps its id.
    for (path, ids) in told(&got, "incident.opened") {
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "{path} got the outage under {} ids",
            distinct.len()
        );
    }
    let repeated = told(&got, "incident.opened")
        .values()
        .filter(|ids| ids.len() > 1)
        .count();
    eprintln!(
        "took over after {took_over:?}; {repeated} of {HOOKS} subscribers were told twice, with the same id"
    );
    for n in nodes.into_iter().flatten() {
        n.stop();
    }
}

#[test]
fn one_location_failing_tells_operators_and_two_make_one_incident_naming_them() {
    let _serial = serial();
    let Some(binary) = require_server() else {
        return;
    };
    let rt = background_runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let failing = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let service = rt.block_on(http_peer(Behaviour::FailFrom(failing.clone())));
    let peer = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let config = config(dir.path(), &nats, &service.url("/health"), &peer, 3);
    let subscribers = config.with_file_name("subscribers.toml");
    let mut text = std::fs::read_to_string(&subscribers).expect("subscribers");
    text.push_str(&format!(
        "[[operator]]\nurl = \"{}\"\nsecret_env = \"{SECRET_VAR}\"\n",
        peer.url("/ops")
    ));
    std::fs::write(&subscribers, text).expect("write subscribers");
    let nodes: Vec<Running> = (0..3)
        .map(|i| {
            let from = source(i).to_string();
            start_node_with(dir.path(), &config, i, &["--probe-from", &from])
        })
        .collect();
    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "one node to lead",
        || leaders(dir.path(), &[0, 1, 2]).len() == 1,
    );
    // Every location heard from before one fails.
    std::thread::sleep(Duration::from_secs(2));

    // Frankfurt's network fails: operators hear where; customers hear nothing.
    failing.lock().unwrap().push(source(0));
    let got = peer.wait_until(Duration::from_secs(30), "an operator alert", |r| {
        r.iter()
            .any(|r| r.path == "/ops" && kind(r).as_deref() == Some("operator.alert"))
    });
    let alert = got
        .iter()
        .find(|r| r.path == "/ops" && kind(r).as_deref() == Some("operator.alert"))
        .expect("the alert");
    assert!(alert.verified);
    assert!(
        alert.body.contains("Public API fails from Frankfurt only"),
        "{}",
        alert.body
    );
    std::thread::sleep(Duration::from_secs(2));
    let received = peer.received();
    assert!(
        told(&received, "incident.opened").is_empty(),
        "one location failing opened an incident"
    );
    let alerts = received
        .iter()
        .filter(|r| r.path == "/ops" && kind(r).as_deref() == Some("operator.alert"))
        .count();
    assert_eq!(alerts, 1, "one operator alert");
    // Frankfurt's own record of its failures does not lower the uptime customers read
    // (once its rollups are saved with them, at most 30 seconds later).
    let alerted = std::time::SystemTime::now();
    let saved = state(dir.path(), 0).join("rollups/current.json");
    wait_for(
        dir.path(),
        Duration::from_secs(45),
        "Frankfurt's rollups saved with its failures",
        || {
            std::fs::metadata(&saved)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t > alerted)
        },
    );
    let built = dir.path().join("built");
    let out = common::run_bounded(
        common::forewarn()
            .args(["--config"])
            .arg(&config)
            .args(["--state"])
            .arg(state(dir.path(), 0))
            .args(["build", "--out"])
            .arg(&built),
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", common::text(&out.stderr));
    let page = std::fs::read_to_string(built.join("components/api.html")).expect("api page");
    assert!(page.contains("100% of checks passed"), "{page}");

    // Virginia's too: two of three agree.
    failing.lock().unwrap().push(source(1));

    let got = peer.wait_until(
        Duration::from_secs(30),
        "the outage told to all three",
        |r| told(r, "incident.opened").len() == 3,
    );
    let opened: Vec<&Received> = got
        .iter()
        .filter(|r| r.path.starts_with("/hook/") && kind(r).as_deref() == Some("incident.opened"))
        .collect();
    for r in &opened {
        assert!(r.verified);
        assert!(
            r.body
                .contains("from 2 of 3 locations (Frankfurt and Virginia)"),
            "{}",
            r.body
        );
    }
    std::thread::sleep(Duration::from_secs(2));
    for (path, ids) in told(&peer.received(), "incident.opened") {
        assert_eq!(ids.len(), 1, "{path} was told {} times", ids.len());
    }

    failing.lock().unwrap().clear();
    peer.wait_until(
        Duration::from_secs(30),
        "the recovery told to all three",
        |r| told(r, "incident.resolved").len() == 3,
    );
    for n in nodes {
        n.stop();
    }
}

/// A copy of the shared configuration for node `i`, reaching NATS only through `addr`.
fn through(config: &Path, nats: &NatsCluster, i: usize, addr: std::net::SocketAddr) -> PathBuf {
    let text = std::fs::read_to_string(config).expect("config");
    let text = text.replace(
        &format!("nats = {}", nats.toml_urls()),
        &format!("nats = [\"nats://{addr}\"]"),
    );
    let path = config.with_file_name(format!("forewarn-{}.toml", LOCATIONS[i].0));
    std::fs::write(&path, text).expect("write node config");
    path
}

#[test]
fn a_leader_cut_off_or_frozen_stops_and_nothing_is_told_twice_under_two_ids() {
    let _serial = serial();
    let Some(binary) = require_server() else {
        return;
    };
    let rt = background_runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let service = rt.block_on(http_peer(behaviour));
    let peer = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let shared = config(dir.path(), &nats, &service.url("/health"), &peer, 3);
    let proxies: Vec<CutProxy> = (0..3)
        .map(|_| rt.block_on(CutProxy::start(nats.addrs())))
        .collect();
    let mut nodes: Vec<Option<Running>> = (0..3)
        .map(|i| {
            let config = through(&shared, &nats, i, proxies[i].addr);
            Some(start_node(dir.path(), &config, i))
        })
        .collect();
    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "one node to lead",
        || leaders(dir.path(), &[0, 1, 2]).len() == 1,
    );
    let first = leaders(dir.path(), &[0, 1, 2])[0];

    // The leader's link to NATS is cut: it stops leading, another takes over, and the
    // outage that begins meanwhile is told once.
    proxies[first].cut();
    wait_for(
        dir.path(),
        Duration::from_secs(20),
        "the cut-off leader to stop",
        || daemon_log(&state(dir.path(), first)).contains("no longer leading"),
    );
    let others: Vec<usize> = (0..3).filter(|&i| i != first).collect();
    wait_for(
        dir.path(),
        Duration::from_secs(20),
        "another node to lead",
        || leaders(dir.path(), &others).len() == 1,
    );
    *target.lock().unwrap() = Behaviour::Status(503);
    peer.wait_until(
        Duration::from_secs(30),
        "the outage told to all three",
        |r| told(r, "incident.opened").len() == 3,
    );
    proxies[first].mend();

    // The new leader is frozen (SIGSTOP) past its lease: the third leads; woken, the
    // frozen one appends nothing and follows.
    let second = leaders(dir.path(), &others)[0];
    let pid = nodes[second].as_ref().expect("running").pid();
    common::signal_pid(pid, libc::SIGSTOP);
    let third = (0..3)
        .find(|&i| i != second && i != first)
        .expect("a third");
    wait_for(
        dir.path(),
        Duration::from_secs(20),
        "a node to lead while the leader is frozen",
        || leaders(dir.path(), &[first, third]).len() == 1,
    );
    *target.lock().unwrap() = Behaviour::Ok("ok");
    peer.wait_until(
        Duration::from_secs(30),
        "the recovery told to all three",
        |r| told(r, "incident.resolved").len() == 3,
    );
    common::signal_pid(pid, libc::SIGCONT);
    wait_for(
        dir.path(),
        Duration::from_secs(20),
        "the woken node to follow",
        || daemon_log(&state(dir.path(), second)).contains("no longer leading"),
    );
    std::thread::sleep(Duration::from_secs(3));

    let received = peer.received();
    for of in ["incident.opened", "incident.resolved"] {
        for (path, ids) in told(&received, of) {
            let distinct: BTreeSet<&String> = ids.iter().collect();
            assert_eq!(
                distinct.len(),
                1,
                "{path} got {of} under {} ids\n{}",
                distinct.len(),
                logs(dir.path())
            );
        }
    }
    let incidents: BTreeSet<String> = received
        .iter()
        .filter_map(|r| {
            r.json.as_ref()?["data"]["incident"]["reference"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(incidents.len(), 1, "one incident: {incidents:?}");
    // One leader in the end, and the journal holds one opening and one resolution.
    let out = common::run_bounded(
        common::forewarn()
            .args(["--config"])
            .arg(&shared)
            .args(["status", "--json"]),
        Duration::from_secs(30),
    );
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", common::text(&out.stderr)));
    let incidents = status["view"]["incidents"]
        .as_object()
        .map_or(0, |m| m.len());
    assert_eq!(incidents, 1, "{status}");
    for n in nodes.iter_mut().filter_map(Option::take) {
        n.stop();
    }
}

/// One cluster test at a time: each runs three NATS servers and three nodes.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn one_nats_server_killed_everything_goes_on_and_it_catches_up_when_back() {
    let _serial = serial();
    let Some(binary) = require_server() else {
        return;
    };
    let rt = background_runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut nats = NatsCluster::start(&binary, &dir.path().join("nats"), 3);
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let service = rt.block_on(http_peer(behaviour));
    let peer = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let config = config(dir.path(), &nats, &service.url("/health"), &peer, 3);
    let nodes: Vec<Running> = (0..3).map(|i| start_node(dir.path(), &config, i)).collect();
    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "one node to lead",
        || leaders(dir.path(), &[0, 1, 2]).len() == 1,
    );

    nats.kill_server(0);
    *target.lock().unwrap() = Behaviour::Status(503);
    peer.wait_until(
        Duration::from_secs(45),
        "the outage told with a server gone",
        |r| told(r, "incident.opened").len() == 3,
    );
    wait_for(
        dir.path(),
        Duration::from_secs(30),
        "every node's site to show it",
        || (0..3).all(|i| site_page(dir.path(), i).contains("major outage")),
    );

    nats.start_server(0);
    nats.wait_ready(0);
    *target.lock().unwrap() = Behaviour::Ok("ok");
    peer.wait_until(Duration::from_secs(45), "the recovery told", |r| {
        told(r, "incident.resolved").len() == 3
    });
    wait_for(
        dir.path(),
        Duration::from_secs(45),
        "the returned server to catch up",
        || {
            let out = common::run_bounded(
                common::forewarn()
                    .args(["--config"])
                    .arg(&config)
                    .args(["cluster", "status", "--json"]),
                Duration::from_secs(30),
            );
            let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            status["copies"].as_array().is_some_and(|c| {
                c.len() == 2
                    && c.iter()
                        .all(|r| r["current"] == true && r["offline"] == false)
            })
        },
    );
    for (path, ids) in told(&peer.received(), "incident.opened") {
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "{path} got the outage under {} ids",
            distinct.len()
        );
    }
    for n in nodes {
        n.stop();
    }
}
