//! Status badges: small SVG images for READMEs and dashboards, and the same as
//! shields.io endpoint JSON.

use serde_json::json;

use crate::vocab::ComponentStatus;

fn colors(s: ComponentStatus) -> (&'static str, &'static str) {
    // (SVG fill, shields.io colour name); white text passes AA on each fill.
    match s {
        ComponentStatus::Operational => ("#1a7f37", "brightgreen"),
        ComponentStatus::DegradedPerformance => ("#9a6700", "yellow"),
        ComponentStatus::PartialOutage => ("#bc4c00", "orange"),
        ComponentStatus::MajorOutage => ("#cf222e", "red"),
        ComponentStatus::UnderMaintenance => ("#0969da", "blue"),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Rough width of text in 11px Verdana, enough for a badge.
fn width(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
                8
            } else {
                7
            }
        })
        .sum::<usize>()
        + 10
}

/// `label | Major outage` as an SVG badge.
pub fn svg(label: &str, status: ComponentStatus) -> String {
    let message = status.label();
    let (fill, _) = colors(status);
    let (lw, mw) = (width(label), width(message));
    let total = lw + mw;
    let (label, message) = (escape(label), escape(message));
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {message}"><title>{label}: {message}</title><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{fill}"/><g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14" text-anchor="middle">{label}</text><text x="{mx}" y="14" text-anchor="middle">{message}</text></g></svg>"##,
        lx = lw / 2,
        mx = lw + mw / 2,
    )
}

/// shields.io endpoint JSON for the same badge.
pub fn shields(label: &str, status: ComponentStatus) -> String {
    let (_, color) = colors(status);
    json!({"schemaVersion": 1, "label": label, "message": status.label(), "color": color})
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn badges_say_the_status_in_words_and_escape_labels() {
        let s = svg("A&B <api>", ComponentStatus::MajorOutage);
        assert!(s.contains("aria-label=\"A&amp;B &lt;api&gt;: Major outage\""));
        assert!(!s.contains("<api>"));
        let j: serde_json::Value =
            serde_json::from_str(&shields("api", ComponentStatus::Operational)).unwrap();
        assert_eq!(j["message"], "Operational");
        assert_eq!(j["schemaVersion"], 1);
    }
}
