//! Uptime for the pages: the 90-day bar of each component (one cell per day, coloured by
//! the worst status of that day, "no data" when nothing was checked), its uptime over 90
//! days, and a response-time sparkline (one per location with `[cluster]`), from the
//! hourly rollups and the journal.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::rollup::{self, HourRollup, Part};

mod spark;
use crate::status::{ComponentStatus, Incident, StatusView};
pub use spark::sparkline;

/// Days shown in a bar.
pub const DAYS: usize = 90;
/// Hours in a sparkline.
pub const SPARK_HOURS: i64 = 48;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayStats {
    pub checks: u32,
    pub failures: u32,
    pub maintenance: u32,
}

impl DayStats {
    /// Checks that count for uptime (not during maintenance).
    fn counted(&self) -> u32 {
        self.checks.saturating_sub(self.maintenance)
    }

    fn up(&self) -> u32 {
        self.counted().saturating_sub(self.failures)
    }
}

/// Each location's median response time per hour, oldest first (`""`: a single node's).
pub type Latency = BTreeMap<String, Vec<(DateTime<Utc>, u32)>>;

/// Samples summed per component and local day (every location's together), plus
/// recent hourly medians.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Stats {
    pub days: HashMap<String, BTreeMap<NaiveDate, DayStats>>,
    /// Median response time per hour, per component and location.
    pub latency: HashMap<String, Latency>,
    /// The last 24 hours (the hour in progress included), summed.
    pub last_day: HashMap<String, DayStats>,
}

/// What one rollup file contributes: its rows summed per component and local day, and
/// its hourly medians.
#[derive(Debug, Default)]
struct Partial {
    days: HashMap<String, BTreeMap<NaiveDate, DayStats>>,
    latency: HashMap<String, Latency>,
    /// Each hour's sums, while the hour is among the last 24 (see `Partial::forget`).
    hours: HashMap<String, Vec<(DateTime<Utc>, DayStats)>>,
}

impl Partial {
    /// Sum rows; a row written twice (a crash between two saves) counts once: the
    /// fuller one.
    fn of(rows: Vec<HourRollup>, tz: Tz) -> Partial {
        type Key = (String, Option<String>, DateTime<Utc>);
        let mut unique: HashMap<Key, HourRollup> = HashMap::new();
        for r in rows {
            let key = (r.component.clone(), r.location.clone(), r.hour);
            if unique.get(&key).is_none_or(|old| old.checks <= r.checks) {
                unique.insert(key, r);
            }
        }
        let mut p = Partial::default();
        for r in unique.into_values() {
            let date = r.hour.with_timezone(&tz).date_naive();
            let d = p
                .days
                .entry(r.component.clone())
                .or_default()
                .entry(date)
                .or_default();
            d.checks += r.checks;
            d.failures += r.failures;
            d.maintenance += r.maintenance;
            p.hours.entry(r.component.clone()).or_default().push((
                r.hour,
                DayStats {
                    checks: r.checks,
                    failures: r.failures,
                    maintenance: r.maintenance,
                },
            ));
            if r.checks > r.maintenance {
                p.latency
                    .entry(r.component)
                    .or_default()
                    .entry(r.location.unwrap_or_default())
                    .or_default()
                    .push((r.hour, r.p50_ms));
            }
        }
        p
    }

    /// Let go of the hours before `from`: they only grow older.
    fn forget(&mut self, from: DateTime<Utc>) {
        self.hours.retain(|_, v| {
            v.retain(|(h, _)| *h >= from);
            !v.is_empty()
        });
    }
}

/// The first hour of the last 24, the one in progress included.
fn last_day_from(now: DateTime<Utc>) -> DateTime<Utc> {
    rollup::hour_of(now) - TimeDelta::hours(23)
}

/// Rollup parts summed up, each kept while unchanged on disk, so a rebuild re-reads
/// only the day being written.
#[derive(Default)]
pub struct StatsCache {
    parts: HashMap<Part, Partial>,
    tz: Option<Tz>,
    /// The last result, with what it was made from.
    last: Option<(Sources, std::sync::Arc<Stats>)>,
}

