//! The journal stream as the daemon's [`Store`]: appends made on the async stream from
//! the daemon's loop, which waits for them as it waits for a file's fsync.

use chrono::{DateTime, Utc};
use tokio::runtime::Handle;

use super::{ClusterError, StreamJournal};
use crate::journal::{Anchor, Event, JournalError, Record, Store};

pub struct StreamWriter {
    journal: StreamJournal,
    handle: Handle,
    servers: String,
}

impl StreamWriter {
    /// A writer on `journal`, its appends run on `handle`'s runtime.
    pub fn new(journal: StreamJournal, handle: Handle, servers: String) -> StreamWriter {
        StreamWriter {
            journal,
            handle,
            servers,
        }
    }

    /// Append only while this lease holds (retries included).
    pub fn fence(&mut self, lease: tokio::sync::watch::Receiver<super::LeaseState>) {
        self.journal.fence(lease);
    }

    /// The stream's last message this writer has read or written.
    pub fn last_message(&self) -> u64 {
        self.journal.last_message()
    }
}

impl Store for StreamWriter {
    fn append(&mut self, events: Vec<(DateTime<Utc>, Event)>) -> Result<Vec<Record>, JournalError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let handle = self.handle.clone();
        let journal = &mut self.journal;
        let written = tokio::task::block_in_place(|| handle.block_on(journal.append(events)));
        written.map_err(|e| match e {
            ClusterError::Refused(why) => JournalError::Refused(why),
            other => JournalError::Remote {
                action: "cannot append to the cluster's journal",
                problem: other.to_string(),
            },
        })
    }

    fn anchor(&self) -> Option<Anchor> {
        None
    }

    fn is_writable(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("stream {} on {}", self.journal.names().stream, self.servers)
    }

    fn followed(&mut self, position: u64, next_seq: u64) {
        if position > self.journal.last_message() {
            self.journal.set_position(position, next_seq);
        }
    }
}
