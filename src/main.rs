//! The `forewarn` command line: parse flags, call one library function, map the result
//! to an exit code.
//!
//! Over 500 lines only because clap's derive spells out every subcommand and flag; no
//! logic lives here.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use forewarn::commands::{self, CommandError, Exit};
use forewarn::config::DEFAULT_CONFIG_PATH;
use forewarn::config::LoadError;

#[derive(Parser)]
#[command(
    name = "forewarn",
    version,
    about = "A public status page that tells customers about outages first"
)]
struct Cli {
    /// The main configuration file.
    #[arg(long, global = true, default_value = DEFAULT_CONFIG_PATH, env = "FOREWARN_CONFIG")]
    config: PathBuf,
    /// Where the journal and rollups are kept [default: state].
    #[arg(long, global = true, env = "FOREWARN_STATE")]
    state: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Write a commented example configuration to DIR/config/forewarn.toml.
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Validate the configuration; exits 2 listing every problem.
    Check,
    /// Probe every component once now and print a table; exits 1 if any is down.
    Probe {
        /// Only these components (repeatable).
        #[arg(long = "component", value_name = "ID")]
        components: Vec<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
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
        #[arg(long, value_enum, default_value_t = HookFormat::Standard, requires = "webhook")]
        format: HookFormat,
        /// The environment variable holding the webhook's whsec_ secret (standard format).
        #[arg(long, requires = "webhook")]
        secret_env: Option<String>,
    },
    /// Print exactly what subscribers would receive for an incident's latest update.
    Preview {
        /// The incident's id or the reference customers quote.
        incident: String,
        #[arg(long, value_enum, default_value_t = PreviewChannel::Email)]
        channel: PreviewChannel,
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

#[derive(Subcommand)]
enum OutboxAction {
    /// Send dead deliveries again.
    Retry {
        /// Delivery ids (msg_...), as `forewarn outbox` lists them.
        #[arg(required_unless_present = "all")]
        ids: Vec<String>,
        /// Every dead delivery.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum HookFormat {
    Standard,
    Slack,
    Discord,
    Teams,
}

#[derive(Clone, Copy, ValueEnum)]
enum PreviewChannel {
    Email,
    Webhook,
    Slack,
    Discord,
    Teams,
}

#[derive(Subcommand)]
enum IncidentAction {
    /// Declare a new incident: writes config/incidents/<id>.toml.
    New {
        #[arg(long)]
        title: String,
        /// An affected component and the status it shows, such as checkout=partial_outage (repeatable).
        #[arg(long = "component", value_name = "ID=STATUS", required = true)]
        components: Vec<String>,
        /// none, minor, major or critical.
        #[arg(long)]
        impact: String,
        /// What customers read first.
        #[arg(long)]
        message: String,
        #[arg(long, default_value = "investigating")]
        status: String,
        /// When a fix is expected: a duration from now ("2h") or a time ("2026-11-23 14:00").
        #[arg(long)]
        eta: Option<String>,
        /// When the next update will come, written like --eta: operators are reminded
        /// before it, and customers told the team is still on it if nobody writes by then.
        #[arg(long)]
        next_update: Option<String>,
        /// The file's id (default: made from the title).
        #[arg(long)]
        id: Option<String>,
    },
    /// Post a progress update (ID is the file's id or the reference customers quote).
    Update {
        id: String,
        /// investigating, identified or monitoring.
        #[arg(long)]
        status: String,
        #[arg(long)]
        message: String,
        #[arg(long)]
        eta: Option<String>,
        /// When the next update will come, written like --eta.
        #[arg(long)]
        next_update: Option<String>,
        /// Publish without notifying anyone (for corrections).
        #[arg(long)]
        no_notify: bool,
    },
    /// Resolve an incident, with an apology and a credit if there is one.
    Resolve {
        id: String,
        #[arg(long)]
        message: String,
        #[arg(long)]
        apology: Option<String>,
        #[arg(long)]
        credit: Option<String>,
    },
}

#[derive(Subcommand)]
enum MaintenanceAction {
    /// Announce a maintenance window: writes config/maintenance/<id>.toml.
    New {
        #[arg(long)]
        title: String,
        /// An affected component (repeatable).
        #[arg(long = "component", value_name = "ID", required = true)]
        components: Vec<String>,
        /// When it starts: "2026-11-25 02:00" (site time), RFC 3339, or a duration from now.
        #[arg(long)]
        start: String,
        /// When it ends, written the same way.
        #[arg(long)]
        end: String,
        /// What customers should expect.
        #[arg(long)]
        message: String,
        /// When to remind subscribers before the start (repeatable; default 24h and 1h).
        #[arg(long = "remind-before", value_name = "DURATION")]
        remind_before: Vec<String>,
        #[arg(long)]
        id: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Demo { .. })
        && std::env::var_os(forewarn::demo::WEBHOOK_SECRET_ENV).is_none()
    {
        // SAFETY: no other thread exists yet (the runtime starts later), so nothing can
        // read the environment while it changes.
        unsafe {
            std::env::set_var(
                forewarn::demo::WEBHOOK_SECRET_ENV,
                forewarn::demo::new_webhook_secret(),
            )
        };
    }
    let quiet = !matches!(cli.command, Command::Run { .. } | Command::Serve { .. });
    init_logging(cli.log_format, if quiet { "warn" } else { "info" });
    let exit = match dispatch(cli) {
        Ok(exit) => exit,
        Err(e) => {
            report(&e);
            e.exit()
        }
    };
    ExitCode::from(exit as u8)
}

fn dispatch(cli: Cli) -> Result<Exit, CommandError> {
    // `check` judges past maintenance and `follows` only against a journal it was
    // pointed at, or that is where it is looked for by default.
    let state_given = cli.state.is_some();
    let state = cli
        .state
        .unwrap_or_else(|| PathBuf::from(commands::DEFAULT_STATE_DIR));
    match cli.command {
        Command::Init { dir } => {
            let path = commands::init::run(&dir)?;
            println!("Wrote {}.", path.display());
            println!(
                "Edit it, then run `forewarn check` and `forewarn run` from {}.",
                dir.display()
            );
            Ok(Exit::Success)
        }
        Command::Build { out } => {
            print!(
                "{}",
                commands::build::run(&cli.config, &state, out.as_deref())?
            );
            Ok(Exit::Success)
        }
        Command::Check => {
            print!(
                "{}",
                commands::check::run(&cli.config, &state, state_given)?
            );
            Ok(Exit::Success)
        }
        Command::Probe { components, json } => {
            let (text, exit) = run_async(commands::probe::run(&cli.config, &components, json))?;
            print!("{text}");
            Ok(exit)
        }
        Command::Run { out, listen } => {
            run_async(commands::run::run(
                &cli.config,
                &state,
                out.as_deref(),
                listen,
            ))?;
            Ok(Exit::Success)
        }
        Command::Incident { action } => {
            let text = match action {
                IncidentAction::New {
                    title,
                    components,
                    impact,
                    message,
                    status,
                    eta,
                    next_update,
                    id,
                } => commands::incident::new(
                    &cli.config,
                    &state,
                    commands::incident::NewIncident {
                        title,
                        components,
                        impact,
                        message,
                        status,
                        eta,
                        next_update,
                        id,
                    },
                )?,
                IncidentAction::Update {
                    id,
                    status,
                    message,
                    eta,
                    next_update,
                    no_notify,
                } => commands::incident::update(
                    &cli.config,
                    &state,
                    &id,
                    commands::incident::NewUpdate {
                        status: commands::incident::status_arg(&status)?,
                        message,
                        eta,
                        next_update,
                        notify: !no_notify,
                        apology: None,
                        credit: None,
                    },
                )?,
                IncidentAction::Resolve {
                    id,
                    message,
                    apology,
                    credit,
                } => commands::incident::update(
                    &cli.config,
                    &state,
                    &id,
                    commands::incident::NewUpdate {
                        status: forewarn::status::IncidentStatus::Resolved,
                        message,
                        eta: None,
                        next_update: None,
                        notify: true,
                        apology,
                        credit,
                    },
                )?,
            };
            print!("{text}");
            Ok(Exit::Success)
        }
        Command::Maintenance { action } => {
            let MaintenanceAction::New {
                title,
                components,
                start,
                end,
                message,
                remind_before,
                id,
            } = action;
            print!(
                "{}",
                commands::maintenance::new(
                    &cli.config,
                    &state,
                    commands::maintenance::NewMaintenance {
                        title,
                        components,
                        start,
                        end,
                        message,
                        remind_before,
                        id
                    },
                )?
            );
            Ok(Exit::Success)
        }
        Command::Status { json } => {
            print!("{}", commands::status::run(&cli.config, &state, json)?);
            Ok(Exit::Success)
        }
        Command::Serve { listen, out } => {
            run_async(commands::serve::run(
                &cli.config,
                &state,
                out.as_deref(),
                listen,
            ))?;
            Ok(Exit::Success)
        }
        Command::Outbox { action, json } => {
            let text = match action {
                None => commands::outbox::list(&cli.config, &state, json)?,
                Some(OutboxAction::Retry { ids, all }) => {
                    commands::outbox::retry(&cli.config, &state, &ids, all)?
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
            use commands::notify::TestTarget;
            use forewarn::config::subscribers::WebhookFormat;
            let target = match (email, webhook) {
                (Some(address), _) => TestTarget::Email(address),
                (None, Some(url)) => TestTarget::Webhook {
                    url,
                    format: match format {
                        HookFormat::Standard => WebhookFormat::Standard,
                        HookFormat::Slack => WebhookFormat::Slack,
                        HookFormat::Discord => WebhookFormat::Discord,
                        HookFormat::Teams => WebhookFormat::Teams,
                    },
                    secret_env,
                },
                (None, None) => unreachable!("clap requires --email or --webhook"),
            };
            let text = run_async(commands::notify::test(&cli.config, &state, target))?;
            print!("{text}");
            Ok(Exit::Success)
        }
        Command::Preview { incident, channel } => {
            use commands::notify::Channel;
            let channel = match channel {
                PreviewChannel::Email => Channel::Email,
                PreviewChannel::Webhook => Channel::Webhook,
                PreviewChannel::Slack => Channel::Slack,
                PreviewChannel::Discord => Channel::Discord,
                PreviewChannel::Teams => Channel::Teams,
            };
            print!(
                "{}",
                commands::notify::preview(&cli.config, &state, &incident, channel)?
            );
            Ok(Exit::Success)
        }
        Command::Demo { dir, speed, out } => {
            run_async(async {
                forewarn::demo::run(&dir, &out, speed, &mut std::io::stdout())
                    .await
                    .map_err(CommandError::from)
            })?;
            Ok(Exit::Success)
        }
    }
}

/// Run a command on a multi-threaded runtime. Lookups stuck in the system resolver
/// (which cannot be cancelled) get two seconds before the process leaves without them.
fn run_async<T>(
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

fn init_logging(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FOREWARN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal, never in a log file or a pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Print an error and its causes, one per line.
fn report(e: &CommandError) {
    let mut err = std::io::stderr().lock();
    match e {
        CommandError::Config(LoadError::Invalid(diags)) => {
            let _ = writeln!(err, "{diags}");
        }
        CommandError::Config(other) => {
            let _ = writeln!(err, "error: {other}");
        }
        CommandError::Other(e) => {
            let _ = writeln!(err, "error: {e}");
            for cause in e.chain().skip(1) {
                let _ = writeln!(err, "  because: {cause}");
            }
        }
    }
}
