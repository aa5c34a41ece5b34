//! A journal written by forewarn 0.1.0, kept as a fixture (`tests/fixtures/journal-0.1.0`):
//! a demo run (a maintenance window, two automatic incidents, one made worse, sign-up and
//! confirmation, deliveries), followed by events appended through the 0.1.0 journal's
//! own API for every kind the demo does not write (a component kept from customers, an
//! edited update, a declared incident with ETA, apology and credit, a failing, a dead and
//! a retried delivery, a window moved and cancelled, subscribers changed, removed and
//! disabled, webhooks registered through the API and in Slack, Discord and Teams
//! formats). Journals already on disk must
//! replay unchanged: every line reads and writes back the same, and the fold is what
//! the lines say.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use forewarn::config::Config;
use forewarn::journal::{Journal, Record};
use forewarn::notify::fold::Fold;
use forewarn::notify::outbox::State;
use forewarn::status::MaintenanceState;
use forewarn::vocab::{Channel, IncidentStatus};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-0.1.0")
}

fn lines() -> Vec<String> {
    std::fs::read_to_string(fixture().join("journal.jsonl"))
        .expect("the fixture journal")
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The fixture's journal in a state folder of its own (replay may repair a journal).
fn state() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    std::fs::copy(fixture().join("journal.jsonl"), state.join("journal.jsonl")).expect("copy");
    (dir, state)
}

fn config() -> Config {
    Config::load(&fixture().join("forewarn.toml")).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_line_reads_and_writes_back_the_same_json() {
    let mut kinds = BTreeSet::new();
    for (i, line) in lines().iter().enumerate() {
        let record: Record =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}\n{line}", i + 1));
        let written = serde_json::to_value(&record).expect("serialise");
        let read: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(written, read, "line {} changes when written again", i + 1);
        kinds.insert(record.event.kind());
    }
    let every = [
        "component.status_changed",
        "component.visibility",
        "incident.opened",
        "incident.updated",
        "incident.update_edited",
        "incident.changed",
        "incident.resolved",
        "maintenance.scheduled",
        "maintenance.changed",
        "maintenance.reminder",
        "maintenance.started",
        "maintenance.completed",
        "maintenance.cancelled",
        "subscriber.pending",
        "subscriber.confirmed",
        "subscriber.updated",
        "subscriber.removed",
        "subscriber.disabled",
        "delivery.succeeded",
        "delivery.failed",
        "delivery.dead",
        "delivery.retried",
        "operator.alert",
    ];
    let missing: Vec<&str> = every
        .iter()
        .copied()
        .filter(|k| !kinds.contains(k))
        .collect();
    assert!(missing.is_empty(), "the fixture lacks {missing:?}");
}

