//! A notice as a webhook: Standard Webhooks (signed JSON events), or the message shapes
//! of Slack, Discord and Microsoft Teams incoming webhooks. Pure.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::compose::Composed;
use super::notice::Notice;
use crate::config::subscribers::{WebhookFormat, decode_secret};

/// The Standard Webhooks body: `{"type", "timestamp", "data"}`; operators' data also
/// shows the components kept from customers.
pub fn standard_body(composed: &Composed, operator: bool) -> Vec<u8> {
    let body = json!({
        "type": composed.kind,
        "timestamp": composed.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": composed.data_for(operator),
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with a `whsec_` secret.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = decode_secret(secret)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|_| "is not a usable key".to_owned())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = mac.finalize().into_bytes();
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(sig)
    ))
}

/// The JSON body for a chat format, from the notice.
pub fn chat_body(format: WebhookFormat, notice: &Notice) -> Value {
    match format {
        WebhookFormat::Slack => slack(notice),
        WebhookFormat::Discord => discord(notice),
        WebhookFormat::Teams => teams(notice),
        WebhookFormat::Standard => Value::Null,
    }
}

/// The short lines a chat message is made of.
fn lines(notice: &Notice) -> Vec<String> {
    let mut out = vec![notice.state.clone(), notice.message.trim().to_owned()];
    out.extend(notice.lasted.clone());
    out.extend(notice.eta.clone());
    out.extend(notice.next_update.clone());
    out.extend(notice.apology.clone());
    out.extend(notice.credit.clone());
    out.extend(notice.affected_line());
    out.push(notice.contact.clone());
    out
}

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack(n: &Notice) -> Value {
    let headline = format!("{}: {}", n.headline, n.title);
    let body = lines(n)
        .iter()
        .map(|l| slack_escape(l))
        .collect::<Vec<_>>()
        .join("\n\n");
    json!({
        "text": slack_escape(&n.subject),
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate(&headline, 150), "emoji": false}},
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(&body, 3000)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("<{}|{}> · {}", n.permalink, slack_escape(&n.permalink_label), slack_escape(&n.reference))}]}
        ],
        "unfurl_links": false,
    })
}

fn discord(n: &Notice) -> Value {
    let colour = if n.over { 0x2f855a } else { 0xc53030 };
    json!({
        "content": truncate(&n.subject, 2000),
        "embeds": [{
            "title": truncate(&format!("{}: {}", n.headline, n.title), 256),
            "description": truncate(&lines(n).join("\n\n"), 4096),
            "url": n.permalink,
            "color": colour,
            "footer": {"text": truncate(&n.reference, 2048)},
        }],
        // Operator text must never ping anyone (@everyone, roles, users).
        "allowed_mentions": {"parse": []},
    })
}

fn teams(n: &Notice) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": format!("{}: {}", n.headline, n.title), "weight": "Bolder", "size": "Medium", "wrap": true}),
    ];
    for l in lines(n) {
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

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_standard_webhooks_test_vector() {
        let sig = sign(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn slack_markup_in_operator_text_is_escaped() {
        assert_eq!(
            slack_escape("<!channel> & <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character() {
        assert_eq!(truncate("ééé", 2), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
