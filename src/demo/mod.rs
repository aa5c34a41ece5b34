//! `forewarn demo`: a pretend service on 127.0.0.1 has an outage and a slowdown; the real
//! monitor, with a real journal, detects and records both, and the demo narrates.

mod service;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::commands;
use crate::config::Config;
use crate::journal::{Event, Record};
use crate::monitor::{self, RunOptions};
use service::STORY;

/// Marks a directory as the demo's own, so the demo never clears anything else.
const MARKER: &str = ".forewarn-demo";

pub async fn run(dir: &Path, speed: f64, out: &mut dyn Write) -> anyhow::Result<()> {
    if !(0.5..=20.0).contains(&speed) {
        bail!("--speed must be between 0.5 and 20");
    }
    let state_dir = dir.join("state");
    prepare(dir, &state_dir)?;

    let stop_service = CancellationToken::new();
    let started = Instant::now();
    let addr = service::start(speed, started, stop_service.clone())
        .await
        .context("cannot start the demo service on 127.0.0.1")?;
    let config_path = dir.join("forewarn.toml");
    std::fs::write(&config_path, demo_config(addr, speed))
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let config = Config::load(&config_path)
        .map_err(|e| anyhow::anyhow!("the demo configuration is invalid: {e}"))?;
    let names: Vec<(String, String)> = config
        .components
        .iter()
        .map(|c| (c.id.clone(), c.name.clone()))
        .collect();
    let name_of = |id: &str| {
        names
            .iter()
            .find(|(i, _)| i == id)
            .map_or(id.to_owned(), |(_, n)| n.clone())
    };

    let shutdown = CancellationToken::new();
    commands::run::spawn_shutdown_on_signal(shutdown.clone())?;
    let (tx, mut rx) = broadcast::channel::<Record>(1024);
    let daemon = tokio::spawn(monitor::run(
        RunOptions {
            config_path: config_path.clone(),
            state_dir: state_dir.clone(),
        },
        config,
        shutdown.clone(),
        Some(tx),
    ));

    let secs = |s: f64| Duration::from_secs_f64(s / speed);
    writeln!(
        out,
        "forewarn demo: a pretend shop runs on http://{addr}/ with three endpoints (api, checkout, search)"
    )?;
    writeln!(
        out,
        "and a database port. forewarn probes them every 2 seconds (demo time) and records what it confirms."
    )?;
    writeln!(
        out,
        "Configuration: {}   Journal: {}",
        config_path.display(),
        state_dir.join("journal.jsonl").display()
    )?;
    if speed != 1.0 {
        writeln!(out, "Playing {speed}x faster; times below are demo time.")?;
    }
    writeln!(out)?;

    let mut beats = vec![
        (
            STORY.checkout_fails.0,
            "(demo service) checkout starts answering HTTP 503",
        ),
        (STORY.search_slow.0, "(demo service) search becomes slow"),
        (STORY.search_slow.1, "(demo service) search is fast again"),
        (
            STORY.checkout_fails.1,
            "(demo service) checkout is repaired",
        ),
    ];
    beats.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut beats = beats.into_iter().peekable();
    let stamp = |at: Instant| {
        let s = (at - started).as_secs_f64() * speed;
        format!("[{:02}:{:02}]", (s / 60.0) as u64, (s % 60.0) as u64)
    };
    let end = started + secs(STORY.ends);
    loop {
        let next_beat = beats.peek().map_or(end, |(t, _)| started + secs(*t));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(end) => break,
            _ = tokio::time::sleep_until(next_beat), if beats.peek().is_some() => {
                if let Some((_, text)) = beats.next() {
                    writeln!(out, "{} {text}", stamp(Instant::now()))?;
                }
            }
            r = rx.recv() => match r {
                Ok(record) => writeln!(out, "{} {}", stamp(Instant::now()), describe(&record.event, &name_of))?,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
        out.flush()?;
    }
    shutdown.cancel();
    daemon.await.context("the monitor task failed")??;
    stop_service.cancel();

    writeln!(
        out,
        "\nWhat the journal says now (`forewarn status --config {} --state {}`):\n",
        config_path.display(),
        state_dir.display()
    )?;
    let summary = commands::status::run(&config_path, &state_dir, false)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    write!(out, "{summary}")?;
    writeln!(
        out,
        "\nEvery line above is an event in {}; run the demo again to start afresh.",
        state_dir.join("journal.jsonl").display()
    )?;
    Ok(())
}

/// Words for one event, as the demo prints it.
fn describe(event: &Event, name_of: &dyn Fn(&str) -> String) -> String {
    match event {
        Event::ComponentStatusChanged {
            component,
            from,
            to,
            reason,
            ..
        } => {
            format!(
                "{}: {} -> {} ({reason})",
                name_of(component),
                from.label().to_lowercase(),
                to.label().to_lowercase()
            )
        }
        Event::IncidentOpened {
            reference,
            title,
            impact,
            update,
            ..
        } => {
            let said = update
                .as_ref()
                .map(|u| format!("\n        customers read: \"{}\"", u.message))
                .unwrap_or_default();
            format!("incident {reference} opened: \"{title}\", impact {impact}{said}")
        }
        Event::IncidentUpdated {
            reference, update, ..
        } => {
            format!(
                "incident {reference} {}: \"{}\"",
                update.status.label().to_lowercase(),
                update.message
            )
        }
        Event::IncidentUpdateEdited { reference, .. } => {
            format!("incident {reference}: an update was corrected")
        }
        Event::IncidentChanged {
            reference, title, ..
        } => format!("incident {reference} now reads \"{title}\""),
        Event::IncidentResolved {
            reference,
            duration_secs,
            update,
            ..
        } => {
            let said = update
                .as_ref()
                .map(|u| format!("\n        customers read: \"{}\"", u.message))
                .unwrap_or_default();
            format!(
                "incident {reference} resolved after {}{said}",
                crate::probe::short_duration(Duration::from_secs(*duration_secs))
            )
        }
        Event::MaintenanceScheduled { window, .. } => {
            format!("maintenance \"{}\" scheduled", window.title)
        }
        Event::MaintenanceChanged { window, .. } => {
            format!("maintenance \"{}\" changed", window.title)
        }
        Event::MaintenanceReminder { id, before_secs } => {
            format!(
                "maintenance {id}: reminder, {} before it starts",
                crate::probe::short_duration(Duration::from_secs(*before_secs))
            )
        }
        Event::MaintenanceStarted { id } => format!("maintenance {id} started"),
        Event::MaintenanceCompleted { id } => format!("maintenance {id} completed"),
        Event::MaintenanceCancelled { id } => format!("maintenance {id} cancelled"),
    }
}

/// Create the demo directory, or clear the state of a previous demo run in it.
fn prepare(dir: &Path, state_dir: &Path) -> anyhow::Result<()> {
    let marker = dir.join(MARKER);
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !marker.exists() && !empty {
            bail!(
                "{} exists and was not made by forewarn demo; choose another folder with --dir",
                dir.display()
            );
        }
    }
    if state_dir.exists() {
        std::fs::remove_dir_all(state_dir)
            .with_context(|| format!("cannot clear {}", state_dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        &marker,
        "This folder belongs to `forewarn demo`; it is cleared on every demo run.\n",
    )
    .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}

fn demo_config(addr: std::net::SocketAddr, speed: f64) -> String {
    let ms = |s: f64| format!("{}ms", (s * 1000.0 / speed).round() as u64);
    let every = ms(2.0);
    let timeout = ms(1.8);
    let threshold = ms(0.8);
    format!(
        r#"# Written by `forewarn demo`; it is rewritten on every demo run.
[site]
title = "Demo Shop Status"
base_url = "https://status.demo-shop.test"
timezone = "UTC"

[site.contact]
email = "support@demo-shop.test"
phone = "+1 555 0100"
hours = "Every day, 08:00 to 20:00 UTC"

[[component]]
id = "api"
name = "Public API"
group = "Shop"

[component.check]
kind = "http"
url = "http://{addr}/api/health"
json = {{ "/status" = "ok" }}
every = "{every}"
timeout = "{timeout}"

[[component]]
id = "checkout"
name = "Checkout"
group = "Shop"

[component.check]
kind = "http"
url = "http://{addr}/checkout/health"
body_contains = "ok"
every = "{every}"
timeout = "{timeout}"
severity = "major_outage"

[[component]]
id = "search"
name = "Search"
group = "Shop"

[component.check]
kind = "http"
url = "http://{addr}/search/health"
latency_threshold = "{threshold}"
every = "{every}"
timeout = "{timeout}"

[[component]]
id = "database"
name = "Database"
group = "Infrastructure"

[component.check]
kind = "tcp"
address = "{addr}"
every = "{every}"
timeout = "{timeout}"
"#
    )
}
