//! What is true now, derived by folding the journal: the [`StatusView`].

mod incident;
mod maintenance;
mod parts;
mod upstream;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::declared::{Published, PublishedIncident, PublishedWindow};
use crate::journal::{Event, Record};
pub use crate::vocab::{ComponentStatus, Impact, IncidentStatus};
pub use incident::Incident;
pub use maintenance::{Maintenance, MaintenanceState};
pub use parts::ViewParts;
pub use upstream::{Cause, HeadsUp, UpstreamView};

/// Current status of every component that has a recorded status, every incident and
/// every maintenance window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusView {
    /// Status as confirmed by the checks.
    pub components: BTreeMap<String, ComponentState>,
    /// Every confirmed status change of each component, oldest first (for uptime bars).
    #[serde(skip)]
    pub history: BTreeMap<String, Vec<(DateTime<Utc>, ComponentStatus)>>,
    /// Ids of the incidents still open, so asking about the present does not walk the
    /// whole history.
    #[serde(skip)]
    open_ids: std::collections::BTreeSet<String>,
    pub incidents: BTreeMap<String, Incident>,
    pub maintenance: BTreeMap<String, Maintenance>,
    /// Components kept from customers (`public = false`), as the journal records it.
    pub private: std::collections::BTreeSet<String>,
    /// Sequence number of the last event folded in.
    pub last_seq: u64,
    pub updated_at: Option<DateTime<Utc>>,
    /// When the journal first named each component (a status change, its visibility, an
    /// incident or a maintenance window), for the API's `created_at`.
    #[serde(default)]
    pub first_seen: BTreeMap<String, DateTime<Utc>>,
    /// When the journal's first fact was recorded: monitoring began. A component the
    /// journal never named has been operational since then, as far as it knows.
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    /// When the status shown for each component last changed.
    #[serde(default)]
    pub last_change: BTreeMap<String, DateTime<Utc>>,
    /// The vendors' status pages we follow, by upstream id, as last recorded.
    #[serde(default)]
    pub upstreams: BTreeMap<String, UpstreamView>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ComponentState {
    pub status: ComponentStatus,
    pub since: DateTime<Utc>,
    /// What the probe saw last time the status changed (for operators).
    pub reason: String,
}

