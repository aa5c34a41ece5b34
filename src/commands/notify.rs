//! `forewarn notify-test` (send a sample notice to one address or endpoint now) and
//! `forewarn preview` (print exactly what subscribers would receive for an incident).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use chrono::Utc;

use super::{CommandError, load_config};
use crate::config::subscribers::{WebhookFormat, decode_secret, email_address};
use crate::config::{Config, http_url as values_http_url};
use crate::notify::channels::email::{self, Recipient, Templates};
use crate::notify::channels::{self, standard};
use crate::notify::compose::{self, Composed, What, incident_thread};
use crate::notify::dispatch::{Route, send_once};
use crate::notify::notice::Reader;
use crate::notify::outbox::{Attempted, Delivery, State, delivery_id};
use crate::notify::send::MAIL_DIR;
use crate::notify::token::Keys;
use crate::status::{IncidentStatus, StatusView};
use crate::vocab::Medium;

/// Where `notify-test` sends.
pub enum TestTarget {
    Email(String),
    Webhook {
        url: String,
        format: WebhookFormat,
        /// The environment variable holding the `whsec_` secret (standard format).
        secret_env: Option<String>,
    },
}

fn delivery(composed: Composed, subscriber: &str) -> Delivery {
    let id = delivery_id(Utc::now().timestamp_micros() as u64, subscriber);
    Delivery {
        id,
        subscriber: subscriber.to_owned(),
        composed: Arc::new(composed),
        state: State::Pending,
        attempts: 0,
        first_attempt: None,
        next_at: Utc::now(),
        last_error: None,
    }
}

pub async fn test(
    config_path: &Path,
    state_dir: &Path,
    target: TestTarget,
) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let composed = compose::sample(&config, Utc::now());
    let (key, route) = match &target {
        TestTarget::Email(address) => {
            let address = email_address(address).map_err(|e| anyhow!("--email: {e}"))?;
            let key = crate::config::subscribers::email_key(&address);
            let keys = Keys::load(state_dir)?;
            let route = Route::Email {
                unsubscribe_url: unsubscribe_url(&config, &keys, &key),
                address,
                reader: Reader::customer(config.site.timezone),
                scope: None,
            };
            (key, route)
        }
        TestTarget::Webhook {
            url,
            format,
            secret_env,
        } => {
            let url = values_http_url(url).map_err(|e| anyhow!("--webhook: {e}"))?;
            let secret = match (format, secret_env) {
                (WebhookFormat::Standard | WebhookFormat::Statuspage, Some(var)) => {
                    let v = std::env::var(var).map_err(|_| {
                        anyhow!("--secret-env: environment variable {var} is not set")
                    })?;
                    decode_secret(&v)
                        .map_err(|e| anyhow!("--secret-env: environment variable {var} {e}"))?;
                    Some(v)
                }
                (WebhookFormat::Standard, None) => {
                    return Err(anyhow!(
                        "--secret-env is required for standard webhooks: name the environment variable holding the whsec_ secret"
                    )
                    .into());
                }
                _ => None,
            };
            let key = crate::config::subscribers::webhook_key(&url);
            let unsubscribe_url = unsubscribe_url(&config, &Keys::load(state_dir)?, &key);
            (
                key,
                Route::Webhook {
                    url,
                    channel: crate::vocab::Channel::of(Medium::Webhook, Some(*format)),
                    secret,
                    operator: false,
                    unsubscribe_url,
                },
            )
        }
    };
    let d = delivery(composed, &key);
    let id = d.id.clone();
    let outcome = send_once(&config, state_dir, d, route).await?;
    match outcome {
        Attempted::Delivered => {
            let mut out = format!("Sent a test notice ({id}).\n");
            if let (TestTarget::Email(_), crate::config::email::Transport::File) =
                (&target, &config.email.transport)
            {
                out.push_str(&format!(
                    "Mail is written to files (no [email] transport = \"smtp\" configured): {}\n",
                    state_dir.join(MAIL_DIR).join(format!("{id}.eml")).display()
                ));
            }
            Ok(out)
        }
        Attempted::Failed { error, .. }
        | Attempted::Gone { error }
        | Attempted::Rejected { error } => {
            Err(anyhow!("the test notice was not delivered: {error}").into())
        }
    }
}

fn unsubscribe_url(config: &Config, keys: &Keys, key: &str) -> String {
    format!(
        "{}/unsubscribe/{}",
        config.front_url(),
        keys.unsubscribe_token(key)
    )
}

/// What `preview` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Channel {
    Email,
    Webhook,
    Slack,
    Discord,
    Teams,
    /// Atlassian Statuspage's webhook body.
    Statuspage,
}

