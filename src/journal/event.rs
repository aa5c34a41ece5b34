//! The facts forewarn records. Each line of the journal is one [`Record`]: a sequence
//! number, a timestamp and one [`Event`], written as flat JSON:
//!
//! ```json
//! {"seq":7,"at":"2026-11-22T10:04:31Z","type":"incident.opened","id":"INC-2026-1122-api",...}
//! ```
//!
//! Fields added later are optional, so older journals replay unchanged.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::vocab::{Channel, ComponentStatus, Impact, Medium, Role, WebhookFormat};
pub use crate::vocab::{IncidentUpdate, MaintenanceWindow, VendorIncident, VendorReading};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// More records of the same append follow. Events appended together (a status
    /// change and the incident it opens) stand or fall together: replay drops a batch
    /// whose last record never made it to disk.
    #[serde(default, skip_serializing_if = "is_false")]
    pub more: bool,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    /// A component's status changed after its check confirmed it.
    #[serde(rename = "component.status_changed")]
    ComponentStatusChanged {
        component: String,
        from: ComponentStatus,
        to: ComponentStatus,
        /// What the probe saw, for operators ("HTTP 503"). Not for customers.
        reason: String,
        /// The incident this change belongs to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<String>,
    },
    /// A component was made public, or kept from customers (`public = false`): who may
    /// hear of it is in the journal, so every replay tells the same people.
    #[serde(rename = "component.visibility")]
    ComponentVisibility { component: String, public: bool },
    /// An incident began.
    #[serde(rename = "incident.opened")]
    IncidentOpened {
        /// Stable key of the incident.
        id: String,
        /// What customers quote, such as `INC-2026-1122-api`.
        reference: String,
        title: String,
        /// Affected components and the status each shows.
        components: BTreeMap<String, ComponentStatus>,
        impact: Impact,
        /// Opened by the monitor (true) or declared by an operator (false).
        automatic: bool,
        /// The first entry of the public timeline.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<IncidentUpdate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        postmortem_url: Option<String>,
    },
    /// A new entry on an incident's timeline.
    #[serde(rename = "incident.updated")]
    IncidentUpdated {
        id: String,
        reference: String,
        update: IncidentUpdate,
    },
    /// The text of a published update was corrected; nobody is notified again.
    #[serde(rename = "incident.update_edited")]
    IncidentUpdateEdited {
        id: String,
        reference: String,
        update: IncidentUpdate,
    },
    /// An incident's title, impact, components or postmortem link were edited.
    #[serde(rename = "incident.changed")]
    IncidentChanged {
        id: String,
        reference: String,
        title: String,
        components: BTreeMap<String, ComponentStatus>,
        impact: Impact,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        postmortem_url: Option<String>,
    },
    /// An incident ended.
    #[serde(rename = "incident.resolved")]
    IncidentResolved {
        id: String,
        reference: String,
        /// Seconds from opening to resolution.
        duration_secs: u64,
        /// The resolving entry of the timeline, with any apology and credit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update: Option<IncidentUpdate>,
    },
    /// A maintenance window was announced.
    #[serde(rename = "maintenance.scheduled")]
    MaintenanceScheduled {
        id: String,
        #[serde(flatten)]
        window: MaintenanceWindow,
    },
    /// An announced window was edited (times, components or words).
    #[serde(rename = "maintenance.changed")]
    MaintenanceChanged {
        id: String,
        #[serde(flatten)]
        window: MaintenanceWindow,
    },
    /// A reminder before a window starts.
    #[serde(rename = "maintenance.reminder")]
    MaintenanceReminder {
        id: String,
        /// How long before the start this reminder is for.
        before_secs: u64,
    },
    #[serde(rename = "maintenance.started")]
    MaintenanceStarted { id: String },
    #[serde(rename = "maintenance.completed")]
    MaintenanceCompleted { id: String },
    /// The window was called off before it ended.
    #[serde(rename = "maintenance.cancelled")]
    MaintenanceCancelled { id: String },
    /// Someone asked to subscribe on the status page; they hear nothing but the one
    /// confirmation email until they confirm, before `expires_at`.
    #[serde(rename = "subscriber.pending")]
    SubscriberPending {
        key: String,
        #[serde(flatten)]
        subscriber: SubscriberRecord,
        expires_at: DateTime<Utc>,
    },
    /// Someone now hears about outages (from `subscribers.toml`, or confirmed by them).
    #[serde(rename = "subscriber.confirmed")]
    SubscriberConfirmed {
        key: String,
        #[serde(flatten)]
        subscriber: SubscriberRecord,
    },
    /// A subscriber's components, time zone or format changed; a disabled endpoint is
    /// enabled again.
    #[serde(rename = "subscriber.updated")]
    SubscriberUpdated {
        key: String,
        #[serde(flatten)]
        subscriber: SubscriberRecord,
    },
    /// Nothing more is sent to this subscriber, pending deliveries included.
    #[serde(rename = "subscriber.removed")]
    SubscriberRemoved {
        key: String,
        /// `subscriber` when they left themselves (an unsubscribe link): the
        /// subscribers file does not bring them back.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<String>,
    },
    /// The endpoint said it is gone (HTTP 410): nothing more is sent until its entry
    /// changes.
    #[serde(rename = "subscriber.disabled")]
    SubscriberDisabled { key: String, reason: String },
    /// A delivery was accepted by the receiver.
    #[serde(rename = "delivery.succeeded")]
    DeliverySucceeded { id: String, attempt: u32 },
    /// An attempt failed; the next one is due at `next_at`.
    #[serde(rename = "delivery.failed")]
    DeliveryFailed {
        id: String,
        attempt: u32,
        error: String,
        next_at: DateTime<Utc>,
    },
    /// No more attempts: the delivery waits for `forewarn outbox retry`.
    #[serde(rename = "delivery.dead")]
    DeliveryDead {
        id: String,
        attempt: u32,
        error: String,
    },
    /// An operator asked for a dead delivery to be tried again.
    #[serde(rename = "delivery.retried")]
    DeliveryRetried { id: String },
    /// Something only operators hear about: a certificate nearing expiry, forewarn's own
    /// trouble (probes that could not run, a journal it could not write, deliveries
    /// given up on), or a promised update falling due.
    #[serde(rename = "operator.alert")]
    OperatorAlert {
        /// What it is about, for not repeating it: `certificate:web`, `local-fault`...
        key: String,
        /// `certificate_expiring`, `probes_not_run`, `journal_unwritable`,
        /// `deliveries_dead`, `update_due`, `upstream_trouble`, `upstream_unreadable`,
        /// `upstream_component_missing` or `upstream_component_ambiguous`.
        kind: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        component: Option<String>,
        /// The incident it is about (`update_due`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        incident: Option<String>,
        /// What operators read: what happened and what to do.
        message: String,
    },
    /// What a vendor's status page says of the parts we follow changed (`[[upstream]]`):
    /// its status, a followed component's, or their incidents. The whole reading is
    /// recorded each time, so the latest record says everything.
    #[serde(rename = "upstream.changed")]
    UpstreamChanged {
        upstream: String,
        /// What customers read: "Payment provider".
        name: String,
        /// Their status page.
        page: String,
        #[serde(flatten)]
        reading: VendorReading,
        /// Our components that depend on it (`depends_on`) when this was recorded.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        affects: Vec<String>,
        /// Subscribers of those components hear of the vendor's trouble while our
        /// checks pass.
        #[serde(default, skip_serializing_if = "is_false")]
        notify_customers: bool,
        /// Why the page could not be read (for operators), when the status is unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

/// How a subscriber is reached, as the journal keeps it. Secrets (webhook addresses
/// that hold a token, signing keys) stay in the configuration and the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriberRecord {
    /// `email` or `webhook`.
    #[serde(deserialize_with = "lenient::medium")]
    pub channel: Medium,
    /// The email address, or what operators see of a webhook's address.
    pub address: String,
    /// A webhook's format; absent: Standard Webhooks.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::format"
    )]
    pub format: Option<WebhookFormat>,
    /// Empty: every component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// `file` for `subscribers.toml`, `self` for sign-ups, `api` for `POST /webhooks`.
    pub source: String,
    /// The address of a webhook registered through the API (file webhooks keep theirs
    /// in the file). Its signing secret is derived from forewarn's key, never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `operator` for `[[operator]]` entries: they also hear operator alerts and about
    /// components that are not public. Absent: a customer.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::role"
    )]
    pub audience: Option<Role>,
}

