//! Requests from the command line to a running daemon, which holds the journal's lock:
//! one small file per request under `<state>/requests/`, picked up within a second.

use std::path::{Path, PathBuf};

use anyhow::Context;

pub const REQUESTS_DIR: &str = "requests";
const RETRY_PREFIX: &str = "retry-";

fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join(REQUESTS_DIR)
}

/// Ask the daemon to retry a dead delivery.
pub fn request_retry(state_dir: &Path, id: &str) -> anyhow::Result<()> {
    let dir = dir(state_dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{RETRY_PREFIX}{id}"));
    std::fs::write(&path, b"").with_context(|| format!("cannot write {}", path.display()))
}

/// The delivery ids waiting to be retried; their files are removed.
pub fn take_retries(state_dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir(state_dir)) else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_prefix(RETRY_PREFIX)
            && id.starts_with("msg_")
            && id.len() < 64
            && std::fs::remove_file(e.path()).is_ok()
        {
            ids.push(id.to_owned());
        }
    }
    ids.sort();
    ids
}
