//! The daemon's status site: rebuilt shortly after events, and now and then.

use chrono::Utc;

use super::wait::blocking;
use super::{Daemon, SITE_REFRESH};
use crate::site::Changes;

/// A build that rendered this many files held them all at once: give the memory back.
const RELEASE_AFTER_FILES: usize = 1_000;

/// Return the allocator's free pages to the system. A large build's pages are freed
/// when it ends, but glibc keeps them in each thread's arena: a daemon of 10,000
/// components otherwise stays at the size of its largest build between builds.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only hands free memory back to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Daemon {
    /// Rebuild what the pending changes touch; a failure is logged and retried later.
    pub(super) fn rebuild_site(&mut self) {
        self.site.due = None;
        // The site reads the hour in progress from the saved rollups: save it first.
        if let Err(e) = self.probing.rollups.persist_if_changed(Utc::now()) {
            tracing::error!(error = %format!("{e:#}"), "cannot save hourly rollups");
        }
        let changes = std::mem::take(&mut self.site.pending);
        let config = self.config.clone();
        let (view, state_dir) = (&self.view, &self.state_dir);
        let builder = &mut self.site.builder;
        match blocking(|| builder.update(&config, view, state_dir, Utc::now(), &changes)) {
            Ok(r) => {
                self.probing.metrics.site_built(r.elapsed);
                if r.rendered >= RELEASE_AFTER_FILES {
                    release_free_memory();
                }
                tracing::debug!(
                    written = r.written,
                    rendered = r.rendered,
                    ms = r.elapsed.as_millis() as u64,
                    "status site rebuilt"
                );
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), out = %self.site.builder.out().display(), "cannot rebuild the status site; will retry");
                self.site.pending = Changes::everything();
                self.site.due = Some(tokio::time::Instant::now() + SITE_REFRESH);
            }
        }
    }
}
