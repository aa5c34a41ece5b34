//! Which journal events are told to subscribers, and what each says: an event becomes a
//! [`Composed`] once, from the status view as it stood right after the event; each
//! channel renders it later in the reader's time zone. Pure.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::notice::{Notice, incident_url};
use crate::config::Config;
use crate::journal::{Event, IncidentUpdate, MaintenanceWindow, Record};
use crate::site::api;
use crate::status::{ComponentStatus, Incident, IncidentStatus, StatusView};

/// One event as subscribers will hear of it.
#[derive(Debug, Clone)]
pub struct Composed {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The webhook `type`: `incident.opened`, `maintenance.started`, ...
    pub kind: &'static str,
    /// Notices of one thread reach each subscriber in order, and email clients show
    /// them as one conversation: `incident:<id>`, `maintenance:<id>`, `component:<id>`.
    pub thread: String,
    /// The components it touches, to match subscribers' choices.
    pub components: Vec<String>,
    pub what: What,
    /// The webhook `data`: the incident or window in the shape of the JSON API, and the
    /// address of its page.
    pub data: Value,
}

#[derive(Debug, Clone)]
pub enum What {
    Incident {
        incident: Box<Incident>,
        update: IncidentUpdate,
    },
    Maintenance {
        window: MaintenanceWindow,
        step: &'static str,
    },
    /// A status change on its own: only for Standard Webhooks receivers, who may track
    /// every component; people hear about it through the incident.
    Component,
    /// The one email a new subscriber gets before confirming: the link to confirm.
    Confirmation {
        components: Vec<String>,
        expires_at: DateTime<Utc>,
    },
}

impl Composed {
    /// What people read, with times in `tz`. None for machine-only events.
    pub fn notice(&self, config: &Config, tz: Tz) -> Option<Notice> {
        match &self.what {
            What::Incident { incident, update } => {
                Some(Notice::incident_in(config, incident, update, tz))
            }
            What::Maintenance { window, step } => {
                Some(Notice::maintenance_in(config, window, step, tz))
            }
            What::Component | What::Confirmation { .. } => None,
        }
    }

    /// Is this for people (email, chat), or only for machines?
    pub fn for_people(&self) -> bool {
        !matches!(self.what, What::Component)
    }

    /// A short line for operators: `incident.updated INC-2026-1122-api`.
    pub fn summary(&self) -> String {
        let (_, id) = self.thread.split_once(':').unwrap_or(("", &self.thread));
        match &self.what {
            What::Incident { incident, .. } => format!("{} {}", self.kind, incident.reference),
            _ => format!("{} {id}", self.kind),
        }
    }
}

/// The confirmation email a `subscriber.pending` event calls for.
pub fn confirmation(record: &Record) -> Option<Composed> {
    let Event::SubscriberPending {
        key,
        subscriber,
        expires_at,
    } = &record.event
    else {
        return None;
    };
    Some(Composed {
        seq: record.seq,
        at: record.at,
        kind: "subscriber.pending",
        thread: format!("confirm:{key}"),
        components: subscriber.components.clone(),
        what: What::Confirmation {
            components: subscriber.components.clone(),
            expires_at: *expires_at,
        },
        data: Value::Null,
    })
}

/// The thread key of an incident.
pub fn incident_thread(id: &str) -> String {
    format!("incident:{id}")
}

