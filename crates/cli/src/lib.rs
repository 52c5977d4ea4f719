//! The `quantsweep` command line: parse arguments, run one command, print one clear error.
//! The binary (`main.rs`) only sets the allocator and calls [`main`].
//!
//! YAML is parsed only in `config`; `objective` wires ingest → features → train → evaluate
//! for the sweep.

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
mod interrupt;
mod luck;
mod objective;
mod progress;
mod store;
mod universe;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context as _;
use clap::Parser;

use crate::args::{Cli, Command, DataCommand};

/// Runs the command line's command: exit 0, or 1 after one `error:` line.
pub fn main() -> ExitCode {
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
        Err(e) if e.downcast_ref::<commands::run::Interrupted>().is_some() => {
            let interrupted =
                e.downcast_ref::<commands::run::Interrupted>().expect("checked just above");
            eprintln!("{interrupted}");
            ExitCode::from(u8::try_from(interrupted.exit_code()).unwrap_or(1))
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Checks a pipeline given as text as `quantsweep validate` does (`path` names it in errors):
/// typed parse, `overrides` (`KEY=VALUE`), every trial's configuration, and then, for a
/// pipeline objective whose data are local files, the data, the features and the splits.
/// It prints nothing. The fuzz target `fuzz/fuzz_targets/pipeline.rs` calls it.
pub fn check_pipeline(
    path: &std::path::Path,
    text: &str,
    overrides: &[String],
) -> anyhow::Result<()> {
    let pipeline = config::Pipeline::parse(path, text, overrides)?;
    if pipeline.config.objective != config::ObjectiveConfig::Pipeline {
        return Ok(());
    }
    let data = &pipeline.config.data;
    let markets = data.markets().with_context(|| path.display().to_string())?;
    let locations = markets.iter().map(|m| m.location.as_str());
    if !locations.chain(data.pairs.values().map(String::as_str)).any(|l| l.contains("://")) {
        objective::load_checked(&pipeline)?;
    }
    Ok(())
}

/// The body of the fuzz target `fuzz/fuzz_targets/pipeline.rs`. Input: a pipeline's text,
/// then optionally a NUL byte and `--set` overrides, one per line; relative data paths are
/// resolved from the working directory (the repository root). Panics when [`check_pipeline`]
/// does, or when its error does not name the pipeline.
#[doc(hidden)]
pub fn fuzz_pipeline(data: &[u8]) {
    let (text, sets) = match data.iter().position(|&c| c == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let overrides: Vec<String> = String::from_utf8_lossy(sets).lines().map(str::to_owned).collect();
    if let Err(e) = check_pipeline(std::path::Path::new("fuzz.yaml"), text, &overrides) {
        let message = format!("{e:#}");
        assert!(message.contains("fuzz.yaml"), "the error does not name the file: {message}");
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
        // A decoder's panic that `contain` catches becomes that file's error, said once.
        if std::thread::current().name().is_some_and(|n| n.starts_with("trials-"))
            || quantsweep_core::contain::panic_is_contained()
        {
            return;
        }
        let message = quantsweep_core::contain::panic_message(info.payload());
        let at =
            info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!("error: internal error{at}: {message} (a bug: please report it)");
    }));
}
