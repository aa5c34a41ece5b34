//! Snapshots: everything the daemon folds from the journal (the view, the subscribers,
//! what is owed, the operator alerts raised), written at a point of the journal so a
//! start replays only what follows it.
//!
//! `state/snapshot.json` holds two lines: a header (format, version, the journal
//! [`Anchor`] it was taken at, and the SHA-256 of that anchor and the second line) and
//! the folded state.
//! It is written beside and renamed over, synced, every [`EVERY`] records, at a clean
//! stop, and after a start that had to replay many records. Deliveries already made are
//! not in it: the journal keeps every receipt, but a start no longer reads them.
//!
//! A snapshot that is missing, of another version, damaged (its hash), or taken at a
//! point the journal no longer holds (the same line at the same place) is set aside with
//! a warning, and the whole journal is replayed: never a wrong state.

use std::path::Path;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::alerts::AlertLog;
use crate::files::{Durability, write_atomic};
use crate::journal::Anchor;
use crate::notify::audience::Audience;
use crate::notify::fold::Fold;
use crate::notify::outbox::{Outbox, OutboxParts};
use crate::status::{StatusView, ViewParts};

/// The snapshot's file name inside the state directory.
pub const SNAPSHOT_FILE: &str = "snapshot.json";
/// What the first line says the file is.
const FORMAT: &str = "forewarn snapshot";
/// The version of the folded state's shape; a snapshot of another is not read. (3: the
/// vendors' pages followed, and the causes they give incidents.)
pub const VERSION: u32 = 3;
/// Records appended between two snapshots.
pub const EVERY: u64 = 10_000;

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    written_at: chrono::DateTime<Utc>,
    anchor: Anchor,
    state_sha256: String,
}

#[derive(Serialize)]
struct StateOut<'a> {
    view: ViewParts,
    audience: &'a Audience,
    outbox: OutboxParts,
    alerts: &'a AlertLog,
}

#[derive(Deserialize)]
struct StateIn {
    view: ViewParts,
    audience: Audience,
    outbox: OutboxParts,
    alerts: AlertLog,
}

/// A snapshot read back: what was folded up to `anchor`.
pub struct Snapshot {
    pub anchor: Anchor,
    pub fold: Fold,
    pub alerts: AlertLog,
}

/// Write the snapshot of what is folded up to `anchor`; its size in bytes.
pub fn write(
    state_dir: &Path,
    anchor: &Anchor,
    view: &StatusView,
    audience: &Audience,
    outbox: &Outbox,
    alerts: &AlertLog,
) -> std::io::Result<usize> {
    let state = serde_json::to_vec(&StateOut {
        view: view.to_parts(),
        audience,
        outbox: outbox.to_parts(),
        alerts,
    })?;
    let header = Header {
        format: FORMAT.to_owned(),
        version: VERSION,
        written_at: Utc::now(),
        anchor: anchor.clone(),
        state_sha256: checksum(anchor, &state)?,
    };
    let mut bytes = serde_json::to_vec(&header)?;
    bytes.push(b'\n');
    bytes.extend_from_slice(&state);
    bytes.push(b'\n');
    write_atomic(&state_dir.join(SNAPSHOT_FILE), &bytes, Durability::Durable)?;
    Ok(bytes.len())
}

/// The snapshot in `state_dir`: none if there is no file; an error saying why it
/// cannot be used otherwise.
pub fn read(state_dir: &Path) -> Result<Option<Snapshot>, String> {
    let path = state_dir.join(SNAPSHOT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    let (head, rest) = bytes
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| (&bytes[..i], &bytes[i + 1..]))
        .ok_or("it is incomplete")?;
    let header: Header =
        serde_json::from_slice(head).map_err(|_| "its first line is not a snapshot header")?;
    if header.format != FORMAT {
        return Err("it is not a forewarn snapshot".into());
    }
    if header.version != VERSION {
        return Err(format!(
            "it is of version {}, and this release reads version {VERSION}",
            header.version
        ));
    }
    let state = rest.strip_suffix(b"\n").ok_or("it is incomplete")?;
    if checksum(&header.anchor, state).ok() != Some(header.state_sha256) {
        return Err("it is damaged (its checksum does not match)".into());
    }
    let state: StateIn =
        serde_json::from_slice(state).map_err(|e| format!("it cannot be read: {e}"))?;
    let outbox = Outbox::from_parts(state.outbox).ok_or("it names a notice it does not hold")?;
    Ok(Some(Snapshot {
        anchor: header.anchor,
        fold: Fold {
            view: StatusView::from_parts(state.view),
            audience: state.audience,
            outbox,
        },
        alerts: state.alerts,
    }))
}

/// Set an unusable snapshot aside (as `snapshot.json.unusable`) so it is not read again,
/// and the next snapshot written replaces nothing an operator may want to look at.
pub fn set_aside(state_dir: &Path) {
    let path = state_dir.join(SNAPSHOT_FILE);
    let _ = std::fs::rename(&path, state_dir.join(format!("{SNAPSHOT_FILE}.unusable")));
}

/// The SHA-256 of the anchor and the state together: neither can change unnoticed.
fn checksum(anchor: &Anchor, state: &[u8]) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    hasher.update(serde_json::to_vec(anchor)?);
    hasher.update(b"\n");
    hasher.update(state);
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
