//! The daemon as a real process: killed mid-run, restarted, reloaded, stopped; the
//! journal must stay whole, lose nothing it acted on, and repeat nothing.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use common::{Behaviour, forewarn, http_peer, text, wait_bounded, wait_until, write_config};
use forewarn::journal::{Event, Journal, Record};
use forewarn::status::ComponentStatus;

fn start(config: &Path, state: &Path) -> Child {
    common::start_daemon(config, state, true)
}

fn records(state: &Path) -> Vec<Record> {
    Journal::read(state).expect("journal readable").records
}

fn stop(child: Child) -> std::process::Output {
    common::stop_daemon(child)
}

/// Status changes as logged by the daemon after each durable append: (component, from, to).
fn logged_changes(stderr: &str) -> Vec<(String, String, String)> {
    stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "status changed")
        .map(|v| {
            let f = &v["fields"];
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("component"), s("from"), s("to"))
        })
        .collect()
}

/// Journal invariants: per component, each change starts where the previous ended;
/// incidents open and resolve alternately, each once, right after the change causing it.
fn assert_consistent(records: &[Record]) {
    let mut status: HashMap<&str, ComponentStatus> = HashMap::new();
    let mut open: HashMap<&str, &str> = HashMap::new(); // component -> incident id
    let mut seen_ids = std::collections::HashSet::new();
    for (i, r) in records.iter().enumerate() {
        match &r.event {
            Event::ComponentStatusChanged {
                component,
                from,
                to,
                ..
            } => {
                let before = status
                    .get(component.as_str())
                    .copied()
                    .unwrap_or(ComponentStatus::Operational);
                assert_eq!(
                    *from, before,
                    "seq {}: change of {component} starts from {from}, but it was {before}",
                    r.seq
                );
                assert_ne!(from, to, "seq {}: a change to the same status", r.seq);
                status.insert(component, *to);
            }
            Event::IncidentOpened { id, components, .. } => {
                assert!(
                    seen_ids.insert(id.clone()),
                    "seq {}: incident {id} opened twice",
                    r.seq
                );
                let c = components.keys().next().expect("a component");
                assert!(
                    open.insert(c, id).is_none(),
                    "seq {}: second open incident for {c}",
                    r.seq
                );
                match &records[i - 1].event {
                    Event::ComponentStatusChanged { from, incident, .. } => {
                        assert_eq!(*from, ComponentStatus::Operational);
                        assert_eq!(incident.as_deref(), Some(id.as_str()));
                    }
                    other => panic!(
                        "seq {}: opening not preceded by its status change: {other:?}",
                        r.seq
                    ),
                }
            }
            Event::IncidentResolved { id, .. } => {
                let c = open
                    .iter()
                    .find(|(_, v)| **v == id.as_str())
                    .map(|(k, _)| *k)
                    .unwrap_or_else(|| panic!("seq {}: {id} resolved but not open", r.seq));
                open.remove(c);
                match &records[i - 1].event {
                    Event::ComponentStatusChanged { to, .. } => {
                        assert_eq!(*to, ComponentStatus::Operational)
                    }
                    other => panic!(
                        "seq {}: resolution not preceded by recovery: {other:?}",
                        r.seq
                    ),
                }
            }
            _ => {}
        }
    }
}

/// Is `small` a subsequence of `big`?
fn is_subsequence<T: PartialEq>(small: &[T], big: &[T]) -> bool {
    let mut it = big.iter();
    small.iter().all(|s| it.any(|b| b == s))
}

#[test]
fn sigkill_in_a_loop_loses_nothing_acted_on_and_duplicates_nothing() {
    let rt = common::background_runtime();
    let flappy = rt.block_on(http_peer(Behaviour::Flap(Duration::from_millis(300))));
    let steady = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[[component]]
id = "flappy"
name = "Flappy"
[component.check]
url = "{}"
every = "100ms"
timeout = "100ms"
fail_after = 2
recover_after = 2

[[component]]
id = "steady"
name = "Steady"
[component.check]
url = "{}"
every = "100ms"
timeout = "100ms"
"#,
            flappy.url("/"),
            steady.url("/")
        ),
    );
    let state = dir.path().join("state");
    let mut logged = Vec::new();
    let mut rng = fastrand::Rng::with_seed(7);
    for _ in 0..12 {
        let child = start(&config, &state);
        std::thread::sleep(Duration::from_millis(rng.u64(300..1200)));
        let mut child = child;
        child.kill().expect("SIGKILL");
        let out = wait_bounded(child, Duration::from_secs(10));
        logged.extend(logged_changes(&text(&out.stderr)));
        // After every crash the journal must still replay.
        let _ = Journal::read(&state).expect("the journal replays after SIGKILL");
    }
    // A last, clean run repairs any torn tail and continues.
    let child = start(&config, &state);
    std::thread::sleep(Duration::from_millis(1500));
    let out = stop(child);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    logged.extend(logged_changes(&text(&out.stderr)));

    let replay = Journal::read(&state).expect("journal");
    assert_eq!(replay.torn_bytes, 0);
    let records = replay.records;
    assert_consistent(&records);
    let journaled: Vec<(String, String, String)> = records
        .iter()
        .filter_map(|r| match &r.event {
            Event::ComponentStatusChanged {
                component,
                from,
                to,
                ..
            } => Some((component.clone(), from.to_string(), to.to_string())),
            _ => None,
        })
        .collect();
    let opened = records
        .iter()
        .filter(|r| matches!(r.event, Event::IncidentOpened { .. }))
        .count();
    assert!(
        opened >= 3,
        "the flapping service should have opened several incidents, got {opened}"
    );
    assert!(!logged.is_empty());
    assert!(
        is_subsequence(&logged, &journaled),
        "a change the daemon acted on is missing from the journal\nlogged: {logged:?}\njournal: {journaled:?}"
    );
    assert!(
        journaled.iter().all(|(c, _, _)| c == "flappy"),
        "the steady component never changed status: {journaled:?}"
    );
}

