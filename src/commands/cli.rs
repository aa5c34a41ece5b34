//! The command line: flags and subcommands (clap), each handed to its command's module.
//! `main.rs` parses, sets up logging and maps the result to an exit code.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};

use super::heartbeat;
use super::incident::{self, IncidentAction};
use super::maintenance::{self, MaintenanceAction};
use super::notify::{self, Channel, TestTarget};
use super::outbox::{self, OutboxAction};
use super::{CommandError, DEFAULT_STATE_DIR, Exit};
use super::{build, check, cluster, init, probe, run, serve, status, upstream};
use crate::config::DEFAULT_CONFIG_PATH;
use crate::config::subscribers::WebhookFormat;

#[derive(clap::Parser)]
#[command(
    name = "forewarn",
    version,
    about = "A public status page that tells customers about outages first"
)]
pub struct Cli {
    /// The main configuration file.
    #[arg(long, global = true, default_value = DEFAULT_CONFIG_PATH, env = "FOREWARN_CONFIG")]
    pub config: PathBuf,
    /// Where the journal and rollups are kept [default: state].
    #[arg(long, global = true, env = "FOREWARN_STATE")]
    pub state: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

/// What `forewarn upstream` does.
#[derive(clap::Subcommand)]
pub enum UpstreamAction {
    /// Read a vendor's status page once and list its kind, components and open
    /// incidents (the names to copy into `components`).
    Test {
        /// The vendor's status page, such as https://status.vendor.example
        url: String,
        /// Read it as this kind instead of detecting it.
        #[arg(
            long,
            value_parser = PossibleValuesParser::new(["statuspage", "incidentio", "instatus", "betterstack", "forewarn"])
                .try_map(|s| s.parse::<crate::config::PageKind>().map_err(|()| "unknown kind"))
        )]
        kind: Option<crate::config::PageKind>,
        /// The longest each request may take.
        #[arg(long, default_value = "15s", value_parser = parse_duration)]
        timeout: std::time::Duration,
    },
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::config::upstream::duration(text)
}

/// What `forewarn cluster` does.
#[derive(clap::Subcommand)]
pub enum ClusterAction {
    /// Where the shared journal stands: its records, and the NATS servers keeping it.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Append a single node's file journal to the cluster's (once: an import run again
    /// appends nothing, and one stopped halfway appends the rest).
    Import {
        /// The journal file, such as state/journal.jsonl.
        file: PathBuf,
    },
}

