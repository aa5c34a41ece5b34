//! Which journal events are told to subscribers, and what each says: an event becomes a
//! [`Composed`] once, from the status view as it stood right after the event; each
//! channel renders it later in the reader's time zone. Pure.
//!
//! Over 500 lines: `compose_event` holds one arm per event that is told, kept in one
//! place so every message's words can be read and compared together.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::notice::{IncidentMoment, Notice, Reader};
use crate::config::Config;
use crate::journal::{Event, IncidentUpdate, MaintenanceWindow, Record};
use crate::present::api;
use crate::present::links::incident_url;
use crate::status::{ComponentStatus, Incident, IncidentStatus, StatusView};

/// A fixed word (an event kind, a maintenance step). A name of its own keeps serde from
/// borrowing it from the input.
pub type Word = &'static str;

/// One event as subscribers will hear of it. Kept in snapshots with this serde shape:
/// a change to it is a change of the snapshot format.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Composed {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The webhook `type`: `incident.opened`, `maintenance.started`, ...
    #[serde(deserialize_with = "known::kind")]
    pub kind: Word,
    /// Notices of one thread reach each subscriber in order, and email clients show
    /// them as one conversation: `incident:<id>`, `maintenance:<id>`, `component:<id>`.
    pub thread: String,
    /// The components it touches, to match subscribers' choices.
    pub components: Vec<String>,
    /// Those of them kept from customers (not public when the event was recorded).
    pub hidden: Vec<String>,
    pub what: What,
    /// The webhook `data` for customers: the incident or window in the shape of the JSON
    /// API, and the address of its page.
    pub data: Value,
    /// The same for operators, when it shows them more (components kept from customers).
    pub operator_data: Option<Value>,
    /// The worst status of the public components right after the event: the page's
    /// indicator at that moment (Statuspage's webhooks carry it).
    #[serde(default)]
    pub page_status: Option<ComponentStatus>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum What {
    Incident {
        /// The incident as it stood right after the event.
        incident: Box<Incident>,
        update: IncidentUpdate,
        /// Each affected component's status at that moment.
        statuses: BTreeMap<String, ComponentStatus>,
        /// The page that follows the story.
        page: String,
    },
    Maintenance {
        window: MaintenanceWindow,
        #[serde(deserialize_with = "known::step")]
        step: Word,
    },
    /// A status change on its own: only for Standard Webhooks receivers, who may track
    /// every component; people hear about it through the incident.
    Component,
    /// The one email a new subscriber gets before confirming: the link to confirm.
    Confirmation {
        components: Vec<String>,
        expires_at: DateTime<Utc>,
    },
    /// A vendor we depend on reports trouble while our checks pass, or that it is
    /// fixed (`upstream.changed`, with `notify_customers = true`).
    Vendor {
        upstream: String,
        name: String,
        /// Their status page.
        page: String,
        reading: crate::vocab::VendorReading,
        fixed: bool,
    },
    /// Something only operators hear about (`operator.alert`).
    Alert {
        kind: String,
        component: Option<String>,
        incident: Option<String>,
        message: String,
    },
}

impl Composed {
    /// What people read. None for machine-only events and operator alerts (which have
    /// their own words).
    pub fn notice(&self, config: &Config, reader: Reader) -> Option<Notice> {
        match &self.what {
            What::Incident {
                incident,
                update,
                statuses,
                page,
            } => Some(Notice::incident(
                config,
                &IncidentMoment {
                    incident,
                    update,
                    statuses,
                    page,
                    hidden: &self.hidden,
                },
                reader,
            )),
            What::Maintenance { window, step } => Some(Notice::maintenance(
                config,
                window,
                step,
                &self.hidden,
                reader,
            )),
            What::Vendor {
                name,
                page,
                reading,
                fixed,
                ..
            } => Some(Notice::vendor(
                config,
                &super::notice::VendorMoment {
                    name,
                    page,
                    reading,
                    fixed: *fixed,
                    at: self.at,
                    components: &self.components,
                    hidden: &self.hidden,
                },
                reader,
            )),
            What::Component | What::Confirmation { .. } | What::Alert { .. } => None,
        }
    }

    /// Is this for people (email, chat), or only for machines?
    pub fn for_people(&self) -> bool {
        !matches!(self.what, What::Component)
    }

    /// May customers hear of it? Not operator alerts, and not what touches only
    /// components kept from them (as the journal had it).
    pub fn for_customers(&self) -> bool {
        match &self.what {
            What::Alert { .. } => false,
            What::Confirmation { .. } => true,
            _ => self.components.iter().any(|c| !self.hidden.contains(c)),
        }
    }

