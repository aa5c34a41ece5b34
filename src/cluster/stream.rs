//! The journal as a JetStream stream: one subject, replicated, every message a whole
//! batch of records (`batch`). Appends name the stream sequence they follow, so two
//! writers can never interleave; a retry of an append whose acknowledgement was lost is
//! recognised by its message id and stored once.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::{DeliverPolicy, pull::OrderedConfig},
    context::PublishErrorKind,
    message::PublishMessage,
    stream::{Config, StorageType},
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use super::batch::{self, MAX_MESSAGE_BYTES};
use super::{ClusterError, Names, patiently};
use crate::config::ClusterSettings;
use crate::config::cluster::APPEND_RETRY_FOR;
use crate::journal::{Event, Record};

/// How long replay waits for the next message before it calls the stream unreachable.
const REPLAY_STALL: Duration = Duration::from_secs(15);

/// The journal stream, and where this node stands in it.
pub struct StreamJournal {
    js: jetstream::Context,
    names: Names,
    /// The stream sequence of the last message this node has read or written: what the
    /// next append must follow.
    last_message: u64,
    /// The sequence number the next record gets.
    next_seq: u64,
    /// The lease this node writes under, when it writes as the leader: no attempt (and
    /// no retry) is made once it has run out.
    fence: Option<tokio::sync::watch::Receiver<super::LeaseState>>,
}

/// Where the stream stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Messages held.
    pub messages: u64,
    /// The stream sequence of the last message (0 when none was ever written).
    pub last_message: u64,
    /// Servers keeping each message.
    pub replicas: usize,
    /// The NATS server leading the stream's replication.
    pub stream_leader: Option<String>,
    /// The other servers keeping it, each current or not, and how many operations
    /// behind.
    pub followers: Vec<Replica>,
}

/// A NATS server keeping a copy of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replica {
    pub server: String,
    pub current: bool,
    pub offline: bool,
    pub lag: u64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Records the stream already held (an import run before, or stopped halfway).
    pub already: u64,
    /// Records appended now.
    pub appended: u64,
}

