//! What reaches a node that does not lead, passed to the one that does: the events a
//! subscriber's request makes (a sign-up, a confirmation, an unsubscription), which
//! only the leader may append, and a heartbeat job's reports, which only the leader
//! counts. Every node listens; only the leader answers a proposal, so a request made
//! while no node leads gets no answer and its asker says "try again".

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ClusterError, Names};
use crate::journal::Event;

/// How long a node waits for the leader to record what it passed on.
pub const PROPOSE_WAIT: Duration = Duration::from_secs(5);

/// Events for the leader to append, each with its time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub events: Vec<Proposed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposed {
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub event: Event,
}

/// The leader's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// Why not, when it could not record them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A proposal heard, and where to answer it.
#[derive(Debug)]
pub struct Incoming {
    pub proposal: Proposal,
    pub reply: Option<async_nats::Subject>,
}

/// A heartbeat job's report, passed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beat {
    /// The node whose front the job reached.
    pub from: String,
    pub component: String,
    pub fail: bool,
    pub at: DateTime<Utc>,
}

/// Ask the leader to append `events`; Ok once it has.
pub async fn propose(
    client: &async_nats::Client,
    names: &Names,
    events: Vec<(DateTime<Utc>, Event)>,
) -> Result<(), ClusterError> {
    let proposal = Proposal {
        events: events
            .into_iter()
            .map(|(at, event)| Proposed { at, event })
            .collect(),
    };
    let failed = |problem: String| ClusterError::Stream {
        action: "the leader did not record what this node passed on",
        problem,
    };
    let payload = serde_json::to_vec(&proposal).map_err(|e| failed(e.to_string()))?;
    let answer = tokio::time::timeout(
        PROPOSE_WAIT,
        client.request(names.propose.clone(), payload.into()),
    )
    .await
    .map_err(|_| failed("no node answered in time (none may lead at the moment)".into()))?
    .map_err(|e| failed(e.to_string()))?;
    let recorded: Recorded =
        serde_json::from_slice(&answer.payload).map_err(|e| failed(e.to_string()))?;
    match recorded.problem {
        None => Ok(()),
        Some(p) => Err(failed(p)),
    }
}

/// Answer a proposal.
pub async fn answer(client: &async_nats::Client, reply: async_nats::Subject, recorded: &Recorded) {
    if let Ok(payload) = serde_json::to_vec(recorded) {
        let _ = client.publish(reply, payload.into()).await;
    }
}

/// Pass a heartbeat report on (to whichever node leads).
pub async fn beat(client: &async_nats::Client, names: &Names, beat: &Beat) {
    if let Ok(payload) = serde_json::to_vec(beat) {
        let _ = client
            .publish(names.heartbeats.clone(), payload.into())
            .await;
    }
}

/// Hear proposals and heartbeat reports until `stop`.
pub async fn listen(
    client: &async_nats::Client,
    names: &Names,
    stop: CancellationToken,
) -> Result<(mpsc::Receiver<Incoming>, mpsc::Receiver<Beat>), ClusterError> {
    let failed = |e: async_nats::SubscribeError| ClusterError::Stream {
        action: "cannot hear what other nodes pass on",
        problem: e.to_string(),
    };
    let mut props = client
        .subscribe(names.propose.clone())
        .await
        .map_err(failed)?;
    let mut reports = client
        .subscribe(names.heartbeats.clone())
        .await
        .map_err(failed)?;
    let (ptx, prx) = mpsc::channel(256);
    let (btx, brx) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(m) = props.next() => {
                    if let Ok(proposal) = serde_json::from_slice::<Proposal>(&m.payload) {
                        let _ = ptx.try_send(Incoming { proposal, reply: m.reply });
                    }
                }
                Some(m) = reports.next() => {
                    if let Ok(b) = serde_json::from_slice::<Beat>(&m.payload) {
                        let _ = btx.try_send(b);
                    }
                }
                else => break,
            }
        }
    });
    Ok((prx, brx))
}