/// How log lines are written on stderr.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Write a commented example configuration to DIR/config/forewarn.toml.
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Validate the configuration; exits 2 listing every problem.
    Check {
        /// Do not read the vendors' status pages (`[[upstream]]`) to check the
        /// component names followed on them.
        #[arg(long)]
        offline: bool,
    },
    /// Probe every component once now and print a table; exits 1 if any is down.
    Probe {
        /// Only these components (repeatable).
        #[arg(long = "component", value_name = "ID")]
        components: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The journal shared by several nodes on NATS JetStream (`[cluster]`).
    Cluster {
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// Build the status site (pages, feeds, API, badges) from the configuration and journal.
    Build {
        /// Where to put it (default: [site] out_dir, or site/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the monitor until SIGINT or SIGTERM (SIGHUP reloads the configuration); it
    /// keeps the status site up to date.
    Run {
        /// Where to keep the status site (default: [site] out_dir, or site/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also serve the site, unsubscribe links and health checks over HTTP here
        /// (default: [serve] listen, if set), such as 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// With [cluster]: this node's name, unique in the cluster (overrides [cluster] node).
        #[arg(long, value_name = "NAME", env = "FOREWARN_NODE")]
        node: Option<String>,
        /// With [cluster]: where this node probes from, as people read it, such as
        /// Frankfurt (overrides [cluster] location).
        #[arg(long, value_name = "NAME", env = "FOREWARN_LOCATION")]
        location: Option<String>,
        /// With [cluster]: the source address of this node's probes (overrides
        /// [cluster] probe_from).
        #[arg(long, value_name = "ADDR", env = "FOREWARN_PROBE_FROM")]
        probe_from: Option<String>,
    },
    /// Serve the status site, sign-up, unsubscribe links, health checks and metrics over
    /// HTTP, as a process of its own; `forewarn run` on the same state folder answers
    /// what needs the journal.
    Serve {
        /// Where to listen (default: [serve] listen), such as 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// The built site to serve (default: [site] out_dir, or site/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print the addresses a job reports to for a heartbeat check (kind = "heartbeat").
    HeartbeatUrl {
        /// The component's id.
        component: String,
    },
    /// Vendors' status pages (`[[upstream]]`).
    Upstream {
        #[command(subcommand)]
        action: UpstreamAction,
    },
    /// Show the current status recorded in the journal.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Declare an incident, or post an update to one, by editing its file.
    Incident {
        #[command(subcommand)]
        action: IncidentAction,
    },
    /// Announce planned maintenance by writing its file.
    Maintenance {
        #[command(subcommand)]
        action: MaintenanceAction,
    },
    /// List the deliveries still owed (pending, failing) and given up on (dead).
    Outbox {
        #[command(subcommand)]
        action: Option<OutboxAction>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Send a sample notice to one email address or webhook now.
    NotifyTest {
        /// An email address (through the configured [email] transport).
        #[arg(long, conflicts_with = "webhook", required_unless_present = "webhook")]
        email: Option<String>,
        /// A webhook URL.
        #[arg(long)]
        webhook: Option<String>,
        /// The webhook's format.
        #[arg(
            long,
            default_value = "standard",
            requires = "webhook",
            value_parser = PossibleValuesParser::new(["standard", "slack", "discord", "teams", "statuspage"])
                .try_map(|s| s.parse::<WebhookFormat>())
        )]
        format: WebhookFormat,
        /// The environment variable holding the webhook's whsec_ secret (standard format;
        /// optional for statuspage, which is then signed too).
        #[arg(long, requires = "webhook")]
        secret_env: Option<String>,
    },
    /// Print exactly what subscribers would receive for an incident's latest update.
    Preview {
        /// The incident's id or the reference customers quote.
        incident: String,
        #[arg(long, value_enum, default_value_t = Channel::Email)]
        channel: Channel,
    },
    /// Run a demonstration: a small service on 127.0.0.1 has an outage, and forewarn
    /// detects and records it. Needs no network.
    Demo {
        /// Where the demo keeps its configuration and state.
        #[arg(long, default_value = "demo")]
        dir: PathBuf,
        /// Play the story this many times faster.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Where the demo's status site is built.
        #[arg(long, default_value = "site")]
        out: PathBuf,
    },
}

pub fn dispatch(cli: Cli) -> Result<Exit, CommandError> {
    // `check` judges past maintenance and `follows` only against a journal it was
    // pointed at, or that is where it is looked for by default.
    let state_given = cli.state.is_some();
    let state = cli
        .state
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
    match cli.command {
        Command::Init { dir } => {
            let path = init::run(&dir)?;
            println!("Wrote {}.", path.display());
            println!(
                "Edit it, then run `forewarn check` and `forewarn run` from {}.",
                dir.display()
            );
            Ok(Exit::Success)
        }
        Command::Cluster { action } => {
            let text = match action {
                ClusterAction::Status { json } => run_async(cluster::status(&cli.config, json))?,
                ClusterAction::Import { file } => run_async(cluster::import(&cli.config, &file))?,
            };
            print!("{text}");
            Ok(Exit::Success)
        }
        Command::Build { out } => {
            print!("{}", build::run(&cli.config, &state, out.as_deref())?);
            Ok(Exit::Success)
        }
        Command::Check { offline } => {
            print!("{}", check::run(&cli.config, &state, state_given, offline)?);
            Ok(Exit::Success)
        }
        Command::Upstream {
            action: UpstreamAction::Test { url, kind, timeout },
        } => {
            // The configuration's site is named to the vendor when there is one.
            let site = crate::config::Config::load_for_build(&cli.config)
                .ok()
                .map(|c| c.site.base_url);
            print!(
                "{}",
                run_async(upstream::test(site.as_ref(), &url, kind, timeout))?
            );
            Ok(Exit::Success)
        }
        Command::Probe { components, json } => {
            let (text, exit) = run_async(probe::run(&cli.config, &components, json))?;
            print!("{text}");
            Ok(exit)
        }
        Command::Run {
            out,
            listen,
            node,
            location,
            probe_from,
        } => {
            let overrides = crate::config::NodeOverrides {
                node,
                location,
                probe_from,
            };
            run_async(run::run(
                &cli.config,
                &state,
                out.as_deref(),
                listen,
                overrides,
            ))?;
            Ok(Exit::Success)
        }
        Command::Incident { action } => {
            print!("{}", incident::act(&cli.config, &state, action)?);
            Ok(Exit::Success)
        }
        Command::Maintenance { action } => {
            print!("{}", maintenance::act(&cli.config, &state, action)?);
            Ok(Exit::Success)
        }
        Command::Status { json } => {
            print!("{}", status::run(&cli.config, &state, json)?);
            Ok(Exit::Success)
        }
        Command::HeartbeatUrl { component } => {
            print!("{}", heartbeat::url(&cli.config, &state, &component)?);
            Ok(Exit::Success)
        }
        Command::Serve { listen, out } => {
            run_async(serve::run(&cli.config, &state, out.as_deref(), listen))?;
            Ok(Exit::Success)
        }
        Command::Outbox { action, json } => {
            let text = match action {
                None => outbox::list(&cli.config, &state, json)?,
                Some(OutboxAction::Retry { ids, all }) => {
                    outbox::retry(&cli.config, &state, &ids, all)?
                }
            };
            print!("{text}");
            Ok(Exit::Success)
        }
        Command::NotifyTest {
            email,
            webhook,
            format,
            secret_env,
        } => {
            let target = match (email, webhook) {
                (Some(address), _) => TestTarget::Email(address),
                (None, Some(url)) => TestTarget::Webhook {
                    url,
                    format,
                    secret_env,
                },
                (None, None) => {
                    return Err(anyhow::anyhow!("give --email or --webhook").into());
                }
            };
            let text = run_async(notify::test(&cli.config, &state, target))?;
            print!("{text}");
            Ok(Exit::Success)
        }
        Command::Preview { incident, channel } => {
            print!(
                "{}",
                notify::preview(&cli.config, &state, &incident, channel)?
            );
            Ok(Exit::Success)
        }
        // The demo sits above the commands it plays: `main` runs it.
        Command::Demo { .. } => {
            Err(anyhow::anyhow!("the demo is run by the forewarn binary").into())
        }
    }
}

/// Run a command on a multi-threaded runtime. Lookups stuck in the system resolver
/// (which cannot be cancelled) get two seconds before the process leaves without them.
pub fn run_async<T>(
    fut: impl std::future::Future<Output = Result<T, CommandError>>,
) -> Result<T, CommandError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            CommandError::Other(anyhow::Error::new(e).context("cannot start the async runtime"))
        })?;
    let result = rt.block_on(fut);
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}
