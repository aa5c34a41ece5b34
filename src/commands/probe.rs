//! `forewarn probe`: one round of every check, now, as a table.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{CommandError, Exit, load_config, table};
use crate::config::Config;
use crate::probe::{Prober, Sample, short_duration};

#[derive(Debug, Serialize)]
pub struct ProbeResult {
    pub component: String,
    pub check: String,
    #[serde(flatten)]
    pub sample: Sample,
}

/// Probe every component (or those named in `only`) once, at most
/// `max_concurrency` at a time, in configuration order.
pub async fn round(config: &Config, only: &[String]) -> anyhow::Result<Vec<ProbeResult>> {
    for id in only {
        if config.component(id).is_none() {
            bail!("no component \"{id}\" in {}", config.file.display());
        }
    }
    let prober = Prober::new().context("cannot set up the probes")?;
    let limit = Arc::new(Semaphore::new(config.monitor.max_concurrency));
    let mut tasks = JoinSet::new();
    let mut results = Vec::new();
    let record = |done: Result<(usize, Sample), tokio::task::JoinError>,
                  results: &mut Vec<(usize, ProbeResult)>|
     -> anyhow::Result<()> {
        let (index, sample) = done.context("a probe task failed")?;
        let c = &config.components[index];
        results.push((
            index,
            ProbeResult {
                component: c.id.clone(),
                check: c.check.target.describe(),
                sample,
            },
        ));
        Ok(())
    };
    for (index, c) in config.components.iter().enumerate() {
        if !only.is_empty() && !only.contains(&c.id) {
            continue;
        }
        if is_heartbeat(c) {
            continue; // its job reports to the daemon; nothing to probe
        }
        // A task is started only when it may run, so a round of many checks holds
        // at most `max_concurrency` probes in memory.
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .context("the probe limit closed")?;
        while let Some(done) = tasks.try_join_next() {
            record(done, &mut results)?;
        }
        let (prober, check) = (prober.clone(), c.check.clone());
        tasks.spawn(async move {
            let _permit = permit;
            (index, prober.probe(&check).await)
        });
    }
    while let Some(done) = tasks.join_next().await {
        record(done, &mut results)?;
    }
    results.sort_by_key(|(i, _)| *i);
    Ok(results.into_iter().map(|(_, r)| r).collect())
}

fn is_heartbeat(c: &crate::config::Component) -> bool {
    matches!(c.check.target, crate::config::Target::Heartbeat(_))
}

pub async fn run(
    config_path: &Path,
    only: &[String],
    json: bool,
) -> Result<(String, Exit), CommandError> {
    let config = load_config(config_path)?;
    let started = std::time::Instant::now();
    let results = round(&config, only).await?;
    let took = started.elapsed();
    tracing::debug!(
        probes = results.len(),
        took_ms = took.as_secs_f64() * 1000.0,
        per_second = results.len() as f64 / took.as_secs_f64().max(1e-9),
        "probe round done"
    );
    // A component down, or one that could not be checked from here, is not all well.
    let exit = if results
        .iter()
        .any(|r| r.sample.outcome.is_down() || r.sample.outcome.is_unknown())
    {
        Exit::Failure
    } else {
        Exit::Success
    };
    if json {
        let text = serde_json::to_string_pretty(&results).context("cannot encode results")?;
        return Ok((text + "\n", exit));
    }
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.component.clone(),
                r.sample.outcome.word().to_owned(),
                short_duration(r.sample.latency),
                r.sample.outcome.reason().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    let mut text = table::render(&["COMPONENT", "OUTCOME", "LATENCY", "REASON"], &rows);
    let heartbeats: Vec<&str> = config
        .components
        .iter()
        .filter(|c| is_heartbeat(c) && (only.is_empty() || only.contains(&c.id)))
        .map(|c| c.id.as_str())
        .collect();
    if !heartbeats.is_empty() {
        text.push_str(&format!(
            "Not probed (their jobs report to forewarn run; see forewarn status): {}\n",
            heartbeats.join(", ")
        ));
    }
    if only.is_empty() {
        // What the vendors we depend on report: theirs, so it never changes the exit.
        text.push_str(&super::upstream::probe_table(&config).await);
    }
    Ok((text, exit))
}
