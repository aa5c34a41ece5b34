//! The vendors we depend on, as the site shows them: the "Services we depend on"
//! section (their status and, while they report trouble, their incident's title, last
//! update and link, attributed to them), and the likely causes named on our incidents.
//! Their words are escaped like ours by the templates, and never read as Markdown. Pure.

use serde::Serialize;

use super::model::{Input, symbol};
use super::uptime::class_of;
use crate::present::text::{self, vendor_report};
use crate::status::{Cause, Incident, UpstreamView};

#[derive(Debug, Clone, Serialize)]
pub struct VendorRow {
    pub id: String,
    pub name: String,
    /// Their status page.
    pub page: String,
    pub status: &'static str,
    pub class: &'static str,
    pub symbol: &'static str,
    pub notices: Vec<VendorNotice>,
    /// A word on an unknown status.
    pub note: Option<String>,
}

/// One incident (or maintenance under way) a vendor reports.
#[derive(Debug, Clone, Serialize)]
pub struct VendorNotice {
    pub title: String,
    pub url: String,
    pub maintenance: bool,
    /// Where their repair stands, in their words.
    pub status: Option<&'static str>,
    /// "Reported by Payment provider at 28 Nov 2026, 10:04 UTC": their last update.
    pub reported: String,
    pub iso: Option<String>,
}

/// A vendor's trouble, named on our incident as its likely cause.
#[derive(Debug, Clone, Serialize)]
pub struct CauseView {
    /// "Payment provider reports a partial outage affecting Card payments"
    pub text: String,
    pub title: Option<String>,
    pub url: String,
    /// "Reported by Payment provider at …"
    pub reported: String,
    /// "They reported it fixed at …"
    pub fixed: Option<String>,
}

impl Input<'_> {
    /// The vendors customers may see, in the configuration's order.
    pub fn vendors(&self) -> Vec<VendorRow> {
        self.config
            .upstreams
            .iter()
            .map(|u| match self.view.upstream(&u.id) {
                Some(v) => self.vendor_row(v),
                None => VendorRow {
                    id: u.id.clone(),
                    name: u.name.clone(),
                    page: u.page.to_string(),
                    status: "Not read yet",
                    class: "unknown",
                    symbol: "?",
                    notices: Vec::new(),
                    note: None,
                },
            })
            .collect()
    }

    fn vendor_row(&self, v: &UpstreamView) -> VendorRow {
        let tz = self.config.site.timezone;
        let name = self
            .config
            .upstream(&v.id)
            .map_or(v.name.as_str(), |u| u.name.as_str());
        let (status, class, sym, note) = match v.reading.worst() {
            Some(s) => (s.label(), class_of(s), symbol(s), None),
            None => (
                "Unknown",
                "unknown",
                "?",
                Some(format!(
                    "We cannot tell what their status page says at the moment (since {}). This says nothing about their service or ours.",
                    text::when(v.since, tz)
                )),
            ),
        };
        VendorRow {
            id: v.id.clone(),
            name: name.to_owned(),
            page: v.page.clone(),
            status,
            class,
            symbol: sym,
            notices: v
                .reading
                .incidents
                .iter()
                .map(|i| {
                    let at = i.updated_at.or(i.started_at).unwrap_or(v.changed_at);
                    VendorNotice {
                        title: i.title.clone(),
                        url: i.url.clone(),
                        maintenance: i.maintenance,
                        status: i.status.map(|s| s.label()),
                        reported: format!("Reported by {name} at {}", text::when(at, tz)),
                        iso: Some(text::iso(at)),
                    }
                })
                .collect(),
            note,
        }
    }

    /// The vendors' trouble named on one of our incidents: in the present tense while
    /// both go on, in the past once they reported it fixed or our incident ended.
    pub fn causes(&self, incident: &Incident) -> Vec<CauseView> {
        let tz = self.config.site.timezone;
        incident
            .causes
            .iter()
            .map(|c| CauseView {
                text: cause_text(c, c.fixed_at.is_none() && incident.is_open()),
                title: c.title.clone(),
                url: c.url.clone(),
                reported: format!(
                    "Reported by {} at {}",
                    c.name,
                    text::when(c.reported_at, tz)
                ),
                fixed: c
                    .fixed_at
                    .map(|f| format!("They reported it fixed at {}", text::when(f, tz))),
            })
            .collect()
    }
}

