//! One leader: a lease in JetStream's key-value store. The bucket keeps one value per
//! key for at most the lease's time, so a leader that stops renewing loses the lease by
//! itself. The holder renews it by compare-and-swap on its revision; the others try to
//! create it, which succeeds only once it is gone.
//!
//! Fencing: the holder counts its lease from the moment it *sent* each renewal, and
//! calls it over a margin before the server would let it expire, so it stops writing
//! before another node can take the lease. The journal's expected-sequence check is the
//! second fence: an append made on a stale view of the stream is refused.

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use super::{ClusterError, Names};
use crate::config::Node;

/// The key holding the lease.
const KEY: &str = "leader";

/// What this node knows of the lease.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseState {
    /// Who holds it, as last read (this node's name when it does).
    pub holder: Option<Holder>,
    /// This node holds it: the revision it holds, the journal stream's last message
    /// when it took it, and until when it may act on it.
    pub mine: Option<Held>,
}

/// A lease held by this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub revision: u64,
    /// The journal stream's last message when the lease was taken: this node acts
    /// only once it has read that far.
    pub head: u64,
    pub valid_until: Instant,
}

impl LeaseState {
    /// May this node act as the leader now?
    pub fn valid(&self) -> bool {
        self.mine.is_some_and(|h| Instant::now() < h.valid_until)
    }
}

/// What the lease says about its holder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub node: String,
    pub location: String,
    pub since: DateTime<Utc>,
}

/// The margin the holder keeps before the server's expiry.
pub fn margin(ttl: Duration) -> Duration {
    (ttl / 5).max(Duration::from_millis(300))
}

/// Open (or create) the lease bucket.
pub async fn bucket(
    js: &jetstream::Context,
    names: &Names,
    ttl: Duration,
    replicas: usize,
) -> Result<kv::Store, ClusterError> {
    super::kv_bucket(
        js,
        &names.lease_bucket,
        "forewarn: which node leads",
        ttl,
        replicas,
        "cannot open or create the leader's lease",
    )
    .await
}

/// Who holds the lease now, if anyone.
pub async fn holder(store: &kv::Store) -> Option<Holder> {
    let entry = store.entry(KEY).await.ok()??;
    if !matches!(entry.operation, kv::Operation::Put) {
        return None;
    }
    serde_json::from_slice(&entry.value).ok()
}

