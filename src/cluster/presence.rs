//! Where each node stands, for `forewarn cluster status`: every few seconds each node
//! writes its own entry in a key-value bucket whose entries last a minute, so a node
//! that is gone drops out of the list by itself.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{ClusterError, Names};

/// How long a node's entry lasts without being written again.
pub const PRESENCE_TTL: Duration = Duration::from_secs(60);
/// How often a node writes it.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(5);

/// One node, as it last said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub node: String,
    pub location: String,
    pub leading: bool,
    /// The journal stream's last message it has read.
    pub last_message: u64,
    /// Messages it had not read yet when it last looked.
    pub lag: u64,
    /// The last record it folded.
    pub last_seq: u64,
    /// When its own probes last saw anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sample_at: Option<DateTime<Utc>>,
    /// When it started.
    pub since: DateTime<Utc>,
    pub version: String,
    /// When it wrote this.
    pub at: DateTime<Utc>,
}

/// Open (or create) the bucket of nodes.
pub async fn bucket(
    js: &jetstream::Context,
    names: &Names,
    replicas: usize,
) -> Result<kv::Store, ClusterError> {
    super::kv_bucket(
        js,
        &names.nodes_bucket,
        "forewarn: where each node stands",
        PRESENCE_TTL,
        replicas,
        "cannot open or create the list of nodes",
    )
    .await
}

/// Write this node's entry.
pub async fn tell(store: &kv::Store, presence: &Presence) {
    let Ok(value) = serde_json::to_vec(presence) else {
        return;
    };
    if let Err(e) = store.put(&presence.node, value.into()).await {
        tracing::debug!(error = %e, "cannot say where this node stands");
    }
}

/// Every node that wrote its entry within the last minute, by name (asked again while
/// the servers do not answer, as the stream's state is).
pub async fn list(store: &kv::Store) -> Result<Vec<Presence>, ClusterError> {
    super::patiently("cannot list the nodes", || list_once(store)).await
}

async fn list_once(store: &kv::Store) -> Result<Vec<Presence>, String> {
    let mut keys = store.keys().await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(key) = keys.next().await {
        let key = key.map_err(|e| e.to_string())?;
        if let Ok(Some(value)) = store.get(&key).await
            && let Ok(p) = serde_json::from_slice::<Presence>(&value)
        {
            out.push(p);
        }
    }
    out.sort_by(|a, b| a.node.cmp(&b.node));
    Ok(out)
}
