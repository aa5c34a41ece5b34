//! Attempting deliveries: the daemon's main loop owns a [`Notifier`], feeds it every
//! journal record, starts the attempts that are due (bounded by `[notify] concurrency`,
//! one at a time per subscriber and thread, so an update never overtakes its opening),
//! and records each attempt's outcome as a receipt in the journal.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::audience::{Audience, sync_events};
use super::channels::email::{self, Recipient, Templates};
use super::channels::{self, standard, statuspage};
use super::notice::Reader;
use super::outbox::{Attempted, Delivery, Outbox};
use super::send::Senders;
use super::token::Keys;
use crate::config::Config;
use crate::config::subscribers::{Subscribers, Target, WebhookFormat};
use crate::journal::Event;
use crate::vocab::{Channel, Medium};

/// An attempt that ended.
#[derive(Debug)]
pub struct Finished {
    pub delivery: Delivery,
    pub outcome: Attempted,
    pub at: DateTime<Utc>,
}

/// Where one delivery goes.
#[derive(Debug, Clone)]
pub enum Route {
    Email {
        address: String,
        reader: Reader,
        scope: Option<String>,
        unsubscribe_url: String,
    },
    Webhook {
        url: reqwest::Url,
        channel: Channel,
        /// `whsec_…` (standard format, and statuspage when one is set).
        secret: Option<String>,
        operator: bool,
        /// The subscriber's one-click way out (Statuspage's `meta.unsubscribe`).
        unsubscribe_url: String,
    },
    /// The confirmation email of a sign-up.
    Confirm { address: String, url: String },
}

pub struct Notifier {
    pub audience: Audience,
    pub outbox: Outbox,
    /// The file's subscribers: webhook addresses and secrets live only there.
    subscribers: Arc<Subscribers>,
    senders: Arc<Senders>,
    templates: Arc<Templates>,
    keys: Keys,
    limit: usize,
    tx: mpsc::UnboundedSender<Finished>,
    rx: mpsc::UnboundedReceiver<Finished>,
}

impl Notifier {
    pub fn new(
        config: &Config,
        state_dir: &Path,
        audience: Audience,
        outbox: Outbox,
    ) -> anyhow::Result<Notifier> {
        let (tx, rx) = mpsc::unbounded_channel();
        Ok(Notifier {
            audience,
            outbox,
            subscribers: Arc::new(Subscribers::default()),
            senders: Arc::new(Senders::new(config, state_dir)?),
            templates: Arc::new(Templates::new(config.site.templates.as_deref())?),
            keys: Keys::load(state_dir)?,
            limit: config.notify.concurrency,
            tx,
            rx,
        })
    }

    /// A new main configuration: new mail settings, templates and pace.
    pub fn reconfigure(&mut self, config: &Config, state_dir: &Path) -> anyhow::Result<()> {
        let senders = Senders::new(config, state_dir)?;
        let templates = Templates::new(config.site.templates.as_deref())?;
        self.senders = Arc::new(senders);
        self.templates = Arc::new(templates);
        self.limit = config.notify.concurrency;
        Ok(())
    }

    /// Use a newly read `subscribers.toml`; returns the events that bring the journal
    /// in line with it.
    pub fn set_subscribers(&mut self, subscribers: Subscribers) -> Vec<Event> {
        let events = sync_events(&subscribers, &self.audience);
        self.subscribers = Arc::new(subscribers);
        events
    }

