//! The public status site, rebuilt from the configuration, the journal and the rollups:
//! pages, feeds, a Statuspage-compatible API and badges.
//!
//! A [`Builder`] renders everything for a full build, or, after events, only the pages
//! those events touch plus the site-wide pages; files whose content did not change are
//! not rewritten.
//!
//! Over 500 lines: the builder's full and incremental paths share their bookkeeping of
//! what was published; they are kept side by side so they cannot drift apart.

pub mod api;
pub mod badges;
pub mod feeds;
pub mod model;
pub mod pages;
pub mod publish;
pub mod templates;
pub mod uptime;
pub mod vendors;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use handlebars::Handlebars;
use serde::Serialize;
use sha2::Digest;

use crate::config::Config;
use crate::journal::Event;
use crate::present::links::incident_url;
use crate::status::{Incident, StatusView};
use model::{HistoryPage, Input, MonthPage};
use uptime::StatsCache;

/// Where the site goes unless `--out` or `[site] out_dir` say otherwise.
pub const DEFAULT_OUT_DIR: &str = "site";
/// Incidents listed on `history.html`; every month also has a page of its own.
pub const HISTORY_ROWS: usize = 50;

/// What changed since the last build.
#[derive(Debug, Default, Clone)]
pub struct Changes {
    pub everything: bool,
    pub incidents: BTreeSet<String>,
    pub components: BTreeSet<String>,
    /// Every component's pages (an incident or window moved between components).
    pub everything_components: bool,
    pub maintenance: bool,
    /// What a vendor's page says (the front page, the API, incidents naming them).
    pub vendors: bool,
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
            && !self.vendors
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
            Event::IncidentChanged { id, .. } => {
                // The incident may have left components: all of them may show it.
                self.incidents.insert(id.clone());
                self.everything_components = true;
            }
            Event::IncidentOpened { id, components, .. } => {
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
            Event::MaintenanceChanged { .. } => {
                self.maintenance = true;
                self.everything_components = true;
            }
            Event::MaintenanceScheduled { window, .. } => {
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
            Event::UpstreamChanged { affects, .. } => {
                self.vendors = true;
                self.components.extend(affects.iter().cloned());
            }
            _ => {} // subscribers and deliveries are not on the site
        }
    }
}

/// What one build did.
#[derive(Debug, Clone)]
pub struct Report {
    pub rendered: usize,
    pub written: usize,
    pub elapsed: Duration,
    /// Of which rendering (the rest is reading stats and writing files).
    pub rendering: Duration,
}

pub struct Builder {
    hb: Handlebars<'static>,
    out: PathBuf,
    stats_cache: StatsCache,
    /// Content hash of every published file.
    published: publish::Digests,
    caches: Caches,
    /// The shared stylesheet: its cache-busting file name and its bytes.
    stylesheet: (String, Vec<u8>),
    /// The manifest as this builder last left it; another process building the same
    /// folder changes it, and then `published` no longer says what is on disk.
    manifest_stamp: Option<(u64, std::time::SystemTime)>,
}

