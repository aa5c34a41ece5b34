//! The daemon's answers to its HTTP front: sign-ups, confirmations, unsubscribe links
//! and readiness. Everything a subscriber does becomes a journal event here.

use chrono::{TimeDelta, Utc};

use super::Daemon;
use crate::config::subscribers::{email_address, email_key};
use crate::journal::{Event, SubscriberRecord};
use crate::notify::audience::BY_SUBSCRIBER;
use crate::notify::token::subscriber_id;
use crate::serve::{Ask, Manage, Registered, SignUp, WebhookRequest, mask};

/// How long a confirmation link works.
pub const CONFIRM_WITHIN: TimeDelta = TimeDelta::hours(48);
/// Confirmation emails one address may be sent per day.
pub const CONFIRMATIONS_PER_DAY: usize = 3;
/// Where self-service subscribers come from, in the journal.
pub const SOURCE_SELF: &str = "self";

impl Daemon {
    pub(super) fn answer(&mut self, ask: Ask) {
        if ask.abandoned() {
            return; // the page already said "try again": do nothing behind its back
        }
        match ask {
            Ask::Ready { reply } => {
                let _ = reply.send(self.journal.is_writable());
            }
            Ask::Manage { token, set, reply } => {
                if let Some(answer) = self.manage(&token, set) {
                    let _ = reply.send(answer);
                }
            }
            Ask::RegisterWebhook { request, reply } => {
                if let Some(answer) = self.register_webhook(request) {
                    let _ = reply.send(answer);
                }
            }
            Ask::Metrics { reply } => {
                let text = self.metrics.render(
                    &self.config,
                    &self.view,
                    &self.notifier.outbox,
                    Utc::now(),
                );
                let _ = reply.send(text);
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
                        return; // the front answers "try again"
                    }
                    tracing::info!(subscriber = %mask(&address), "unsubscribed by their own link");
                }
                let _ = reply.send(Some(mask(&address)));
            }
            Ask::Subscribe {
                address,
                components,
                reply,
            } => {
                if let Some(answer) = self.sign_up(&address, components) {
                    let _ = reply.send(answer);
                }
            }
            Ask::Confirm {
                token,
                commit,
                reply,
            } => {
                if let Some(answer) = self.confirm(&token, commit) {
                    let _ = reply.send(answer);
                }
            }
        }
    }

    /// None when the journal cannot take it (the front answers "try again").
    fn sign_up(&mut self, address: &str, components: Vec<String>) -> Option<SignUp> {
        let address = match email_address(address) {
            Ok(a) => a,
            Err(_) => {
                return Some(SignUp::Invalid(format!(
                    "\"{}\" is not an email address. Check it and try again.",
                    address.chars().take(200).collect::<String>()
                )));
            }
        };
        let mut chosen = Vec::new();
        for c in components {
            // A component that is not public does not exist for customers.
            if !self.config.component(&c).is_some_and(|x| x.public) {
                return Some(SignUp::Invalid(format!(
                    "\"{}\" is not a part of this service. Choose from the list on the status page.",
                    c.chars().take(64).collect::<String>()
                )));
            }
            if !chosen.contains(&c) {
                chosen.push(c);
            }
        }
        let key = email_key(&address);
        let audience = &self.notifier.audience;
        if audience.members.contains_key(&key) {
            return Some(SignUp::Accepted); // already subscribed: the same answer, no email
        }
        let now = Utc::now();
        let recent: Vec<_> = audience
            .asked
            .get(&key)
            .map(|t| {
                t.iter()
                    .filter(|t| now - **t < TimeDelta::days(1))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        if recent.len() >= CONFIRMATIONS_PER_DAY {
            // Enough emails to this address today. The answer is the one everybody gets,
            // so the form never tells whether an address is known.
            tracing::info!(subscriber = %mask(&address), "sign-up ignored: three confirmation emails already sent today");
            return Some(SignUp::Accepted);
        }
        let event = Event::SubscriberPending {
            key,
            subscriber: SubscriberRecord {
                channel: "email".into(),
                address,
                format: None,
                components: chosen,
                timezone: None,
                source: SOURCE_SELF.into(),
                url: None,
                audience: None,
            },
            expires_at: now + CONFIRM_WITHIN,
        };
        match self.append(vec![(now, event)]) {
            Ok(()) => Some(SignUp::Accepted),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "cannot record a sign-up");
                None
            }
        }
    }

    /// The address (partly hidden) a confirmation token stands for, confirming it with
    /// `commit`. Some(None) for a token that is not (or no longer) valid.
    fn confirm(&mut self, token: &str, commit: bool) -> Option<Option<String>> {
        let now = Utc::now();
        let sid = token.split('.').next().unwrap_or_default();
        let audience = &self.notifier.audience;
        let keys = self.notifier.keys();
        let pending = audience
            .pending
            .iter()
            .find(|(k, _)| subscriber_id(k) == sid && keys.check_confirm(token, k, now))
            .map(|(k, (record, _))| (k.clone(), record.clone()));
        let Some((key, record)) = pending else {
            // Pressed twice: already confirmed by this very link.
            let done = audience.members.iter().find(|(k, _)| {
                subscriber_id(k) == sid && keys.check_confirm(token, k, now - CONFIRM_WITHIN)
            });
            return Some(done.map(|(_, m)| mask(&m.record.address)));
        };
        let shown = mask(&record.address);
        if commit && audience.members.contains_key(&key) {
            return Some(Some(shown)); // already subscribed meanwhile (the file, or another link)
        }
        if commit {
            let event = Event::SubscriberConfirmed {
                key,
                subscriber: record,
            };
            if let Err(e) = self.append(vec![(now, event)]) {
                tracing::error!(error = %format!("{e:#}"), "cannot record a confirmation");
                return None;
            }
            tracing::info!(subscriber = %shown, "subscribed from the status page");
        }
        Some(Some(shown))
    }
}

