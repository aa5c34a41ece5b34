//! Hourly rollups of probe samples, kept apart from the journal: samples are not events.
//!
//! Completed hours are appended to `state/rollups/YYYY-MM-DD.jsonl` (one line per
//! component and hour: checks, failures, degraded, latency p50/p95/max; with
//! `[cluster]`, one per component, location and hour). The hour still being filled,
//! and each component's last sample, live in `state/rollups/current.json`, rewritten
//! atomically, so a restart carries on filling the same hour.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use chrono::{DateTime, Days, DurationRound, NaiveDate, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::files::{Durability, write_atomic};
use crate::probe::{Outcome, Sample};

pub const ROLLUP_DIR: &str = "rollups";
const CURRENT_FILE: &str = "current.json";
/// Latencies kept per component and hour for percentiles; beyond this a uniform
/// sample of them is kept (one probe a second fills an hour exactly).
const MAX_LATENCIES: usize = 3600;

/// One component's samples over one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRollup {
    pub component: String,
    /// Where the samples were taken (`[cluster]`); none for a single node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    pub hour: DateTime<Utc>,
    pub checks: u32,
    pub failures: u32,
    pub degraded: u32,
    /// Samples taken during maintenance; their failures do not count against uptime.
    #[serde(default)]
    pub maintenance: u32,
    pub p50_ms: u32,
    pub p95_ms: u32,
    pub max_ms: u32,
}

/// The last sample taken for a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSample {
    pub at: DateTime<Utc>,
    /// Where it was taken (`[cluster]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub latency_ms: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Accum {
    hour: DateTime<Utc>,
    checks: u32,
    failures: u32,
    degraded: u32,
    #[serde(default)]
    maintenance: u32,
    max_ms: u32,
    latencies_ms: Vec<u32>,
}

impl Accum {
    fn new(hour: DateTime<Utc>) -> Accum {
        Accum {
            hour,
            checks: 0,
            failures: 0,
            degraded: 0,
            maintenance: 0,
            max_ms: 0,
            latencies_ms: Vec::new(),
        }
    }

    fn add(&mut self, outcome: &Outcome, ms: u32, in_maintenance: bool) {
        self.checks += 1;
        match outcome {
            _ if in_maintenance => self.maintenance += 1,
            Outcome::Up | Outcome::Warning(_) | Outcome::Unknown(_) => {}
            Outcome::Degraded(_) => self.degraded += 1,
            Outcome::Down(_) => self.failures += 1,
        }
        self.max_ms = self.max_ms.max(ms);
        if self.latencies_ms.len() < MAX_LATENCIES {
            self.latencies_ms.push(ms);
        } else {
            // Reservoir sampling keeps a uniform sample of the hour's latencies.
            let slot = fastrand::usize(..self.checks as usize);
            if slot < MAX_LATENCIES {
                self.latencies_ms[slot] = ms;
            }
        }
    }

    fn close(mut self, component: &str, location: Option<&str>) -> HourRollup {
        self.latencies_ms.sort_unstable();
        HourRollup {
            component: component.to_owned(),
            location: location.map(str::to_owned),
            hour: self.hour,
            checks: self.checks,
            failures: self.failures,
            degraded: self.degraded,
            maintenance: self.maintenance,
            p50_ms: percentile(&self.latencies_ms, 50),
            p95_ms: percentile(&self.latencies_ms, 95),
            max_ms: self.max_ms,
        }
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[u32], p: usize) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Snapshot {
    open: BTreeMap<String, Accum>,
    /// With `[cluster]`: each location's hour in progress, per component.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    located: BTreeMap<String, BTreeMap<String, Accum>>,
    last: BTreeMap<String, LastSample>,
    /// When each heartbeat check's job last reported (a beat or a failure).
    #[serde(default)]
    reports: BTreeMap<String, DateTime<Utc>>,
    /// When each heartbeat check whose job never reported began to be watched.
    #[serde(default)]
    watched: BTreeMap<String, DateTime<Utc>>,
}

pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at)
}

/// The rollups of one state directory.
pub struct Rollups {
    dir: PathBuf,
    snapshot: Snapshot,
    closed: Vec<HourRollup>,
    /// Samples were counted since the last save.
    unsaved: bool,
}

