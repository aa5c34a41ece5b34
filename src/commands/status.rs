//! `forewarn status`: what the journal says now, without disturbing a running daemon.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::{CommandError, table};
use crate::config::Config;
use crate::journal::Journal;
use crate::notify::fold::Fold;
use crate::notify::outbox::State;
use crate::probe::Outcome;
use crate::rollup::{LastSample, last_samples};
use crate::status::StatusView;
use crate::vocab::Medium;

#[derive(Serialize)]
struct Report<'a> {
    view: &'a StatusView,
    /// References of the open incidents, the worst first, then the newest.
    open_incidents: Vec<&'a str>,
    last_samples: &'a BTreeMap<String, LastSample>,
}

pub fn run(config_path: &Path, state_dir: &Path, json: bool) -> Result<String, CommandError> {
    // The configuration adds names, order and time zone, and what is owed; the journal
    // alone still answers (but with [cluster] the journal is the cluster's).
    let config = Config::load(config_path).ok();
    let (records, torn_bytes) = match config.as_ref().filter(|c| c.cluster.is_some()) {
        Some(c) => (super::journal_records(c, state_dir)?, 0),
        None => {
            let replay = Journal::read(state_dir)?;
            (replay.records, replay.torn_bytes)
        }
    };
    let last = last_samples(state_dir);
    if json {
        let view = StatusView::from_records(&records);
        let text = serde_json::to_string_pretty(&Report {
            view: &view,
            open_incidents: view
                .open_by_severity()
                .iter()
                .map(|i| i.reference.as_str())
                .collect(),
            last_samples: &last,
        })
        .context("cannot encode the status")?;
        return Ok(text + "\n");
    }

    let fold = match &config {
        Some(c) => Fold::replay(c, &records),
        None => Fold::replay_without_deliveries(&records),
    };
    let view = &fold.view;
    let tz = config.as_ref().map_or(chrono_tz::UTC, |c| c.site.timezone);
    let mut ids: Vec<String> = config
        .as_ref()
        .map(|c| c.components.iter().map(|c| c.id.clone()).collect())
        .unwrap_or_default();
    for id in view.components.keys().chain(last.keys()) {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }

    let mut out = String::new();
    if torn_bytes > 0 {
        out.push_str("note: the journal ends with an incomplete write; the daemon removes it on its next start\n");
    }
    if ids.is_empty() {
        out.push_str("No components are known yet: nothing has been checked or recorded.\n");
        return Ok(out);
    }
    let rows: Vec<Vec<String>> = ids
        .iter()
        .map(|id| {
            let state = view.components.get(id);
            vec![
                id.clone(),
                view.status_of(id).as_str().to_owned(),
                state.map_or_else(|| "-".into(), |s| local(s.since, tz)),
                last.get(id).map_or_else(
                    || "never".into(),
                    |l| {
                        let seen = match &l.outcome {
                            Outcome::Up => format!("{} up {}ms", local(l.at, tz), l.latency_ms),
                            other => format!("{} {other}", local(l.at, tz)),
                        };
                        match &l.location {
                            Some(at) => format!("{seen} from {at}"),
                            None => seen,
                        }
                    },
                ),
            ]
        })
        .collect();
    out.push_str(&table::render(
        &["COMPONENT", "STATUS", "SINCE", "LAST CHECK"],
        &rows,
    ));

    let open = view.open_by_severity();
    if open.is_empty() {
        out.push_str("\nNo open incidents.\n");
    } else {
        out.push_str("\nOpen incidents:\n");
        for inc in open {
            out.push_str(&format!(
                "  {}  {}  ({}, impact {}, since {})\n",
                inc.reference,
                inc.title,
                inc.status(),
                inc.impact,
                local(inc.opened_at, tz)
            ));
            if let Some(u) = inc.latest_update() {
                out.push_str(&format!("      latest: {}\n", one_line(&u.message)));
            }
            if let Some(eta) = inc.eta() {
                out.push_str(&format!("      fix expected by {}\n", local(eta, tz)));
            }
        }
    }
    let maintenance: Vec<_> = view
        .maintenance
        .values()
        .filter(|m| !m.state.is_over())
        .collect();
    if !maintenance.is_empty() {
        out.push_str("\nMaintenance:\n");
        for m in maintenance {
            out.push_str(&format!(
                "  {}  {}  ({}, {} to {})\n",
                m.id,
                m.window.title,
                if m.is_active() {
                    "in progress"
                } else {
                    "scheduled"
                },
                local(m.window.starts_at, tz),
                local(m.window.ends_at, tz)
            ));
        }
    }
    if !view.upstreams.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = view
            .upstreams
            .values()
            .map(|u| {
                let mut detail: Vec<String> = u
                    .reading
                    .incidents
                    .iter()
                    .map(|i| i.title.clone())
                    .collect();
                if let Some(why) = &u.reason {
                    detail.push(why.clone());
                }
                vec![
                    u.id.clone(),
                    u.reading
                        .status
                        .map_or("unknown", |s| s.as_str())
                        .to_owned(),
                    local(u.since, tz),
                    detail.join("; "),
                ]
            })
            .collect();
        out.push_str(&table::render(
            &["UPSTREAM", "THEY REPORT", "SINCE", "DETAIL"],
            &rows,
        ));
    }
    out.push_str(&notifications(&fold, config.is_some()));
    Ok(out)
}

/// "Subscribers: 2 by email, 1 webhook. Deliveries owed: 0." (empty when nobody
/// subscribes and nothing is owed).
fn notifications(fold: &Fold, owed_known: bool) -> String {
    let audience = &fold.audience;
    let operators = audience
        .members
        .values()
        .filter(|m| m.record.is_operator())
        .count();
    let emails = audience
        .members
        .values()
        .filter(|m| m.record.channel == Medium::Email && !m.record.is_operator())
        .count();
    let hooks = audience.members.len() - emails - operators;
    let disabled = audience
        .members
        .values()
        .filter(|m| m.disabled.is_some())
        .count();
    let owed = owed_known.then(|| {
        let dead = fold
            .outbox
            .list()
            .iter()
            .filter(|d| d.state == State::Dead)
            .count();
        (fold.outbox.depth(), dead)
    });
    if audience.members.is_empty()
        && audience.pending.is_empty()
        && owed.is_none_or(|o| o == (0, 0))
    {
        return String::new();
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut line = format!(
        "\nSubscribers: {} by email, {}",
        emails,
        plural(hooks, "webhook", "webhooks")
    );
    if operators > 0 {
        line.push_str(&format!("; {}", plural(operators, "operator", "operators")));
    }
    if !audience.pending.is_empty() {
        line.push_str(&format!(
            " ({} awaiting confirmation)",
            plural(audience.pending.len(), "sign-up", "sign-ups")
        ));
    }
    if disabled > 0 {
        line.push_str(&format!("; {disabled} disabled"));
    }
    line.push('.');
    if let Some((pending, dead)) = owed {
        line.push_str(&format!(" Deliveries owed: {pending}"));
        if dead > 0 {
            line.push_str(&format!(", dead: {dead}"));
        }
        line.push_str(" (`forewarn outbox` lists them).");
    }
    line.push('\n');
    line
}

/// The first line of a message, shortened for a terminal.
fn one_line(text: &str) -> String {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim();
    if first.chars().count() > 100 {
        format!("{}…", first.chars().take(99).collect::<String>())
    } else {
        first.to_owned()
    }
}

fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}
