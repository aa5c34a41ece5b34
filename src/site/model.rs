//! Building what the page templates see (the shapes are in [`super::pages`]) from the
//! configuration, the view and the uptime stats. Pure.
//!
//! Over 500 lines: one shape per page, each small; splitting them by page is the next
//! step when one more page comes.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Utc};

use super::uptime::{self, Stats, class_of};
use crate::config::{Component, Config};
use crate::present::text::{self, markdown};
use crate::status::{
    ComponentStatus, Impact, Incident, IncidentStatus, Maintenance, MaintenanceState, StatusView,
};

/// Incidents shown on a component's page (all of them are in the history).
pub const COMPONENT_PAGE_INCIDENTS: usize = 30;

pub use super::pages::*;

/// The inputs of one build.
pub struct Input<'a> {
    pub config: &'a Config,
    pub view: &'a StatusView,
    pub stats: &'a Stats,
    pub now: DateTime<Utc>,
    /// Each component's incidents, newest first.
    by_component: HashMap<&'a str, Vec<&'a Incident>>,
    /// Incidents and maintenance by local (year, month), newest first.
    incidents_by_month: BTreeMap<(i32, u32), Vec<&'a Incident>>,
    maintenance_by_month: BTreeMap<(i32, u32), Vec<&'a Maintenance>>,
    /// The shared stylesheet's file name; empty: every page carries its style inline.
    pub stylesheet: String,
}

impl<'a> Input<'a> {
    pub fn new(
        config: &'a Config,
        view: &'a StatusView,
        stats: &'a Stats,
        now: DateTime<Utc>,
    ) -> Input<'a> {
        let mut by_component: HashMap<&str, Vec<&Incident>> = HashMap::new();
        for i in view.incidents.values() {
            for c in i.components.keys() {
                by_component.entry(c.as_str()).or_default().push(i);
            }
        }
        for v in by_component.values_mut() {
            v.sort_by_key(|x| std::cmp::Reverse(x.opened_at));
        }
        let tz = config.site.timezone;
        let ym = |at: DateTime<Utc>| {
            let l = at.with_timezone(&tz);
            (l.year(), l.month())
        };
        let mut incidents_by_month: BTreeMap<(i32, u32), Vec<&Incident>> = BTreeMap::new();
        for i in view.incidents.values() {
            incidents_by_month
                .entry(ym(i.opened_at))
                .or_default()
                .push(i);
        }
        for v in incidents_by_month.values_mut() {
            v.sort_by_key(|x| std::cmp::Reverse(x.opened_at));
        }
        let mut maintenance_by_month: BTreeMap<(i32, u32), Vec<&Maintenance>> = BTreeMap::new();
        for m in view.maintenance.values() {
            maintenance_by_month
                .entry(ym(m.window.starts_at))
                .or_default()
                .push(m);
        }
        for v in maintenance_by_month.values_mut() {
            v.sort_by_key(|x| std::cmp::Reverse(x.window.starts_at));
        }
        Input {
            config,
            view,
            stats,
            now,
            by_component,
            incidents_by_month,
            maintenance_by_month,
            stylesheet: String::new(),
        }
    }

    /// The incidents touching a component, newest first.
    pub fn incidents_of(&self, component: &str) -> &[&'a Incident] {
        self.by_component.get(component).map_or(&[], Vec::as_slice)
    }
}

pub fn symbol(s: ComponentStatus) -> &'static str {
    match s {
        ComponentStatus::Operational => "✓",
        ComponentStatus::DegradedPerformance => "!",
        ComponentStatus::PartialOutage => "!",
        ComponentStatus::MajorOutage => "✕",
        ComponentStatus::UnderMaintenance => "◷",
    }
}

fn impact_class(i: Impact) -> &'static str {
    match i {
        Impact::None => "operational",
        Impact::Minor => "degraded",
        Impact::Major => "partial",
        Impact::Critical => "major",
    }
}

