//! Everything derived from the journal for telling people, folded in the one order that
//! makes it true, for the daemon, its restart and every command alike:
//!
//! 1. the status view takes the record first, so a notice shows the moment right after
//!    its event;
//! 2. the outbox then owes it to the subscribers in force *before* it (someone who
//!    subscribes in the same breath is not told of what came before them);
//! 3. the subscribers take it last.

use std::collections::HashSet;

use super::audience::Audience;
use super::outbox::{Outbox, settled_ids};
use crate::config::Config;
use crate::journal::Record;
use crate::status::StatusView;

/// The view, the subscribers and what is owed, as of one point of the journal.
#[derive(Debug, Default)]
pub struct Fold {
    pub view: StatusView,
    pub audience: Audience,
    pub outbox: Outbox,
}

impl Fold {
    /// Fold a whole journal. Deliveries settled later in it are not composed at all.
    pub fn replay(config: &Config, records: &[Record]) -> Fold {
        let done = settled_ids(records);
        let mut fold = Fold::default();
        for r in records {
            step(
                config,
                &mut fold.view,
                &mut fold.audience,
                &mut fold.outbox,
                r,
                Some(&done),
            );
        }
        fold
    }

    /// Fold the records that follow a snapshot into what it held. Deliveries settled
    /// later in them are not composed at all.
    pub fn resume(mut self, config: &Config, records: &[Record]) -> Fold {
        let done = settled_ids(records);
        for r in records {
            step(
                config,
                &mut self.view,
                &mut self.audience,
                &mut self.outbox,
                r,
                Some(&done),
            );
        }
        self
    }

    /// Fold a journal without its configuration: the view and the subscribers; what is
    /// owed cannot be composed, and the outbox stays empty.
    pub fn replay_without_deliveries(records: &[Record]) -> Fold {
        let mut fold = Fold::default();
        for r in records {
            fold.view.apply(r);
            fold.audience.apply(r);
        }
        fold
    }

    /// Fold one record just made durable.
    pub fn apply(&mut self, config: &Config, record: &Record) {
        step(
            config,
            &mut self.view,
            &mut self.audience,
            &mut self.outbox,
            record,
            None,
        );
    }
}

/// One record into each part, in the order above; for a daemon that keeps the parts
/// apart (the view with the loop, the subscribers and outbox with its notifier).
pub fn step(
    config: &Config,
    view: &mut StatusView,
    audience: &mut Audience,
    outbox: &mut Outbox,
    record: &Record,
    done: Option<&HashSet<&str>>,
) {
    view.apply(record);
    outbox.apply(config, view, audience, record, done);
    audience.apply(record);
}