impl Rollups {
    /// Load the hour in progress from a previous run, if any.
    pub fn open(state_dir: &Path) -> anyhow::Result<Rollups> {
        let dir = state_dir.join(ROLLUP_DIR);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let snapshot = read_snapshot(&dir);
        Ok(Rollups {
            dir,
            snapshot,
            closed: Vec::new(),
            unsaved: false,
        })
    }

    /// Count one sample, taken from `location` with `[cluster]`; `in_maintenance`
    /// marks samples taken during planned work. A probe that could not run says
    /// nothing of the service: it is remembered as the last sample, but not counted.
    pub fn record(
        &mut self,
        component: &str,
        location: Option<&str>,
        sample: &Sample,
        in_maintenance: bool,
    ) {
        self.unsaved = true;
        self.remember_last(component, location, sample);
        if sample.outcome.is_unknown() {
            return;
        }
        let hour = hour_of(sample.at);
        let ms = u32::try_from(sample.latency.as_millis()).unwrap_or(u32::MAX);
        let (open, key) = match location {
            None => (&mut self.snapshot.open, component),
            Some(l) => (
                self.snapshot
                    .located
                    .entry(component.to_owned())
                    .or_default(),
                l,
            ),
        };
        match open.get_mut(key) {
            Some(acc) if acc.hour == hour => acc.add(&sample.outcome, ms, in_maintenance),
            Some(acc) if acc.hour > hour => {} // a late sample from an hour already closed
            _ => {
                let mut acc = Accum::new(hour);
                acc.add(&sample.outcome, ms, in_maintenance);
                if let Some(prev) = open.insert(key.to_owned(), acc) {
                    self.closed.push(prev.close(component, location));
                }
            }
        }
    }

    fn remember_last(&mut self, component: &str, location: Option<&str>, sample: &Sample) {
        if self
            .snapshot
            .last
            .get(component)
            .is_some_and(|l| l.at > sample.at)
        {
            return; // another location's later sample is already the last
        }
        let ms = u32::try_from(sample.latency.as_millis()).unwrap_or(u32::MAX);
        self.snapshot.last.insert(
            component.to_owned(),
            LastSample {
                at: sample.at,
                location: location.map(str::to_owned),
                outcome: sample.outcome.clone(),
                latency_ms: ms,
            },
        );
    }

    /// Close hours that ended before `now`, append closed hours to their day files,
    /// and save the hour in progress.
    pub fn persist(&mut self, now: DateTime<Utc>) -> anyhow::Result<()> {
        let current = hour_of(now);
        let stale: Vec<String> = self
            .snapshot
            .open
            .iter()
            .filter(|(_, a)| a.hour < current)
            .map(|(c, _)| c.clone())
            .collect();
        for c in stale {
            if let Some(acc) = self.snapshot.open.remove(&c) {
                self.closed.push(acc.close(&c, None));
            }
        }
        for (c, at) in &mut self.snapshot.located {
            let stale: Vec<String> = at
                .iter()
                .filter(|(_, a)| a.hour < current)
                .map(|(l, _)| l.clone())
                .collect();
            for l in stale {
                if let Some(acc) = at.remove(&l) {
                    self.closed.push(acc.close(c, Some(&l)));
                }
            }
        }
        self.snapshot.located.retain(|_, at| !at.is_empty());
        self.append_closed()?;
        self.write_snapshot()?;
        self.unsaved = false;
        Ok(())
    }

    /// Save if samples were counted since the last save: the site then counts the hour
    /// in progress as it stands, so its figures never contradict a status just confirmed.
    pub fn persist_if_changed(&mut self, now: DateTime<Utc>) -> anyhow::Result<()> {
        if self.unsaved || !self.closed.is_empty() {
            self.persist(now)?;
        }
        Ok(())
    }

