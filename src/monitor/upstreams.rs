//! Following the vendors' status pages (`[[upstream]]`): one task per page reads it at
//! its pace (`upstream::polite`) and reports each read; [`Watches::read`] decides what
//! a read means for the journal (pure): a change of what they report is recorded whole
//! (`upstream.changed`); a page that cannot be read becomes unknown after
//! [`UNKNOWN_AFTER`] failed reads in a row, never an outage of theirs; operators hear
//! when trouble begins, when a followed name is not on the page, and when the page has
//! been unreadable for [`UNREADABLE_ALERT_AFTER`].

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, Upstream};
use crate::journal::Event;
use crate::notify::notice::local_time;
use crate::present::text::vendor_report;
use crate::status::{ComponentStatus, StatusView};
use crate::upstream::{
    Followed, PageError, PageReader, REQUEST_TIMEOUT, VendorReading, follow, polite,
};

/// Failed reads in a row before a page is recorded as unknown.
pub const UNKNOWN_AFTER: u32 = 3;
/// How long a page may stay unreadable before operators are told.
pub const UNREADABLE_ALERT_AFTER: TimeDelta = TimeDelta::minutes(15);
/// How long "unreadable" and "not on their page" alerts stay quiet.
pub const UPSTREAM_QUIET: TimeDelta = TimeDelta::hours(6);

/// One read of one page, from its task.
#[derive(Debug)]
pub struct Read {
    pub upstream: String,
    pub generation: u64,
    pub at: DateTime<Utc>,
    pub result: Result<Followed, PageError>,
}

/// The tasks reading the pages of one configuration.
pub struct Followers {
    cancel: CancellationToken,
    tasks: JoinSet<()>,
    /// What they were started for: the same upstreams and site need no restart.
    pub started_for: (Vec<Upstream>, String),
}

impl Followers {
    pub fn start(config: &Config, generation: u64, tx: mpsc::Sender<Read>) -> Followers {
        let cancel = CancellationToken::new();
        let mut tasks = JoinSet::new();
        for up in &config.upstreams {
            let reader = match PageReader::new(
                Some(&config.site.base_url),
                up.kind,
                REQUEST_TIMEOUT,
            ) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(upstream = %up.id, error = %e, "cannot follow a vendor's page");
                    continue;
                }
            };
            tasks.spawn(run(
                up.clone(),
                reader,
                generation,
                tx.clone(),
                cancel.clone(),
            ));
        }
        Followers {
            cancel,
            tasks,
            started_for: key(config),
        }
    }

    /// Would `config` follow the same pages the same way?
    pub fn same_for(&self, config: &Config) -> bool {
        self.started_for == key(config)
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }
}

fn key(config: &Config) -> (Vec<Upstream>, String) {
    (config.upstreams.clone(), config.site.base_url.to_string())
}

async fn run(
    up: Upstream,
    mut reader: PageReader,
    generation: u64,
    tx: mpsc::Sender<Read>,
    cancel: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = reader.read(&up.page, Utc::now()) => r,
        };
        let wait = match &result {
            Ok(_) => {
                failures = 0;
                polite::next_wait(up.every, 0, None)
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                polite::next_wait(up.every, failures, Some(e))
            }
        };
        let read = Read {
            upstream: up.id.clone(),
            generation,
            at: Utc::now(),
            result: result.map(|f| follow(&up, &f.page)),
        };
        if tx.send(read).await.is_err() {
            return;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Failed reads in a row, per page, kept by the daemon between reads.
#[derive(Debug, Default)]
pub struct Watches {
    failing: HashMap<String, (u32, DateTime<Utc>)>,
}

/// What one read asks of the daemon.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    /// Record these (an `upstream.changed`).
    pub events: Vec<(DateTime<Utc>, Event)>,
    /// Tell operators these, each with its key and quiet time.
    pub alerts: Vec<(String, Event, TimeDelta)>,
}

