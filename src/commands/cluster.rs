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
    /// The node holding the lease, if any.
    leader: Option<cluster::Holder>,
    /// Every node heard from in the last minute.
    nodes: Vec<cluster::presence::Presence>,
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
    let client = cluster::connect(settings, "forewarn status")
        .await
        .map_err(anyhow::Error::new)?;
    let mut journal = StreamJournal::open(client.clone(), settings)
        .await
        .map_err(anyhow::Error::new)?;
    let head = journal.head().await.map_err(anyhow::Error::new)?;
    let names = cluster::Names::new(settings);
    let js = async_nats::jetstream::new(client);
    // Neither bucket exists before a node has run.
    let leader = match js.get_key_value(&names.lease_bucket).await {
        Ok(store) => cluster::lease::holder(&store).await,
        Err(_) => None,
    };
    let nodes = match js.get_key_value(&names.nodes_bucket).await {
        Ok(store) => cluster::presence::list(&store)
            .await
            .map_err(anyhow::Error::new)?,
        Err(_) => Vec::new(),
    };
    // The records' count is the last one's number: read to the head.
    journal.catch_up().await.map_err(anyhow::Error::new)?;
    let report = StatusReport {
        leader,
        nodes,
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
    let tz = config.site.timezone;
    let when = |at: chrono::DateTime<chrono::Utc>| {
        at.with_timezone(&tz)
            .format("%H:%M:%S %Z on %-d %B")
            .to_string()
    };
    match &report.leader {
        Some(l) => out.push_str(&format!(
            "Leader: {} ({}), since {}.\n",
            l.node,
            l.location,
            when(l.since)
        )),
        None => out.push_str("Leader: none at the moment (a node takes the lead within the lease's time once one runs).\n"),
    }
    if report.nodes.is_empty() {
        out.push_str("Nodes: none heard from in the last minute.\n");
    } else {
        out.push_str("Nodes heard from in the last minute:\n");
        let now = chrono::Utc::now();
        for n in &report.nodes {
            let sample = match n.last_sample_at {
                Some(at) => format!(
                    "last sample {} ago",
                    crate::probe::short_duration((now - at).to_std().unwrap_or_default())
                ),
                None => "no sample yet".to_owned(),
            };
            out.push_str(&format!(
                "  {} ({}): {}, {} message{} behind the journal, {sample}\n",
                n.node,
                n.location,
                if n.leading { "leading" } else { "following" },
                n.lag,
                if n.lag == 1 { "" } else { "s" }
            ));
        }
    }
    Ok(out)
}
