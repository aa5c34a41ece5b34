//! `forewarn init [DIR]`: write a commented example configuration that validates.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The example configuration shipped with forewarn (the same file as `config/forewarn.toml`).
pub const EXAMPLE_CONFIG: &str = include_str!("../../config/forewarn.toml");

/// Write `DIR/config/forewarn.toml`; never overwrites an existing file.
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
    Ok(path)
}
