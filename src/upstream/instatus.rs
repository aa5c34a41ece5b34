//! Instatus: `summary.json` (the page's status, active incidents and maintenance) and
//! `v2/components.json` (each component with its group).

use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::statuspage::{impact, incident_status};
use super::text::{MAX_NAME, MAX_TITLE, clean, link};
use super::{
    ComponentStatus, Page, PageError, PageKind, VendorComponent, VendorIncident, status_word,
    vendor_time,
};

#[derive(Deserialize)]
struct Summary {
    page: PageInfo,
    #[serde(default, rename = "activeIncidents")]
    active_incidents: Vec<Incident>,
    #[serde(default, rename = "activeMaintenances")]
    active_maintenances: Vec<Incident>,
}

#[derive(Deserialize)]
struct PageInfo {
    #[serde(default)]
    name: Option<String>,
    status: String,
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
    url: Option<String>,
    #[serde(default)]
    started: Option<Value>,
    #[serde(default)]
    start: Option<Value>,
    #[serde(default, rename = "updatedAt")]
    updated_at: Option<Value>,
}

#[derive(Deserialize)]
struct Components {
    components: Vec<Component>,
}

#[derive(Deserialize)]
struct Component {
    #[serde(default)]
    id: Option<String>,
    name: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    group: Option<Group>,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    name: Option<String>,
}

/// Is this Instatus's `summary.json`? (`page.status` is one of its words.)
pub fn looks_like(body: &[u8]) -> bool {
    serde_json::from_slice::<Summary>(body).is_ok_and(|s| {
        matches!(
            s.page.status.as_str(),
            "UP" | "HASISSUES" | "UNDERMAINTENANCE"
        )
    })
}

/// Read `summary.json`, with `v2/components.json` when it could be read.
pub fn summary(body: &[u8], components: Option<&[u8]>, base: &Url) -> Result<Page, PageError> {
    let s: Summary = serde_json::from_slice(body).map_err(|e| {
        PageError::NotUnderstood(format!("its summary.json is not in Instatus's shape ({e})"))
    })?;
    let components: Vec<VendorComponent> = match components {
        Some(b) => {
            let list: Components = serde_json::from_slice(b).map_err(|e| {
                PageError::NotUnderstood(format!(
                    "its v2/components.json is not in Instatus's shape ({e})"
                ))
            })?;
            list.components
                .into_iter()
                .map(|c| {
                    let name = clean(&c.name, MAX_NAME);
                    VendorComponent {
                        id: c.id.map_or_else(|| name.clone(), |id| clean(&id, MAX_NAME)),
                        name,
                        status: status_word(c.status.as_deref().unwrap_or("OPERATIONAL")),
                        group: c.group.and_then(|g| g.name).map(|n| clean(&n, MAX_NAME)),
                        is_group: false,
                    }
                })
                .collect()
        }
        None => Vec::new(),
    };
    let overall = match s.page.status.as_str() {
        "UP" => ComponentStatus::Operational,
        "UNDERMAINTENANCE" => ComponentStatus::UnderMaintenance,
        _ => ComponentStatus::worst(components.iter().map(|c| c.status))
            .filter(|w| !w.is_operational())
            .unwrap_or(ComponentStatus::PartialOutage),
    };
    let incident = |i: &Incident, maintenance: bool| {
        let url = link(i.url.as_deref(), base).unwrap_or_else(|| base.to_string());
        (
            VendorIncident {
                id: i.id.clone().unwrap_or_else(|| url.clone()),
                title: clean(&i.name, MAX_TITLE),
                status: i.status.as_deref().and_then(incident_status),
                impact: i.impact.as_deref().and_then(impact),
                url,
                started_at: [&i.started, &i.start]
                    .into_iter()
                    .flatten()
                    .find_map(vendor_time),
                updated_at: i.updated_at.as_ref().and_then(vendor_time),
                maintenance,
            },
            Vec::new(),
        )
    };
    let mut incidents: Vec<(VendorIncident, Vec<String>)> = s
        .active_incidents
        .iter()
        .filter(|i| {
            !i.status
                .as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case("RESOLVED"))
        })
        .map(|i| incident(i, false))
        .collect();
    incidents.extend(s.active_maintenances.iter().map(|m| incident(m, true)));
    Ok(Page {
        kind: PageKind::Instatus,
        title: s.page.name.map(|n| clean(&n, MAX_NAME)),
        overall,
        components,
        incidents,
    })
}