#[test]
fn a_torn_last_line_is_repaired_with_a_warning_on_start() {
    let rt = common::background_runtime();
    let down = rt.block_on(http_peer(Behaviour::Status(500)));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{}\"\nevery = \"100ms\"\nfail_after = 1\n",
            down.url("/")
        ),
    );
    let state = dir.path().join("state");
    let child = start(&config, &state);
    wait_until(Duration::from_secs(10), "an incident to open", || {
        Journal::read(&state)
            .map(|r| r.records.len() >= 2)
            .unwrap_or(false)
    });
    let out = stop(child);
    assert_eq!(out.status.code(), Some(0));
    let journal = state.join("journal.jsonl");
    let intact = std::fs::read(&journal).expect("read");
    let mut torn = intact.clone();
    torn.extend_from_slice(br#"{"seq":3,"at":"2026-11-22T10:00:00Z","type":"incident.res"#);
    std::fs::write(&journal, &torn).expect("write");

    let child = start(&config, &state);
    std::thread::sleep(Duration::from_millis(500));
    let out = stop(child);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("incomplete write"), "{stderr}");
    let now = std::fs::read(&journal).expect("read");
    assert!(now.starts_with(&intact), "the intact part was changed");
    assert_eq!(now.last(), Some(&b'\n'));
    assert_eq!(
        records(&state).len(),
        2,
        "no duplicate incident after the repair: {:?}",
        records(&state)
    );
}

#[test]
fn a_damaged_journal_stops_start_up_and_is_left_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"http://127.0.0.1:9/\"\n",
    );
    let state = dir.path().join("state");
    {
        let (mut j, _) = Journal::open(&state).expect("open");
        for to in [
            ComponentStatus::MajorOutage,
            ComponentStatus::Operational,
            ComponentStatus::MajorOutage,
        ] {
            j.append(vec![(
                chrono::Utc::now(),
                Event::ComponentStatusChanged {
                    component: "api".into(),
                    from: ComponentStatus::Operational,
                    to,
                    reason: "HTTP 503".into(),
                    incident: None,
                },
            )])
            .expect("append");
        }
    }
    let journal = state.join("journal.jsonl");
    let original = std::fs::read_to_string(&journal).expect("read");
    let damaged = original.replacen("\"seq\":2,", "\"seq\":2,\u{0}garbage", 1);
    std::fs::write(&journal, &damaged).expect("write");

    for args in [vec!["run"], vec!["status"]] {
        let out = common::run_bounded(
            forewarn()
                .args(&args)
                .arg("--config")
                .arg(&config)
                .arg("--state")
                .arg(&state),
            Duration::from_secs(20),
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("journal.jsonl:2: the journal is damaged here"),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(&journal).expect("read"),
            damaged,
            "{args:?} changed the file"
        );
    }
}

#[test]
fn a_restart_continues_the_open_incident_instead_of_opening_another() {
    let rt = common::background_runtime();
    let down = rt.block_on(http_peer(Behaviour::Status(503)));
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let component = |url: String| {
        format!(
            "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{url}\"\nevery = \"100ms\"\nfail_after = 2\nrecover_after = 2\n"
        )
    };
    let config = write_config(dir.path(), &component(down.url("/")));
    let state = dir.path().join("state");

    let child = start(&config, &state);
    wait_until(Duration::from_secs(10), "the outage to be recorded", || {
        Journal::read(&state)
            .map(|r| r.records.len() >= 2)
            .unwrap_or(false)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(stop(child).status.code(), Some(0));

    // Still down after the restart: nothing new may be recorded.
    let child = start(&config, &state);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(stop(child).status.code(), Some(0));
    assert_eq!(records(&state).len(), 2, "{:?}", records(&state));

    // Repaired while stopped: the restart resolves the same incident.
    write_config(dir.path(), &component(up.url("/")));
    let child = start(&config, &state);
    wait_until(
        Duration::from_secs(10),
        "the recovery to be recorded",
        || {
            Journal::read(&state)
                .map(|r| r.records.len() >= 4)
                .unwrap_or(false)
        },
    );
    assert_eq!(stop(child).status.code(), Some(0));
    let recs = records(&state);
    assert_consistent(&recs);
    let (opened, resolved) = match (&recs[1].event, &recs[3].event) {
        (Event::IncidentOpened { id: a, .. }, Event::IncidentResolved { id: b, .. }) => {
            (a.clone(), b.clone())
        }
        other => panic!("unexpected events {other:?}"),
    };
    assert_eq!(opened, resolved);
}

#[test]
fn sigterm_stops_cleanly_and_saves_the_last_samples() {
    let rt = common::background_runtime();
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{}\"\nevery = \"100ms\"\n",
            up.url("/")
        ),
    );
    let state = dir.path().join("state");
    let child = start(&config, &state);
    wait_until(Duration::from_secs(10), "a probe", || {
        up.requests.load(std::sync::atomic::Ordering::Relaxed) >= 3
    });
    let started = Instant::now();
    let out = stop(child);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopping took {:?}",
        started.elapsed()
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(stderr.contains("monitoring stopped"), "{stderr}");

    let status = common::run_bounded(
        forewarn()
            .arg("status")
            .arg("--config")
            .arg(&config)
            .arg("--state")
            .arg(&state),
        Duration::from_secs(20),
    );
    let stdout = text(&status.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("api") && l.contains("operational") && l.contains(" up ")),
        "{stdout}"
    );
    assert!(stdout.contains("No open incidents."), "{stdout}");
}

