//! Several forewarn nodes sharing one journal on NATS JetStream (`[cluster]`).
//!
//! - `connect`: one connection to the NATS servers, with the secrets from the
//!   environment and TLS as configured.
//! - `batch`: how journal records travel as stream messages (pure): each message holds
//!   whole records as JSON Lines, the same bytes as a file journal's lines, and carries
//!   a message id derived from its content, so the same append made twice is stored once.
//! - `stream`: the journal as a JetStream stream with replicas: replay from any point,
//!   and appends that name the stream sequence they follow, so only one writer's order
//!   is ever stored.
//! - `writer`: the stream as the daemon's `journal::Store`.
//! - `tail`: following the stream as others append to it.
//! - `lease`: one leader, by a lease in the key-value store, fenced.
//! - `samples`: every location's samples, heard by every node.
//! - `forward`: what reaches a node that does not lead, passed to the one that does.
//! - `presence`: where each node stands, for `forewarn cluster status`.
//! - `link`: one node's connection, journal, tail and lease together.
//!
//! Without `[cluster]`, nothing here runs and nothing of NATS is needed.

mod batch;
mod connect;
pub mod forward;
pub mod lease;
mod link;
pub mod presence;
pub mod samples;
mod stream;
pub mod tail;
mod writer;

pub use batch::{MAX_MESSAGE_BYTES, decode, encode, message_id};
pub use connect::connect;
pub use lease::{Holder, LeaseState};
pub use link::{Link, Opened};
pub use stream::{Head, Imported, Replica, StreamJournal};
pub use tail::Tailed;
pub use writer::StreamWriter;

use crate::config::ClusterSettings;

/// What went wrong talking to the cluster, in words for operators.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("cannot reach the NATS servers ({servers}): {problem}")]
    Connect { servers: String, problem: String },
    #[error("{action}: {problem}")]
    Stream {
        action: &'static str,
        problem: String,
    },
    #[error(
        "the journal stream {stream} is damaged at message {message}: {problem}; forewarn will not fold a damaged journal"
    )]
    Corrupt {
        stream: String,
        message: u64,
        problem: String,
    },
    #[error("{0}")]
    Refused(String),
}

/// The names forewarn uses on the NATS servers, all under one namespace, so several
/// sites may share a NATS cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The journal's stream.
    pub stream: String,
    /// The one subject the journal is written on.
    pub journal_subject: String,
    /// The key-value bucket holding the leader's lease.
    pub lease_bucket: String,
    /// The key-value bucket where each node says where it stands.
    pub nodes_bucket: String,
    /// The prefix of the subjects samples are published on.
    pub samples: String,
    /// Where events are passed to the leader, and heartbeat reports.
    pub propose: String,
    pub heartbeats: String,
}

impl Names {
    pub fn new(settings: &ClusterSettings) -> Names {
        let ns = &settings.namespace;
        Names {
            stream: format!("{ns}-journal"),
            journal_subject: format!("{ns}.journal"),
            lease_bucket: format!("{ns}-leader"),
            nodes_bucket: format!("{ns}-nodes"),
            samples: format!("{ns}.samples"),
            propose: format!("{ns}.propose"),
            heartbeats: format!("{ns}.heartbeats"),
        }
    }
}

/// How long one request to set up or look up a stream or bucket may wait. A request
/// reaching a stream just created, or whose servers are electing a leader, may never
/// be answered (the client would wait its 10 seconds): asked again soon
/// ([`patiently`]), it is answered once the election is over.
pub(super) const SETUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Ask until an answer comes, for at most [`APPEND_RETRY_FOR`]: an election after a
/// server is lost, or after a stream is created, leaves requests unanswered for a few
/// seconds.
///
/// [`APPEND_RETRY_FOR`]: crate::config::cluster::APPEND_RETRY_FOR
async fn patiently<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
    action: &'static str,
    mut ask: impl FnMut() -> F,
) -> Result<T, ClusterError> {
    use crate::config::cluster::APPEND_RETRY_FOR;
    use std::time::Duration;
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        let answer = match tokio::time::timeout(SETUP_TIMEOUT, ask()).await {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "no answer within {} seconds",
                SETUP_TIMEOUT.as_secs()
            )),
        };
        match answer {
            Ok(v) => return Ok(v),
            Err(problem) if started.elapsed() + wait > APPEND_RETRY_FOR => {
                return Err(ClusterError::Stream { action, problem });
            }
            Err(problem) => {
                tracing::debug!(problem, "{action}; asking again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// A key-value bucket keeping one value per key for `max_age`: created, or updated to
/// this `max_age` (a changed setting takes effect); opened as it is when it cannot be
/// updated.
async fn kv_bucket(
    js: &async_nats::jetstream::Context,
    bucket: &str,
    description: &str,
    max_age: std::time::Duration,
    replicas: usize,
    action: &'static str,
) -> Result<async_nats::jetstream::kv::Store, ClusterError> {
    use async_nats::jetstream::{kv, stream::StorageType};
    let config = kv::Config {
        bucket: bucket.to_owned(),
        description: description.to_owned(),
        history: 1,
        max_age,
        num_replicas: replicas,
        storage: StorageType::File,
        ..Default::default()
    };
    patiently(action, || async {
        match js.create_or_update_key_value(config.clone()).await {
            Ok(store) => Ok(store),
            // Not allowed to change it: open it as it is.
            Err(e) => js.get_key_value(bucket).await.map_err(|_| e),
        }
    })
    .await
}
