//! The journal: `state/journal.jsonl`, append-only JSON Lines, the one source of truth.
//!
//! Every append is written and fsync'ed before it is returned, so nothing acts on an
//! event that could still be lost. On open the journal is replayed; a torn last line
//! (a crash in the middle of a write) is cut off with a warning, while damage anywhere
//! else stops start-up with the line number and leaves the file as it is.
//!
//! One file for the file journal's writer and replay (they share the line format and
//! its checks) and the `Store` trait both backends implement; over 500 lines for that.

mod event;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

pub use event::{
    Event, IncidentUpdate, MaintenanceWindow, Record, SubscriberRecord, VendorIncident,
    VendorReading,
};

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
    /// The journal is kept elsewhere (`[cluster]`) and could not be reached.
    #[error("{action}: {problem}")]
    Remote {
        action: &'static str,
        problem: String,
    },
    /// The journal refused the append: this writer may not write now (another node
    /// leads, or wrote since).
    #[error("{0}")]
    Refused(String),
}

/// Where events are appended and made durable: the file ([`Journal`]), or with
/// `[cluster]` a replicated stream. Whatever the store, an append returns only once its
/// records are durable, numbered one after another.
pub trait Store: Send {
    /// Append events, all or none, and return them as numbered records.
    fn append(&mut self, events: Vec<(DateTime<Utc>, Event)>) -> Result<Vec<Record>, JournalError>;
    /// Where the journal stands, for a snapshot; none when it is empty or the store
    /// keeps no anchors.
    fn anchor(&self) -> Option<Anchor>;
    /// Can appends still be made?
    fn is_writable(&self) -> bool;
    /// Where it is kept, for logs: a path, or a stream.
    fn describe(&self) -> String;
    /// Another writer's records were read and folded, up to `position` (the store's
    /// own count, such as a stream's message number), the next record to be `next_seq`:
    /// the next append follows them. (A file has no other writer.)
    fn followed(&mut self, _position: u64, _next_seq: u64) {}
}

impl Store for Journal {
    fn append(&mut self, events: Vec<(DateTime<Utc>, Event)>) -> Result<Vec<Record>, JournalError> {
        Journal::append(self, events)
    }
    fn anchor(&self) -> Option<Anchor> {
        Journal::anchor(self)
    }
    fn is_writable(&self) -> bool {
        Journal::is_writable(self)
    }
    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> JournalError + use<> {
    let path = path.display().to_string();
    move |source| JournalError::Io {
        action,
        path,
        source,
    }
}

/// A point in the journal a snapshot was taken at: the last record folded into it, where
/// its line starts and ends, and a hash of that line, so a journal replaced or cut
/// since is noticed instead of trusted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    pub seq: u64,
    /// Where the record's line starts.
    pub line_start: u64,
    /// Just after its newline: where the tail to replay begins.
    pub offset: u64,
    /// SHA-256 of the line, newline included, in hex.
    pub line_sha256: String,
}

/// What opening a journal replayed.
#[derive(Debug)]
pub struct Opened {
    /// Every record, or only those after the anchor when it held.
    pub records: Vec<Record>,
    /// The anchor was given and held: `records` is the tail after it.
    pub from_anchor: bool,
    /// Why an anchor given did not hold (and the whole journal was replayed instead).
    pub anchor_problem: Option<String>,
}

/// The writer of one state directory's journal. Holds an exclusive lock on the file.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    next_seq: u64,
    len: u64,
    /// The last record's line: where it starts, and its hash.
    last_line: Option<(u64, [u8; 32])>,
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
    /// Where the intact part's last line starts.
    last_start: Option<u64>,
}

/// Where a replay begins: at a byte offset, after a sequence number.
#[derive(Debug, Clone, Copy)]
struct Start {
    offset: u64,
    seq: u64,
}

const BEGINNING: Start = Start { offset: 0, seq: 0 };

impl Journal {
    /// Open (creating if needed) the journal in `state_dir` for writing: lock it, replay
    /// it, and cut off a torn last line.
    pub fn open(state_dir: &Path) -> Result<(Journal, Vec<Record>), JournalError> {
        Journal::open_from(state_dir, None).map(|(j, opened)| (j, opened.records))
    }