impl StatusView {
    /// Fold a whole journal.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Record>) -> StatusView {
        let mut view = StatusView::default();
        for r in records {
            view.apply(r);
        }
        view
    }

    /// When a component was first named in the journal, or else when monitoring began.
    pub fn created_at(&self, component: &str) -> Option<DateTime<Utc>> {
        self.first_seen.get(component).copied().or(self.started_at)
    }

    /// When a component's status last changed (its checks, an incident or a
    /// maintenance window), or else when it was created.
    pub fn changed_at(&self, component: &str) -> Option<DateTime<Utc>> {
        self.last_change
            .get(component)
            .copied()
            .or_else(|| self.created_at(component))
    }

    /// Remember when the status shown for each component this (folded) event touches
    /// may have changed.
    fn note_changes(&mut self, record: &Record) {
        let update_at =
            |u: &Option<crate::journal::IncidentUpdate>| u.as_ref().map_or(record.at, |u| u.at);
        let changed: Vec<(String, DateTime<Utc>)> = match &record.event {
            Event::ComponentStatusChanged { component, .. } => vec![(component.clone(), record.at)],
            Event::IncidentOpened {
                components, update, ..
            } => {
                let at = update_at(update);
                components.keys().map(|c| (c.clone(), at)).collect()
            }
            Event::IncidentChanged { components, .. } => {
                components.keys().map(|c| (c.clone(), record.at)).collect()
            }
            Event::IncidentResolved { id, update, .. } => {
                let at = update_at(update);
                self.incidents
                    .get(id)
                    .map(|i| i.components.keys().map(|c| (c.clone(), at)).collect())
                    .unwrap_or_default()
            }
            Event::MaintenanceStarted { id }
            | Event::MaintenanceCompleted { id }
            | Event::MaintenanceCancelled { id } => self
                .maintenance
                .get(id)
                .map(|m| {
                    m.window
                        .components
                        .iter()
                        .map(|c| (c.clone(), record.at))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        for (c, at) in changed {
            let last = self.last_change.entry(c).or_insert(at);
            *last = (*last).max(at);
        }
    }

    /// Fold one more event in.
    pub fn apply(&mut self, record: &Record) {
        self.last_seq = record.seq;
        if record.event.is_bookkeeping() {
            return;
        }
        self.updated_at = Some(record.at);
        self.started_at.get_or_insert(record.at);
        for c in record.event.components() {
            if !self.first_seen.contains_key(c) {
                self.first_seen.insert(c.to_owned(), record.at);
            }
        }
        match &record.event {
            Event::ComponentStatusChanged {
                component,
                to,
                reason,
                incident,
                ..
            } => {
                self.components.insert(
                    component.clone(),
                    ComponentState {
                        status: *to,
                        since: record.at,
                        reason: reason.clone(),
                    },
                );
                self.history
                    .entry(component.clone())
                    .or_default()
                    .push((record.at, *to));
                if let Some(inc) = incident.as_ref().and_then(|id| self.incidents.get_mut(id))
                    && inc.is_open()
                    && inc.automatic
                    && !to.is_operational()
                {
                    inc.components.insert(component.clone(), *to);
                    inc.impact = inc.impact.max(to.impact());
                }
                if let Some(id) = incident {
                    self.link_causes(id, record.at);
                }
            }
            Event::ComponentVisibility { component, public } => {
                if *public {
                    self.private.remove(component);
                } else {
                    self.private.insert(component.clone());
                }
            }
            Event::IncidentOpened {
                id,
                reference,
                title,
                components,
                impact,
                automatic,
                update,
                postmortem_url,
            } => {
                self.open_ids.insert(id.clone());
                self.incidents.insert(
                    id.clone(),
                    Incident {
                        id: id.clone(),
                        reference: reference.clone(),
                        title: title.clone(),
                        opened_title: title.clone(),
                        components: components.clone(),
                        impact: *impact,
                        automatic: *automatic,
                        opened_at: update.as_ref().map_or(record.at, |u| u.at),
                        resolved_at: None,
                        updates: update.iter().cloned().collect(),
                        statuses: BTreeMap::new(),
                        postmortem_url: postmortem_url.clone(),
                        causes: Vec::new(),
                    },
                );
                self.link_causes(id, record.at);
                if let Some(u) = update {
                    self.note_statuses(id, u.at);
                }
            }
            Event::IncidentUpdated { id, update, .. } => {
                if let Some(inc) = self.incidents.get_mut(id) {
                    inc.put_update(update.clone());
                    self.note_statuses(id, update.at);
                }
            }
            Event::IncidentUpdateEdited { id, update, .. } => {
                if let Some(inc) = self.incidents.get_mut(id) {
                    inc.put_update(update.clone());
                }
            }
            Event::IncidentChanged {
                id,
                title,
                components,
                impact,
                postmortem_url,
                ..
            } => {
                if let Some(inc) = self.incidents.get_mut(id) {
                    inc.title = title.clone();
                    inc.components = components.clone();
                    inc.impact = *impact;
                    inc.postmortem_url = postmortem_url.clone();
                }
                self.link_causes(id, record.at);
            }
            Event::IncidentResolved { id, update, .. } => {
                self.open_ids.remove(id);
                if let Some(inc) = self.incidents.get_mut(id) {
                    inc.resolved_at = Some(update.as_ref().map_or(record.at, |u| u.at));
                    if let Some(u) = update {
                        inc.put_update(u.clone());
                        // An update edited into the resolution keeps its time: what
                        // customers saw is what the resolution left.
                        inc.statuses.remove(&u.at);
                        self.note_statuses(id, u.at);
                    }
                }
            }
            Event::MaintenanceScheduled { id, window } => {
                self.maintenance.insert(
                    id.clone(),
                    Maintenance {
                        id: id.clone(),
                        window: window.clone(),
                        state: MaintenanceState::Scheduled,
                        scheduled_at: record.at,
                        started_at: None,
                        completed_at: None,
                        reminders_sent: Vec::new(),
                        revision: 0,
                        revised_at: None,
                        announced_at: Some(record.at),
                    },
                );
            }
            Event::MaintenanceChanged { id, window } => {
                if let Some(m) = self.maintenance.get_mut(id) {
                    if m.window.starts_at != window.starts_at
                        && m.state == MaintenanceState::Scheduled
                    {
                        // A new start is a new announcement: its reminders are due again.
                        m.reminders_sent.clear();
                        m.scheduled_at = record.at;
                    }
                    if m.window != *window {
                        m.revision += 1;
                        m.revised_at = Some(record.at);
                    }
                    m.window = window.clone();
                }
            }
            Event::MaintenanceReminder { id, before_secs } => {
                if let Some(m) = self.maintenance.get_mut(id) {
                    m.reminders_sent.push(*before_secs);
                }
            }
            Event::MaintenanceStarted { id } => {
                if let Some(m) = self.maintenance.get_mut(id) {
                    m.state = MaintenanceState::InProgress;
                    m.started_at = Some(record.at);
                }
            }
            Event::MaintenanceCompleted { id } => {
                if let Some(m) = self.maintenance.get_mut(id) {
                    m.state = MaintenanceState::Completed;
                    m.completed_at = Some(record.at);
                }
            }
            Event::MaintenanceCancelled { id } => {
                if let Some(m) = self.maintenance.get_mut(id) {
                    m.state = MaintenanceState::Cancelled;
                    m.completed_at = Some(record.at);
                    m.revision += 1;
                    m.revised_at = Some(record.at);
                }
            }
            Event::UpstreamChanged {
                upstream,
                name,
                page,
                reading,
                affects,
                notify_customers,
                reason,
            } => self.apply_upstream(
                record.at,
                upstream,
                name,
                page,
                reading,
                affects,
                *notify_customers,
                reason,
            ),
            _ => {} // subscribers and deliveries: see `is_bookkeeping`
        }
        self.note_changes(record);
    }

    /// Remember what customers saw of an incident's components when an update was
    /// posted (the first record of an update's time is kept; corrections do not move it).
    fn note_statuses(&mut self, id: &str, at: DateTime<Utc>) {
        let Some(inc) = self.incidents.get(id) else {
            return;
        };
        if inc.statuses.contains_key(&at) {
            return;
        }
        let now: BTreeMap<String, ComponentStatus> = inc
            .components
            .keys()
            .map(|c| (c.clone(), self.status_of(c)))
            .collect();
        if let Some(inc) = self.incidents.get_mut(id) {
            inc.statuses.insert(at, now);
        }
    }

    /// May customers hear of this component, as the journal has it at this point?
    pub fn is_public(&self, component: &str) -> bool {
        !self.private.contains(component)
    }

    /// A component's status as its checks confirmed it; never recorded means operational.
    pub fn probe_status(&self, component: &str) -> ComponentStatus {
        self.components
            .get(component)
            .map_or(ComponentStatus::Operational, |c| c.status)
    }

    /// What customers see for a component: the worst of its checked status, the status
    /// operators declared in open incidents, and maintenance in progress.
    pub fn status_of(&self, component: &str) -> ComponentStatus {
        let declared = self
            .open_incidents()
            .filter(|i| !i.automatic)
            .filter_map(|i| i.components.get(component).copied());
        let maintenance = self
            .under_maintenance(component)
            .then_some(ComponentStatus::UnderMaintenance);
        ComponentStatus::worst(
            std::iter::once(self.probe_status(component))
                .chain(declared)
                .chain(maintenance),
        )
        .unwrap_or(ComponentStatus::Operational)
    }

    /// What customers see of several components at once: the worst of them
    /// (operational for none).
    pub fn worst_of<'a>(&self, components: impl IntoIterator<Item = &'a str>) -> ComponentStatus {
        ComponentStatus::worst(components.into_iter().map(|c| self.status_of(c)))
            .unwrap_or(ComponentStatus::Operational)
    }

    pub fn under_maintenance(&self, component: &str) -> bool {
        self.maintenance
            .values()
            .any(|m| m.is_active() && m.covers(component))
    }

    pub fn open_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.open_ids.iter().filter_map(|id| self.incidents.get(id))
    }

    /// Open incidents in the order people should read them: the worst impact first,
    /// then the most recent.
    pub fn open_by_severity(&self) -> Vec<&Incident> {
        let mut v: Vec<&Incident> = self.open_incidents().collect();
        v.sort_by(|a, b| by_severity(a, b));
        v
    }

    /// The open incident the monitor opened for a component, if any.
    pub fn open_automatic_incident(&self, component: &str) -> Option<&Incident> {
        self.open_incidents()
            .find(|i| i.automatic && i.components.contains_key(component))
    }

    /// An open incident declared by an operator that covers this component.
    pub fn open_declared_incident(&self, component: &str) -> Option<&Incident> {
        self.open_incidents()
            .find(|i| !i.automatic && i.components.contains_key(component))
    }

    pub fn has_reference(&self, reference: &str) -> bool {
        self.incidents.values().any(|i| i.reference == reference)
    }

    /// The checked status of a component at a moment (operational before any change).
    pub fn probe_status_at(&self, component: &str, at: DateTime<Utc>) -> ComponentStatus {
        self.history
            .get(component)
            .and_then(|h| h.iter().rev().find(|(t, _)| *t <= at))
            .map_or(ComponentStatus::Operational, |(_, s)| *s)
    }

    pub fn incident_by_reference(&self, reference: &str) -> Option<&Incident> {
        self.incidents.values().find(|i| i.reference == reference)
    }

    /// The view with only the components `keep` accepts: others vanish from
    /// statuses, incidents and windows, and incidents or windows left with none of
    /// them vanish too. (What customers see when some components are not public.)
    pub fn only_components(&self, keep: &dyn Fn(&str) -> bool) -> StatusView {
        let mut v = self.clone();
        v.components.retain(|c, _| keep(c));
        v.history.retain(|c, _| keep(c));
        v.incidents.retain(|_, i| {
            let had = !i.components.is_empty();
            i.components.retain(|c, _| keep(c));
            for s in i.statuses.values_mut() {
                s.retain(|c, _| keep(c));
            }
            !had || !i.components.is_empty()
        });
        v.open_ids.retain(|id| v.incidents.contains_key(id));
        v.maintenance.retain(|_, m| {
            m.window.components.retain(|c| keep(c));
            !m.window.components.is_empty()
        });
        v
    }
}

/// The order incidents are listed in: worst impact first, then newest, then by id.
pub fn by_severity(a: &Incident, b: &Incident) -> std::cmp::Ordering {
    b.impact
        .cmp(&a.impact)
        .then(b.opened_at.cmp(&a.opened_at))
        .then(a.id.cmp(&b.id))
}

#[cfg(test)]
mod tests;

/// The journal folded answers what reading the declared files needs to know.
impl Published for StatusView {
    fn incident(&self, id: &str) -> Option<PublishedIncident> {
        self.incidents.get(id).map(published)
    }

    fn incident_by_reference(&self, reference: &str) -> Option<PublishedIncident> {
        StatusView::incident_by_reference(self, reference).map(published)
    }

    fn maintenance(&self, id: &str) -> Option<PublishedWindow> {
        self.maintenance.get(id).map(|m| PublishedWindow {
            starts_at: m.window.starts_at,
            over: m.state.is_over(),
        })
    }
}

fn published(incident: &Incident) -> PublishedIncident {
    PublishedIncident {
        reference: incident.reference.clone(),
        automatic: incident.automatic,
        opened_at: incident.opened_at,
        resolved_at: incident.resolved_at,
    }
}
