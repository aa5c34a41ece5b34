//! Declared files with the daemon running: real files, the real watcher, the real clock.
//! Edits, additions and deletions become exactly the expected events, once; broken files
//! change nothing; maintenance silences failures and survives a restart across its start.

mod common;

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use chrono::{SecondsFormat, TimeDelta, Utc};
use common::{Behaviour, forewarn, http_peer, text, wait_until, write_config};
use forewarn::journal::{Event, Journal, Record};

fn start(config: &Path, state: &Path) -> Child {
    common::start_daemon(config, state, false)
}

fn stop(child: Child) -> String {
    let out = common::stop_daemon(child);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    stderr
}

fn records(state: &Path) -> Vec<Record> {
    Journal::read(state).map(|r| r.records).unwrap_or_default()
}

fn kinds(state: &Path) -> Vec<&'static str> {
    records(state).iter().map(|r| r.event.kind()).collect()
}

fn wait_for_kinds(state: &Path, expected: &[&str]) {
    wait_until(
        Duration::from_secs(10),
        &format!("events {expected:?}"),
        || kinds(state) == expected,
    );
}

const CARDS: &str = r#"id = "cards"
title = "Card payments failing"
impact = "major"

[components]
api = "partial_outage"

[[update]]
at = 2026-11-22T10:04:00Z
status = "investigating"
message = "Some card payments fail."
"#;

const SECOND: &str = r#"
[[update]]
at = 2026-11-22T10:30:00Z
status = "identified"
message = "A faulty release."
"#;

const RESOLVED: &str = r#"
[[update]]
at = 2026-11-22T11:00:00Z
status = "resolved"
message = "Fixed."
apology = "We are sorry."
"#;

fn healthy_config(dir: &Path, url: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{url}\"\nevery = \"1s\"\n"
        ),
    )
}

#[test]
fn edits_additions_and_deletions_become_events_exactly_once() {
    let rt = common::background_runtime();
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = healthy_config(dir.path(), &up.url("/"));
    let incidents = dir.path().join("config/incidents");
    let file = incidents.join("cards.toml");
    let state = dir.path().join("state");
    let child = start(&config, &state);

    std::fs::create_dir_all(&incidents).expect("mkdir");
    std::fs::write(&file, CARDS).expect("write");
    wait_for_kinds(&state, &["incident.opened"]);

    std::fs::write(&file, format!("{CARDS}{SECOND}")).expect("write");
    wait_for_kinds(&state, &["incident.opened", "incident.updated"]);

    // Touching the file, or writing the same text again, records nothing.
    for _ in 0..3 {
        std::fs::write(&file, format!("{CARDS}{SECOND}")).expect("write");
        std::thread::sleep(Duration::from_millis(400));
    }
    assert_eq!(kinds(&state), ["incident.opened", "incident.updated"]);

    // Correcting a published update is recorded, without a new update.
    std::fs::write(
        &file,
        format!(
            "{CARDS}{}",
            SECOND.replace("A faulty release.", "A faulty payment release.")
        ),
    )
    .expect("write");
    wait_for_kinds(
        &state,
        &[
            "incident.opened",
            "incident.updated",
            "incident.update_edited",
        ],
    );

    // A half-written file is refused and changes nothing...
    let full = format!(
        "{CARDS}{}{RESOLVED}",
        SECOND.replace("A faulty release.", "A faulty payment release.")
    );
    std::fs::write(&file, &full[..full.len() - 40]).expect("write");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(kinds(&state).len(), 3);
    // ...until it is complete.
    std::fs::write(&file, &full).expect("write");
    wait_for_kinds(
        &state,
        &[
            "incident.opened",
            "incident.updated",
            "incident.update_edited",
            "incident.resolved",
        ],
    );

    // Deleting the file rewrites no history.
    std::fs::remove_file(&file).expect("remove");
    std::thread::sleep(Duration::from_millis(800));
    let stderr = stop(child);
    assert_eq!(kinds(&state).len(), 4);
    assert!(
        stderr.contains("incidents/cards.toml:"),
        "the broken file was not reported:\n{stderr}"
    );
    assert!(stderr.contains("declared file not used"), "{stderr}");
    assert!(
        stderr.contains("the file of incident INC-2026-1122-cards (cards) is gone"),
        "{stderr}"
    );

    // Restarts with the file back in place record nothing more.
    std::fs::write(&file, &full).expect("write");
    for _ in 0..2 {
        let child = start(&config, &state);
        std::thread::sleep(Duration::from_millis(700));
        stop(child);
    }
    assert_eq!(kinds(&state).len(), 4, "{:?}", kinds(&state));
}

