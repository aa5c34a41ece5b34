//! One file per way a notice goes out ([`Channel`]): `email` (lettre messages from the
//! templates), `standard` (Standard Webhooks, signed), `statuspage` (Atlassian
//! Statuspage's webhook body), `slack`, `discord` and `teams`
//! (their incoming webhooks' shapes, with what they share in `chat`). Each renders; the
//! attempts themselves are made by `notify::send`.

pub mod chat;
pub mod discord;
pub mod email;
pub mod slack;
pub mod standard;
pub mod statuspage;
pub mod teams;

use serde_json::Value;

use super::notice::Notice;
use crate::vocab::Channel;

/// The JSON body of a chat channel's message; `None` for email and Standard Webhooks,
/// which carry more than the notice (a whole message, the event's data).
pub fn chat_body(channel: Channel, notice: &Notice) -> Option<Value> {
    match channel {
        Channel::Slack => Some(slack::body(notice)),
        Channel::Discord => Some(discord::body(notice)),
        Channel::Teams => Some(teams::body(notice)),
        Channel::Email | Channel::Standard | Channel::Statuspage => None,
    }
}
