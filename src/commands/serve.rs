//! `forewarn serve`: the HTTP front as a process of its own, beside `forewarn run`
//! (which must run on the same state folder for sign-ups, links and metrics).

use std::net::SocketAddr;
use std::path::Path;

use anyhow::{Context, anyhow};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CommandError, load_config};
use crate::serve::bridge;

pub async fn run(
    config_path: &Path,
    state_dir: &Path,
    out: Option<&Path>,
    listen: Option<SocketAddr>,
) -> Result<(), CommandError> {
    let config = load_config(config_path)?;
    let addr = listen.or(config.serve.listen).ok_or_else(|| {
        anyhow!("give an address to listen on: --listen 127.0.0.1:8080, or [serve] listen in the configuration")
    })?;
    let site = crate::site::out_dir(&config, out);
    let shutdown = CancellationToken::new();
    super::run::spawn_shutdown_on_signal(shutdown.clone())?;
    let (tx, rx) = mpsc::channel(64);
    super::run::raise_open_file_limit(&config, 0, true);
    let bound = crate::serve::start(addr, site.clone(), &config, tx, shutdown.clone(), 0)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let socket = bridge::socket_path(state_dir);
    tokio::spawn(bridge::forward(socket.clone(), rx));
    tracing::info!(
        address = %bound,
        site = %site.display(),
        daemon = %socket.display(),
        "HTTP front listening"
    );
    shutdown.cancelled().await;
    Ok(())
}
