//! What `/metrics` tells an operator's Prometheus, in its text format: counters kept as
//! the daemon works, and gauges read from the status view and the outbox when scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::notify::outbox::{Outbox, State};
use crate::status::{ComponentStatus, StatusView};

/// Upper bounds of the probe latency buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Cumulative counts per bucket, then +Inf.
    counts: [u64; LATENCY_BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
pub struct Metrics {
    /// component → (probes run, probes that found it down)
    probes: BTreeMap<String, (u64, u64)>,
    latency: BTreeMap<String, Histogram>,
    /// (channel, outcome) → attempts
    deliveries: BTreeMap<(String, &'static str), u64>,
    site_builds: u64,
    journal_append_failures: u64,
    status_changes_dropped: u64,
    last_build: Option<Duration>,
}

impl Metrics {
    /// One sample; `latency` is None for a heartbeat's report, which has none.
    pub fn probe(&mut self, component: &str, latency: Option<Duration>, down: bool) {
        let p = self.probes.entry(component.to_owned()).or_default();
        p.0 += 1;
        p.1 += u64::from(down);
        let Some(latency) = latency else {
            return;
        };
        let h = self.latency.entry(component.to_owned()).or_default();
        let secs = latency.as_secs_f64();
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.sum += secs;
        h.count += 1;
    }

    /// One delivery attempt: `outcome` is delivered, failed, gone or rejected.
    pub fn delivery(&mut self, channel: &str, outcome: &'static str) {
        *self
            .deliveries
            .entry((channel.to_owned(), outcome))
            .or_default() += 1;
    }

    /// An append the journal refused (a full disk, an I/O error).
    pub fn journal_append_failed(&mut self) {
        self.journal_append_failures += 1;
    }

    /// A status change that found no room to wait for the journal.
    pub fn status_change_dropped(&mut self) {
        self.status_changes_dropped += 1;
    }

    pub fn site_built(&mut self, took: Duration) {
        self.site_builds += 1;
        self.last_build = Some(took);
    }

    /// The whole exposition.
    pub fn render(
        &self,
        config: &Config,
        view: &StatusView,
        outbox: &Outbox,
        now: DateTime<Utc>,
    ) -> String {
        let mut out = String::new();
        let mut lines = Vec::new();
        let n = family(
            &mut out,
            "forewarn_probes_total",
            "counter",
            "Probes run, per component.",
        );
        // /metrics is answered on the public front: components kept from customers are
        // left out of it.
        let shown = |c: &str| config.is_public(c);
        for (c, (runs, _)) in self.probes.iter().filter(|(c, _)| shown(c)) {
            lines.push(format!("{n}{{component=\"{}\"}} {runs}", label(c)));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_probe_failures_total",
            "counter",
            "Probes that found the component down, per component.",
        );
        for (c, (_, failed)) in self.probes.iter().filter(|(c, _)| shown(c)) {
            lines.push(format!("{n}{{component=\"{}\"}} {failed}", label(c)));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_probe_duration_seconds",
            "histogram",
            "How long probes took, per component.",
        );
        for (c, h) in self.latency.iter().filter(|(c, _)| shown(c)) {
            let c = label(c);
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                lines.push(format!(
                    "{n}_bucket{{component=\"{c}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                ));
            }
            lines.push(format!(
                "{n}_bucket{{component=\"{c}\",le=\"+Inf\"}} {}",
                h.count
            ));
            lines.push(format!("{n}_sum{{component=\"{c}\"}} {}", h.sum));
            lines.push(format!("{n}_count{{component=\"{c}\"}} {}", h.count));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_component_status",
            "gauge",
            "1 for each component's current status.",
        );
        for c in config.public_components() {
            let now_status = view.status_of(&c.id);
            for s in ComponentStatus::ALL {
                lines.push(format!(
                    "{n}{{component=\"{}\",status=\"{}\"}} {}",
                    label(&c.id),
                    s.as_str(),
                    u8::from(s == now_status)
                ));
            }
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_open_incidents",
            "gauge",
            "Incidents not resolved.",
        );
        let open = view
            .open_incidents()
            .filter(|i| i.components.is_empty() || i.components.keys().any(|c| shown(c)))
            .count();
        lines.push(format!("{n} {open}"));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_delivery_attempts_total",
            "counter",
            "Delivery attempts since start, per channel and outcome.",
        );
        for ((channel, outcome), count) in &self.deliveries {
            lines.push(format!(
                "{n}{{channel=\"{}\",outcome=\"{outcome}\"}} {count}",
                label(channel)
            ));
        }
        flush(&mut out, &mut lines);
        let owed = outbox.list();
        let n = family(
            &mut out,
            "forewarn_outbox_deliveries",
            "gauge",
            "Deliveries owed or given up on, per state.",
        );
        for state in [State::Pending, State::Failing, State::Dead] {
            let count = owed.iter().filter(|d| d.state == state).count();
            lines.push(format!("{n}{{state=\"{}\"}} {count}", state.as_str()));
        }
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_outbox_oldest_pending_seconds",
            "gauge",
            "Age of the oldest delivery still owed (0 when none).",
        );
        let oldest = owed
            .iter()
            .filter(|d| d.state != State::Dead)
            .map(|d| d.composed.at)
            .min()
            .map_or(0.0, |at| {
                (now - at).num_milliseconds().max(0) as f64 / 1000.0
            });
        lines.push(format!("{n} {oldest}"));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_site_build_seconds",
            "gauge",
            "How long the last status site build took.",
        );
        lines.push(format!(
            "{n} {}",
            self.last_build.map_or(0.0, |d| d.as_secs_f64())
        ));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_site_builds_total",
            "counter",
            "Status site builds since start.",
        );
        lines.push(format!("{n} {}", self.site_builds));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_journal_append_failures_total",
            "counter",
            "Appends the journal refused since start (a full disk, an I/O error).",
        );
        lines.push(format!("{n} {}", self.journal_append_failures));
        flush(&mut out, &mut lines);
        let n = family(
            &mut out,
            "forewarn_status_changes_dropped_total",
            "counter",
            "Status changes lost since start because too many waited for a journal that could not be written.",
        );
        lines.push(format!("{n} {}", self.status_changes_dropped));
        flush(&mut out, &mut lines);
        out
    }
}

/// The HELP and TYPE lines of a metric family; returns its name.
fn family(out: &mut String, name: &str, kind: &str, help: &str) -> String {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    name.to_owned()
}

fn flush(out: &mut String, lines: &mut Vec<String>) {
    for l in lines.drain(..) {
        out.push_str(&l);
        out.push('\n');
    }
}

/// A label value, escaped as the text format requires.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
