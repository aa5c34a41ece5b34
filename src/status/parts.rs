//! The view as a snapshot stores it: every field, the ones the public shapes leave out
//! included, so a view rebuilt from its parts equals the one folded from the journal.
//! Incidents and windows keep their own serde shapes; a change to them is a change of
//! the snapshot format.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ComponentState, ComponentStatus, Incident, Maintenance, StatusView};

#[derive(Debug, Serialize, Deserialize)]
pub struct ViewParts {
    pub components: BTreeMap<String, ComponentState>,
    pub history: BTreeMap<String, Vec<(DateTime<Utc>, ComponentStatus)>>,
    pub incidents: BTreeMap<String, Incident>,
    pub maintenance: BTreeMap<String, Maintenance>,
    pub private: BTreeSet<String>,
    pub last_seq: u64,
    pub updated_at: Option<DateTime<Utc>>,
    pub first_seen: BTreeMap<String, DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub last_change: BTreeMap<String, DateTime<Utc>>,
    #[serde(default)]
    pub upstreams: BTreeMap<String, super::UpstreamView>,
}

impl StatusView {
    /// Everything this view holds, for a snapshot.
    pub fn to_parts(&self) -> ViewParts {
        ViewParts {
            components: self.components.clone(),
            history: self.history.clone(),
            incidents: self.incidents.clone(),
            maintenance: self.maintenance.clone(),
            private: self.private.clone(),
            last_seq: self.last_seq,
            updated_at: self.updated_at,
            first_seen: self.first_seen.clone(),
            started_at: self.started_at,
            last_change: self.last_change.clone(),
            upstreams: self.upstreams.clone(),
        }
    }

    /// The view a snapshot held.
    pub fn from_parts(parts: ViewParts) -> StatusView {
        let open_ids = parts
            .incidents
            .values()
            .filter(|i| i.is_open())
            .map(|i| i.id.clone())
            .collect();
        StatusView {
            components: parts.components,
            history: parts.history,
            open_ids,
            incidents: parts.incidents,
            maintenance: parts.maintenance,
            private: parts.private,
            last_seq: parts.last_seq,
            updated_at: parts.updated_at,
            first_seen: parts.first_seen,
            started_at: parts.started_at,
            last_change: parts.last_change,
            upstreams: parts.upstreams,
        }
    }
}
