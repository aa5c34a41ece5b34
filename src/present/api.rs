//! The JSON API, with the field names and values of Atlassian Statuspage's public v2 API
//! (`/api/v2/summary.json` and friends), so tools that read Statuspage pages read ours.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::links::incident_url;
use crate::config::Config;
use crate::present::text::iso;
use crate::status::{
    Cause, ComponentStatus, Incident, IncidentStatus, Maintenance, MaintenanceState, StatusView,
};

/// How many incidents or windows the list endpoints show, as Statuspage does.
pub const LIST_LIMIT: usize = 50;

/// A stable page id from the site's address.
pub fn page_id(input: &Ctx<'_>) -> String {
    page_id_of(input.config)
}

/// The page id of this configuration's site.
pub fn page_id_of(config: &Config) -> String {
    let host = config.site.base_url.host_str().unwrap_or("status");
    host.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

pub fn page(input: &Ctx<'_>) -> Value {
    json!({
        "id": page_id(input),
        "name": input.config.site.title,
        "url": input.config.site_root(),
        "time_zone": input.config.site.timezone.name(),
        "updated_at": iso(input.view.updated_at.unwrap_or(input.now)),
    })
}

/// `{indicator, description}` from the worst component status.
pub fn status(input: &Ctx<'_>) -> Value {
    let worst = input
        .view
        .worst_of(input.config.components.iter().map(|c| c.id.as_str()));
    let (indicator, description) = indicator(worst);
    json!({ "indicator": indicator, "description": description })
}

/// Statuspage's page indicator and its words for the worst component status.
pub fn indicator(worst: ComponentStatus) -> (&'static str, &'static str) {
    match worst {
        ComponentStatus::Operational => ("none", "All Systems Operational"),
        ComponentStatus::UnderMaintenance => ("none", "Maintenance In Progress"),
        ComponentStatus::DegradedPerformance => ("minor", "Degraded Performance"),
        ComponentStatus::PartialOutage => ("major", "Partial System Outage"),
        ComponentStatus::MajorOutage => ("critical", "Major System Outage"),
    }
}

fn group_id(name: &str) -> String {
    format!(
        "group-{}",
        name.to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    )
}

pub fn component(input: &Ctx<'_>, id: &str, position: usize) -> Value {
    let c = input.config.component(id);
    // Never the build's clock: two builds with nothing new in between say the same.
    let page_time = || input.view.updated_at.unwrap_or(input.now);
    let created = input.view.created_at(id).unwrap_or_else(page_time);
    let changed = input.view.changed_at(id).unwrap_or(created);
    json!({
        "id": id,
        "name": c.map_or(id, |c| c.name.as_str()),
        "status": input.view.status_of(id).as_str(),
        "created_at": iso(created),
        "updated_at": iso(changed),
        "position": position,
        "description": c.and_then(|c| c.description.clone()),
        "showcase": true,
        "start_date": null,
        "group_id": c.and_then(|c| c.group.as_deref()).map(group_id),
        "page_id": page_id(input),
        "group": false,
        "only_show_if_degraded": false,
    })
}

/// Every component, then one group component per group (Statuspage's shape).
pub fn components(input: &Ctx<'_>) -> Vec<Value> {
    let mut out: Vec<Value> = input
        .config
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| component(input, &c.id, i + 1))
        .collect();
    let mut groups: Vec<&str> = Vec::new();
    for c in &input.config.components {
        if let Some(g) = c.group.as_deref()
            && !groups.contains(&g)
        {
            groups.push(g);
        }
    }
    for (i, g) in groups.iter().enumerate() {
        let members: Vec<&str> = input
            .config
            .components
            .iter()
            .filter(|c| c.group.as_deref() == Some(*g))
            .map(|c| c.id.as_str())
            .collect();
        let worst = input.view.worst_of(members.iter().copied());
        let page_time = input.view.updated_at.unwrap_or(input.now);
        let created = members
            .iter()
            .filter_map(|m| input.view.created_at(m))
            .min()
            .unwrap_or(page_time);
        let changed = members
            .iter()
            .filter_map(|m| input.view.changed_at(m))
            .max()
            .unwrap_or(created);
        out.push(json!({
            "id": group_id(g),
            "name": g,
            "status": worst.as_str(),
            "created_at": iso(created),
            "updated_at": iso(changed),
            "position": input.config.components.len() + i + 1,
            "description": null,
            "showcase": false,
            "start_date": null,
            "group_id": null,
            "page_id": page_id(input),
            "group": true,
            "only_show_if_degraded": false,
            "components": members,
        }));
    }
    out
}

/// The components customers may see of an incident.
fn shown<'a>(
    input: &'a Ctx<'_>,
    ids: impl Iterator<Item = &'a String> + 'a,
) -> impl Iterator<Item = &'a String> + 'a {
    ids.filter(|c| input.config.is_public(c))
}

