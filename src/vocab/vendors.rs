//! What a vendor's status page says, as forewarn follows it: the status of the parts
//! we depend on, and the incidents they report. Their words, kept apart from ours.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ComponentStatus, Impact, IncidentStatus};

/// One reading of a vendor's page, reduced to what we follow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorReading {
    /// The worst status of what we follow; `None` ("unknown" in the journal): the page
    /// could not be read, or said nothing we could use. Never an outage of theirs.
    #[serde(with = "unknown_is_none")]
    pub status: Option<ComponentStatus>,
    /// Each followed component, by the name on their page, with its status.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub components: BTreeMap<String, ComponentStatus>,
    /// Their unresolved incidents (and maintenance in progress) that touch what we
    /// follow, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<VendorIncident>,
}

impl VendorReading {
    /// The page was read and reports something other than "all is well".
    pub fn in_trouble(&self) -> bool {
        self.status.is_some_and(|s| !s.is_operational()) || !self.incidents.is_empty()
    }

    /// The page was read and reports all is well.
    pub fn is_fine(&self) -> bool {
        self.status.is_some() && !self.in_trouble()
    }

    /// The followed components they report anything but operational, by name.
    pub fn troubled_parts(&self) -> Vec<String> {
        self.components
            .iter()
            .filter(|(_, s)| !s.is_operational())
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The worst they report: their status, or for an incident on a page that still
    /// shows every part operational, degraded performance (maintenance, when all they
    /// report is maintenance under way).
    pub fn worst(&self) -> Option<ComponentStatus> {
        match self.status {
            Some(ComponentStatus::Operational) if !self.incidents.is_empty() => {
                if self.incidents.iter().all(|i| i.maintenance) {
                    Some(ComponentStatus::UnderMaintenance)
                } else {
                    Some(ComponentStatus::DegradedPerformance)
                }
            }
            s => s,
        }
    }
}

/// One of a vendor's incidents, as their page reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorIncident {
    /// Their id for it (or, where they give none, their link).
    pub id: String,
    /// Their title, trimmed to a sane length.
    pub title: String,
    /// Where their repair stands, when their page says it in these words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IncidentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Impact>,
    /// Their page about it (`http` or `https` only), or their status page.
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When they last updated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// Maintenance they announced, under way.
    #[serde(default, skip_serializing_if = "is_false")]
    pub maintenance: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// `"unknown"` or a component status; a word a release does not know reads as unknown.
mod unknown_is_none {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::vocab::ComponentStatus;

    pub fn serialize<S: Serializer>(
        s: &Option<ComponentStatus>,
        ser: S,
    ) -> Result<S::Ok, S::Error> {
        ser.serialize_str(s.map_or("unknown", ComponentStatus::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<ComponentStatus>, D::Error> {
        let text = String::deserialize(d)?;
        Ok(ComponentStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text))
    }
}
