//! Vendor text made safe to keep: one line, no control characters, a sane length; and
//! links that are web addresses, nothing else. Escaping for each context happens where
//! the text is shown, as for operator text.

use reqwest::Url;

/// The longest vendor title kept, in characters.
pub const MAX_TITLE: usize = 200;
/// The longest vendor component name kept.
pub const MAX_NAME: usize = 120;

/// One line of at most `max` characters: whitespace runs become one space, control
/// characters go, and a cut is marked with "…".
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.chars().count() > max {
        let cut: String = out.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    } else {
        out
    }
}

/// A vendor's link, when it is an absolute `http`/`https` address (relative ones are
/// taken from `base`); anything else (`javascript:`, `data:`) is dropped.
pub fn link(text: Option<&str>, base: &Url) -> Option<String> {
    let text = text?.trim();
    if text.is_empty() || text.len() > 2048 {
        return None;
    }
    let url = base.join(text).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_text_is_one_tidy_line() {
        assert_eq!(
            clean("  Card\n\tpayments\u{7}  fail ", 100),
            "Card payments fail"
        );
        let long = "word ".repeat(100);
        let cut = clean(&long, 20);
        assert_eq!(cut.chars().count(), 20, "{cut}");
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn only_web_links_are_kept() {
        let base = Url::parse("https://status.vendor.example/").unwrap();
        assert_eq!(
            link(Some("https://stspg.io/abc"), &base).as_deref(),
            Some("https://stspg.io/abc")
        );
        assert_eq!(
            link(Some("/incidents/42"), &base).as_deref(),
            Some("https://status.vendor.example/incidents/42")
        );
        assert_eq!(link(Some("javascript:alert(1)"), &base), None);
        assert_eq!(link(Some("data:text/html,hi"), &base), None);
        assert_eq!(link(None, &base), None);
    }
}