#[test]
fn operator_text_reaches_the_journal_unchanged() {
    let rt = common::background_runtime();
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = healthy_config(dir.path(), &up.url("/"));
    let long = "long words ".repeat(2000);
    let nasty = format!(
        "<script>alert('x')</script> {{{{title}}}} & \"quotes\"\r\nBcc: everyone@example.com\n{long}"
    );
    let toml_string = serde_json::to_string(&nasty).expect("escape"); // JSON escapes are valid TOML basic-string escapes here
    let file = CARDS.replace(
        "message = \"Some card payments fail.\"",
        &format!("message = {toml_string}"),
    );
    std::fs::create_dir_all(dir.path().join("config/incidents")).expect("mkdir");
    std::fs::write(dir.path().join("config/incidents/cards.toml"), file).expect("write");
    let state = dir.path().join("state");
    let child = start(&config, &state);
    wait_for_kinds(&state, &["incident.opened"]);
    stop(child);
    match &records(&state)[0].event {
        Event::IncidentOpened {
            update: Some(u), ..
        } => assert_eq!(u.message, nasty),
        other => panic!("{other:?}"),
    }
}

#[test]
fn maintenance_silences_failures_and_a_restart_records_its_start_once() {
    let rt = common::background_runtime();
    let down = rt.block_on(http_peer(Behaviour::Status(503)));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{}\"\nevery = \"200ms\"\nfail_after = 2\n",
            down.url("/")
        ),
    );
    let at = |secs: i64| {
        (Utc::now() + TimeDelta::seconds(secs)).to_rfc3339_opts(SecondsFormat::Millis, true)
    };
    std::fs::create_dir_all(dir.path().join("config/maintenance")).expect("mkdir");
    std::fs::write(
        dir.path().join("config/maintenance/upgrade.toml"),
        format!(
            "id = \"upgrade\"\ntitle = \"API upgrade\"\ncomponents = [\"api\"]\nstarts_at = {}\nends_at = {}\nmessage = \"The API restarts.\"\n",
            at(1),
            at(5)
        ),
    )
    .expect("write");
    let state = dir.path().join("state");

    // The daemon is down when the window starts; it records the start late, once.
    std::thread::sleep(Duration::from_millis(1500));
    let child = start(&config, &state);
    wait_for_kinds(&state, &["maintenance.scheduled", "maintenance.started"]);
    std::thread::sleep(Duration::from_millis(1000));
    stop(child);
    let child = start(&config, &state);
    // Failing all along, yet no incident during the window; after it, the outage shows.
    wait_until(
        Duration::from_secs(15),
        "the outage after the window",
        || kinds(&state).contains(&"incident.opened"),
    );
    stop(child);
    let recs = records(&state);
    let k: Vec<&str> = recs.iter().map(|r| r.event.kind()).collect();
    assert_eq!(
        k,
        [
            "maintenance.scheduled",
            "maintenance.started",
            "maintenance.completed",
            "component.status_changed",
            "incident.opened"
        ],
        "{recs:#?}"
    );
    assert!(
        recs[3].at >= recs[2].at,
        "the outage was confirmed after the window ended"
    );
}

