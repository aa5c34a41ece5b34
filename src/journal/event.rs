//! The facts forewarn records. Each line of the journal is one [`Record`]: a sequence
//! number, a timestamp and one [`Event`], written as flat JSON:
//!
//! ```json
//! {"seq":7,"at":"2026-11-22T10:04:31Z","type":"incident.opened","id":"INC-2026-1122-api",...}
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::status::{ComponentStatus, Impact};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub at: DateTime<Utc>,
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
    },
    /// An incident ended.
    #[serde(rename = "incident.resolved")]
    IncidentResolved {
        id: String,
        reference: String,
        /// Seconds from opening to resolution.
        duration_secs: u64,
    },
}

impl Event {
    /// The `type` field as written to the journal.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ComponentStatusChanged { .. } => "component.status_changed",
            Event::IncidentOpened { .. } => "incident.opened",
            Event::IncidentResolved { .. } => "incident.resolved",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_flat_json_with_a_type() {
        let r = Record {
            seq: 3,
            at: "2026-11-22T10:04:31Z".parse().unwrap(),
            event: Event::IncidentResolved {
                id: "INC-2026-1122-api".into(),
                reference: "INC-2026-1122-api".into(),
                duration_secs: 120,
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
}
