//! A Discord webhook's message (an embed), which never pings anyone. Pure.

use serde_json::{Value, json};

use super::chat::{Markup, lines, truncate};
use crate::notify::notice::Notice;

/// The message for a notice.
pub fn body(n: &Notice) -> Value {
    let colour = if n.over { 0x2f855a } else { 0xc53030 };
    json!({
        "content": truncate(&n.subject, 2000),
        "embeds": [{
            "title": truncate(&format!("{}: {}", n.headline, n.title), 256),
            "description": truncate(&lines(n, Markup::Markdown).join("\n\n"), 4096),
            "url": n.permalink,
            "color": colour,
            "footer": {"text": truncate(&n.reference, 2048)},
        }],
        // Operator text must never ping anyone (@everyone, roles, users).
        "allowed_mentions": {"parse": []},
    })
}