impl SubscriberRecord {
    pub fn is_operator(&self) -> bool {
        self.audience == Some(Role::Operator)
    }

    /// How notices reach this subscriber.
    pub fn reached_by(&self) -> Channel {
        Channel::of(self.channel, self.format)
    }
}

impl Event {
    /// About subscribers and deliveries, not about the service: the status view and
    /// the site ignore these.
    pub fn is_bookkeeping(&self) -> bool {
        matches!(
            self,
            Event::SubscriberPending { .. }
                | Event::SubscriberConfirmed { .. }
                | Event::SubscriberUpdated { .. }
                | Event::SubscriberRemoved { .. }
                | Event::SubscriberDisabled { .. }
                | Event::DeliverySucceeded { .. }
                | Event::DeliveryFailed { .. }
                | Event::DeliveryDead { .. }
                | Event::DeliveryRetried { .. }
                | Event::OperatorAlert { .. }
        )
    }

    /// The components this event names.
    pub fn components(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        match self {
            Event::ComponentStatusChanged { component, .. }
            | Event::ComponentVisibility { component, .. } => {
                Box::new(std::iter::once(component.as_str()))
            }
            Event::IncidentOpened { components, .. }
            | Event::IncidentChanged { components, .. } => {
                Box::new(components.keys().map(String::as_str))
            }
            Event::MaintenanceScheduled { window, .. }
            | Event::MaintenanceChanged { window, .. } => {
                Box::new(window.components.iter().map(String::as_str))
            }
            _ => Box::new(std::iter::empty()),
        }
    }

