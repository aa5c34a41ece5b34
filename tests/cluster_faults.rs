//! Where the cluster's nodes disagree or fail partway: one location failing alone is
//! for operators (and leaves the uptime as it was), two make one incident naming them;
//! a leader cut off from NATS, or frozen, stops acting before another leads, and no
//! subscriber is told anything twice under two ids.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::cut::CutProxy;

use common::nodes::*;
use common::peers::Received;
use common::{Behaviour, Running, daemon_log, switchable};

#[test]
fn one_location_failing_tells_operators_and_two_make_one_incident_naming_them() {
    let failing = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let Some(stage) = Stage::new(Behaviour::FailFrom(failing.clone()), 3) else {
        return;
    };
    let (dir, peer, config) = (stage.dir.path(), &stage.peer, &stage.config);
    with_operator(config, peer);
    let nodes: Vec<Running> = (0..3)
        .map(|i| {
            let from = source(i).to_string();
            start_node_with(dir, config, i, &["--probe-from", &from])
        })
        .collect();
    wait_for_one_leader(dir);
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
    // (Saved again after the alert: the file's time changes; compared with itself, as
    // the test's clock may be shifted.)
    let saved = state(dir, 0).join("rollups/current.json");
    let modified = || std::fs::metadata(&saved).and_then(|m| m.modified()).ok();
    let at_alert = modified();
    wait_for(
        dir,
        Duration::from_secs(45),
        "Frankfurt's rollups saved with its failures",
        || modified().is_some_and(|t| Some(t) != at_alert),
    );
    let built = dir.join("built");
    let out = common::run_bounded(
        common::forewarn()
            .args(["--config"])
            .arg(config)
            .args(["--state"])
            .arg(state(dir, 0))
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

#[test]
fn a_leader_cut_off_or_frozen_stops_and_nothing_is_told_twice_under_two_ids() {
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let Some(stage) = Stage::new(behaviour, 3) else {
        return;
    };
    let (dir, peer, shared) = (stage.dir.path(), &stage.peer, &stage.config);
    let proxies: Vec<CutProxy> = (0..3)
        .map(|_| stage.rt.block_on(CutProxy::start(stage.nats.addrs())))
        .collect();
    let mut nodes: Vec<Option<Running>> = (0..3)
        .map(|i| {
            let config = through(shared, &stage.nats, i, proxies[i].addr);
            Some(start_node(dir, &config, i))
        })
        .collect();
    wait_for_one_leader(dir);
    let first = leaders(dir, &[0, 1, 2])[0];

    // The leader's link to NATS is cut: it stops leading, another takes over, and the
    // outage that begins meanwhile is told once.
    proxies[first].cut();
    wait_for(
        dir,
        Duration::from_secs(20),
        "the cut-off leader to stop",
        || daemon_log(&state(dir, first)).contains("no longer leading"),
    );
    let others: Vec<usize> = (0..3).filter(|&i| i != first).collect();
    wait_for(dir, Duration::from_secs(20), "another node to lead", || {
        leaders(dir, &others).len() == 1
    });
    *target.lock().unwrap() = Behaviour::Status(503);
    peer.wait_until(
        Duration::from_secs(30),
        "the outage told to all three",
        |r| told(r, "incident.opened").len() == 3,
    );
    proxies[first].mend();

    // The new leader is frozen (SIGSTOP) past its lease: the third leads; woken, the
    // frozen one appends nothing and follows.
    let second = leaders(dir, &others)[0];
    let pid = nodes[second].as_ref().expect("running").pid();
    common::signal_pid(pid, libc::SIGSTOP);
    let third = (0..3)
        .find(|&i| i != second && i != first)
        .expect("a third");
    wait_for(
        dir,
        Duration::from_secs(20),
        "a node to lead while the leader is frozen",
        || leaders(dir, &[first, third]).len() == 1,
    );
    *target.lock().unwrap() = Behaviour::Ok("ok");
    peer.wait_until(
        Duration::from_secs(30),
        "the recovery told to all three",
        |r| told(r, "incident.resolved").len() == 3,
    );
    common::signal_pid(pid, libc::SIGCONT);
    wait_for(
        dir,
        Duration::from_secs(20),
        "the woken node to follow",
        || daemon_log(&state(dir, second)).contains("no longer leading"),
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
                logs(dir)
            );
        }
    }
    let incidents = incident_references(&received);
    assert_eq!(incidents.len(), 1, "one incident: {incidents:?}");
    // One leader in the end, and the journal holds one opening and one resolution.
    let out = common::run_bounded(
        common::forewarn()
            .args(["--config"])
            .arg(shared)
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

#[test]
fn a_quorum_no_failure_can_reach_declares_nothing_and_tells_operators_why() {
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let Some(stage) = Stage::new(behaviour, 2) else {
        return;
    };
    let (dir, peer, config) = (stage.dir.path(), &stage.peer, &stage.config);
    with_operator(config, peer);
    // Four locations must agree; three are running.
    let mut text = std::fs::read_to_string(config).expect("config");
    text.push_str("quorum = 4\n");
    std::fs::write(config, text).expect("write config");
    let nodes: Vec<Running> = (0..3).map(|i| start_node(dir, config, i)).collect();
    wait_for_one_leader(dir);
    std::thread::sleep(Duration::from_secs(2));

    *target.lock().unwrap() = Behaviour::Status(503);
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
        alert
            .body
            .contains("only 3 of the 4 locations the quorum asks for are heard from"),
        "{}",
        alert.body
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        told(&peer.received(), "incident.opened").is_empty(),
        "an outage declared without the quorum"
    );
    assert!(
        (0..3).all(|i| !site_page(dir, i).contains("major outage")),
        "a page shows an outage"
    );
    for n in nodes {
        n.stop();
    }
}

#[test]
fn the_leader_records_only_a_subscribers_own_requests_passed_on_by_another_node() {
    let Some(stage) = Stage::new(Behaviour::Ok("ok"), 1) else {
        return;
    };
    let (dir, config, nats, rt) = (stage.dir.path(), &stage.config, &stage.nats, &stage.rt);
    let node = start_node(dir, config, 0);
    wait_for(dir, Duration::from_secs(30), "the node to lead", || {
        leaders(dir, &[0]).len() == 1
    });
    // What a node's front passes on, and what a node (or anyone else on NATS) must
    // not: a component's status.
    let ask = |event: serde_json::Value| -> serde_json::Value {
        rt.block_on(async {
            let client = async_nats::connect(nats.urls()[0].as_str())
                .await
                .expect("connect");
            let proposal = serde_json::json!({ "events": [event] });
            let answer = tokio::time::timeout(
                Duration::from_secs(10),
                client.request("forewarn.propose", proposal.to_string().into()),
            )
            .await
            .expect("answered in time")
            .expect("answered");
            serde_json::from_slice(&answer.payload).expect("an answer")
        })
    };
    // The shared journal's records, once the new leader has recorded what it read.
    let records = || -> u64 {
        let status = cluster_status(config);
        status["records"]
            .as_u64()
            .unwrap_or_else(|| panic!("no records in {status}"))
    };
    let mut before = records();
    wait_for(dir, Duration::from_secs(20), "a quiet journal", || {
        std::thread::sleep(Duration::from_millis(500));
        let now = records();
        std::mem::replace(&mut before, now) == now
    });
    let now = chrono::Utc::now().to_rfc3339();
    let refused = ask(serde_json::json!({
        "at": now, "type": "component.status_changed", "component": "api",
        "from": "operational", "to": "major_outage", "reason": "HTTP 503",
    }));
    assert_eq!(
        refused["problem"], "only a subscriber's own requests are passed on",
        "{refused}"
    );
    assert_eq!(records(), before, "nothing recorded");
    let taken = ask(serde_json::json!({
        "at": now, "type": "subscriber.confirmed", "key": "email:someone@example.test",
        "channel": "email", "address": "someone@example.test", "source": "page",
    }));
    assert!(taken.get("problem").is_none(), "{taken}");
    assert_eq!(records(), before + 1, "the sign-up recorded");
    node.stop();
}