impl Channel {
    /// The channel this choice shows (`webhook` is Standard Webhooks).
    pub fn reaches(self) -> crate::vocab::Channel {
        use crate::vocab::Channel as To;
        match self {
            Channel::Email => To::Email,
            Channel::Webhook => To::Standard,
            Channel::Slack => To::Slack,
            Channel::Discord => To::Discord,
            Channel::Teams => To::Teams,
            Channel::Statuspage => To::Statuspage,
        }
    }
}

pub fn preview(
    config_path: &Path,
    state_dir: &Path,
    incident: &str,
    channel: Channel,
) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let view = StatusView::from_records(&super::journal_records(&config, state_dir)?);
    let found = view
        .incidents
        .values()
        .find(|i| i.id == incident || i.reference.eq_ignore_ascii_case(incident))
        .ok_or_else(|| {
            anyhow!(
                "no incident {incident} in the journal (`forewarn status` lists them; a new incident file is recorded once `forewarn run` has read it)"
            )
        })?;
    let update = found
        .updates
        .iter()
        .rev()
        .find(|u| u.notify)
        .or(found.updates.last())
        .cloned()
        .ok_or_else(|| anyhow!("incident {incident} has no update to show"))?;
    let kind = if update.status == IncidentStatus::Resolved {
        "incident.resolved"
    } else if found.updates.first().map(|u| u.at) == Some(update.at) {
        "incident.opened"
    } else {
        "incident.updated"
    };
    let ctx = crate::present::api::Ctx {
        config: &config,
        view: &view,
        now: Utc::now(),
        operator: false,
    };
    let composed = Composed {
        // The page as it stands now (a preview is of the latest update).
        page_status: Some(
            view.worst_of(
                config
                    .components
                    .iter()
                    .filter(|c| view.is_public(&c.id))
                    .map(|c| c.id.as_str()),
            ),
        ),
        seq: view.last_seq,
        at: update.at,
        kind,
        thread: incident_thread(&found.id),
        components: found.components.keys().cloned().collect(),
        hidden: found
            .components
            .keys()
            .filter(|c| !view.is_public(c))
            .cloned()
            .collect(),
        operator_data: None,
        data: serde_json::json!({
            "incident": crate::present::api::incident(&ctx, found),
            "page_url": crate::present::links::incident_url(&config, &found.reference),
        }),
        what: What::Incident {
            incident: Box::new(found.clone()),
            statuses: crate::notify::compose::statuses_at(&view, found, update.at),
            page: crate::present::links::incident_url(&config, &found.reference),
            update,
        },
    };
    let notice = composed
        .notice(&config, Reader::customer(config.site.timezone))
        .ok_or_else(|| anyhow!("nothing to preview"))?;
    let key = "email:subscriber@example.com";
    let id = delivery_id(composed.seq, key);
    let mut out = String::new();
    match channel {
        Channel::Email => {
            let templates = Templates::new(config.site.templates.as_deref())?;
            let keys = Keys::load(state_dir)?;
            let recipient = Recipient {
                address: "subscriber@example.com",
                key,
                unsubscribe_url: &unsubscribe_url(&config, &keys, key),
                scope: None,
            };
            let message = email::build(&templates, &config, &composed, &notice, &id, &recipient)?;
            out.push_str(&String::from_utf8_lossy(&message.formatted()));
        }
        Channel::Webhook => {
            let body = standard::body(&composed, false);
            let value: serde_json::Value =
                serde_json::from_slice(&body).context("cannot show the body")?;
            out.push_str(&format!(
                "POST <each webhook's url>\ncontent-type: application/json\nwebhook-id: {id}\nwebhook-timestamp: <when sent>\nwebhook-signature: v1,<signed with each subscriber's secret>\n\n{}\n",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            ));
        }
        Channel::Statuspage => {
            let body = channels::statuspage::body(
                &config,
                &composed,
                false,
                "<each subscriber's unsubscribe link>",
            )
            .unwrap_or_default();
            let value: serde_json::Value =
                serde_json::from_slice(&body).context("cannot show the body")?;
            out.push_str(&format!(
                "POST <each webhook's url>\ncontent-type: application/json\n(unsigned; with secret_env also webhook-id, webhook-timestamp and webhook-signature)\n\n{}\n",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            ));
        }
        Channel::Slack | Channel::Discord | Channel::Teams => {
            let body = channels::chat_body(channel.reaches(), &notice).unwrap_or_default();
            out.push_str(&serde_json::to_string_pretty(&body).unwrap_or_default());
            out.push('\n');
        }
    }
    Ok(out)
}
