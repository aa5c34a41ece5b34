//! The outbox as a snapshot stores it: what is owed (each notice once, however many
//! it goes to) and the shapes later events are compared with. The queues and the ready
//! index are rebuilt from the deliveries; nothing is under way after a start.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Composed, Delivery, Outbox, State, WindowShape, queue_key};

/// One delivery owed, its notice named by the event's sequence number.
#[derive(Debug, Serialize, Deserialize)]
pub struct Owed {
    pub id: String,
    pub subscriber: String,
    pub seq: u64,
    pub state: State,
    pub attempts: u32,
    pub first_attempt: Option<DateTime<Utc>>,
    pub next_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct OutboxParts {
    /// Each notice still owed to someone, by its event's sequence number.
    pub notices: BTreeMap<u64, Composed>,
    pub owed: Vec<Owed>,
    pub touched: BTreeMap<String, BTreeSet<String>>,
    pub windows: BTreeMap<String, WindowShape>,
}

impl Outbox {
    /// Everything owed, for a snapshot.
    pub fn to_parts(&self) -> OutboxParts {
        let mut parts = OutboxParts::default();
        let mut ids: Vec<&String> = self.deliveries.keys().collect();
        ids.sort();
        for id in ids {
            let d = &self.deliveries[id];
            parts
                .notices
                .entry(d.composed.seq)
                .or_insert_with(|| (*d.composed).clone());
            parts.owed.push(Owed {
                id: d.id.clone(),
                subscriber: d.subscriber.clone(),
                seq: d.composed.seq,
                state: d.state,
                attempts: d.attempts,
                first_attempt: d.first_attempt,
                next_at: d.next_at,
                last_error: d.last_error.clone(),
            });
        }
        parts.touched = self
            .touched
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        parts.windows = self
            .windows
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        parts
    }

    /// The outbox a snapshot held; None if a delivery names a notice it does not hold.
    pub fn from_parts(parts: OutboxParts) -> Option<Outbox> {
        let notices: HashMap<u64, Arc<Composed>> = parts
            .notices
            .into_iter()
            .map(|(seq, c)| (seq, Arc::new(c)))
            .collect();
        let mut outbox = Outbox {
            touched: parts.touched.into_iter().collect(),
            windows: parts.windows.into_iter().collect(),
            ..Outbox::default()
        };
        for o in parts.owed {
            let composed = notices.get(&o.seq)?.clone();
            let d = Delivery {
                id: o.id,
                subscriber: o.subscriber,
                composed,
                state: o.state,
                attempts: o.attempts,
                first_attempt: o.first_attempt,
                next_at: o.next_at,
                last_error: o.last_error,
            };
            let key = queue_key(&d);
            if d.state != State::Dead {
                outbox
                    .queues
                    .entry(key.clone())
                    .or_default()
                    .insert(d.composed.seq, d.id.clone());
            }
            outbox.deliveries.insert(d.id.clone(), d);
            outbox.refresh(&key);
        }
        Some(outbox)
    }
}
