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
    let report = builder.build_all(&config, &view, state_dir, build_time()?)?;
    Ok(format!(
        "Built {} files into {} in {} ms. Open {}\n",
        report.written,
        dir.display(),
        report.elapsed.as_millis(),
        dir.join("index.html").display()
    ))
}

/// The moment the site is rendered as of: now, or `SOURCE_DATE_EPOCH` (seconds since
/// 1970, as reproducible-builds.org defines it) when set, so two builds of the same
/// journal give the same bytes.
fn build_time() -> Result<chrono::DateTime<Utc>, CommandError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "SOURCE_DATE_EPOCH is \"{v}\": give a number of seconds since 1970, or leave it unset"
                )
                .into()
            }),
        _ => Ok(Utc::now()),
    }
}