/// What stats are made from: the stored parts, and the hour (the sparkline moves with it).
type Sources = (Vec<Part>, DateTime<Utc>);

impl StatsCache {
    /// The stats of the last 91 days up to `now`, and whether they changed since the last
    /// call (unchanged parts are not read again; nothing changed means nothing is redone).
    pub fn load(
        &mut self,
        state_dir: &Path,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> (std::sync::Arc<Stats>, bool) {
        if self.tz != Some(tz) {
            self.parts.clear();
            self.last = None;
            self.tz = Some(tz);
        }
        let first = now.date_naive() - Days::new(DAYS as u64 + 1);
        // The sparkline window moves with the hour.
        let sources = (
            rollup::parts(state_dir, first, now.date_naive()),
            rollup::hour_of(now),
        );
        if let Some((s, stats)) = &self.last
            && *s == sources
        {
            return (stats.clone(), false);
        }
        let mut keep = HashMap::new();
        let mut open = Partial::default();
        for part in &sources.0 {
            if part.is_completed() {
                let summed = self
                    .parts
                    .remove(part)
                    .unwrap_or_else(|| Partial::of(part.read(), tz));
                keep.insert(part.clone(), summed);
            } else {
                open = Partial::of(part.read(), tz);
            }
        }
        for p in keep.values_mut() {
            p.forget(last_day_from(now));
        }
        self.parts = keep;
        let mut summed: Vec<&Partial> =
            sources.0.iter().filter_map(|p| self.parts.get(p)).collect();
        summed.push(&open);
        let stats = merge(&summed, now);
        let changed = self.last.as_ref().is_none_or(|(_, old)| **old != stats);
        let stats = std::sync::Arc::new(stats);
        self.last = Some((sources, stats.clone()));
        (stats, changed)
    }
}

fn merge(parts: &[&Partial], now: DateTime<Utc>) -> Stats {
    let spark_from = now - TimeDelta::hours(SPARK_HOURS);
    let day_from = last_day_from(now);
    let mut stats = Stats::default();
    for p in parts {
        for (c, hours) in &p.hours {
            for (_, h) in hours.iter().filter(|(at, _)| *at >= day_from && *at <= now) {
                let e = stats.last_day.entry(c.clone()).or_default();
                e.checks += h.checks;
                e.failures += h.failures;
                e.maintenance += h.maintenance;
            }
        }
        for (c, days) in &p.days {
            let into = stats.days.entry(c.clone()).or_default();
            for (date, d) in days {
                let e = into.entry(*date).or_default();
                e.checks += d.checks;
                e.failures += d.failures;
                e.maintenance += d.maintenance;
            }
        }
        for (c, at) in &p.latency {
            for (location, points) in at {
                let recent: Vec<_> = points
                    .iter()
                    .filter(|(h, _)| *h >= spark_from)
                    .copied()
                    .collect();
                if !recent.is_empty() {
                    stats
                        .latency
                        .entry(c.clone())
                        .or_default()
                        .entry(location.clone())
                        .or_default()
                        .extend(recent);
                }
            }
        }
    }
    for v in stats.latency.values_mut().flat_map(|at| at.values_mut()) {
        v.sort();
        v.dedup_by_key(|(h, _)| *h);
    }
    stats
}

/// Sum hourly rows into local days; keep recent hourly medians.
pub fn summarise(rows: Vec<HourRollup>, now: DateTime<Utc>, tz: Tz) -> Stats {
    merge(&[&Partial::of(rows, tz)], now)
}

/// One day of a bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub date: NaiveDate,
    /// CSS class: the worst status of the day, or `nodata`.
    pub class: &'static str,
    /// "22 Nov 2026: 99.95% uptime, 1 incident (INC-2026-1122-api)"
    pub label: String,
}

