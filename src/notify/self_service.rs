//! What subscribers do for themselves on the status site, and what `POST /webhooks`
//! registers: each function takes the subscribers as the journal made them and the
//! time, and returns the answer with the events that make it true. Nothing here writes
//! or waits; the daemon appends the events, and only then gives the answer (if the
//! journal cannot take them, the visitor is told to try again).

use chrono::{DateTime, TimeDelta, Utc};

use super::asks::{Manage, Registered, SignUp, WebhookRequest, mask};
use super::audience::{Audience, BY_SUBSCRIBER, SOURCE_FILE};
use super::token::{Keys, subscriber_id};
use crate::config::Config;
use crate::config::subscribers::{WebhookFormat, email_address, email_key, label, webhook_key};
use crate::journal::{Event, SubscriberRecord};
use crate::vocab::Medium;

/// How long a confirmation link works.
pub const CONFIRM_WITHIN: TimeDelta = TimeDelta::hours(48);
/// Confirmation emails one address may be sent per day.
pub const CONFIRMATIONS_PER_DAY: usize = 3;
/// Where self-service subscribers come from, in the journal.
pub const SOURCE_SELF: &str = "self";
/// Where webhooks registered with `POST /webhooks` come from, in the journal.
pub const SOURCE_API: &str = "api";

/// What a self-service answer is drawn from.
pub struct Desk<'a> {
    pub config: &'a Config,
    pub audience: &'a Audience,
    pub keys: &'a Keys,
    pub now: DateTime<Utc>,
}

/// An answer, and what to record before giving it.
#[derive(Debug)]
pub struct Answer<T> {
    pub reply: T,
    /// To append before replying.
    pub events: Vec<Event>,
    /// What the operator's log says if the journal cannot take them: "cannot record a
    /// sign-up".
    pub failure: &'static str,
    /// What the operator's log says once they are recorded.
    pub log: Option<Log>,
}

/// A line for the operator's log, about someone partly hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Log {
    Subscriber {
        who: String,
        what: &'static str,
    },
    Webhook {
        who: String,
        format: &'static str,
        what: &'static str,
    },
}

impl<T> Answer<T> {
    fn only(reply: T) -> Answer<T> {
        Answer {
            reply,
            events: Vec::new(),
            failure: "",
            log: None,
        }
    }
}

/// Whom an unsubscribe token stands for: (key, address, still subscribed).
pub fn find_by_token(desk: &Desk<'_>, token: &str) -> Option<(String, String, bool)> {
    let sid = token.split_once('.')?.0;
    let matches = |key: &str| subscriber_id(key) == sid && desk.keys.check_unsubscribe(token, key);
    if let Some((key, m)) = desk.audience.members.iter().find(|(k, _)| matches(k)) {
        return Some((key.clone(), m.record.address.clone(), true));
    }
    desk.audience
        .opted_out
        .iter()
        .find(|(k, _)| matches(k))
        .map(|(k, address)| (k.clone(), address.clone(), false))
}

/// The address (partly hidden) an unsubscribe link stands for, if still subscribed.
pub fn lookup(desk: &Desk<'_>, token: &str) -> Option<String> {
    find_by_token(desk, token)
        .filter(|(_, _, active)| *active)
        .map(|(_, address, _)| mask(&address))
}

/// Unsubscribe whoever the link stands for; `None` for a link that stands for nobody.
/// Someone already gone is told it is done, and nothing is recorded.
pub fn unsubscribe(desk: &Desk<'_>, token: &str) -> Answer<Option<String>> {
    let Some((key, address, active)) = find_by_token(desk, token) else {
        return Answer::only(None);
    };
    let shown = mask(&address);
    if !active {
        return Answer::only(Some(shown));
    }
    Answer {
        reply: Some(shown.clone()),
        events: vec![Event::SubscriberRemoved {
            key,
            by: Some(BY_SUBSCRIBER.into()),
        }],
        failure: "cannot record an unsubscribe",
        log: Some(Log::Subscriber {
            who: shown,
            what: "unsubscribed by their own link",
        }),
    }
}

