//! What the daemon tells operators, and only them: checks that could not run on this
//! machine, and certificates nearing expiry, each alert at most once in its quiet time.

use std::time::Duration;

use chrono::Utc;

use super::{Daemon, alerts};
use crate::config::Component;
use crate::journal::Event;
use crate::probe::{Outcome, Sample};

impl Daemon {
    /// A sample's news for operators: this machine's trouble, a certificate nearing
    /// expiry.
    pub(super) fn tell_operators(&mut self, component: &Component, sample: &Sample) {
        match (&sample.outcome, &sample.certificate) {
            (Outcome::Unknown(reason), _) => {
                // One log line a minute at most, however many checks fail this way.
                self.probing.not_run.0 += 1;
                if self
                    .probing
                    .not_run
                    .1
                    .is_none_or(|t| t.elapsed() >= Duration::from_secs(60))
                {
                    tracing::warn!(
                        component = %component.id,
                        reason = %reason,
                        checks = self.probing.not_run.0,
                        "checks could not run on this machine"
                    );
                    self.probing.not_run = (0, Some(std::time::Instant::now()));
                }
                self.alert(
                    alerts::probes_not_run(component, reason),
                    alerts::PROBES_QUIET,
                );
            }
            (Outcome::Warning(_), Some(cert)) => {
                let event = alerts::certificate_expiring(&self.config, component, cert, sample.at);
                self.alert(event, alerts::CERTIFICATE_QUIET);
            }
            _ => {}
        }
    }

    /// Raise an operator alert unless the same one was raised within `quiet`.
    pub(super) fn alert(&mut self, (key, event): (String, Event), quiet: chrono::TimeDelta) {
        if !self.leading() {
            return; // the leader tells operators
        }
        let now = Utc::now();
        if !self.alerts.may_raise(&key, now, quiet) {
            return;
        }
        if let Event::OperatorAlert { message, .. } = &event {
            tracing::warn!(alert = %key, "{message}");
        }
        if let Err(e) = self.append(vec![(now, event)]) {
            tracing::error!(error = %format!("{e:#}"), "cannot record an operator alert");
        }
    }
}