/// Hold or seek the lease until `stop`, telling `state` each change. `head` gives the
/// journal stream's last message, read when the lease is taken.
pub async fn run<F, Fut>(
    store: kv::Store,
    node: Node,
    ttl: Duration,
    head: F,
    state: watch::Sender<LeaseState>,
    stop: tokio_util::sync::CancellationToken,
) where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<u64, ClusterError>>,
{
    let renew_every = ttl / 3;
    let seek_every = (ttl / 4).max(Duration::from_millis(250));
    let request_limit = renew_every.max(Duration::from_millis(500));
    let mut since = Utc::now();
    loop {
        let held = state.borrow().mine;
        match held {
            Some(h) => {
                // Renew a third of the way through; keep trying until it runs out.
                let sent = Instant::now();
                let value = value(&node, since);
                let renewed =
                    tokio::time::timeout(request_limit, store.update(KEY, value, h.revision)).await;
                match renewed {
                    Ok(Ok(revision)) => {
                        hold(&state, revision, h.head, sent + ttl - margin(ttl));
                        if sleep_or_stop(renew_every, &stop).await {
                            break;
                        }
                    }
                    // The renewal was stored but its answer lost: the entry is still ours.
                    Ok(Err(e))
                        if e.kind() == kv::UpdateErrorKind::WrongLastRevision
                            && let Some(revision) =
                                bounded(request_limit, ours(&store, &node, since)).await =>
                    {
                        hold(&state, revision, h.head, sent + ttl - margin(ttl));
                        if sleep_or_stop(renew_every, &stop).await {
                            break;
                        }
                    }
                    Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                        tracing::warn!(
                            node = %node.name,
                            "another node holds the lead now; this node stops acting as the leader"
                        );
                        let other = bounded(request_limit, holder(&store)).await;
                        state.send_modify(|s| {
                            s.mine = None;
                            s.holder = other;
                        });
                    }
                    other => {
                        let problem = match other {
                            Ok(Err(e)) => e.to_string(),
                            _ => "no answer in time".to_owned(),
                        };
                        if Instant::now() >= h.valid_until {
                            tracing::warn!(
                                node = %node.name,
                                problem,
                                "the lead could not be renewed in time; this node stops acting as the leader"
                            );
                            state.send_modify(|s| {
                                s.mine = None;
                                s.holder = None;
                            });
                        } else if sleep_or_stop(Duration::from_millis(200), &stop).await {
                            break;
                        }
                    }
                }
            }
            None => {
                let sent = Instant::now();
                since = Utc::now();
                let taken =
                    tokio::time::timeout(request_limit, store.create(KEY, value(&node, since)))
                        .await;
                // A creation stored but not answered in time is still ours.
                let taken = match taken {
                    Ok(Ok(revision)) => Some(revision),
                    _ => bounded(request_limit, ours(&store, &node, since)).await,
                };
                match taken {
                    Some(revision) => match head().await {
                        Ok(head) => {
                            tracing::info!(node = %node.name, location = %node.location, "this node leads the cluster now");
                            state.send_modify(|s| {
                                s.mine = Some(Held {
                                    revision,
                                    head,
                                    valid_until: sent + ttl - margin(ttl),
                                });
                                s.holder = Some(Holder {
                                    node: node.name.clone(),
                                    location: node.location.clone(),
                                    since,
                                });
                            });
                        }
                        // Without the journal's head it cannot act: let the lease go.
                        Err(e) => {
                            tracing::warn!(error = %e, "took the lead but cannot read the journal's head; letting it go");
                            let _ = store.delete_expect_revision(KEY, Some(revision)).await;
                            if sleep_or_stop(seek_every, &stop).await {
                                break;
                            }
                        }
                    },
                    None => {
                        let other = bounded(request_limit, holder(&store)).await;
                        if state.borrow().holder != other {
                            state.send_modify(|s| s.holder = other);
                        }
                        if sleep_or_stop(seek_every, &stop).await {
                            break;
                        }
                    }
                }
            }
        }
        if stop.is_cancelled() {
            break;
        }
    }
    // Stopping: hand the lead over at once rather than let it run out.
    let held = state.borrow().mine;
    if let Some(h) = held {
        state.send_modify(|s| s.mine = None);
        if store
            .delete_expect_revision(KEY, Some(h.revision))
            .await
            .is_ok()
        {
            tracing::info!(node = %node.name, "handed the lead over");
        }
    }
}

/// This node holds the lease at `revision` until `valid_until`.
fn hold(state: &watch::Sender<LeaseState>, revision: u64, head: u64, valid_until: Instant) {
    state.send_modify(|s| {
        s.mine = Some(Held {
            revision,
            head,
            valid_until,
        })
    });
}

/// The lease's revision when the entry is this node's own, written at `since`.
async fn ours(store: &kv::Store, node: &Node, since: DateTime<Utc>) -> Option<u64> {
    let entry = store.entry(KEY).await.ok()??;
    if !matches!(entry.operation, kv::Operation::Put) {
        return None;
    }
    let h: Holder = serde_json::from_slice(&entry.value).ok()?;
    (h.node == node.name && h.since == since).then_some(entry.revision)
}

fn value(node: &Node, since: DateTime<Utc>) -> bytes::Bytes {
    serde_json::to_vec(&Holder {
        node: node.name.clone(),
        location: node.location.clone(),
        since,
    })
    .unwrap_or_default()
    .into()
}

/// A lookup that gives up (as "nothing") after `limit`: a slow answer must not hold
/// the lease's clock back.
async fn bounded<T>(limit: Duration, f: impl std::future::Future<Output = Option<T>>) -> Option<T> {
    tokio::time::timeout(limit, f).await.ok().flatten()
}

/// Sleep, unless stopped first (then true).
async fn sleep_or_stop(d: Duration, stop: &tokio_util::sync::CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stop.cancelled() => true,
    }
}
