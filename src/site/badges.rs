//! Badges: small SVG images for READMEs and dashboards, each with the same as shields.io
//! endpoint JSON beside it: a component's (or the page's) status, and per component its
//! uptime over 24 hours, 7, 30 and 90 days and its typical response time, coloured by
//! thresholds like Gatus's.

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
    let (fill, _) = colors(status);
    draw(label, status.label(), fill)
}

/// A figure's badge: its words and its colour (SVG fill, shields.io colour).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub label: String,
    pub message: String,
    pub fill: &'static str,
    pub color: &'static str,
}

impl Figure {
    pub fn svg(&self) -> String {
        draw(&self.label, &self.message, self.fill)
    }

    pub fn shields(&self) -> String {
        json!({"schemaVersion": 1, "label": self.label, "message": self.message, "color": self.color})
            .to_string()
    }
}

/// Nothing was checked in the window.
const NO_DATA: (&str, &str) = ("#6e7781", "lightgrey");
/// From best to worst: (SVG fill, shields.io colour). White text passes AA on each.
const SCALE: [(&str, &str); 6] = [
    ("#1a7f37", "brightgreen"),
    ("#4d7c0f", "green"),
    ("#7c6f00", "yellowgreen"),
    ("#9a6700", "yellow"),
    ("#bc4c00", "orange"),
    ("#cf222e", "red"),
];

/// Uptime `up` of `of` checks over `window` ("24h", "7d"...): green from 97.5%, then
/// 95%, 90%, 80%, 65%, red below.
pub fn uptime(window: &str, passed: Option<(u64, u64)>) -> Figure {
    let label = format!("uptime {window}");
    let Some((up, of)) = passed else {
        return Figure {
            label,
            message: "no data".into(),
            fill: NO_DATA.0,
            color: NO_DATA.1,
        };
    };
    let ratio = up as f64 / of as f64;
    let step = [0.975, 0.95, 0.90, 0.80, 0.65]
        .iter()
        .position(|t| ratio >= *t)
        .unwrap_or(5);
    Figure {
        label,
        message: super::uptime::percent_text(up, of),
        fill: SCALE[step].0,
        color: SCALE[step].1,
    }
}

/// The typical response time: green under 50 ms, then 200, 300, 500, 750 ms, red above.
pub fn response_time(ms: Option<u32>) -> Figure {
    let label = "response time".to_owned();
    let Some(ms) = ms else {
        return Figure {
            label,
            message: "no data".into(),
            fill: NO_DATA.0,
            color: NO_DATA.1,
        };
    };
    let step = [50, 200, 300, 500, 750]
        .iter()
        .position(|t| ms < *t)
        .unwrap_or(5);
    Figure {
        label,
        message: format!("{ms} ms"),
        fill: SCALE[step].0,
        color: SCALE[step].1,
    }
}

fn draw(label: &str, message: &str, fill: &str) -> String {
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

    #[test]
    fn figures_take_the_colour_of_their_threshold() {
        assert_eq!(uptime("24h", Some((1000, 1000))).color, "brightgreen");
        assert_eq!(uptime("24h", Some((975, 1000))).color, "brightgreen");
        assert_eq!(uptime("24h", Some((974, 1000))).color, "green");
        assert_eq!(uptime("7d", Some((899, 1000))).color, "yellow");
        assert_eq!(uptime("7d", Some((100, 1000))).color, "red");
        let none = uptime("90d", None);
        assert_eq!(
            (none.message.as_str(), none.color),
            ("no data", "lightgrey")
        );
        assert_eq!(uptime("30d", Some((9_999, 10_000))).message, "99.99%");
        assert_eq!(response_time(Some(49)).color, "brightgreen");
        assert_eq!(response_time(Some(50)).color, "green");
        assert_eq!(response_time(Some(750)).color, "red");
        assert_eq!(response_time(Some(120)).message, "120 ms");
        let svg = uptime("24h", Some((1, 2))).svg();
        assert!(svg.contains("aria-label=\"uptime 24h: 50.00%\""), "{svg}");
    }
}
