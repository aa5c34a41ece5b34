//! The outbox: every delivery the journal calls for that has no success receipt yet.
//!
//! A notifying event, with the subscribers in force at that point of the journal,
//! determines its deliveries; each has a stable id (`msg_…`, a hash of the event's
//! sequence number and the subscriber). Receipts (`delivery.succeeded`, `.failed`,
//! `.dead`) settle them. Folding the journal from the start therefore rebuilds exactly
//! what is still owed after a crash. Pure.
//!
//! Over 500 lines because the fold, its ready index and the receipts that settle it
//! must change together; its tests are in `outbox/tests.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use sha2::{Digest, Sha256};

use super::audience::Audience;
use super::compose::{Composed, compose};
use crate::config::Config;
use crate::journal::{Event, Record};
use crate::status::StatusView;
use crate::vocab::Channel;

/// Waits after each failed attempt: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, then hourly.
pub const BACKOFF: &[Duration] = &[
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
];
/// After this long since the first attempt, a failing delivery is dead.
pub const GIVE_UP_AFTER: TimeDelta = TimeDelta::hours(24);
/// The longest a receiver's `Retry-After` is waited for.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(6 * 3600);

/// The stable id of one notice to one subscriber.
pub fn delivery_id(seq: u64, subscriber: &str) -> String {
    let digest = Sha256::digest(format!("{seq}\n{subscriber}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("msg_{hex}")
}

/// How long to wait after attempt number `attempt` (1 = the first) failed.
pub fn backoff(attempt: u32) -> Duration {
    let i = (attempt.max(1) - 1) as usize;
    BACKOFF.get(i).copied().unwrap_or(Duration::from_secs(3600))
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Not tried yet, or due again at `next_at`.
    Pending,
    /// Tried and failed; due again at `next_at`.
    Failing,
    /// Given up on; waits for `forewarn outbox retry`.
    Dead,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Failing => "failing",
            State::Dead => "dead",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub subscriber: String,
    /// What is told, as it stood at its event; each channel renders it for its reader.
    pub composed: Arc<Composed>,
    pub state: State,
    /// Attempts made so far.
    pub attempts: u32,
    pub first_attempt: Option<DateTime<Utc>>,
    pub next_at: DateTime<Utc>,
    pub last_error: Option<String>,
}

/// A window's start, end and components.
type WindowShape = (DateTime<Utc>, DateTime<Utc>, Vec<String>);

/// A queue of deliveries that must arrive in order: (subscriber, thread).
type QueueKey = (String, String);

/// Deliveries owed, in order per (subscriber, thread).
#[derive(Debug, Default)]
pub struct Outbox {
    deliveries: HashMap<String, Delivery>,
    /// (subscriber, thread) → seq → id, for deliveries not dead.
    queues: HashMap<QueueKey, BTreeMap<u64, String>>,
    /// Ids with an attempt under way (not recorded in the journal).
    in_flight: HashSet<String>,
    /// The head of each queue that is not under way, by when it is due: what
    /// `take_due` and `next_due` read without scanning every queue.
    ready: BTreeSet<(DateTime<Utc>, u64, String)>,
    /// Queue → its head's entry in `ready`.
    heads: HashMap<QueueKey, (DateTime<Utc>, u64, String)>,
    /// Every component each incident has touched: whoever heard of its opening hears
    /// of its resolution, even if an edit moved it to other components since.
    touched: HashMap<String, BTreeSet<String>>,
    /// Each announced window's times and components: an edit that moves them is told,
    /// an edit of its words alone is not.
    windows: HashMap<String, WindowShape>,
}

fn queue_key(d: &Delivery) -> QueueKey {
    (d.subscriber.clone(), d.composed.thread.clone())
}

/// Settled ids found in a first pass over the journal, so replay composes notices only
/// for deliveries still owed.
pub(super) fn settled_ids(records: &[Record]) -> HashSet<&str> {
    let mut done = HashSet::new();
    for r in records {
        match &r.event {
            Event::DeliverySucceeded { id, .. } => {
                done.insert(id.as_str());
            }
            Event::DeliveryRetried { id } => {
                done.remove(id.as_str());
            }
            _ => {}
        }
    }
    done
}

impl Outbox {
    /// Fold one record. `view` has it applied already; `audience` not yet (the
    /// subscribers of an event are those in force before it). `done` skips composing
    /// for deliveries known to be settled later in the journal.
    pub fn apply(
        &mut self,
        config: &Config,
        view: &StatusView,
        audience: &Audience,
        record: &Record,
        done: Option<&HashSet<&str>>,
    ) {
        match &record.event {
            Event::DeliverySucceeded { id, .. } => {
                self.in_flight.remove(id);
                if let Some(d) = self.deliveries.remove(id) {
                    self.dequeue(&d);
                }
            }
            Event::DeliveryFailed {
                id,
                attempt,
                error,
                next_at,
            } => {
                self.in_flight.remove(id);
                if let Some(d) = self.deliveries.get_mut(id)
                    && d.state != State::Dead
                {
                    d.state = State::Failing;
                    d.attempts = *attempt;
                    d.first_attempt.get_or_insert(record.at);
                    d.next_at = *next_at;
                    d.last_error = Some(error.clone());
                    let key = queue_key(d);
                    self.refresh(&key);
                }
            }
            Event::DeliveryDead { id, attempt, error } => {
                self.in_flight.remove(id);
                if let Some(d) = self.deliveries.get_mut(id) {
                    d.state = State::Dead;
                    d.attempts = *attempt;
                    d.last_error = Some(error.clone());
                    let d = d.clone();
                    self.dequeue(&d);
                }
            }
            Event::DeliveryRetried { id } => {
                if let Some(d) = self.deliveries.get_mut(id) {
                    d.state = State::Pending;
                    d.attempts = 0;
                    d.first_attempt = None;
                    d.next_at = record.at;
                    let key = queue_key(d);
                    let (seq, id) = (d.composed.seq, d.id.clone());
                    self.queues.entry(key.clone()).or_default().insert(seq, id);
                    self.refresh(&key);
                }
            }
            Event::SubscriberDisabled { key, reason } => {
                let owed: Vec<Delivery> = self
                    .deliveries
                    .values_mut()
                    .filter(|d| &d.subscriber == key && d.state != State::Dead)
                    .map(|d| {
                        d.state = State::Dead;
                        d.last_error = Some(format!("not sent: {reason}"));
                        d.clone()
                    })
                    .collect();
                for d in owed {
                    self.dequeue(&d);
                }
            }
            Event::SubscriberPending { key, .. } => {
                // The one email sent before confirmation: to this address only.
                let Some(composed) = super::compose::confirmation(record) else {
                    return;
                };
                self.enqueue(key, &Arc::new(composed), done);
            }
            Event::SubscriberRemoved { key, .. } => {
                let gone: Vec<String> = self
                    .deliveries
                    .values()
                    .filter(|d| &d.subscriber == key)
                    .map(|d| d.id.clone())
                    .collect();
                for id in gone {
                    if let Some(d) = self.deliveries.remove(&id) {
                        self.dequeue(&d);
                    }
                }
            }
            _ => {
                if let Event::IncidentOpened { id, components, .. }
                | Event::IncidentChanged { id, components, .. } = &record.event
                {
                    self.touched
                        .entry(id.clone())
                        .or_default()
                        .extend(components.keys().cloned());
                }
                if let Event::MaintenanceScheduled { id, window }
                | Event::MaintenanceChanged { id, window } = &record.event
                {
                    let now = (window.starts_at, window.ends_at, window.components.clone());
                    let before = self.windows.insert(id.clone(), now.clone());
                    if matches!(record.event, Event::MaintenanceChanged { .. })
                        && before.is_none_or(|b| b == now)
                    {
                        return; // only its words changed
                    }
                }
                if audience.is_empty() {
                    return; // nobody to tell
                }
                let Some(mut composed) = compose(config, view, record) else {
                    return;
                };
                if let Some(ever) = composed
                    .thread
                    .strip_prefix("incident:")
                    .and_then(|id| self.touched.get(id))
                {
                    for c in ever {
                        if !composed.components.contains(c) {
                            composed.components.push(c.clone());
                            if !view.is_public(c) {
                                composed.hidden.push(c.clone());
                            }
                        }
                    }
                }
                let composed = Arc::new(composed);
                let for_customers = composed.for_customers();
                for (key, member) in audience.interested(&composed.components) {
                    let channel = member.record.reached_by();
                    let machine = channel.is_machine();
                    // Statuspage's webhooks have no shape for operator alerts or a
                    // vendor's trouble.
                    if channel == Channel::Statuspage
                        && matches!(
                            composed.what,
                            super::compose::What::Alert { .. }
                                | super::compose::What::Vendor { .. }
                        )
                    {
                        continue;
                    }
                    if !(composed.for_people() || machine) {
                        continue;
                    }
                    // Operators hear everything; customers what is public and theirs.
                    if !(member.record.is_operator() || for_customers) {
                        continue;
                    }
                    self.enqueue(key, &composed, done);
                }
            }
        }
    }

    /// Owe `composed` to `subscriber`, unless a later receipt (`done`) settles it.
    fn enqueue(
        &mut self,
        subscriber: &str,
        composed: &Arc<Composed>,
        done: Option<&HashSet<&str>>,
    ) {
        let id = delivery_id(composed.seq, subscriber);
        if done.is_some_and(|d| d.contains(id.as_str())) {
            return;
        }
        let queue = (subscriber.to_owned(), composed.thread.clone());
        self.queues
            .entry(queue.clone())
            .or_default()
            .insert(composed.seq, id.clone());
        self.deliveries.insert(
            id.clone(),
            Delivery {
                id,
                subscriber: subscriber.to_owned(),
                composed: composed.clone(),
                state: State::Pending,
                attempts: 0,
                first_attempt: None,
                next_at: composed.at,
                last_error: None,
            },
        );
        self.refresh(&queue);
    }

    fn dequeue(&mut self, d: &Delivery) {
        let key = queue_key(d);
        if let Some(q) = self.queues.get_mut(&key) {
            q.remove(&d.composed.seq);
            if q.is_empty() {
                self.queues.remove(&key);
            }
        }
        self.refresh(&key);
    }

    /// Put a queue's head (if due to be tried and not under way) in the ready index.
    fn refresh(&mut self, key: &QueueKey) {
        if let Some(old) = self.heads.remove(key) {
            self.ready.remove(&old);
        }
        let Some(id) = self.queues.get(key).and_then(|q| q.values().next()) else {
            return;
        };
        if self.in_flight.contains(id) {
            return;
        }
        if let Some(d) = self.deliveries.get(id) {
            let entry = (d.next_at, d.composed.seq, d.id.clone());
            self.ready.insert(entry.clone());
            self.heads.insert(key.clone(), entry);
        }
    }

    /// Deliveries to attempt now: the first owed of each (subscriber, thread), when it
    /// is due and not already under way, earliest first. They are marked as under way.
    pub fn take_due(&mut self, now: DateTime<Utc>, limit: usize) -> Vec<Delivery> {
        let mut due = Vec::new();
        while due.len() < limit {
            let Some(first) = self.ready.first() else {
                break;
            };
            if first.0 > now {
                break;
            }
            let Some((_, _, id)) = self.ready.pop_first() else {
                break;
            };
            let Some(d) = self.deliveries.get(&id) else {
                continue;
            };
            self.heads.remove(&queue_key(d));
            self.in_flight.insert(id);
            due.push(d.clone());
        }
        due
    }

    /// An attempt ended without a receipt being recorded (the journal could not be
    /// written): let it be tried again.
    pub fn release(&mut self, id: &str) {
        self.in_flight.remove(id);
        if let Some(d) = self.deliveries.get(id) {
            let key = queue_key(d);
            self.refresh(&key);
        }
    }

    /// When the next delivery not under way falls due.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.ready.first().map(|(at, _, _)| *at)
    }

    pub fn get(&self, id: &str) -> Option<&Delivery> {
        self.deliveries.get(id)
    }

    /// Every delivery owed or dead, oldest first.
    pub fn list(&self) -> Vec<&Delivery> {
        let mut all: Vec<&Delivery> = self.deliveries.values().collect();
        all.sort_by_key(|d| (d.composed.seq, d.subscriber.clone()));
        all
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Deliveries still owed (not dead).
    pub fn depth(&self) -> usize {
        self.queues.values().map(|q| q.len()).sum()
    }
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempted {
    Delivered,
    /// Failed; try again (after at least `retry_after`, when the receiver said so).
    Failed {
        error: String,
        retry_after: Option<Duration>,
    },
    /// The endpoint is gone for good (HTTP 410).
    Gone {
        error: String,
    },
    /// This message will never be accepted (a permanent SMTP refusal): no retries.
    Rejected {
        error: String,
    },
}

impl Attempted {
    /// What went wrong, in words (None when delivered).
    pub fn error(&self) -> Option<&str> {
        match self {
            Attempted::Delivered => None,
            Attempted::Failed { error, .. }
            | Attempted::Gone { error }
            | Attempted::Rejected { error } => Some(error),
        }
    }
}

/// The receipt events for one attempt of `d` that ended at `now`.
pub fn receipts(d: &Delivery, outcome: Attempted, now: DateTime<Utc>) -> Vec<Event> {
    let attempt = d.attempts + 1;
    let first = d.first_attempt.unwrap_or(now);
    match outcome {
        Attempted::Delivered => vec![Event::DeliverySucceeded {
            id: d.id.clone(),
            attempt,
        }],
        Attempted::Rejected { error } => vec![Event::DeliveryDead {
            id: d.id.clone(),
            attempt,
            error,
        }],
        Attempted::Gone { error } => vec![
            Event::DeliveryDead {
                id: d.id.clone(),
                attempt,
                error: error.clone(),
            },
            Event::SubscriberDisabled {
                key: d.subscriber.clone(),
                reason: error,
            },
        ],
        Attempted::Failed { error, retry_after } => {
            // A receiver's Retry-After is honoured, but after two quick retries the
            // backoff is a floor, so "Retry-After: 1" forever is not a retry a second.
            let wait = match retry_after {
                Some(r) => {
                    let floor = if attempt <= 2 {
                        Duration::from_secs(1)
                    } else {
                        backoff(attempt - 2)
                    };
                    r.clamp(floor, MAX_RETRY_AFTER.max(floor))
                }
                None => backoff(attempt),
            };
            let next_at = now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1));
            if next_at - first > GIVE_UP_AFTER {
                vec![Event::DeliveryDead {
                    id: d.id.clone(),
                    attempt,
                    error: format!("{error}; gave up after {attempt} attempts over 24 hours"),
                }]
            } else {
                vec![Event::DeliveryFailed {
                    id: d.id.clone(),
                    attempt,
                    error,
                    next_at,
                }]
            }
        }
    }
}

mod parts;
#[cfg(test)]
mod tests;

pub use parts::OutboxParts;
