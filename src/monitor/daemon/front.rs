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
    fn record_then<T: Send + 'static>(
        &mut self,
        now: chrono::DateTime<Utc>,
        answer: Answer<T>,
        reply: impl FnOnce(T) + Send + 'static,
    ) {
        if !answer.events.is_empty() {
            let events: Vec<_> = answer.events.into_iter().map(|e| (now, e)).collect();
            if let (false, Some(c)) = (self.leading(), &self.cluster) {
                // Only the leader appends: the events go to it, and the answer waits
                // for it to have recorded them (no answer: the front says "try again").
                let client = c.link.client().clone();
                let names = c.link.names().clone();
                let (failure, log, value) = (answer.failure, answer.log, answer.reply);
                tokio::spawn(async move {
                    match crate::cluster::forward::propose(&client, &names, events).await {
                        Ok(()) => {
                            tell(log);
                            reply(value);
                        }
                        Err(e) => tracing::warn!(error = %e, "{failure}"),
                    }
                });
                return;
            }
            if let Err(e) = self.append(events) {
                tracing::error!(error = %format!("{e:#}"), "{}", answer.failure);
                return;
            }
        }
        tell(answer.log);
        reply(answer.reply);
    }

    /// Events another node passed on: the leader records them and says so. Only what
    /// subscribers ask for themselves is taken.
    pub(super) fn proposed(&mut self, incoming: crate::cluster::forward::Incoming) {
        use crate::cluster::forward::Recorded;
        if !self.leading() {
            return; // the leader answers
        }
        let events: Vec<_> = incoming
            .proposal
            .events
            .into_iter()
            .map(|p| (p.at, p.event))
            .collect();
        let recorded = if events
            .iter()
            .all(|(_, e)| e.kind().starts_with("subscriber."))
        {
            match self.append(events) {
                Ok(()) => Recorded { problem: None },
                Err(e) => Recorded {
                    problem: Some(format!("{e:#}")),
                },
            }
        } else {
            tracing::warn!(
                "a node passed on events other than a subscriber's own; they were not recorded"
            );
            Recorded {
                problem: Some("only a subscriber's own requests are passed on".into()),
            }
        };
        if let (Some(reply), Some(c)) = (incoming.reply, &self.cluster) {
            let client = c.link.client().clone();
            tokio::spawn(async move {
                crate::cluster::forward::answer(&client, reply, &recorded).await
            });
        }
    }
}

/// The operator's log line for a request recorded.
fn tell(log: Option<Log>) {
    match log {
        Some(Log::Subscriber { who, what }) => tracing::info!(subscriber = %who, "{what}"),
        Some(Log::Webhook { who, format, what }) => {
            tracing::info!(webhook = %who, format, "{what}")
        }
        None => {}
    }
}
