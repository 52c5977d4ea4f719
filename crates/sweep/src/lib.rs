//! Sweeps: search spaces, the timely-dataflow runner, and durable storage of results.
//!
//! - [`SweepConfig`] (the pipeline's `sweep:` section, W&B-style) lists the trials: a grid,
//!   or random or scrambled Sobol' draws from a space of bounds and distributions; or builds
//!   an adaptive study that chooses them from the results ([`Tpe`], Gaussian-process
//!   [`Bayes`]).
//! - [`Pruner`] stops unpromising trials from their epochs (ASHA, the median rule).
//! - [`run_study`] runs the trials a [`Study`] hands out on timely worker threads, pulled by
//!   idle workers, each worker with its own [`Objective`] on a thread of its own; a failed or
//!   panicking trial is recorded, never fatal. [`run_trials`] runs a fixed list.
//! - [`Workers`] says where the timely workers run: threads of this process, or several
//!   processes on one or more hosts (flags, a hostfile, or Slurm's variables).
//! - [`Synthetic`] test functions with known minima, for trying samplers.
//! - [`Journal`] keeps each finished trial as it arrives (group commit); [`write_tables`]
//!   writes `trials.parquet`, `epochs.parquet`, `equity.parquet`, `trades.parquet`,
//!   `folds.parquet` and `summary.json` atomically. Both write to an [`Output`]: a local folder
//!   or an object store behind an [`ObjectSink`].
//!
//! The crate is generic over [`Objective`]: it never names libtorch, features or YAML.
//!
//! ```
//! use std::sync::Arc;
//! use quantsweep_core::{Observer, TrialError, TrialResult, TrialSpec};
//! use quantsweep_sweep::{run_trials, Objective, ObjectiveFactory, SilentMonitor, SweepConfig};
//!
//! struct Constant;
//! impl Objective for Constant {
//!     fn run(&mut self, _: &TrialSpec, _: &mut dyn Observer) -> Result<TrialResult, TrialError> {
//!         Ok(TrialResult::default())
//!     }
//! }
//! let trials = SweepConfig::default().trials()?;
//! let factory: Arc<ObjectiveFactory> = Arc::new(|_| Ok(Box::new(Constant) as Box<dyn Objective>));
//! let records = run_trials(trials, 2, factory, Arc::new(SilentMonitor), None)?;
//! assert_eq!(records.len(), 1);
//! # Ok::<(), quantsweep_sweep::SweepError>(())
//! ```
#![deny(missing_docs)]

mod adaptive;
mod cluster;
mod error;
mod gp;
mod output;
mod pruner;
mod runner;
mod sampler;
mod space;
mod storage;
mod synthetic;
mod tpe;

pub use adaptive::{Adaptive, Propose};
pub use cluster::{SLURM_BASE_PORT, Workers, local_rank, read_hostfile, slurm_workers};
pub use error::SweepError;
pub use gp::{Bayes, GpProposer};
pub use output::{MemorySink, ObjectSink, Output, local_state};
pub use pruner::{EarlyTerminate, EpochMetric, Pruner};
pub use runner::{
    Objective, ObjectiveFactory, SilentMonitor, Study, SweepMonitor, TrialList, run_study,
    run_trials,
};
pub use space::{
    DEFAULT_MAX_TRIALS, Dimension, Distribution, Goal, Method, MetricConfig, ParameterConfig,
    SweepConfig,
};
pub use storage::{
    JOURNAL_DIR, JOURNAL_FILE, Journal, best_trial, status_counts, write_parquet, write_tables,
};
pub use synthetic::Synthetic;
pub use tpe::{Tpe, TpeProposer};
