//! Following the journal stream as it grows: every message after a point, decoded and
//! handed over in order, the consumer made again from the last message handed over
//! whenever the connection or the stream's leadership changes under it.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull::OrderedConfig},
};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ClusterError, Names, batch};
use crate::journal::Record;

/// How long the tail waits for a message before it checks the stream has none.
const STALL_CHECK: Duration = Duration::from_secs(3);

/// One message of the journal stream: its sequence in the stream, and its records.
#[derive(Debug, Clone)]
pub struct Tailed {
    pub message: u64,
    pub records: Vec<Record>,
    /// Messages after this one not handed over yet: how far behind this node is.
    pub pending: u64,
}

/// Hand over every message after `after` to `tx` until `stop`. A damaged message is
/// handed over as an error, and the tail stops there.
pub async fn run(
    js: jetstream::Context,
    names: Names,
    mut after: u64,
    tx: mpsc::Sender<Result<Tailed, ClusterError>>,
    stop: CancellationToken,
) {
    let mut wait = Duration::from_millis(100);
    let mut told = false;
    loop {
        let before = after;
        let followed = tokio::select! {
            _ = stop.cancelled() => return,
            r = follow(&js, &names, &mut after, &tx) => r,
        };
        if after > before {
            // It went well for a while: a new trouble is told, and retried soon.
            told = false;
            wait = Duration::from_millis(100);
        }
        match followed {
            Ok(Closed::Receiver) => return,
            Ok(Closed::Damaged) => return,
            Err(problem) => {
                if !told {
                    tracing::warn!(problem, "cannot follow the journal stream; trying again");
                    told = true;
                }
            }
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        wait = (wait * 2).min(Duration::from_secs(2));
    }
}

enum Closed {
    Receiver,
    Damaged,
}

async fn follow(
    js: &jetstream::Context,
    names: &Names,
    after: &mut u64,
    tx: &mpsc::Sender<Result<Tailed, ClusterError>>,
) -> Result<Closed, String> {
    let stream = js
        .get_stream_no_info(&names.stream)
        .await
        .map_err(|e| e.to_string())?;
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: *after + 1,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut messages = consumer.messages().await.map_err(|e| e.to_string())?;
    loop {
        // A consumer whose server was lost may stay silent: when nothing comes for a
        // while but the stream has grown, it is made again.
        let next = match tokio::time::timeout(STALL_CHECK, messages.next()).await {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(_) => {
                let mut stream = js
                    .get_stream(&names.stream)
                    .await
                    .map_err(|e| e.to_string())?;
                let last = stream
                    .info()
                    .await
                    .map_err(|e| e.to_string())?
                    .state
                    .last_sequence;
                if last > *after {
                    return Err(format!(
                        "the stream holds message {last} but none after {} came",
                        *after
                    ));
                }
                continue;
            }
        };
        let message = next.map_err(|e| e.to_string())?;
        let (sequence, pending) = {
            let info = message.info().map_err(|e| e.to_string())?;
            (info.stream_sequence, info.pending)
        };
        if sequence <= *after {
            continue;
        }
        let tailed = match batch::decode(&message.payload) {
            Ok(records) => Ok(Tailed {
                message: sequence,
                records,
                pending,
            }),
            Err(problem) => Err(ClusterError::Corrupt {
                stream: names.stream.clone(),
                message: sequence,
                problem,
            }),
        };
        let damaged = tailed.is_err();
        if tx.send(tailed).await.is_err() {
            return Ok(Closed::Receiver);
        }
        if damaged {
            return Ok(Closed::Damaged);
        }
        *after = sequence;
    }
    Err("the consumer ended".into())
}
