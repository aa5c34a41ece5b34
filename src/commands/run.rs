//! `forewarn run`: the daemon, until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::{CommandError, load_config};
use crate::config::Config;
use crate::journal::Record;
use crate::monitor::{self, RunOptions};
use crate::notify::asks::Ask;
use crate::serve;

/// Asks from the front that may wait for the daemon's main loop.
const ASK_QUEUE: usize = 64;

pub async fn run(
    config_path: &Path,
    state_dir: &Path,
    out: Option<&Path>,
    listen: Option<SocketAddr>,
    overrides: crate::config::NodeOverrides,
) -> Result<(), CommandError> {
    let config = load_config(config_path)?;
    let node = match &config.cluster {
        Some(cluster) => {
            let node = cluster.node(&overrides).map_err(anyhow::Error::new)?;
            // A link one node signs must open on every other: they share the key.
            if std::env::var(crate::notify::token::SECRET_ENV)
                .ok()
                .is_none_or(|s| s.trim().is_empty())
            {
                return Err(anyhow::anyhow!(
                    "with [cluster], every node signs subscribers' links and heartbeat addresses with the same key: set {} to the same value (at least {} random characters) on every node. Moving from a single node, use the contents of its state/secret so the links already sent keep working",
                    crate::notify::token::SECRET_ENV,
                    crate::notify::token::MIN_SECRET_LEN
                )
                .into());
            }
            // An address this machine does not have would fail every probe, as if
            // every service were down: refuse it now.
            if let Some(ip) = node.probe_from
                && let Err(e) = std::net::TcpListener::bind((ip, 0))
            {
                return Err(anyhow::anyhow!(
                    "probe_from: this machine cannot send from {ip} ({e}); give one of its own addresses"
                )
                .into());
            }
            Some(node)
        }
        None => {
            if overrides.node.is_some()
                || overrides.location.is_some()
                || overrides.probe_from.is_some()
            {
                tracing::warn!(
                    "a node name, location or probe address was given, but the configuration has no [cluster]: running as a single node with the file journal"
                );
            }
            None
        }
    };
    let front = listen.is_some() || config.serve.listen.is_some();
    raise_open_file_limit(&config, monitor_descriptors(&config), front);
    let shutdown = CancellationToken::new();
    spawn_shutdown_on_signal(shutdown.clone())?;
    daemon(
        RunOptions {
            config_path: config_path.to_owned(),
            state_dir: state_dir.to_owned(),
            out_dir: out.map(Path::to_path_buf),
            node,
        },
        listen,
        config,
        shutdown,
        None,
    )
    .await?;
    Ok(())
}

/// The daemon and its HTTP front, wired: the front listens on `listen` (or `[serve]
/// listen`, if set) from the start, so it answers (`/readyz` 503) while the daemon takes
/// the journal and replays it; `forewarn serve` reaches the daemon through a socket in
/// the state folder once it holds the journal. Both ask the daemon over one channel.
/// Every record appended is also sent to `records`, once durable.
pub async fn daemon(
    opts: RunOptions,
    listen: Option<SocketAddr>,
    config: Config,
    shutdown: CancellationToken,
    records: Option<broadcast::Sender<Record>>,
) -> anyhow::Result<()> {
    let (asks_tx, asks) = mpsc::channel::<Ask>(ASK_QUEUE);
    // A second daemon on the same state folder is told so, not that the port is taken.
    crate::journal::Journal::ensure_free(&opts.state_dir)?;
    if let Some(addr) = listen.or(config.serve.listen) {
        let bound = serve::start(
            addr,
            crate::site::out_dir(&config, opts.out_dir.as_deref()),
            &config,
            asks_tx.clone(),
            shutdown.clone(),
            monitor_descriptors(&config),
        )
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(address = %bound, "HTTP front listening");
    }
    // Replaying a long journal takes a while: off the threads that serve the front.
    let prepared =
        tokio::task::spawn_blocking(move || monitor::prepare(opts, config, records)).await??;
    match serve::bridge::listen(prepared.state_dir(), asks_tx, shutdown.clone()) {
        Ok(path) => tracing::debug!(socket = %path.display(), "answering forewarn serve"),
        Err(e) => tracing::warn!(error = %e, "forewarn serve will not reach this daemon"),
    }
    prepared.run(asks, shutdown).await
}

/// Cancel `token` on SIGINT or SIGTERM; a second signal ends the process at once (the
/// journal is safe: a cut-off append is repaired at the next start).
pub fn spawn_shutdown_on_signal(token: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received, stopping"),
                _ = int.recv() => tracing::info!("SIGINT received, stopping"),
            }
            token.cancel();
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::warn!("second signal received, stopping at once");
            std::process::exit(130);
        });
    }
    #[cfg(not(unix))]
    {
        tokio::spawn(async move {
            let _ = tokio::signal::ctrl_c().await;
            token.cancel();
            let _ = tokio::signal::ctrl_c().await;
            std::process::exit(130);
        });
    }
    Ok(())
}

/// Descriptors the monitor itself may hold at once: a socket per probe and per mail or
/// webhook delivery in flight (the journal, log and the rest are counted apart).
pub fn monitor_descriptors(config: &Config) -> usize {
    config.monitor.max_concurrency + config.notify.concurrency
}

/// Many probes and visitors at once need many sockets: lift the soft open-file limit
/// towards the hard one, enough for `monitor` descriptors (see
/// [`monitor_descriptors`]), the HTTP front's connections if it runs, and 256 more;
/// say so if it stays below what the monitor needs.
pub fn raise_open_file_limit(config: &Config, monitor: usize, front: bool) {
    let front = if front {
        config.serve.limits.max_connections
    } else {
        0
    };
    let wanted = (monitor + front) as u64 + 256;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < monitor as u64 + 256 => tracing::warn!(
            limit = got,
            wanted,
            "the open-file limit is below what max_concurrency needs; probes may fail with 'too many open files'"
        ),
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "cannot read or raise the open-file limit"),
    }
}
