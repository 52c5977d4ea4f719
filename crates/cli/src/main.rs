//! The `quantsweep` binary: parse arguments, run one command, print one clear error.
//!
//! YAML is parsed only in [`config`]; [`objective`] wires ingest → features → train →
//! evaluate for the sweep.

mod args;
mod command;
mod commands;
mod config;
mod luck;
mod objective;
mod progress;
mod store;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command, DataCommand};

/// mimalloc reuses freed pages: loading large candle files faults far fewer pages in than with
/// the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Validate(args) => commands::validate::validate(&args),
        Command::Features(args) => commands::features::features(&args),
        Command::Data(DataCommand::Inspect(args)) => commands::data::inspect(&args),
        Command::Report(args) => commands::report::report(&args),
        Command::Init(args) => commands::init::init(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
