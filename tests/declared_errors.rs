//! Broken incident and maintenance files, checked through the real binary: each gives
//! its file:line:column message naming the key, and exit code 2.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{forewarn, run_bounded, text};

const CONFIG: &str = r#"[site]
title = "Acme"
base_url = "https://status.acme.test"
timezone = "Europe/Paris"
[site.contact]
email = "help@acme.test"

[[component]]
id = "api"
name = "API"
[component.check]
url = "https://api.acme.test/health"

[[component]]
id = "checkout"
name = "Checkout"
[component.check]
url = "https://shop.acme.test/health"
"#;

const INCIDENT: &str = r#"id = "cards"
title = "Card payments failing"
impact = "major"

[components]
checkout = "partial_outage"

[[update]]
at = 2026-11-22T10:04:00+01:00
status = "investigating"
message = "Some card payments fail."

[[update]]
at = 2026-11-22T10:30:00+01:00
status = "identified"
message = "A faulty release."
"#;

const MAINTENANCE: &str = r#"id = "db"
title = "Database upgrade"
components = ["api"]
starts_at = 2026-11-25T02:00:00+01:00
ends_at = 2026-11-25T04:00:00+01:00
message = "Writes pause."
"#;

/// `text` with line `n` (1-based) replaced by `new`.
fn with_line(text: &str, n: usize, new: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == n { new } else { l })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

