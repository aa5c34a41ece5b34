//! `forewarn heartbeat-url COMPONENT`: where a job reports to its heartbeat check.

use std::path::Path;

use anyhow::anyhow;

use super::{CommandError, load_config};
use crate::config::Target;
use crate::notify::token::Keys;

pub fn url(config_path: &Path, state_dir: &Path, component: &str) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let c = config
        .component(component)
        .ok_or_else(|| anyhow!("there is no component \"{component}\" in the configuration"))?;
    let Target::Heartbeat(h) = &c.check.target else {
        return Err(anyhow!(
            "component \"{component}\" is a {} check; only kind = \"heartbeat\" checks have an address to report to",
            c.check.target.kind()
        )
        .into());
    };
    // The same key the daemon signs with: FOREWARN_SECRET, or <state>/secret.
    let token = Keys::load(state_dir)?.heartbeat_token(&c.id);
    let base = format!("{}/heartbeat/{token}", config.front_url());
    Ok(format!(
        "{base}\n\nThe job reports with GET or POST to that address at least every {every} ({grace} of grace), and to {base}/fail when it fails, for example at the end of a cron job:\n\n  run-the-job && curl -fsS -m 10 --retry 3 {base} > /dev/null || curl -fsS -m 10 --retry 3 {base}/fail > /dev/null\n\nKeep the address private: anyone who has it can report for this job.\n",
        every = crate::config::show_duration(h.expect_every),
        grace = crate::config::show_duration(h.grace),
    ))
}