impl StreamJournal {
    /// The journal stream of `settings`, created when it does not exist yet.
    pub async fn open(
        client: async_nats::Client,
        settings: &ClusterSettings,
    ) -> Result<StreamJournal, ClusterError> {
        let names = Names::new(settings);
        let mut js = jetstream::new(client);
        js.set_timeout(Duration::from_secs(10));
        let config = Config {
            name: names.stream.clone(),
            description: Some("forewarn's journal: every fact, in order".into()),
            subjects: vec![names.journal_subject.clone()],
            storage: StorageType::File,
            num_replicas: settings.replicas,
            duplicate_window: settings.duplicate_window,
            max_message_size: (MAX_MESSAGE_BYTES + 64 * 1024) as i32,
            deny_delete: true,
            deny_purge: true,
            allow_direct: true,
            ..Default::default()
        };
        // A server just lost may hold the stream's or the cluster's leadership until
        // the others elect another (seconds): ask again meanwhile.
        patiently("cannot open or create the journal stream", || {
            js.get_or_create_stream(config.clone())
        })
        .await?;
        Ok(StreamJournal {
            js,
            names,
            last_message: 0,
            next_seq: 1,
            fence: None,
        })
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The sequence number the next appended record gets.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The stream sequence of the last message read or written.
    pub fn last_message(&self) -> u64 {
        self.last_message
    }

    /// Write only while this lease holds.
    pub fn fence(&mut self, lease: tokio::sync::watch::Receiver<super::LeaseState>) {
        self.fence = Some(lease);
    }

    /// Stand after message `last_message`, the next record numbered `next_seq` (what
    /// another writer appended was read elsewhere).
    pub fn set_position(&mut self, last_message: u64, next_seq: u64) {
        self.last_message = last_message;
        self.next_seq = next_seq;
    }

    /// Where the stream stands now.
    pub async fn head(&self) -> Result<Head, ClusterError> {
        let stream = patiently("cannot read the journal stream's state", || {
            self.js.get_stream(&self.names.stream)
        })
        .await?;
        let info = stream.cached_info();
        let cluster = info.cluster.as_ref();
        Ok(Head {
            messages: info.state.messages,
            last_message: info.state.last_sequence,
            replicas: info.config.num_replicas,
            stream_leader: cluster.and_then(|c| c.leader.clone()),
            followers: cluster
                .map(|c| {
                    c.replicas
                        .iter()
                        .map(|p| Replica {
                            server: p.name.clone(),
                            current: p.current,
                            offline: p.offline,
                            lag: p.lag.unwrap_or(0),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// Every record after where this node stands, up to the stream's head as it is
    /// now, each message checked. This node then stands at the head: its next append
    /// follows the last message read.
    pub async fn catch_up(&mut self) -> Result<Vec<Record>, ClusterError> {
        let mut records = Vec::new();
        self.catch_up_each(|rs| {
            records.extend(rs);
            Ok(())
        })
        .await?;
        Ok(records)
    }

    /// [`StreamJournal::catch_up`], handing over each message's records as they come.
    pub async fn catch_up_each(
        &mut self,
        mut each: impl FnMut(Vec<Record>) -> Result<(), ClusterError>,
    ) -> Result<(), ClusterError> {
        let head = self.head().await?;
        if head.messages == 0 || head.last_message <= self.last_message {
            return Ok(());
        }
        let unreachable = |problem: String| ClusterError::Stream {
            action: "cannot read the journal stream",
            problem,
        };
        let start_sequence = self.last_message + 1;
        let mut messages = patiently("cannot read the journal stream", || async {
            let stream = self.js.get_stream_no_info(&self.names.stream).await?;
            let consumer = stream
                .create_consumer(OrderedConfig {
                    deliver_policy: DeliverPolicy::ByStartSequence { start_sequence },
                    ..Default::default()
                })
                .await?;
            Ok::<_, async_nats::Error>(consumer.messages().await?)
        })
        .await?;
        loop {
            let next = tokio::time::timeout(REPLAY_STALL, messages.next())
                .await
                .map_err(|_| {
                    unreachable(format!(
                        "no message for {}s while {} remained",
                        REPLAY_STALL.as_secs(),
                        head.last_message.saturating_sub(self.last_message)
                    ))
                })?;
            let Some(message) = next else {
                return Err(unreachable("the stream ended before its head".into()));
            };
            let message = message.map_err(|e| unreachable(e.to_string()))?;
            let (sequence, pending) = {
                let info = message.info().map_err(|e| unreachable(e.to_string()))?;
                (info.stream_sequence, info.pending)
            };
            let rs = batch::decode(&message.payload).map_err(|problem| ClusterError::Corrupt {
                stream: self.names.stream.clone(),
                message: sequence,
                problem,
            })?;
            if rs[0].seq != self.next_seq {
                return Err(ClusterError::Corrupt {
                    stream: self.names.stream.clone(),
                    message: sequence,
                    problem: format!(
                        "its first record has sequence number {} where {} was expected",
                        rs[0].seq, self.next_seq
                    ),
                });
            }
            self.next_seq = rs[rs.len() - 1].seq + 1;
            self.last_message = sequence;
            each(rs)?;
            if pending == 0 || sequence >= head.last_message {
                return Ok(());
            }
        }
    }

    /// Append events after everything this node has read or written, all or none (see
    /// `batch` for an append too long for one message). Fails with
    /// [`ClusterError::Refused`] when another writer appended since: the caller must
    /// catch up before it may write again.
    pub async fn append(
        &mut self,
        events: Vec<(DateTime<Utc>, Event)>,
    ) -> Result<Vec<Record>, ClusterError> {
        let last = events.len().saturating_sub(1);
        let records = events
            .into_iter()
            .enumerate()
            .map(|(i, (at, event))| Record {
                seq: self.next_seq + i as u64,
                at,
                more: i < last,
                event,
            })
            .collect();
        self.append_records(records).await
    }

    /// Append records numbered already, one message after another.
    async fn append_records(&mut self, records: Vec<Record>) -> Result<Vec<Record>, ClusterError> {
        let messages =
            batch::encode(records, MAX_MESSAGE_BYTES).map_err(|e| ClusterError::Stream {
                action: "cannot encode an event",
                problem: e.to_string(),
            })?;
        let mut written = Vec::new();
        for m in messages {
            let sequence = self.publish(&m.payload).await?;
            self.last_message = sequence;
            self.next_seq = m.records[m.records.len() - 1].seq + 1;
            written.extend(m.records);
        }
        Ok(written)
    }

    /// Publish one message after `last_message`, retrying a lost acknowledgement with
    /// the same message id for at most [`APPEND_RETRY_FOR`]; its stream sequence.
    async fn publish(&self, payload: &[u8]) -> Result<u64, ClusterError> {
        let id = batch::message_id(payload);
        let started = tokio::time::Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            if self.fence.as_ref().is_some_and(|f| !f.borrow().valid()) {
                return Err(ClusterError::Refused(
                    "this node's lead ran out; it appends nothing more".into(),
                ));
            }
            let message = PublishMessage::build()
                .payload(payload.to_vec().into())
                .message_id(&id)
                .expected_last_sequence(self.last_message);
            let sent = match self
                .js
                .send_publish(self.names.journal_subject.clone(), message)
                .await
            {
                Ok(ack) => ack.await,
                Err(e) => Err(e),
            };
            let problem = match sent {
                Ok(ack) if ack.stream == self.names.stream => return Ok(ack.sequence),
                Ok(ack) => {
                    return Err(ClusterError::Refused(format!(
                        "the journal's subject is stored by stream {} instead of {}",
                        ack.stream, self.names.stream
                    )));
                }
                Err(e) if wrong_last_sequence(&e) => {
                    return Err(ClusterError::Refused(format!(
                        "another node appended to the journal after message {}; this node must read what it wrote before it may write",
                        self.last_message
                    )));
                }
                Err(e) => e.to_string(),
            };
            if started.elapsed() + wait > APPEND_RETRY_FOR {
                return Err(ClusterError::Stream {
                    action: "cannot append to the journal stream",
                    problem,
                });
            }
            tracing::debug!(
                problem,
                "append not acknowledged; trying again with the same message id"
            );
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    /// Append a file journal's records to an empty stream, exactly once: a stream that
    /// already holds the file's first records (an import run before, or stopped
    /// halfway) gets only the rest; a stream holding anything else is left alone.
    pub async fn import(&mut self, records: &[Record]) -> Result<Imported, ClusterError> {
        let held = self.catch_up().await?;
        if held.len() > records.len()
            || held
                .iter()
                .zip(records)
                .any(|(a, b)| a.seq != b.seq || a.event != b.event || a.at != b.at)
        {
            return Err(ClusterError::Refused(format!(
                "the journal stream {} already holds {} records that are not this file's first records; nothing was imported. Import into a new namespace, or leave the stream as it is",
                self.names.stream,
                held.len()
            )));
        }
        let rest = &records[held.len()..];
        if rest.first().is_some_and(|r| r.seq != self.next_seq) {
            return Err(ClusterError::Refused(format!(
                "the file's records are not numbered from {}; nothing more was imported",
                self.next_seq
            )));
        }
        // Each batch of the file as one append, so replays end batches where it did.
        let mut appended = 0;
        let mut start = 0;
        for (i, r) in rest.iter().enumerate() {
            if !r.more {
                let part = rest[start..=i].to_vec();
                appended += part.len() as u64;
                self.append_records(part).await?;
                start = i + 1;
            }
        }
        Ok(Imported {
            already: held.len() as u64,
            appended,
        })
    }
}

impl StreamJournal {
    /// A stream made with other `replicas` or `duplicate_window` than the
    /// configuration's is changed to them (the servers copy the journal to more of
    /// them, or fewer); when the servers refuse, it is used as it is, and the log says
    /// why. (A daemon joining does this; commands only read.)
    pub async fn follow_settings(&self, settings: &ClusterSettings) {
        let stream = match patiently("cannot read the journal stream's settings", || {
            self.js.get_stream(&self.names.stream)
        })
        .await
        {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "the journal stream's replicas and duplicate_window were not compared with the configuration; they are at the next start");
                return;
            }
        };
        update_settings(&self.js, &stream.cached_info().config, settings).await;
    }
}

async fn update_settings(js: &jetstream::Context, held: &Config, settings: &ClusterSettings) {
    if held.num_replicas == settings.replicas && held.duplicate_window == settings.duplicate_window
    {
        return;
    }
    let mut wanted = held.clone();
    wanted.num_replicas = settings.replicas;
    wanted.duplicate_window = settings.duplicate_window;
    // Asked again while unanswered (the same change twice is harmless); a refusal is
    // final.
    let updated = patiently("cannot change the journal stream's settings", || async {
        match js.update_stream(wanted.clone()).await {
            Err(e) if e.kind() == jetstream::context::CreateStreamErrorKind::TimedOut => Err(e),
            answer => Ok(answer),
        }
    })
    .await;
    match updated {
        Ok(Ok(_)) if settings.replicas < held.num_replicas => tracing::warn!(
            stream = %held.name,
            replicas = settings.replicas,
            was = held.num_replicas,
            "the journal stream now keeps fewer copies, as the configuration's replicas says"
        ),
        Ok(Ok(_)) => tracing::info!(
            stream = %held.name,
            replicas = settings.replicas,
            duplicate_window_s = settings.duplicate_window.as_secs(),
            "the journal stream now follows the configuration's replicas and duplicate_window"
        ),
        Ok(Err(e)) => tracing::warn!(
            stream = %held.name,
            replicas = held.num_replicas,
            duplicate_window_s = held.duplicate_window.as_secs(),
            problem = %e,
            "the journal stream keeps its replicas and duplicate_window: the servers refused the configuration's"
        ),
        Err(e) => tracing::warn!(
            stream = %held.name,
            error = %e,
            "the servers did not answer the change of the journal stream's replicas and duplicate_window; it may not have been applied (compared again at the next start)"
        ),
    }
}

/// Is this the stream saying another writer appended first? (A replicated stream may
/// answer with the code for a constant expected sequence, which the client does not
/// name.)
fn wrong_last_sequence(e: &async_nats::jetstream::context::PublishError) -> bool {
    use async_nats::jetstream::ErrorCode;
    if e.kind() == PublishErrorKind::WrongLastSequence {
        return true;
    }
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<async_nats::jetstream::Error>())
        .is_some_and(|je| {
            je.error_code() == ErrorCode::STREAM_WRONG_LAST_SEQUENCE
                || je.error_code() == ErrorCode::STREAM_WRONG_LAST_SEQUENCE_CONSTANT
        })
}
