//! Incidents as the view knows them: header, timeline, and what follows from it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{ComponentStatus, Impact, IncidentStatus};
use crate::journal::IncidentUpdate;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Incident {
    pub id: String,
    pub reference: String,
    pub title: String,
    /// The title it was opened with: every email about it keeps this subject, so mail
    /// clients show one conversation.
    pub opened_title: String,
    pub components: BTreeMap<String, ComponentStatus>,
    /// How bad it is: while an automatic incident is open, as its component stands now;
    /// once resolved, the worst it reached.
    pub impact: Impact,
    pub automatic: bool,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The public timeline, oldest first.
    pub updates: Vec<IncidentUpdate>,
    /// Each affected component's status when each update was posted (by the update's
    /// time), as customers saw it: what machines read as `old_status` / `new_status`.
    pub statuses: BTreeMap<DateTime<Utc>, BTreeMap<String, ComponentStatus>>,
    pub postmortem_url: Option<String>,
    /// Vendors in trouble that a component of it depends on (`depends_on`), named as
    /// the likely cause, in the order they were named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<super::Cause>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }

    /// Resolved once resolved; otherwise the status of the latest update.
    pub fn status(&self) -> IncidentStatus {
        if !self.is_open() {
            return IncidentStatus::Resolved;
        }
        self.updates
            .iter()
            .rev()
            .map(|u| u.status)
            .find(|s| *s != IncidentStatus::Resolved)
            .unwrap_or(IncidentStatus::Investigating)
    }

    /// The most recent ETA given, while the incident is open and the ETA is still ahead
    /// of the latest update (an ETA that has passed is no promise any more).
    pub fn eta(&self) -> Option<DateTime<Utc>> {
        let latest = self.updates.last().map(|u| u.at)?;
        self.eta_given(latest).filter(|eta| *eta > latest)
    }

    /// The most recent ETA given up to `at` while the incident is open, passed or not.
    pub fn eta_given(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.is_open() {
            return None;
        }
        self.updates
            .iter()
            .rev()
            .filter(|u| u.at <= at)
            .find_map(|u| u.eta)
    }

    /// When the latest update promised the next one, if it did.
    pub fn next_update(&self) -> Option<DateTime<Utc>> {
        self.updates.last().and_then(|u| u.next_update)
    }

    /// The components' statuses when the update at `at` was posted, and before it (the
    /// previous update's, or operational before the first).
    pub fn statuses_around(
        &self,
        at: DateTime<Utc>,
    ) -> (
        BTreeMap<String, ComponentStatus>,
        BTreeMap<String, ComponentStatus>,
    ) {
        let new = self.statuses.get(&at).cloned().unwrap_or_default();
        let old = self
            .statuses
            .range(..at)
            .next_back()
            .map(|(_, s)| s.clone())
            .unwrap_or_default();
        (old, new)
    }

    pub fn latest_update(&self) -> Option<&IncidentUpdate> {
        self.updates.last()
    }

    /// The apology given on resolution, if any.
    pub fn apology(&self) -> Option<&str> {
        self.updates.iter().rev().find_map(|u| u.apology.as_deref())
    }

    /// The credit given on resolution, if any.
    pub fn credit(&self) -> Option<&str> {
        self.updates.iter().rev().find_map(|u| u.credit.as_deref())
    }

    /// Has a person written on this incident's timeline?
    pub fn has_human_updates(&self) -> bool {
        self.updates.iter().any(|u| !u.automatic)
    }

    pub fn update_at(&self, at: DateTime<Utc>) -> Option<&IncidentUpdate> {
        self.updates.iter().find(|u| u.at == at)
    }

    /// From opening to resolution, or to `now` while open.
    pub fn duration(&self, now: DateTime<Utc>) -> chrono::TimeDelta {
        self.resolved_at.unwrap_or(now) - self.opened_at
    }

    /// Add an entry, keeping the timeline in time order; an entry with the same time
    /// replaces the old one.
    pub(super) fn put_update(&mut self, update: IncidentUpdate) {
        match self.updates.iter().position(|u| u.at == update.at) {
            Some(i) => self.updates[i] = update,
            None => {
                let i = self.updates.partition_point(|u| u.at <= update.at);
                self.updates.insert(i, update);
            }
        }
    }
}
