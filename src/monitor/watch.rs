//! Watching the configuration folder: a debounced signal whenever a `.toml` file in it
//! (or in `incidents/` and `maintenance/`, or those folders themselves) is written,
//! created, renamed or removed. Nothing else (a state folder kept inside, say) counts.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use notify::RecursiveMode;
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use tokio::sync::mpsc;

use crate::config::declared::{INCIDENTS_DIR, MAINTENANCE_DIR};

/// How long the folder must be quiet before a change is reported: editors write files
/// in several steps.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

pub type Watcher = Debouncer<notify::RecommendedWatcher>;

/// Watch `dir` recursively; every burst of changes to `.toml` files sends one `()`.
/// Keep the returned watcher alive for as long as changes should be reported.
pub fn watch(dir: &Path, tx: mpsc::UnboundedSender<()>) -> anyhow::Result<Watcher> {
    let mut debouncer = new_debouncer(DEBOUNCE, move |result: DebounceEventResult| match result {
        Ok(events) => {
            let relevant = events.iter().any(|e| {
                let p = &e.path;
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let toml = p.extension().is_some_and(|x| x == "toml") && !name.starts_with('.');
                // A folder created with a file already in it reports only the folder.
                let folder = name == INCIDENTS_DIR || name == MAINTENANCE_DIR;
                toml || folder
            });
            if relevant {
                let _ = tx.send(());
            }
        }
        Err(e) => tracing::warn!(error = %e, "watching the configuration folder failed"),
    })
    .context("cannot watch the configuration folder")?;
    debouncer
        .watcher()
        .watch(dir, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    Ok(debouncer)
}
