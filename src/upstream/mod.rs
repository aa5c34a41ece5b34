//! The status pages of the vendors we depend on (`[[upstream]]`): one read of a page
//! (`fetch`: polite, bounded, conditional), what its JSON says in each dialect
//! (`statuspage` for Atlassian's API, incident.io's copy of it and another forewarn;
//! `instatus`; `betterstack`), reduced to what we follow (`follow`), and when to ask
//! again (`polite`). A page that cannot be read or understood is unknown, never an
//! outage of theirs.

mod betterstack;
mod fetch;
mod follow;
mod instatus;
pub mod polite;
mod statuspage;
mod text;

use chrono::{DateTime, Utc};

pub use crate::config::PageKind;
pub use crate::vocab::{ComponentStatus, VendorIncident, VendorReading};
pub use fetch::{Fetched, MAX_PAGE_BYTES, PageReader, REQUEST_TIMEOUT};
pub use follow::{Followed, follow};

/// A vendor's page, read whole: every component and every open incident it lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub kind: PageKind,
    /// The page's own name for itself, when it gives one.
    pub title: Option<String>,
    /// What the page says of everything at once.
    pub overall: ComponentStatus,
    pub components: Vec<VendorComponent>,
    /// Open incidents and maintenance under way, with the names of the components
    /// each touches (empty: the page does not say).
    pub incidents: Vec<(VendorIncident, Vec<String>)>,
}

/// A component on a vendor's page (a group is one too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorComponent {
    pub id: String,
    pub name: String,
    pub status: ComponentStatus,
    /// The name of the group it sits in.
    pub group: Option<String>,
    pub is_group: bool,
}

impl VendorComponent {
    /// How an operator may write it in `components`: "Card payments", or with its
    /// group, "Payments / Card payments".
    pub fn full_name(&self) -> String {
        match &self.group {
            Some(g) => format!("{g} / {}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Why a page could not be read or understood: what operators read, never customers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("{0}")]
    Unreachable(String),
    /// The vendor asked us to slow down (429) or has trouble serving its page (5xx).
    #[error("their page answered HTTP {status}{}", retry_after.map(|d| format!(" and asked us to wait {}", crate::config::show_duration(d))).unwrap_or_default())]
    Busy {
        status: u16,
        retry_after: Option<std::time::Duration>,
    },
    #[error("{0}")]
    NotUnderstood(String),
}

/// A status in a vendor's words (any dialect), as ours: unknown words read as
/// degraded performance, since they are not "operational".
pub fn status_word(word: &str) -> ComponentStatus {
    let w: String = word
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match w.as_str() {
        "operational" | "up" | "none" | "ok" | "notmonitored" => ComponentStatus::Operational,
        "degradedperformance" | "degraded" | "minor" | "minoroutage" => {
            ComponentStatus::DegradedPerformance
        }
        "partialoutage" | "major" | "hasissues" => ComponentStatus::PartialOutage,
        "majoroutage" | "fulloutage" | "critical" | "downtime" | "down" => {
            ComponentStatus::MajorOutage
        }
        "undermaintenance" | "maintenance" => ComponentStatus::UnderMaintenance,
        _ => ComponentStatus::DegradedPerformance,
    }
}

/// A time in a vendor's JSON: RFC 3339, or a JavaScript date string
/// ("Wed Apr 14 2021 16:02:10 GMT+0000 (Coordinated Universal Time)"), or
/// milliseconds since 1970.
pub fn vendor_time(v: &serde_json::Value) -> Option<DateTime<Utc>> {
    match v {
        serde_json::Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            let js = s.split(" (").next().unwrap_or(s);
            DateTime::parse_from_str(js, "%a %b %d %Y %H:%M:%S GMT%z")
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }
        serde_json::Value::Number(n) => n.as_i64().and_then(DateTime::<Utc>::from_timestamp_millis),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_every_dialect() {
        assert_eq!(status_word("operational"), ComponentStatus::Operational);
        assert_eq!(status_word("OPERATIONAL"), ComponentStatus::Operational);
        assert_eq!(status_word("PARTIALOUTAGE"), ComponentStatus::PartialOutage);
        assert_eq!(status_word("full_outage"), ComponentStatus::MajorOutage);
        assert_eq!(status_word("downtime"), ComponentStatus::MajorOutage);
        assert_eq!(
            status_word("UNDERMAINTENANCE"),
            ComponentStatus::UnderMaintenance
        );
        assert_eq!(
            status_word("something new"),
            ComponentStatus::DegradedPerformance,
            "a word we do not know is not 'operational'"
        );
    }

    #[test]
    fn times_in_every_dialect() {
        let want: DateTime<Utc> = "2021-04-14T16:02:10Z".parse().unwrap();
        for v in [
            serde_json::json!("2021-04-14T16:02:10Z"),
            serde_json::json!("2021-04-14T09:02:10.000-07:00"),
            serde_json::json!("Wed Apr 14 2021 16:02:10 GMT+0000 (Coordinated Universal Time)"),
            serde_json::json!(1618416130000i64),
        ] {
            assert_eq!(vendor_time(&v), Some(want), "{v}");
        }
        assert_eq!(vendor_time(&serde_json::json!("yesterday")), None);
    }
}
