//! Snapshots: a start from a snapshot plus the journal's tail knows exactly what a start
//! from the whole journal knows; a snapshot that is damaged or does not match the
//! journal is set aside and the whole journal replayed, never trusted.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Behaviour, http_peer, switchable, wait_until, write_config};
use forewarn::config::Config;
use forewarn::journal::{Event, Journal, Record};
use forewarn::monitor::alerts::AlertLog;
use forewarn::monitor::snapshot;
use forewarn::notify::fold::Fold;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-0.1.0")
}

/// What a start knows, in a form two starts can be compared by.
fn known(fold: &Fold, alerts: &AlertLog) -> String {
    let owed: Vec<String> = fold
        .outbox
        .list()
        .iter()
        .map(|d| {
            format!(
                "{} {} seq {} {} {} attempts {} next {} error {:?} data {}",
                d.id,
                d.subscriber,
                d.composed.seq,
                d.composed.kind,
                d.state.as_str(),
                d.attempts,
                d.next_at,
                d.last_error,
                d.composed.data
            )
        })
        .collect();
    // Everything else the outbox keeps (each notice whole, the components each
    // incident touched, each window's shape), as a snapshot writes it.
    let parts = serde_json::to_string_pretty(&fold.outbox.to_parts()).expect("outbox parts");
    format!(
        "{:#?}\n{:#?}\n{}\n{parts}\n{:?}",
        fold.view,
        fold.audience,
        owed.join("\n"),
        alerts
    )
}

#[test]
fn a_snapshot_at_any_point_and_the_tail_know_what_the_whole_journal_knows() {
    let config = Config::load(&fixture().join("forewarn.toml")).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(fixture().join("journal.jsonl")).expect("fixture");
    let lines: Vec<&str> = text.lines().collect();
    let records: Vec<Record> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("a record"))
        .collect();
    let whole = known(
        &Fold::replay(&config, &records),
        &AlertLog::from_records(&records),
    );
    assert!(
        whole.contains(" dead ") || whole.contains(" pending ") || whole.contains(" failing "),
        "the fixture owes deliveries:\n{whole}"
    );
    let mut points = 0;
    for k in 1..records.len() {
        if records[k - 1].more {
            continue; // a snapshot is only ever taken between batches
        }
        points += 1;
        let dir = tempfile::tempdir().expect("tempdir");
        let state = dir.path();
        let head: String = lines[..k].iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(state.join("journal.jsonl"), &head).expect("write");
        {
            let (journal, head_records) = Journal::open(state).expect("open");
            let fold = Fold::replay(&config, &head_records);
            let alerts = AlertLog::from_records(&head_records);
            let anchor = journal.anchor().expect("an anchor");
            snapshot::write(
                state,
                &anchor,
                &fold.view,
                &fold.audience,
                &fold.outbox,
                &alerts,
            )
            .expect("snapshot");
        }
        std::fs::write(state.join("journal.jsonl"), &text).expect("the rest of the journal");
        let snap = snapshot::read(state)
            .expect("a usable snapshot")
            .expect("a snapshot");
        let (_, opened) = Journal::open_from(state, Some(&snap.anchor)).expect("open");
        assert!(
            opened.from_anchor,
            "after line {k}: {:?}",
            opened.anchor_problem
        );
        assert_eq!(opened.records.len(), records.len() - k);
        let mut alerts = snap.alerts;
        for r in &opened.records {
            alerts.apply(r);
        }
        let resumed = known(&snap.fold.resume(&config, &opened.records), &alerts);
        if resumed != whole {
            let out = std::env::temp_dir().join("forewarn-snapshot-diff");
            let _ = std::fs::create_dir_all(&out);
            let _ = std::fs::write(out.join("whole.txt"), &whole);
            let _ = std::fs::write(out.join("resumed.txt"), &resumed);
            panic!(
                "a snapshot after line {k} and the tail differ from the whole journal (both written to {})",
                out.display()
            );
        }
    }
    assert!(points > 30, "only {points} points were tried");
}

fn events(state: &Path) -> Vec<Event> {
    Journal::read(state)
        .map(|r| r.records.into_iter().map(|r| r.event).collect())
        .unwrap_or_default()
}

fn open_incidents(state: &Path) -> usize {
    let Ok(r) = Journal::read(state) else {
        return 0;
    };
    forewarn::status::StatusView::from_records(&r.records)
        .open_incidents()
        .count()
}

#[test]
fn a_restart_starts_from_the_snapshot_and_a_damaged_one_is_set_aside() {
    let rt = common::background_runtime();
    let (behaviour, _target) = switchable(Behaviour::Status(503));
    let peer = rt.block_on(http_peer(behaviour));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            "[[component]]\nid = \"api\"\nname = \"Public API\"\n[component.check]\nurl = \"{}\"\nevery = \"1s\"\nfail_after = 1\n",
            peer.url("/health")
        ),
    );
    let state = dir.path().join("state");
    let start = || common::Running::new(common::start_daemon_logged(&config, &state, &[]));

    // A first run opens an incident; a clean stop writes a snapshot.
    let daemon = start();
    wait_until(Duration::from_secs(30), "an incident opens", || {
        events(&state)
            .iter()
            .any(|e| matches!(e, Event::IncidentOpened { .. }))
    });
    assert!(daemon.stop().status.success());
    let snapshot_file = state.join(snapshot::SNAPSHOT_FILE);
    assert!(snapshot_file.exists(), "a clean stop leaves a snapshot");
    let seq = snapshot::read(&state)
        .expect("usable")
        .expect("present")
        .anchor
        .seq;
    assert_eq!(
        Some(seq),
        Journal::read(&state)
            .ok()
            .and_then(|r| r.records.last().map(|r| r.seq)),
        "taken at the journal's last record"
    );

    // The next start reads it, and knows the incident is open: no second one.
    let daemon = start();
    wait_until(Duration::from_secs(30), "the second run starts", || {
        common::daemon_log(&state)
            .matches("monitoring started")
            .count()
            == 2
    });
    assert!(daemon.stop().status.success());
    let log = common::daemon_log(&state);
    assert!(
        log.contains(&format!("snapshot_seq={seq}")),
        "started from the snapshot:\n{log}"
    );
    assert_eq!(open_incidents(&state), 1);

    // A damaged snapshot is set aside, and the whole journal gives the same state.
    let mut bytes = std::fs::read(&snapshot_file).expect("snapshot");
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
    std::fs::write(&snapshot_file, &bytes).expect("damage");
    let daemon = start();
    wait_until(Duration::from_secs(30), "the third run starts", || {
        common::daemon_log(&state)
            .matches("monitoring started")
            .count()
            == 3
    });
    assert!(daemon.stop().status.success());
    let log = common::daemon_log(&state);
    assert!(
        log.contains("cannot be used") && log.contains("checksum"),
        "the damage is told:\n{log}"
    );
    assert!(state.join("snapshot.json.unusable").exists());
    assert!(
        snapshot_file.exists(),
        "a clean stop wrote a good one again"
    );
    assert_eq!(open_incidents(&state), 1, "still one incident, open");
    let opened = events(&state)
        .iter()
        .filter(|e| matches!(e, Event::IncidentOpened { .. }))
        .count();
    assert_eq!(opened, 1, "no run opened the incident again");
}