    /// [`Journal::open`], replaying only what follows `anchor` when the journal still
    /// holds it (the same line at the same place); otherwise, or when the tail is
    /// damaged, the whole journal, saying why.
    pub fn open_from(
        state_dir: &Path,
        anchor: Option<&Anchor>,
    ) -> Result<(Journal, Opened), JournalError> {
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
        let (replay, from_anchor, anchor_problem) = match anchor {
            None => (replay(&path, &file, BEGINNING)?, false, None),
            Some(a) => match holds(&file, a).and_then(|start| {
                replay(&path, &file, start).map_err(|e| format!("the journal after it: {e}"))
            }) {
                Ok(tail) => (tail, true, None),
                Err(problem) => (replay(&path, &file, BEGINNING)?, false, Some(problem)),
            },
        };
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
        let last_seq = match (replay.records.last(), anchor) {
            (Some(r), _) => r.seq,
            (None, Some(a)) if from_anchor => a.seq,
            (None, _) => 0,
        };
        let last_line = match (replay.last_start, anchor) {
            (Some(start), _) => Some((start, line_hash(&file, start, replay.intact_len, &path)?)),
            (None, Some(a)) if from_anchor => Some((a.line_start, hex_to_hash(&a.line_sha256))),
            (None, _) => None,
        };
        Ok((
            Journal {
                file,
                path,
                next_seq: last_seq + 1,
                len: replay.intact_len,
                last_line,
                poisoned: false,
            },
            Opened {
                records: replay.records,
                from_anchor,
                anchor_problem,
            },
        ))
    }

    /// Where the journal stands now, for a snapshot of everything folded from it; none
    /// while it is empty.
    pub fn anchor(&self) -> Option<Anchor> {
        let (line_start, hash) = self.last_line?;
        Some(Anchor {
            seq: self.next_seq - 1,
            line_start,
            offset: self.len,
            line_sha256: hash.iter().map(|b| format!("{b:02x}")).collect(),
        })
    }

    /// Replay a journal without writing to it (for `forewarn status` next to a running
    /// daemon). A torn last line is skipped, not repaired. A missing journal is empty.
    pub fn read(state_dir: &Path) -> Result<Replay, JournalError> {
        let path = state_dir.join(JOURNAL_FILE);
        match File::open(&path) {
            Ok(file) => replay(&path, &file, BEGINNING),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Replay {
                records: Vec::new(),
                torn_bytes: 0,
                intact_len: 0,
                last_start: None,
            }),
            Err(e) => Err(io_err("cannot open", &path)(e)),
        }
    }

    /// Fail as [`Journal::open`] would if another process holds the journal, without
    /// taking it: for a check before anything else starts.
    pub fn ensure_free(state_dir: &Path) -> Result<(), JournalError> {
        let path = state_dir.join(JOURNAL_FILE);
        let Ok(file) = File::open(&path) else {
            return Ok(()); // nothing to hold yet
        };
        match file.try_lock() {
            Ok(()) => Ok(()),
            Err(std::fs::TryLockError::WouldBlock) => Err(JournalError::Locked {
                path: path.display().to_string(),
            }),
            Err(std::fs::TryLockError::Error(_)) => Ok(()), // open_from will say
        }
    }

    /// The records after `anchor`, read without writing (for a command beside a running
    /// daemon); none when the journal no longer holds the anchor (or does not exist).
    pub fn read_after(state_dir: &Path, anchor: &Anchor) -> Result<Option<Replay>, JournalError> {
        let path = state_dir.join(JOURNAL_FILE);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("cannot open", &path)(e)),
        };
        match holds(&file, anchor) {
            Ok(start) => replay(&path, &file, start).map(Some),
            Err(_) => Ok(None),
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
        let last_len = buf[..buf.len() - 1]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(buf.len(), |i| buf.len() - i - 1);
        let last_start = buf.len() - last_len;
        self.last_line = Some((
            self.len + last_start as u64,
            Sha256::digest(&buf[last_start..]).into(),
        ));
        self.len += buf.len() as u64;
        self.next_seq += records.len() as u64;
        Ok(records)
    }
}

