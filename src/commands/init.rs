//! `forewarn init [DIR]`: write a commented example configuration that validates.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The example configuration shipped with forewarn (the same file as `config/forewarn.toml`).
pub const EXAMPLE_CONFIG: &str = include_str!("../../config/forewarn.toml");
const INCIDENTS_README: &str = include_str!("../../config/incidents/README.md");
const MAINTENANCE_README: &str = include_str!("../../config/maintenance/README.md");
const EXAMPLE_SUBSCRIBERS: &str = include_str!("../../config/subscribers.toml");

/// Write `DIR/config/forewarn.toml`, an example `subscribers.toml` (and notes on the `incidents/` and `maintenance/`
/// folders beside it); never overwrites an existing file.
pub fn run(dir: &Path) -> anyhow::Result<PathBuf> {
    let config_dir = dir.join("config");
    let path = config_dir.join("forewarn.toml");
    if path.exists() {
        bail!(
            "{} already exists; forewarn init never overwrites a configuration",
            path.display()
        );
    }
    std::fs::create_dir_all(&config_dir)
        .with_context(|| format!("cannot create {}", config_dir.display()))?;
    std::fs::write(&path, EXAMPLE_CONFIG)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let subscribers = config_dir.join(crate::config::subscribers::SUBSCRIBERS_FILE);
    if !subscribers.exists() {
        std::fs::write(&subscribers, EXAMPLE_SUBSCRIBERS)
            .with_context(|| format!("cannot write {}", subscribers.display()))?;
    }
    for (sub, readme) in [
        ("incidents", INCIDENTS_README),
        ("maintenance", MAINTENANCE_README),
    ] {
        let d = config_dir.join(sub);
        let r = d.join("README.md");
        if !r.exists() {
            std::fs::create_dir_all(&d)
                .with_context(|| format!("cannot create {}", d.display()))?;
            std::fs::write(&r, readme).with_context(|| format!("cannot write {}", r.display()))?;
        }
    }
    Ok(path)
}
