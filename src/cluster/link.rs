//! One node's link to the cluster: its connection, the journal stream read to its head
//! and the writer that appends after it, the tail that follows what others append, and
//! the lease that says whether this node leads.

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::lease::{self, LeaseState};
use super::tail::{self, Tailed};
use super::writer::StreamWriter;
use super::{ClusterError, Names, StreamJournal, connect};
use crate::config::{ClusterSettings, Node};
use crate::journal::Record;

/// Messages of the journal the tail may hand over before the daemon takes them.
const TAIL_QUEUE: usize = 1024;

pub struct Link {
    client: async_nats::Client,
    settings: ClusterSettings,
    node: Node,
    names: Names,
}

/// The journal stream, read to its head when the node started.
pub struct Opened {
    pub writer: StreamWriter,
    pub history: Vec<Record>,
    /// The stream's last message read.
    pub last_message: u64,
}

impl Link {
    pub async fn connect(settings: &ClusterSettings, node: Node) -> Result<Link, ClusterError> {
        let client = connect(settings, &format!("forewarn {}", node.name)).await?;
        Ok(Link {
            client,
            settings: settings.clone(),
            names: Names::new(settings),
            node,
        })
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    pub fn names(&self) -> &Names {
        &self.names
    }

    /// The connection, for publishing samples.
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The locations' samples must agree in this many (`None`: a majority).
    pub fn quorum(&self) -> Option<usize> {
        self.settings.quorum
    }

    /// The bucket where each node says where it stands.
    pub async fn presence(&self) -> Result<async_nats::jetstream::kv::Store, ClusterError> {
        let js = async_nats::jetstream::new(self.client.clone());
        super::presence::bucket(&js, &self.names, self.settings.replicas).await
    }

    /// Hear the other nodes' samples until `stop`.
    pub async fn hear(
        &self,
        stop: CancellationToken,
    ) -> Result<mpsc::Receiver<super::samples::Seen>, ClusterError> {
        super::samples::hear(&self.client, &self.names, &self.node.name, stop).await
    }

    /// Open the journal stream and read it whole.
    pub async fn open_journal(
        &self,
        handle: tokio::runtime::Handle,
    ) -> Result<Opened, ClusterError> {
        let mut journal = StreamJournal::open(self.client.clone(), &self.settings).await?;
        journal.follow_settings(&self.settings).await;
        let history = journal.catch_up().await?;
        let last_message = journal.last_message();
        Ok(Opened {
            writer: StreamWriter::new(journal, handle, self.settings.nats.join(", ")),
            history,
            last_message,
        })
    }

    /// Follow the journal after message `after`, until `stop`.
    pub fn tail(
        &self,
        after: u64,
        stop: CancellationToken,
    ) -> mpsc::Receiver<Result<Tailed, ClusterError>> {
        let (tx, rx) = mpsc::channel(TAIL_QUEUE);
        let js = async_nats::jetstream::new(self.client.clone());
        tokio::spawn(tail::run(js, self.names.clone(), after, tx, stop));
        rx
    }

    /// Seek and hold the lead until `stop` (then hand it over; the task ends once it
    /// has).
    pub async fn lease(
        &self,
        stop: CancellationToken,
    ) -> Result<(watch::Receiver<LeaseState>, tokio::task::JoinHandle<()>), ClusterError> {
        let js = async_nats::jetstream::new(self.client.clone());
        let store = lease::bucket(
            &js,
            &self.names,
            self.settings.lease,
            self.settings.replicas,
        )
        .await?;
        let (tx, rx) = watch::channel(LeaseState::default());
        let client = self.client.clone();
        let settings = self.settings.clone();
        let head = move || {
            let client = client.clone();
            let settings = settings.clone();
            async move {
                let journal = StreamJournal::open(client, &settings).await?;
                Ok(journal.head().await?.last_message)
            }
        };
        let task = tokio::spawn(lease::run(
            store,
            self.node.clone(),
            self.settings.lease,
            head,
            tx,
            stop,
        ));
        Ok((rx, task))
    }
}
