//! Three forewarn nodes on a real three-server NATS JetStream cluster (127.0.0.1 and
//! ephemeral ports), sharing one configuration folder, each given its name and
//! location on the command line. One leads: an outage is one incident, each subscriber
//! is told once (webhooks verified with the `standardwebhooks` crate), and every node's
//! site shows it. The leader killed in the middle of a fan-out to 200 webhooks: another
//! leads within the lease's time and a few seconds, every subscriber gets every notice,
//! and a notice told twice is told with the same id. One NATS server killed: everything
//! goes on, and it catches up when back.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::nodes::*;
use common::peers::Reply;
use common::{Behaviour, Running, daemon_log, switchable};

#[test]
fn one_outage_is_one_incident_told_once_and_every_node_shows_it() {
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let Some(stage) = Stage::new(behaviour, 3) else {
        return;
    };
    let (dir, peer, config) = (stage.dir.path(), &stage.peer, &stage.config);
    let ports: Vec<u16> = (0..3).map(|_| common::peers::free_port()).collect();
    let nodes: Vec<Running> = (0..3)
        .map(|i| {
            let listen = format!("127.0.0.1:{}", ports[i]);
            start_node_with(dir, config, i, &["--listen", &listen])
        })
        .collect();

    wait_for_one_leader(dir);
    let leader = leaders(dir, &[0, 1, 2])[0];
    wait_for(
        dir,
        Duration::from_secs(30),
        "every node to build its site",
        || (0..3).all(|i| site_page(dir, i).contains("Public API")),
    );
    // Each node's /metrics says which it is and whether it leads.
    for (i, port) in ports.iter().enumerate() {
        let scrape = stage
            .rt
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
        dir,
        Duration::from_secs(20),
        "the status to list three nodes, one leading",
        || {
            status = cluster_status(config);
            // Each node says where it stands every few seconds, and at once when it
            // begins or stops leading.
            status["nodes"]
                .as_array()
                .is_some_and(|n| n.len() == 3 && n.iter().any(|n| n["leading"] == true))
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
    let signed_up = stage
        .rt
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
    let mail = dir.join(LOCATIONS[leader].0).join("state/mail");
    wait_for(
        dir,
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
            .arg(config)
            .arg("--state")
            .arg(state(dir, follower))
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
    let beat = stage
        .rt
        .block_on(
            http.get(format!("http://127.0.0.1:{}{path}", ports[follower]))
                .send(),
        )
        .expect("heartbeat answered");
    assert_eq!(beat.status(), 200);
    wait_for(
        dir,
        Duration::from_secs(20),
        "the leader to count the report",
        || daemon_log(&state(dir, leader)).contains("heartbeat component=nightly"),
    );

    *target.lock().unwrap() = Behaviour::Status(503);
    let got = peer.wait_until(
        Duration::from_secs(30),
        "the outage told to all three",
        |r| told(r, "incident.opened").len() == 3,
    );
    assert!(got.iter().all(|r| r.verified), "every webhook is signed");
    wait_for(
        dir,
        Duration::from_secs(30),
        "every node's site to show the incident",
        || (0..3).all(|i| site_page(dir, i).contains("major outage")),
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
    assert_eq!(leaders(dir, &[0, 1, 2]).len(), 1);

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
    let incidents = incident_references(&peer.received());
    assert_eq!(incidents.len(), 1, "one incident: {incidents:?}");
    for n in nodes {
        n.stop();
    }
}

#[test]
fn the_leader_killed_during_a_fan_out_another_leads_and_every_subscriber_is_told() {
    const HOOKS: usize = 200;
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let Some(stage) = Stage::new(behaviour, HOOKS) else {
        return;
    };
    let (dir, peer, config) = (stage.dir.path(), &stage.peer, &stage.config);
    // Slow receivers, so the fan-out is still under way when the leader dies.
    for i in 0..HOOKS {
        peer.script(
            &format!("/hook/{i}"),
            vec![Reply::Delay(Duration::from_millis(300))],
        );
    }
    let mut nodes: Vec<Option<Running>> =
        (0..3).map(|i| Some(start_node(dir, config, i))).collect();
    wait_for_one_leader(dir);
    let first = leaders(dir, &[0, 1, 2])[0];

    *target.lock().unwrap() = Behaviour::Status(503);
    peer.wait_until(Duration::from_secs(30), "the fan-out to begin", |r| {
        told(r, "incident.opened").len() >= 20
    });
    let killed_at = std::time::Instant::now();
    nodes[first].take().expect("the leader").kill();
    let others: Vec<usize> = (0..3).filter(|&i| i != first).collect();
    wait_for(dir, Duration::from_secs(15), "another node to lead", || {
        leaders(dir, &others).len() == 1
    });
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
fn one_nats_server_killed_everything_goes_on_and_it_catches_up_when_back() {
    let (behaviour, target) = switchable(Behaviour::Ok("ok"));
    let Some(mut stage) = Stage::new(behaviour, 3) else {
        return;
    };
    let (dir, peer, config) = (stage.dir.path(), &stage.peer, &stage.config);
    let nodes: Vec<Running> = (0..3).map(|i| start_node(dir, config, i)).collect();
    wait_for_one_leader(dir);

    stage.nats.kill_server(0);
    *target.lock().unwrap() = Behaviour::Status(503);
    peer.wait_until(
        Duration::from_secs(45),
        "the outage told with a server gone",
        |r| told(r, "incident.opened").len() == 3,
    );
    wait_for(
        dir,
        Duration::from_secs(30),
        "every node's site to show it",
        || (0..3).all(|i| site_page(dir, i).contains("major outage")),
    );

    stage.nats.start_server(0);
    stage.nats.wait_ready(0);
    *target.lock().unwrap() = Behaviour::Ok("ok");
    peer.wait_until(Duration::from_secs(45), "the recovery told", |r| {
        told(r, "incident.resolved").len() == 3
    });
    wait_for(
        dir,
        Duration::from_secs(45),
        "the returned server to catch up",
        || {
            let status = cluster_status(config);
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