/// Someone asks to hear about `components` (none: everything) at `address`. Known and
/// unknown addresses get the same answer, so the form never tells who subscribed.
pub fn sign_up(desk: &Desk<'_>, address: &str, components: Vec<String>) -> Answer<SignUp> {
    let address = match email_address(address) {
        Ok(a) => a,
        Err(_) => {
            return Answer::only(SignUp::Invalid(format!(
                "\"{}\" is not an email address. Check it and try again.",
                address.chars().take(200).collect::<String>()
            )));
        }
    };
    let mut chosen = Vec::new();
    for c in components {
        // A component that is not public does not exist for customers.
        if !is_public(desk.config, &c) {
            return Answer::only(SignUp::Invalid(format!(
                "\"{}\" is not a part of this service. Choose from the list on the status page.",
                c.chars().take(64).collect::<String>()
            )));
        }
        if !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    let key = email_key(&address);
    if desk.audience.members.contains_key(&key) {
        return Answer::only(SignUp::Accepted); // already subscribed: no email
    }
    let sent_today = desk.audience.asked.get(&key).map_or(0, |t| {
        t.iter()
            .filter(|t| desk.now - **t < TimeDelta::days(1))
            .count()
    });
    if sent_today >= CONFIRMATIONS_PER_DAY {
        // Enough emails to this address today; the answer everybody gets.
        return Answer {
            reply: SignUp::Accepted,
            events: Vec::new(),
            failure: "",
            log: Some(Log::Subscriber {
                who: mask(&address),
                what: "sign-up ignored: three confirmation emails already sent today",
            }),
        };
    }
    Answer {
        reply: SignUp::Accepted,
        events: vec![Event::SubscriberPending {
            key,
            subscriber: SubscriberRecord {
                channel: Medium::Email,
                address,
                format: None,
                components: chosen,
                timezone: None,
                source: SOURCE_SELF.into(),
                url: None,
                audience: None,
            },
            expires_at: desk.now + CONFIRM_WITHIN,
        }],
        failure: "cannot record a sign-up",
        log: None,
    }
}

/// The address (partly hidden) a confirmation link stands for, confirming it with
/// `commit`; `None` for a link that is not (or no longer) valid. Pressed twice, it
/// still names the address it confirmed.
pub fn confirm(desk: &Desk<'_>, token: &str, commit: bool) -> Answer<Option<String>> {
    let sid = token.split('.').next().unwrap_or_default();
    let audience = desk.audience;
    let pending = audience
        .pending
        .iter()
        .find(|(k, _)| subscriber_id(k) == sid && desk.keys.check_confirm(token, k, desk.now))
        .map(|(k, (record, _))| (k.clone(), record.clone()));
    let Some((key, record)) = pending else {
        let done = audience.members.iter().find(|(k, _)| {
            subscriber_id(k) == sid && desk.keys.check_confirm(token, k, desk.now - CONFIRM_WITHIN)
        });
        return Answer::only(done.map(|(_, m)| mask(&m.record.address)));
    };
    let shown = mask(&record.address);
    if !commit || audience.members.contains_key(&key) {
        // Only looking, or subscribed meanwhile (the file, or another link).
        return Answer::only(Some(shown));
    }
    Answer {
        reply: Some(shown.clone()),
        events: vec![Event::SubscriberConfirmed {
            key,
            subscriber: record,
        }],
        failure: "cannot record a confirmation",
        log: Some(Log::Subscriber {
            who: shown,
            what: "subscribed from the status page",
        }),
    }
}

/// The manage page of whoever `token` stands for; with `set`, save their choice of
/// components (empty: everything). `None` for a link that stands for no subscriber.
pub fn manage(desk: &Desk<'_>, token: &str, set: Option<Vec<String>>) -> Answer<Option<Manage>> {
    let Some((key, address, true)) = find_by_token(desk, token) else {
        return Answer::only(None);
    };
    let Some(member) = desk.audience.members.get(&key) else {
        return Answer::only(None);
    };
    let from_file = member.record.source == SOURCE_FILE;
    let mut record = member.record.clone();
    let mut events = Vec::new();
    let mut saved = false;
    let mut problem = None;
    if let Some(chosen) = set {
        if from_file {
            problem = Some(
                "Our team keeps this address's choices; ask them to change them (every notice says how to reach them)."
                    .to_owned(),
            );
        } else if let Some(bad) = chosen.iter().find(|c| !is_public(desk.config, c)) {
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
                events.push(Event::SubscriberUpdated {
                    key,
                    subscriber: record.clone(),
                });
            }
            saved = true;
        }
    }
    let components = desk
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
    Answer {
        reply: Some(Manage {
            address: mask(&address),
            components,
            from_file,
            saved,
            problem,
        }),
        events,
        failure: "cannot record a subscriber's choice",
        log: None,
    }
}

/// Register a webhook subscriber (`POST /webhooks`, already authorised); the answer
/// holds its signing secret, this once, or an HTTP status and what is wrong.
pub fn register(
    desk: &Desk<'_>,
    request: WebhookRequest,
) -> Answer<Result<Registered, (u16, String)>> {
    let refuse = |status: u16, why: String| Answer::only(Err((status, why)));
    let url = match crate::config::http_url(&request.url) {
        Ok(u) if u.password().is_none() && u.username().is_empty() => u,
        Ok(_) => {
            return refuse(
                400,
                "the url holds credentials (user:password@); give the receiver a token in the path instead".into(),
            );
        }
        Err(e) => return refuse(400, format!("url: {e}")),
    };
    let format = match request
        .format
        .as_deref()
        .unwrap_or("standard")
        .parse::<WebhookFormat>()
    {
        Ok(f) => f,
        Err(e) => return refuse(400, format!("format: {e}")),
    };
    if let Some(bad) = request
        .components
        .iter()
        .find(|c| desk.config.component(c).is_none())
    {
        return refuse(
            400,
            format!("components: \"{bad}\" is not a configured component"),
        );
    }
    let key = webhook_key(&url);
    if desk.audience.members.contains_key(&key) {
        return refuse(409, "this url is already registered".into());
    }
    let shown = label(&url, false);
    Answer {
        reply: Ok(Registered {
            secret: (format == WebhookFormat::Standard).then(|| desk.keys.webhook_secret(&key)),
            id: key.clone(),
            format: format.as_str().into(),
        }),
        events: vec![Event::SubscriberConfirmed {
            key,
            subscriber: SubscriberRecord {
                channel: Medium::Webhook,
                address: shown.clone(),
                format: Some(format),
                components: request.components,
                timezone: None,
                source: SOURCE_API.into(),
                url: Some(url.to_string()),
                audience: None,
            },
        }],
        failure: "cannot record a webhook registration",
        log: Some(Log::Webhook {
            who: shown,
            format: format.as_str(),
            what: "webhook registered through the API",
        }),
    }
}

fn is_public(config: &Config, component: &str) -> bool {
    config.component(component).is_some_and(|c| c.public)
}

#[cfg(test)]
mod tests;