/// Consecutive days with the same class and label, drawn as that many cells.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub days: usize,
    pub class: &'static str,
    /// One-letter class for the bar (the page stays light with many components).
    pub short: &'static str,
    /// More than one day.
    pub many: bool,
    pub label: String,
}

fn short_class(class: &str) -> &'static str {
    match class {
        "operational" => "o",
        "degraded" => "d",
        "partial" => "p",
        "major" => "x",
        "maintenance" => "m",
        _ => "n",
    }
}

pub fn class_of(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "operational",
        ComponentStatus::DegradedPerformance => "degraded",
        ComponentStatus::PartialOutage => "partial",
        ComponentStatus::MajorOutage => "major",
        ComponentStatus::UnderMaintenance => "maintenance",
    }
}

/// The last 90 local days of a component, oldest first. `incidents` are the incidents
/// that touch it.
pub fn cells(
    component: &str,
    incidents: &[&Incident],
    view: &StatusView,
    stats: &Stats,
    now: DateTime<Utc>,
    tz: Tz,
) -> Vec<Cell> {
    let today = now.with_timezone(&tz).date_naive();
    let days = stats.days.get(component);
    (0..DAYS)
        .rev()
        .map(|back| {
            let date = today - Days::new(back as u64);
            let start = local_midnight(date, tz);
            let end = local_midnight(date + Days::new(1), tz).min(now);
            let worst = worst_status(component, incidents, view, start, end);
            let touching: Vec<&str> = incidents
                .iter()
                .filter(|i| i.opened_at < end && i.resolved_at.is_none_or(|r| r >= start))
                .map(|i| i.reference.as_str())
                .collect();
            let d = days.and_then(|d| d.get(&date)).copied().unwrap_or_default();
            let uptime = (d.counted() > 0).then(|| percent(d.up(), d.counted()));
            let class = match (uptime.is_some(), worst) {
                (false, ComponentStatus::Operational) => "nodata",
                (_, s) => class_of(s),
            };
            let mut label = format!("{}: ", date.format("%-d %b %Y"));
            // The status only when it was not plain operational; then the checks.
            let mut parts: Vec<String> = Vec::new();
            match (uptime.is_some(), worst) {
                (false, ComponentStatus::Operational) => parts.push("no data".into()),
                (_, ComponentStatus::Operational) => {}
                (_, s) => parts.push(s.label().to_lowercase()),
            }
            match &uptime {
                Some(u) if u == "100%" => parts.push("all checks passed".into()),
                Some(u) => parts.push(format!("{u} of checks passed")),
                None => {}
            }
            label.push_str(&parts.join("; "));
            match touching.len() {
                0 => {}
                1 => label.push_str(&format!("; 1 incident ({})", touching[0])),
                n => label.push_str(&format!("; {n} incidents ({})", touching.join(", "))),
            }
            Cell { date, class, label }
        })
        .collect()
}

/// Merge consecutive identical days (same class, same label apart from the date).
pub fn runs(cells: &[Cell]) -> Vec<Run> {
    let mut out: Vec<(Run, NaiveDate, NaiveDate, String)> = Vec::new();
    for c in cells {
        let rest = c.label.split_once(": ").map_or("", |(_, r)| r).to_owned();
        match out.last_mut() {
            Some((run, _, last, r))
                if run.class == c.class && *r == rest && !rest.contains("incident") =>
            {
                run.days += 1;
                *last = c.date;
            }
            _ => out.push((
                Run {
                    days: 1,
                    class: c.class,
                    short: short_class(c.class),
                    many: false,
                    label: c.label.clone(),
                },
                c.date,
                c.date,
                rest,
            )),
        }
    }
    out.into_iter()
        .map(|(mut run, first, last, rest)| {
            run.many = run.days > 1;
            if run.days > 1 {
                run.label = format!(
                    "{} to {}: {rest}",
                    first.format("%-d %b"),
                    last.format("%-d %b %Y")
                );
            }
            run
        })
        .collect()
}

