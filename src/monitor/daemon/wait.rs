//! Waiting in the daemon's loop: for a moment on either clock, for SIGHUP, and for
//! blocking file work without stalling the other tasks.

use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};

/// Sleep until a wall-clock moment; forever without one.
pub(super) async fn sleep_until_utc(due: Option<DateTime<Utc>>) {
    match due {
        Some(at) => {
            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(wait).await
        }
        None => std::future::pending().await,
    }
}

/// Sleep until a monotonic moment; forever without one.
pub(super) async fn sleep_until_due(due: Option<tokio::time::Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Run blocking file work without stalling other tasks on a multi-threaded runtime.
pub(super) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(unix)]
pub(super) type Hangup = tokio::signal::unix::Signal;
#[cfg(not(unix))]
pub(super) type Hangup = ();

#[cfg(unix)]
pub(super) fn hangup_signal() -> anyhow::Result<Hangup> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot listen for SIGHUP")
}

#[cfg(not(unix))]
pub(super) fn hangup_signal() -> anyhow::Result<Hangup> {
    Ok(())
}

#[cfg(unix)]
pub(super) async fn recv_hangup(s: &mut Hangup) -> Option<()> {
    s.recv().await
}

#[cfg(not(unix))]
pub(super) async fn recv_hangup(_: &mut Hangup) -> Option<()> {
    std::future::pending().await
}
