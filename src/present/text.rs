//! Words and small bits of markup for the pages: operator Markdown made safe, times in
//! the site's zone, durations, links.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use pulldown_cmark::{Event, Options, Parser, html};

/// Operator Markdown as HTML. HTML written in the text is shown as text, literally
/// (`<script>` reads as `<script>`), and the result is sanitised as well: no scripts, no
/// styles, no event handlers, links only to http(s) and mail, opened without handing
/// over the page.
pub fn markdown(text: &str) -> String {
    let mut raw = String::new();
    let parser =
        Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES).map(|e| {
            match e {
                Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
                other => other,
            }
        });
    html::push_html(&mut raw, parser);
    // With raw HTML turned into text, only link and image addresses can carry anything
    // harmful; text without them is safe as it stands (and this is the common case).
    if !raw.contains("href=") && !raw.contains("src=") {
        return raw;
    }
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&raw)
        .to_string()
}

/// "22 Nov 2026, 10:04 CET"
pub fn when(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%-d %b %Y, %H:%M %Z")
        .to_string()
}

/// "22 Nov 2026"
pub fn day(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%-d %b %Y").to_string()
}

/// Machine-readable time for `<time datetime>` and feeds.
pub fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// "1 h 12 min", "45 min", "less than a minute", "3 days 2 h".
pub fn duration(d: TimeDelta) -> String {
    let mins = d.num_minutes().max(0);
    let (days, hours, minutes) = (mins / 1440, (mins % 1440) / 60, mins % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => "less than a minute".into(),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, 0, _) => "1 day".into(),
        (1, h, _) => format!("1 day {h} h"),
        (d, 0, _) => format!("{d} days"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

/// Percent-encode for a `mailto:` query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `mailto:` link whose subject quotes the reference.
pub fn mailto(address: &str, subject: &str) -> String {
    format!("mailto:{address}?subject={}", url_encode(subject))
}

/// What a vendor reports, in words: "a partial outage affecting Card payments"
/// (`default` when the status is unknown).
pub fn vendor_report(
    status: Option<crate::vocab::ComponentStatus>,
    parts: &[String],
    default: &str,
) -> String {
    let what: &str = match status {
        Some(s) => vendor_trouble(s),
        None => default,
    };
    if parts.is_empty() {
        what.to_owned()
    } else {
        format!("{what} affecting {}", parts.join(", "))
    }
}

/// What a vendor reports, in words: "a partial outage", "degraded performance".
pub fn vendor_trouble(status: crate::vocab::ComponentStatus) -> &'static str {
    use crate::vocab::ComponentStatus;
    match status {
        ComponentStatus::Operational => "a problem",
        ComponentStatus::DegradedPerformance => "degraded performance",
        ComponentStatus::PartialOutage => "a partial outage",
        ComponentStatus::MajorOutage => "a major outage",
        ComponentStatus::UnderMaintenance => "maintenance",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_scripts_are_removed() {
        let html = markdown(
            "**Payments** fail. <script>alert(1)</script> [more](javascript:alert(1)) [ok](https://x.test)",
        );
        assert!(html.contains("<strong>Payments</strong>"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains("href=\"https://x.test\""));
        assert!(html.contains("rel=\"noopener noreferrer nofollow\""));
    }

    #[test]
    fn template_braces_are_just_text() {
        assert_eq!(markdown("{{title}}"), "<p>{{title}}</p>\n");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(TimeDelta::seconds(30)), "less than a minute");
        assert_eq!(duration(TimeDelta::minutes(45)), "45 min");
        assert_eq!(duration(TimeDelta::minutes(72)), "1 h 12 min");
        assert_eq!(duration(TimeDelta::hours(50)), "2 days 2 h");
    }

    #[test]
    fn mail_subjects_are_encoded() {
        assert_eq!(
            mailto("a@b.test", "Re: INC-1 & more"),
            "mailto:a@b.test?subject=Re%3A%20INC-1%20%26%20more"
        );
    }
}