    /// When attempts should next be started; None while at the concurrency limit.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        if self.outbox.in_flight() >= self.limit {
            return None;
        }
        self.outbox.next_due()
    }

    /// Start every attempt that is due. Returns receipts decided without trying
    /// (subscribers that can no longer be reached).
    pub fn start_due(&mut self, config: &Arc<Config>, now: DateTime<Utc>) -> Vec<Event> {
        let room = self.limit.saturating_sub(self.outbox.in_flight());
        if room == 0 {
            return Vec::new();
        }
        let mut receipts = Vec::new();
        for d in self.outbox.take_due(now, room) {
            let route = match self.route(config, &d) {
                Ok(r) => r,
                Err(outcome) => {
                    // Stays under way until its receipt is recorded.
                    receipts.extend(super::outbox::receipts(&d, outcome, now));
                    continue;
                }
            };
            let job = Job {
                delivery: d,
                route,
                config: config.clone(),
                senders: self.senders.clone(),
                templates: self.templates.clone(),
            };
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let outcome = job.attempt().await;
                let _ = tx.send(Finished {
                    delivery: job.delivery,
                    outcome,
                    at: Utc::now(),
                });
            });
        }
        receipts
    }

    /// The key that signs subscribers' links.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The next attempt to end.
    pub async fn finished(&mut self) -> Option<Finished> {
        self.rx.recv().await
    }

    /// Attempts that already ended, without waiting.
    pub fn try_finished(&mut self) -> Option<Finished> {
        self.rx.try_recv().ok()
    }

    /// Where a delivery goes, or why it cannot go now.
    fn route(&self, config: &Config, d: &Delivery) -> Result<Route, Attempted> {
        if let super::compose::What::Confirmation { expires_at, .. } = &d.composed.what {
            let (record, _) =
                self.audience
                    .pending
                    .get(&d.subscriber)
                    .ok_or_else(|| Attempted::Rejected {
                        error: "not sent: the sign-up was confirmed or withdrawn meanwhile".into(),
                    })?;
            if *expires_at <= chrono::Utc::now() {
                return Err(Attempted::Rejected {
                    error: "not sent: its confirmation link has expired".into(),
                });
            }
            return Ok(Route::Confirm {
                address: record.address.clone(),
                url: format!(
                    "{}/confirm/{}",
                    config.front_url(),
                    self.keys.confirm_token(&d.subscriber, *expires_at)
                ),
            });
        }
        let member =
            self.audience
                .members
                .get(&d.subscriber)
                .ok_or_else(|| Attempted::Rejected {
                    error: "not sent: the subscriber is no longer listed".into(),
                })?;
        if let Some(reason) = &member.disabled {
            return Err(Attempted::Rejected {
                error: format!(
                    "not sent: {reason} (change its entry in subscribers.toml to enable it again)"
                ),
            });
        }
        if member.record.channel == Medium::Email {
            let tz = member
                .record
                .timezone
                .as_deref()
                .and_then(|t| t.parse().ok())
                .unwrap_or(config.site.timezone);
            let scope = (!member.record.components.is_empty()).then(|| {
                member
                    .record
                    .components
                    .iter()
                    .map(|c| config.component(c).map_or(c.as_str(), |x| x.name.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            return Ok(Route::Email {
                address: member.record.address.clone(),
                reader: Reader {
                    tz,
                    operator: member.record.is_operator(),
                },
                scope,
                unsubscribe_url: format!(
                    "{}/unsubscribe/{}",
                    config.front_url(),
                    self.keys.unsubscribe_token(&d.subscriber)
                ),
            });
        }
        let unsubscribe_url = format!(
            "{}/unsubscribe/{}",
            config.front_url(),
            self.keys.unsubscribe_token(&d.subscriber)
        );
        match self.subscribers.get(&d.subscriber).map(|s| &s.target) {
            Some(Target::Webhook(w)) => Ok(Route::Webhook {
                url: w.url.clone(),
                channel: Channel::of(Medium::Webhook, Some(w.format)),
                secret: w.key.as_ref().map(|k| k.0.clone()),
                operator: member.record.is_operator(),
                unsubscribe_url,
            }),
            // Registered through the API: its address is in the journal, its secret is
            // derived from forewarn's key.
            _ if member.record.url.is_some() => {
                let url = member
                    .record
                    .url
                    .as_deref()
                    .and_then(|u| u.parse::<reqwest::Url>().ok())
                    .ok_or_else(|| Attempted::Rejected {
                        error: "not sent: the registered address is not a URL".into(),
                    })?;
                let format = member.record.format.unwrap_or(WebhookFormat::Standard);
                Ok(Route::Webhook {
                    url,
                    channel: Channel::of(Medium::Webhook, Some(format)),
                    secret: (format == WebhookFormat::Standard)
                        .then(|| self.keys.webhook_secret(&d.subscriber)),
                    operator: member.record.is_operator(),
                    unsubscribe_url,
                })
            }
            _ => Err(Attempted::Failed {
                error: format!(
                    "the webhook {} is not in subscribers.toml as it stands",
                    member.record.address
                ),
                retry_after: None,
            }),
        }
    }
}

/// One attempt, with everything it needs.
struct Job {
    delivery: Delivery,
    route: Route,
    config: Arc<Config>,
    senders: Arc<Senders>,
    templates: Arc<Templates>,
}

impl Job {
    async fn attempt(&self) -> Attempted {
        let d = &self.delivery;
        let composed = &d.composed;
        match &self.route {
            Route::Confirm { address, url } => {
                let super::compose::What::Confirmation {
                    components,
                    expires_at,
                } = &composed.what
                else {
                    return Attempted::Rejected {
                        error: "not a confirmation".into(),
                    };
                };
                let message_id = email::message_id(&self.config, composed, &d.id, &d.subscriber);
                match email::confirmation(
                    &self.templates,
                    &self.config,
                    address,
                    components,
                    url,
                    *expires_at,
                    &message_id,
                ) {
                    Ok(message) => self.senders.mail(&d.id, message).await,
                    Err(e) => Attempted::Rejected {
                        error: format!("cannot write the email: {e:#}"),
                    },
                }
            }
            Route::Email {
                address,
                reader,
                scope,
                unsubscribe_url,
            } => {
                if let super::compose::What::Alert { .. } = &composed.what {
                    let message_id =
                        email::message_id(&self.config, composed, &d.id, &d.subscriber);
                    return match email::alert(&self.config, composed, address, &message_id) {
                        Ok(message) => self.senders.mail(&d.id, message).await,
                        Err(e) => Attempted::Rejected {
                            error: format!("cannot write the email: {e:#}"),
                        },
                    };
                }
                let Some(notice) = composed.notice(&self.config, *reader) else {
                    return Attempted::Delivered; // nothing for people (never queued for email)
                };
                let recipient = Recipient {
                    address,
                    key: &d.subscriber,
                    unsubscribe_url,
                    scope: scope.clone(),
                };
                match email::build(
                    &self.templates,
                    &self.config,
                    composed,
                    &notice,
                    &d.id,
                    &recipient,
                ) {
                    Ok(message) => self.senders.mail(&d.id, message).await,
                    Err(e) => Attempted::Rejected {
                        error: format!("cannot write the email: {e:#}"),
                    },
                }
            }
            Route::Webhook {
                url,
                channel: Channel::Statuspage,
                secret,
                operator,
                unsubscribe_url,
            } => {
                let Some(body) =
                    statuspage::body(&self.config, composed, *operator, unsubscribe_url)
                else {
                    return Attempted::Delivered; // no such webhook at Statuspage (never queued)
                };
                // Unsigned, as Statuspage sends them, unless the entry has a secret.
                if secret.is_none() {
                    return self.senders.post(url, body, &[]).await;
                }
                self.post_signed(url, &d.id, secret.as_deref(), body).await
            }
            Route::Webhook {
                url,
                channel: Channel::Standard,
                secret,
                operator,
                ..
            } => {
                let body = standard::body(composed, *operator);
                self.post_signed(url, &d.id, secret.as_deref(), body).await
            }
            Route::Webhook {
                url,
                channel,
                operator,
                ..
            } => {
                let reader = Reader {
                    tz: self.config.site.timezone,
                    operator: *operator,
                };
                let notice = match composed.notice(&self.config, reader) {
                    Some(n) => n,
                    None => match super::alert::notice(&self.config, composed) {
                        Some(n) => n,
                        None => return Attempted::Delivered,
                    },
                };
                let Some(body) = channels::chat_body(*channel, &notice) else {
                    return Attempted::Rejected {
                        error: format!("{} is not a chat channel", channel.as_str()),
                    };
                };
                let body = serde_json::to_vec(&body).unwrap_or_default();
                self.senders.post(url, body, &[]).await
            }
        }
    }
}

impl Job {
    /// POST `body` signed the Standard Webhooks way, with the delivery's id.
    async fn post_signed(
        &self,
        url: &reqwest::Url,
        id: &str,
        secret: Option<&str>,
        body: Vec<u8>,
    ) -> Attempted {
        let ts = Utc::now().timestamp();
        let Some(signature) = secret.and_then(|s| standard::sign(s, id, ts, &body).ok()) else {
            return Attempted::Failed {
                error: "the webhook's signing secret is missing or invalid".into(),
                retry_after: None,
            };
        };
        let headers = [
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", signature),
        ];
        self.senders.post(url, body, &headers).await
    }
}

/// Send one notice now, outside the journal (`forewarn notify-test`).
pub async fn send_once(
    config: &Config,
    state_dir: &Path,
    delivery: Delivery,
    route: Route,
) -> anyhow::Result<Attempted> {
    let job = Job {
        delivery,
        route,
        config: Arc::new(config.clone()),
        senders: Arc::new(Senders::new(config, state_dir)?),
        templates: Arc::new(Templates::new(config.site.templates.as_deref())?),
    };
    Ok(job.attempt().await)
}

#[cfg(test)]
mod tests;
