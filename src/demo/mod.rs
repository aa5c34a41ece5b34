//! `forewarn demo`: a pretend shop on 127.0.0.1 has an outage, a slowdown and planned
//! maintenance; the real monitor, with a real journal, detects and records them, an
//! operator follows up with the real `forewarn incident` commands, and the demo narrates.

mod customer;
mod script;
mod service;
mod tls;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{SecondsFormat, Utc};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::commands::incident::NewUpdate;
use crate::commands::maintenance::NewMaintenance;
use crate::commands::{self, CommandError};
use crate::config::Config;
use crate::journal::{Event, Record};
use crate::monitor::RunOptions;
use crate::vocab::IncidentStatus;
use script::Beat;
use service::STORY;

pub use script::WEBHOOK_SECRET_ENV;

/// A fresh `whsec_` secret for the demo's webhook receiver.
pub fn new_webhook_secret() -> String {
    use base64::Engine;
    let bytes: Vec<u8> = (0..24).map(|_| fastrand::u8(..)).collect();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Marks a directory as the demo's own, so the demo never clears anything else.
const MARKER: &str = ".forewarn-demo";

struct Demo<'a> {
    dir: &'a Path,
    speed: f64,
    started: Instant,
    /// The automatic incident opened for checkout, once it is.
    checkout_incident: Option<String>,
    /// The HTTP front's address.
    front: std::net::SocketAddr,
}