/// Does the journal still hold `anchor`'s line where it was? Where to replay from if so.
fn holds(file: &File, anchor: &Anchor) -> Result<Start, String> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata().map_err(|e| e.to_string())?.len();
    let line_len = anchor.offset.saturating_sub(anchor.line_start);
    if line_len == 0 || line_len > 16 * 1024 * 1024 {
        return Err("the snapshot's point in the journal is not a line".into());
    }
    if anchor.offset > len {
        return Err(format!(
            "the journal is shorter than the snapshot's point ({} bytes, expected at least {})",
            len, anchor.offset
        ));
    }
    let mut line = vec![0u8; line_len as usize];
    file.read_exact_at(&mut line, anchor.line_start)
        .map_err(|e| e.to_string())?;
    let hash: [u8; 32] = Sha256::digest(&line).into();
    if hash != hex_to_hash(&anchor.line_sha256) {
        return Err(format!(
            "the journal's line of record {} is not the one the snapshot was taken after",
            anchor.seq
        ));
    }
    // The line is the one hashed; it must also be the record named, ending its batch.
    match serde_json::from_slice::<Record>(line.strip_suffix(b"\n").unwrap_or(&line)) {
        Ok(r) if r.seq == anchor.seq && !r.more => {}
        _ => {
            return Err(format!(
                "the snapshot's point is not the end of record {} in the journal",
                anchor.seq
            ));
        }
    }
    Ok(Start {
        offset: anchor.offset,
        seq: anchor.seq,
    })
}

fn hex_to_hash(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = hex
            .get(i * 2..i * 2 + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    out
}

/// The hash of the line from `start` to `end`.
fn line_hash(file: &File, start: u64, end: u64, path: &Path) -> Result<[u8; 32], JournalError> {
    use std::os::unix::fs::FileExt;
    let mut line = vec![0u8; (end - start) as usize];
    file.read_exact_at(&mut line, start)
        .map_err(io_err("cannot read", path))?;
    Ok(Sha256::digest(&line).into())
}

fn replay(path: &Path, file: &File, from: Start) -> Result<Replay, JournalError> {
    let mut reader = BufReader::new(file);
    reader
        .seek(SeekFrom::Start(from.offset))
        .map_err(io_err("cannot read", path))?;
    let mut records: Vec<Record> = Vec::new();
    let mut line = Vec::new();
    let mut offset: u64 = from.offset;
    let mut last_start = None;
    // Where the batch being read began: (offset, records before it), and where the
    // last line before it starts.
    let mut batch_start: (u64, usize) = (from.offset, 0);
    let mut before_batch = None;
    let mut number = 0;
    let torn = |records: &mut Vec<Record>, start: (u64, usize), before: Option<u64>, end: u64| {
        records.truncate(start.1);
        Replay {
            last_start: before,
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
                before_batch = last_start;
            }
            return Ok(torn(
                &mut records,
                batch_start,
                before_batch,
                offset + n as u64,
            ));
        }
        let corrupt = |problem: String| JournalError::Corrupt {
            path: path.display().to_string(),
            line: number,
            problem,
        };
        let record: Record = serde_json::from_slice(&line[..n - 1])
            .map_err(|e| corrupt(format!("not a valid event: {e}")))?;
        let expected = records.last().map_or(from.seq + 1, |r| r.seq + 1);
        if record.seq != expected {
            return Err(corrupt(format!(
                "sequence number {} where {expected} was expected",
                record.seq
            )));
        }
        if records.last().is_none_or(|r| !r.more) {
            batch_start = (offset, records.len());
            before_batch = last_start;
        }
        records.push(record);
        last_start = Some(offset);
        offset += n as u64;
    }
    if records.last().is_some_and(|r| r.more) {
        // Complete lines, but the batch's last line never arrived.
        return Ok(torn(&mut records, batch_start, before_batch, offset));
    }
    Ok(Replay {
        records,
        torn_bytes: 0,
        intact_len: offset,
        last_start,
    })
}

/// Make a new directory entry durable. Best effort: not every platform allows it.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests;