    fn append_closed(&mut self) -> anyhow::Result<()> {
        let mut by_day: BTreeMap<NaiveDate, Vec<&HourRollup>> = BTreeMap::new();
        for r in &self.closed {
            by_day.entry(r.hour.date_naive()).or_default().push(r);
        }
        for (day, rows) in by_day {
            let path = self.dir.join(format!("{day}.jsonl"));
            let mut buf = Vec::new();
            for r in rows {
                serde_json::to_writer(&mut buf, r)?;
                buf.push(b'\n');
            }
            let mut f = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            f.write_all(&buf)
                .and_then(|()| f.sync_data())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        self.closed.clear();
        Ok(())
    }

    fn write_snapshot(&self) -> anyhow::Result<()> {
        let path = self.dir.join(CURRENT_FILE);
        let body = serde_json::to_vec(&self.snapshot)?;
        write_atomic(&path, &body, Durability::Durable)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn last_samples(&self) -> &BTreeMap<String, LastSample> {
        &self.snapshot.last
    }

    /// A heartbeat check's job reported at `at`; saved at once, so a restart counts
    /// its next period from here.
    pub fn note_report(&mut self, component: &str, at: DateTime<Utc>) -> anyhow::Result<()> {
        self.snapshot.reports.insert(component.to_owned(), at);
        // Hours closed since the last save go to their day files first, as in every save.
        self.persist(at)
    }

    /// When each heartbeat check's job last reported.
    pub fn reports(&self) -> &BTreeMap<String, DateTime<Utc>> {
        &self.snapshot.reports
    }

    /// When each heartbeat check whose job never reported began to be watched.
    pub fn watched(&self) -> &BTreeMap<String, DateTime<Utc>> {
        &self.snapshot.watched
    }

    /// Keep when these checks, whose jobs never reported, began to be watched (saved
    /// when that changes); the others are forgotten.
    pub fn note_watched<'a>(
        &mut self,
        watched: impl Iterator<Item = (&'a str, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let next: BTreeMap<String, DateTime<Utc>> =
            watched.map(|(id, at)| (id.to_owned(), at)).collect();
        if next == self.snapshot.watched {
            return Ok(());
        }
        self.snapshot.watched = next;
        self.persist(now)
    }
}

fn read_snapshot(dir: &Path) -> Snapshot {
    let path = dir.join(CURRENT_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "unreadable rollup snapshot; this hour's counts start again");
            Snapshot::default()
        }),
        Err(_) => Snapshot::default(),
    }
}

/// The rows of one day file; a torn last line from a crash is skipped.
fn read_day_file(path: &Path) -> Vec<HourRollup> {
    let Ok(f) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect()
}

/// The day file holding a UTC date.
fn day_file(state_dir: &Path, day: NaiveDate) -> PathBuf {
    state_dir.join(ROLLUP_DIR).join(format!("{day}.jsonl"))
}

/// One stored part of the rollups (a day file, or the hours in progress) and its
/// version (modified time and length), so a reader can skip what has not changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part {
    path: PathBuf,
    pub version: (SystemTime, u64),
}

impl Part {
    /// Completed hours (a day file), rather than the hours still being filled.
    pub fn is_completed(&self) -> bool {
        self.path.extension().is_some_and(|e| e == "jsonl")
    }

    /// The part's hours: a day file's rows, or the open hours summed up as if they
    /// ended now.
    pub fn read(&self) -> Vec<HourRollup> {
        if self.is_completed() {
            read_day_file(&self.path)
        } else {
            let snapshot = read_snapshot(self.path.parent().unwrap_or(Path::new(".")));
            let located = snapshot
                .located
                .into_iter()
                .flat_map(|(c, at)| at.into_iter().map(move |(l, acc)| acc.close(&c, Some(&l))));
            snapshot
                .open
                .into_iter()
                .map(|(c, acc)| acc.close(&c, None))
                .chain(located)
                .collect()
        }
    }
}

/// The stored parts covering the UTC days `first..=last`, and the hours in progress,
/// as they are on disk now; a day with no file has no part.
pub fn parts(state_dir: &Path, first: NaiveDate, last: NaiveDate) -> Vec<Part> {
    let version = |p: &Path| {
        fs::metadata(p)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()))
    };
    let mut paths = Vec::new();
    let mut day = first;
    while day <= last {
        paths.push(day_file(state_dir, day));
        day = day + Days::new(1);
    }
    paths.push(state_dir.join(ROLLUP_DIR).join(CURRENT_FILE));
    paths
        .into_iter()
        .filter_map(|path| version(&path).map(|version| Part { path, version }))
        .collect()
}

/// Each component's last sample, as saved by the running (or last) daemon.
pub fn last_samples(state_dir: &Path) -> BTreeMap<String, LastSample> {
    read_snapshot(&state_dir.join(ROLLUP_DIR)).last
}

/// When each heartbeat check's job last reported, as saved by the running (or last)
/// daemon.
pub fn last_reports(state_dir: &Path) -> BTreeMap<String, DateTime<Utc>> {
    read_snapshot(&state_dir.join(ROLLUP_DIR)).reports
}

#[cfg(test)]
mod tests;
