//! Watching the configuration folder: a debounced signal whenever a `.toml` file in it
//! (or in `incidents/` and `maintenance/`, or those folders themselves) is written,
//! created, renamed or removed. Reading a file is not a change (the daemon's own reads
//! would wake it again and again), and nothing else (a state folder kept inside, say)
//! counts.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use notify::event::{AccessKind, AccessMode, ModifyKind};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::config::declared::{INCIDENTS_DIR, MAINTENANCE_DIR};

/// How long the folder must be quiet before a change is reported: editors write files
/// in several steps.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

pub type Watcher = notify::RecommendedWatcher;

/// Watch `dir` recursively; every burst of changes to `.toml` files sends one `()`.
/// Keep the returned watcher alive for as long as changes should be reported. Runs on
/// the current tokio runtime.
pub fn watch(dir: &Path, tx: mpsc::UnboundedSender<()>) -> anyhow::Result<Watcher> {
    let (raw_tx, mut raw) = mpsc::unbounded_channel::<()>();
    let mut watcher =
        notify::recommended_watcher(move |result: notify::Result<Event>| match result {
            Ok(event) if is_change(&event) => {
                let _ = raw_tx.send(());
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "watching the configuration folder failed"),
        })
        .context("cannot watch the configuration folder")?;
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    tokio::spawn(async move {
        while raw.recv().await.is_some() {
            // Wait until the folder has been quiet for DEBOUNCE.
            loop {
                match tokio::time::timeout(DEBOUNCE, raw.recv()).await {
                    Ok(Some(())) => continue,
                    Ok(None) => return,
                    Err(_) => break,
                }
            }
            if tx.send(()).is_err() {
                return;
            }
        }
    });
    Ok(watcher)
}

/// A file written, created, renamed or removed (not read, not its times or permissions)
/// that the daemon reads.
fn is_change(event: &Event) -> bool {
    let kind = matches!(
        event.kind,
        EventKind::Any
            | EventKind::Create(_)
            | EventKind::Remove(_)
            | EventKind::Modify(ModifyKind::Any | ModifyKind::Data(_) | ModifyKind::Name(_))
            // Closed after writing: how most writes end.
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    );
    kind && event.paths.iter().any(|p| {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let toml = p.extension().is_some_and(|x| x == "toml") && !name.starts_with('.');
        // A folder created with a file already in it reports only the folder.
        let folder = name == INCIDENTS_DIR || name == MAINTENANCE_DIR;
        toml || folder
    })
}
