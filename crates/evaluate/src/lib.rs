//! Predictions and prices in, positions, equity curves and metrics out. No tensors here:
//! predictions arrive as plain `f32` slices.
//!
//! - [`StrategyConfig`] turns per-bar predictions into a [`Strategy`] (long/flat, Blankly's
//!   proportional sizing, freqAI's thresholds with shorts and stops, a classifier's band,
//!   buy-and-hold).
//! - [`backtest`] trades it bar by bar (decide at a close, fill at the next open; fees,
//!   slippage, lot sizes, no leverage) into an equity curve and round-trip trades.
//! - [`trading_metrics`], [`regression_metrics`], [`classification_metrics`] score a trial;
//!   [`deflated_sharpe`] and [`probability_of_overfitting`] score the sweep's choice.
//!
//! ```
//! use quantsweep_evaluate::{backtest, trading_metrics, Bar, BacktestConfig, StrategyConfig};
//! let bars: Vec<Bar> = [100.0, 101.0, 103.0, 102.0].iter().enumerate()
//!     .map(|(i, &c)| Bar { timestamp_ms: i as i64 * 86_400_000, open: c, close: c }).collect();
//! let predicted_ratio = [1.02, 1.01, 0.99, 1.0];
//! let mut strategy = StrategyConfig::default().strategy(&predicted_ratio)?;
//! let run = backtest(&bars, strategy.as_mut(), &BacktestConfig::default())?;
//! let metrics = trading_metrics(&run.equity, 365.0);
//! assert!(metrics["total_return"] > 0.0);
//! # Ok::<(), quantsweep_evaluate::EvaluateError>(())
//! ```
#![deny(missing_docs)]

mod backtest;
mod error;
mod metrics;
mod overfit;
mod ranking;
mod strategy;

pub use backtest::{
    Backtest, BacktestConfig, Bar, Fill, Leg, Portfolio, Position, backtest, backtest_portfolio,
};
pub use error::EvaluateError;
pub use metrics::{
    blankly_metrics, classification_metrics, max_drawdown, regression_metrics, returns,
    trade_metrics, trading_metrics,
};
pub use overfit::{
    DeflatedSharpe, Overfitting, deflated_sharpe, norm_cdf, norm_ppf, probability_of_overfitting,
    sharpe,
};
pub use ranking::{RankRule, RankedBacktest, RankedUniverse, backtest_ranked};
pub use strategy::{
    Decision, ProportionalOrders, RoiExit, Strategy, StrategyConfig, TrailingStop, Weighting,
};
