//! The daemon as one node of a cluster (`[cluster]`): it folds what the leader appends
//! to the shared journal, and leads when it holds the lease and has read the journal
//! to where it stood when the lease was taken. Only the leader decides (trackers'
//! changes, the clock, declared files, subscribers, vendors' pages, operator alerts)
//! and delivers; a node that stops leading drops what it had not recorded, for the next
//! leader decides and delivers it again (deliveries with the same ids).

use chrono::Utc;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::Daemon;
use crate::cluster::samples::Seen;
use crate::cluster::{ClusterError, LeaseState, Link, Tailed};
use crate::monitor::quorum::Locations;

/// What a node of a cluster holds besides what every daemon does.
pub(super) struct Membership {
    pub(super) link: Link,
    pub(super) lease: watch::Receiver<LeaseState>,
    pub(super) lease_task: Option<tokio::task::JoinHandle<()>>,
    /// What the other nodes send.
    pub(super) inbox: Inbox,
    /// Every location's trackers, on the leader.
    pub(super) locations: Locations,
    /// Components and locations whose samples arrive too late to be weighed (said once).
    pub(super) late: std::collections::BTreeSet<(String, String)>,
    /// The journal stream's last message read (by the tail or at start).
    pub(super) last_message: u64,
    /// Messages of the stream not read yet, as the tail last said.
    pub(super) lag: u64,
    /// Where this node says it stands, and when it next says so.
    pub(super) presence: async_nats::jetstream::kv::Store,
    pub(super) presence_due: std::time::Instant,
    pub(super) since: chrono::DateTime<Utc>,
    /// When this node's own probes last saw anything.
    pub(super) last_sample_at: Option<chrono::DateTime<Utc>>,
    /// This node acts as the leader.
    pub(super) leading: bool,
    /// The stream holds a message this node cannot read: it folds nothing more.
    pub(super) damaged: bool,
    /// Stops the tail and the lease (which is then handed over).
    pub(super) stop: CancellationToken,
}

impl Daemon {
    /// May this node decide and append? Always, without a cluster.
    pub(super) fn leading(&self) -> bool {
        self.cluster
            .as_ref()
            .is_none_or(|c| c.leading && c.lease.borrow().valid())
    }

    /// Is the lease still this node's at this moment (the last fence before an append)?
    pub(super) fn lease_holds(&self) -> bool {
        self.leading()
    }

    /// Lead or follow, as the lease and the tail now say.
    pub(super) fn check_lead(&mut self) {
        let Some(c) = &self.cluster else {
            return;
        };
        let state = c.lease.borrow().clone();
        let may = !c.damaged
            && state.valid()
            && state.mine.is_some_and(|held| c.last_message >= held.head);
        match (may, c.leading) {
            (true, false) => self.take_over(),
            (false, true) => self.step_down(),
            _ => {}
        }
    }

    /// Begin to lead: decide from the journal as read, and deliver what is owed.
    fn take_over(&mut self) {
        if let Some(c) = &mut self.cluster {
            c.leading = true;
            tracing::info!(
                node = %c.link.node().name,
                last_seq = self.view.last_seq,
                deliveries_owed = self.notifier.outbox.depth(),
                "leading: deciding and delivering from here"
            );
        }
        let now = Utc::now();
        // Trackers start from the journal's statuses, as after a restart, and listen
        // to every location before they decide.
        if let Some(c) = &mut self.cluster {
            c.locations = Locations::listening(now);
            c.late.clear();
            // Samples heard while this node followed (or started) are old news now.
            while c.inbox.heard.try_recv().is_ok() {}
        }
        self.probing.trackers.clear();
        self.sync_trackers();
        self.ledger.waiting.clear();
        self.ledger.unsaved.clear();
        self.reading.subscribers_seen = None;
        self.sync_visibility();
        self.reload_subscribers();
        self.reload_declared(now);
        self.run_clock(now);
        self.tell_presence_now();
    }

    /// Stop leading: nothing more is appended or delivered from this node.
    fn step_down(&mut self) {
        if let Some(c) = &mut self.cluster {
            c.leading = false;
            tracing::warn!(
                node = %c.link.node().name,
                "no longer leading: following the journal"
            );
        }
        self.ledger.waiting.clear();
        self.ledger.unsaved.clear();
        self.tell_presence_now();
    }

