//! `forewarn build`: render the status site from the configuration and the journal.

use std::path::Path;

use chrono::Utc;

use super::CommandError;
use crate::site::{self, Builder};

pub fn run(
    config_path: &Path,
    state_dir: &Path,
    out: Option<&Path>,
) -> Result<String, CommandError> {
    let config = crate::config::Config::load_for_build(config_path)?;
    // With [cluster] the journal is the cluster's; the rollups are this node's own.
    let view = super::read_view_for(&config, state_dir)?;
    let dir = site::out_dir(&config, out);
    let mut builder = Builder::new(&config, dir.clone())?;
    let report = builder.build_all(&config, &view, state_dir, Utc::now())?;
    Ok(format!(
        "Built {} files into {} in {} ms. Open {}\n",
        report.written,
        dir.display(),
        report.elapsed.as_millis(),
        dir.join("index.html").display()
    ))
}
