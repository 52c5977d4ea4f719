//! The `quantsweep` binary: parse arguments, run one command, print one clear error.
//!
//! YAML is parsed only in [`config`]; [`objective`] wires ingest → features → train →
//! evaluate for the sweep.

/// `println!` for what a command prints on standard output, except that a reader that went
/// away (`quantsweep data inspect FILE | head`) is not an error: the rest is dropped quietly
/// (and a sweep goes on), where `println!` would panic.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod args;
mod command;
mod commands;
mod config;
mod luck;
mod objective;
mod progress;
mod store;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;

use crate::args::{Cli, Command, DataCommand};

/// mimalloc reuses freed pages: loading large candle files faults far fewer pages in than with
/// the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiet_panics();
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

/// Writes to standard output (see [`outln!`]). A closed pipe drops the text; another failure
/// (a full disk behind a redirection) is said once on standard error. The line is formatted
/// first and written whole, in one system call: processes of one cluster run that share a
/// terminal or pipe (scripts/sweep-local) then never interleave inside a line.
pub(crate) fn write_out(text: std::fmt::Arguments<'_>) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let text = text.to_string();
    if let Err(e) = std::io::stdout().lock().write_all(text.as_bytes())
        && e.kind() != std::io::ErrorKind::BrokenPipe
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        eprintln!("warning: cannot write to standard output: {e}");
    }
}

/// A panic on a trial's thread (`trials-N`: a libtorch error that tch reports by panicking, a
/// bug in an objective) is caught and recorded as that trial's failure, with its message, in
/// trials.parquet: it prints nothing here. Any other panic is a bug of ours, said in one line
/// without a backtrace. With `RUST_BACKTRACE` set, Rust's own report is printed for both.
fn quiet_panics() {
    if std::env::var_os("RUST_BACKTRACE").is_some() {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        if std::thread::current().name().is_some_and(|n| n.starts_with("trials-")) {
            return;
        }
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at =
            info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error{at}: {message} (a bug: please report it)");
    }));
}