impl Daemon {
    /// The manage page of whoever `token` stands for; with `set`, save their choice.
    pub(super) fn manage(
        &mut self,
        token: &str,
        set: Option<Vec<String>>,
    ) -> Option<Option<Manage>> {
        let Some((key, address, true)) = self.notifier.find_by_token(token) else {
            return Some(None);
        };
        let Some(member) = self.notifier.audience.members.get(&key) else {
            return Some(None);
        };
        let from_file = member.record.source == crate::notify::audience::SOURCE_FILE;
        let mut record = member.record.clone();
        let mut saved = false;
        let mut problem = None;
        if let Some(chosen) = set {
            if from_file {
                problem = Some(
                    "Our team keeps this address's choices; ask them to change them (every notice says how to reach them)."
                        .to_owned(),
                );
            } else if let Some(bad) = chosen
                .iter()
                .find(|c| !self.config.component(c).is_some_and(|x| x.public))
            {
                problem = Some(format!(
                    "\"{}\" is not a part of this service.",
                    bad.chars().take(64).collect::<String>()
                ));
            } else {
                let mut list: Vec<String> = Vec::new();
                for c in chosen {
                    if !list.contains(&c) {
                        list.push(c);
                    }
                }
                if list != record.components {
                    record.components = list;
                    let event = Event::SubscriberUpdated {
                        key,
                        subscriber: record.clone(),
                    };
                    if let Err(e) = self.append(vec![(Utc::now(), event)]) {
                        tracing::error!(error = %format!("{e:#}"), "cannot record a subscriber's choice");
                        return None;
                    }
                }
                saved = true;
            }
        }
        let components = self
            .config
            .public_components()
            .map(|c| {
                (
                    c.id.clone(),
                    c.name.clone(),
                    record.components.contains(&c.id),
                )
            })
            .collect();
        Some(Some(Manage {
            address: mask(&address),
            components,
            from_file,
            saved,
            problem,
        }))
    }
}

/// Where webhooks registered with `POST /webhooks` come from, in the journal.
pub const SOURCE_API: &str = "api";

impl Daemon {
    /// Register a webhook subscriber; the answer holds its signing secret, this once.
    /// None when the journal cannot take it.
    fn register_webhook(
        &mut self,
        request: WebhookRequest,
    ) -> Option<Result<Registered, (u16, String)>> {
        use crate::config::subscribers::{WebhookFormat, label, webhook_key};
        let url = match crate::config::http_url(&request.url) {
            Ok(u) if u.password().is_none() && u.username().is_empty() => u,
            Ok(_) => {
                return Some(Err((
                    400,
                    "the url holds credentials (user:password@); give the receiver a token in the path instead".into(),
                )));
            }
            Err(e) => return Some(Err((400, format!("url: {e}")))),
        };
        let format = match request
            .format
            .as_deref()
            .unwrap_or("standard")
            .parse::<WebhookFormat>()
        {
            Ok(f) => f,
            Err(e) => return Some(Err((400, format!("format: {e}")))),
        };
        if let Some(bad) = request
            .components
            .iter()
            .find(|c| self.config.component(c).is_none())
        {
            return Some(Err((
                400,
                format!("components: \"{bad}\" is not a configured component"),
            )));
        }
        let key = webhook_key(&url);
        if self.notifier.audience.members.contains_key(&key) {
            return Some(Err((409, "this url is already registered".into())));
        }
        let event = Event::SubscriberConfirmed {
            key: key.clone(),
            subscriber: SubscriberRecord {
                channel: "webhook".into(),
                address: label(&url, false),
                format: Some(format.as_str().into()),
                components: request.components,
                timezone: None,
                source: SOURCE_API.into(),
                url: Some(url.to_string()),
                audience: None,
            },
        };
        if let Err(e) = self.append(vec![(Utc::now(), event)]) {
            tracing::error!(error = %format!("{e:#}"), "cannot record a webhook registration");
            return None;
        }
        tracing::info!(webhook = %label(&url, false), format = format.as_str(), "webhook registered through the API");
        Some(Ok(Registered {
            secret: (format == WebhookFormat::Standard)
                .then(|| self.notifier.keys().webhook_secret(&key)),
            id: key,
            format: format.as_str().into(),
        }))
    }
}
