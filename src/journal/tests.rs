use super::*;
use crate::vocab::ComponentStatus;

fn change(to: ComponentStatus) -> (DateTime<Utc>, Event) {
    (
        Utc::now(),
        Event::ComponentStatusChanged {
            component: "api".into(),
            from: ComponentStatus::Operational,
            to,
            reason: "HTTP 503".into(),
            incident: None,
        },
    )
}

#[test]
fn appends_survive_reopening_with_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut j, records) = Journal::open(dir.path()).unwrap();
        assert!(records.is_empty());
        let r = j
            .append(vec![change(ComponentStatus::MajorOutage)])
            .unwrap();
        assert_eq!(r[0].seq, 1);
        let r = j
            .append(vec![
                change(ComponentStatus::Operational),
                change(ComponentStatus::PartialOutage),
            ])
            .unwrap();
        assert_eq!((r[0].seq, r[1].seq), (2, 3));
    }
    let (j, records) = Journal::open(dir.path()).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(j.next_seq(), 4);
}

#[test]
fn a_second_writer_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_j, _) = Journal::open(dir.path()).unwrap();
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err}");
}

#[test]
fn a_torn_last_line_is_cut_off_and_appends_continue() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(vec![change(ComponentStatus::MajorOutage)])
            .unwrap();
    }
    let path = dir.path().join(JOURNAL_FILE);
    let good = std::fs::read(&path).unwrap();
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"seq":2,"at":"2026-11-22T10:"#).unwrap();
    drop(f);

    let read_only = Journal::read(dir.path()).unwrap();
    assert_eq!(read_only.records.len(), 1);
    assert!(read_only.torn_bytes > 0);
    assert_ne!(std::fs::read(&path).unwrap(), good, "reading never repairs");

    let (mut j, records) = Journal::open(dir.path()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(std::fs::read(&path).unwrap(), good);
    let r = j
        .append(vec![change(ComponentStatus::Operational)])
        .unwrap();
    assert_eq!(r[0].seq, 2);
}

#[test]
fn a_batch_cut_short_by_a_crash_is_dropped_whole() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append(vec![change(ComponentStatus::MajorOutage)])
            .unwrap();
        j.append(vec![
            change(ComponentStatus::Operational),
            change(ComponentStatus::PartialOutage),
            change(ComponentStatus::MajorOutage),
        ])
        .unwrap();
    }
    let path = dir.path().join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].contains("\"more\":true") && !lines[3].contains("more"));
    // The crash came after the batch's second line reached the disk.
    std::fs::write(&path, format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2])).unwrap();
    let (mut j, records) = Journal::open(dir.path()).unwrap();
    assert_eq!(records.len(), 1, "only the first, complete batch survives");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", lines[0])
    );
    assert_eq!(
        j.append(vec![change(ComponentStatus::Operational)])
            .unwrap()[0]
            .seq,
        2
    );
}

#[test]
fn damage_in_the_middle_names_the_line_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        for _ in 0..3 {
            j.append(vec![change(ComponentStatus::MajorOutage)])
                .unwrap();
        }
    }
    let path = dir.path().join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let damaged = text.replacen("\"seq\":2", "\"seq\":2,,", 1);
    std::fs::write(&path, &damaged).unwrap();
    let err = Journal::open(dir.path()).unwrap_err();
    match &err {
        JournalError::Corrupt { line, .. } => assert_eq!(*line, 2),
        other => panic!("expected corruption, got {other}"),
    }
    assert!(err.to_string().contains("journal.jsonl:2:"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), damaged);
}

#[test]
fn a_gap_in_sequence_numbers_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        for _ in 0..3 {
            j.append(vec![change(ComponentStatus::MajorOutage)])
                .unwrap();
        }
    }
    let path = dir.path().join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let err = Journal::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains(":2:"), "{err}");
    assert!(err.to_string().contains("sequence number 3"), "{err}");
}

fn appended(dir: &Path, n: usize) -> Journal {
    let (mut j, _) = Journal::open(dir).unwrap();
    for _ in 0..n {
        j.append(vec![change(ComponentStatus::MajorOutage)])
            .unwrap();
    }
    j
}