impl Watches {
    /// What a read of `upstream`'s page means, given the view.
    pub fn read(
        &mut self,
        config: &Config,
        view: &StatusView,
        upstream: &Upstream,
        at: DateTime<Utc>,
        result: Result<Followed, PageError>,
    ) -> Outcome {
        let before = view.upstream(&upstream.id);
        let affects: Vec<String> = config
            .dependents_of(&upstream.id)
            .map(|c| c.id.clone())
            .collect();
        let mut out = Outcome::default();
        let (reading, reason) = match result {
            Ok(followed) => {
                self.failing.remove(&upstream.id);
                if !followed.missing.is_empty() {
                    out.alerts.push(missing(upstream, &followed));
                }
                if !followed.ambiguous.is_empty() {
                    out.alerts.push(ambiguous(upstream, &followed));
                }
                let reason = followed
                    .reading
                    .status
                    .is_none()
                    .then(|| "none of the components followed is on their page".to_owned());
                (followed.reading, reason)
            }
            Err(e) => {
                let (n, since) = self
                    .failing
                    .entry(upstream.id.clone())
                    .and_modify(|(n, _)| *n += 1)
                    .or_insert((1, at));
                if *n >= UNKNOWN_AFTER && at - *since >= UNREADABLE_ALERT_AFTER {
                    out.alerts.push(unreadable(config, upstream, *since, &e));
                }
                let known = before.is_some_and(|b| b.reading.status.is_some());
                if *n < UNKNOWN_AFTER || (before.is_some() && !known) {
                    return out;
                }
                (VendorReading::default(), Some(e.to_string()))
            }
        };
        let same = before.is_some_and(|b| {
            b.reading == reading
                && b.affects == affects
                && b.name == upstream.name
                && b.page == upstream.page.as_str()
                && b.notify_customers == upstream.notify_customers
        });
        if same {
            return out;
        }
        let begins = reading.in_trouble() && !before.is_some_and(|b| b.in_trouble());
        let ends = reading.is_fine() && before.is_some_and(|b| b.in_trouble());
        if begins {
            out.alerts
                .push(trouble(config, view, upstream, &reading, &affects, at));
        }
        let updates = cause_updates(config, view, upstream, &reading, &affects, begins, ends, at);
        out.events.push((
            at,
            Event::UpstreamChanged {
                upstream: upstream.id.clone(),
                name: upstream.name.clone(),
                page: upstream.page.to_string(),
                reading,
                affects,
                notify_customers: upstream.notify_customers,
                reason,
            },
        ));
        out.events.extend(updates);
        out
    }
}

/// An open automatic incident of a component that depends on `upstream` says, in an
/// update of its own, that the vendor's trouble is the likely cause when it begins,
/// and when they report it fixed. (The notices of every later update name the vendor
/// too; declared incidents are the operator's words, so they only get that line.)
#[allow(clippy::too_many_arguments)]
fn cause_updates(
    config: &Config,
    view: &StatusView,
    upstream: &Upstream,
    reading: &VendorReading,
    affects: &[String],
    begins: bool,
    ends: bool,
    at: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, Event)> {
    if !begins && !ends {
        return Vec::new();
    }
    let mut out = Vec::new();
    for incident in view.open_incidents().filter(|i| i.automatic) {
        let ours: Vec<&str> = incident
            .components
            .keys()
            .filter(|c| affects.contains(c))
            .filter_map(|c| config.component(c))
            .map(|c| c.name.as_str())
            .collect();
        if ours.is_empty() {
            continue;
        }
        let ours = ours.join(", ");
        let named = incident
            .causes
            .iter()
            .rev()
            .find(|c| c.upstream == upstream.id)
            .is_some_and(|c| c.fixed_at.is_none());
        let message = if begins && !named {
            let report = vendor_report(reading.worst(), &reading.troubled_parts(), "a problem");
            let following = if reading.worst() == Some(ComponentStatus::UnderMaintenance) {
                "we are following their work"
            } else {
                "we are following their repair"
            };
            format!(
                "{}, a service {ours} depends on, reports {report}. This is the likely cause; {following}.",
                upstream.name
            )
        } else if ends && named {
            format!(
                "{} reports the problem on their side fixed. We are checking that {ours} works again.",
                upstream.name
            )
        } else {
            continue;
        };
        out.push((
            at,
            Event::IncidentUpdated {
                id: incident.id.clone(),
                reference: incident.reference.clone(),
                update: crate::journal::IncidentUpdate::automatic(
                    at,
                    incident.status(),
                    message,
                    None,
                ),
            },
        ));
    }
    out
}

fn alert(key: String, kind: &str, message: String) -> Event {
    Event::OperatorAlert {
        key,
        kind: kind.to_owned(),
        component: None,
        incident: None,
        message,
    }
}