    /// The webhook `data` for this reader.
    pub fn data_for(&self, operator: bool) -> &Value {
        match &self.operator_data {
            Some(d) if operator => d,
            _ => &self.data,
        }
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
        page_status: None,
        seq: record.seq,
        at: record.at,
        kind: "subscriber.pending",
        thread: format!("confirm:{key}"),
        components: subscriber.components.clone(),
        hidden: Vec::new(),
        operator_data: None,
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

/// Each of an incident's components with the status customers saw when the update at
/// `at` was posted, as the view keeps it (or as it is now, for a journal from before
/// these were kept).
pub fn statuses_at(
    view: &StatusView,
    incident: &Incident,
    at: DateTime<Utc>,
) -> BTreeMap<String, ComponentStatus> {
    incident
        .statuses
        .get(&at)
        .cloned()
        .unwrap_or_else(|| moment_statuses(view, incident))
}

/// Each of an incident's components with the status customers see at this point of the
/// journal.
pub fn moment_statuses(
    view: &StatusView,
    incident: &Incident,
) -> BTreeMap<String, ComponentStatus> {
    incident
        .components
        .keys()
        .map(|c| (c.clone(), view.status_of(c)))
        .collect()
}

/// What subscribers will read once `update` of `incident` is recorded (the commands
/// that write declared files show it): the view before it, as it will stand after.
pub fn preview(
    config: &Config,
    view: &StatusView,
    incident: &Incident,
    update: &IncidentUpdate,
) -> Notice {
    let statuses = incident
        .components
        .iter()
        .map(|(c, declared)| {
            let now = view.status_of(c);
            // A declared incident's own status counts once it is recorded.
            let s = if incident.automatic || now.severity() >= declared.severity() {
                now
            } else {
                *declared
            };
            (c.clone(), s)
        })
        .collect();
    let page = incident_url(config, &incident.reference);
    let hidden = hidden(view, incident.components.keys());
    Notice::incident(
        config,
        &IncidentMoment {
            incident,
            update,
            statuses: &statuses,
            page: &page,
            hidden: &hidden,
        },
        Reader::customer(config.site.timezone),
    )
}

/// The components of `ids` kept from customers at this point of the journal.
fn hidden<'a>(view: &StatusView, ids: impl Iterator<Item = &'a String>) -> Vec<String> {
    ids.filter(|c| !view.is_public(c)).cloned().collect()
}

/// The webhook data for customers, and for operators when they may see more.
fn data_for_both(
    hidden: &[String],
    build: impl Fn(&api::Ctx<'_>) -> Value,
    ctx: api::Ctx<'_>,
) -> (Value, Option<Value>) {
    let customers = build(&ctx);
    let operators = (!hidden.is_empty()).then(|| {
        build(&api::Ctx {
            operator: true,
            ..ctx
        })
    });
    (customers, operators)
}

/// The notice an event makes, if subscribers hear of it. `view` has the event applied.
pub fn compose(config: &Config, view: &StatusView, record: &Record) -> Option<Composed> {
    let mut composed = compose_event(config, view, record)?;
    composed.page_status = Some(
        view.worst_of(
            config
                .components
                .iter()
                .filter(|c| view.is_public(&c.id))
                .map(|c| c.id.as_str()),
        ),
    );
    Some(composed)
}

fn compose_event(config: &Config, view: &StatusView, record: &Record) -> Option<Composed> {
    let ctx = || api::Ctx {
        config,
        view,
        now: record.at,
        operator: false,
    };
    let front = config.site_url("");
    let incident_event = |id: &str, kind: &'static str, update: Option<&IncidentUpdate>| {
        let incident = view.incidents.get(id)?;
        let update = match update {
            Some(u) if !u.notify => return None,
            Some(u) => u.clone(),
            None => IncidentUpdate::automatic(
                record.at,
                IncidentStatus::Resolved,
                "This incident has been resolved.".into(),
                None,
            ),
        };
        let statuses = statuses_at(view, incident, update.at);
        let hidden = hidden(view, incident.components.keys());
        // An incident of components kept from customers has no page: its link is the
        // status page.
        let page = if incident.components.keys().all(|c| hidden.contains(c))
            && !incident.components.is_empty()
        {
            front.clone()
        } else {
            incident_url(config, &incident.reference)
        };
        let (data, operator_data) = data_for_both(
            &hidden,
            |ctx| {
                json!({
                    "incident": api::incident(ctx, incident),
                    "page_url": page,
                })
            },
            ctx(),
        );
        Some(Composed {
            page_status: None,
            seq: record.seq,
            at: record.at,
            kind,
            thread: incident_thread(id),
            components: incident.components.keys().cloned().collect(),
            hidden,
            data,
            operator_data,
            what: What::Incident {
                incident: Box::new(incident.clone()),
                update,
                statuses,
                page,
            },
        })
    };
    let maintenance_event = |id: &str, kind: &'static str, step: &'static str| {
        let m = view.maintenance.get(id)?;
        let hidden = hidden(view, m.window.components.iter());
        let (data, operator_data) = data_for_both(
            &hidden,
            |ctx| json!({"maintenance": api::maintenance(ctx, m), "page_url": front}),
            ctx(),
        );
        Some(Composed {
            page_status: None,
            seq: record.seq,
            at: record.at,
            kind,
            thread: format!("maintenance:{id}"),
            components: m.window.components.clone(),
            hidden,
            data,
            operator_data,
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
        } => {
            let hidden = hidden(view, std::iter::once(component));
            let page = if hidden.is_empty() {
                config.site_url(&format!("components/{component}.html"))
            } else {
                front.clone()
            };
            Some(Composed {
                page_status: None,
                seq: record.seq,
                at: record.at,
                kind: "component.status_changed",
                thread: format!("component:{component}"),
                components: vec![component.clone()],
                hidden,
                data: json!({
                    "component": api::component(&ctx(), component, api::position_of(&ctx(), component)),
                    "old_status": from.as_str(),
                    "new_status": to.as_str(),
                    "incident": incident.as_ref().and_then(|i| view.incidents.get(i)).map(|i| i.reference.clone()),
                    "page_url": page,
                }),
                operator_data: None,
                what: What::Component,
            })
        }
        Event::OperatorAlert {
            key,
            kind,
            component,
            incident,
            message,
        } => Some(Composed {
            page_status: None,
            seq: record.seq,
            at: record.at,
            kind: "operator.alert",
            thread: format!("alert:{key}"),
            components: component.iter().cloned().collect(),
            hidden: Vec::new(),
            operator_data: None,
            data: json!({
                "alert": kind,
                "key": key,
                "component": component,
                "incident": incident.as_ref().and_then(|i| view.incidents.get(i)).map(|i| i.reference.clone()),
                "message": message,
                "page_url": front,
            }),
            what: What::Alert {
                kind: kind.clone(),
                component: component.clone(),
                incident: incident.clone(),
                message: message.clone(),
            },
        }),
        Event::UpstreamChanged { .. } => vendor::compose(config, view, record),
        _ => None,
    }
}

/// A sample incident for `notify-test`, as subscribers would see a real one.
pub fn sample(config: &Config, now: DateTime<Utc>) -> Composed {
    let component = config.public_components().next();
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
        next_update: None,
    };
    let incident = Incident {
        id: "test".into(),
        reference: reference.clone(),
        title: "Test notice".into(),
        opened_title: "Test notice".into(),
        components: components
            .iter()
            .map(|c| (c.clone(), ComponentStatus::DegradedPerformance))
            .collect(),
        impact: crate::status::Impact::Minor,
        automatic: false,
        opened_at: now,
        resolved_at: None,
        updates: vec![update.clone()],
        statuses: BTreeMap::new(),
        postmortem_url: None,
        causes: Vec::new(),
    };
    let statuses = incident.components.clone();
    let view = StatusView::default();
    // No page exists for a test notice: its link goes to the front page.
    let front = config.site_url("");
    let ctx = api::Ctx {
        config,
        view: &view,
        now,
        operator: false,
    };
    let mut test_incident = api::incident(&ctx, &incident);
    test_incident["shortlink"] = json!(front);
    Composed {
        page_status: None,
        seq: 0,
        at: now,
        kind: "incident.opened",
        // A thread of its own each time: mail clients drop a repeated Message-ID.
        thread: incident_thread(&format!("test-{}", now.timestamp_micros())),
        components,
        hidden: Vec::new(),
        operator_data: None,
        data: json!({
            "incident": test_incident,
            "page_url": front,
            "test": true,
        }),
        what: What::Incident {
            incident: Box::new(incident),
            update,
            statuses,
            page: front,
        },
    }
}

mod known;
mod vendor;
