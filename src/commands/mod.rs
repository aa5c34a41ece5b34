//! One function per CLI subcommand. `main.rs` parses flags and calls these.

pub mod build;
pub mod check;
pub mod cli;
pub mod cluster;
mod edit;
pub mod heartbeat;
pub mod incident;
pub mod init;
pub mod maintenance;
pub mod notify;
pub mod outbox;
pub mod probe;
pub mod run;
pub mod serve;
pub mod status;
mod table;
pub mod upstream;

use std::path::Path;

use crate::config::{Config, LoadError};
use crate::journal::Journal;
use crate::status::StatusView;

/// Where the journal and rollups are kept unless `--state` says otherwise.
pub const DEFAULT_STATE_DIR: &str = "state";

/// Process exit codes, a contract with operators' scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// All is well.
    Success = 0,
    /// Something failed: a probe found a component down, or the command could not finish.
    Failure = 1,
    /// The configuration is invalid (every problem is printed).
    ConfigInvalid = 2,
}

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] LoadError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl CommandError {
    pub fn exit(&self) -> Exit {
        match self {
            CommandError::Config(_) => Exit::ConfigInvalid,
            CommandError::Other(_) => Exit::Failure,
        }
    }
}

impl From<crate::journal::JournalError> for CommandError {
    fn from(e: crate::journal::JournalError) -> Self {
        CommandError::Other(e.into())
    }
}

/// The status view of the journal as it stands, read without disturbing a running
/// daemon: from the daemon's snapshot and the records after it when it has one that
/// the journal still holds, else from the whole journal.
pub fn read_view(state_dir: &Path) -> Result<StatusView, CommandError> {
    // Damage after the snapshot's point is reported by the whole read below, with its
    // line number.
    if let Ok(Some(snapshot)) = crate::monitor::snapshot::read(state_dir)
        && let Ok(Some(tail)) = Journal::read_after(state_dir, &snapshot.anchor)
    {
        let mut view = snapshot.fold.view;
        for r in &tail.records {
            view.apply(r);
        }
        return Ok(view);
    }
    Ok(StatusView::from_records(&Journal::read(state_dir)?.records))
}

/// [`read_view`], from the cluster's journal when the configuration has `[cluster]`.
pub fn read_view_for(config: &Config, state_dir: &Path) -> Result<StatusView, CommandError> {
    match &config.cluster {
        Some(_) => Ok(StatusView::from_records(&journal_records(
            config, state_dir,
        )?)),
        None => read_view(state_dir),
    }
}

/// Every record of the journal: the cluster's with `[cluster]`, else the state folder's
/// file (read without writing to it).
pub fn journal_records(
    config: &Config,
    state_dir: &Path,
) -> Result<Vec<crate::journal::Record>, CommandError> {
    match &config.cluster {
        Some(settings) => cli::run_async(cluster::records(settings)),
        None => Ok(Journal::read(state_dir)?.records),
    }
}

pub fn load_config(path: &Path) -> Result<Config, CommandError> {
    Ok(Config::load(path)?)
}
