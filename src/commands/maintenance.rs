//! `forewarn maintenance new`: announce planned work by writing its file.

use std::path::Path;

use anyhow::anyhow;
use toml_edit::{Array, DocumentMut, value};

use super::edit::{self, refuse_blank, toml_time, write_checked};
use super::{CommandError, load_config};
use crate::config::declared::{Declared, MAINTENANCE_DIR};
use crate::journal::MaintenanceWindow;
use crate::notify::Notice;

/// `forewarn maintenance …`
#[derive(clap::Subcommand)]
pub enum MaintenanceAction {
    /// Announce a maintenance window: writes config/maintenance/<id>.toml.
    New(NewMaintenance),
}

/// Carry out `forewarn maintenance …`; what to print.
pub fn act(
    config_path: &Path,
    state_dir: &Path,
    action: MaintenanceAction,
) -> Result<String, CommandError> {
    let MaintenanceAction::New(n) = action;
    new(config_path, state_dir, n)
}

/// What `forewarn maintenance new` announces.
#[derive(clap::Args)]
pub struct NewMaintenance {
    #[arg(long)]
    pub title: String,
    /// An affected component (repeatable).
    #[arg(long = "component", value_name = "ID", required = true)]
    pub components: Vec<String>,
    /// When it starts: "2026-11-25 02:00" (site time), RFC 3339, or a duration from now.
    #[arg(long)]
    pub start: String,
    /// When it ends, written the same way.
    #[arg(long)]
    pub end: String,
    /// What customers should expect.
    #[arg(long)]
    pub message: String,
    /// When to remind subscribers before the start (repeatable; default 24h and 1h).
    #[arg(long = "remind-before", value_name = "DURATION")]
    pub remind_before: Vec<String>,
    #[arg(long)]
    pub id: Option<String>,
}

pub fn new(
    config_path: &Path,
    state_dir: &Path,
    n: NewMaintenance,
) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let dir = config
        .file
        .parent()
        .unwrap_or(Path::new("."))
        .join(MAINTENANCE_DIR);
    let _lock = edit::lock(&dir)?;
    let view = super::read_view_for(&config, state_dir)?;
    let now = edit::now();
    let tz = config.site.timezone;
    refuse_blank("--title", &n.title)?;
    refuse_blank("--message", &n.message)?;
    if n.components.is_empty() {
        return Err(anyhow!(
            "name the components affected with --component ID (repeat it for several)"
        )
        .into());
    }
    let starts_at = edit::when(&n.start, tz, now)?;
    let ends_at = edit::when(&n.end, tz, now)?;
    for r in &n.remind_before {
        edit::duration(r)?;
    }
    let existing = Declared::load(&config, &view, now).declared;
    let taken = |id: &str| {
        view.maintenance.contains_key(id)
            || existing.maintenance.iter().any(|m| m.id == id)
            || dir.join(format!("{id}.toml")).exists()
    };
    let id = match &n.id {
        Some(id) if taken(id) => {
            return Err(anyhow!("the id \"{id}\" is already used; choose another").into());
        }
        Some(id) => id.clone(),
        None => edit::free_id(&edit::slug(&n.title), &taken),
    };

    let mut doc = DocumentMut::new();
    doc.decor_mut().set_prefix(format!(
        "# Announced with `forewarn maintenance new`. To call it off, add: cancelled = true\n# Subscribers are reminded {} before it starts (remind_before).\n",
        if n.remind_before.is_empty() { "24h and 1h".to_owned() } else { n.remind_before.join(" and ") }
    ));
    doc["id"] = value(id.as_str());
    doc["title"] = value(n.title.trim());
    let mut comps = Array::new();
    for c in &n.components {
        comps.push(c.trim());
    }
    doc["components"] = value(comps);
    doc["starts_at"] = value(toml_time(starts_at, tz)?);
    doc["ends_at"] = value(toml_time(ends_at, tz)?);
    doc["message"] = value(n.message.trim());
    if !n.remind_before.is_empty() {
        let mut r = Array::new();
        for d in &n.remind_before {
            r.push(d.trim());
        }
        doc["remind_before"] = value(r);
    }
    let path = dir.join(format!("{id}.toml"));
    write_checked(&config, &view, &path, &doc.to_string(), now)?;
    let window = MaintenanceWindow {
        title: n.title.trim().to_owned(),
        components: n.components.iter().map(|c| c.trim().to_owned()).collect(),
        starts_at,
        ends_at,
        message: n.message.trim().to_owned(),
    };
    Ok(edit::report(
        &path,
        &Notice::maintenance(
            &config,
            &window,
            "scheduled",
            &[],
            crate::notify::notice::Reader::customer(config.site.timezone),
        ),
        true,
    ))
}
