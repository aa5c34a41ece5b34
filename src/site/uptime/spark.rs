//! The response-time sparkline: one inline SVG line per location, each named.

use chrono::{DateTime, Utc};

use super::{SPARK_HOURS, Stats};

/// An inline SVG line of median response times (two-hour steps), or None without data;
/// with `[cluster]`, one per location, each named.
pub fn sparkline(component: &str, stats: &Stats) -> Option<String> {
    let lines: Vec<String> = stats
        .latency
        .get(component)?
        .iter()
        .filter_map(|(location, hourly)| line(location, hourly))
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}

fn line(location: &str, hourly: &[(DateTime<Utc>, u32)]) -> Option<String> {
    // Pairs of hours, averaged: half the points, the same shape.
    let points: Vec<u32> = hourly
        .chunks(2)
        .map(|c| c.iter().map(|(_, ms)| *ms).sum::<u32>() / c.len() as u32)
        .collect();
    if points.len() < 2 {
        return None;
    }
    let max = points.iter().copied().max().unwrap_or(1).max(1);
    let median = {
        let mut v: Vec<u32> = hourly.iter().map(|(_, ms)| *ms).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let peak = hourly.iter().map(|(_, ms)| *ms).max().unwrap_or(0);
    let step = 120.0 / (points.len() - 1) as f64;
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, ms)| {
            format!(
                "{:.0},{:.0}",
                i as f64 * step,
                23.0 - (f64::from(*ms) / f64::from(max)) * 22.0
            )
        })
        .collect();
    let from = if location.is_empty() {
        String::new()
    } else {
        format!(" from {}", handlebars::html_escape(location))
    };
    let svg = format!(
        r#"<svg class="spark" viewBox="0 0 120 24" width="120" height="24" role="img" aria-label="Response time{from} over the last {SPARK_HOURS} hours: typically {median} ms, at most {peak} ms"><polyline points="{}"/></svg>"#,
        path.join(" ")
    );
    Some(if location.is_empty() {
        svg
    } else {
        format!(
            r#"<span class="spark-at">{} {svg}</span>"#,
            handlebars::html_escape(location)
        )
    })
}