    /// Say at once where this node stands (its leading changed).
    fn tell_presence_now(&mut self) {
        if let Some(c) = &mut self.cluster {
            c.presence_due = std::time::Instant::now();
        }
        self.tell_presence();
    }

    /// A message of the shared journal: fold what this node has not folded yet.
    pub(super) fn tailed(&mut self, tailed: Result<Tailed, ClusterError>) {
        let Some(c) = &mut self.cluster else {
            return;
        };
        let t = match tailed {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "the shared journal cannot be read further; this node serves what it has and does not lead");
                c.damaged = true;
                self.check_lead();
                return;
            }
        };
        c.last_message = c.last_message.max(t.message);
        c.lag = t.pending;
        let next = self.view.last_seq + 1;
        let last = t.records.last().map_or(0, |r| r.seq);
        let fresh: Vec<_> = t.records.into_iter().filter(|r| r.seq >= next).collect();
        if let Some(first) = fresh.first()
            && first.seq != next
        {
            tracing::error!(
                message = t.message,
                found = first.seq,
                expected = next,
                "the shared journal skips records here; this node serves what it has and does not lead"
            );
            c.damaged = true;
            self.check_lead();
            return;
        }
        self.ledger.journal.followed(t.message, last + 1);
        if !fresh.is_empty() {
            self.fold(fresh);
            // An append whose answer was lost may have been stored after all: what the
            // journal now shows is not recorded again.
            let view = &self.view;
            self.ledger
                .waiting
                .retain(|(id, t)| view.probe_status(id) != t.to);
        }
        self.check_lead();
    }
}

impl Daemon {
    /// Say where this node stands, every few seconds.
    pub(super) fn tell_presence(&mut self) {
        let last_seq = self.view.last_seq;
        let Some(c) = &mut self.cluster else {
            return;
        };
        let now = std::time::Instant::now();
        if now < c.presence_due {
            return;
        }
        c.presence_due = now + crate::cluster::presence::PRESENCE_EVERY;
        let node = c.link.node();
        let presence = crate::cluster::presence::Presence {
            node: node.name.clone(),
            location: node.location.clone(),
            leading: c.leading,
            last_message: c.last_message,
            lag: c.lag,
            last_seq,
            last_sample_at: c.last_sample_at,
            since: c.since,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            at: Utc::now(),
        };
        let store = c.presence.clone();
        tokio::spawn(async move { crate::cluster::presence::tell(&store, &presence).await });
    }

