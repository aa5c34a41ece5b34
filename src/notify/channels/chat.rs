//! What the chat channels (Slack, Discord, Teams) share: the lines a message is made
//! of, and cutting text to a receiver's limit on a character.

use crate::notify::notice::Notice;

/// The short lines a chat message is made of.
pub fn lines(notice: &Notice) -> Vec<String> {
    let mut out = vec![notice.state.clone(), notice.message.trim().to_owned()];
    out.extend(notice.vendors.iter().cloned());
    out.extend(notice.lasted.clone());
    out.extend(notice.eta.clone());
    out.extend(notice.next_update.clone());
    out.extend(notice.apology.clone());
    out.extend(notice.credit.clone());
    out.extend(notice.affected_line());
    out.push(notice.contact.clone());
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
    fn long_text_is_cut_on_a_character() {
        assert_eq!(truncate("ééé", 2), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