#[test]
fn an_operator_follows_up_an_automatic_incident_from_the_command_line() {
    let rt = common::background_runtime();
    let down = rt.block_on(http_peer(Behaviour::Status(503)));
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let component = |url: String| {
        format!(
            "[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"{url}\"\nevery = \"200ms\"\nfail_after = 2\nrecover_after = 2\n"
        )
    };
    let config = write_config(dir.path(), &component(down.url("/")));
    let state = dir.path().join("state");
    let child = start(&config, &state);
    wait_for_kinds(&state, &["component.status_changed", "incident.opened"]);
    let reference = match &records(&state)[1].event {
        Event::IncidentOpened { reference, .. } => reference.clone(),
        other => panic!("{other:?}"),
    };

    let cli = |args: &[&str]| {
        let out = common::run_bounded(
            forewarn()
                .args(args)
                .arg("--config")
                .arg(&config)
                .arg("--state")
                .arg(&state),
            Duration::from_secs(20),
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    let said = cli(&[
        "incident",
        "update",
        &reference,
        "--status",
        "identified",
        "--message",
        "A database failover is under way.",
        "--eta",
        "1h",
    ]);
    assert!(
        said.contains(&format!("Subject: Problem with API ({reference})")),
        "{said}"
    );
    assert!(said.contains("We expect a fix by"), "{said}");
    wait_for_kinds(
        &state,
        &[
            "component.status_changed",
            "incident.opened",
            "incident.updated",
        ],
    );

    // The service recovers: a person wrote on this incident, so it waits for their word.
    write_config(dir.path(), &component(up.url("/")));
    wait_for_kinds(
        &state,
        &[
            "component.status_changed",
            "incident.opened",
            "incident.updated",
            "component.status_changed",
        ],
    );
    let said = cli(&[
        "incident",
        "resolve",
        &reference,
        "--message",
        "The failover is complete.",
        "--apology",
        "We are sorry.",
        "--credit",
        "A day of service is credited.",
    ]);
    // The same subject as every mail about it; the first line says it is over.
    assert!(
        said.contains(&format!(
            "Subject: Problem with API ({reference})\n\n  Resolved\n"
        )),
        "{said}"
    );
    wait_for_kinds(
        &state,
        &[
            "component.status_changed",
            "incident.opened",
            "incident.updated",
            "component.status_changed",
            "incident.resolved",
        ],
    );
    stop(child);
    match &records(&state)[4].event {
        Event::IncidentResolved {
            update: Some(u), ..
        } => {
            assert_eq!(u.apology.as_deref(), Some("We are sorry."));
            assert_eq!(u.credit.as_deref(), Some("A day of service is credited."));
        }
        other => panic!("{other:?}"),
    }
    let follows = std::fs::read_to_string(dir.path().join(format!(
        "config/incidents/{}.toml",
        reference.to_lowercase()
    )))
    .expect("follows file");
    assert!(follows.contains(&format!("follows = \"{reference}\"")));
}

#[test]
fn a_broken_file_is_told_once_until_it_changes_and_reading_it_wakes_nothing() {
    let rt = common::background_runtime();
    let up = rt.block_on(http_peer(Behaviour::Ok("ok")));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = healthy_config(dir.path(), &up.url("/"));
    let incidents = dir.path().join("config/incidents");
    std::fs::create_dir_all(&incidents).expect("mkdir");
    let broken = incidents.join("broken.toml");
    std::fs::write(&broken, "id = \"x\"\ntitle = \n").expect("write");
    let state = dir.path().join("state");
    let daemon = common::Running::new(common::start_daemon_logged(&config, &state, &[]));
    let told = |at: &str| {
        common::daemon_log(&state)
            .matches(&format!("broken.toml:{at}: invalid TOML"))
            .count()
    };
    wait_until(Duration::from_secs(10), "the problem is told", || {
        told("2:9") >= 1
    });
    // The daemon's own reads of the folder are not changes: nothing wakes it, and
    // nothing repeats (before, the same line came four times a second).
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(told("2:9"), 1, "{}", common::daemon_log(&state));

    // Changed, and still broken: the new problem is told, once.
    std::fs::write(&broken, "id = \"x\"\n\ntitle = \n").expect("write");
    wait_until(Duration::from_secs(10), "the new problem is told", || {
        told("3:9") >= 1
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(told("3:9"), 1, "{}", common::daemon_log(&state));
    assert_eq!(told("2:9"), 1);
    let out = daemon.stop();
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}