    /// The `type` field as written to the journal.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ComponentStatusChanged { .. } => "component.status_changed",
            Event::ComponentVisibility { .. } => "component.visibility",
            Event::IncidentOpened { .. } => "incident.opened",
            Event::IncidentUpdated { .. } => "incident.updated",
            Event::IncidentUpdateEdited { .. } => "incident.update_edited",
            Event::IncidentChanged { .. } => "incident.changed",
            Event::IncidentResolved { .. } => "incident.resolved",
            Event::MaintenanceScheduled { .. } => "maintenance.scheduled",
            Event::MaintenanceChanged { .. } => "maintenance.changed",
            Event::MaintenanceReminder { .. } => "maintenance.reminder",
            Event::MaintenanceStarted { .. } => "maintenance.started",
            Event::MaintenanceCompleted { .. } => "maintenance.completed",
            Event::MaintenanceCancelled { .. } => "maintenance.cancelled",
            Event::SubscriberPending { .. } => "subscriber.pending",
            Event::SubscriberConfirmed { .. } => "subscriber.confirmed",
            Event::SubscriberUpdated { .. } => "subscriber.updated",
            Event::SubscriberRemoved { .. } => "subscriber.removed",
            Event::SubscriberDisabled { .. } => "subscriber.disabled",
            Event::DeliverySucceeded { .. } => "delivery.succeeded",
            Event::DeliveryFailed { .. } => "delivery.failed",
            Event::DeliveryDead { .. } => "delivery.dead",
            Event::DeliveryRetried { .. } => "delivery.retried",
            Event::OperatorAlert { .. } => "operator.alert",
            Event::UpstreamChanged { .. } => "upstream.changed",
        }
    }
}