struct Case {
    name: &'static str,
    /// (relative path, content)
    files: Vec<(&'static str, String)>,
    /// "file:line:column: message" prefix, relative to the config folder.
    expect: &'static str,
}

fn cases() -> Vec<Case> {
    let inc = |text: String| vec![("incidents/cards.toml", text)];
    let mnt = |text: String| vec![("maintenance/db.toml", text)];
    vec![
        Case {
            name: "unknown component",
            files: inc(with_line(INCIDENT, 6, "checkot = \"partial_outage\"")),
            expect: "incidents/cards.toml:6:1: incident \"cards\": components.checkot: no component \"checkot\" in the configuration; did you mean \"checkout\"?",
        },
        Case {
            name: "unknown component status",
            files: inc(with_line(INCIDENT, 6, "checkout = \"down\"")),
            expect: "incidents/cards.toml:6:12: incident \"cards\": components.checkout: use degraded_performance, partial_outage, major_outage or under_maintenance",
        },
        Case {
            name: "updates out of order",
            files: inc(with_line(INCIDENT, 14, "at = 2026-11-22T10:00:00+01:00")),
            expect: "incidents/cards.toml:14:6: incident \"cards\": update[2].at: 2026-11-22 10:00:00 CET is not after the previous update (2026-11-22 10:04:00 CET)",
        },
        Case {
            name: "update after resolution",
            files: inc(with_line(INCIDENT, 10, "status = \"resolved\"")),
            expect: "incidents/cards.toml:13:1: incident \"cards\": update[2]: comes after the resolving update",
        },
        Case {
            name: "duplicate incident id",
            files: vec![
                ("incidents/cards.toml", INCIDENT.to_owned()),
                ("incidents/copy.toml", INCIDENT.to_owned()),
            ],
            expect: "incidents/copy.toml:1:6: incident \"cards\": id: duplicate id, already used in cards.toml",
        },
        Case {
            name: "maintenance ending before it starts",
            files: mnt(with_line(
                MAINTENANCE,
                5,
                "ends_at = 2026-11-25T01:00:00+01:00",
            )),
            expect: "maintenance/db.toml:5:11: maintenance \"db\": ends_at: 2026-11-25 01:00:00 CET is not after starts_at (2026-11-25 02:00:00 CET)",
        },
        Case {
            name: "eta before its update",
            files: inc(with_line(
                INCIDENT,
                11,
                "message = \"Some card payments fail.\"\neta = 2026-11-22T09:00:00+01:00",
            )),
            expect: "incidents/cards.toml:12:7: incident \"cards\": update[1].eta: is before its update",
        },
        Case {
            name: "next update that is neither a time nor a duration",
            files: inc(with_line(
                INCIDENT,
                16,
                "message = \"A faulty release.\"\nnext_update = \"soon\"",
            )),
            expect: "incidents/cards.toml:17:15: incident \"cards\": update[2].next_update: \"soon\" is not a date and time",
        },
        Case {
            name: "next update before its update",
            files: inc(with_line(
                INCIDENT,
                16,
                "message = \"A faulty release.\"\nnext_update = 2026-11-22T10:00:00+01:00",
            )),
            expect: "incidents/cards.toml:17:15: incident \"cards\": update[2].next_update: is not after its update",
        },
        Case {
            name: "unknown update status",
            files: inc(with_line(INCIDENT, 15, "status = \"fixing\"")),
            expect: "incidents/cards.toml:15:10: incident \"cards\": update[2].status: \"fixing\" is not an update status",
        },
        Case {
            name: "unknown impact",
            files: inc(with_line(INCIDENT, 3, "impact = \"huge\"")),
            expect: "incidents/cards.toml:3:10: incident \"cards\": impact: \"huge\" is not an impact (use none, minor, major or critical)",
        },
        Case {
            name: "follows names no incident",
            files: inc(with_line(INCIDENT, 2, "follows = \"INC-2026-1122-api\"")),
            expect: "incidents/cards.toml:2:11: incident \"cards\": follows: no incident INC-2026-1122-api in the journal",
        },
        Case {
            name: "missing title",
            files: inc(with_line(INCIDENT, 2, "")),
            expect: "incidents/cards.toml:1:1: incident \"cards\": title: is required",
        },
        Case {
            name: "no updates",
            files: inc(INCIDENT
                .split("[[update]]")
                .next()
                .unwrap_or_default()
                .to_owned()),
            expect: "incidents/cards.toml:1:1: incident \"cards\": update: is required",
        },
        Case {
            name: "missing message",
            files: inc(with_line(INCIDENT, 16, "")),
            expect: "incidents/cards.toml:13:1: incident \"cards\": update[2].message: is required",
        },
        Case {
            name: "at is not a date",
            files: inc(with_line(INCIDENT, 9, "at = \"yesterday\"")),
            expect: "incidents/cards.toml:9:6: incident \"cards\": update[1].at: \"yesterday\" is not a date and time",
        },
        Case {
            name: "at without a time",
            files: inc(with_line(INCIDENT, 9, "at = 2026-11-22")),
            expect: "incidents/cards.toml:9:6: incident \"cards\": update[1].at: 2026-11-22 is not a full date and time",
        },
        Case {
            name: "maintenance on an unknown component",
            files: mnt(with_line(MAINTENANCE, 3, "components = [\"db\"]")),
            expect: "maintenance/db.toml:3:15: maintenance \"db\": components: no component \"db\" in the configuration",
        },
        Case {
            name: "bad reminder",
            files: mnt(format!("{MAINTENANCE}remind_before = [\"a day\"]")),
            expect: "maintenance/db.toml:7:18: maintenance \"db\": remind_before: \"a day\" is not a duration",
        },
        Case {
            name: "apology too early",
            files: inc(with_line(
                INCIDENT,
                16,
                "message = \"A faulty release.\"\napology = \"Sorry.\"",
            )),
            expect: "incidents/cards.toml:17:11: incident \"cards\": update[2].apology: belongs on the resolving update",
        },
        Case {
            name: "misspelt key",
            files: inc(with_line(INCIDENT, 16, "mesage = \"A faulty release.\"")),
            expect: "incidents/cards.toml:16:1: incident \"cards\": update[2].mesage: unknown key; did you mean \"message\"?",
        },
        Case {
            name: "update in the future",
            files: inc(with_line(INCIDENT, 14, "at = 2099-01-01T00:00:00Z")),
            expect: "incidents/cards.toml:14:6: incident \"cards\": update[2].at: is more than 5 minutes in the future",
        },
        Case {
            name: "duplicate maintenance id",
            files: vec![
                ("maintenance/db.toml", MAINTENANCE.to_owned()),
                ("maintenance/db2.toml", MAINTENANCE.to_owned()),
            ],
            expect: "maintenance/db2.toml:1:6: maintenance \"db\": id: duplicate id, already used in db.toml",
        },
        Case {
            name: "bad id",
            files: inc(with_line(INCIDENT, 1, "id = \"Card Payments\"")),
            expect: "incidents/cards.toml:1:6: id: \"Card Payments\" is not a valid id",
        },
        Case {
            name: "broken TOML",
            files: inc(with_line(
                INCIDENT,
                11,
                "message = \"Some card payments fail.",
            )),
            expect: "incidents/cards.toml:11:",
        },
        Case {
            name: "local time that does not exist",
            files: inc(with_line(INCIDENT, 9, "at = 2026-03-29T02:30:00")),
            expect: "incidents/cards.toml:9:6: incident \"cards\": update[1].at: 2026-03-29 02:30:00 does not exist in this time zone",
        },
    ]
}

fn check(dir: &Path) -> std::process::Output {
    run_bounded(
        forewarn()
            .arg("check")
            .arg("--config")
            .arg(dir.join("forewarn.toml"))
            .arg("--state")
            .arg(dir.join("state")),
        Duration::from_secs(20),
    )
}

#[test]
fn every_broken_declared_file_names_its_file_line_and_key() {
    let cases = cases();
    assert!(cases.len() >= 15);
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("forewarn.toml"), CONFIG).expect("write");
        for (name, content) in &case.files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, content).expect("write");
        }
        let out = check(dir.path());
        let stderr = text(&out.stderr);
        let expected = format!("{}/{}", dir.path().display(), case.expect);
        if out.status.code() != Some(2) {
            failures.push(format!(
                "{}: exit code {:?}\n{stderr}",
                case.name,
                out.status.code()
            ));
        } else if !stderr.lines().any(|l| l.starts_with(&expected)) {
            failures.push(format!(
                "{}: no line starting with {expected:?}\n--- stderr ---\n{stderr}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A maintenance file whose window starts `offset` from now (in the past when negative)
/// and lasts two hours: fixtures follow the clock, so the suite passes on any day.
fn maintenance_from_now(offset: chrono::TimeDelta) -> String {
    let start = chrono::Utc::now() + offset;
    let end = start + chrono::TimeDelta::hours(2);
    let iso = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:00Z").to_string();
    with_line(
        &with_line(MAINTENANCE, 4, &format!("starts_at = {}", iso(start))),
        5,
        &format!("ends_at = {}", iso(end)),
    )
}

fn check_without_state(dir: &Path) -> std::process::Output {
    run_bounded(
        forewarn()
            .current_dir(dir)
            .arg("check")
            .arg("--config")
            .arg(dir.join("config/forewarn.toml"))
            .env_remove("FOREWARN_STATE"),
        Duration::from_secs(20),
    )
}

#[test]
fn valid_declared_files_pass_the_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("forewarn.toml"), CONFIG).expect("write");
    std::fs::create_dir_all(dir.path().join("incidents")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("maintenance")).expect("mkdir");
    std::fs::write(dir.path().join("incidents/cards.toml"), INCIDENT).expect("write");
    std::fs::write(
        dir.path().join("maintenance/db.toml"),
        maintenance_from_now(chrono::TimeDelta::days(2)),
    )
    .expect("write");
    let out = check(dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 incident file and 1 maintenance file are valid"));
    assert!(!text(&out.stdout).contains("Not checked"));
}

/// An operator's CI checks the config folder alone: past windows and `follows` are not
/// errors there (it says what it could not check); pointed at a journal, they are judged.
#[test]
fn a_config_folder_without_its_journal_checks_what_it_can() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    std::fs::create_dir_all(config.join("incidents")).expect("mkdir");
    std::fs::create_dir_all(config.join("maintenance")).expect("mkdir");
    std::fs::write(config.join("forewarn.toml"), CONFIG).expect("write");
    std::fs::write(
        config.join("maintenance/db.toml"),
        maintenance_from_now(-chrono::TimeDelta::days(3)),
    )
    .expect("write");
    std::fs::write(
        config.join("incidents/api.toml"),
        "id = \"api\"\nfollows = \"INC-2026-1122-api\"\n\n[[update]]\nat = 2026-11-22T10:30:00+01:00\nstatus = \"identified\"\nmessage = \"A full disk.\"\n",
    )
    .expect("write");

    // No --state and no state/journal.jsonl where it is looked for: valid, with notes.
    let out = check_without_state(dir.path());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("1 incident file and 1 maintenance file are valid"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Not checked, for want of the journal"),
        "{stdout}"
    );
    let note = |file: &str, line: usize, key: &str| {
        stdout.lines().any(|l| {
            l.trim_start()
                .starts_with(&format!("{}/{file}:{line}:", config.display()))
                && l.contains(key)
        })
    };
    assert!(note("maintenance/db.toml", 5, "ends_at"), "{stdout}");
    assert!(note("incidents/api.toml", 2, "follows"), "{stdout}");

    // Pointed at a state folder, its journal (here: none yet, so empty) is the truth.
    let out = run_bounded(
        forewarn()
            .current_dir(dir.path())
            .arg("check")
            .arg("--config")
            .arg(config.join("forewarn.toml"))
            .arg("--state")
            .arg(dir.path().join("state")),
        Duration::from_secs(20),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("maintenance/db.toml:5:11: maintenance \"db\": ends_at: is in the past"),
        "{stderr}"
    );
    assert!(stderr.contains("incidents/api.toml:2:11: incident \"api\": follows: no incident INC-2026-1122-api in the journal"), "{stderr}");

    // A journal where it is looked for by default is used without being named.
    std::fs::create_dir_all(dir.path().join("state")).expect("mkdir");
    std::fs::write(dir.path().join("state/journal.jsonl"), "").expect("write");
    let out = check_without_state(dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
}
