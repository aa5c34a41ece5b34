//! Who hears what: the subscribers as the journal records them, folded from
//! `subscriber.*` events, and the events that bring `subscribers.toml` into the journal.
//!
//! Keeping subscribers in the journal makes every delivery a pure function of the
//! journal: the subscribers of an event are those in force at its sequence number, so a
//! restart derives exactly the deliveries the first run did.

use std::collections::BTreeMap;

use crate::config::subscribers::{Subscriber, Subscribers, Target, label};
use crate::journal::{Event, Record, SubscriberRecord};
use crate::vocab::{Medium, Role};

/// Where a subscriber's entry came from.
pub const SOURCE_FILE: &str = "file";

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    pub record: SubscriberRecord,
    /// Why the endpoint is disabled (HTTP 410), if it is.
    pub disabled: Option<String>,
}

impl Member {
    /// Does this subscriber want to hear about something touching `components`?
    /// Something touching no component (rare) goes to everyone.
    pub fn wants(&self, components: &[String]) -> bool {
        self.record.components.is_empty()
            || components.is_empty()
            || components
                .iter()
                .any(|c| self.record.components.contains(c))
    }
}

/// Who removed themselves: `by` on `subscriber.removed`.
pub const BY_SUBSCRIBER: &str = "subscriber";

/// The subscribers in force, by key.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Audience {
    pub members: BTreeMap<String, Member>,
    /// Those who unsubscribed themselves, with their address: never added back from
    /// the file; only their own new confirmation brings them back.
    pub opted_out: BTreeMap<String, String>,
    /// Asked on the status page, not confirmed yet: what they asked for, and until when
    /// the confirmation link works.
    pub pending: BTreeMap<String, (SubscriberRecord, chrono::DateTime<chrono::Utc>)>,
    /// When each address was last sent a confirmation email (the last few), to limit
    /// them per day.
    pub asked: BTreeMap<String, Vec<chrono::DateTime<chrono::Utc>>>,
}

impl Audience {
    pub fn apply(&mut self, record: &Record) {
        match &record.event {
            Event::SubscriberPending {
                key,
                subscriber,
                expires_at,
            } => {
                // Forget sign-ups whose link has expired, and counts older than a day.
                self.pending.retain(|_, (_, exp)| *exp > record.at);
                self.asked.retain(|_, t| {
                    t.last()
                        .is_some_and(|last| record.at - *last < chrono::TimeDelta::days(1))
                });
                self.pending
                    .insert(key.clone(), (subscriber.clone(), *expires_at));
                let times = self.asked.entry(key.clone()).or_default();
                times.push(record.at);
                if times.len() > 8 {
                    times.remove(0);
                }
            }
            Event::SubscriberConfirmed { key, subscriber }
            | Event::SubscriberUpdated { key, subscriber } => {
                self.opted_out.remove(key);
                self.pending.remove(key);
                self.members.insert(
                    key.clone(),
                    Member {
                        record: subscriber.clone(),
                        disabled: None,
                    },
                );
            }
            Event::SubscriberRemoved { key, by } => {
                if let Some(m) = self.members.remove(key)
                    && by.as_deref() == Some(BY_SUBSCRIBER)
                {
                    self.opted_out.insert(key.clone(), m.record.address);
                }
            }
            Event::SubscriberDisabled { key, reason } => {
                if let Some(m) = self.members.get_mut(key) {
                    m.disabled = Some(reason.clone());
                }
            }
            _ => {}
        }
    }

    /// Is anyone listening at all?
    pub fn is_empty(&self) -> bool {
        !self.members.values().any(|m| m.disabled.is_none())
    }

    /// Active subscribers who want to hear about `components`.
    pub fn interested<'a>(
        &'a self,
        components: &'a [String],
    ) -> impl Iterator<Item = (&'a String, &'a Member)> + 'a {
        self.members
            .iter()
            .filter(move |(_, m)| m.disabled.is_none() && m.wants(components))
    }
}

/// How the journal records one subscriber of the file.
pub fn record_of(s: &Subscriber) -> SubscriberRecord {
    match &s.target {
        Target::Email { address } => SubscriberRecord {
            channel: Medium::Email,
            address: address.clone(),
            format: None,
            components: s.components.clone(),
            timezone: s.timezone.map(|tz| tz.name().to_owned()),
            source: SOURCE_FILE.into(),
            url: None,
            audience: s.operator.then_some(Role::Operator),
        },
        Target::Webhook(w) => SubscriberRecord {
            channel: Medium::Webhook,
            address: label(&w.url, w.url_is_secret),
            format: Some(w.format),
            components: s.components.clone(),
            timezone: None,
            source: SOURCE_FILE.into(),
            url: None,
            audience: s.operator.then_some(Role::Operator),
        },
    }
}

/// The events that make the journal's subscribers match the file: new entries
/// confirmed, changed ones updated (which also enables a disabled endpoint again), and
/// entries gone from the file removed.
pub fn sync_events(file: &Subscribers, audience: &Audience) -> Vec<Event> {
    let mut events = Vec::new();
    for s in &file.list {
        if audience.opted_out.contains_key(&s.key) {
            continue; // they unsubscribed themselves: the file does not override that
        }
        let record = record_of(s);
        match audience.members.get(&s.key) {
            None => events.push(Event::SubscriberConfirmed {
                key: s.key.clone(),
                subscriber: record,
            }),
            Some(m) if m.record != record => events.push(Event::SubscriberUpdated {
                key: s.key.clone(),
                subscriber: record,
            }),
            Some(_) => {}
        }
    }
    for (key, m) in &audience.members {
        if m.record.source == SOURCE_FILE && file.get(key).is_none() {
            events.push(Event::SubscriberRemoved {
                key: key.clone(),
                by: None,
            });
        }
    }
    events
}
