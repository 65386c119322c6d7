//! `trailwatch`: the command line. Parses arguments, wires the crates of the data path
//! together (decode → detect → output) and reports what happened on stderr.

mod cli;
mod commands;
mod escape;
mod output;
mod progress;
mod table;
mod when;

use clap::Parser;

/// mimalloc instead of the system allocator: a hunt frees per-file buffers of many sizes on
/// every core, and glibc's per-thread arenas held on to that memory (resident size grew with
/// the input: 900 MB on the 3-million-record benchmark against a ~60 MB live heap).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("TRAILWATCH_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(if args.verbose { "debug" } else { "warn" })
        });
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    match commands::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("trailwatch: error: {}", escape::terminal(&format!("{e:#}")));
            ExitCode::from(1)
        }
    }
}
