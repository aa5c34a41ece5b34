use super::*;
use crate::journal::{Event, Record};

const TZ: Tz = chrono_tz::UTC;

fn now() -> DateTime<Utc> {
    "2026-11-22T12:00:00Z".parse().unwrap()
}

fn row(component: &str, hour: &str, checks: u32, failures: u32) -> HourRollup {
    HourRollup {
        component: component.into(),
        location: None,
        hour: hour.parse().unwrap(),
        checks,
        failures,
        degraded: 0,
        maintenance: 0,
        p50_ms: 40 + failures,
        p95_ms: 80,
        max_ms: 100,
    }
}

#[test]
fn a_component_never_checked_shows_no_data_not_100_percent() {
    let stats = summarise(Vec::new(), now(), TZ);
    let c = cells("api", &[], &StatusView::default(), &stats, now(), TZ);
    assert_eq!(c.len(), DAYS);
    assert!(
        c.iter()
            .all(|c| c.class == "nodata" && c.label.ends_with("no data"))
    );
    assert_eq!(uptime("api", &stats, now(), TZ), None);
    assert_eq!(runs(&c).len(), 1, "ninety identical days are one run");
    assert_eq!(runs(&c)[0].days, DAYS);
}

#[test]
fn a_bad_day_shows_its_worst_status_uptime_and_incident() {
    let rows = vec![
        row("api", "2026-11-21T10:00:00Z", 1000, 1),
        row("api", "2026-11-22T09:00:00Z", 120, 0),
    ];
    let stats = summarise(rows, now(), TZ);
    let id = "INC-2026-1121-api".to_string();
    let view = StatusView::from_records(&[
        Record {
            seq: 1,
            at: "2026-11-21T10:10:00Z".parse().unwrap(),
            more: true,
            event: Event::ComponentStatusChanged {
                component: "api".into(),
                from: ComponentStatus::Operational,
                to: ComponentStatus::MajorOutage,
                reason: "HTTP 503".into(),
                incident: Some(id.clone()),
            },
        },
        Record {
            seq: 2,
            at: "2026-11-21T10:10:00Z".parse().unwrap(),
            more: false,
            event: Event::IncidentOpened {
                id: id.clone(),
                reference: id.clone(),
                title: "API: major outage".into(),
                components: [("api".to_string(), ComponentStatus::MajorOutage)].into(),
                impact: crate::status::Impact::Critical,
                automatic: true,
                update: None,
                postmortem_url: None,
            },
        },
        Record {
            seq: 3,
            at: "2026-11-21T10:20:00Z".parse().unwrap(),
            more: false,
            event: Event::ComponentStatusChanged {
                component: "api".into(),
                from: ComponentStatus::MajorOutage,
                to: ComponentStatus::Operational,
                reason: "ok".into(),
                incident: Some(id.clone()),
            },
        },
        Record {
            seq: 4,
            at: "2026-11-21T10:20:00Z".parse().unwrap(),
            more: false,
            event: Event::IncidentResolved {
                id: id.clone(),
                reference: id.clone(),
                duration_secs: 600,
                update: None,
            },
        },
    ]);
    let touching: Vec<&Incident> = view.incidents.values().collect();
    let c = cells("api", &touching, &view, &stats, now(), TZ);
    let yesterday = &c[DAYS - 2];
    assert_eq!(yesterday.class, "major");
    assert_eq!(
        yesterday.label,
        "21 Nov 2026: major outage; 99.90% of checks passed; 1 incident (INC-2026-1121-api)"
    );
    let today = &c[DAYS - 1];
    assert_eq!(
        (today.class, today.label.as_str()),
        ("operational", "22 Nov 2026: all checks passed")
    );
    assert_eq!(c[0].class, "nodata");
    // 1119 good checks out of 1120: never shown as 100%.
    assert_eq!(
        uptime("api", &stats, now(), TZ),
        Some(("99.91%".to_owned(), 2)),
        "over the 2 days checked"
    );
}

#[test]
fn a_sparkline_needs_a_few_hours_and_says_what_it_shows() {
    let one = summarise(vec![row("api", "2026-11-22T09:00:00Z", 10, 0)], now(), TZ);
    assert_eq!(sparkline("api", &one), None);
    let rows = vec![
        row("api", "2026-11-22T08:00:00Z", 10, 0),
        row("api", "2026-11-22T09:00:00Z", 10, 0),
        row("api", "2026-11-22T10:00:00Z", 10, 5),
    ];
    let stats = summarise(rows, now(), TZ);
    let svg = sparkline("api", &stats).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("role=\"img\""));
    assert!(
        svg.contains(
            "aria-label=\"Response time over the last 48 hours: typically 40 ms, at most 45 ms\""
        ),
        "{svg}"
    );
    assert_eq!(sparkline("other", &stats), None);
}

#[test]
fn each_location_keeps_its_rows_its_line_and_its_share_of_the_uptime() {
    // Two locations fill the same hours: neither's row replaces the other's, the
    // uptime counts both, and each location has its own named line.
    let at = |location: &str, hour: &str, ms: u32, failures: u32| HourRollup {
        location: Some(location.into()),
        p50_ms: ms,
        ..row("api", hour, 10, failures)
    };
    let mut rows = Vec::new();
    for hour in [
        "2026-11-22T08:00:00Z",
        "2026-11-22T09:00:00Z",
        "2026-11-22T10:00:00Z",
    ] {
        rows.push(at("Frankfurt", hour, 20, 0));
        rows.push(at("Virginia <East>", hour, 90, 1));
    }
    let stats = summarise(rows, now(), TZ);
    assert_eq!(
        passed("api", &stats, now(), TZ, 1),
        Some((57, 60)),
        "both locations' checks count"
    );
    assert_eq!(stats.latency["api"].len(), 2);
    let html = sparkline("api", &stats).unwrap();
    assert_eq!(html.matches("<svg").count(), 2, "{html}");
    assert!(
        html.contains("aria-label=\"Response time from Frankfurt over the last 48 hours: typically 20 ms, at most 20 ms\""),
        "{html}"
    );
    assert!(
        html.contains("<span class=\"spark-at\">Virginia &lt;East&gt; <svg"),
        "the location's name is escaped: {html}"
    );
    assert_eq!(typical_response_ms("api", &stats, now()), Some(90));
}
