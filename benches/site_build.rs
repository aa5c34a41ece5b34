//! Site rebuild times for a large page: 100 components, 90 days of hourly rollups and
//! 10,000 incidents. Times a full rebuild, and the rebuild after one new incident update
//! (what the daemon does after each event).
//!
//! Run with: `cargo bench --bench site_build`

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use chrono::{DurationRound, TimeDelta, Utc};
use forewarn::config::Config;
use forewarn::journal::{Event, IncidentUpdate, Journal};
use forewarn::rollup::HourRollup;
use forewarn::site::{Builder, Changes};
use forewarn::status::{ComponentStatus, Impact, IncidentStatus, StatusView};

const COMPONENTS: usize = 100;
const INCIDENTS: usize = 10_000;
const RUNS: usize = 7;

fn update(at: chrono::DateTime<Utc>, status: IncidentStatus, message: &str) -> IncidentUpdate {
    IncidentUpdate {
        at,
        status,
        message: message.into(),
        eta: None,
        notify: true,
        apology: None,
        credit: None,
        automatic: false,
        next_update: None,
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let config_path = dir.path().join("forewarn.toml");
    std::fs::write(&config_path, common::config_text(addr, COMPONENTS, "60s")).expect("config");
    let config = Config::load(&config_path).expect("config");
    let state = dir.path().join("state");
    let now = Utc::now();
    let hour = now.duration_trunc(TimeDelta::hours(1)).expect("hour");

    // 90 days of hourly rollups for every component.
    let rollups = state.join("rollups");
    std::fs::create_dir_all(&rollups).expect("mkdir");
    let mut files: BTreeMap<String, std::fs::File> = BTreeMap::new();
    for h in 1..(90 * 24) {
        let at = hour - TimeDelta::hours(h);
        let day = at.date_naive().to_string();
        let f = files.entry(day.clone()).or_insert_with(|| {
            std::fs::File::create(rollups.join(format!("{day}.jsonl"))).expect("create")
        });
        let mut buf = Vec::new();
        for i in 0..COMPONENTS {
            let row = HourRollup {
                component: format!("c{i}"),
                hour: at,
                checks: 60,
                failures: u32::from((h as usize + i).is_multiple_of(97)),
                degraded: 0,
                maintenance: 0,
                p50_ms: 40 + (h as u32 % 13),
                p95_ms: 90,
                max_ms: 200,
            };
            serde_json::to_writer(&mut buf, &row).expect("row");
            buf.push(b'\n');
        }
        f.write_all(&buf).expect("write");
    }
    drop(files);

    // 10,000 declared incidents over 90 days, each with three updates, the last one open.
    let (mut journal, _) = Journal::open(&state).expect("journal");
    let mut events = Vec::new();
    for n in 0..INCIDENTS {
        let t = now - TimeDelta::minutes(((INCIDENTS - n) * 12) as i64);
        let id = format!("i{n}");
        let reference = format!("INC-{}-{id}", t.format("%Y-%m%d"));
        events.push((
            t,
            Event::IncidentOpened {
                id: id.clone(),
                reference: reference.clone(),
                title: format!("Incident number {n}"),
                components: BTreeMap::from([(
                    format!("c{}", n % COMPONENTS),
                    ComponentStatus::PartialOutage,
                )]),
                impact: Impact::Major,
                automatic: false,
                update: Some(update(
                    t,
                    IncidentStatus::Investigating,
                    "Something is wrong; we are **looking into it**.",
                )),
                postmortem_url: None,
            },
        ));
        events.push((
            t,
            Event::IncidentUpdated {
                id: id.clone(),
                reference: reference.clone(),
                update: update(
                    t + TimeDelta::minutes(3),
                    IncidentStatus::Identified,
                    "We found the cause and are fixing it.",
                ),
            },
        ));
        if n + 1 < INCIDENTS {
            events.push((
                t,
                Event::IncidentResolved {
                    id,
                    reference,
                    duration_secs: 600,
                    update: Some(update(
                        t + TimeDelta::minutes(10),
                        IncidentStatus::Resolved,
                        "Fixed. We are sorry.",
                    )),
                },
            ));
        }
    }
    let records = journal.append(events).expect("append");
    let mut view = StatusView::from_records(&records);

    let out = dir.path().join("site");
    let mut builder = Builder::new(&config, out.clone()).expect("builder");
    let mut full = Vec::new();
    let mut files_written = 0;
    // The first build writes every file into an empty folder; later ones replace a site.
    let mut cold = None;
    for _ in 0..=RUNS {
        let started = Instant::now();
        let report = builder
            .build_all(&config, &view, &state, now)
            .expect("build");
        if cold.is_none() {
            cold = Some(started.elapsed());
            continue;
        }
        full.push(started.elapsed());
        files_written = report.written;
    }
    let mut incremental = Vec::new();
    let mut written = 0;
    for k in 0..RUNS {
        let at = now + TimeDelta::seconds(k as i64 + 1);
        let last = format!("i{}", INCIDENTS - 1);
        let reference = view.incidents[&last].reference.clone();
        let recs = journal
            .append(vec![(
                at,
                Event::IncidentUpdated {
                    id: last.clone(),
                    reference,
                    update: update(
                        at,
                        IncidentStatus::Monitoring,
                        &format!("A fix is out; we are watching ({k})."),
                    ),
                },
            )])
            .expect("append");
        let mut changes = Changes::default();
        for r in &recs {
            view.apply(r);
            changes.note(&r.event, &view);
        }
        let started = Instant::now();
        let report = builder
            .update(&config, &view, &state, at, &changes)
            .expect("update");
        incremental.push(started.elapsed());
        written = report.written;
    }
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    println!(
        "first build into an empty folder, {COMPONENTS} components, 90 days of rollups, {INCIDENTS} incidents ({files_written} files): {:.0} ms",
        cold.unwrap_or_default().as_secs_f64() * 1000.0
    );
    println!(
        "full rebuild over the existing site: {}",
        common::summary(full)
    );
    println!(
        "rebuild after one incident update ({written} files rewritten): {}",
        common::summary(incremental)
    );
    println!("index.html: {} bytes", size(&out.join("index.html")));
}
