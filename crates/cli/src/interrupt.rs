//! Ctrl-C and SIGTERM during a sweep: the first stops dispatching and lets the running trials
//! end (the tables and summary are then written from the journal, and `run` exits 130 or 143);
//! a second stops the running trials at once, writing the tables of what had finished first.
//! SIGKILL is not catchable: the journal alone survives it, as before (docs/architecture.md,
//! "Interrupts").

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use quantsweep_core::{TrialRecord, TrialSpec};
use quantsweep_sweep::Study;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Set by a second signal: the process is ending, and trials stopped by it are not outcomes.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a second signal is ending the process: a trial whose program it killed must not
/// be recorded as failed (`crate::command` then waits for the end instead).
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// What a second signal runs before the process exits: writes what it can of the tables.
pub type LastWords = Box<dyn Fn() + Send>;

/// The signals a sweep has received, shared with the thread that receives them.
#[derive(Clone, Default)]
pub struct Interrupts {
    /// The first signal's number (0: none yet); from then on no new trial starts.
    signal: Arc<AtomicI32>,
    /// Run by a second signal before the process exits.
    last_words: Arc<Mutex<Option<LastWords>>>,
}

impl Interrupts {
    /// Catches SIGINT and SIGTERM from now on, on a thread of their own. `announce` is called
    /// with the first signal's line (for the progress display).
    pub fn install(announce: impl Fn(&str) + Send + 'static) -> Result<Self> {
        let interrupts = Interrupts::default();
        let mut signals = Signals::new([SIGINT, SIGTERM]).context("catching Ctrl-C")?;
        let shared = interrupts.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if shared
                        .signal
                        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok()
                    {
                        announce(&format!(
                            "{}: no new trials start; the running ones finish, then the tables \
                             are written ({} again stops them now)",
                            name(signal),
                            if signal == SIGINT { "Ctrl-C" } else { "the signal" }
                        ));
                        continue;
                    }
                    // A second signal: what finished is journaled; the running trials are
                    // dropped (they run again on resume).
                    let first = shared.signal.load(Ordering::SeqCst);
                    // Stopping first: the programs killed below are not failures to journal.
                    STOPPING.store(true, Ordering::SeqCst);
                    crate::command::kill_running();
                    if let Some(words) =
                        shared.last_words.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
                    {
                        words();
                    }
                    std::process::exit(exit_code(first));
                }
            })
            .context("starting the signal thread")?;
        Ok(interrupts)
    }

    /// The first signal received, if any.
    pub fn signal(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }

    /// What a second signal runs before the process exits.
    pub fn on_second(&self, words: LastWords) {
        *self.last_words.lock().unwrap_or_else(|p| p.into_inner()) = Some(words);
    }

    /// `study`, which hands out no trial once a signal has come.
    pub fn guard(&self, study: Box<dyn Study>) -> Box<dyn Study> {
        Box::new(Guarded { study, signal: Arc::clone(&self.signal) })
    }
}

/// The exit code of a process stopped by `signal`, as a shell reports it (130 for SIGINT,
/// 143 for SIGTERM).
pub fn exit_code(signal: i32) -> i32 {
    128 + signal
}

fn name(signal: i32) -> &'static str {
    if signal == SIGINT { "interrupted (Ctrl-C)" } else { "terminated (SIGTERM)" }
}

/// A study that stops handing out trials once a signal has come.
struct Guarded {
    study: Box<dyn Study>,
    signal: Arc<AtomicI32>,
}

impl Study for Guarded {
    fn ask(&mut self) -> Option<TrialSpec> {
        if self.signal.load(Ordering::SeqCst) != 0 { None } else { self.study.ask() }
    }

    fn tell(&mut self, record: &TrialRecord) {
        self.study.tell(record);
    }
}
