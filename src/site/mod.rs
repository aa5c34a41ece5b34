//! The public status site, rebuilt from the configuration, the journal and the rollups:
//! pages, feeds, a Statuspage-compatible API and badges.
//!
//! A [`Builder`] renders everything for a full build, or, after events, only the pages
//! those events touch plus the site-wide pages; files whose content did not change are
//! not rewritten.

pub mod api;
pub mod badges;
pub mod feeds;
pub mod model;
pub mod publish;
pub mod templates;
pub mod text;
pub mod uptime;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Datelike, Utc};
use handlebars::Handlebars;
use serde::Serialize;

use crate::config::Config;
use crate::journal::Event;
use crate::status::{Incident, StatusView};
use model::{HistoryPage, Input, MonthPage};
use uptime::{Stats, StatsCache};

/// Where the site goes unless `--out` or `[site] out_dir` say otherwise.
pub const DEFAULT_OUT_DIR: &str = "site";
/// Months shown in full on `history.html`; older ones have pages of their own.
pub const HISTORY_MONTHS: usize = 3;

/// What changed since the last build.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub everything: bool,
    pub incidents: BTreeSet<String>,
    pub components: BTreeSet<String>,
    pub maintenance: bool,
}

impl Changes {
    pub fn everything() -> Changes {
        Changes {
            everything: true,
            ..Changes::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        !self.everything
            && self.incidents.is_empty()
            && self.components.is_empty()
            && !self.maintenance
    }

    /// Note what an event touches.
    pub fn note(&mut self, event: &Event, view: &StatusView) {
        match event {
            Event::ComponentStatusChanged {
                component,
                incident,
                ..
            } => {
                self.components.insert(component.clone());
                if let Some(i) = incident {
                    self.incidents.insert(i.clone());
                }
            }
            Event::IncidentOpened { id, components, .. }
            | Event::IncidentChanged { id, components, .. } => {
                self.incidents.insert(id.clone());
                self.components.extend(components.keys().cloned());
            }
            Event::IncidentUpdated { id, .. }
            | Event::IncidentUpdateEdited { id, .. }
            | Event::IncidentResolved { id, .. } => {
                self.incidents.insert(id.clone());
                if let Some(i) = view.incidents.get(id) {
                    self.components.extend(i.components.keys().cloned());
                }
            }
            Event::MaintenanceScheduled { window, .. }
            | Event::MaintenanceChanged { window, .. } => {
                self.maintenance = true;
                self.components.extend(window.components.iter().cloned());
            }
            Event::MaintenanceReminder { .. } => {}
            Event::MaintenanceStarted { id }
            | Event::MaintenanceCompleted { id }
            | Event::MaintenanceCancelled { id } => {
                self.maintenance = true;
                if let Some(m) = view.maintenance.get(id) {
                    self.components.extend(m.window.components.iter().cloned());
                }
            }
        }
    }
}

/// What one build did.
#[derive(Debug, Clone)]
pub struct Report {
    pub rendered: usize,
    pub written: usize,
    pub elapsed: Duration,
}

pub struct Builder {
    hb: Handlebars<'static>,
    out: PathBuf,
    stats_cache: StatsCache,
    last_stats: Option<Stats>,
    /// Content hash of every published file.
    published: HashMap<String, u64>,
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The folder the site goes to: `--out`, else `[site] out_dir`, else `site/`.
pub fn out_dir(config: &Config, flag: Option<&Path>) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| config.site.out_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_OUT_DIR))
}

impl Builder {
    pub fn new(config: &Config, out: PathBuf) -> anyhow::Result<Builder> {
        Ok(Builder {
            hb: templates::registry(config.site.templates.as_deref())?,
            out,
            stats_cache: StatsCache::default(),
            last_stats: None,
            published: HashMap::new(),
        })
    }

    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Render everything and swap it in.
    pub fn build_all(
        &mut self,
        config: &Config,
        view: &StatusView,
        state_dir: &Path,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        let started = Instant::now();
        let stats = self.stats_cache.load(state_dir, now, config.site.timezone);
        let input = Input::new(config, view, &stats, now);
        let files = self.render(&input, &Changes::everything())?;
        publish::publish_all(&self.out, &files)?;
        self.published = files.iter().map(|(k, v)| (k.clone(), hash(v))).collect();
        self.last_stats = Some(stats);
        Ok(Report {
            rendered: files.len(),
            written: files.len(),
            elapsed: started.elapsed(),
        })
    }

