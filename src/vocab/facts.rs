//! What an incident update and a maintenance window say: the facts operators declare
//! in `config/` and the journal records, in one shape for both.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::IncidentStatus;

/// One entry of an incident's public timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentUpdate {
    /// When it was posted; with the incident id, the update's identity.
    pub at: DateTime<Utc>,
    pub status: IncidentStatus,
    /// What customers read (Markdown).
    pub message: String,
    /// When a fix is expected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<DateTime<Utc>>,
    /// False for silent corrections: recorded and shown, but nobody is notified.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub notify: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apology: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<String>,
    /// Written by forewarn from a wording template, not by a person.
    #[serde(default, skip_serializing_if = "is_false")]
    pub automatic: bool,
    /// When the next update was promised: operators are reminded before it, and if
    /// nobody has written by then, forewarn says the team is still on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_update: Option<DateTime<Utc>>,
}

impl IncidentUpdate {
    /// An update forewarn writes itself, notified, with no ETA, apology or credit.
    pub fn automatic(
        at: DateTime<Utc>,
        status: IncidentStatus,
        message: String,
        next_update: Option<DateTime<Utc>>,
    ) -> IncidentUpdate {
        IncidentUpdate {
            at,
            status,
            message,
            eta: None,
            notify: true,
            apology: None,
            credit: None,
            automatic: true,
            next_update,
        }
    }

    /// Same public content (the identity `at` aside)?
    pub fn same_text(&self, other: &IncidentUpdate) -> bool {
        self.status == other.status
            && self.message == other.message
            && self.eta == other.eta
            && self.apology == other.apology
            && self.credit == other.credit
            && self.next_update == other.next_update
    }
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A planned maintenance window as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub title: String,
    pub components: Vec<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub message: String,
}
