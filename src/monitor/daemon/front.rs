//! The daemon's answers to its HTTP front. Self-service rules are the pure functions of
//! `notify::self_service`; here each ask is routed to one, its events are appended, and
//! only then is the answer sent (a journal that cannot take them leaves the front to say
//! "try again").

use chrono::Utc;

use super::Daemon;
use crate::notify::asks::Ask;
use crate::notify::self_service::{self, Answer, Desk, Log};

impl Daemon {
    pub(super) fn answer(&mut self, ask: Ask) {
        if ask.abandoned() {
            return; // the page already said "try again": do nothing behind its back
        }
        let now = Utc::now();
        match ask {
            Ask::Ready { reply } => {
                // Not ready while the last append failed, until one succeeds.
                let ready =
                    self.ledger.journal.is_writable() && self.ledger.journal_trouble.is_none();
                let _ = reply.send(ready);
            }
            Ask::Metrics { reply } => {
                let mut text = self.probing.metrics.render(
                    &self.config,
                    &self.view,
                    &self.notifier.outbox,
                    now,
                );
                text.push_str(&self.cluster_metrics());
                let _ = reply.send(text);
            }
            Ask::Heartbeat { token, fail, reply } => {
                let _ = reply.send(self.heartbeat(&token, fail, now));
            }
            Ask::Lookup { token, reply } => {
                let _ = reply.send(self_service::lookup(&self.desk(now), &token));
            }
            Ask::Unsubscribe { token, reply } => {
                let answer = self_service::unsubscribe(&self.desk(now), &token);
                self.record_then(now, answer, |a| {
                    let _ = reply.send(a);
                });
            }
            Ask::Manage { token, set, reply } => {
                let answer = self_service::manage(&self.desk(now), &token, set);
                self.record_then(now, answer, |a| {
                    let _ = reply.send(a);
                });
            }
            Ask::RegisterWebhook { request, reply } => {
                let answer = self_service::register(&self.desk(now), request);
                self.record_then(now, answer, |a| {
                    let _ = reply.send(a);
                });
            }
            Ask::Subscribe {
                address,
                components,
                reply,
            } => {
                let answer = self_service::sign_up(&self.desk(now), &address, components);
                self.record_then(now, answer, |a| {
                    let _ = reply.send(a);
                });
            }
            Ask::Confirm {
                token,
                commit,
                reply,
            } => {
                let answer = self_service::confirm(&self.desk(now), &token, commit);
                self.record_then(now, answer, |a| {
                    let _ = reply.send(a);
                });
            }
        }
    }

    fn desk(&self, now: chrono::DateTime<Utc>) -> Desk<'_> {
        Desk {
            config: &self.config,
            audience: &self.notifier.audience,
            keys: self.notifier.keys(),
            now,
        }
    }

    /// Append the answer's events, then reply; nothing is replied if the journal cannot
    /// take them.
    fn record_then<T>(
        &mut self,
        now: chrono::DateTime<Utc>,
        answer: Answer<T>,
        reply: impl FnOnce(T),
    ) {
        if !answer.events.is_empty() {
            if !self.leading() {
                tracing::info!(
                    "a request that changes subscriptions reached a node that does not lead; it was asked to try again"
                );
                return;
            }
            let events = answer.events.into_iter().map(|e| (now, e)).collect();
            if let Err(e) = self.append(events) {
                tracing::error!(error = %format!("{e:#}"), "{}", answer.failure);
                return;
            }
        }
        match answer.log {
            Some(Log::Subscriber { who, what }) => tracing::info!(subscriber = %who, "{what}"),
            Some(Log::Webhook { who, format, what }) => {
                tracing::info!(webhook = %who, format, "{what}")
            }
            None => {}
        }
        reply(answer.reply);
    }
}