#[test]
fn sighup_reloads_a_good_config_and_keeps_the_last_good_one_otherwise() {
    let rt = common::background_runtime();
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let down = rt.block_on(http_peer(Behaviour::Status(502)));
    let dir = tempfile::tempdir().expect("tempdir");
    let api = format!(
        "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{}\"\nevery = \"100ms\"\n",
        up.url("/")
    );
    let config = write_config(dir.path(), &api);
    let state = dir.path().join("state");
    let child = start(&config, &state);
    wait_until(Duration::from_secs(10), "a probe", || {
        up.requests.load(std::sync::atomic::Ordering::Relaxed) >= 2
    });

    // A broken edit: the daemon says why and carries on.
    std::fs::write(
        &config,
        format!("{}\n{api}\n[[component]]\nid = \"bad\"\n", common::SITE),
    )
    .expect("write");
    common::signal(&child, libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(500));
    let before = up.requests.load(std::sync::atomic::Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        up.requests.load(std::sync::atomic::Ordering::Relaxed) > before,
        "probing stopped after a bad reload"
    );

    // A good edit adding a failing component takes effect.
    write_config(
        dir.path(),
        &format!(
            "{api}\n[[component]]\nid = \"extra\"\nname = \"Extra\"\n[component.check]\nurl = \"{}\"\nevery = \"100ms\"\nfail_after = 2\n",
            down.url("/")
        ),
    );
    common::signal(&child, libc::SIGHUP);
    wait_until(
        Duration::from_secs(10),
        "the new component's outage",
        || {
            Journal::read(&state)
            .map(|r| r.records.iter().any(|r| matches!(&r.event, Event::IncidentOpened { components, .. } if components.contains_key("extra"))))
            .unwrap_or(false)
        },
    );
    let out = stop(child);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let rejected = stderr
        .lines()
        .find(|l| l.contains("configuration not reloaded"))
        .unwrap_or_else(|| panic!("no rejection logged:\n{stderr}"));
    assert!(
        rejected.contains(&format!("{}:", config.display()))
            && rejected.contains("component \\\"bad\\\": name: is required"),
        "{rejected}"
    );
    assert!(
        stderr.contains("still running with the last good configuration"),
        "{stderr}"
    );
    assert!(stderr.contains("configuration reloaded"), "{stderr}");
}

#[test]
fn the_daemon_keeps_the_status_site_current() {
    let rt = common::background_runtime();
    let down = rt.block_on(http_peer(Behaviour::Status(503)));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{}\"\nevery = \"200ms\"\nfail_after = 2\n",
            down.url("/")
        ),
    );
    let state = dir.path().join("state");
    let site = dir.path().join("site");
    let index = site.join("index.html");
    let child = start(&config, &state);
    wait_until(
        Duration::from_secs(10),
        "the site and the outage on it",
        || {
            std::fs::read_to_string(&index)
                .is_ok_and(|t| t.contains("Major outage") && t.contains("Public API: major outage"))
        },
    );
    let reference = records(&state)
        .iter()
        .find_map(|r| match &r.event {
            Event::IncidentOpened { reference, .. } => Some(reference.clone()),
            _ => None,
        })
        .expect("an incident");
    let page = std::fs::read_to_string(site.join(format!("incidents/{reference}.html")))
        .expect("incident page");
    assert!(
        page.contains("We are seeing errors on Public API"),
        "{page}"
    );
    assert!(!page.contains("503"), "probe details stay private");
    let api: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(site.join("api/v2/incidents/unresolved.json")).expect("api"),
    )
    .expect("json");
    assert_eq!(
        api["incidents"][0]["shortlink"],
        format!("https://status.test.example/incidents/{reference}.html")
    );
    assert_eq!(stop(child).status.code(), Some(0));
}
