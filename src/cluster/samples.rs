//! Samples from every location: each node publishes what its probes see on a subject
//! of its own per component (`<namespace>.samples.<node>.<component>`), and every node
//! hears every other's. Core NATS, not the journal: a sample lost while a connection
//! is re-made is one sample fewer, never a fact lost; the journal records only what the
//! leader's trackers confirm from them.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ClusterError, Names};
use crate::probe::Sample;

/// Samples heard that may wait for the daemon before more are dropped.
const HEARD_QUEUE: usize = 8192;

/// One sample, with where it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub node: String,
    pub location: String,
    pub component: String,
    #[serde(flatten)]
    pub sample: Sample,
}

/// The subject a node's samples of a component go to.
pub fn subject(names: &Names, node: &str, component: &str) -> String {
    format!("{}.{node}.{component}", names.samples)
}

/// Publish one sample (without waiting for anyone to hear it). Not while the
/// connection is down: held until it is back, it would tell of a moment since passed.
pub async fn publish(client: &async_nats::Client, names: &Names, seen: &Seen) {
    if client.connection_state() != async_nats::connection::State::Connected {
        return;
    }
    let Ok(payload) = serde_json::to_vec(seen) else {
        return;
    };
    let subject = subject(names, &seen.node, &seen.component);
    if let Err(e) = client.publish(subject, payload.into()).await {
        tracing::debug!(error = %e, "a sample could not be sent to the cluster");
    }
}

/// Hear every node's samples but `own`'s, until `stop`. Samples beyond what the daemon
/// keeps up with are dropped (counted in the log).
pub async fn hear(
    client: &async_nats::Client,
    names: &Names,
    own: &str,
    stop: CancellationToken,
) -> Result<mpsc::Receiver<Seen>, ClusterError> {
    let mut sub = client
        .subscribe(format!("{}.>", names.samples))
        .await
        .map_err(|e| ClusterError::Stream {
            action: "cannot hear the other locations' samples",
            problem: e.to_string(),
        })?;
    let (tx, rx) = mpsc::channel(HEARD_QUEUE);
    let own_prefix = format!("{}.{own}.", names.samples);
    tokio::spawn(async move {
        use futures_util::StreamExt;
        let mut dropped: u64 = 0;
        loop {
            let message = tokio::select! {
                _ = stop.cancelled() => break,
                m = sub.next() => m,
            };
            let Some(message) = message else { break };
            if message.subject.as_str().starts_with(&own_prefix) {
                continue;
            }
            let Ok(seen) = serde_json::from_slice::<Seen>(&message.payload) else {
                tracing::debug!(subject = %message.subject, "a sample that cannot be read was ignored");
                continue;
            };
            match tx.try_send(seen) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    dropped += 1;
                    if dropped.is_power_of_two() {
                        tracing::warn!(
                            dropped,
                            "samples from other locations arrive faster than they are taken; some were dropped"
                        );
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
        let _ = sub.unsubscribe().await;
    });
    Ok(rx)
}