/// Checks passed and counted over the last `days` local days (today included), or over
/// the last 24 hours when `days` is 0; None when nothing was checked.
pub fn passed(
    component: &str,
    stats: &Stats,
    now: DateTime<Utc>,
    tz: Tz,
    days: u64,
) -> Option<(u64, u64)> {
    let (up, counted) = if days == 0 {
        let d = stats.last_day.get(component)?;
        (u64::from(d.up()), u64::from(d.counted()))
    } else {
        let today = now.with_timezone(&tz).date_naive();
        let first = today - Days::new(days - 1);
        stats
            .days
            .get(component)?
            .range(first..=today)
            .map(|(_, d)| (u64::from(d.up()), u64::from(d.counted())))
            .fold((0, 0), |(u, c), (du, dc)| (u + du, c + dc))
    };
    (counted > 0).then_some((up, counted))
}

/// The median of the hourly median response times of the last 24 hours (every
/// location's), in ms.
pub fn typical_response_ms(component: &str, stats: &Stats, now: DateTime<Utc>) -> Option<u32> {
    let from = last_day_from(now);
    let mut v: Vec<u32> = stats
        .latency
        .get(component)?
        .values()
        .flatten()
        .filter(|(h, _)| *h >= from)
        .map(|(_, ms)| *ms)
        .collect();
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// A share of checks passed as people read it: "99.98%", never rounded up to 100%.
pub fn percent_text(up: u64, of: u64) -> String {
    percent_u64(up, of)
}

/// Share of checks passed over the last 90 local days that have data, as text ("99.98%",
/// never rounded up to 100%), and how many days had data; None when nothing was checked.
pub fn uptime(
    component: &str,
    stats: &Stats,
    now: DateTime<Utc>,
    tz: Tz,
) -> Option<(String, usize)> {
    let today = now.with_timezone(&tz).date_naive();
    let first = today - Days::new(DAYS as u64 - 1);
    let days = stats.days.get(component)?;
    let (mut up, mut counted, mut with_data) = (0u64, 0u64, 0usize);
    for d in days
        .range(first..=today)
        .map(|(_, d)| d)
        .filter(|d| d.counted() > 0)
    {
        up += u64::from(d.up());
        counted += u64::from(d.counted());
        with_data += 1;
    }
    (counted > 0).then(|| (percent_u64(up, counted), with_data))
}

fn percent(up: u32, of: u32) -> String {
    percent_u64(u64::from(up), u64::from(of))
}

/// Never rounds a failure up to 100%.
fn percent_u64(up: u64, of: u64) -> String {
    if up == of {
        return "100%".into();
    }
    let p = (up as f64 * 10_000.0 / of as f64).floor() / 100.0;
    format!("{p:.2}%")
}

fn local_midnight(date: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let naive = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(naive + TimeDelta::hours(1)))
                .earliest()
        })
        .map_or_else(|| Utc.from_utc_datetime(&naive), |d| d.with_timezone(&Utc))
}

/// The worst status a component showed between `start` and `end`.
pub fn worst_status(
    component: &str,
    incidents: &[&Incident],
    view: &StatusView,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> ComponentStatus {
    let mut worst = view.probe_status_at(component, start);
    if let Some(h) = view.history.get(component) {
        for (_, s) in h.iter().filter(|(t, _)| *t >= start && *t < end) {
            if s.severity() > worst.severity() {
                worst = *s;
            }
        }
    }
    for i in incidents.iter().filter(|i| !i.automatic) {
        if let Some(s) = i.components.get(component)
            && i.opened_at < end
            && i.resolved_at.is_none_or(|r| r > start)
            && s.severity() > worst.severity()
        {
            worst = *s;
        }
    }
    for m in view.maintenance.values().filter(|m| m.covers(component)) {
        if let Some(st) = m.started_at
            && st < end
            && m.completed_at.is_none_or(|c| c > start)
            && ComponentStatus::UnderMaintenance.severity() > worst.severity()
        {
            worst = ComponentStatus::UnderMaintenance;
        }
    }
    worst
}

#[cfg(test)]
mod tests;
