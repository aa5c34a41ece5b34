//! `forewarn incident new | update | resolve`: declare and follow up an incident by
//! editing its file (comments and formatting are kept), so nobody under stress has to
//! write timestamps by hand.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use chrono::{DateTime, TimeDelta, Utc};
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use super::edit::{self, refuse_blank, toml_time, write_checked};
use super::{CommandError, load_config};
use crate::config::Config;
use crate::config::declared::{Declared, INCIDENTS_DIR, IncidentFile};
use crate::journal::IncidentUpdate;
use crate::monitor::incidents::unique_reference;
use crate::status::{ComponentStatus, Impact, Incident, IncidentStatus, StatusView};

/// `forewarn incident …`
#[derive(clap::Subcommand)]
pub enum IncidentAction {
    /// Declare a new incident: writes config/incidents/<id>.toml.
    New(NewIncident),
    /// Post a progress update (ID is the file's id or the reference customers quote).
    Update {
        id: String,
        /// investigating, identified or monitoring.
        #[arg(long)]
        status: String,
        #[arg(long)]
        message: String,
        #[arg(long)]
        eta: Option<String>,
        /// When the next update will come, written like --eta.
        #[arg(long)]
        next_update: Option<String>,
        /// Publish without notifying anyone (for corrections).
        #[arg(long)]
        no_notify: bool,
    },
    /// Resolve an incident, with an apology and a credit if there is one.
    Resolve {
        id: String,
        #[arg(long)]
        message: String,
        #[arg(long)]
        apology: Option<String>,
        #[arg(long)]
        credit: Option<String>,
    },
}

/// Carry out `forewarn incident …`; what to print.
pub fn act(
    config_path: &Path,
    state_dir: &Path,
    action: IncidentAction,
) -> Result<String, CommandError> {
    match action {
        IncidentAction::New(n) => new(config_path, state_dir, n),
        IncidentAction::Update {
            id,
            status,
            message,
            eta,
            next_update,
            no_notify,
        } => update(
            config_path,
            state_dir,
            &id,
            NewUpdate {
                status: status_arg(&status)?,
                message,
                eta,
                next_update,
                notify: !no_notify,
                apology: None,
                credit: None,
            },
        ),
        IncidentAction::Resolve {
            id,
            message,
            apology,
            credit,
        } => update(
            config_path,
            state_dir,
            &id,
            NewUpdate {
                status: IncidentStatus::Resolved,
                message,
                eta: None,
                next_update: None,
                notify: true,
                apology,
                credit,
            },
        ),
    }
}

/// What `forewarn incident new` declares.
#[derive(clap::Args)]
pub struct NewIncident {
    #[arg(long)]
    pub title: String,
    /// An affected component and the status it shows, such as checkout=partial_outage (repeatable).
    #[arg(long = "component", value_name = "ID=STATUS", required = true)]
    pub components: Vec<String>,
    /// none, minor, major or critical.
    #[arg(long)]
    pub impact: String,
    /// What customers read first.
    #[arg(long)]
    pub message: String,
    #[arg(long, default_value = "investigating")]
    pub status: String,
    /// When a fix is expected: a duration from now ("2h") or a time ("2026-11-23 14:00").
    #[arg(long)]
    pub eta: Option<String>,
    /// When the next update will come, written like --eta: operators are reminded
    /// before it, and customers told the team is still on it if nobody writes by then.
    #[arg(long)]
    pub next_update: Option<String>,
    /// The file's id (default: made from the title).
    #[arg(long)]
    pub id: Option<String>,
}

pub struct NewUpdate {
    pub status: IncidentStatus,
    pub message: String,
    pub eta: Option<String>,
    pub next_update: Option<String>,
    pub notify: bool,
    pub apology: Option<String>,
    pub credit: Option<String>,
}

fn incidents_dir(config: &Config) -> PathBuf {
    config
        .file
        .parent()
        .unwrap_or(Path::new("."))
        .join(INCIDENTS_DIR)
}

fn parse_status(s: &str) -> anyhow::Result<IncidentStatus> {
    s.parse()
        .map_err(|()| anyhow!("\"{s}\" is not an update status (use investigating, identified, monitoring or resolved)"))
}