/// Where a component stands on the page (1 for the first), as in `components.json`.
/// Customers' pages list only public components, so only those are counted for them.
pub fn position_of(input: &Ctx<'_>, id: &str) -> usize {
    let listed: Vec<&str> = input
        .config
        .components
        .iter()
        .filter(|c| input.operator || c.public || c.id == id)
        .map(|c| c.id.as_str())
        .collect();
    listed
        .iter()
        .position(|c| *c == id)
        .map_or(listed.len() + 1, |n| n + 1)
}

fn name_of<'a>(input: &'a Ctx<'_>, id: &'a str) -> &'a str {
    input.config.component(id).map_or(id, |x| x.name.as_str())
}

pub fn incident(input: &Ctx<'_>, i: &Incident) -> Value {
    let updates: Vec<Value> = i
        .updates
        .iter()
        .rev()
        .map(|u| {
            // What each component was before this update, and what it was once posted;
            // a journal from before these were kept has the incident's own statuses.
            let (old, mut new) = i.statuses_around(u.at);
            if new.is_empty() {
                new = i.components.clone();
            }
            let affected: Vec<Value> = shown(input, new.keys())
                .map(|c| {
                    json!({
                        "code": c,
                        "name": name_of(input, c),
                        "old_status": old.get(c).copied().unwrap_or(ComponentStatus::Operational).as_str(),
                        "new_status": new[c].as_str(),
                    })
                })
                .collect();
            json!({
                "id": format!("{}-{}", i.id, u.at.timestamp()),
                "status": u.status.as_str(),
                "body": u.message,
                "incident_id": i.id,
                "created_at": iso(u.at),
                "updated_at": iso(u.at),
                "display_at": iso(u.at),
                "affected_components": affected,
                "deliver_notifications": u.notify,
                "eta": u.eta.map(iso),
                "next_update": u.next_update.map(iso),
                "apology": u.apology,
                "credit": u.credit,
            })
        })
        .collect();
    let monitoring_at = i
        .updates
        .iter()
        .find(|u| u.status == IncidentStatus::Monitoring)
        .map(|u| iso(u.at));
    let comps: Vec<Value> = shown(input, i.components.keys())
        .map(|c| component(input, c, position_of(input, c)))
        .collect();
    json!({
        "id": i.id,
        "name": i.title,
        "status": i.status().as_str(),
        "created_at": iso(i.opened_at),
        "updated_at": iso(i.updates.last().map_or(i.opened_at, |u| u.at)),
        "monitoring_at": monitoring_at,
        "resolved_at": i.resolved_at.map(iso),
        "impact": i.impact.as_str(),
        "shortlink": incident_url(input.config, &i.reference),
        "started_at": iso(i.opened_at),
        "page_id": page_id(input),
        "incident_updates": updates,
        "components": comps,
        "postmortem_body": null,
        "postmortem_published_at": null,
        "reference": i.reference,
        // Beyond Statuspage's fields: what people read, for machines too.
        "eta": i.eta().filter(|e| *e > input.now).map(iso),
        "next_update": i
            .next_update()
            .filter(|n| i.is_open() && *n > input.now)
            .map(iso),
        "apology": i.apology(),
        "credit": i.credit(),
        "postmortem_url": i.postmortem_url,
        "caused_by": i
            .causes
            .iter()
            .filter(|c| {
                input.operator || (c.public && input.config.upstream_is_public(&c.upstream))
            })
            .map(cause)
            .collect::<Vec<Value>>(),
    })
}

/// A vendor's trouble named on one of our incidents (beyond Statuspage's fields).
pub fn cause(c: &Cause) -> Value {
    json!({
        "upstream": c.upstream,
        "name": c.name,
        "status": c.status.as_str(),
        "incident_name": c.title,
        "shortlink": c.url,
        "affected_components": c.parts,
        "reported_at": iso(c.reported_at),
        "fixed_at": c.fixed_at.map(iso),
    })
}

/// A vendor's page we follow, for `summary.json`'s `upstreams` (beyond Statuspage's
/// fields): their status and incidents, in their words, and our components that
/// depend on them.
pub fn upstream(input: &Ctx<'_>, u: &crate::config::Upstream) -> Value {
    match input.view.upstream(&u.id) {
        Some(seen) => {
            let mut v = upstream_seen(input.config, seen, input.operator);
            v["name"] = json!(u.name);
            v["page"] = json!(u.page.as_str());
            v
        }
        None => json!({
            "id": u.id,
            "name": u.name,
            "page": u.page.as_str(),
            "status": "unknown",
            "updated_at": null,
            "components": [],
            "incidents": [],
            "depended_on_by": dependents(input.config, &u.id, input.operator),
        }),
    }
}

fn dependents<'a>(config: &'a Config, upstream: &'a str, operator: bool) -> Vec<&'a str> {
    config
        .dependents_of(upstream)
        .filter(|c| operator || c.public)
        .map(|c| c.id.as_str())
        .collect()
}

