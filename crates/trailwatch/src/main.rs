//! `trailwatch`: the command line. Parses arguments, wires the crates of the data path
//! together (decode → detect → output) and reports what happened on stderr.

mod baseline_cmd;
mod cli;
mod commands;
mod console_cmd;
mod explain_cmd;
mod heap;
mod investigate_cmd;
mod log_redact;
mod output;
mod posture_cmd;
mod progress;
mod sql_cmd;
mod store_at;
mod store_cmd;
mod table;
mod watch_cmd;
mod when;

use clap::Parser;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

#[global_allocator]
static GLOBAL: heap::Counting = heap::Counting;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // The readers of logs keep a small resident set (their working set shifts); the store's
    // writer churns through large buffers, where returning memory at once costs page faults.
    if matches!(
        args.command,
        cli::Command::Hunt(_) | cli::Command::Timeline(_) | cli::Command::Summary(_)
    ) {
        heap::tune();
    } else {
        heap::tune_for_throughput();
    }
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("TRAILWATCH_LOG").unwrap_or_else(|_| {
            // The watcher's log is its report: new alerts and deliveries are `info`.
            let quiet = if matches!(args.command, cli::Command::Watch(_)) {
                "info"
            } else {
                "warn"
            };
            tracing_subscriber::EnvFilter::new(if args.verbose { "debug" } else { quiet })
        });
    // Secrets (a Slack webhook URL) never reach the log: the HTTP clients, which print
    // request URLs, stay at info and above whatever the filter, and every line is redacted.
    tracing_subscriber::fmt()
        .with_writer(log_redact::Redacting(std::io::stderr))
        // Colour codes only for a terminal: `watch` logs often go to a file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .finish()
        .with(tracing_subscriber::filter::filter_fn(log_redact::allowed))
        .init();
    let result = commands::run(args);
    heap::report();
    match result {
        Ok(code) => code,
        // `trailwatch hunt … | head`: the reader left; that is not an error.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}");
            let message = trailwatch_sink::secret::redact(&message);
            eprintln!(
                "trailwatch: error: {}",
                trailwatch_escape::terminal(&message)
            );
            ExitCode::from(1)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}
