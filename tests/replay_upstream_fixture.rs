//! A journal written when vendors' pages were first followed, kept as a fixture
//! (`tests/fixtures/journal-upstream`): a daemon followed two vendors' pages; the
//! payment provider reported trouble, our checkout failed and the incident named them,
//! they reported it fixed, our checkout recovered; then the mail vendor had trouble
//! while our emails passed, and customers were told (`notify_customers`), then that it
//! was fixed. Every release replays it unchanged: each line reads and writes back the
//! same, the fold is what the lines say, and the site builds from it.

use std::path::{Path, PathBuf};
use std::process::Command;

use forewarn::config::Config;
use forewarn::journal::{Journal, Record};
use forewarn::notify::fold::Fold;
use forewarn::vocab::ComponentStatus;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-upstream")
}

fn lines() -> Vec<String> {
    std::fs::read_to_string(fixture().join("journal.jsonl"))
        .expect("the fixture journal")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn state() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("mkdir");
    std::fs::copy(fixture().join("journal.jsonl"), state.join("journal.jsonl")).expect("copy");
    (dir, state)
}

#[test]
fn every_line_reads_and_writes_back_the_same_json() {
    let mut upstream = 0;
    for (i, line) in lines().iter().enumerate() {
        let record: Record =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}\n{line}", i + 1));
        let written = serde_json::to_value(&record).expect("serialise");
        let read: serde_json::Value = serde_json::from_str(line).expect("json");
        assert_eq!(written, read, "line {} changes when written again", i + 1);
        if record.event.kind() == "upstream.changed" {
            upstream += 1;
        }
    }
    assert_eq!(upstream, 6, "the vendors' changes");
}

#[test]
fn the_fold_names_the_vendor_on_the_incident_and_remembers_the_heads_up() {
    let (_dir, state) = state();
    let (_journal, history) = Journal::open(&state).expect("the journal opens");
    assert_eq!(history.len(), lines().len(), "none repaired");
    let config = Config::load(&fixture().join("forewarn.toml")).expect("config");
    let replayed = Fold::replay(&config, &history);
    let view = &replayed.view;
    let payments = view.upstream("payments").expect("followed");
    assert_eq!(payments.reading.status, Some(ComponentStatus::Operational));
    assert!(!payments.in_trouble() && payments.fixed_at.is_some());
    let incident = view
        .incidents
        .values()
        .find(|i| i.components.contains_key("checkout"))
        .expect("the checkout incident");
    assert!(!incident.is_open());
    assert_eq!(incident.causes.len(), 1);
    let cause = &incident.causes[0];
    assert_eq!(cause.name, "Payment provider");
    assert_eq!(
        cause.title.as_deref(),
        Some("Card payments <fail> & time out")
    );
    assert_eq!(cause.parts, ["Card payments"]);
    assert!(
        cause
            .fixed_at
            .is_some_and(|f| Some(f) <= incident.resolved_at)
    );
    assert!(
        incident.updates.iter().any(|u| u
            .message
            .starts_with("Payment provider reports the problem on their side fixed")),
        "the automatic update"
    );
    let mailer = view.upstream("mailer").expect("followed");
    let told = mailer.heads_up.as_ref().expect("customers were told");
    assert_eq!(told.components, ["email"]);
    assert!(mailer.fixed_at.is_some_and(|f| f > told.since));
    assert!(
        replayed.outbox.list().is_empty(),
        "everything was delivered: nothing is owed again"
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
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("api/v2/summary.json")).expect("summary"),
    )
    .expect("json");
    for (n, id) in ["payments", "mailer"].iter().enumerate() {
        let u = &summary["upstreams"][n];
        assert_eq!(u["id"], *id);
        assert_eq!(u["status"], "operational", "as last recorded");
        assert!(u["updated_at"].is_string(), "read from the journal: {u}");
    }
    // `forewarn status` lists the vendors as recorded.
    let status = Command::new(env!("CARGO_BIN_EXE_forewarn"))
        .arg("status")
        .arg("--config")
        .arg(fixture().join("forewarn.toml"))
        .arg("--state")
        .arg(&state)
        .output()
        .expect("forewarn status");
    let listed = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{listed}");
    assert!(listed.contains("UPSTREAM"), "{listed}");
    for id in ["payments", "mailer"] {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(id) && l.contains("operational")),
            "{listed}"
        );
    }
    let page = std::fs::read_dir(out.join("incidents"))
        .expect("incidents")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "html"))
        .map(|p| std::fs::read_to_string(p).expect("page"))
        .expect("the incident's page");
    assert!(
        page.contains("Payment provider reported a partial outage affecting Card payments"),
        "{page}"
    );
    assert!(page.contains("They reported it fixed at"), "{page}");
}
