//! The ways forewarn reaches people, with the names `subscribers.toml` and journal
//! records use: a subscriber's `channel` (email or webhook), a webhook's `format`, and
//! the `audience` of operators. [`Channel`] is all the ways as one choice.

use serde::{Deserialize, Serialize};

/// `channel` in journal records: how a subscriber is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    Email,
    Webhook,
}

impl Medium {
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Email => "email",
            Medium::Webhook => "webhook",
        }
    }
}

/// What a webhook receiver takes (`format` in `subscribers.toml` and in the journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Standard Webhooks: signed JSON events.
    Standard,
    Slack,
    Discord,
    Teams,
    /// Atlassian Statuspage's webhook body, for receivers built for it.
    Statuspage,
}

impl WebhookFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Standard => "standard",
            WebhookFormat::Slack => "slack",
            WebhookFormat::Discord => "discord",
            WebhookFormat::Teams => "teams",
            WebhookFormat::Statuspage => "statuspage",
        }
    }
}

impl std::str::FromStr for WebhookFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "standard" => Ok(WebhookFormat::Standard),
            "slack" => Ok(WebhookFormat::Slack),
            "discord" => Ok(WebhookFormat::Discord),
            "teams" => Ok(WebhookFormat::Teams),
            "statuspage" => Ok(WebhookFormat::Statuspage),
            other => Err(format!(
                "\"{other}\" is not a webhook format (use \"standard\", \"slack\", \"discord\", \"teams\" or \"statuspage\")"
            )),
        }
    }
}

/// `audience` in journal records; absent means a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// `[[operator]]`: also hears operator alerts and about components that are not
    /// public.
    Operator,
}

/// Every way a notice goes out: each has its own renderer in `notify::channels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    /// Standard Webhooks: signed JSON events.
    Standard,
    Slack,
    Discord,
    Teams,
    /// Statuspage's webhook body; signed as Standard Webhooks when it has a secret.
    Statuspage,
}

impl Channel {
    /// The channel of a subscriber's medium and webhook format (a webhook without a
    /// format takes Standard Webhooks).
    pub fn of(medium: Medium, format: Option<WebhookFormat>) -> Channel {
        match (medium, format.unwrap_or(WebhookFormat::Standard)) {
            (Medium::Email, _) => Channel::Email,
            (Medium::Webhook, WebhookFormat::Standard) => Channel::Standard,
            (Medium::Webhook, WebhookFormat::Slack) => Channel::Slack,
            (Medium::Webhook, WebhookFormat::Discord) => Channel::Discord,
            (Medium::Webhook, WebhookFormat::Teams) => Channel::Teams,
            (Medium::Webhook, WebhookFormat::Statuspage) => Channel::Statuspage,
        }
    }

    /// What operators read in listings: `email`, or the webhook's format.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Standard => "standard",
            Channel::Slack => "slack",
            Channel::Discord => "discord",
            Channel::Teams => "teams",
            Channel::Statuspage => "statuspage",
        }
    }

    /// Receivers that take every event as data (status changes too), not notices for
    /// people.
    pub fn is_machine(self) -> bool {
        matches!(self, Channel::Standard | Channel::Statuspage)
    }
}
