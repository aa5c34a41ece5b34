//! `forewarn check`: validate the configuration and the declared files, and say what
//! they describe.

use std::path::Path;

use chrono::Utc;

use super::{CommandError, load_config};
use crate::config::declared::Declared;
use crate::config::subscribers::Target;
use crate::config::{Diagnostics, LoadError, Subscribers, When};
use crate::journal::{JOURNAL_FILE, Journal};
use crate::probe::short_duration;
use crate::status::StatusView;

/// Validate everything. `state_given`: the operator named the state folder, so its
/// journal (even absent, hence empty) is the truth; otherwise a missing journal means a
/// configuration folder checked on its own, and what only the journal can tell is
/// listed as not checked.
pub fn run(
    config_path: &Path,
    state_dir: &Path,
    state_given: bool,
    offline: bool,
) -> Result<String, CommandError> {
    let config = load_config(config_path)?;
    let (vendor_problems, vendor_notes) = if offline || config.upstreams.is_empty() {
        (Vec::new(), String::new())
    } else {
        let source = std::fs::read_to_string(config_path).unwrap_or_default();
        super::cli::run_async(async {
            Ok::<_, CommandError>(super::upstream::check_names(&config, &source).await)
        })?
    };
    let has_journal = state_dir.join(JOURNAL_FILE).is_file();
    let loaded = if has_journal || state_given {
        // `follows` and past windows are checked against the journal, read without
        // touching it.
        let view = Journal::read(state_dir)
            .map(|r| StatusView::from_records(&r.records))
            .map_err(anyhow::Error::from)?;
        Declared::load(&config, &view, Utc::now())
    } else {
        Declared::load_without_journal(&config, Utc::now())
    };
    let subscribers = Subscribers::load(&config);
    let mut problems = loaded.problems;
    if let Err(d) = &subscribers {
        problems.extend(d.0.iter().cloned());
    }
    problems.extend(vendor_problems);
    if !problems.is_empty() {
        return Err(LoadError::Invalid(Diagnostics(problems)).into());
    }
    let subscribers = subscribers.unwrap_or_default();
    let n = config.components.len();
    let mut out = format!(
        "{}: valid, {n} component{} for \"{}\"\n",
        config_path.display(),
        if n == 1 { "" } else { "s" },
        config.site.title
    );
    for c in &config.components {
        let when = match &c.check.when {
            When::Every(d) => format!("every {}", short_duration(*d)),
            When::Cron { expression, .. } => format!("on \"{expression}\""),
        };
        out.push_str(&format!(
            "  {:<16} {:<4} {when}, outage after {} failures, recovery after {} successes{}\n",
            c.id,
            c.check.target.kind(),
            c.check.fail_after,
            c.check.recover_after,
            if c.public { "" } else { " (operators only)" }
        ));
    }
    if offline {
        for u in &config.upstreams {
            out.push_str(&format!(
                "  upstream {:<16} {} (not read: --offline)\n",
                u.id, u.page
            ));
        }
    } else {
        out.push_str(&vendor_notes);
    }
    if !subscribers.list.is_empty() {
        let (operators, customers): (Vec<_>, Vec<_>) =
            subscribers.list.iter().partition(|s| s.operator);
        let emails = customers
            .iter()
            .filter(|s| matches!(s.target, Target::Email { .. }))
            .count();
        let hooks = customers.len() - emails;
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        out.push_str(&format!(
            "{}, {} and {} in {}\n",
            plural(emails, "email subscriber", "email subscribers"),
            plural(hooks, "webhook", "webhooks"),
            plural(operators.len(), "operator", "operators"),
            Subscribers::path(&config).display()
        ));
    }
    let d = &loaded.declared;
    if !d.incidents.is_empty() || !d.maintenance.is_empty() {
        out.push_str(&format!(
            "{} incident file{} and {} maintenance file{} are valid\n",
            d.incidents.len(),
            if d.incidents.len() == 1 { "" } else { "s" },
            d.maintenance.len(),
            if d.maintenance.len() == 1 { "" } else { "s" },
        ));
    }
    if !loaded.unchecked.is_empty() {
        out.push_str(&format!(
            "Not checked, for want of the journal ({} not found; --state DIR names it):\n",
            state_dir.join(JOURNAL_FILE).display()
        ));
        for d in &loaded.unchecked {
            out.push_str(&format!("  {d}\n"));
        }
    }
    Ok(out)
}