/// A vendor's page as the journal last recorded it, in the shape of
/// [`upstream`].
pub fn upstream_seen(config: &Config, seen: &crate::status::UpstreamView, operator: bool) -> Value {
    let r = &seen.reading;
    json!({
        "id": seen.id,
        "name": seen.name,
        "page": seen.page,
        "status": r.status.map_or("unknown", ComponentStatus::as_str),
        "updated_at": iso(seen.changed_at),
        "components": r.components
            .iter()
            .map(|(name, s)| json!({"name": name, "status": s.as_str()}))
            .collect::<Vec<Value>>(),
        "incidents": r.incidents
            .iter()
            .map(|i| json!({
                "id": i.id,
                "name": i.title,
                "status": i.status.map(|s| s.as_str()),
                "impact": i.impact.map(|s| s.as_str()),
                "shortlink": i.url,
                "started_at": i.started_at.map(iso),
                "updated_at": i.updated_at.map(iso),
                "maintenance": i.maintenance,
            }))
            .collect::<Vec<Value>>(),
        "depended_on_by": dependents(config, &seen.id, operator),
    })
}

pub fn maintenance(input: &Ctx<'_>, m: &Maintenance) -> Value {
    let status = match m.state {
        MaintenanceState::Scheduled => "scheduled",
        MaintenanceState::InProgress => "in_progress",
        MaintenanceState::Completed | MaintenanceState::Cancelled => "completed",
    };
    let comps: Vec<Value> = shown(input, m.window.components.iter())
        .map(|c| component(input, c, position_of(input, c)))
        .collect();
    let affected = |new: &str| -> Vec<Value> {
        shown(input, m.window.components.iter())
            .map(|c| json!({"code": c, "name": name_of(input, c), "new_status": new}))
            .collect()
    };
    // Each step is an update of its own, with its own id, status and time.
    let step = |id: String, step: &str, at: DateTime<Utc>, body: &str, now: &str| {
        json!({
            "id": id,
            "status": step,
            "body": body,
            "incident_id": m.id,
            "created_at": iso(at),
            "updated_at": iso(at),
            "display_at": iso(at),
            "affected_components": affected(now),
            "deliver_notifications": true,
        })
    };
    let mut updates = vec![step(
        format!("{}-{}", m.id, m.scheduled_at.timestamp()),
        "scheduled",
        m.scheduled_at,
        &m.window.message,
        "operational",
    )];
    if let Some(at) = m.started_at {
        updates.push(step(
            format!("{}-in_progress-{}", m.id, at.timestamp()),
            "in_progress",
            at,
            "The maintenance has started.",
            "under_maintenance",
        ));
    }
    if let Some(at) = m.completed_at {
        let (name, body) = if m.state == MaintenanceState::Cancelled {
            ("cancelled", "The maintenance was cancelled.")
        } else {
            ("completed", "The maintenance is complete.")
        };
        updates.push(step(
            format!("{}-{name}-{}", m.id, at.timestamp()),
            name,
            at,
            body,
            "operational",
        ));
    }
    updates.reverse();
    json!({
        "id": m.id,
        "name": m.window.title,
        "status": status,
        "created_at": iso(m.scheduled_at),
        "updated_at": iso(
            [m.completed_at, m.started_at, Some(m.last_revised())]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(m.scheduled_at)
        ),
        "monitoring_at": null,
        "resolved_at": m.completed_at.map(iso),
        "impact": "maintenance",
        "shortlink": input.config.site.base_url.as_str(),
        "started_at": iso(m.started_at.unwrap_or(m.window.starts_at)),
        "page_id": page_id(input),
        "incident_updates": updates,
        "components": comps,
        "scheduled_for": iso(m.window.starts_at),
        "scheduled_until": iso(m.window.ends_at),
        "cancelled": m.state == MaintenanceState::Cancelled,
    })
}

/// What the API's shapes are drawn from.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub view: &'a StatusView,
    pub now: DateTime<Utc>,
    /// For operators: components that are not public are shown too.
    pub operator: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customers_count_positions_among_the_components_they_see() {
        let text = "[site]\ntitle = \"T\"\nbase_url = \"https://status.t.example\"\ntimezone = \"UTC\"\n[site.contact]\nemail = \"h@t.example\"\n\n[[component]]\nid = \"queue\"\nname = \"Queue\"\npublic = false\n[component.check]\nurl = \"https://q.t.example/\"\n\n[[component]]\nid = \"api\"\nname = \"API\"\n[component.check]\nurl = \"https://a.t.example/\"\n";
        let config =
            Config::parse(std::path::Path::new("forewarn.toml"), text, &|_| None).expect("config");
        let view = StatusView::default();
        let ctx = |operator| Ctx {
            config: &config,
            view: &view,
            now: Utc::now(),
            operator,
        };
        assert_eq!(
            position_of(&ctx(false), "api"),
            1,
            "the first customers see"
        );
        assert_eq!(
            position_of(&ctx(true), "api"),
            2,
            "operators see the queue too"
        );
    }
}
