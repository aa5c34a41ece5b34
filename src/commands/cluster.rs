//! `forewarn cluster`: the journal shared on NATS JetStream (`[cluster]`): where it
//! stands (`status`), and moving a single node's file journal into it (`import`).

use std::path::Path;

use anyhow::{Context, anyhow};
use serde::Serialize;

use super::CommandError;
use crate::cluster::{self, StreamJournal};
use crate::config::{ClusterSettings, Config};
use crate::journal::{JOURNAL_FILE, Journal, Record};

/// The `[cluster]` table, or an error saying there is none.
fn settings(config: &Config) -> Result<&ClusterSettings, CommandError> {
    config.cluster.as_ref().ok_or_else(|| {
        CommandError::Other(anyhow!(
            "{} has no [cluster] table: this forewarn keeps its journal in a file (add [cluster] to share it over NATS)",
            config.file.display()
        ))
    })
}

/// Open the journal stream of `[cluster]`, as the command `what`.
async fn open(settings: &ClusterSettings, what: &str) -> Result<StreamJournal, CommandError> {
    let client = cluster::connect(settings, &format!("forewarn {what}"))
        .await
        .map_err(anyhow::Error::new)?;
    Ok(StreamJournal::open(client, settings)
        .await
        .map_err(anyhow::Error::new)?)
}

/// Every record of the cluster's journal (for the commands that read the journal when
/// the configuration has `[cluster]`).
pub async fn records(settings: &ClusterSettings) -> Result<Vec<Record>, CommandError> {
    let mut journal = open(settings, "reader").await?;
    Ok(journal.catch_up().await.map_err(anyhow::Error::new)?)
}

/// `forewarn cluster import FILE`: a single node's journal appended to the cluster's,
/// exactly once.
pub async fn import(config_path: &Path, file: &Path) -> Result<String, CommandError> {
    let config = Config::load(config_path)?;
    let settings = settings(&config)?;
    let dir = if file.is_dir() {
        file.to_owned()
    } else if file.file_name().is_some_and(|n| n == JOURNAL_FILE) {
        file.parent().unwrap_or(Path::new(".")).to_owned()
    } else {
        return Err(anyhow!(
            "{} is not a journal: give the state folder's {JOURNAL_FILE} (such as state/{JOURNAL_FILE})",
            file.display()
        )
        .into());
    };
    if !dir.join(JOURNAL_FILE).is_file() {
        return Err(anyhow!("{} does not exist", dir.join(JOURNAL_FILE).display()).into());
    }
    // A daemon still writing the file would add records the import never sees.
    Journal::ensure_free(&dir).context("stop the forewarn daemon using it first")?;
    let replay = Journal::read(&dir)?;
    let mut journal = open(settings, "import").await?;
    let done = journal
        .import(&replay.records)
        .await
        .map_err(anyhow::Error::new)?;
    let mut out = String::new();
    let stream = &journal.names().stream;
    if done.appended == 0 {
        out.push_str(&format!(
            "Nothing to import: the journal stream {stream} already holds all {} records of {}.\n",
            done.already,
            dir.join(JOURNAL_FILE).display()
        ));
    } else if done.already > 0 {
        out.push_str(&format!(
            "Imported the remaining {} records of {} into the journal stream {stream} (the first {} were there already).\n",
            done.appended,
            dir.join(JOURNAL_FILE).display(),
            done.already
        ));
    } else {
        out.push_str(&format!(
            "Imported {} records of {} into the journal stream {stream}.\n",
            done.appended,
            dir.join(JOURNAL_FILE).display()
        ));
    }
    if replay.torn_bytes > 0 {
        out.push_str(&format!(
            "The file ended with an incomplete write ({} bytes, a crash in the middle of an append); it was left out, as a restart would have.\n",
            replay.torn_bytes
        ));
    }
    out.push_str(
        "Start the nodes with [cluster] now; they continue from the last record. Keep the file as a backup: no node writes it any more.\n",
    );
    Ok(out)
}

#[derive(Serialize)]
struct StatusReport {
    stream: String,
    servers: Vec<String>,
    messages: u64,
    records: u64,
    replicas: usize,
    stream_leader: Option<String>,
    copies: Vec<Copy>,
}

#[derive(Serialize)]
struct Copy {
    server: String,
    current: bool,
    offline: bool,
    lag: u64,
}

/// `forewarn cluster status`: where the shared journal stands.
pub async fn status(config_path: &Path, json: bool) -> Result<String, CommandError> {
    let config = Config::load(config_path)?;
    let settings = settings(&config)?;
    let mut journal = open(settings, "status").await?;
    let head = journal.head().await.map_err(anyhow::Error::new)?;
    // The records' count is the last one's number: read to the head.
    journal.catch_up().await.map_err(anyhow::Error::new)?;
    let report = StatusReport {
        stream: journal.names().stream.clone(),
        servers: settings.nats.clone(),
        messages: head.messages,
        records: journal.next_seq() - 1,
        replicas: head.replicas,
        stream_leader: head.stream_leader.clone(),
        copies: head
            .followers
            .iter()
            .map(|r| Copy {
                server: r.server.clone(),
                current: r.current,
                offline: r.offline,
                lag: r.lag,
            })
            .collect(),
    };
    if json {
        return Ok(
            serde_json::to_string_pretty(&report).context("cannot encode the status")? + "\n",
        );
    }
    let mut out = format!(
        "Journal stream {}: {} records in {} messages, kept by {} servers.\n",
        report.stream, report.records, report.messages, report.replicas
    );
    if let Some(leader) = &report.stream_leader {
        out.push_str(&format!("  {leader}: leads the stream's replication\n"));
    }
    for c in &report.copies {
        let state = match (c.offline, c.current) {
            (true, _) => "offline".to_owned(),
            (false, true) => "up to date".to_owned(),
            (false, false) => format!("catching up, {} operations behind", c.lag),
        };
        out.push_str(&format!("  {}: {state}\n", c.server));
    }
    Ok(out)
}
