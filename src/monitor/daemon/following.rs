//! The vendors' pages: each read handed to `monitor::upstreams` and what it decides
//! recorded, then told to operators.

use super::Daemon;
use crate::monitor::upstreams::{Followers, Read};

impl Daemon {
    pub(super) fn upstream_read(&mut self, read: Read) {
        if read.generation != self.following.generation || !self.leading() {
            return; // read for a configuration that has since been replaced
        }
        let config = self.config.clone();
        let Some(upstream) = config.upstream(&read.upstream) else {
            return;
        };
        if let Err(e) = &read.result {
            tracing::debug!(upstream = %upstream.id, error = %e, "a vendor's status page could not be read");
        }
        let outcome =
            self.following
                .watches
                .read(&config, &self.view, upstream, read.at, read.result);
        if !outcome.events.is_empty() {
            if let Some((_, crate::journal::Event::UpstreamChanged { reading, .. })) =
                outcome.events.first()
            {
                tracing::info!(
                    upstream = %upstream.id,
                    status = reading.status.map_or("unknown", |s| s.as_str()),
                    incidents = reading.incidents.len(),
                    "a vendor's status page changed"
                );
            }
            if let Err(e) = self.append(outcome.events) {
                tracing::error!(error = %format!("{e:#}"), "cannot record what a vendor's page says; the next read tries again");
                return;
            }
        }
        for (key, event, quiet) in outcome.alerts {
            self.alert((key, event), quiet);
        }
    }
}

impl Daemon {
    /// The readers for the configuration now in force: the same ones when it follows
    /// the same pages the same way (their validators and pace kept), new ones otherwise.
    pub(super) async fn refollow(
        &mut self,
        followers: Followers,
        tx: &tokio::sync::mpsc::Sender<Read>,
    ) -> Followers {
        if followers.same_for(&self.config) {
            return followers;
        }
        followers.stop().await;
        self.following.generation += 1;
        Followers::start(&self.config, self.following.generation, tx.clone())
    }
}
