//! Heartbeat checks through the real front: a job that beats, then stops, opens an
//! incident when its period and grace run out; a beat resolves it; a job that reports
//! `/fail` opens one at once; and the last beat survives a restart.

mod common;

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::{closed_port, forewarn, run_bounded, text, wait_until, write_config};
use forewarn::journal::{Event, Journal};
use forewarn::status::ComponentStatus;

const LIMIT: Duration = Duration::from_secs(30);

/// A blocking HTTP client over a runtime of its own.
struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    fn new() -> Http {
        Http {
            rt: common::background_runtime(),
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
        }
    }

    /// (status, body), or None when nothing answered.
    fn send(&self, method: reqwest::Method, url: &str) -> Option<(u16, String)> {
        self.rt.block_on(async {
            let r = self
                .client
                .request(method, url)
                .body("log lines")
                .send()
                .await
                .ok()?;
            let status = r.status().as_u16();
            Some((status, r.text().await.ok()?))
        })
    }

    fn get(&self, url: &str) -> Option<(u16, String)> {
        self.send(reqwest::Method::GET, url)
    }

    fn post(&self, url: &str) -> Option<(u16, String)> {
        self.send(reqwest::Method::POST, url)
    }
}

/// The address `forewarn heartbeat-url` prints for `component`.
fn heartbeat_url(config: &Path, state: &Path, component: &str) -> String {
    let out = run_bounded(
        forewarn()
            .arg("heartbeat-url")
            .arg(component)
            .arg("--config")
            .arg(config)
            .arg("--state")
            .arg(state),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    stdout.lines().next().unwrap_or_default().to_owned()
}

/// Status changes of `component`: (when, to).
fn changes(state: &Path, component: &str) -> Vec<(DateTime<Utc>, ComponentStatus)> {
    Journal::read(state)
        .map(|r| {
            r.records
                .iter()
                .filter_map(|r| match &r.event {
                    Event::ComponentStatusChanged {
                        component: c, to, ..
                    } if c == component => Some((r.at, *to)),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn opened_for(state: &Path, component: &str) -> usize {
    Journal::read(state)
        .map(|r| {
            r.records
                .iter()
                .filter(|r| {
                    matches!(&r.event, Event::IncidentOpened { components, .. } if components.contains_key(component))
                })
                .count()
        })
        .unwrap_or_default()
}

fn last_report(state: &Path, component: &str) -> DateTime<Utc> {
    forewarn::rollup::last_reports(state)
        .get(component)
        .copied()
        .unwrap_or_else(|| panic!("a report of {component} is saved"))
}

#[test]
fn jobs_report_missed_beats_open_incidents_and_the_last_beat_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = closed_port();
    let config = write_config(
        dir.path(),
        &format!(
            "[serve]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\n\n[[component]]\nid = \"nightly\"\nname = \"Nightly export\"\n[component.check]\nkind = \"heartbeat\"\nexpect_every = \"4s\"\ngrace = \"4s\"\n\n[[component]]\nid = \"backup\"\nname = \"Backups\"\n[component.check]\nkind = \"heartbeat\"\nexpect_every = \"1h\"\ngrace = \"1m\"\n"
        ),
    );
    let state = dir.path().join("state");
    let nightly = heartbeat_url(&config, &state, "nightly");
    let backup = heartbeat_url(&config, &state, "backup");
    assert!(
        nightly.starts_with(&format!("http://127.0.0.1:{port}/heartbeat/")),
        "{nightly}"
    );
    assert_ne!(nightly, backup, "each check has its own address");

    let http = Http::new();
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    wait_until(LIMIT, "the front", || {
        http.get(&format!("http://127.0.0.1:{port}/healthz"))
            .is_some_and(|r| r.0 == 200)
    });

    // The job beats for a while, with GET and POST: all is well.
    for n in 0..6 {
        let r = if n % 2 == 0 {
            http.get(&nightly)
        } else {
            http.post(&nightly)
        }
        .expect("an answer");
        assert_eq!(
            r,
            (200, "OK: heartbeat of Nightly export recorded\n".to_owned())
        );
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(
        changes(&state, "nightly").is_empty(),
        "no status change while it beats"
    );
    let wrong = http
        .get(&format!("http://127.0.0.1:{port}/heartbeat/not-a-token"))
        .expect("an answer");
    assert_eq!(wrong.0, 404);

    // It stops: when 4 s and 4 s of grace have passed, the outage is confirmed, timed
    // at the moment the grace ran out.
    let last = last_report(&state, "nightly");
    wait_until(LIMIT, "the missed beat to open an incident", || {
        opened_for(&state, "nightly") == 1
    });
    let down = changes(&state, "nightly");
    assert_eq!(down.len(), 1, "{down:?}");
    assert_eq!(down[0].1, ComponentStatus::MajorOutage);
    assert_eq!(
        down[0].0,
        last + TimeDelta::seconds(8),
        "{down:?} after {last}"
    );

    // One beat and it is back; the incident resolves.
    assert_eq!(http.post(&nightly).map(|r| r.0), Some(200));
    wait_until(LIMIT, "the beat to recover it", || {
        changes(&state, "nightly").last().map(|c| c.1) == Some(ComponentStatus::Operational)
    });

    // A job that reports a failure opens an incident at once (fail_after = 1).
    let r = http.get(&format!("{backup}/fail")).expect("an answer");
    assert_eq!(r, (200, "OK: failure of Backups recorded\n".to_owned()));
    wait_until(LIMIT, "the reported failure to open an incident", || {
        opened_for(&state, "backup") == 1
    });

    // A restart: the next period counts from the last beat, not from the restart.
    assert_eq!(http.get(&nightly).map(|r| r.0), Some(200));
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
    let beat = last_report(&state, "nightly");
    let daemon = common::start_daemon_logged(&config, &state, &[]);
    wait_until(LIMIT, "the missed beat after the restart", || {
        changes(&state, "nightly").len() == 3
    });
    let after = changes(&state, "nightly");
    assert_eq!(after[2].1, ComponentStatus::MajorOutage);
    assert_eq!(
        after[2].0,
        beat + TimeDelta::seconds(8),
        "{after:?} after {beat}"
    );
    assert_eq!(
        opened_for(&state, "nightly"),
        2,
        "a new incident for the new outage"
    );
    // /metrics counts the reports and missed periods, with no response time: a report
    // has none.
    let (status, scrape) = http
        .get(&format!("http://127.0.0.1:{port}/metrics"))
        .expect("an answer");
    assert_eq!(status, 200);
    let parsed = prometheus_parse::Scrape::parse(scrape.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("{e}: {scrape}"));
    let of_nightly = |metric: &str| {
        parsed
            .samples
            .iter()
            .any(|x| x.metric.starts_with(metric) && x.labels.get("component") == Some("nightly"))
    };
    assert!(of_nightly("forewarn_probes_total"), "{scrape}");
    assert!(!of_nightly("forewarn_probe_duration_seconds"), "{scrape}");
    let out = common::stop_daemon(daemon);
    assert_eq!(out.status.code(), Some(0), "{}", common::daemon_log(&state));
}
