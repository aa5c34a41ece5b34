//! A Slack incoming webhook's message (Block Kit), with Slack's markup escaped. Pure.

use serde_json::{Value, json};

use super::chat::{Markup, lines, truncate};
use crate::notify::notice::Notice;

/// Slack's mrkdwn treats `&`, `<` and `>` as markup.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message for a notice.
pub fn body(n: &Notice) -> Value {
    let headline = format!("{}: {}", n.headline, n.title);
    let body = lines(n, Markup::Slack)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_markup_in_operator_text_is_escaped() {
        assert_eq!(
            slack_escape("<!channel> & <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
        );
    }
}
