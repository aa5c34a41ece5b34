//! Site build times for a large site: 100 components, 90 days of hourly rollups and
//! 10,000 incidents (`SITE_BENCH_INCIDENTS=N` for another size). Times, side by side in
//! one run: a first build into an empty folder against `cp -r` of that same output, a
//! rebuild over the existing site by a new builder (another process: `forewarn build`,
//! or a daemon restarting) and by the same one, the rebuild after one new incident
//! update (what the daemon does after each event), and the whole `forewarn build`
//! command, journal replay included.
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
    let incidents: usize = std::env::var("SITE_BENCH_INCIDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
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
                location: None,
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
    for n in 0..incidents {
        let t = now - TimeDelta::minutes(((incidents - n) * 12) as i64);
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
        if n + 1 < incidents {
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

    // First builds into empty folders, each followed by `cp -r` of what it wrote.
    let mut first = Vec::new();
    let mut copies = Vec::new();
    let mut files_written = 0;
    for k in 0..RUNS {
        let out = dir.path().join(format!("first-{k}"));
        let started = Instant::now();
        let report = Builder::new(&config, out.clone())
            .expect("builder")
            .build_all(&config, &view, &state, now)
            .expect("build");
        first.push(started.elapsed());
        files_written = report.written;
        let copy = dir.path().join(format!("copy-{k}"));
        let started = Instant::now();
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(&out)
            .arg(&copy)
            .status()
            .expect("cp");
        assert!(status.success());
        copies.push(started.elapsed());
        std::fs::remove_dir_all(&copy).expect("remove the copy");
        if k + 1 < RUNS {
            std::fs::remove_dir_all(&out).expect("remove the build");
        }
    }
    let out = dir.path().join(format!("first-{}", RUNS - 1));
    let ratio: Vec<f64> = first
        .iter()
        .zip(&copies)
        .map(|(b, c)| b.as_secs_f64() / c.as_secs_f64())
        .collect();

    // Rebuilds over the existing site: by a new builder, as another process would, and
    // by the daemon's own.
    let mut by_new = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        Builder::new(&config, out.clone())
            .expect("builder")
            .build_all(&config, &view, &state, now)
            .expect("build");
        by_new.push(started.elapsed());
    }
    let mut builder = Builder::new(&config, out.clone()).expect("builder");
    builder
        .build_all(&config, &view, &state, now)
        .expect("build");
    let mut full = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        builder
            .build_all(&config, &view, &state, now)
            .expect("build");
        full.push(started.elapsed());
    }

    // The whole command, journal replay included, over the existing site.
    let mut command = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_forewarn"))
            .arg("build")
            .arg("--config")
            .arg(&config_path)
            .arg("--state")
            .arg(&state)
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("forewarn build");
        assert!(status.success());
        command.push(started.elapsed());
    }
    let mut incremental = Vec::new();
    let mut written = 0;
    for k in 0..RUNS {
        let at = now + TimeDelta::seconds(k as i64 + 1);
        let last = format!("i{}", incidents - 1);
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
    let total: u64 = walk(&out).iter().map(|p| size(p)).sum();
    println!(
        "{COMPONENTS} components, 90 days of rollups, {incidents} incidents: {files_written} files, {:.1} MB",
        total as f64 / 1e6
    );
    println!(
        "first build into an empty folder: {}",
        common::summary(first)
    );
    println!(
        "cp -r of that output:             {}",
        common::summary(copies)
    );
    let mut sorted = ratio.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "first build / cp -r, run by run:  min {:.2}, median {:.2}, max {:.2}",
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1]
    );
    println!(
        "rebuild over the existing site by a new builder: {}",
        common::summary(by_new)
    );
    println!(
        "rebuild over the existing site by the same builder: {}",
        common::summary(full)
    );
    println!(
        "forewarn build over the existing site (whole process): {}",
        common::summary(command)
    );
    println!(
        "rebuild after one incident update ({written} files rewritten): {}",
        common::summary(incremental)
    );
    println!("index.html: {} bytes", size(&out.join("index.html")));
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                found.push(p);
            }
        }
    }
    found
}
