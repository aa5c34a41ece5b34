//! The daemon's side of notifying: reading `subscribers.toml`, starting the deliveries
//! that are due, and recording each attempt's outcome in the journal.

use chrono::{DateTime, Utc};

use super::Daemon;
use crate::config::Subscribers;
use crate::journal::Event;
use crate::notify::dispatch::Finished;
use crate::notify::outbox::{Attempted, State, receipts};

impl Daemon {
    /// Read `subscribers.toml` again; a broken file leaves the last good list in force.
    pub(super) fn reload_subscribers(&mut self) {
        if !self.leading() {
            return; // the leader reads them into the journal
        }
        let path = Subscribers::path(&self.config);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => Some(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot read the subscribers; the last good list stays in force");
                return;
            }
        };
        // Unchanged text under the same configuration: nothing to do (any file in the
        // folder changing brings us here).
        let seen = (self.reading.generation, text);
        if self.reading.subscribers_seen.as_ref() == Some(&seen) {
            return;
        }
        let env = |name: &str| std::env::var(name).ok();
        let parsed = match &seen.1 {
            None => Ok(Subscribers::default()),
            Some(t) => Subscribers::parse(&path, t, &self.config, &env),
        };
        self.reading.subscribers_seen = Some(seen);
        match parsed {
            Ok(s) => {
                let events = self.notifier.set_subscribers(s);
                let now = Utc::now();
                if let Err(e) = self.append(events.into_iter().map(|e| (now, e)).collect()) {
                    tracing::error!(error = %format!("{e:#}"), "cannot record the subscribers; will retry on the next change");
                }
            }
            Err(diags) => {
                for d in diags.iter() {
                    tracing::error!(problem = %d, "subscribers not reloaded; the last good list stays in force");
                }
            }
        }
    }

    /// Retries asked for with `forewarn outbox retry` while the daemon runs.
    pub(super) fn take_requests(&mut self) {
        if !self.leading() {
            return;
        }
        let ids = crate::notify::requests::take_retries(&self.state_dir);
        let now = Utc::now();
        let events: Vec<_> = ids
            .into_iter()
            .filter(|id| {
                self.notifier
                    .outbox
                    .get(id)
                    .is_some_and(|d| d.state == State::Dead)
            })
            .map(|id| (now, Event::DeliveryRetried { id }))
            .collect();
        self.record_receipts(events);
    }

    /// Append delivery bookkeeping; what cannot be written now is kept and tried again
    /// every second, so a delivery that succeeded is never sent again for want of its
    /// receipt.
    pub(super) fn record_receipts(&mut self, events: Vec<(DateTime<Utc>, Event)>) {
        let mut all = std::mem::take(&mut self.ledger.unsaved);
        all.extend(events);
        if all.is_empty() || !self.leading() {
            return; // no longer leading: the next leader delivers them again, with the same ids
        }
        if let Err(e) = self.append(all.clone()) {
            tracing::error!(error = %format!("{e:#}"), pending = all.len(), "cannot record delivery outcomes; will try again");
            self.ledger.unsaved = all;
        }
    }

    /// Start the deliveries that are due.
    pub(super) fn start_deliveries(&mut self) {
        if !self.leading() {
            return;
        }
        let config = self.config.clone();
        let receipts = self.notifier.start_due(&config, Utc::now());
        let now = Utc::now();
        self.record_receipts(receipts.into_iter().map(|e| (now, e)).collect());
    }

    /// Record the outcome of attempts that ended (this one and any others waiting), in
    /// one append.
    pub(super) fn record_attempts(&mut self, first: Finished) {
        let mut done = vec![first];
        while let Some(more) = self.notifier.try_finished() {
            done.push(more);
        }
        if !self.leading() {
            // Attempts made while this node led: their receipts are no longer this
            // node's to record. The leader sends them again, with the same ids.
            for f in &done {
                self.notifier.outbox.release(&f.delivery.id);
            }
            return;
        }
        let mut events = Vec::new();
        let mut dead = Vec::new();
        for f in &done {
            let d = &f.delivery;
            let channel = self
                .notifier
                .audience
                .members
                .get(&d.subscriber)
                .map_or("email", |m| m.record.reached_by().as_str())
                .to_owned();
            let outcome = match &f.outcome {
                Attempted::Delivered => "delivered",
                Attempted::Failed { .. } => "failed",
                Attempted::Gone { .. } => "gone",
                Attempted::Rejected { .. } => "rejected",
            };
            self.probing.metrics.delivery(&channel, outcome);
            match &f.outcome {
                Attempted::Delivered => tracing::info!(
                    delivery = %d.id,
                    to = %self.notifier.audience.members.get(&d.subscriber).map_or(d.subscriber.as_str(), |m| m.record.address.as_str()),
                    notice = %d.composed.summary(),
                    attempt = d.attempts + 1,
                    "notice delivered"
                ),
                other => tracing::warn!(
                    delivery = %d.id,
                    to = %self.notifier.audience.members.get(&d.subscriber).map_or(d.subscriber.as_str(), |m| m.record.address.as_str()),
                    notice = %d.composed.summary(),
                    attempt = d.attempts + 1,
                    outcome,
                    error = other.error().unwrap_or_default(),
                    "delivery attempt failed"
                ),
            }
            let made = receipts(d, f.outcome.clone(), f.at);
            // Given up on: operators hear of it (not of their own alerts, which would
            // only call for more alerts).
            for e in &made {
                if let Event::DeliveryDead { error, .. } = e
                    && d.composed.kind != "operator.alert"
                {
                    let to = self
                        .notifier
                        .audience
                        .members
                        .get(&d.subscriber)
                        .map_or(d.subscriber.as_str(), |m| m.record.address.as_str());
                    dead.push(format!("{} to {to} ({error})", d.composed.summary()));
                }
            }
            events.extend(made.into_iter().map(|e| (f.at, e)));
        }
        self.record_receipts(events);
        if let Some(example) = dead.first() {
            self.alert(
                crate::monitor::alerts::deliveries_dead(dead.len(), example),
                crate::monitor::alerts::DEAD_QUIET,
            );
        }
    }
}