#[test]
fn an_anchor_that_holds_replays_only_the_tail() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = {
        let mut j = appended(dir.path(), 3);
        let a = j.anchor().expect("an anchor");
        assert_eq!(a.seq, 3);
        j.append(vec![
            change(ComponentStatus::Operational),
            change(ComponentStatus::PartialOutage),
        ])
        .unwrap();
        a
    };
    let (j, opened) = Journal::open_from(dir.path(), Some(&anchor)).unwrap();
    assert!(opened.from_anchor && opened.anchor_problem.is_none());
    assert_eq!(
        opened.records.iter().map(|r| r.seq).collect::<Vec<_>>(),
        vec![4, 5]
    );
    let resumed = j.anchor().unwrap();
    drop(j);
    let (j, all) = Journal::open(dir.path()).unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        j.anchor().unwrap(),
        resumed,
        "the same point, however it was reached"
    );
    drop(j);
    // An anchor at the very end: nothing to replay, and appends go on.
    let (mut j, opened) = Journal::open_from(dir.path(), Some(&resumed)).unwrap();
    assert!(opened.from_anchor && opened.records.is_empty());
    assert_eq!(
        j.append(vec![change(ComponentStatus::Operational)])
            .unwrap()[0]
            .seq,
        6
    );
}

#[test]
fn an_anchor_the_journal_no_longer_holds_replays_everything_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = appended(dir.path(), 3).anchor().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    // Another journal of the same length: the anchored line differs.
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("HTTP 503", "HTTP 504")).unwrap();
    let (_, opened) = Journal::open_from(dir.path(), Some(&anchor)).unwrap();
    assert!(!opened.from_anchor);
    assert_eq!(opened.records.len(), 3, "the whole journal instead");
    assert!(opened.anchor_problem.unwrap().contains("record 3"));
    // A journal cut short.
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&path, format!("{}\n", lines[0])).unwrap();
    let (_, opened) = Journal::open_from(dir.path(), Some(&anchor)).unwrap();
    assert!(!opened.from_anchor && opened.records.len() == 1);
    assert!(opened.anchor_problem.unwrap().contains("shorter"));
}

#[test]
fn damage_after_an_anchor_is_found_by_the_whole_replay_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = {
        let mut j = appended(dir.path(), 2);
        let a = j.anchor().unwrap();
        j.append(vec![change(ComponentStatus::Operational)])
            .unwrap();
        j.append(vec![change(ComponentStatus::Operational)])
            .unwrap();
        a
    };
    let path = dir.path().join(JOURNAL_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"seq\":3", "\"seq\":3,,", 1)).unwrap();
    let err = Journal::open_from(dir.path(), Some(&anchor)).unwrap_err();
    assert!(err.to_string().contains("journal.jsonl:3:"), "{err}");
}

#[test]
fn a_torn_batch_after_an_anchor_is_cut_off_and_the_anchor_stays_usable() {
    let dir = tempfile::tempdir().unwrap();
    let anchor = appended(dir.path(), 2).anchor().unwrap();
    let path = dir.path().join(JOURNAL_FILE);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(br#"{"seq":3,"at":"2026-11-22T10:"#).unwrap();
    drop(f);
    let (j, opened) = Journal::open_from(dir.path(), Some(&anchor)).unwrap();
    assert!(opened.from_anchor && opened.records.is_empty());
    assert_eq!(j.anchor().unwrap(), anchor);
    assert_eq!(j.next_seq(), 3);
}

#[test]
fn an_anchor_naming_another_record_than_its_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut anchor = appended(dir.path(), 3).anchor().unwrap();
    anchor.seq = 7; // the right line and hash, the wrong number
    let (j, opened) = Journal::open_from(dir.path(), Some(&anchor)).unwrap();
    assert!(!opened.from_anchor && opened.records.len() == 3);
    assert!(opened.anchor_problem.unwrap().contains("record 7"));
    assert_eq!(
        j.next_seq(),
        4,
        "numbering goes on from the journal, not the anchor"
    );
}

#[test]
fn a_journal_held_by_another_writer_is_not_free() {
    let dir = tempfile::tempdir().unwrap();
    assert!(Journal::ensure_free(dir.path()).is_ok(), "no journal yet");
    let held = appended(dir.path(), 1);
    let err = Journal::ensure_free(dir.path()).unwrap_err();
    assert!(matches!(err, JournalError::Locked { .. }), "{err}");
    drop(held);
    assert!(Journal::ensure_free(dir.path()).is_ok());
    let (_j, records) = Journal::open(dir.path()).unwrap();
    assert_eq!(records.len(), 1, "checking took nothing away");
}
