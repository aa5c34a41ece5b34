//! Better Stack: the page's `index.json`, in JSON:API: the page's aggregate state,
//! and in `included` its resources, their sections and its status reports.

use chrono::{DateTime, Utc};
use reqwest::Url;
use serde::Deserialize;
use serde_json::Value;

use super::text::{MAX_NAME, MAX_TITLE, clean, link};
use super::{Page, PageError, PageKind, VendorComponent, VendorIncident, status_word, vendor_time};

#[derive(Deserialize)]
struct Document {
    data: Data,
    #[serde(default)]
    included: Vec<Included>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    attributes: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
struct Included {
    #[serde(default)]
    id: Value,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    attributes: serde_json::Map<String, Value>,
}

fn text<'a>(a: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    a.get(key).and_then(Value::as_str)
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => clean(s, MAX_NAME),
        other => clean(&other.to_string(), MAX_NAME),
    }
}

/// Is this Better Stack's `index.json`?
pub fn looks_like(body: &[u8]) -> bool {
    serde_json::from_slice::<Document>(body).is_ok_and(|d| d.data.kind == "status_page")
}

pub fn index(body: &[u8], base: &Url, now: DateTime<Utc>) -> Result<Page, PageError> {
    let doc: Document = serde_json::from_slice(body).map_err(|e| {
        PageError::NotUnderstood(format!(
            "its index.json is not in Better Stack's shape ({e})"
        ))
    })?;
    if doc.data.kind != "status_page" {
        return Err(PageError::NotUnderstood(format!(
            "its index.json describes a {}, not a status page",
            clean(&doc.data.kind, 40)
        )));
    }
    let sections: Vec<(String, String)> = doc
        .included
        .iter()
        .filter(|i| i.kind == "status_page_section")
        .filter_map(|i| {
            Some((
                id_text(&i.id),
                clean(text(&i.attributes, "name")?, MAX_NAME),
            ))
        })
        .filter(|(_, name)| !name.is_empty())
        .collect();
    let components = doc
        .included
        .iter()
        .filter(|i| i.kind == "status_page_resource")
        .filter_map(|i| {
            let name = clean(text(&i.attributes, "public_name")?, MAX_NAME);
            let section = i.attributes.get("status_page_section_id").map(id_text);
            Some(VendorComponent {
                id: id_text(&i.id),
                name,
                status: status_word(text(&i.attributes, "status").unwrap_or("operational")),
                group: section
                    .and_then(|s| sections.iter().find(|(id, _)| *id == s))
                    .map(|(_, n)| n.clone()),
                is_group: false,
            })
        })
        .collect();
    let incidents = doc
        .included
        .iter()
        .filter(|i| i.kind == "status_report")
        .filter(|i| {
            let started = i.attributes.get("starts_at").and_then(vendor_time);
            let ended = i.attributes.get("ends_at").and_then(vendor_time);
            started.is_none_or(|s| s <= now) && ended.is_none_or(|e| e > now)
        })
        .filter_map(|i| {
            let a = &i.attributes;
            let title = clean(text(a, "title")?, MAX_TITLE);
            let url = link(text(a, "url"), base).unwrap_or_else(|| base.to_string());
            Some((
                VendorIncident {
                    id: id_text(&i.id),
                    title,
                    status: None,
                    impact: None,
                    url,
                    started_at: a.get("starts_at").and_then(vendor_time),
                    updated_at: a.get("updated_at").and_then(vendor_time),
                    maintenance: text(a, "report_type") == Some("maintenance"),
                },
                Vec::new(),
            ))
        })
        .collect();
    Ok(Page {
        kind: PageKind::BetterStack,
        title: text(&doc.data.attributes, "company_name").map(|n| clean(n, MAX_NAME)),
        overall: status_word(
            text(&doc.data.attributes, "aggregate_state").unwrap_or("operational"),
        ),
        components,
        incidents,
    })
}
