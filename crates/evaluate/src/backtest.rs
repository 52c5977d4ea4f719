use quantsweep_core::EquityPoint;
use serde::{Deserialize, Serialize};

use crate::EvaluateError;

/// One bar of prices the backtest trades on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Open time, ms since the epoch.
    pub timestamp_ms: i64,
    /// Opening price.
    pub open: f64,
    /// Closing price.
    pub close: f64,
}

/// At which price a decision taken at a bar's close is filled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// The next bar's open: the first price after the decision (default; no look-ahead).
    #[default]
    NextOpen,
    /// The same bar's close, as the seeds' backtests fill. Optimistic: documented, opt-in.
    Close,
}

/// The pipeline's `backtest:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Starting cash. Default: 10000.
    #[serde(default = "default_cash")]
    pub initial_cash: f64,
    /// Fee per fill, in basis points of the traded value. Default: 10 (0.1%, Binance spot).
    #[serde(default = "default_fee_bps")]
    pub fee_bps: f64,
    /// Fill price. Default: `next_open`.
    #[serde(default)]
    pub fill: Fill,
}

fn default_cash() -> f64 {
    10_000.0
}
fn default_fee_bps() -> f64 {
    10.0
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self { initial_cash: default_cash(), fee_bps: default_fee_bps(), fill: Fill::default() }
    }
}

impl BacktestConfig {
    /// Checks the values, naming the key at fault.
    pub fn validate(&self) -> Result<(), EvaluateError> {
        if !(self.initial_cash.is_finite() && self.initial_cash > 0.0) {
            return Err(EvaluateError::invalid("backtest.initial_cash", "must be positive"));
        }
        if !(0.0..10_000.0).contains(&self.fee_bps) {
            return Err(EvaluateError::invalid(
                "backtest.fee_bps",
                &format!("must be in [0, 10000) basis points, got {}", self.fee_bps),
            ));
        }
        Ok(())
    }
}

/// A backtest's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// Cash, position and equity at each bar's close.
    pub equity: Vec<EquityPoint>,
    /// Number of fills.
    pub trades: usize,
    /// Total fees paid.
    pub fees: f64,
}

/// Runs a long/flat strategy: after bar `i` closes, hold the asset through the following bar
/// when `long[i]` is true, else hold cash. `long` has one entry per bar; the last bar's is
/// never acted on (there is no later bar to fill at).
pub fn backtest_long_flat(
    bars: &[Bar],
    long: &[bool],
    cfg: &BacktestConfig,
) -> Result<Backtest, EvaluateError> {
    cfg.validate()?;
    if bars.len() < 2 {
        return Err(EvaluateError::EmptySpan(format!(
            "the backtest needs at least 2 bars, got {}",
            bars.len()
        )));
    }
    if long.len() != bars.len() {
        return Err(EvaluateError::EmptySpan(format!(
            "{} signals for {} bars",
            long.len(),
            bars.len()
        )));
    }
    let fee = cfg.fee_bps / 10_000.0;
    let (mut cash, mut units, mut trades, mut fees) = (cfg.initial_cash, 0.0_f64, 0, 0.0);
    let mut equity = Vec::with_capacity(bars.len());
    let mark = |b: &Bar, cash: f64, units: f64| EquityPoint {
        timestamp_ms: b.timestamp_ms,
        price: b.close,
        position: units,
        cash,
        equity: cash + units * b.close,
    };
    equity.push(mark(&bars[0], cash, units));
    for i in 1..bars.len() {
        let want_long = long[i - 1];
        let price = match cfg.fill {
            Fill::NextOpen => bars[i].open,
            Fill::Close => bars[i - 1].close,
        };
        if want_long && units == 0.0 {
            // All in, paying the fee out of the cash.
            let spend = cash / (1.0 + fee);
            units = spend / price;
            fees += spend * fee;
            cash = 0.0;
            trades += 1;
        } else if !want_long && units > 0.0 {
            let value = units * price;
            fees += value * fee;
            cash += value * (1.0 - fee);
            units = 0.0;
            trades += 1;
        }
        equity.push(mark(&bars[i], cash, units));
    }
    Ok(Backtest { equity, trades, fees })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar {
                timestamp_ms: i as i64,
                open: if i == 0 { c } else { closes[i - 1] },
                close: c,
            })
            .collect()
    }

    #[test]
    fn always_long_without_fees_is_buy_and_hold() {
        let b = bars(&[100.0, 110.0, 99.0, 120.0]);
        let cfg = BacktestConfig { fee_bps: 0.0, ..BacktestConfig::default() };
        let r = backtest_long_flat(&b, &[true; 4], &cfg).expect("valid backtest");
        let last = r.equity.last().expect("bars");
        assert!((last.equity - 12_000.0).abs() < 1e-9);
        assert_eq!(r.trades, 1);
    }

    #[test]
    fn decisions_fill_at_the_next_open_not_the_past() {
        // The signal after bar 0 fills at bar 1's open (=100, bar 0's close here): the gain
        // of bar 1 is earned, the move inside bar 0 is not.
        let b = vec![
            Bar { timestamp_ms: 0, open: 50.0, close: 100.0 },
            Bar { timestamp_ms: 1, open: 100.0, close: 150.0 },
        ];
        let cfg = BacktestConfig { fee_bps: 0.0, ..BacktestConfig::default() };
        let r = backtest_long_flat(&b, &[true, false], &cfg).expect("valid backtest");
        assert!((r.equity[1].equity - 15_000.0).abs() < 1e-9);
    }

    #[test]
    fn fees_are_charged_on_each_fill() {
        let b = bars(&[100.0, 100.0, 100.0]);
        let cfg = BacktestConfig { fee_bps: 100.0, ..BacktestConfig::default() };
        let r = backtest_long_flat(&b, &[true, false, false], &cfg).expect("valid backtest");
        assert_eq!(r.trades, 2);
        let end = r.equity.last().expect("bars").equity;
        assert!((end - 10_000.0 / 1.01 * 0.99).abs() < 1e-6, "{end}");
    }

    #[test]
    fn bad_fee_names_the_key() {
        let cfg = BacktestConfig { fee_bps: 10_000.0, ..BacktestConfig::default() };
        let err = backtest_long_flat(&bars(&[1.0, 2.0]), &[true, true], &cfg).expect_err("fee");
        assert!(err.to_string().starts_with("backtest.fee_bps"), "{err}");
    }
}
