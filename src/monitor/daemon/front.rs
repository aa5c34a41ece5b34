//! The daemon's answers to its HTTP front: unsubscribe links and readiness.

use chrono::Utc;

use super::Daemon;
use crate::journal::Event;
use crate::notify::audience::BY_SUBSCRIBER;
use crate::serve::{Ask, mask};

impl Daemon {
    pub(super) fn answer(&mut self, ask: Ask) {
        match ask {
            Ask::Ready { reply } => {
                let _ = reply.send(self.journal.is_writable());
            }
            Ask::Lookup { token, reply } => {
                let found = self
                    .notifier
                    .find_by_token(&token)
                    .filter(|(_, _, active)| *active)
                    .map(|(_, address, _)| mask(&address));
                let _ = reply.send(found);
            }
            Ask::Unsubscribe { token, reply } => {
                let Some((key, address, active)) = self.notifier.find_by_token(&token) else {
                    let _ = reply.send(None);
                    return;
                };
                if active {
                    let event = Event::SubscriberRemoved {
                        key,
                        by: Some(BY_SUBSCRIBER.into()),
                    };
                    if let Err(e) = self.append(vec![(Utc::now(), event)]) {
                        tracing::error!(error = %format!("{e:#}"), "cannot record an unsubscribe");
                        drop(reply); // the front answers "try again"
                        return;
                    }
                    tracing::info!(subscriber = %mask(&address), "unsubscribed by their own link");
                }
                let _ = reply.send(Some(mask(&address)));
            }
        }
    }
}