    /// The cluster's lines for `/metrics`: which node this is, whether it leads, how
    /// far behind the shared journal it is, and the locations heard from.
    pub(super) fn cluster_metrics(&self) -> String {
        let Some(c) = &self.cluster else {
            return String::new();
        };
        let node = c.link.node();
        let label = |v: &str| {
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let heard: std::collections::BTreeSet<String> = self
            .config
            .components
            .iter()
            .flat_map(|comp| c.locations.of(&comp.id))
            .filter(|(_, _, at)| *at >= Utc::now() - crate::monitor::quorum::SEEN_WITHIN)
            .map(|(l, _, _)| l)
            .collect();
        format!(
            "# HELP forewarn_cluster_node This node of the cluster (always 1).\n# TYPE forewarn_cluster_node gauge\nforewarn_cluster_node{{node=\"{}\",location=\"{}\"}} 1\n\
             # HELP forewarn_cluster_leader 1 while this node leads the cluster.\n# TYPE forewarn_cluster_leader gauge\nforewarn_cluster_leader {}\n\
             # HELP forewarn_cluster_journal_lag_messages Messages of the shared journal this node has not read yet.\n# TYPE forewarn_cluster_journal_lag_messages gauge\nforewarn_cluster_journal_lag_messages {}\n\
             # HELP forewarn_cluster_journal_last_message The shared journal's last message this node has read.\n# TYPE forewarn_cluster_journal_last_message gauge\nforewarn_cluster_journal_last_message {}\n\
             # HELP forewarn_cluster_locations_heard Locations whose samples the leader weighed in the last two minutes (0 on other nodes).\n# TYPE forewarn_cluster_locations_heard gauge\nforewarn_cluster_locations_heard {}\n",
            label(&node.name),
            label(&node.location),
            u8::from(c.leading),
            c.lag,
            c.last_message,
            heard.len()
        )
    }
}

/// What reaches this node from the others, as it arrives.
pub(super) struct Inbox {
    /// The shared journal as it grows.
    tail: mpsc::Receiver<Result<Tailed, ClusterError>>,
    /// The other locations' samples.
    heard: mpsc::Receiver<Seen>,
    /// What other nodes pass on to the leader.
    proposals: mpsc::Receiver<crate::cluster::forward::Incoming>,
    beats: mpsc::Receiver<crate::cluster::forward::Beat>,
}

/// What the cluster says next.
pub(super) enum News {
    /// A message of the shared journal (or why it cannot be read).
    Tailed(Result<Tailed, ClusterError>),
    /// The lease changed.
    Lease,
    /// Another location's sample.
    Heard(Seen),
    /// Events another node passes on for the leader to record.
    Proposed(crate::cluster::forward::Incoming),
    /// A heartbeat report another node passes on.
    Beat(crate::cluster::forward::Beat),
}

/// The next message of the shared journal, or a change of the lease; never without a
/// cluster.
pub(super) async fn news(cluster: &mut Option<Membership>) -> News {
    let Some(c) = cluster else {
        return std::future::pending().await;
    };
    let damaged = c.damaged;
    tokio::select! {
        Some(t) = c.inbox.tail.recv(), if !damaged => News::Tailed(t),
        Ok(()) = c.lease.changed() => News::Lease,
        Some(seen) = c.inbox.heard.recv() => News::Heard(seen),
        Some(p) = c.inbox.proposals.recv() => News::Proposed(p),
        Some(b) = c.inbox.beats.recv() => News::Beat(b),
        else => std::future::pending().await,
    }
}

/// Join the cluster: connect, read the shared journal whole, seek the lease and follow
/// the journal from where it was read. (No snapshot: every node folds the stream from
/// its start.)
pub(super) fn join_cluster(
    settings: &crate::config::ClusterSettings,
    node: &crate::config::Node,
) -> anyhow::Result<super::Taken> {
    let handle = tokio::runtime::Handle::current();
    let stop = CancellationToken::new();
    let (link, opened, (lease, lease_task), heard, presence, (proposals, beats)) = handle
        .block_on(async {
            let link = Link::connect(settings, node.clone()).await?;
            let opened = link.open_journal(handle.clone()).await?;
            let lease = link.lease(stop.clone()).await?;
            let presence = link.presence().await?;
            let passed =
                crate::cluster::forward::listen(link.client(), link.names(), stop.clone()).await?;
            // Last: samples heard before the daemon runs would be old news.
            let heard = link.hear(stop.clone()).await?;
            Ok::<_, ClusterError>((link, opened, lease, heard, presence, passed))
        })?;
    let tail = link.tail(opened.last_message, stop.clone());
    let mut opened = opened;
    opened.writer.fence(lease.clone());
    tracing::info!(
        node = %node.name,
        location = %node.location,
        stream = %link.names().stream,
        records = opened.history.len(),
        "joined the cluster"
    );
    Ok(super::Taken {
        journal: Box::new(opened.writer),
        opened: crate::journal::Opened {
            records: opened.history,
            from_anchor: false,
            anchor_problem: None,
        },
        snapshot: None,
        membership: Some(Membership {
            link,
            lease,
            lease_task: Some(lease_task),
            inbox: Inbox {
                tail,
                heard,
                proposals,
                beats,
            },
            locations: Locations::default(),
            late: std::collections::BTreeSet::new(),
            last_message: opened.last_message,
            lag: 0,
            presence,
            presence_due: std::time::Instant::now(),
            since: Utc::now(),
            last_sample_at: None,
            leading: false,
            damaged: false,
            stop,
        }),
    })
}

/// Leave the cluster: stop following, and hand the lead over if this node holds it.
pub(super) async fn leave(cluster: Option<Membership>) {
    let Some(mut c) = cluster else {
        return;
    };
    c.stop.cancel();
    if let Some(task) = c.lease_task.take() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
    }
}
