//! A Microsoft Teams incoming webhook's message (an Adaptive Card). Pure.

use serde_json::{Value, json};

use super::chat::{Markup, lines};
use crate::notify::notice::Notice;

/// The message for a notice.
pub fn body(n: &Notice) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": format!("{}: {}", n.headline, n.title), "weight": "Bolder", "size": "Medium", "wrap": true}),
    ];
    for l in lines(n, Markup::Markdown) {
        body.push(json!({"type": "TextBlock", "text": l, "wrap": true}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
                "actions": [{"type": "Action.OpenUrl", "title": n.permalink_label, "url": n.permalink}],
            }
        }]
    })
}