#[test]
fn the_fold_is_what_the_lines_say() {
    let (_dir, state) = state();
    let (_journal, history) = Journal::open(&state).expect("the journal opens");
    assert_eq!(
        history.len(),
        lines().len(),
        "every record replays, none repaired"
    );
    let replayed = Fold::replay(&config(), &history);
    let view = &replayed.view;

    // Incidents: two automatic, one declared; all resolved.
    assert_eq!(view.incidents.len(), 3);
    assert!(view.incidents.values().all(|i| !i.is_open()));
    let search = &view.incidents["INC-2026-1127-search"];
    assert_eq!(
        search.title, "Search: major outage",
        "made worse, and kept at its worst"
    );
    assert_eq!(search.opened_title, "Search: degraded performance");
    let checkout = &view.incidents["INC-2026-1127-checkout"];
    let monitoring = checkout
        .updates
        .iter()
        .find(|u| u.status == IncidentStatus::Monitoring)
        .expect("a monitoring update");
    assert!(
        monitoring.message.ends_with("We are watching closely."),
        "the edited text replaces the published one: {}",
        monitoring.message
    );
    let cards = &view.incidents["cards-declined"];
    assert_eq!(cards.reference, "INC-2026-1127-cards-declined");
    assert!(!cards.automatic);
    let statuses: Vec<IncidentStatus> = cards.updates.iter().map(|u| u.status).collect();
    assert_eq!(
        statuses,
        [
            IncidentStatus::Investigating,
            IncidentStatus::Identified,
            IncidentStatus::Resolved
        ]
    );
    assert!(cards.updates[0].eta.is_some() && cards.updates[0].next_update.is_some());
    let last = cards.updates.last().expect("resolved");
    assert!(last.apology.is_some() && last.credit.is_some());

    // Maintenance: one done, one moved then called off.
    assert_eq!(
        view.maintenance["db-upgrade"].state,
        MaintenanceState::Completed
    );
    let reindex = &view.maintenance["search-reindex"];
    assert_eq!(reindex.state, MaintenanceState::Cancelled);
    assert_eq!(
        reindex.window.ends_at - reindex.window.starts_at,
        chrono::TimeDelta::seconds(3600)
    );

    // Who may hear of what.
    assert!(!view.is_public("database"), "kept from customers");
    assert!(view.is_public("checkout"));

    // Subscribers.
    let audience = &replayed.audience;
    let members: BTreeSet<&str> = audience.members.keys().map(String::as_str).collect();
    assert!(members.contains("email:ops@demo-shop.test"));
    assert!(members.contains("operator:email:oncall@demo-shop.test"));
    assert!(
        !members.contains("email:customer@demo-shop.test"),
        "unsubscribed themselves"
    );
    assert!(
        audience
            .opted_out
            .contains_key("email:customer@demo-shop.test")
    );
    assert_eq!(
        audience.members["email:finance@demo-shop.test"]
            .record
            .components,
        ["checkout", "search"]
    );
    assert!(
        audience.members["webhook:3ca1f0b183195174"]
            .disabled
            .is_some()
    );
    let reached = |key: &str| audience.members[key].record.reached_by();
    assert_eq!(reached("email:ops@demo-shop.test"), Channel::Email);
    assert_eq!(reached("webhook:3ca1f0b183195174"), Channel::Standard);
    assert_eq!(reached("webhook:5c1e0b7d2a9f4e11"), Channel::Slack);
    assert_eq!(reached("webhook:8d2f6a1c3b7e9f20"), Channel::Discord);
    assert_eq!(reached("webhook:a41b9c2e7d5f0318"), Channel::Teams);
    let api = &audience.members["webhook:5c1e0b7d2a9f4e11"].record;
    assert_eq!(api.source, "api");
    assert_eq!(
        api.url.as_deref(),
        Some("https://hooks.slack.test/services/T0/B0/x"),
        "registered through the API: its address is in the journal"
    );
    assert!(
        audience.members["operator:email:oncall@demo-shop.test"]
            .record
            .is_operator()
    );

    // What is owed: the retried delivery is due again, nothing is dead.
    let outbox = &replayed.outbox;
    let list = outbox.list();
    assert!(list.iter().all(|d| d.state != State::Dead));
    let retried = outbox
        .get("msg_aa5b769d9939b1c51f73ddd4f9b0e78c")
        .expect("the retried delivery is owed again");
    assert_ne!(retried.state, State::Dead);
    assert!(
        outbox.get("msg_1cda79e2cf89b9321bf88ec9e95c21ac").is_none(),
        "delivered on its second attempt: owed no more"
    );
}

#[test]
fn the_site_builds_from_it() {
    let (dir, state) = state();
    let out = dir.path().join("site");
    let run = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .arg("build")
        .arg("--config")
        .arg(fixture().join("forewarn.toml"))
        .arg("--state")
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("forewarn build");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = std::fs::read_to_string(out.join("incidents/INC-2026-1127-cards-declined.html"))
        .expect("the declared incident's page");
    assert!(page.contains("Card payments declined"));
    assert!(page.contains("We are sorry for the declined payments."));
    let api: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("api/v2/incidents.json")).expect("incidents.json"),
    )
    .expect("json");
    let references: BTreeSet<&str> = api["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert_eq!(references.len(), 3, "{references:?}");
}
