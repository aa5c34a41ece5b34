//! `forewarn check`: validate the configuration and say what it describes.

use std::path::Path;

use super::{CommandError, load_config};
use crate::config::When;
use crate::probe::short_duration;

pub fn run(config_path: &Path) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let mut out = format!(
        "{}: valid, {} component{} for \"{}\"\n",
        config_path.display(),
        config.components.len(),
        if config.components.len() == 1 {
            ""
        } else {
            "s"
        },
        config.site.title
    );
    for c in &config.components {
        let when = match &c.check.when {
            When::Every(d) => format!("every {}", short_duration(*d)),
            When::Cron { expression, .. } => format!("on \"{expression}\""),
        };
        let kind = c.check.target.kind();
        out.push_str(&format!(
            "  {:<16} {kind:<4} {when}, outage after {} failures, recovery after {} successes\n",
            c.id, c.check.fail_after, c.check.recover_after
        ));
    }
    Ok(out)
}
