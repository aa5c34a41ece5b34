//! Crash safety of deliveries: the daemon is killed (SIGKILL) at random moments while
//! 500 webhook deliveries are under way, and restarted, again and again. Receivers must
//! see every notice, in order per subscriber, and repeats only of deliveries that were
//! in flight, under the same `webhook-id`.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::process::Child;
use std::time::Duration;

use common::peers::{Reply, WebhookPeer};
use common::{Behaviour, http_peer, wait_until, write_config};

const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const SUBSCRIBERS: usize = 100;
const NOTICES: usize = 5;
const CONCURRENCY: usize = 16;
const KILLS: usize = 6;

fn start(config: &std::path::Path, state: &std::path::Path) -> Child {
    common::start_daemon_logged(config, state, &[("CRASH_TEST_SECRET", SECRET)])
}

#[test]
fn killed_while_delivering_nothing_is_lost_and_repeats_keep_their_id() {
    let rt = common::background_runtime();
    let healthy = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let receiver = rt.block_on(WebhookPeer::start(Some(SECRET)));
    let tmp = tempfile::tempdir().unwrap();
    let dir = &tmp.path().to_owned();
    let _tmp = if std::env::var_os("CRASH_DEBUG").is_some() {
        eprintln!("dir {}", dir.display());
        std::mem::forget(tmp);
        None
    } else {
        Some(tmp)
    };
    let config = write_config(
        dir,
        &format!(
            "[notify]\nconcurrency = {CONCURRENCY}\n\n[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{}\"\nevery = \"1s\"\n",
            healthy.url("/health")
        ),
    );
    let mut subscribers = String::new();
    for n in 0..SUBSCRIBERS {
        let path = format!("/s{n}");
        // Slow answers keep deliveries in flight when the kill comes.
        receiver.script(&path, vec![Reply::Delay(Duration::from_millis(25)); 20]);
        subscribers.push_str(&format!(
            "[[webhook]]\nurl = \"{}\"\nsecret_env = \"CRASH_TEST_SECRET\"\n\n",
            receiver.url(&path)
        ));
    }
    std::fs::write(dir.join("config/subscribers.toml"), subscribers).unwrap();
    let mut incident = String::from(
        "id = \"cards\"\ntitle = \"Card payments failing\"\nimpact = \"major\"\n[components]\napi = \"partial_outage\"\n",
    );
    for (n, status) in [
        "investigating",
        "identified",
        "identified",
        "monitoring",
        "resolved",
    ]
    .iter()
    .enumerate()
    {
        incident.push_str(&format!(
            "\n[[update]]\nat = 2026-11-22T10:{:02}:00Z\nstatus = \"{status}\"\nmessage = \"Update {n}.\"\n",
            n * 5
        ));
    }
    std::fs::create_dir_all(dir.join("config/incidents")).unwrap();
    std::fs::write(dir.join("config/incidents/cards.toml"), incident).unwrap();
    let state = dir.join("state");

    let distinct = |r: &[common::peers::Received]| {
        r.iter()
            .map(|x| (x.path.clone(), x.webhook_id.clone()))
            .collect::<HashSet<_>>()
            .len()
    };
    let mut kills_in_flight = 0;
    for _ in 0..KILLS {
        if distinct(&receiver.received()) >= SUBSCRIBERS * NOTICES {
            break; // all delivered already
        }
        let mut child = start(&config, &state);
        let before = receiver.received().len();
        // Wait for deliveries to be under way, then kill at a random moment.
        wait_until(Duration::from_secs(30), "deliveries to start", || {
            receiver.received().len() > before || child.try_wait().ok().flatten().is_some()
        });
        std::thread::sleep(Duration::from_millis(fastrand::u64(0..300)));
        common::signal(&child, libc::SIGKILL);
        let _ = child.wait();
        kills_in_flight += 1;
    }
    assert!(
        kills_in_flight >= 2,
        "the test killed the daemon mid-delivery at least twice"
    );
    let child = start(&config, &state);
    let all = receiver.wait_until(
        Duration::from_secs(60),
        "every notice to every subscriber",
        |r| {
            let distinct: HashSet<(&str, Option<&str>)> = r
                .iter()
                .map(|x| (x.path.as_str(), x.webhook_id.as_deref()))
                .collect();
            distinct.len() >= SUBSCRIBERS * NOTICES
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = common::stop_daemon(child);
    assert_eq!(out.status.code(), Some(0));
    let all = {
        let later = receiver.received();
        assert!(later.len() >= all.len());
        later
    };

    let mut by_path: BTreeMap<&str, Vec<&common::peers::Received>> = BTreeMap::new();
    for r in &all {
        assert!(r.verified, "signature verifies: {r:?}");
        by_path.entry(r.path.as_str()).or_default().push(r);
    }
    assert_eq!(by_path.len(), SUBSCRIBERS);
    for (path, got) in &by_path {
        // First arrival of each id, in arrival order: the incident's timeline grows.
        let mut seen = HashSet::new();
        let mut lengths = Vec::new();
        for r in got {
            if seen.insert(r.webhook_id.clone()) {
                let json = r.json.as_ref().unwrap();
                lengths.push(
                    json["data"]["incident"]["incident_updates"]
                        .as_array()
                        .unwrap()
                        .len(),
                );
            }
        }
        assert_eq!(seen.len(), NOTICES, "{path}: every notice, no other");
        assert_eq!(lengths, vec![1, 2, 3, 4, 5], "{path}: in order");
    }
    let repeats = all.len() - SUBSCRIBERS * NOTICES;
    assert!(
        repeats <= kills_in_flight * CONCURRENCY,
        "{repeats} repeats for {kills_in_flight} kills with at most {CONCURRENCY} deliveries in flight"
    );
    eprintln!(
        "{} requests, {repeats} repeats after {kills_in_flight} kills in flight",
        all.len()
    );
}