pub fn new(config_path: &Path, state_dir: &Path, n: NewIncident) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let _lock = edit::lock(&incidents_dir(&config))?;
    let view = super::read_view_for(&config, state_dir)?;
    let now = edit::now();
    let tz = config.site.timezone;
    refuse_blank("--title", &n.title)?;
    refuse_blank("--message", &n.message)?;
    let impact: Impact = n.impact.parse().map_err(|()| {
        anyhow!(
            "\"{}\" is not an impact (use none, minor, major or critical)",
            n.impact
        )
    })?;
    let status = parse_status(&n.status)?;
    if n.components.is_empty() {
        return Err(anyhow!("name the affected components with --component ID=STATUS, such as --component checkout=partial_outage").into());
    }
    let mut components = BTreeMap::new();
    for c in &n.components {
        let (id, st) = c.split_once('=').ok_or_else(|| {
            anyhow!("--component {c}: write ID=STATUS, such as checkout=partial_outage")
        })?;
        let st: ComponentStatus = st
            .parse()
            .map_err(|()| anyhow!("--component {c}: \"{st}\" is not a status (use degraded_performance, partial_outage, major_outage or under_maintenance)"))?;
        components.insert(id.trim().to_owned(), st);
    }
    let existing = Declared::load(&config, &view, now).declared;
    let taken = |id: &str| {
        view.incidents.contains_key(id)
            || existing.incidents.iter().any(|i| i.id == id)
            || incidents_dir(&config).join(format!("{id}.toml")).exists()
    };
    let id = match &n.id {
        Some(id) if taken(id) => {
            return Err(anyhow!("the id \"{id}\" is already used; choose another").into());
        }
        Some(id) => id.clone(),
        None => edit::free_id(&edit::slug(&n.title), &taken),
    };
    let eta = n
        .eta
        .as_deref()
        .map(|e| edit::when(e, tz, now))
        .transpose()?;
    let next_update = n
        .next_update
        .as_deref()
        .map(|e| edit::when(e, tz, now))
        .transpose()?;

    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(format!(
        "# Declared with `forewarn incident new`. Post progress with `forewarn incident update {id}`\n# and close it with `forewarn incident resolve {id}`.\n"
    ));
    doc["id"] = value(id.as_str());
    doc["title"] = value(n.title.trim());
    doc["impact"] = value(impact.as_str());
    let mut comps = Table::new();
    for (c, s) in &components {
        comps[c.as_str()] = value(s.as_str());
    }
    doc["components"] = Item::Table(comps);
    let update = IncidentUpdate {
        at: now,
        status,
        message: n.message.trim().to_owned(),
        eta,
        notify: true,
        apology: None,
        credit: None,
        automatic: false,
        next_update,
    };
    let mut updates = ArrayOfTables::new();
    updates.push(update_table(&update, &config)?);
    doc["update"] = Item::ArrayOfTables(updates);

    let path = incidents_dir(&config).join(format!("{id}.toml"));
    write_checked(&config, &view, &path, &doc.to_string(), now)?;
    let reference = unique_reference(&id, now, tz, &|r| view.has_reference(r));
    let incident = Incident {
        id: id.clone(),
        reference,
        title: n.title.trim().to_owned(),
        opened_title: n.title.trim().to_owned(),
        components,
        impact,
        automatic: false,
        opened_at: now,
        resolved_at: None,
        updates: vec![update.clone()],
        statuses: BTreeMap::new(),
        postmortem_url: None,
        causes: Vec::new(),
    };
    Ok(edit::report(
        &path,
        &crate::notify::compose::preview(&config, &view, &incident, &update),
        true,
    ))
}

/// Append an update to an incident's file (creating a `follows` file for an incident the
/// monitor opened).
pub fn update(
    config_path: &Path,
    state_dir: &Path,
    target: &str,
    u: NewUpdate,
) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let _lock = edit::lock(&incidents_dir(&config))?;
    let view = super::read_view_for(&config, state_dir)?;
    let now = edit::now();
    refuse_blank("--message", &u.message)?;
    let loaded = Declared::load(&config, &view, now);
    // The target may be a file id, or a reference customers quote.
    let journal_id = view
        .incident_by_reference(target)
        .map_or(target, |i| i.id.as_str());
    if let Some(inc) = view.incidents.get(journal_id)
        && let Some(resolved_at) = inc.resolved_at
        && u.status != IncidentStatus::Resolved
    {
        return Err(anyhow!(
            "{} was resolved at {}; only a resolved update (an apology or a credit) may follow. For a new problem, declare a new incident with `forewarn incident new`",
            inc.reference,
            crate::notify::notice::local_time(resolved_at, config.site.timezone)
        )
        .into());
    }
    let file = loaded
        .declared
        .incidents
        .iter()
        .find(|f| f.id == journal_id || f.follows.as_deref() == Some(journal_id));
    // A file that does not load must be mended by hand, never replaced.
    let own_file = incidents_dir(&config).join(format!("{}.toml", edit::slug(journal_id)));
    let broken = loaded
        .broken
        .iter()
        .find(|p| **p == own_file || p.file_stem().is_some_and(|s| s == journal_id));
    if let Some(b) = broken {
        let problems: Vec<String> = loaded
            .problems
            .iter()
            .filter(|d| Path::new(&d.file) == b)
            .map(ToString::to_string)
            .collect();
        bail_cmd(format!(
            "{} has problems; fix them first:\n{}",
            b.display(),
            problems.join("\n")
        ))?;
    }
    let (path, text, last_at) = match file {
        Some(f) => (
            f.path.clone(),
            std::fs::read_to_string(&f.path)
                .with_context(|| format!("cannot read {}", f.path.display()))?,
            f.updates.last().map(|u| u.at),
        ),
        None => follows_file(&config, &view, journal_id)?,
    };
    let eta = u
        .eta
        .as_deref()
        .map(|e| edit::when(e, config.site.timezone, now))
        .transpose()?;
    let next_update = u
        .next_update
        .as_deref()
        .map(|e| edit::when(e, config.site.timezone, now))
        .transpose()?;
    // Files hold whole seconds; keep the timeline in order even when updates come
    // within a second, or this machine's clock is behind the last update's.
    let at = match last_at {
        Some(last) if now <= last => last + TimeDelta::seconds(1),
        _ => now,
    };
    let update = IncidentUpdate {
        at,
        status: u.status,
        message: u.message.trim().to_owned(),
        eta,
        notify: u.notify,
        apology: u
            .apology
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        credit: u
            .credit
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        automatic: false,
        next_update,
    };
    let mut doc: DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let updates = doc
        .entry("update")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
        .as_array_of_tables_mut()
        .ok_or_else(|| {
            anyhow!(
                "{}: \"update\" is not a list of [[update]] tables",
                path.display()
            )
        })?;
    updates.push(update_table(&update, &config)?);
    write_checked(&config, &view, &path, &doc.to_string(), now)?;

    let incident = preview_incident(&config, &view, file, journal_id, &update);
    Ok(edit::report(
        &path,
        &crate::notify::compose::preview(&config, &view, &incident, &update),
        update.notify,
    ))
}