/// Subscriber fields read as forewarn always has: a journal is never refused for a
/// value it does not know (one written by a later release, say). Anything but `email`
/// is a webhook, an unknown format is Standard Webhooks, an unknown audience a customer.
mod lenient {
    use serde::{Deserialize, Deserializer};

    use crate::vocab::{Medium, Role, WebhookFormat};

    pub fn medium<'de, D: Deserializer<'de>>(d: D) -> Result<Medium, D::Error> {
        let text = String::deserialize(d)?;
        Ok(if text == "email" {
            Medium::Email
        } else {
            Medium::Webhook
        })
    }

    pub fn format<'de, D: Deserializer<'de>>(d: D) -> Result<Option<WebhookFormat>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        Ok(text.and_then(|t| t.parse().ok()))
    }

    pub fn role<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Role>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        Ok((text.as_deref() == Some("operator")).then_some(Role::Operator))
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::IncidentStatus;

    #[test]
    fn records_are_flat_json_with_a_type() {
        let r = Record {
            seq: 3,
            at: "2026-11-22T10:04:31Z".parse().unwrap(),
            more: false,
            event: Event::IncidentResolved {
                id: "INC-2026-1122-api".into(),
                reference: "INC-2026-1122-api".into(),
                duration_secs: 120,
                update: None,
            },
        };
        let line = serde_json::to_string(&r).unwrap();
        assert_eq!(
            line,
            r#"{"seq":3,"at":"2026-11-22T10:04:31Z","type":"incident.resolved","id":"INC-2026-1122-api","reference":"INC-2026-1122-api","duration_secs":120}"#
        );
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn subscriber_values_a_release_does_not_know_are_read_as_before() {
        let line = r#"{"seq":3,"at":"2026-11-22T10:04:31Z","type":"subscriber.confirmed","key":"webhook:1","channel":"pager","address":"x","format":"carrier-pigeon","source":"file","audience":"auditor"}"#;
        let r: Record = serde_json::from_str(line).expect("read, not refused");
        let Event::SubscriberConfirmed { subscriber, .. } = r.event else {
            panic!("a subscriber");
        };
        assert_eq!(subscriber.channel, Medium::Webhook);
        assert_eq!(subscriber.format, None, "Standard Webhooks");
        assert!(!subscriber.is_operator(), "a customer");
        assert_eq!(subscriber.reached_by(), Channel::Standard);
    }

    #[test]
    fn operator_text_survives_a_round_trip_unchanged() {
        let nasty =
            "<script>alert(1)</script> {{title}} \r\nInjected: header\u{0}\u{7f} ".repeat(2000);
        let r = Record {
            seq: 1,
            at: "2026-11-22T10:04:31Z".parse().unwrap(),
            more: false,
            event: Event::IncidentUpdated {
                id: "x".into(),
                reference: "INC-2026-1122-x".into(),
                update: IncidentUpdate {
                    at: "2026-11-22T10:04:00Z".parse().unwrap(),
                    status: IncidentStatus::Identified,
                    message: nasty.clone(),
                    eta: None,
                    notify: false,
                    apology: Some(nasty.clone()),
                    credit: None,
                    automatic: false,
                    next_update: None,
                },
            },
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(!line.contains('\n'), "one event, one line");
        let back: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn maintenance_events_are_flat() {
        let e = Event::MaintenanceScheduled {
            id: "db".into(),
            window: MaintenanceWindow {
                title: "Database upgrade".into(),
                components: vec!["db".into()],
                starts_at: "2026-11-25T01:00:00Z".parse().unwrap(),
                ends_at: "2026-11-25T03:00:00Z".parse().unwrap(),
                message: "Read-only for two hours.".into(),
            },
        };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["type"], "maintenance.scheduled");
        assert_eq!(json["starts_at"], "2026-11-25T01:00:00Z");
    }
}
