//! Into the journal and out again: an append is made durable, then folded into
//! everything derived from the journal (the view, the outbox and subscribers, the alert
//! log, the pages to rebuild) and announced to whoever listens.

use chrono::{DateTime, Utc};

use super::wait::blocking;
use super::{Daemon, SITE_DEBOUNCE};
use crate::journal::{Event, Record};
use crate::monitor::alerts;
use crate::notify::fold;

impl Daemon {
    /// Record the maintenance events that are due, and keep the promises made.
    pub(super) fn run_clock(&mut self, now: DateTime<Utc>) {
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
        if let Some((since, error)) = self.ledger.journal_trouble.take() {
            let now = Utc::now();
            let event = alerts::journal_unwritable(&self.config, since, now, &error);
            if let Ok(records) = blocking(|| self.ledger.journal.append(vec![(now, event)])) {
                self.fold(records);
            }
        }
        Ok(())
    }

    /// Fold records just made durable into everything derived from the journal.
    fn fold(&mut self, records: Vec<Record>) {
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