pub async fn run(
    dir: &Path,
    site_dir: &Path,
    speed: f64,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if !(0.5..=20.0).contains(&speed) {
        bail!("--speed must be between 0.5 and 20");
    }
    let state_dir = dir.join("state");
    prepare(dir)?;

    let stop_service = CancellationToken::new();
    let started = Instant::now();
    let secret = std::env::var(script::WEBHOOK_SECRET_ENV).with_context(|| {
        format!(
            "the demo's webhook receiver needs a whsec_ secret in {}",
            script::WEBHOOK_SECRET_ENV
        )
    })?;
    let (said_tx, mut said) = tokio::sync::mpsc::unbounded_channel();
    let hooks = service::Hooks {
        secret,
        said: said_tx,
    };
    let addr = service::start(speed, started, stop_service.clone(), hooks)
        .await
        .context("cannot start the demo service on 127.0.0.1")?;
    let ca_file = dir.join("website-ca.pem");
    let website = tls::start(&ca_file, stop_service.clone())
        .await
        .context("cannot start the demo website on 127.0.0.1")?;
    // The HTTP front on a free loopback port (bound, read, released a moment before).
    let front = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("cannot find a free port on 127.0.0.1 for the status site")?;
    let config_path = dir.join("forewarn.toml");
    std::fs::write(
        &config_path,
        script::config(addr, website, &ca_file, speed, front),
    )
    .with_context(|| format!("cannot write {}", config_path.display()))?;
    let subscribers_path = dir.join(crate::config::subscribers::SUBSCRIBERS_FILE);
    std::fs::write(&subscribers_path, script::subscribers(addr))
        .with_context(|| format!("cannot write {}", subscribers_path.display()))?;
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
    let daemon = tokio::spawn(commands::run::daemon(
        RunOptions {
            config_path: config_path.clone(),
            state_dir: state_dir.clone(),
            out_dir: Some(site_dir.to_owned()),
            node: None,
        },
        None,
        config,
        shutdown.clone(),
        Some(tx),
    ));

    writeln!(
        out,
        "forewarn demo: a pretend shop runs on http://{addr}/ (api, checkout, search, database and a payment gateway), its website on https://{website}/ with a certificate that expires in {} days, and its payment provider's status page on http://{addr}/provider/ (checkout depends on it).",
        tls::DAYS_LEFT
    )?;
    writeln!(
        out,
        "forewarn probes it every 2 seconds (demo time), records what it confirms, and an operator follows up."
    )?;
    writeln!(
        out,
        "Configuration: {}   Journal: {}",
        config_path.display(),
        state_dir.join("journal.jsonl").display()
    )?;
    writeln!(
        out,
        "Status site: http://{front}/ while the demo runs, and {} (rebuilt as things happen; open it in a browser and reload)",
        site_dir.join("index.html").display()
    )?;
    writeln!(
        out,
        "Subscribers ({}): ops@ and finance@demo-shop.test by email (written as .eml files to {}), a partner's system by signed webhook, and oncall@demo-shop.test, the only one told of operator alerts.",
        subscribers_path.display(),
        state_dir.join(crate::notify::send::MAIL_DIR).display()
    )?;
    if speed != 1.0 {
        writeln!(out, "Playing {speed}x faster; times below are demo time.")?;
    }
    writeln!(out)?;

    let mut demo = Demo {
        dir,
        speed,
        started,
        checkout_incident: None,
        front,
    };
    let mut beats = script::beats().into_iter().peekable();
    let end = demo.at(STORY.ends);
    loop {
        let next_beat = beats.peek().map_or(end, |(t, _)| demo.at(*t));
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep_until(end) => break,
            _ = tokio::time::sleep_until(next_beat), if beats.peek().is_some() => {
                if let Some((_, beat)) = beats.next() {
                    let line = match beat {
                        Beat::SignUp | Beat::Confirm => customer::act(demo.front, &state_dir, beat).await,
                        _ => demo.play(beat),
                    };
                    writeln!(out, "{} {line}", demo.stamp())?;
                }
            }
            Some(line) = said.recv() => writeln!(out, "{} {line}", demo.stamp())?,
            r = rx.recv() => match r {
                Ok(record)
                    if record.event.is_bookkeeping()
                        && !matches!(record.event, Event::OperatorAlert { .. }) =>
                {
                    if let Some(line) = delivery_line(&record.event, &state_dir) {
                        writeln!(out, "{} {line}", demo.stamp())?;
                    }
                }
                Ok(record) => {
                    if let Event::IncidentOpened { reference, components, .. } = &record.event
                        && components.contains_key("checkout")
                    {
                        demo.checkout_incident = Some(reference.clone());
                    }
                    writeln!(out, "{} {}", demo.stamp(), describe(&record.event, &name_of))?;
                }
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
    let summary = commands::status::run(&config_path, &state_dir, false).map_err(flatten)?;
    write!(out, "{summary}")?;
    writeln!(
        out,
        "\nEvery line above is an event in {}; the operator's words are in {}.\nThe status site is in {}. Run the demo again to start afresh.",
        state_dir.join("journal.jsonl").display(),
        dir.join("incidents").display(),
        site_dir.join("index.html").display()
    )?;
    Ok(())
}

fn flatten(e: CommandError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl Demo<'_> {
    /// The real moment of a demo second.
    fn at(&self, demo_secs: f64) -> Instant {
        self.started + Duration::from_secs_f64(demo_secs / self.speed)
    }

    fn stamp(&self) -> String {
        let s = self.started.elapsed().as_secs_f64() * self.speed;
        format!("[{:02}:{:02}]", (s / 60.0) as u64, (s % 60.0) as u64)
    }

    /// A wall-clock time `demo_secs` from the start, as the CLI accepts it.
    fn wall(&self, demo_secs: f64) -> String {
        let real =
            Duration::from_secs_f64(demo_secs / self.speed).saturating_sub(self.started.elapsed());
        (Utc::now() + chrono::TimeDelta::from_std(real).unwrap_or_default())
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Do a beat; the line to print.
    fn play(&mut self, beat: Beat) -> String {
        let config = self.dir.join("forewarn.toml");
        let state = self.dir.join("state");
        let result = match beat {
            Beat::Say(text) => return text.to_owned(),
            Beat::SignUp | Beat::Confirm => return String::new(), // the customer's, not the operator's
            Beat::AnnounceMaintenance => commands::maintenance::new(
                &config,
                &state,
                NewMaintenance {
                    title: "Database upgrade".into(),
                    components: vec!["database".into()],
                    start: self.wall(STORY.maintenance.0),
                    end: self.wall(STORY.maintenance.1),
                    message: script::MAINTENANCE_MESSAGE.into(),
                    remind_before: vec![format!("{}ms", (20_000.0 / self.speed).round() as u64)],
                    id: Some("db-upgrade".into()),
                },
            )
            .map(|_| "(operator) forewarn maintenance new --title \"Database upgrade\" --component database ...".to_owned()),
            Beat::Identified | Beat::Monitoring | Beat::Resolve => {
                let Some(reference) = self.checkout_incident.clone() else {
                    return "(operator) there is no checkout incident to update".into();
                };
                let (status, message, verb) = match beat {
                    Beat::Identified => (IncidentStatus::Identified, script::IDENTIFIED, "update --status identified"),
                    Beat::Monitoring => (IncidentStatus::Monitoring, script::MONITORING, "update --status monitoring"),
                    _ => (IncidentStatus::Resolved, script::RESOLVED, "resolve --apology ... --credit ..."),
                };
                let resolving = status == IncidentStatus::Resolved;
                commands::incident::update(
                    &config,
                    &state,
                    &reference,
                    NewUpdate {
                        status,
                        message: message.into(),
                        eta: (beat == Beat::Identified).then(|| self.wall(STORY.checkout_fails.1 + 10.0)),
                        next_update: None,
                        notify: true,
                        apology: resolving.then(|| script::APOLOGY.into()),
                        credit: resolving.then(|| script::CREDIT.into()),
                    },
                )
                .map(|_| format!("(operator) forewarn incident {verb} {reference}"))
            }
        };
        result.unwrap_or_else(|e| format!("(operator) the command failed: {e}"))
    }
}

/// Words for one event, as the demo prints it.
fn describe(event: &Event, name_of: &dyn Fn(&str) -> String) -> String {
    let said = |u: &Option<crate::journal::IncidentUpdate>| {
        u.as_ref()
            .map(|u| format!("\n        customers read: \"{}\"", u.message))
            .unwrap_or_default()
    };
    match event {
        Event::ComponentStatusChanged {
            component,
            from,
            to,
            reason,
            ..
        } => format!(
            "{}: {} -> {} ({reason})",
            name_of(component),
            from.label().to_lowercase(),
            to.label().to_lowercase()
        ),
        Event::IncidentOpened {
            reference,
            title,
            impact,
            update,
            ..
        } => {
            format!(
                "incident {reference} opened: \"{title}\", impact {impact}{}",
                said(update)
            )
        }
        Event::IncidentUpdated {
            reference, update, ..
        } => format!(
            "incident {reference} is now {}{}",
            update.status,
            said(&Some(update.clone()))
        ),
        Event::IncidentUpdateEdited { reference, .. } => {
            format!("incident {reference}: an update was corrected")
        }
        Event::IncidentChanged {
            reference, title, ..
        } => format!("incident {reference} now reads \"{title}\""),
        Event::IncidentResolved {
            reference, update, ..
        } => {
            let extra = update
                .as_ref()
                .map(|u| {
                    [u.apology.as_deref(), u.credit.as_deref()]
                        .into_iter()
                        .flatten()
                        .map(|s| format!("\n        customers read: \"{s}\""))
                        .collect::<String>()
                })
                .unwrap_or_default();
            format!("incident {reference} resolved{}{extra}", said(update))
        }
        Event::MaintenanceScheduled { window, .. } => {
            format!("maintenance \"{}\" announced", window.title)
        }
        Event::MaintenanceChanged { window, .. } => {
            format!("maintenance \"{}\" changed", window.title)
        }
        Event::MaintenanceReminder { id, .. } => {
            format!("maintenance {id}: reminder sent before it starts")
        }
        Event::MaintenanceStarted { id } => format!(
            "maintenance {id} started: its components show \"under maintenance\", and failures open no incident"
        ),
        Event::MaintenanceCompleted { id } => format!("maintenance {id} completed"),
        Event::MaintenanceCancelled { id } => format!("maintenance {id} cancelled"),
        Event::UpstreamChanged {
            name,
            reading,
            reason,
            ..
        } => match (reading.worst(), reading.incidents.first()) {
            (None, _) => format!(
                "{name}'s status page cannot be read ({}): shown as unknown, never as an outage",
                reason.as_deref().unwrap_or("no reason given")
            ),
            (Some(s), Some(i)) => format!(
                "{name}'s status page reports {}: \"{}\"",
                crate::present::text::vendor_trouble(s),
                i.title
            ),
            (Some(s), None) if s.is_operational() => {
                format!("{name}'s status page reports all is well")
            }
            (Some(s), None) => format!(
                "{name}'s status page reports {}",
                crate::present::text::vendor_trouble(s)
            ),
        },
        Event::OperatorAlert { message, .. } => {
            format!("operators alerted (customers are not told):\n        \"{message}\"")
        }
        other => other.kind().to_owned(),
    }
}

/// What the demo says about a delivery: emails by their recipient and subject.
fn delivery_line(event: &Event, state_dir: &Path) -> Option<String> {
    match event {
        Event::DeliverySucceeded { id, .. } => {
            let path = state_dir
                .join(crate::notify::send::MAIL_DIR)
                .join(format!("{id}.eml"));
            let text = std::fs::read_to_string(&path).ok()?;
            let header = |name: &str| {
                let mut lines = text.split("\r\n").skip_while(|l| !l.starts_with(name));
                let first = lines.next()?.trim_start_matches(name).trim().to_owned();
                let rest: Vec<&str> = lines.take_while(|l| l.starts_with([' ', '\t'])).collect();
                Some(
                    rest.iter()
                        .fold(first, |acc, l| format!("{acc} {}", l.trim())),
                )
            };
            Some(format!(
                "email to {}: \"{}\" ({})",
                header("To:")?,
                header("Subject:")?,
                path.display()
            ))
        }
        Event::DeliveryFailed { id, error, .. } => Some(format!(
            "delivery {id} failed ({error}); it will be retried"
        )),
        _ => None,
    }
}

/// Create the demo directory, or clear what a previous demo run left in it.
fn prepare(dir: &Path) -> anyhow::Result<()> {
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
    for sub in ["state", "incidents", "maintenance"] {
        let p = dir.join(sub);
        if p.exists() {
            std::fs::remove_dir_all(&p).with_context(|| format!("cannot clear {}", p.display()))?;
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(
        &marker,
        "This folder belongs to `forewarn demo`; it is cleared on every demo run.\n",
    )
    .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(())
}