    /// Render what `changes` touch, plus the site-wide pages, and rewrite the files that
    /// differ. A first call (nothing published yet) builds everything.
    pub fn update(
        &mut self,
        config: &Config,
        view: &StatusView,
        state_dir: &Path,
        now: DateTime<Utc>,
        changes: &Changes,
    ) -> anyhow::Result<Report> {
        if self.published.is_empty() || changes.everything || !self.out.exists() {
            return self.build_all(config, view, state_dir, now);
        }
        let started = Instant::now();
        let stats = self.stats_cache.load(state_dir, now, config.site.timezone);
        let mut changes = changes.clone();
        if self.last_stats.as_ref() != Some(&stats) {
            changes
                .components
                .extend(config.components.iter().map(|c| c.id.clone()));
        }
        let input = Input::new(config, view, &stats, now);
        let files = self.render(&input, &changes)?;
        let mut changed: Vec<(&String, &Vec<u8>)> = files
            .iter()
            .filter(|(k, v)| self.published.get(*k) != Some(&hash(v)))
            .collect();
        // Pages first, the lists linking to them last.
        changed.sort_by_key(|(k, _)| {
            let leaf_page = k.contains('/') && !k.starts_with("api/");
            (!leaf_page, k.as_str())
        });
        publish::publish_some(&self.out, &changed)?;
        let written = changed.len();
        for (k, v) in &files {
            self.published.insert(k.clone(), hash(v));
        }
        self.last_stats = Some(stats);
        Ok(Report {
            rendered: files.len(),
            written,
            elapsed: started.elapsed(),
        })
    }

    fn page<T: Serialize>(&self, template: &str, data: &T) -> anyhow::Result<Vec<u8>> {
        Ok(self
            .hb
            .render(template, data)
            .with_context(|| format!("cannot render the {template} template"))?
            .into_bytes())
    }

    /// Every file `changes` call for, by path under the site root.
    fn render(
        &self,
        input: &Input<'_>,
        changes: &Changes,
    ) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let mut out = BTreeMap::new();
        let all = changes.everything;
        let config = input.config;

        let mut incidents: Vec<&Incident> = input.view.incidents.values().collect();
        incidents.sort_by_key(|x| std::cmp::Reverse(x.opened_at));
        let tz = config.site.timezone;
        let month_of = |at: DateTime<Utc>| {
            let l = at.with_timezone(&tz);
            format!("{:04}-{:02}", l.year(), l.month())
        };
        let mut dirty_months: BTreeSet<String> = BTreeSet::new();
        for i in &incidents {
            if all || changes.incidents.contains(&i.id) {
                out.insert(
                    format!("incidents/{}.html", i.reference),
                    self.page("incident", &input.incident_page(i))?,
                );
                dirty_months.insert(month_of(i.opened_at));
            }
        }
        if all || changes.maintenance {
            dirty_months.extend(
                input
                    .view
                    .maintenance
                    .values()
                    .map(|m| month_of(m.window.starts_at)),
            );
        }

        for c in &config.components {
            if all || changes.components.contains(&c.id) {
                out.insert(
                    format!("components/{}.html", c.id),
                    self.page("component", &input.component_page(c))?,
                );
                let own = input.incidents_of(&c.id);
                out.insert(
                    format!("components/{}.atom", c.id),
                    feeds::atom_feed(
                        input,
                        own,
                        &format!("components/{}.atom", c.id),
                        &format!("{}: {}", config.site.title, c.name),
                    )
                    .into_bytes(),
                );
            }
            let status = input.view.status_of(&c.id);
            out.insert(
                format!("badges/{}.svg", c.id),
                badges::svg(&c.name, status).into_bytes(),
            );
            out.insert(
                format!("badges/{}.json", c.id),
                badges::shields(&c.name, status).into_bytes(),
            );
        }

        let months = input.months();
        for m in months
            .iter()
            .filter(|m| all || dirty_months.contains(&m.key))
        {
            out.insert(
                format!("history/{}.html", m.key),
                self.page(
                    "month",
                    &MonthPage {
                        common: input.common(&m.label, "../", None),
                        month: m.clone(),
                    },
                )?,
            );
        }
        let archive: Vec<model::Month> = months
            .iter()
            .map(|m| model::Month {
                incidents: Vec::new(),
                maintenance: Vec::new(),
                ..m.clone()
            })
            .collect();
        out.insert(
            "history.html".into(),
            self.page(
                "history",
                &HistoryPage {
                    common: input.common("Incident history", "", None),
                    months: months.into_iter().take(HISTORY_MONTHS).collect(),
                    archive,
                },
            )?,
        );
        out.insert("index.html".into(), self.page("index", &input.index())?);
        out.insert(
            "feed.atom".into(),
            feeds::atom_feed(
                input,
                &incidents,
                "feed.atom",
                &format!("{}: incidents", config.site.title),
            )
            .into_bytes(),
        );
        out.insert(
            "history.rss".into(),
            feeds::rss_feed(input, &incidents).into_bytes(),
        );
        out.insert("maintenance.ics".into(), feeds::ical(input).into_bytes());
        for (path, json) in api::files(input) {
            out.insert(
                path,
                serde_json::to_vec_pretty(&json).context("cannot encode the API")?,
            );
        }
        let overall = config
            .components
            .iter()
            .map(|c| input.view.status_of(&c.id))
            .max_by_key(|s| s.severity())
            .unwrap_or(crate::status::ComponentStatus::Operational);
        out.insert(
            "badge.svg".into(),
            badges::svg("status", overall).into_bytes(),
        );
        out.insert(
            "badge.json".into(),
            badges::shields("status", overall).into_bytes(),
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
