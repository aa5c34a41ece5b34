//! Property tests of what forewarn reads: the configuration, declared incident files and
//! the journal. Arbitrary bytes and mutations of valid files never make a reader panic;
//! every configuration problem names its file and a line within it; a journal damaged
//! in the middle is refused at that line, and a journal cut at any byte (a crash) loses
//! only its unfinished batch.
//!
//! A few hundred cases each run in the suite. For many more:
//! `PROPTEST_CASES=20000 cargo test --release --test properties`

use std::path::{Path, PathBuf};

use forewarn::config::declared::Declared;
use forewarn::config::{Config, LoadError};
use forewarn::journal::{Journal, JournalError, Record};
use proptest::prelude::*;
use proptest::test_runner::Config as Cases;

/// Cases per property: `PROPTEST_CASES` if set, else a few hundred.
fn cases() -> Cases {
    let mut c = Cases {
        failure_persistence: None,
        ..Cases::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 300;
    }
    c
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-0.1.0")
}

const INCIDENT: &str = r#"id = "cards"
title = "Card payments failing"
impact = "major"

[components]
checkout = "partial_outage"

[[update]]
at = 2026-11-22T10:04:00+01:00
status = "investigating"
message = "Some card payments fail."
eta = 2026-11-22T12:00:00+01:00

[[update]]
at = 2026-11-22T10:30:00+01:00
status = "resolved"
message = "A faulty release, rolled back."
apology = "We are sorry."
"#;

/// One edit of a file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        byte: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Delete {
        at: usize,
        len: usize,
    },
    /// A line written twice.
    Repeat {
        line: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop::sample::select(vec![
        b"\n".to_vec(),
        b"\"".to_vec(),
        b"[".to_vec(),
        b"[[".to_vec(),
        b"]".to_vec(),
        b"=".to_vec(),
        b"{".to_vec(),
        b"}".to_vec(),
        b",".to_vec(),
        b"#".to_vec(),
        b"\\u".to_vec(),
        b"\xff".to_vec(),
        b"\xe2\x82".to_vec(),
        b"0".to_vec(),
        b"-1".to_vec(),
        b"99999999999999999999".to_vec(),
        b"1979-05-27T07:32:00Z".to_vec(),
        b"\"\"\"".to_vec(),
        b"'".to_vec(),
        b"true".to_vec(),
        b"inf".to_vec(),
        b"nan".to_vec(),
        b"\r".to_vec(),
        b"\0".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Flip { at, byte }),
        (any::<usize>(), tokens).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..40).prop_map(|(at, len)| Mutation::Delete { at, len }),
        any::<usize>().prop_map(|line| Mutation::Repeat { line }),
    ]
}

