//! `forewarn heartbeat-url COMPONENT`: where a job reports to its heartbeat check.

use std::path::Path;

use anyhow::anyhow;

use super::CommandError;
use crate::config::{Config, Target};
use crate::notify::token::{Keys, SECRET_ENV, SECRET_FILE};

pub fn url(config_path: &Path, state_dir: &Path, component: &str) -> Result<String, CommandError> {
    // Nothing is sent or probed here: the secrets of the rest are not needed.
    let config = Config::load_for_build(config_path)?;
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
    let had_key = std::env::var(SECRET_ENV).is_ok_and(|s| !s.trim().is_empty())
        || state_dir.join(SECRET_FILE).exists();
    let token = Keys::load(state_dir)?.heartbeat_token(&c.id);
    let base = format!("{}/heartbeat/{token}", config.front_url());
    let mut notes = String::new();
    if !had_key {
        notes.push_str(&format!(
            "\nNote: there was no signing key, so one was made in {}. `forewarn run` must use this state folder (or {SECRET_ENV}, the same for both), or it will not know this address.\n",
            state_dir.join(SECRET_FILE).display()
        ));
    }
    if config.serve.public_url.is_none() {
        notes.push_str(
            "\nNote: [serve] public_url is not set, so this address is on the site's base_url; it must reach forewarn's HTTP front (forewarn run --listen, or forewarn serve).\n",
        );
    }
    Ok(format!(
        "{base}\n\nThe job reports with GET or POST to that address at least every {every} ({grace} of grace), and to {base}/fail when it fails, for example at the end of a cron job:\n\n  run-the-job && curl -fsS -m 10 --retry 3 {base} > /dev/null || curl -fsS -m 10 --retry 3 {base}/fail > /dev/null\n\nKeep the address private: anyone who has it can report for this job.\n",
        every = crate::config::show_duration(h.expect_every),
        grace = crate::config::show_duration(h.grace),
    ) + &notes)
}