fn bail_cmd(msg: String) -> Result<(), CommandError> {
    Err(anyhow!(msg).into())
}

/// A new file holding human updates for an incident the monitor opened.
fn follows_file(
    config: &Config,
    view: &StatusView,
    id: &str,
) -> Result<(PathBuf, String, Option<DateTime<Utc>>), CommandError> {
    let Some(inc) = view.incidents.get(id).filter(|i| i.automatic) else {
        return Err(anyhow!(
            "no incident \"{id}\": it is neither declared in {} nor an incident the monitor opened",
            incidents_dir(config).display()
        )
        .into());
    };
    let slug = edit::slug(&inc.reference);
    let path = incidents_dir(config).join(format!("{slug}.toml"));
    if path.exists() {
        return Err(anyhow!(
            "{} exists but does not load; mend it by hand (forewarn check shows what is wrong)",
            path.display()
        )
        .into());
    }
    let text = format!(
        "# Updates written by people for {reference}, which the monitor opened.\n# Add more with `forewarn incident update {reference}`.\nid = \"{slug}\"\nfollows = \"{reference}\"\n",
        reference = inc.reference
    );
    let last = inc.updates.last().map(|u| u.at);
    Ok((
        incidents_dir(config).join(format!("{slug}.toml")),
        text,
        last,
    ))
}

/// The incident as it will read once the update is recorded, for the preview.
fn preview_incident(
    config: &Config,
    view: &StatusView,
    file: Option<&IncidentFile>,
    id: &str,
    update: &IncidentUpdate,
) -> Incident {
    let mut inc = match (view.incidents.get(id), file) {
        (Some(known), _) => known.clone(),
        (None, Some(f)) => {
            let first = f.updates.first().map_or(update.at, |u| u.at);
            Incident {
                id: f.id.clone(),
                reference: unique_reference(&f.id, first, config.site.timezone, &|r| {
                    view.has_reference(r)
                }),
                title: f.title.clone().unwrap_or_default(),
                opened_title: f.title.clone().unwrap_or_default(),
                components: f.components.clone(),
                impact: f.impact.unwrap_or(Impact::Minor),
                automatic: false,
                opened_at: first,
                resolved_at: None,
                updates: f.updates.clone(),
                statuses: BTreeMap::new(),
                postmortem_url: f.postmortem_url.clone(),
                causes: Vec::new(),
            }
        }
        (None, None) => Incident {
            id: id.to_owned(),
            reference: id.to_owned(),
            title: id.to_owned(),
            opened_title: id.to_owned(),
            components: BTreeMap::new(),
            impact: Impact::Minor,
            automatic: false,
            opened_at: update.at,
            resolved_at: None,
            updates: Vec::new(),
            statuses: BTreeMap::new(),
            postmortem_url: None,
            causes: Vec::new(),
        },
    };
    if let Some(f) = file {
        if let Some(t) = &f.title {
            inc.title = t.clone();
        }
        if !f.components.is_empty() {
            inc.components = f.components.clone();
        }
    }
    inc.updates.push(update.clone());
    inc
}

fn update_table(u: &IncidentUpdate, config: &Config) -> anyhow::Result<Table> {
    let tz = config.site.timezone;
    let mut t = Table::new();
    t["at"] = value(toml_time(u.at, tz)?);
    t["status"] = value(u.status.as_str());
    t["message"] = value(u.message.as_str());
    if let Some(eta) = u.eta {
        t["eta"] = value(toml_time(eta, tz)?);
    }
    if let Some(next) = u.next_update {
        t["next_update"] = value(toml_time(next, tz)?);
    }
    if !u.notify {
        t["notify"] = value(false);
    }
    if let Some(a) = &u.apology {
        t["apology"] = value(a.as_str());
    }
    if let Some(c) = &u.credit {
        t["credit"] = value(c.as_str());
    }
    Ok(t)
}

pub fn status_arg(s: &str) -> Result<IncidentStatus, CommandError> {
    Ok(parse_status(s)?)
}
