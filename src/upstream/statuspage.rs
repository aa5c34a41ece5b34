//! Atlassian Statuspage's `api/v2/summary.json`, as Atlassian documents it, and the
//! pages that copy its shape: incident.io's compatible endpoint (no groups; its
//! summary may leave the incidents out, then `api/v2/incidents.json` is read) and
//! another forewarn (which adds `upstreams`).

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::text::{MAX_NAME, MAX_TITLE, clean, link};
use super::{Page, PageError, PageKind, VendorComponent, VendorIncident, status_word, vendor_time};
use crate::vocab::{Impact, IncidentStatus};

#[derive(Deserialize)]
struct Summary {
    #[serde(default)]
    page: Option<PageInfo>,
    components: Vec<Component>,
    #[serde(default)]
    incidents: Option<Vec<Incident>>,
    #[serde(default)]
    scheduled_maintenances: Vec<Incident>,
    #[serde(default)]
    status: Option<Status>,
    /// Written by forewarn only.
    #[serde(default)]
    upstreams: Option<Value>,
}

#[derive(Deserialize)]
struct PageInfo {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    indicator: Option<String>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    status: Option<String>,
    /// Absent on pages that have no groups (incident.io).
    #[serde(default)]
    group: Option<bool>,
    #[serde(default)]
    group_id: Option<String>,
    /// A group's members: their ids (Atlassian), or whole components (some copies).
    #[serde(default)]
    components: Vec<Value>,
}

#[derive(Deserialize)]
struct Incident {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    impact: Option<String>,
    #[serde(default)]
    shortlink: Option<String>,
    #[serde(default)]
    started_at: Option<Value>,
    #[serde(default)]
    created_at: Option<Value>,
    #[serde(default)]
    scheduled_for: Option<Value>,
    #[serde(default)]
    updated_at: Option<Value>,
    #[serde(default)]
    components: Vec<Value>,
}

#[derive(Deserialize)]
struct Incidents {
    incidents: Vec<Incident>,
}

/// Read a summary. `Ok(page, incidents_missing)`: the summary had no `incidents`
/// (incident.io), so they must be read from `api/v2/incidents.json`.
pub fn summary(body: &[u8], base: &Url) -> Result<(Page, bool), PageError> {
    let s: Summary = serde_json::from_slice(body).map_err(|e| {
        PageError::NotUnderstood(format!(
            "its api/v2/summary.json is not in Statuspage's shape ({e})"
        ))
    })?;
    let kind = if s.upstreams.is_some() {
        PageKind::Forewarn
    } else if s.incidents.is_none() || s.components.iter().all(|c| c.group.is_none()) {
        PageKind::IncidentIo
    } else {
        PageKind::Statuspage
    };
    let mut components = Vec::new();
    let groups: Vec<(String, String)> = s
        .components
        .iter()
        .filter(|c| c.group == Some(true))
        .filter_map(|c| Some((c.id.clone()?, clean(&c.name, MAX_NAME))))
        .collect();
    let group_name = |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| groups.iter().find(|(g, _)| g == id))
            .map(|(_, n)| n.clone())
    };
    for c in &s.components {
        let name = clean(&c.name, MAX_NAME);
        let is_group = c.group == Some(true) || !c.components.is_empty();
        components.push(VendorComponent {
            id: c
                .id
                .as_deref()
                .map_or_else(|| name.clone(), |id| clean(id, MAX_NAME)),
            name: name.clone(),
            status: status_word(c.status.as_deref().unwrap_or("operational")),
            group: group_name(&c.group_id),
            is_group,
        });
        // Members given whole inside their group, and nowhere else.
        for member in &c.components {
            let Ok(m) = serde_json::from_value::<Component>(member.clone()) else {
                continue;
            };
            let id = clean(m.id.as_deref().unwrap_or(&m.name), MAX_NAME);
            if s.components
                .iter()
                .any(|top| top.id.as_deref() == Some(&id))
            {
                continue;
            }
            components.push(VendorComponent {
                id,
                name: clean(&m.name, MAX_NAME),
                status: status_word(m.status.as_deref().unwrap_or("operational")),
                group: Some(name.clone()),
                is_group: false,
            });
        }
    }
    let missing = s.incidents.is_none();
    let mut incidents: Vec<(VendorIncident, Vec<String>)> = s
        .incidents
        .unwrap_or_default()
        .iter()
        .filter(|i| !is_over(i.status.as_deref()))
        .map(|i| incident(i, base, false))
        .collect();
    incidents.extend(
        s.scheduled_maintenances
            .iter()
            .filter(|m| matches!(m.status.as_deref(), Some("in_progress") | Some("verifying")))
            .map(|m| incident(m, base, true)),
    );
    let overall = s.status.and_then(|st| st.indicator).map_or_else(
        || {
            super::ComponentStatus::worst(components.iter().map(|c| c.status))
                .unwrap_or(super::ComponentStatus::Operational)
        },
        |w| status_word(&w),
    );
    Ok((
        Page {
            kind,
            title: s.page.and_then(|p| p.name).map(|n| clean(&n, MAX_NAME)),
            overall,
            components,
            incidents,
        },
        missing,
    ))
}

