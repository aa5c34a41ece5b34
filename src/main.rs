//! The `forewarn` command line: parse flags, call one library function, map the result
//! to an exit code. The flags and subcommands are in `commands::cli`.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use forewarn::commands::cli::{Cli, Command, LogFormat, dispatch, run_async};
use forewarn::commands::{CommandError, Exit};
use forewarn::config::LoadError;

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
    let result = match cli.command {
        Command::Demo { dir, speed, out } => run_async(async {
            forewarn::demo::run(&dir, &out, speed, &mut std::io::stdout())
                .await
                .map_err(CommandError::from)
        })
        .map(|()| Exit::Success),
        _ => dispatch(cli),
    };
    let exit = match result {
        Ok(exit) => exit,
        Err(e) => {
            report(&e);
            e.exit()
        }
    };
    ExitCode::from(exit as u8)
}

fn init_logging(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FOREWARN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal, never in a log file or a pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        // A log that cannot be written (its disk is full) must not stop the daemon:
        // reporting that failure on the same stderr would panic.
        .log_internal_errors(false);
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
