//! The badges people put in READMEs: per component, uptime over 24 hours, 7, 30 and 90
//! days and the typical response time, each as SVG and as shields.io endpoint JSON, from
//! the probes' hourly sums.

mod common;

use std::io::Write;

use chrono::{DurationRound, TimeDelta, Utc};
use forewarn::config::Config;
use forewarn::rollup::HourRollup;
use forewarn::site::Builder;
use forewarn::status::StatusView;
use serde_json::Value;

const COMPONENTS: &str = r#"
[[component]]
id = "api"
name = "Public API"
[component.check]
url = "https://api.acme.test/health"

[[component]]
id = "db"
name = "Database"
[component.check]
kind = "tcp"
address = "db.acme.test:5432"
"#;

#[test]
fn uptime_and_response_time_badges_say_what_the_probes_saw() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write_config(dir.path(), COMPONENTS);
    let config = Config::load(&path).expect("config");
    let state = dir.path().join("state");
    let rollups = state.join("rollups");
    std::fs::create_dir_all(&rollups).unwrap();
    let now = Utc::now();
    let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap();
    // 90 days of hours: the last 23 whole hours fail 1 check in 100 and answer in
    // 180 ms; the days 10 to 12 ago fail half their checks; the rest pass in 40 ms.
    let mut rows = Vec::new();
    for h in 1..(90 * 24) {
        let at = hour - TimeDelta::hours(h);
        let age_days = (now - at).num_days();
        let (failures, p50) = if h <= 23 {
            (1, 180)
        } else if (10..=12).contains(&age_days) {
            (50, 40)
        } else {
            (0, 40)
        };
        rows.push(HourRollup {
            component: "api".into(),
            location: None,
            hour: at,
            checks: 100,
            failures,
            degraded: 0,
            maintenance: 0,
            p50_ms: p50,
            p95_ms: p50 * 2,
            max_ms: p50 * 3,
        });
    }
    let mut files = std::collections::BTreeMap::new();
    for r in &rows {
        let day = r.hour.date_naive().to_string();
        let f = files.entry(day.clone()).or_insert_with(|| {
            std::fs::File::create(rollups.join(format!("{day}.jsonl"))).unwrap()
        });
        serde_json::to_writer(&mut *f, r).unwrap();
        f.write_all(b"\n").unwrap();
    }
    drop(files);

    let out = dir.path().join("site");
    let mut b = Builder::new(&config, out.clone()).expect("builder");
    b.build_all(&config, &StatusView::default(), &state, now)
        .expect("build");
    let badge = |id: &str, name: &str| -> Value {
        let svg = std::fs::read_to_string(out.join(format!("badges/{id}/{name}.svg")))
            .unwrap_or_else(|e| panic!("{id}/{name}.svg: {e}"));
        assert!(svg.starts_with("<svg"), "{svg}");
        let json: Value = serde_json::from_slice(
            &std::fs::read(out.join(format!("badges/{id}/{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(json["schemaVersion"], 1);
        let words = format!(
            "{}: {}",
            json["label"].as_str().unwrap(),
            json["message"].as_str().unwrap()
        );
        assert!(
            svg.contains(&format!("aria-label=\"{words}\"")),
            "{svg} says {words}"
        );
        json
    };
    // What the rows add up to, counted here independently: UTC local days, today
    // included.
    let today = now.date_naive();
    let share = |days: u64| {
        let first = today - chrono::Days::new(days - 1);
        let (up, of) =
            rows.iter()
                .filter(|r| r.hour.date_naive() >= first)
                .fold((0u64, 0u64), |(u, o), r| {
                    (
                        u + u64::from(r.checks - r.failures),
                        o + u64::from(r.checks),
                    )
                });
        let p = (up as f64 * 10_000.0 / of as f64).floor() / 100.0;
        format!("{p:.2}%")
    };

    let day = badge("api", "uptime-24h");
    assert_eq!(day["label"], "uptime 24h");
    assert_eq!(day["message"], "99.00%", "23 hours of 1 failure in 100");
    assert_eq!(day["color"], "brightgreen");
    let week = badge("api", "uptime-7d");
    assert_eq!(week["message"], share(7));
    assert_eq!(week["color"], "brightgreen");
    let month = badge("api", "uptime-30d");
    assert_eq!(month["message"], share(30));
    let quarter = badge("api", "uptime-90d");
    assert_eq!(quarter["message"], share(90));
    assert_ne!(
        month["message"], week["message"],
        "the bad days count in 30 days"
    );
    let response = badge("api", "response-time");
    assert_eq!(response["label"], "response time");
    assert_eq!(response["message"], "180 ms");
    assert_eq!(response["color"], "green", "under 200 ms, not under 50");

    for name in [
        "uptime-24h",
        "uptime-7d",
        "uptime-30d",
        "uptime-90d",
        "response-time",
    ] {
        let none = badge("db", name);
        assert_eq!(none["message"], "no data", "{name}");
        assert_eq!(none["color"], "lightgrey", "{name}");
    }
}
