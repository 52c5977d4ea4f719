//! Causal features, targets and windows: candles in, model-ready samples out.
//!
//! - [`indicators`]: TA-Lib-exact indicators (same values, same warm-up rows).
//! - [`ta_all`]: the Python `ta` package's whole feature set (`kind: ta_all`).
//! - [`FeatureTable`]: the pipeline's `features:` list computed on candles.
//! - [`Dataset`]: windows of `input_bars`, the target after each, and chronological
//!   train / validation / test spans with purge gaps.
//!
//! Everything here is causal: a feature row reads only candles at or before it, a scaler is
//! fitted on the training span only, and no window holds a bar at or after its target's first.
//!
//! ```
//! use quantsweep_features::{indicators, FeatureConfig};
//! let close = [1.0, 2.0, 1.5, 1.8, 2.2];
//! assert!(indicators::rsi(&close, 3)[2].is_nan());
//! let f = FeatureConfig::new("macd").named("macd");
//! assert_eq!(f.output_names(), ["macd.macd", "macd.signal", "macd.hist"]);
//! assert_eq!(FeatureConfig::new("bbands").with("period", 20.0).name(), "bbands_20");
//! ```
#![deny(missing_docs)]

mod config;
mod error;
mod expr;
pub mod indicators;
mod pandas;
pub mod ta_all;
mod table;
pub mod targets;
pub mod transforms;
mod universe;
mod windows;

pub use config::{
    Balance, CrossSection, FeatureConfig, Param, Purge, Scale, ScaleBy, SplitConfig, SplitKind,
    TargetConfig, WindowConfig, freqai_weights,
};
pub use error::FeatureError;
pub use table::FeatureTable;
pub use universe::{Asset, universe_folds};
pub use windows::{Dataset, Fold};