fn apply(text: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = text.to_vec();
    for m in mutations {
        let n = b.len().max(1);
        match m {
            Mutation::Flip { at, byte } => {
                if !b.is_empty() {
                    let i = at % b.len();
                    b[i] = *byte;
                }
            }
            Mutation::Insert { at, bytes } => {
                let i = at % (b.len() + 1);
                b.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete { at, len } => {
                let i = at % n;
                let end = (i + len).min(b.len());
                if i < end {
                    b.drain(i..end);
                }
            }
            Mutation::Repeat { line } => {
                let lines: Vec<&[u8]> = b.split(|c| *c == b'\n').collect();
                let i = line % lines.len();
                let mut out = Vec::new();
                for (k, l) in lines.iter().enumerate() {
                    out.extend_from_slice(l);
                    out.push(b'\n');
                    if k == i {
                        out.extend_from_slice(l);
                        out.push(b'\n');
                    }
                }
                b = out;
            }
        }
    }
    b
}

/// Every problem of a configuration that does not load names the file and a line of it.
fn check_config_bytes(bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("forewarn.toml");
    std::fs::write(&path, bytes).expect("write");
    let lines = bytes.split(|c| *c == b'\n').count();
    match Config::load(&path) {
        Ok(_) => {}
        Err(LoadError::Read { .. }) => prop_assert!(false, "a file that exists is read"),
        Err(LoadError::Invalid(problems)) => {
            prop_assert!(!problems.is_empty());
            for p in problems.iter() {
                prop_assert!(p.file.ends_with("forewarn.toml"), "{p}");
                prop_assert!(
                    p.line >= 1 && p.line <= lines,
                    "{p} (the file has {lines} lines)"
                );
                prop_assert!(!p.message.is_empty());
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn any_bytes_as_a_configuration_are_an_answer_not_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..600)
    ) {
        check_config_bytes(&bytes)?;
    }

    #[test]
    fn a_mutated_configuration_is_an_answer_naming_file_and_line(
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let base = std::fs::read(fixture().join("forewarn.toml")).expect("fixture config");
        check_config_bytes(&apply(&base, &mutations))?;
    }

    #[test]
    fn a_mutated_incident_file_is_kept_or_refused_with_its_line(
        mutations in prop::collection::vec(mutation(), 1..4)
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(fixture().join("forewarn.toml"), dir.path().join("forewarn.toml"))
            .expect("config");
        let config = Config::load(&dir.path().join("forewarn.toml")).expect("valid config");
        std::fs::create_dir_all(dir.path().join("incidents")).expect("mkdir");
        let bytes = apply(INCIDENT.as_bytes(), &mutations);
        std::fs::write(dir.path().join("incidents/cards.toml"), &bytes).expect("write");
        let lines = bytes.split(|c| *c == b'\n').count();
        let now = chrono::Utc::now();
        let loaded = Declared::load_without_journal(&config, now);
        for p in &loaded.problems {
            prop_assert!(p.file.ends_with("cards.toml"), "{p}");
            prop_assert!(p.line >= 1 && p.line <= lines, "{p} (the file has {lines} lines)");
        }
        prop_assert_eq!(
            loaded.broken.is_empty(),
            loaded.problems.is_empty(),
            "a file is set aside exactly when it has a problem"
        );
    }

    #[test]
    fn any_bytes_as_a_journal_are_an_answer_not_a_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2000)
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("journal.jsonl"), &bytes).expect("write");
        let _ = Journal::read(dir.path());
        let _ = Journal::open(dir.path());
    }

    #[test]
    fn a_journal_damaged_in_the_middle_is_refused_at_that_line(
        line in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..3)
    ) {
        let text = std::fs::read_to_string(fixture().join("journal.jsonl")).expect("fixture");
        let lines: Vec<&str> = text.lines().collect();
        // A line before the last batch: damage there can never be a torn tail.
        let last_batch = lines
            .iter()
            .rposition(|l| !l.contains("\"more\":true"))
            .and_then(|last| lines[..last].iter().rposition(|l| !l.contains("\"more\":true")))
            .unwrap_or(0);
        let i = line.index(last_batch.max(1));
        let damaged = apply(lines[i].as_bytes(), &mutations);
        let mut file = Vec::new();
        for (k, l) in lines.iter().enumerate() {
            file.extend_from_slice(if k == i { &damaged } else { l.as_bytes() });
            file.push(b'\n');
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("journal.jsonl");
        std::fs::write(&path, &file).expect("write");
        let original: Record = serde_json::from_str(lines[i]).expect("a record");
        let still_a_record = !damaged.contains(&b'\n')
            && serde_json::from_slice::<Record>(&damaged).is_ok_and(|r| r.seq == original.seq);
        match Journal::open(dir.path()) {
            Ok((_, records)) => {
                prop_assert!(still_a_record, "line {} was damaged, and accepted", i + 1);
                prop_assert_eq!(records.len(), lines.len());
            }
            Err(JournalError::Corrupt { line: at, .. }) => {
                prop_assert!(!still_a_record || damaged.contains(&b'\n'));
                // Lines count from 1: the damaged line, or the next if the damage split it.
                let damaged_line = i + 1;
                prop_assert!(
                    (damaged_line..=damaged_line + 1).contains(&at),
                    "refused at line {at}, damage at {damaged_line}"
                );
                prop_assert_eq!(std::fs::read(&path).expect("read"), file, "left untouched");
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn a_journal_cut_at_any_byte_keeps_every_finished_batch(cut in any::<prop::sample::Index>()) {
        let text = std::fs::read(fixture().join("journal.jsonl")).expect("fixture");
        let at = cut.index(text.len() + 1);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("journal.jsonl"), &text[..at]).expect("write");
        let records: Vec<Record> = text
            .split(|c| *c == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("a record"))
            .collect();
        // What a crash at that byte leaves: every complete line, less an unfinished batch.
        let complete = text[..at].iter().filter(|c| **c == b'\n').count();
        let mut kept = complete;
        while kept > 0 && records[kept - 1].more {
            kept -= 1;
        }
        let (mut journal, replayed) = Journal::open(dir.path()).expect("a cut journal opens");
        prop_assert_eq!(replayed.len(), kept);
        prop_assert_eq!(journal.next_seq(), kept as u64 + 1);
        let appended = journal
            .append(vec![(chrono::Utc::now(), records[0].event.clone())])
            .expect("append");
        prop_assert_eq!(appended[0].seq, kept as u64 + 1);
    }
}
