//! The journal: `state/journal.jsonl`, append-only JSON Lines, the one source of truth.
//!
//! Every append is written and fsync'ed before it is returned, so nothing acts on an
//! event that could still be lost. On open the journal is replayed; a torn last line
//! (a crash in the middle of a write) is cut off with a warning, while damage anywhere
//! else stops start-up with the line number and leaves the file as it is.

mod event;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

pub use event::{Event, IncidentUpdate, MaintenanceWindow, Record, SubscriberRecord};

/// The journal's file name inside the state directory.
pub const JOURNAL_FILE: &str = "journal.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "{path}:{line}: the journal is damaged here ({problem}); forewarn will not start on a damaged journal. The file was left untouched: restore it from a backup, or move it aside to start a new one"
    )]
    Corrupt {
        path: String,
        line: usize,
        problem: String,
    },
    #[error(
        "{path} is in use by another forewarn process (only one daemon may write a state directory)"
    )]
    Locked { path: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: io::Error,
    },
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> JournalError + use<> {
    let path = path.display().to_string();
    move |source| JournalError::Io {
        action,
        path,
        source,
    }
}

/// The writer of one state directory's journal. Holds an exclusive lock on the file.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    next_seq: u64,
    len: u64,
    /// A failed write could not be undone: appending more would corrupt the file.
    poisoned: bool,
}

/// What replaying a journal found.
#[derive(Debug)]
pub struct Replay {
    pub records: Vec<Record>,
    /// Bytes of a torn tail (an incomplete line, or an incomplete batch of lines) that
    /// were (or, read-only, would be) cut off.
    pub torn_bytes: usize,
    /// Length in bytes of the journal's intact part.
    pub intact_len: u64,
}

impl Journal {
    /// Open (creating if needed) the journal in `state_dir` for writing: lock it, replay
    /// it, and cut off a torn last line.
    pub fn open(state_dir: &Path) -> Result<(Journal, Vec<Record>), JournalError> {
        std::fs::create_dir_all(state_dir).map_err(io_err("cannot create", state_dir))?;
        let path = state_dir.join(JOURNAL_FILE);
        let created = !path.exists();
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io_err("cannot open", &path))?;
        if let Err(e) = file.try_lock() {
            return match e {
                std::fs::TryLockError::WouldBlock => Err(JournalError::Locked {
                    path: path.display().to_string(),
                }),
                std::fs::TryLockError::Error(source) => Err(JournalError::Io {
                    action: "cannot lock",
                    path: path.display().to_string(),
                    source,
                }),
            };
        }
        if created {
            sync_dir(state_dir);
        }
        let replay = replay(&path, &file)?;
        if replay.torn_bytes > 0 {
            tracing::warn!(
                path = %path.display(),
                bytes = replay.torn_bytes,
                "the journal ended with an incomplete write (a crash in the middle of an append); the incomplete part was removed"
            );
            file.set_len(replay.intact_len)
                .map_err(io_err("cannot repair", &path))?;
            file.sync_all().map_err(io_err("cannot sync", &path))?;
        }
        let next_seq = replay.records.last().map_or(1, |r| r.seq + 1);
        Ok((
            Journal {
                file,
                path,
                next_seq,
                len: replay.intact_len,
                poisoned: false,
            },
            replay.records,
        ))
    }

    /// Replay a journal without writing to it (for `forewarn status` next to a running
    /// daemon). A torn last line is skipped, not repaired. A missing journal is empty.
    pub fn read(state_dir: &Path) -> Result<Replay, JournalError> {
        let path = state_dir.join(JOURNAL_FILE);
        match File::open(&path) {
            Ok(file) => replay(&path, &file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Replay {
                records: Vec::new(),
                torn_bytes: 0,
                intact_len: 0,
            }),
            Err(e) => Err(io_err("cannot open", &path)(e)),
        }
    }

    /// Can appends still be made? (False after a write that could not be undone.)
    pub fn is_writable(&self) -> bool {
        !self.poisoned
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number the next appended event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Append events (all or none, also across a crash), fsync, and return them as
    /// numbered records.
    pub fn append(
        &mut self,
        events: Vec<(DateTime<Utc>, Event)>,
    ) -> Result<Vec<Record>, JournalError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if self.poisoned {
            return Err(JournalError::Io {
                action: "refusing to write after a failed write that could not be undone to",
                path: self.path.display().to_string(),
                source: io::Error::other("restart forewarn to repair the journal"),
            });
        }
        let mut buf = Vec::new();
        let mut records = Vec::with_capacity(events.len());
        let last = events.len() - 1;
        for (i, (at, event)) in events.into_iter().enumerate() {
            let record = Record {
                seq: self.next_seq + i as u64,
                at,
                more: i < last,
                event,
            };
            serde_json::to_writer(&mut buf, &record).map_err(|e| JournalError::Io {
                action: "cannot encode an event for",
                path: self.path.display().to_string(),
                source: e.into(),
            })?;
            buf.push(b'\n');
            records.push(record);
        }
        let written = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Never leave half a batch behind for the next append to glue onto; if even
            // that fails, write nothing more until a restart repairs the tail.
            let undone = self
                .file
                .set_len(self.len)
                .and_then(|()| self.file.seek(SeekFrom::End(0)).map(|_| ()));
            if undone.is_err() {
                self.poisoned = true;
            }
            return Err(io_err("cannot write", &self.path)(e));
        }
        self.len += buf.len() as u64;
        self.next_seq += records.len() as u64;
        Ok(records)
    }
}

fn replay(path: &Path, file: &File) -> Result<Replay, JournalError> {
    let mut reader = BufReader::new(file);
    reader
        .seek(SeekFrom::Start(0))
        .map_err(io_err("cannot read", path))?;
    let mut records: Vec<Record> = Vec::new();
    let mut line = Vec::new();
    let mut offset: u64 = 0;
    // Where the batch being read began: (offset, records before it).
    let mut batch_start: (u64, usize) = (0, 0);
    let mut number = 0;
    let torn = |records: &mut Vec<Record>, start: (u64, usize), end: u64| {
        records.truncate(start.1);
        Replay {
            records: std::mem::take(records),
            torn_bytes: (end - start.0) as usize,
            intact_len: start.0,
        }
    };
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(io_err("cannot read", path))?;
        if n == 0 {
            break;
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            // The last line never got its newline: an interrupted append, and with it
            // the whole batch it belonged to.
            if records.last().is_none_or(|r| !r.more) {
                batch_start = (offset, records.len());
            }
            return Ok(torn(&mut records, batch_start, offset + n as u64));
        }
        let corrupt = |problem: String| JournalError::Corrupt {
            path: path.display().to_string(),
            line: number,
            problem,
        };
        let record: Record = serde_json::from_slice(&line[..n - 1])
            .map_err(|e| corrupt(format!("not a valid event: {e}")))?;
        let expected = records.last().map_or(1, |r| r.seq + 1);
        if record.seq != expected {
            return Err(corrupt(format!(
                "sequence number {} where {expected} was expected",
                record.seq
            )));
        }
        if records.last().is_none_or(|r| !r.more) {
            batch_start = (offset, records.len());
        }
        records.push(record);
        offset += n as u64;
    }
    if records.last().is_some_and(|r| r.more) {
        // Complete lines, but the batch's last line never arrived.
        return Ok(torn(&mut records, batch_start, offset));
    }
    Ok(Replay {
        records,
        torn_bytes: 0,
        intact_len: offset,
    })
}

/// Make a new directory entry durable. Best effort: not every platform allows it.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
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
}