impl Input<'_> {
    fn tz(&self) -> chrono_tz::Tz {
        self.config.site.timezone
    }

    /// What every page shares. `quote`: the open incidents a visitor may be asking
    /// about, the worst first: the card asks them to quote the first, and names the
    /// reference of each other one.
    pub fn common(&self, page: &str, root: &str, quote: &[&Incident]) -> Common {
        let c = &self.config.site.contact;
        let reference = quote.first().map(|i| i.reference.as_str());
        let subject = match reference {
            Some(r) => format!("{r}: a question from a customer"),
            None => format!("A question about {}", self.config.site.title),
        };
        let site = &self.config.site.title;
        Common {
            site_title: site.clone(),
            page_title: if page.is_empty() {
                site.clone()
            } else {
                format!("{page} · {site}")
            },
            root: root.to_owned(),
            contact: ContactCard {
                email: c.email.clone(),
                mailto: c.email.as_ref().map(|e| text::mailto(e, &subject)),
                phone: c.phone.clone(),
                tel: c.phone.as_deref().map(crate::present::links::tel),
                chat_url: c.chat_url.as_ref().map(ToString::to_string),
                hours: c.hours.clone(),
                reference: reference.map(str::to_owned),
                title: quote.first().map(|i| i.title.clone()),
                also: quote
                    .iter()
                    .skip(1)
                    .map(|i| QuoteOther {
                        reference: i.reference.clone(),
                        title: i.title.clone(),
                    })
                    .collect(),
            },
            updated: text::when(self.now, self.tz()),
            updated_iso: text::iso(self.now),
            show_updated: page.is_empty() || reference.is_some(),
            stylesheet: (!page.is_empty() && !self.stylesheet.is_empty())
                .then(|| format!("{root}{}", self.stylesheet)),
            canonical: None,
            subscribe: self
                .config
                .serve
                .public_url
                .as_ref()
                .map(|_| SubscribeForm {
                    action: format!("{}/subscribe", self.config.front_url()),
                    components: self
                        .config
                        .components
                        .iter()
                        .map(|c| ComponentChoice {
                            id: c.id.clone(),
                            name: c.name.clone(),
                        })
                        .collect(),
                }),
        }
    }

    fn component_name(&self, id: &str) -> String {
        self.config
            .component(id)
            .map_or_else(|| id.to_owned(), |c| c.name.clone())
    }

    pub fn row(&self, c: &Component) -> ComponentRow {
        let status = self.view.status_of(&c.id);
        let cells = uptime::cells(
            &c.id,
            self.incidents_of(&c.id),
            self.view,
            self.stats,
            self.now,
            self.tz(),
        );
        ComponentRow {
            id: c.id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            status: status.label(),
            class: class_of(status),
            symbol: symbol(status),
            runs: uptime::runs(&cells),
            uptime: uptime::uptime(&c.id, self.stats, self.now, self.tz()).map_or_else(
                || "No data yet".to_owned(),
                |(u, days)| {
                    if days >= uptime::DAYS {
                        format!("{u} of checks passed over {} days", uptime::DAYS)
                    } else if days == 1 {
                        format!("{u} of checks passed (checked for 1 day)")
                    } else {
                        format!("{u} of checks passed (checked for {days} days)")
                    }
                },
            ),
            sparkline: matches!(c.check.target, crate::config::Target::Http(_))
                .then(|| uptime::sparkline(&c.id, self.stats))
                .flatten(),
        }
    }

    pub fn incident_summary(&self, i: &Incident) -> IncidentSummary {
        let tz = self.tz();
        let latest = i.latest_update();
        // A fix is expected, and can be late, only while the repair is under way.
        let given_eta = latest
            .filter(|u| {
                matches!(
                    u.status,
                    IncidentStatus::Investigating | IncidentStatus::Identified
                )
            })
            .and_then(|u| i.eta_given(u.at));
        let recovered = i
            .components
            .keys()
            .all(|c| self.view.status_of(c).is_operational());
        let affected: Vec<String> = i
            .components
            .keys()
            .map(|c| self.component_name(c))
            .collect();
        IncidentSummary {
            reference: i.reference.clone(),
            title: i.title.clone(),
            status: i.status().label(),
            resolved: i.status() == IncidentStatus::Resolved,
            impact: i.impact.label(),
            impact_class: impact_class(i.impact),
            affected: affected.join(", "),
            latest_html: latest.map(|u| markdown(&u.message)).unwrap_or_default(),
            latest_when: latest.map(|u| text::when(u.at, tz)).unwrap_or_default(),
            latest_iso: latest.map(|u| text::iso(u.at)).unwrap_or_default(),
            eta: given_eta
                .filter(|e| *e > self.now)
                .map(|e| text::when(e, tz)),
            // A fix promised for a time gone by, with the trouble still there.
            eta_passed: given_eta
                .filter(|e| *e <= self.now && !recovered)
                .map(|e| text::when(e, tz)),
            next_update: i
                .next_update()
                .filter(|n| i.is_open() && *n > self.now)
                .map(|n| text::when(n, tz)),
            started: text::when(i.opened_at, tz),
            duration: text::duration(i.duration(self.now)),
            causes: self.causes(i),
        }
    }

    pub fn incident_row(&self, i: &Incident) -> IncidentRow {
        let affected: Vec<String> = i
            .components
            .keys()
            .map(|c| self.component_name(c))
            .collect();
        IncidentRow {
            reference: i.reference.clone(),
            title: i.title.clone(),
            status: i.status().label(),
            resolved: !i.is_open(),
            impact: i.impact.label(),
            affected: affected.join(", "),
            started: text::when(i.opened_at, self.tz()),
            duration: text::duration(i.duration(self.now)),
        }
    }

    pub fn incident_page(&self, i: &Incident) -> IncidentPage {
        let tz = self.tz();
        IncidentPage {
            common: self.common(&i.title, "../", &[i]),
            summary: self.incident_summary(i),
            // While open, each component as it is now (one may have recovered already);
            // once resolved, the worst it was.
            affected_list: i
                .components
                .iter()
                .map(|(c, s)| {
                    let s = if i.is_open() {
                        self.view.status_of(c)
                    } else {
                        *s
                    };
                    AffectedView {
                        name: self.component_name(c),
                        status: s.label(),
                        class: class_of(s),
                    }
                })
                .collect(),
            apology: i.apology().map(markdown),
            credit: i.credit().map(markdown),
            postmortem_url: i.postmortem_url.clone(),
            updates: i
                .updates
                .iter()
                .rev()
                .map(|u| UpdateView {
                    status: u.status.label(),
                    when: text::when(u.at, tz),
                    iso: text::iso(u.at),
                    html: markdown(&u.message),
                })
                .collect(),
        }
    }

    pub fn maintenance_summary(&self, m: &Maintenance) -> MaintenanceSummary {
        let tz = self.tz();
        let names: Vec<String> = m
            .window
            .components
            .iter()
            .map(|c| self.component_name(c))
            .collect();
        MaintenanceSummary {
            id: m.id.clone(),
            title: m.window.title.clone(),
            state: match m.state {
                MaintenanceState::Scheduled => "Scheduled",
                MaintenanceState::InProgress => "In progress",
                MaintenanceState::Completed => "Completed",
                MaintenanceState::Cancelled => "Cancelled",
            },
            active: m.is_active(),
            when: format!(
                "{} to {}",
                text::when(m.window.starts_at, tz),
                text::when(m.window.ends_at, tz)
            ),
            starts_iso: text::iso(m.window.starts_at),
            components: names.join(", "),
            html: markdown(&m.window.message),
        }
    }

    fn banner(&self) -> Banner {
        let worst = self
            .view
            .worst_of(self.config.components.iter().map(|c| c.id.as_str()));
        let (text, class) = match worst {
            ComponentStatus::Operational => ("All systems operational", "operational"),
            ComponentStatus::UnderMaintenance => ("Maintenance in progress", "maintenance"),
            ComponentStatus::DegradedPerformance => ("Degraded performance", "degraded"),
            ComponentStatus::PartialOutage => ("Partial outage", "partial"),
            ComponentStatus::MajorOutage => ("Major outage", "major"),
        };
        Banner {
            class,
            text,
            symbol: symbol(worst),
        }
    }

    fn groups(&self, row_html: &mut dyn FnMut(&Component) -> String) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for c in &self.config.components {
            let row = row_html(c);
            match groups.iter_mut().find(|g| g.name == c.group) {
                Some(g) => g.components.push(row),
                None => groups.push(Group {
                    name: c.group.clone(),
                    components: vec![row],
                }),
            }
        }
        groups
    }

    /// Open incidents, the worst first, then the newest.
    fn active(&self) -> Vec<&Incident> {
        self.view.open_by_severity()
    }

    /// The front page; `row_html` gives each component's rendered row.
    pub fn index(&self, row_html: &mut dyn FnMut(&Component) -> String) -> IndexPage {
        let active = self.active();
        let mut upcoming: Vec<&Maintenance> = self
            .view
            .maintenance
            .values()
            .filter(|m| !m.state.is_over())
            .collect();
        upcoming.sort_by_key(|m| m.window.starts_at);
        let mut recent: Vec<&Incident> = self
            .view
            .incidents
            .values()
            .filter(|i| !i.is_open())
            .collect();
        recent.sort_by_key(|x| std::cmp::Reverse(x.opened_at));
        IndexPage {
            common: self.common("", "", &active),
            banner: self.banner(),
            active: active.iter().map(|i| self.incident_summary(i)).collect(),
            maintenance: upcoming
                .iter()
                .map(|m| self.maintenance_summary(m))
                .collect(),
            groups: self.groups(row_html),
            vendors: self.vendors(),
            recent: recent
                .iter()
                .take(5)
                .map(|i| self.incident_summary(i))
                .collect(),
        }
    }

    /// Every month with incidents or maintenance, newest first, with its count but
    /// without its entries (see [`Input::month`]).
    pub fn months(&self) -> Vec<Month> {
        let mut counts: BTreeMap<(i32, u32), usize> = BTreeMap::new();
        for (k, v) in &self.incidents_by_month {
            *counts.entry(*k).or_default() += v.len();
        }
        for (k, v) in &self.maintenance_by_month {
            *counts.entry(*k).or_default() += v.len();
        }
        counts
            .into_iter()
            .rev()
            .map(|(k, count)| Month {
                count,
                ..empty_month(k)
            })
            .collect()
    }

    /// One month: its incidents (the newest `limit` of them, rendered by `row_html`)
    /// and maintenance, newest first. `count` is the month's whole count.
    pub fn month(
        &self,
        key: &str,
        limit: usize,
        row_html: &mut dyn FnMut(&Incident) -> String,
    ) -> Month {
        let k = self
            .incidents_by_month
            .keys()
            .chain(self.maintenance_by_month.keys())
            .find(|k| month_key(**k) == key)
            .copied()
            .unwrap_or((0, 1));
        let all = self
            .incidents_by_month
            .get(&k)
            .map_or(&[][..], Vec::as_slice);
        let incidents: Vec<String> = all.iter().take(limit).map(|i| row_html(i)).collect();
        let maintenance: Vec<MaintenanceSummary> = self
            .maintenance_by_month
            .get(&k)
            .map(|v| v.iter().map(|m| self.maintenance_summary(m)).collect())
            .unwrap_or_default();
        Month {
            count: all.len() + maintenance.len(),
            incidents,
            maintenance,
            ..empty_month(k)
        }
    }

    /// The month key (`2026-11`) of a moment, in the site's zone.
    pub fn month_of(&self, at: DateTime<Utc>) -> String {
        let l = at.with_timezone(&self.tz());
        month_key((l.year(), l.month()))
    }

    pub fn component_page(&self, c: &Component) -> ComponentPage {
        let incidents = self.incidents_of(&c.id);
        let mut open: Vec<&Incident> = incidents.iter().copied().filter(|i| i.is_open()).collect();
        open.sort_by(|a, b| crate::status::by_severity(a, b));
        ComponentPage {
            common: self.common(&c.name, "../", &open),
            row: self.row(c),
            incidents: incidents
                .iter()
                .take(COMPONENT_PAGE_INCIDENTS)
                .map(|i| self.incident_summary(i))
                .collect(),
        }
    }
}

fn month_key((y, m): (i32, u32)) -> String {
    format!("{y:04}-{m:02}")
}

fn empty_month((y, m): (i32, u32)) -> Month {
    Month {
        key: month_key((y, m)),
        label: chrono::NaiveDate::from_ymd_opt(y, m, 1)
            .map_or_else(String::new, |d| d.format("%B %Y").to_string()),
        incidents: Vec::new(),
        maintenance: Vec::new(),
        count: 0,
    }
}
