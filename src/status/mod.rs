//! What is true now, derived by folding the journal: the [`StatusView`].

pub mod rollup;
mod vocab;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::journal::{Event, Record};
pub use vocab::{ComponentStatus, Impact};

/// Current status of every component that has a recorded status, and every incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusView {
    pub components: BTreeMap<String, ComponentState>,
    pub incidents: BTreeMap<String, Incident>,
    /// Sequence number of the last event folded in.
    pub last_seq: u64,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentState {
    pub status: ComponentStatus,
    pub since: DateTime<Utc>,
    /// What the probe saw last time the status changed (for operators).
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub components: BTreeMap<String, ComponentStatus>,
    /// The worst impact the incident reached.
    pub impact: Impact,
    pub automatic: bool,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl Incident {
    pub fn is_open(&self) -> bool {
        self.resolved_at.is_none()
    }
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

    /// Fold one more event in.
    pub fn apply(&mut self, record: &Record) {
        self.last_seq = record.seq;
        self.updated_at = Some(record.at);
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
                if let Some(inc) = incident.as_ref().and_then(|id| self.incidents.get_mut(id))
                    && inc.is_open()
                    && !to.is_operational()
                {
                    inc.components.insert(component.clone(), *to);
                    inc.impact = inc.impact.max(to.impact());
                }
            }
            Event::IncidentOpened {
                id,
                reference,
                title,
                components,
                impact,
                automatic,
            } => {
                self.incidents.insert(
                    id.clone(),
                    Incident {
                        id: id.clone(),
                        reference: reference.clone(),
                        title: title.clone(),
                        components: components.clone(),
                        impact: *impact,
                        automatic: *automatic,
                        opened_at: record.at,
                        resolved_at: None,
                    },
                );
            }
            Event::IncidentResolved { id, .. } => {
                if let Some(inc) = self.incidents.get_mut(id) {
                    inc.resolved_at = Some(record.at);
                }
            }
        }
    }

    /// A component's recorded status; components never recorded are operational.
    pub fn status_of(&self, component: &str) -> ComponentStatus {
        self.components
            .get(component)
            .map_or(ComponentStatus::Operational, |c| c.status)
    }

    pub fn open_incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.values().filter(|i| i.is_open())
    }

    /// The open incident the monitor opened for a component, if any.
    pub fn open_automatic_incident(&self, component: &str) -> Option<&Incident> {
        self.open_incidents()
            .find(|i| i.automatic && i.components.contains_key(component))
    }

    pub fn has_reference(&self, reference: &str) -> bool {
        self.incidents.values().any(|i| i.reference == reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64, at: &str, event: Event) -> Record {
        Record {
            seq,
            at: at.parse().unwrap(),
            event,
        }
    }

    #[test]
    fn folding_tracks_status_and_incident_lifecycle() {
        let id = "INC-2026-1122-api".to_string();
        let records = vec![
            rec(
                1,
                "2026-11-22T10:00:00Z",
                Event::ComponentStatusChanged {
                    component: "api".into(),
                    from: ComponentStatus::Operational,
                    to: ComponentStatus::DegradedPerformance,
                    reason: "slow".into(),
                    incident: Some(id.clone()),
                },
            ),
            rec(
                2,
                "2026-11-22T10:00:00Z",
                Event::IncidentOpened {
                    id: id.clone(),
                    reference: id.clone(),
                    title: "API: degraded performance".into(),
                    components: [("api".to_string(), ComponentStatus::DegradedPerformance)].into(),
                    impact: Impact::Minor,
                    automatic: true,
                },
            ),
            rec(
                3,
                "2026-11-22T10:05:00Z",
                Event::ComponentStatusChanged {
                    component: "api".into(),
                    from: ComponentStatus::DegradedPerformance,
                    to: ComponentStatus::MajorOutage,
                    reason: "HTTP 503".into(),
                    incident: Some(id.clone()),
                },
            ),
        ];
        let view = StatusView::from_records(&records);
        assert_eq!(view.status_of("api"), ComponentStatus::MajorOutage);
        assert_eq!(view.status_of("never-seen"), ComponentStatus::Operational);
        let inc = view.open_automatic_incident("api").unwrap();
        assert_eq!(
            inc.impact,
            Impact::Critical,
            "impact escalates with the status"
        );
        assert_eq!(inc.components["api"], ComponentStatus::MajorOutage);

        let mut view = view;
        view.apply(&rec(
            4,
            "2026-11-22T10:20:00Z",
            Event::IncidentResolved {
                id: id.clone(),
                reference: id.clone(),
                duration_secs: 1200,
            },
        ));
        assert!(view.open_automatic_incident("api").is_none());
        assert_eq!(view.last_seq, 4);
        assert!(view.has_reference(&id));
    }
}
