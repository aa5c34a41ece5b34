//! Into the journal and out again: an append is made durable, then folded into
//! everything derived from the journal (the view, the outbox and subscribers, the alert
//! log, the pages to rebuild) and announced to whoever listens.

use chrono::{DateTime, Utc};

use super::wait::blocking;
use super::{Daemon, SITE_DEBOUNCE};
use crate::journal::{Event, Record};
use crate::monitor::{alerts, snapshot};
use crate::notify::fold;

impl Daemon {
    /// Record the maintenance events that are due, and keep the promises made.
    pub(super) fn run_clock(&mut self, now: DateTime<Utc>) {
        if !self.leading() {
            return;
        }
        let events = crate::monitor::maintenance::due_events(&self.declared, &self.view, now);
        if let Err(e) = self.append(events) {
            tracing::error!(error = %format!("{e:#}"), "cannot record maintenance events; will retry");
        }
        let promised = crate::monitor::promises::due(&self.config, &self.view, &self.alerts, now);
        if let Err(e) = self.append(promised) {
            tracing::error!(error = %format!("{e:#}"), "cannot record a promised update; will retry");
        }
    }

    /// Append durably, then fold in and announce. A journal that cannot be written is
    /// told to operators once it can be again.
    pub(super) fn append(&mut self, events: Vec<(DateTime<Utc>, Event)>) -> anyhow::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // The last fence: a node whose lease may have run out appends nothing.
        if !self.lease_holds() {
            anyhow::bail!("this node does not lead the cluster now; nothing was recorded");
        }
        // Status changes that waited for the journal go first, in the order they happened.
        if !self.ledger.draining && !self.ledger.waiting.is_empty() {
            self.record_waiting();
            if !self.ledger.waiting.is_empty() {
                anyhow::bail!(
                    "the journal cannot be written yet: {} status changes wait to be recorded first",
                    self.ledger.waiting.len()
                );
            }
        }
        let journal = &mut self.ledger.journal;
        let records = match blocking(|| journal.append(events)) {
            Ok(r) => r,
            Err(e) => {
                self.probing.metrics.journal_append_failed();
                if self.ledger.journal_trouble.is_none() {
                    self.ledger.journal_trouble = Some((Utc::now(), e.to_string()));
                }
                return Err(e.into());
            }
        };
        self.fold(records);
        if self.ledger.since_snapshot >= snapshot::EVERY {
            self.save_snapshot();
        }
        self.tell_journal_recovered();
        Ok(())
    }

    /// Once the journal takes appends again and nothing waits any more, tell operators
    /// how long it could not, and what that cost.
    pub(super) fn tell_journal_recovered(&mut self) {
        if !self.ledger.waiting.is_empty() {
            return;
        }
        if !self.leading() {
            return;
        }
        let Some((since, error)) = self.ledger.journal_trouble.take() else {
            return;
        };
        let now = Utc::now();
        let event = alerts::journal_unwritable(
            &self.config,
            since,
            now,
            &error,
            self.ledger.late,
            self.ledger.dropped,
        );
        match blocking(|| self.ledger.journal.append(vec![(now, event)])) {
            Ok(records) => {
                self.ledger.late = 0;
                self.ledger.dropped = 0;
                self.fold(records);
            }
            Err(_) => self.ledger.journal_trouble = Some((since, error)),
        }
    }

    /// Write a snapshot of everything folded so far, so the next start replays only what
    /// follows. Not while the journal is in trouble: what waits to be recorded is not
    /// in it yet.
    pub(super) fn save_snapshot(&mut self) {
        if self.ledger.journal_trouble.is_some() || !self.ledger.unsaved.is_empty() {
            return;
        }
        let Some(anchor) = self.ledger.journal.anchor() else {
            return;
        };
        let started = std::time::Instant::now();
        let written = blocking(|| {
            snapshot::write(
                &self.state_dir,
                &anchor,
                &self.view,
                &self.notifier.audience,
                &self.notifier.outbox,
                &self.alerts,
            )
        });
        match written {
            Ok(bytes) => {
                self.ledger.since_snapshot = 0;
                tracing::info!(
                    seq = anchor.seq,
                    bytes,
                    ms = started.elapsed().as_millis() as u64,
                    "snapshot written"
                );
            }
            // Tried again after the next batch of records; a start replays a little more.
            Err(e) => {
                self.ledger.since_snapshot = snapshot::EVERY / 2;
                tracing::warn!(error = %e, "cannot write a snapshot; the next start will replay more of the journal");
            }
        }
    }

    /// Fold records just made durable into everything derived from the journal.
    pub(super) fn fold(&mut self, records: Vec<Record>) {
        self.ledger.since_snapshot += records.len() as u64;
        for r in records {
            fold::step(
                &self.config,
                &mut self.view,
                &mut self.notifier.audience,
                &mut self.notifier.outbox,
                &r,
                None,
            );
            self.alerts.apply(&r);
            if r.event.is_bookkeeping() {
                tracing::debug!(seq = r.seq, event = r.event.kind(), "recorded");
            } else {
                self.site.pending.note(&r.event, &self.view);
                if self.site.due.is_none() {
                    self.site.due = Some(tokio::time::Instant::now() + SITE_DEBOUNCE);
                }
                tracing::info!(seq = r.seq, event = r.event.kind(), "recorded");
            }
            if let Some(tx) = &self.ledger.records {
                let _ = tx.send(r);
            }
        }
    }
}