/// The vendor reports trouble: which of our components depend on it, and whether our
/// checks of them pass.
fn trouble(
    config: &Config,
    view: &StatusView,
    upstream: &Upstream,
    reading: &VendorReading,
    affects: &[String],
    at: DateTime<Utc>,
) -> (String, Event, TimeDelta) {
    let report = vendor_report(reading.worst(), &reading.troubled_parts(), "trouble");
    let first = reading.incidents.first();
    let title = first
        .map(|i| format!(": \"{}\" ({})", i.title, i.url))
        .unwrap_or_else(|| format!(" ({})", upstream.page));
    let since = first.and_then(|i| i.started_at).unwrap_or(at);
    let names: Vec<&str> = affects
        .iter()
        .filter_map(|id| config.component(id))
        .map(|c| c.name.as_str())
        .collect();
    let ours = if names.is_empty() {
        "None of our components depends on it.".to_owned()
    } else {
        let covered = |id: &str| view.open_incidents().any(|i| i.components.contains_key(id));
        let names_of = |pick: &dyn Fn(&str) -> bool| -> Vec<&str> {
            affects
                .iter()
                .filter(|id| pick(id))
                .filter_map(|id| config.component(id))
                .map(|c| c.name.as_str())
                .collect()
        };
        let in_incident = names_of(&|id| covered(id));
        let failing = names_of(&|id| !covered(id) && !view.status_of(id).is_operational());
        let told = if upstream.notify_customers {
            "Their subscribers are told it may affect them."
        } else {
            "Customers have not been told (`notify_customers = true` on the upstream would tell them)."
        };
        if !in_incident.is_empty() {
            format!(
                "Our open incident about {} names them as the likely cause.",
                in_incident.join(", ")
            )
        } else if !failing.is_empty() {
            format!(
                "Our checks of {} fail too; the incident about it will name them as the likely cause.",
                failing.join(", ")
            )
        } else {
            format!(
                "Our checks of {} pass, so no incident was opened. {told}",
                names.join(", ")
            )
        }
    };
    let message = format!(
        "{} reports {report}{title}, since {}. {ours}",
        upstream.name,
        local_time(since, config.site.timezone)
    );
    let key = format!("upstream-trouble:{}:{}", upstream.id, at.timestamp());
    (
        key.clone(),
        alert(key, "upstream_trouble", message),
        TimeDelta::zero(),
    )
}

/// Names in `components` the page does not have.
fn missing(upstream: &Upstream, followed: &Followed) -> (String, Event, TimeDelta) {
    let key = format!("upstream-missing:{}", upstream.id);
    let message = format!(
        "{}'s status page ({}) has no component named {}. forewarn follows the rest. The names it has: {}. Copy the right one into `components` (`forewarn upstream test {}` lists them too).",
        upstream.name,
        upstream.page,
        followed
            .missing
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", "),
        if followed.available.is_empty() {
            "none".to_owned()
        } else {
            followed.available.join(", ")
        },
        upstream.page
    );
    (
        key.clone(),
        alert(key, "upstream_component_missing", message),
        UPSTREAM_QUIET,
    )
}

/// Names in `components` that several of their components share.
fn ambiguous(upstream: &Upstream, followed: &Followed) -> (String, Event, TimeDelta) {
    let key = format!("upstream-ambiguous:{}", upstream.id);
    let list: Vec<String> = followed
        .ambiguous
        .iter()
        .map(|(name, all)| {
            format!(
                "\"{name}\" is the name of {} (forewarn follows the first)",
                all.iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )
        })
        .collect();
    let message = format!(
        "On {}'s status page ({}), {}. Write the one you mean in `components` as \"Group / Name\".",
        upstream.name,
        upstream.page,
        list.join("; ")
    );
    (
        key.clone(),
        alert(key, "upstream_component_ambiguous", message),
        UPSTREAM_QUIET,
    )
}

/// The page has been unreadable since `since`.
fn unreadable(
    config: &Config,
    upstream: &Upstream,
    since: DateTime<Utc>,
    e: &PageError,
) -> (String, Event, TimeDelta) {
    let key = format!("upstream-unreadable:{}", upstream.id);
    let message = format!(
        "forewarn cannot read {}'s status page ({}) since {}: {e}. Its status shows as unknown on our page; nothing is concluded about their service or ours. forewarn keeps trying, more slowly.",
        upstream.name,
        upstream.page,
        local_time(since, config.site.timezone)
    );
    (
        key.clone(),
        alert(key, "upstream_unreadable", message),
        UPSTREAM_QUIET,
    )
}

#[cfg(test)]
mod tests;