/// The open incidents of `api/v2/incidents.json` (for pages whose summary has none).
pub fn open_incidents(
    body: &[u8],
    base: &Url,
) -> Result<Vec<(VendorIncident, Vec<String>)>, PageError> {
    let list: Incidents = serde_json::from_slice(body).map_err(|e| {
        PageError::NotUnderstood(format!(
            "its api/v2/incidents.json is not in Statuspage's shape ({e})"
        ))
    })?;
    Ok(list
        .incidents
        .iter()
        .filter(|i| !is_over(i.status.as_deref()))
        .map(|i| incident(i, base, false))
        .collect())
}

fn is_over(status: Option<&str>) -> bool {
    matches!(
        status,
        Some("resolved") | Some("postmortem") | Some("completed")
    )
}

fn incident(i: &Incident, base: &Url, maintenance: bool) -> (VendorIncident, Vec<String>) {
    let url = link(i.shortlink.as_deref(), base)
        .or_else(|| {
            i.id.as_deref()
                .and_then(|id| link(Some(&format!("incidents/{id}")), base))
        })
        .unwrap_or_else(|| base.to_string());
    let names: Vec<String> = i
        .components
        .iter()
        .filter_map(|c| match c {
            Value::String(id) => Some(id.clone()),
            Value::Object(o) => o
                .get("name")
                .and_then(Value::as_str)
                .map(|n| clean(n, MAX_NAME)),
            _ => None,
        })
        .collect();
    let ids: Vec<String> = i
        .components
        .iter()
        .filter_map(|c| c.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let started = [&i.started_at, &i.scheduled_for, &i.created_at]
        .into_iter()
        .flatten()
        .find_map(vendor_time);
    (
        VendorIncident {
            id: i.id.clone().unwrap_or_else(|| url.clone()),
            title: clean(&i.name, MAX_TITLE),
            status: i.status.as_deref().and_then(incident_status),
            impact: i.impact.as_deref().and_then(impact),
            url,
            started_at: started,
            updated_at: i.updated_at.as_ref().and_then(vendor_time),
            maintenance,
        },
        names.into_iter().chain(ids).collect(),
    )
}

/// Their repair's stage, in the words both Statuspage and Instatus use.
pub fn incident_status(word: &str) -> Option<IncidentStatus> {
    match word.to_ascii_lowercase().as_str() {
        "investigating" => Some(IncidentStatus::Investigating),
        "identified" => Some(IncidentStatus::Identified),
        "monitoring" | "verifying" => Some(IncidentStatus::Monitoring),
        "resolved" | "completed" | "postmortem" => Some(IncidentStatus::Resolved),
        _ => None,
    }
}

pub fn impact(word: &str) -> Option<Impact> {
    match word.to_ascii_lowercase().replace(['_', ' '], "").as_str() {
        "none" | "operational" => Some(Impact::None),
        "minor" | "degradedperformance" => Some(Impact::Minor),
        "major" | "partialoutage" | "minoroutage" => Some(Impact::Major),
        "critical" | "majoroutage" => Some(Impact::Critical),
        _ => None,
    }
}