/// The stylesheet every page but the front page links to, named by its content
/// (`style-1a2b3c4d5e.css`) so a browser may keep it until it changes.
fn stylesheet(hb: &Handlebars<'_>) -> anyhow::Result<(String, Vec<u8>)> {
    let css = hb
        .render("style", &())
        .context("cannot render the stylesheet")?;
    let digest = sha2::Sha256::digest(css.as_bytes());
    let name: String = digest[..5].iter().map(|b| format!("{b:02x}")).collect();
    Ok((format!("style-{name}.css"), css.into_bytes()))
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
        let hb = templates::registry(config.site.templates.as_deref())?;
        let stylesheet = stylesheet(&hb)?;
        Ok(Builder {
            hb,
            stylesheet,
            manifest_stamp: None,
            out,
            stats_cache: StatsCache::default(),
            published: publish::Digests::new(),
            caches: Caches::default(),
        })
    }

    pub fn out(&self) -> &Path {
        &self.out
    }

    /// Refuse an output folder that is, or holds, the configuration or the state:
    /// a full build replaces the folder's content.
    fn check_out(&self, config: &Config, state_dir: &Path) -> anyhow::Result<()> {
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
        let out = abs(&self.out);
        let config_dir = abs(config.file.parent().unwrap_or(Path::new(".")));
        for (what, inner) in [("configuration", &config_dir), ("state", &abs(state_dir))] {
            if inner.starts_with(&out) {
                anyhow::bail!(
                    "the site folder {} would hold the {what} folder {}; choose a folder of its own for the site",
                    self.out.display(),
                    inner.display()
                );
            }
        }
        Ok(())
    }

    /// Render everything and swap it in.
    pub fn build_all(
        &mut self,
        config: &Config,
        view: &StatusView,
        state_dir: &Path,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Report> {
        let (config, view) = &public_parts(config, view);
        let (config, view) = (config.as_ref(), view.as_ref());
        self.check_out(config, state_dir)?;
        let started = Instant::now();
        let (stats, _) = self.stats_cache.load(state_dir, now, config.site.timezone);
        let mut input = Input::new(config, view, &stats, now);
        input.stylesheet = self.stylesheet.0.clone();
        let render_started = Instant::now();
        let files = self.render(&input, &Changes::everything())?;
        let rendering = render_started.elapsed();
        let digests = publish::publish_all(&self.out, &files)?;
        self.published = digests.into_iter().collect();
        self.manifest_stamp = publish::manifest_stamp(&self.out);
        Ok(Report {
            rendered: files.len(),
            written: files.len(),
            elapsed: started.elapsed(),
            rendering,
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
        if self.published.is_empty()
            || changes.everything
            || !self.out.exists()
            || publish::manifest_stamp(&self.out) != self.manifest_stamp
        {
            return self.build_all(config, view, state_dir, now);
        }
        let (config, view) = &public_parts(config, view);
        let (config, view) = (config.as_ref(), view.as_ref());
        let started = Instant::now();
        let (stats, stats_changed) = self.stats_cache.load(state_dir, now, config.site.timezone);
        let mut changes = changes.clone();
        // Open incidents read "ongoing for ..." and may pass their ETA: keep them fresh.
        for i in view.open_incidents() {
            changes.incidents.insert(i.id.clone());
            changes.components.extend(i.components.keys().cloned());
        }
        if stats_changed || changes.everything_components {
            changes
                .components
                .extend(config.components.iter().map(|c| c.id.clone()));
        }
        let mut input = Input::new(config, view, &stats, now);
        input.stylesheet = self.stylesheet.0.clone();
        let render_started = Instant::now();
        let files = self.render(&input, &changes)?;
        let rendering = render_started.elapsed();
        let mut changed: Vec<(&String, &Vec<u8>)> = files
            .iter()
            .filter(|(k, v)| self.published.get(*k) != Some(&publish::digest(v)))
            .collect();
        // Pages first, the lists linking to them last.
        changed.sort_by_key(|(k, _)| publish::leaf_first(k));
        publish::publish_some(&self.out, &changed)?;
        let written = changed.len();
        let mut recorded = false;
        for (k, v) in &files {
            let d = publish::digest(v);
            recorded |= self.published.insert(k.clone(), d) != Some(d);
        }
        if recorded {
            publish::write_manifest(&self.out, &self.published)?;
            self.manifest_stamp = publish::manifest_stamp(&self.out);
        }
        Ok(Report {
            rendered: files.len(),
            written,
            elapsed: started.elapsed(),
            rendering,
        })
    }

    /// Every file `changes` call for, by path under the site root.
    fn render(
        &mut self,
        input: &Input<'_>,
        changes: &Changes,
    ) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let hb = &self.hb;
        let caches = &mut self.caches;
        let mut out = BTreeMap::new();
        let all = changes.everything;
        let config = input.config;
        out.insert(self.stylesheet.0.clone(), self.stylesheet.1.clone());

        let mut incidents: Vec<&Incident> = input.view.incidents.values().collect();
        incidents.sort_by_key(|x| std::cmp::Reverse(x.opened_at));
        let dirty_incidents: Vec<&Incident> = incidents
            .iter()
            .copied()
            .filter(|i| all || changes.incidents.contains(&i.id))
            .collect();
        // Incident pages are many and independent: render them on every core.
        // Each also has `incidents/<reference>/index.html`, the address Statuspage gives
        // an incident (`/incidents/<id>`), so any web server answers it: a small page
        // that leads to the one page (rendering it twice doubled a build's work).
        for (reference, flat, folder) in render_parallel(&dirty_incidents, |i| {
            let mut data = input.incident_page(i);
            let canonical = incident_url(config, &i.reference);
            data.common.canonical = Some(canonical.clone());
            let flat = page(hb, "incident", &data)?;
            let folder =
                pages::pointer(&data.common.page_title, &i.title, &i.reference, &canonical);
            Ok((i.reference.clone(), flat, folder.into_bytes()))
        })? {
            out.insert(format!("incidents/{reference}.html"), flat);
            out.insert(format!("incidents/{reference}/index.html"), folder);
        }
        let mut dirty_months: BTreeSet<String> = dirty_incidents
            .iter()
            .map(|i| input.month_of(i.opened_at))
            .collect();
        // A window may have moved to another month: redo every month page.
        let every_month = all || changes.maintenance;
        if every_month {
            dirty_months.extend(
                input
                    .view
                    .maintenance
                    .values()
                    .map(|m| input.month_of(m.window.starts_at)),
            );
        }

        // Component pages, feeds and rows: on every core too.
        let dirty_components: Vec<&crate::config::Component> = config
            .components
            .iter()
            .filter(|c| {
                all || changes.components.contains(&c.id)
                    || !caches.rows.contains_key(&c.id)
                    // Its feed lists the windows that touch it.
                    || (changes.maintenance
                        && input.view.maintenance.values().any(|m| m.covers(&c.id)))
            })
            .collect();
        let rendered = render_parallel(&dirty_components, |c| {
            let page_data = input.component_page(c);
            let row_html = render_str(
                hb,
                "component-row",
                &RowData {
                    root: "",
                    row: page_data.row.clone(),
                },
            )?;
            let html = page(hb, "component", &page_data)?;
            let windows: Vec<&crate::status::Maintenance> = input
                .view
                .maintenance
                .values()
                .filter(|m| m.covers(&c.id))
                .collect();
            let feed = feeds::atom_feed(
                hb,
                input,
                input.incidents_of(&c.id),
                &windows,
                false,
                &format!("components/{}.atom", c.id),
                &format!("{}: {}", config.site.title, c.name),
            )?;
            Ok((c.id.clone(), html, feed.into_bytes(), row_html))
        })?;
        for (id, html, feed, row_html) in rendered {
            out.insert(format!("components/{id}.html"), html);
            out.insert(format!("components/{id}.atom"), feed);
            caches.rows.insert(id, row_html);
        }
        for c in &config.components {
            let status = input.view.status_of(&c.id);
            out.insert(
                format!("badges/{}.svg", c.id),
                badges::svg(&c.name, status).into_bytes(),
            );
            out.insert(
                format!("badges/{}.json", c.id),
                badges::shields(&c.name, status).into_bytes(),
            );
            let tz = config.site.timezone;
            let passed = |days| uptime::passed(&c.id, input.stats, input.now, tz, days);
            // A heartbeat is a report, not an answer: it has no response time.
            let timed = !matches!(c.check.target, crate::config::Target::Heartbeat(_));
            let response = timed.then(|| {
                (
                    "response-time",
                    badges::response_time(uptime::typical_response_ms(
                        &c.id,
                        input.stats,
                        input.now,
                    )),
                )
            });
            for (name, figure) in [
                ("uptime-24h", badges::uptime("24h", passed(0))),
                ("uptime-7d", badges::uptime("7d", passed(7))),
                ("uptime-30d", badges::uptime("30d", passed(30))),
                ("uptime-90d", badges::uptime("90d", passed(90))),
            ]
            .into_iter()
            .chain(response)
            {
                out.insert(
                    format!("badges/{}/{name}.svg", c.id),
                    figure.svg().into_bytes(),
                );
                out.insert(
                    format!("badges/{}/{name}.json", c.id),
                    figure.shields().into_bytes(),
                );
            }
        }
        caches.rows.retain(|id, _| config.component(id).is_some());

        let mut row_of = |i: &Incident, root: &'static str| -> String {
            let row = input.incident_row(i);
            let key = (i.id.clone(), root);
            let h = hash(serde_json::to_string(&row).unwrap_or_default().as_bytes());
            match caches.incident_rows.get(&key) {
                Some((old, html)) if *old == h => html.clone(),
                _ => {
                    let html = render_str(hb, "incident-row", &IncidentRowData { root, row })
                        .unwrap_or_default();
                    caches.incident_rows.insert(key, (h, html.clone()));
                    html
                }
            }
        };
        let months = input.months();
        for m in months
            .iter()
            .filter(|m| every_month || dirty_months.contains(&m.key))
        {
            let month = input.month(&m.key, usize::MAX, &mut |i| row_of(i, "../"));
            out.insert(
                format!("history/{}.html", m.key),
                page(
                    hb,
                    "month",
                    &MonthPage {
                        common: input.common(&m.label, "../", &[]),
                        month,
                    },
                )?,
            );
        }
        // history.html: the latest months, until HISTORY_ROWS incidents are shown.
        let mut shown = 0;
        let mut latest = Vec::new();
        for m in &months {
            if shown >= HISTORY_ROWS {
                break;
            }
            // Only the rows shown are rendered.
            let month = input.month(&m.key, HISTORY_ROWS - shown, &mut |i| row_of(i, ""));
            shown += month.incidents.len();
            latest.push(month);
        }
        out.insert(
            "history.html".into(),
            page(
                hb,
                "history",
                &HistoryPage {
                    common: input.common("Incident history", "", &[]),
                    months: latest,
                    archive: months,
                },
            )?,
        );
        let index = input.index(&mut |c| caches.rows.get(&c.id).cloned().unwrap_or_default());
        out.insert("index.html".into(), page(hb, "index", &index)?);
        // `history.atom` is where Statuspage keeps the same feed.
        for path in ["feed.atom", "history.atom"] {
            out.insert(
                path.into(),
                feeds::atom_feed(
                    hb,
                    input,
                    &incidents,
                    &[],
                    true,
                    path,
                    &format!("{}: incidents", config.site.title),
                )?
                .into_bytes(),
            );
        }
        out.insert(
            "history.rss".into(),
            feeds::rss_feed(hb, input, &incidents)?.into_bytes(),
        );
        out.insert("maintenance.ics".into(), feeds::ical(input).into_bytes());
        for (path, json) in api::files(input) {
            out.insert(
                path,
                serde_json::to_vec_pretty(&json).context("cannot encode the API")?,
            );
        }
        let overall = input
            .view
            .worst_of(config.components.iter().map(|c| c.id.as_str()));
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

/// Rendered pieces kept between builds: a component's row and an incident's line in
/// the history change only when their data does.
#[derive(Default)]
struct Caches {
    rows: HashMap<String, String>,
    incident_rows: HashMap<(String, &'static str), (u64, String)>,
}

#[derive(Serialize)]
struct RowData {
    root: &'static str,
    #[serde(flatten)]
    row: model::ComponentRow,
}

#[derive(Serialize)]
struct IncidentRowData {
    root: &'static str,
    #[serde(flatten)]
    row: model::IncidentRow,
}

fn render_str<T: Serialize>(
    hb: &Handlebars<'static>,
    template: &str,
    data: &T,
) -> anyhow::Result<String> {
    let mut text = hb
        .render(template, data)
        .with_context(|| format!("cannot render the {template} template"))?;
    // handlebars starts every output at 8 KiB: a site of 10,000 small rows and badges
    // kept that much for each.
    text.shrink_to_fit();
    Ok(text)
}

fn page<T: Serialize>(
    hb: &Handlebars<'static>,
    template: &str,
    data: &T,
) -> anyhow::Result<Vec<u8>> {
    Ok(render_str(hb, template, data)?.into_bytes())
}

/// Run `f` over `items` on as many threads as there are cores.
fn render_parallel<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> anyhow::Result<R> + Sync,
) -> anyhow::Result<Vec<R>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if items.len() < 64 || threads == 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(|| part.iter().map(&f).collect::<anyhow::Result<Vec<R>>>()))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            let part = h
                .join()
                .map_err(|_| anyhow::anyhow!("a rendering thread failed"))??;
            out.extend(part);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests;

/// What customers may see: without the components marked `public = false`, nor the
/// incidents and windows that touch only them. Borrowed as is when all are public.
pub fn public_parts<'a>(
    config: &'a Config,
    view: &'a StatusView,
) -> (
    std::borrow::Cow<'a, Config>,
    std::borrow::Cow<'a, StatusView>,
) {
    use std::borrow::Cow;
    if config.components.iter().all(|c| c.public) {
        return (Cow::Borrowed(config), Cow::Borrowed(view));
    }
    let mut public = config.clone();
    public.components.retain(|c| c.public);
    // A vendor only components kept from customers depend on is not named to them.
    public
        .upstreams
        .retain(|u| config.upstream_is_public(&u.id));
    let mut view = view.only_components(&|id| config.is_public(id));
    view.upstreams.retain(|id, _| public.upstream(id).is_some());
    for i in view.incidents.values_mut() {
        i.causes
            .retain(|c| c.public && public.upstream(&c.upstream).is_some());
    }
    (Cow::Owned(public), Cow::Owned(view))
}
