use super::*;
use std::time::Duration;

fn sample(at: &str, outcome: Outcome, ms: u64) -> Sample {
    Sample {
        outcome,
        latency: Duration::from_millis(ms),
        at: at.parse().unwrap(),
        certificate: None,
    }
}

#[test]
fn percentiles_use_nearest_rank() {
    let v: Vec<u32> = (1..=100).collect();
    assert_eq!(percentile(&v, 50), 50);
    assert_eq!(percentile(&v, 95), 95);
    assert_eq!(percentile(&[7], 95), 7);
    assert_eq!(percentile(&[], 50), 0);
}

#[test]
fn hours_are_closed_persisted_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Rollups::open(dir.path()).unwrap();
    for i in 0..10 {
        let outcome = if i < 2 {
            Outcome::Down("HTTP 503".into())
        } else if i < 3 {
            Outcome::Degraded("slow".into())
        } else {
            Outcome::Up
        };
        r.record(
            "api",
            None,
            &sample(&format!("2026-11-22T10:{i:02}:00Z"), outcome, 10 * (i + 1)),
            false,
        );
    }
    r.persist("2026-11-22T10:30:00Z".parse().unwrap()).unwrap();
    drop(r);

    // A restart within the same hour keeps counting into it.
    let mut r = Rollups::open(dir.path()).unwrap();
    r.record(
        "api",
        None,
        &sample("2026-11-22T10:45:00Z", Outcome::Up, 1000),
        false,
    );
    r.record(
        "api",
        None,
        &sample("2026-11-22T10:50:00Z", Outcome::Down("x".into()), 5),
        true,
    );
    r.persist("2026-11-22T11:00:05Z".parse().unwrap()).unwrap();

    let hours = read_day_file(&day_file(dir.path(), "2026-11-22".parse().unwrap()));
    assert_eq!(hours.len(), 1);
    let h = &hours[0];
    assert_eq!(
        (h.checks, h.failures, h.degraded, h.maintenance),
        (12, 2, 1, 1)
    );
    assert_eq!((h.p50_ms, h.p95_ms, h.max_ms), (50, 1000, 1000));
    assert_eq!(last_samples(dir.path())["api"].latency_ms, 5);
}

#[test]
fn each_location_fills_its_own_hour_and_the_last_sample_is_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = Rollups::open(dir.path()).unwrap();
    r.record(
        "api",
        Some("Frankfurt"),
        &sample("2026-11-22T10:00:00Z", Outcome::Up, 20),
        false,
    );
    r.record(
        "api",
        Some("Virginia"),
        &sample("2026-11-22T10:00:02Z", Outcome::Down("HTTP 503".into()), 90),
        false,
    );
    // Frankfurt's sample heard late is counted, but is not the last one.
    r.record(
        "api",
        Some("Frankfurt"),
        &sample("2026-11-22T10:00:01Z", Outcome::Up, 30),
        false,
    );
    r.persist("2026-11-22T10:30:00Z".parse().unwrap()).unwrap();
    let last = &last_samples(dir.path())["api"];
    assert_eq!(
        (last.location.as_deref(), last.latency_ms),
        (Some("Virginia"), 90)
    );
    // The hours in progress, as the site reads them, are one row per location.
    let mut open: Vec<HourRollup> = parts(
        dir.path(),
        "2026-11-22".parse().unwrap(),
        "2026-11-22".parse().unwrap(),
    )
    .iter()
    .flat_map(Part::read)
    .collect();
    open.sort_by(|a, b| a.location.cmp(&b.location));
    let seen: Vec<_> = open
        .iter()
        .map(|h| (h.location.as_deref(), h.checks, h.failures, h.max_ms))
        .collect();
    assert_eq!(
        seen,
        [(Some("Frankfurt"), 2, 0, 30), (Some("Virginia"), 1, 1, 90)]
    );
    // A restart goes on filling them; the next hour closes them into the day file.
    drop(r);
    let mut r = Rollups::open(dir.path()).unwrap();
    r.record(
        "api",
        Some("Virginia"),
        &sample("2026-11-22T10:40:00Z", Outcome::Up, 80),
        false,
    );
    r.persist("2026-11-22T11:00:05Z".parse().unwrap()).unwrap();
    let mut hours = read_day_file(&day_file(dir.path(), "2026-11-22".parse().unwrap()));
    hours.sort_by(|a, b| a.location.cmp(&b.location));
    let closed: Vec<_> = hours
        .iter()
        .map(|h| (h.location.as_deref(), h.checks))
        .collect();
    assert_eq!(closed, [(Some("Frankfurt"), 2), (Some("Virginia"), 2)]);
}
