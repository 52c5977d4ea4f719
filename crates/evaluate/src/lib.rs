//! Predictions and prices in, positions, equity curves and metrics out. No tensors here:
//! predictions arrive as plain `f32` slices.
//!
//! - [`StrategyConfig`] turns predictions into long/flat signals.
//! - [`backtest_long_flat`] trades them bar by bar (decide at a close, fill at the next open).
//! - [`trading_metrics`] and [`regression_metrics`] score the result.
//!
//! ```
//! use quantsweep_evaluate::{backtest_long_flat, trading_metrics, Bar, BacktestConfig};
//! let bars: Vec<Bar> = [100.0, 101.0, 103.0, 102.0].iter().enumerate()
//!     .map(|(i, &c)| Bar { timestamp_ms: i as i64 * 86_400_000, open: c, close: c }).collect();
//! let run = backtest_long_flat(&bars, &[true, true, false, false], &BacktestConfig::default())?;
//! let metrics = trading_metrics(&run.equity, 365.0);
//! assert!(metrics["total_return"] > 0.0);
//! # Ok::<(), quantsweep_evaluate::EvaluateError>(())
//! ```
#![deny(missing_docs)]

mod backtest;
mod error;
mod metrics;
mod overfit;
mod strategy;

pub use backtest::{Backtest, BacktestConfig, Bar, Fill, backtest_long_flat};
pub use error::EvaluateError;
pub use metrics::{
    blankly_metrics, classification_metrics, max_drawdown, regression_metrics, returns,
    trading_metrics,
};
pub use overfit::{
    DeflatedSharpe, Overfitting, deflated_sharpe, norm_cdf, norm_ppf, probability_of_overfitting,
    sharpe,
};
pub use strategy::StrategyConfig;