/// "Payment provider reports a partial outage affecting Card payments"; in the past
/// tense once they reported it fixed.
pub fn cause_text(c: &Cause, ongoing: bool) -> String {
    let verb = if ongoing { "reports" } else { "reported" };
    format!(
        "{} {verb} {}",
        c.name,
        vendor_report(Some(c.status), &c.parts, "a problem")
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Utc};

    use crate::config::Config;
    use crate::journal::{Event, Record};
    use crate::site::model::Input;
    use crate::site::public_parts;
    use crate::site::uptime::Stats;
    use crate::status::{ComponentStatus, StatusView};
    use crate::vocab::{Impact, VendorReading};

    #[test]
    fn a_vendor_only_private_components_depend_on_is_not_named_to_customers() {
        let text = "[site]\ntitle = \"Shop\"\nbase_url = \"https://status.shop.example\"\ntimezone = \"UTC\"\n[site.contact]\nemail = \"help@shop.example\"\n\n[[component]]\nid = \"checkout\"\nname = \"Checkout\"\ndepends_on = [\"payments\"]\n[component.check]\nurl = \"https://shop.example/\"\n\n[[component]]\nid = \"queue\"\nname = \"Queue\"\npublic = false\ndepends_on = [\"cloud\"]\n[component.check]\nurl = \"https://queue.shop.example/\"\n\n[[upstream]]\nid = \"payments\"\nname = \"Payment provider\"\npage = \"https://status.payments.example\"\n\n[[upstream]]\nid = \"cloud\"\nname = \"Secret cloud\"\npage = \"https://status.cloud.example\"\n";
        let config =
            Config::parse(std::path::Path::new("forewarn.toml"), text, &|_| None).expect("config");
        let at: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let trouble = VendorReading {
            status: Some(ComponentStatus::MajorOutage),
            ..VendorReading::default()
        };
        let events = [
            Event::ComponentVisibility {
                component: "queue".into(),
                public: false,
            },
            Event::IncidentOpened {
                id: "both".into(),
                reference: "INC-2026-1128-both".into(),
                title: "Checkout and queue".into(),
                components: BTreeMap::from([
                    ("checkout".to_owned(), ComponentStatus::MajorOutage),
                    ("queue".to_owned(), ComponentStatus::MajorOutage),
                ]),
                impact: Impact::Critical,
                automatic: false,
                update: None,
                postmortem_url: None,
            },
            Event::UpstreamChanged {
                upstream: "payments".into(),
                name: "Payment provider".into(),
                page: "https://status.payments.example/".into(),
                reading: trouble.clone(),
                affects: vec!["checkout".into()],
                notify_customers: false,
                reason: None,
            },
            Event::UpstreamChanged {
                upstream: "cloud".into(),
                name: "Secret cloud".into(),
                page: "https://status.cloud.example/".into(),
                reading: trouble,
                affects: vec!["queue".into()],
                notify_customers: false,
                reason: None,
            },
        ];
        let records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(n, event)| Record {
                seq: n as u64 + 1,
                at,
                more: false,
                event,
            })
            .collect();
        let view = StatusView::from_records(&records);
        let causes = &view.incidents["both"].causes;
        assert_eq!(causes.len(), 2, "operators see both");
        let public: Vec<(&str, bool)> = causes
            .iter()
            .map(|c| (c.upstream.as_str(), c.public))
            .collect();
        assert_eq!(
            public,
            [("payments", true), ("cloud", false)],
            "as the journal had who may see each"
        );
        let (config, view) = public_parts(&config, &view);
        let stats = Stats::default();
        let input = Input::new(&config, &view, &stats, at);
        let vendors: Vec<String> = input.vendors().into_iter().map(|v| v.name).collect();
        assert_eq!(vendors, ["Payment provider"]);
        let causes = input.causes(&view.incidents["both"]);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].text, "Payment provider reports a major outage");
        // Once our incident is over, what they said is told in the past tense, even
        // when they never reported it fixed.
        let mut resolved = view.incidents["both"].clone();
        resolved.resolved_at = Some(at);
        let causes = input.causes(&resolved);
        assert_eq!(causes[0].text, "Payment provider reported a major outage");
        assert_eq!(causes[0].fixed, None);
    }
}
