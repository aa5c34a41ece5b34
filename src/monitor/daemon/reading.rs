//! The daemon reading its configuration folder again: the main file (the checks restart
//! when it changed), the subscribers and the declared files. A broken file leaves its
//! last good version in force, and says why.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Daemon;
use super::probing::thresholds;
use crate::config::declared::Declared;
use crate::config::{Config, Diagnostics};
use crate::monitor::declared;
use crate::monitor::tracker::Tracker;
use crate::site::{Builder, Changes};

impl Daemon {
    /// Record which components are public, as the configuration now says.
    pub(super) fn sync_visibility(&mut self) {
        if !self.leading() {
            return;
        }
        let now = Utc::now();
        let events = crate::monitor::visibility::events(&self.config, &self.view);
        if let Err(e) = self.append(events.into_iter().map(|e| (now, e)).collect()) {
            tracing::error!(error = %format!("{e:#}"), "cannot record which components are public; will retry on the next change");
        }
    }

    /// Read the configuration folder again. Returns true when the main configuration
    /// changed, so the checks must restart. Broken files leave the last good ones in force.
    pub(super) fn reload(&mut self, forced: bool) -> bool {
        let text = match std::fs::read_to_string(&self.reading.config_path) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(path = %self.reading.config_path.display(), error = %e, "cannot read the configuration; keeping the last good one");
                return false;
            }
        };
        let mut restart = false;
        if forced || text != self.reading.config_text {
            let env = |name: &str| std::env::var(name).ok();
            match Config::parse(&self.reading.config_path, &text, &env) {
                Ok(new) => {
                    match Builder::new(&new, self.site.builder.out().to_owned()) {
                        Ok(b) => self.site.builder = b,
                        Err(e) => {
                            tracing::error!(error = %format!("{e:#}"), "the new templates cannot be used; keeping the old ones")
                        }
                    }
                    self.site.pending = Changes::everything();
                    self.site.due = Some(tokio::time::Instant::now());
                    if let Err(e) = self.notifier.reconfigure(&new, &self.state_dir) {
                        tracing::error!(error = %format!("{e:#}"), "the new mail settings cannot be used; keeping the old ones");
                    }
                    self.config = Arc::new(new);
                    self.reading.config_text = text;
                    self.sync_visibility();
                    self.reading.generation += 1;
                    self.sync_trackers();
                    restart = true;
                    tracing::info!(
                        components = self.config.components.len(),
                        "configuration reloaded"
                    );
                }
                Err(diags) => report_bad_config(&diags),
            }
        }
        self.reload_subscribers();
        self.reload_declared(Utc::now());
        self.run_clock(Utc::now());
        restart
    }

    /// Read the declared incident and maintenance files and record what is new.
    pub(super) fn reload_declared(&mut self, now: DateTime<Utc>) {
        if !self.leading() {
            return; // the leader reads them into the journal
        }
        let loaded = Declared::load(&self.config, &self.view, now);
        // Each problem is told once, until it is mended or changes.
        let problems: HashSet<String> = loaded.problems.iter().map(|d| d.to_string()).collect();
        for d in &loaded.problems {
            if !self.reading.problems.contains(&d.to_string()) {
                tracing::error!(problem = %d, "declared file not used; its last good version stays in force");
            }
        }
        self.reading.problems = problems;
        self.declared = Declared::keep_last_good(&loaded, &self.declared);
        let diff =
            declared::incident_events(&self.declared, &self.view, self.config.site.timezone, now);
        let mut warnings = diff.warnings;
        for m in self
            .view
            .maintenance
            .values()
            .filter(|m| !m.state.is_over())
        {
            if !self.declared.maintenance.iter().any(|f| f.id == m.id) {
                warnings.push(format!(
                    "the file of maintenance {} is gone; it keeps its announced times (add cancelled = true to its file to call it off)",
                    m.id
                ));
            }
        }
        for w in warnings {
            if self.reading.warned.insert(w.clone()) {
                tracing::warn!("{w}");
            }
        }
        if let Err(e) = self.append(diff.events) {
            tracing::error!(error = %format!("{e:#}"), "cannot record declared incidents; will retry on the next change");
        }
        // An operator's resolution may have reset a component's status: its checks
        // start counting from there.
        let config = self.config.clone();
        for c in &config.components {
            let status = self.view.probe_status(&c.id);
            if self
                .probing
                .trackers
                .get(&c.id)
                .is_some_and(|t| t.status() != status)
            {
                self.probing
                    .trackers
                    .insert(c.id.clone(), Tracker::new(status, thresholds(c)));
                if let Some(cluster) = &mut self.cluster {
                    cluster.locations.reset(&c.id, status);
                }
            }
        }
    }
}

fn report_bad_config(diags: &Diagnostics) {
    for d in diags.iter() {
        tracing::error!(problem = %d, "configuration not reloaded");
    }
    tracing::warn!("still running with the last good configuration");
}
