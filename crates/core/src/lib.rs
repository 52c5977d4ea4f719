//! Plain types shared by every quantsweep crate.
//!
//! Nothing here knows about libtorch, Arrow or timely: these are the serde values that cross
//! crate boundaries and timely workers.
//!
//! - [`TrialSpec`]: what one trial runs (id, swept parameters, seed).
//! - [`TrialResult`]: what a finished trial reports (metrics, learning curve, equity curve).
//! - [`TrialRecord`]: the row the sweep stores for every trial, whatever its outcome.
//! - [`Observer`]: the per-epoch callback that training calls and sweeps, loggers and progress
//!   bars implement.
//!
//! ```
//! use quantsweep_core::{EpochMetrics, Observer, Stop};
//! use std::ops::ControlFlow;
//!
//! struct StopAfter(usize);
//! impl Observer for StopAfter {
//!     fn on_epoch(&mut self, epoch: usize, _: &EpochMetrics) -> ControlFlow<Stop> {
//!         if epoch + 1 >= self.0 { ControlFlow::Break(Stop::Pruned) } else { ControlFlow::Continue(()) }
//!     }
//! }
//! let mut obs = StopAfter(3);
//! let m = EpochMetrics::new(0.5);
//! assert!(obs.on_epoch(2, &m).is_break());
//! ```
#![deny(missing_docs)]

pub mod contain;
mod hint;
pub mod nonfinite;
mod observer;
mod params;
mod rng;
mod trial;

pub use hint::did_you_mean;
pub use observer::{EpochMetrics, NoopObserver, Observer, Stop, TeeObserver};
pub use params::{ParamValue, Params};
pub use rng::SplitMix64;
pub use trial::{
    EquityPoint, FoldSummary, Prediction, Trade, TrialError, TrialId, TrialRecord, TrialResult,
    TrialSpec, TrialStatus,
};
