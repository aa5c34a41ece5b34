use super::*;
use crate::config::declared::tests::fixture;
use crate::journal::Record;

const WINDOW: &str = r#"
id = "db-upgrade"
title = "Database upgrade"
components = ["database"]
starts_at = 2026-11-25T02:00:00Z
ends_at = 2026-11-25T04:00:00Z
message = "Writes are paused."
"#;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Run the clock over `moments`, folding what is due at each; return (moment, kind).
fn play(declared: &Declared, view: &mut StatusView, moments: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for m in moments {
        for (at, event) in due_events(declared, view, t(m)) {
            let kind = match &event {
                Event::MaintenanceReminder { before_secs, .. } => format!("reminder {before_secs}"),
                e => e.kind().to_owned(),
            };
            out.push(((*m).to_owned(), kind));
            let seq = view.last_seq + 1;
            view.apply(&Record {
                seq,
                at,
                more: false,
                event,
            });
        }
    }
    out
}

fn declared(text: &str) -> (tempfile::TempDir, Declared) {
    let (dir, config) = fixture(&[("maintenance/db.toml", text)]);
    let loaded = Declared::load(&config, &StatusView::default(), t("2026-11-20T00:00:00Z"));
    assert!(loaded.problems.is_empty(), "{:?}", loaded.problems);
    (dir, loaded.declared)
}

#[test]
fn a_window_is_announced_reminded_started_and_completed_once_each() {
    let (_d, d) = declared(WINDOW);
    let mut view = StatusView::default();
    let got = play(
        &d,
        &mut view,
        &[
            "2026-11-20T00:00:00Z",
            "2026-11-20T00:00:01Z",
            "2026-11-24T02:00:00Z",
            "2026-11-24T02:00:01Z",
            "2026-11-25T01:00:00Z",
            "2026-11-25T01:30:00Z",
            "2026-11-25T02:00:00Z",
            "2026-11-25T03:00:00Z",
            "2026-11-25T04:00:00Z",
            "2026-11-25T05:00:00Z",
        ],
    );
    let expected = [
        ("2026-11-20T00:00:00Z", "maintenance.scheduled"),
        ("2026-11-24T02:00:00Z", "reminder 86400"),
        ("2026-11-25T01:00:00Z", "reminder 3600"),
        ("2026-11-25T02:00:00Z", "maintenance.started"),
        ("2026-11-25T04:00:00Z", "maintenance.completed"),
    ];
    let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got, expected);
    assert!(!view.under_maintenance("database"));
}

#[test]
fn a_restart_across_the_start_records_it_late_once() {
    let (_d, d) = declared(WINDOW);
    let mut view = StatusView::default();
    play(&d, &mut view, &["2026-11-20T00:00:00Z"]);
    // The daemon was down from before the first reminder until after the start.
    let got = play(
        &d,
        &mut view,
        &[
            "2026-11-25T02:10:00Z",
            "2026-11-25T02:10:01Z",
            "2026-11-25T03:00:00Z",
        ],
    );
    let kinds: Vec<&str> = got.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["maintenance.started"],
        "no stale reminders, one late start"
    );
    assert!(view.under_maintenance("database"));
}

#[test]
fn a_window_missed_entirely_is_started_and_completed_late() {
    let (_d, d) = declared(WINDOW);
    let mut view = StatusView::default();
    play(&d, &mut view, &["2026-11-20T00:00:00Z"]);
    let got = play(
        &d,
        &mut view,
        &["2026-11-26T00:00:00Z", "2026-11-26T00:00:01Z"],
    );
    let kinds: Vec<&str> = got.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds, ["maintenance.started", "maintenance.completed"]);
}

#[test]
fn a_window_announced_late_skips_reminders_already_past() {
    let (_d, d) = declared(WINDOW);
    let mut view = StatusView::default();
    let got = play(
        &d,
        &mut view,
        &["2026-11-25T00:30:00Z", "2026-11-25T01:00:00Z"],
    );
    let kinds: Vec<&str> = got.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds, ["maintenance.scheduled", "reminder 3600"]);
}

#[test]
fn edits_and_cancellation_are_recorded() {
    let (dir, d) = declared(WINDOW);
    let mut view = StatusView::default();
    play(&d, &mut view, &["2026-11-20T00:00:00Z"]);
    std::fs::write(
        dir.path().join("maintenance/db.toml"),
        WINDOW.replace("04:00:00Z", "05:00:00Z"),
    )
    .unwrap();
    let config = crate::config::Config::load(&dir.path().join("forewarn.toml")).unwrap();
    let edited = Declared::load(&config, &view, t("2026-11-21T00:00:00Z")).declared;
    let got = play(&edited, &mut view, &["2026-11-21T00:00:00Z"]);
    assert_eq!(got[0].1, "maintenance.changed");
    assert_eq!(
        view.maintenance["db-upgrade"].window.ends_at,
        t("2026-11-25T05:00:00Z")
    );

    std::fs::write(
        dir.path().join("maintenance/db.toml"),
        format!(
            "{}cancelled = true\n",
            WINDOW.replace("04:00:00Z", "05:00:00Z")
        ),
    )
    .unwrap();
    let cancelled = Declared::load(&config, &view, t("2026-11-21T00:00:00Z")).declared;
    let got = play(
        &cancelled,
        &mut view,
        &["2026-11-21T01:00:00Z", "2026-11-25T02:00:00Z"],
    );
    let kinds: Vec<&str> = got.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["maintenance.cancelled"],
        "nothing after a cancellation"
    );
}

#[test]
fn a_window_whose_file_is_deleted_still_ends_on_time() {
    let (_d, d) = declared(WINDOW);
    let mut view = StatusView::default();
    play(
        &d,
        &mut view,
        &["2026-11-20T00:00:00Z", "2026-11-25T02:00:00Z"],
    );
    assert!(view.under_maintenance("database"));
    let gone = Declared::default();
    let got = play(
        &gone,
        &mut view,
        &[
            "2026-11-25T03:00:00Z",
            "2026-11-25T04:00:00Z",
            "2026-11-25T05:00:00Z",
        ],
    );
    let kinds: Vec<&str> = got.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(kinds, ["maintenance.completed"]);
    assert!(!view.under_maintenance("database"));
}

#[test]
fn postponing_a_window_sends_its_reminders_again() {
    let (dir, d) = declared(WINDOW);
    let mut view = StatusView::default();
    play(
        &d,
        &mut view,
        &[
            "2026-11-20T00:00:00Z",
            "2026-11-24T02:00:00Z",
            "2026-11-25T01:00:00Z",
        ],
    );
    assert_eq!(view.maintenance["db-upgrade"].reminders_sent.len(), 2);
    let later = WINDOW
        .replace("2026-11-25T02", "2026-12-09T02")
        .replace("2026-11-25T04", "2026-12-09T04");
    std::fs::write(dir.path().join("maintenance/db.toml"), later).unwrap();
    let config = crate::config::Config::load(&dir.path().join("forewarn.toml")).unwrap();
    let moved = Declared::load(&config, &view, t("2026-11-25T01:10:00Z")).declared;
    let got = play(
        &moved,
        &mut view,
        &[
            "2026-11-25T01:10:00Z",
            "2026-12-08T02:00:00Z",
            "2026-12-09T01:00:00Z",
        ],
    );
    let kinds: Vec<&str> = got.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(
        kinds,
        ["maintenance.changed", "reminder 86400", "reminder 3600"]
    );
}