/// The notice an event makes, if subscribers hear of it. `view` has the event applied.
pub fn compose(config: &Config, view: &StatusView, record: &Record) -> Option<Composed> {
    let ctx = api::Ctx {
        config,
        view,
        now: record.at,
    };
    let incident_event = |id: &str, kind: &'static str, update: Option<&IncidentUpdate>| {
        let incident = view.incidents.get(id)?;
        let update = match update {
            Some(u) if !u.notify => return None,
            Some(u) => u.clone(),
            None => IncidentUpdate {
                at: record.at,
                status: IncidentStatus::Resolved,
                message: "This incident has been resolved.".into(),
                eta: None,
                notify: true,
                apology: None,
                credit: None,
                automatic: true,
            },
        };
        Some(Composed {
            seq: record.seq,
            at: record.at,
            kind,
            thread: incident_thread(id),
            components: incident.components.keys().cloned().collect(),
            data: json!({
                "incident": api::incident(&ctx, incident),
                "page_url": incident_url(config, &incident.reference),
            }),
            what: What::Incident {
                incident: Box::new(incident.clone()),
                update,
            },
        })
    };
    let maintenance_event = |id: &str, kind: &'static str, step: &'static str| {
        let m = view.maintenance.get(id)?;
        Some(Composed {
            seq: record.seq,
            at: record.at,
            kind,
            thread: format!("maintenance:{id}"),
            components: m.window.components.clone(),
            data: json!({
                "maintenance": api::maintenance(&ctx, m),
                "page_url": format!("{}/", config.site.base_url.as_str().trim_end_matches('/')),
            }),
            what: What::Maintenance {
                window: m.window.clone(),
                step,
            },
        })
    };
    match &record.event {
        Event::IncidentOpened { id, update, .. } => match update {
            Some(u) => incident_event(id, "incident.opened", Some(u)),
            None => {
                let i = view.incidents.get(id)?;
                let first = i.updates.first()?.clone();
                incident_event(id, "incident.opened", Some(&first))
            }
        },
        Event::IncidentUpdated { id, update, .. } => {
            incident_event(id, "incident.updated", Some(update))
        }
        Event::IncidentResolved { id, update, .. } => {
            incident_event(id, "incident.resolved", update.as_ref())
        }
        Event::MaintenanceScheduled { id, .. } => {
            maintenance_event(id, "maintenance.scheduled", "scheduled")
        }
        Event::MaintenanceChanged { id, .. } => match view.maintenance.get(id) {
            Some(m) if !m.state.is_over() => {
                maintenance_event(id, "maintenance.changed", "rescheduled")
            }
            _ => None,
        },
        Event::MaintenanceReminder { id, .. } => {
            maintenance_event(id, "maintenance.reminder", "reminder")
        }
        Event::MaintenanceStarted { id } => maintenance_event(id, "maintenance.started", "started"),
        Event::MaintenanceCompleted { id } => {
            maintenance_event(id, "maintenance.completed", "completed")
        }
        Event::MaintenanceCancelled { id } => {
            maintenance_event(id, "maintenance.cancelled", "cancelled")
        }
        Event::ComponentStatusChanged {
            component,
            from,
            to,
            incident,
            ..
        } => Some(Composed {
            seq: record.seq,
            at: record.at,
            kind: "component.status_changed",
            thread: format!("component:{component}"),
            components: vec![component.clone()],
            data: json!({
                "component": api::component(&ctx, component, 1),
                "old_status": from.as_str(),
                "new_status": to.as_str(),
                "incident": incident.as_ref().and_then(|i| view.incidents.get(i)).map(|i| i.reference.clone()),
                "page_url": format!("{}/components/{component}.html", config.site.base_url.as_str().trim_end_matches('/')),
            }),
            what: What::Component,
        }),
        _ => None,
    }
}

/// A sample incident for `notify-test`, as subscribers would see a real one.
pub fn sample(config: &Config, now: DateTime<Utc>) -> Composed {
    let component = config.components.first();
    let components: Vec<String> = component.map(|c| c.id.clone()).into_iter().collect();
    let reference = format!("INC-{}-test", now.format("%Y-%m%d"));
    let update = IncidentUpdate {
        at: now,
        status: IncidentStatus::Investigating,
        message: "This is a test notice from our status page, to check that notices reach you. Nothing is wrong.".into(),
        eta: None,
        notify: true,
        apology: None,
        credit: None,
        automatic: false,
    };
    let incident = Incident {
        id: "test".into(),
        reference: reference.clone(),
        title: "Test notice".into(),
        components: components
            .iter()
            .map(|c| (c.clone(), ComponentStatus::DegradedPerformance))
            .collect(),
        impact: crate::status::Impact::Minor,
        automatic: false,
        opened_at: now,
        resolved_at: None,
        updates: vec![update.clone()],
        postmortem_url: None,
    };
    let view = StatusView::default();
    let ctx = api::Ctx {
        config,
        view: &view,
        now,
    };
    Composed {
        seq: 0,
        at: now,
        kind: "incident.opened",
        // A thread of its own each time: mail clients drop a repeated Message-ID.
        thread: incident_thread(&format!("test-{}", now.timestamp_micros())),
        components,
        data: json!({
            "incident": api::incident(&ctx, &incident),
            "page_url": incident_url(config, &reference),
            "test": true,
        }),
        what: What::Incident {
            incident: Box::new(incident),
            update,
        },
    }
}
