//! Shared by the commands that write declared files: ids, times, checking a file's new
//! text before it replaces the old, and the preview of what subscribers will be told.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::{DateTime, DurationRound, SecondsFormat, Utc};
use chrono_tz::Tz;

use crate::config::declared::{Declared, time};
use crate::config::{Config, Diagnostics, LoadError};
use crate::notify::Notice;
use crate::status::StatusView;

use super::CommandError;

/// Now, in whole seconds (what files hold).
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(chrono::TimeDelta::seconds(1))
        .unwrap_or(now)
}

/// Hold the editing lock of a folder of declared files, so two commands editing at
/// once do not lose each other's changes. Released when dropped.
pub fn lock(dir: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(".forewarn-edit.lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    f.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(f)
}

/// `"Card payments failing!"` → `"card-payments-failing"`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 40 {
            break;
        }
    }
    let s = out.trim_matches('-').to_owned();
    if s.is_empty() { "incident".into() } else { s }
}

/// An id free in both the files and the journal: `base`, or `base-2`, `base-3`...
pub fn free_id(base: &str, taken: &dyn Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_owned();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken(c))
        .unwrap_or_else(|| base.to_owned())
}

/// A TOML date-time with the site's offset: `2026-11-23T10:04:00+01:00`.
pub fn toml_time(at: DateTime<Utc>, tz: Tz) -> anyhow::Result<toml_edit::Datetime> {
    at.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
        .parse()
        .context("cannot write a date and time")
}

/// `"2h"` from now, or a moment: RFC 3339, or `2026-11-23 14:00` in the site's zone.
pub fn when(text: &str, tz: Tz, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(d) = humantime::parse_duration(text.trim()) {
        return Ok(now + chrono::TimeDelta::from_std(d).unwrap_or_default());
    }
    time::parse(text, tz).map_err(|e| anyhow::anyhow!("{e}, or a duration from now such as \"2h\""))
}

pub fn duration(text: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text.trim())
        .with_context(|| format!("\"{text}\" is not a duration (such as \"24h\" or \"30m\")"))
}

/// Check `text` as the new content of `path` together with every other declared file,
/// then write it atomically (a temporary file renamed over the old one).
pub fn write_checked(
    config: &Config,
    view: &StatusView,
    path: &Path,
    text: &str,
    now: DateTime<Utc>,
) -> Result<(), CommandError> {
    let loaded = Declared::load_with(config, view, now, Some((path, text)));
    let display = path.display().to_string();
    let mine: Vec<_> = loaded
        .problems
        .into_iter()
        .filter(|d| d.file == display)
        .collect();
    if !mine.is_empty() {
        return Err(LoadError::Invalid(Diagnostics(mine)).into());
    }
    // An operator's words: durable before the command says it wrote them.
    crate::files::write_atomic(path, text.as_bytes(), crate::files::Durability::Durable)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// "Wrote …; once forewarn records it, subscribers will be told: …"
pub fn report(path: &Path, notice: &Notice, notify: bool) -> String {
    let mut out = format!("Wrote {}.\n", path.display());
    if !notify {
        out.push_str(
            "This update is silent (notify = false): it is published, but nobody is notified.\n",
        );
        return out;
    }
    out.push_str("Once forewarn records it, subscribers will be told:\n\n");
    out.push_str(&format!("  Subject: {}\n\n", notice.subject));
    for line in notice.to_text().lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

pub fn refuse_blank(what: &str, text: &str) -> anyhow::Result<()> {
    if text.trim().is_empty() {
        bail!("{what} must not be empty");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_free_ids() {
        assert_eq!(slug("Card payments failing!"), "card-payments-failing");
        assert_eq!(slug("  --  "), "incident");
        assert_eq!(slug("INC-2026-1122-api"), "inc-2026-1122-api");
        let taken = |s: &str| s == "cards" || s == "cards-2";
        assert_eq!(free_id("cards", &taken), "cards-3");
        assert_eq!(free_id("other", &taken), "other");
    }

    #[test]
    fn times_are_written_with_the_site_offset() {
        let at: DateTime<Utc> = "2026-11-23T09:04:00Z".parse().unwrap();
        assert_eq!(
            toml_time(at, chrono_tz::Europe::Paris).unwrap().to_string(),
            "2026-11-23T10:04:00+01:00"
        );
        let now: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
        assert_eq!(
            when("2h", chrono_tz::UTC, now).unwrap(),
            "2026-11-23T11:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            when("2026-11-23 14:00", chrono_tz::Europe::Paris, now).unwrap(),
            "2026-11-23T13:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(when("soon", chrono_tz::UTC, now).is_err());
    }
}
