//! The Statuspage-compatible JSON files of the site, under `api/v2/`, drawn with the
//! shapes of [`crate::present::api`] (which notices' webhooks use too).

use serde_json::{Value, json};

use super::model::Input;
use crate::present::api::{
    Ctx, LIST_LIMIT, components, incident, maintenance, page, status, upstream,
};
use crate::status::{Incident, Maintenance, MaintenanceState};

/// Every API file: path under the site root, and its JSON.
pub fn files(input: &Input<'_>) -> Vec<(String, Value)> {
    let input = &Ctx {
        config: input.config,
        view: input.view,
        now: input.now,
        operator: false,
    };
    let mut incidents: Vec<&Incident> = input.view.incidents.values().collect();
    incidents.sort_by_key(|x| std::cmp::Reverse(x.opened_at));
    // Open incidents the worst first, as on the page.
    let unresolved: Vec<Value> = input
        .view
        .open_by_severity()
        .iter()
        .map(|i| incident(input, i))
        .collect();
    let recent: Vec<Value> = incidents
        .iter()
        .take(LIST_LIMIT)
        .map(|i| incident(input, i))
        .collect();
    let mut windows: Vec<&Maintenance> = input.view.maintenance.values().collect();
    windows.sort_by_key(|x| std::cmp::Reverse(x.window.starts_at));
    let upcoming: Vec<Value> = windows
        .iter()
        .filter(|m| m.state == MaintenanceState::Scheduled)
        .map(|m| maintenance(input, m))
        .collect();
    let active: Vec<Value> = windows
        .iter()
        .filter(|m| m.is_active())
        .map(|m| maintenance(input, m))
        .collect();
    let all: Vec<Value> = windows
        .iter()
        .take(LIST_LIMIT)
        .map(|m| maintenance(input, m))
        .collect();
    let page = page(input);
    let status = status(input);
    let components = components(input);
    let upstreams: Vec<Value> = input
        .config
        .upstreams
        .iter()
        .map(|u| upstream(input, u))
        .collect();
    let mut current = active.clone();
    current.extend(upcoming.iter().cloned());
    vec![
        (
            "api/v2/summary.json".into(),
            json!({"page": page, "components": components, "incidents": unresolved, "scheduled_maintenances": current, "status": status, "upstreams": upstreams}),
        ),
        (
            "api/v2/status.json".into(),
            json!({"page": page, "status": status}),
        ),
        (
            "api/v2/components.json".into(),
            json!({"page": page, "components": components}),
        ),
        (
            "api/v2/incidents.json".into(),
            json!({"page": page, "incidents": recent}),
        ),
        (
            "api/v2/incidents/unresolved.json".into(),
            json!({"page": page, "incidents": unresolved}),
        ),
        (
            "api/v2/scheduled-maintenances.json".into(),
            json!({"page": page, "scheduled_maintenances": all}),
        ),
        (
            "api/v2/scheduled-maintenances/upcoming.json".into(),
            json!({"page": page, "scheduled_maintenances": upcoming}),
        ),
        (
            "api/v2/scheduled-maintenances/active.json".into(),
            json!({"page": page, "scheduled_maintenances": active}),
        ),
    ]
}
