//! What the chat channels (Slack, Discord, Teams) share: the lines a message is made
//! of, and cutting text to a receiver's limit on a character.

use crate::notify::notice::Notice;

/// How a chat receiver reads text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// Slack's mrkdwn: its own escaping is applied to every line afterwards.
    Slack,
    /// Markdown (Discord, Teams): a vendor's words are made literal.
    Markdown,
}

/// The short lines a chat message is made of. A vendor's words (`Notice::vendors`)
/// are never read as markup: a title like `[Update billing](https://…)` stays text.
pub fn lines(notice: &Notice, markup: Markup) -> Vec<String> {
    let message = notice.message.trim();
    let message = match markup {
        Markup::Markdown if notice.literal => markdown_literal(message),
        _ => message.to_owned(),
    };
    let mut out = vec![notice.state.clone(), message];
    out.extend(notice.vendors.iter().map(|l| match markup {
        Markup::Slack => l.clone(),
        Markup::Markdown => markdown_literal(l),
    }));
    out.extend(notice.lasted.clone());
    out.extend(notice.eta.clone());
    out.extend(notice.next_update.clone());
    out.extend(notice.apology.clone());
    out.extend(notice.credit.clone());
    out.extend(notice.affected_line());
    out.push(notice.contact.clone());
    out
}

/// Text shown as written by Markdown: each ASCII punctuation mark escaped.
pub fn markdown_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// At most `max` characters, the last one an ellipsis when cut.
pub fn truncate(s: &str, max: usize) -> String {
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
    fn a_vendors_words_are_never_a_link_in_markdown() {
        assert_eq!(
            markdown_literal("[Update billing](https://evil.example) *now*"),
            "\\[Update billing\\]\\(https\\:\\/\\/evil\\.example\\) \\*now\\*"
        );
    }

    #[test]
    fn long_text_is_cut_on_a_character() {
        assert_eq!(truncate("ééé", 2), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
