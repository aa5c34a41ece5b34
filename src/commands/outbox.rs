//! `forewarn outbox`: the deliveries still owed (pending, failing) and given up on
//! (dead), read from the journal without disturbing a running daemon; and
//! `forewarn outbox retry ID` to send a dead one again.

use std::path::Path;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{CommandError, load_config, table};
use crate::journal::{Event, Journal, JournalError};
use crate::notify::fold::Fold;
use crate::notify::outbox::State;
use crate::notify::requests;

#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    state: &'static str,
    subscriber: &'a str,
    channel: &'a str,
    notice: String,
    attempts: u32,
    next_at: Option<DateTime<Utc>>,
    last_error: Option<&'a str>,
}

#[derive(Serialize)]
struct Disabled<'a> {
    subscriber: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct Report<'a> {
    deliveries: Vec<Row<'a>>,
    disabled: Vec<Disabled<'a>>,
}

fn replay(config_path: &Path, state_dir: &Path) -> Result<Fold, CommandError> {
    let config = load_config(config_path)?;
    let records = super::journal_records(&config, state_dir)?;
    Ok(Fold::replay(&config, &records))
}

/// `forewarn outbox …`
#[derive(clap::Subcommand)]
pub enum OutboxAction {
    /// Send dead deliveries again.
    Retry {
        /// Delivery ids (msg_...), as `forewarn outbox` lists them.
        #[arg(required_unless_present = "all")]
        ids: Vec<String>,
        /// Every dead delivery.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub fn list(config_path: &Path, state_dir: &Path, json: bool) -> Result<String, CommandError> {
    let r = replay(config_path, state_dir)?;
    let rows: Vec<Row<'_>> = r
        .outbox
        .list()
        .into_iter()
        .map(|d| {
            let member = r.audience.members.get(&d.subscriber);
            Row {
                id: &d.id,
                state: d.state.as_str(),
                subscriber: member.map_or(d.subscriber.as_str(), |m| m.record.address.as_str()),
                channel: member.map_or("", |m| m.record.reached_by().as_str()),
                notice: d.composed.summary(),
                attempts: d.attempts,
                next_at: (d.state != State::Dead).then_some(d.next_at),
                last_error: d.last_error.as_deref(),
            }
        })
        .collect();
    let disabled: Vec<Disabled<'_>> = r
        .audience
        .members
        .values()
        .filter_map(|m| {
            m.disabled.as_deref().map(|reason| Disabled {
                subscriber: &m.record.address,
                reason,
            })
        })
        .collect();
    if json {
        let text = serde_json::to_string_pretty(&Report {
            deliveries: rows,
            disabled,
        })
        .context("cannot encode the outbox")?;
        return Ok(text + "\n");
    }
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("Nothing owed: every notice has been delivered.\n");
    } else {
        let cells: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.id.to_owned(),
                    r.state.to_owned(),
                    r.attempts.to_string(),
                    r.next_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "-".into()),
                    format!("{} ({})", r.subscriber, r.channel),
                    r.notice.clone(),
                    r.last_error.unwrap_or("").to_owned(),
                ]
            })
            .collect();
        out.push_str(&table::render(
            &[
                "DELIVERY",
                "STATE",
                "ATTEMPTS",
                "NEXT ATTEMPT",
                "SUBSCRIBER",
                "NOTICE",
                "LAST ERROR",
            ],
            &cells,
        ));
        let dead = rows.iter().filter(|r| r.state == "dead").count();
        if dead > 0 {
            out.push_str(&format!(
                "\n{dead} dead: send one again with `forewarn outbox retry ID`.\n"
            ));
        }
    }
    for d in &disabled {
        out.push_str(&format!(
            "Disabled: {} ({}). Change or re-add its entry in subscribers.toml to enable it again.\n",
            d.subscriber, d.reason
        ));
    }
    Ok(out)
}

/// Re-queue dead deliveries (`ids`), or every dead one with `all`.
pub fn retry(
    config_path: &Path,
    state_dir: &Path,
    ids: &[String],
    all: bool,
) -> Result<String, CommandError> {
    let r = replay(config_path, state_dir)?;
    let dead: Vec<&str> = r
        .outbox
        .list()
        .into_iter()
        .filter(|d| d.state == State::Dead)
        .map(|d| d.id.as_str())
        .collect();
    let chosen: Vec<String> = if all {
        dead.iter().map(|s| s.to_string()).collect()
    } else {
        for id in ids {
            if !dead.contains(&id.as_str()) {
                let why = match r.outbox.get(id) {
                    Some(d) => format!("it is {}, not dead", d.state.as_str()),
                    None => "there is no such delivery owed".to_owned(),
                };
                return Err(anyhow!(
                    "cannot retry {id}: {why} (`forewarn outbox` lists the deliveries)"
                )
                .into());
            }
        }
        ids.to_vec()
    };
    if chosen.is_empty() {
        return Ok("No dead deliveries to retry.\n".into());
    }
    match Journal::open(state_dir) {
        Ok((mut journal, _)) => {
            let now = Utc::now();
            journal
                .append(
                    chosen
                        .iter()
                        .map(|id| (now, Event::DeliveryRetried { id: id.clone() }))
                        .collect(),
                )
                .context("cannot record the retry")?;
            Ok(format!(
                "{} deliver{} queued again; `forewarn run` sends {} when it starts.\n",
                chosen.len(),
                if chosen.len() == 1 { "y" } else { "ies" },
                if chosen.len() == 1 { "it" } else { "them" }
            ))
        }
        Err(JournalError::Locked { .. }) => {
            for id in &chosen {
                requests::request_retry(state_dir, id)?;
            }
            Ok(format!(
                "{} deliver{} handed to the running daemon, which sends {} within a few seconds.\n",
                chosen.len(),
                if chosen.len() == 1 { "y" } else { "ies" },
                if chosen.len() == 1 { "it" } else { "them" }
            ))
        }
        Err(e) => Err(e.into()),
    }
}
