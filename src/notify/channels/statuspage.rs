//! Atlassian Statuspage's webhook body, so a receiver built for Statuspage reads ours
//! unchanged: `{"meta", "page", "incident"}` for incidents and maintenance (Statuspage
//! sends scheduled maintenance as incidents), `{"meta", "page", "component_update",
//! "component"}` for a component's status change. The incident and component are in the
//! JSON API's shape as they stood then. Pure.

use serde_json::{Value, json};

use crate::config::Config;
use crate::notify::compose::{Composed, What};
use crate::present::api;
use crate::vocab::ComponentStatus;

/// Where the shape is documented.
pub const DOCUMENTATION: &str =
    "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/";

/// The body for this notice, or `None` when Statuspage has no such webhook (operator
/// alerts, confirmations).
pub fn body(
    config: &Config,
    composed: &Composed,
    operator: bool,
    unsubscribe_url: &str,
) -> Option<Vec<u8>> {
    let data = composed.data_for(operator);
    let (indicator, description) =
        api::indicator(composed.page_status.unwrap_or(ComponentStatus::Operational));
    let mut body = json!({
        "meta": {
            "unsubscribe": unsubscribe_url,
            "documentation": DOCUMENTATION,
        },
        "page": {
            "id": api::page_id_of(config),
            "status_indicator": indicator,
            "status_description": description,
        },
    });
    let at = composed
        .at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match &composed.what {
        What::Incident { .. } => body["incident"] = webhook_incident(data.get("incident")?, false),
        What::Maintenance { .. } => {
            body["incident"] = webhook_incident(data.get("maintenance")?, true)
        }
        What::Component => {
            let component = data.get("component")?.clone();
            let id = component.get("id").cloned().unwrap_or(Value::Null);
            body["component_update"] = json!({
                "id": format!("{}-{}", composed.seq, id.as_str().unwrap_or_default()),
                "created_at": at,
                "old_status": data.get("old_status")?,
                "new_status": data.get("new_status")?,
                "component_id": id,
            });
            body["component"] = component;
        }
        What::Confirmation { .. } | What::Alert { .. } | What::Vendor { .. } => return None,
    }
    serde_json::to_vec(&body).ok()
}

/// The incident as Statuspage's webhooks carry it: the API's shape with the fields only
/// its webhooks have, at the values that are true here (nothing backfilled or
/// overridden, no tweets; a maintenance window moves on by itself).
fn webhook_incident(api: &Value, maintenance: bool) -> Value {
    let mut incident = api.clone();
    let Some(fields) = incident.as_object_mut() else {
        return incident;
    };
    for (key, value) in [
        ("backfilled", json!(false)),
        ("impact_override", Value::Null),
        ("postmortem_body", Value::Null),
        ("postmortem_body_last_updated_at", Value::Null),
        ("postmortem_ignored", json!(false)),
        ("postmortem_notified_subscribers", json!(false)),
        ("postmortem_notified_twitter", json!(false)),
        ("postmortem_published_at", Value::Null),
        ("scheduled_auto_transition", json!(maintenance)),
        ("scheduled_for", Value::Null),
        ("scheduled_remind_prior", json!(maintenance)),
        ("scheduled_reminded_at", Value::Null),
        ("scheduled_until", Value::Null),
        ("organization_id", Value::Null),
    ] {
        fields.entry(key).or_insert(value);
    }
    if let Some(updates) = fields
        .get_mut("incident_updates")
        .and_then(Value::as_array_mut)
    {
        for u in updates.iter_mut().filter_map(Value::as_object_mut) {
            u.entry("twitter_updated_at").or_insert(Value::Null);
            u.entry("wants_twitter_update").or_insert(json!(false));
        }
    }
    incident
}
