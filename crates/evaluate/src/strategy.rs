use serde::{Deserialize, Serialize};

use crate::EvaluateError;
use crate::backtest::{Bar, Position};

/// What a strategy asks for after a bar closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Hold this fraction of the equity: 1 all in long, 0 flat, −1 all in short (capped by
    /// what the cash and equity allow).
    Fraction(f64),
    /// Hold this many units (negative: short).
    Units(f64),
}

/// Turns each bar's prediction into orders. `decide` is called after bar `i` closes; `None`
/// keeps the position as it is.
pub trait Strategy {
    /// The decision after bar `i` (`bar`) closes, with the position then.
    fn decide(&mut self, i: usize, bar: &Bar, position: &Position) -> Option<Decision>;

    /// Blankly's proportional sizing, when this strategy is it: [`crate::backtest`] then runs
    /// a loop made for its orders instead of calling [`Strategy::decide`] bar by bar. `None`
    /// (the default) for every other strategy.
    fn proportional(&self) -> Option<ProportionalOrders<'_>> {
        None
    }
}

/// Blankly's orders: after bar `i` closes at `close`, with the prediction `p = values[i]`
/// (a predicted next close over this one), buy `max(cash, 0) · scale · (p − 1) / close` units
/// when `p > 1` (at most what the cash pays for), sell `units · min(1, scale · (1 − p))` of a
/// long when `p < 1` (all of it from `1 − 10⁻⁹` on, so that no rounding dust is left); no
/// order without a finite prediction. The position never goes short.
#[derive(Debug, Clone, Copy)]
pub struct ProportionalOrders<'a> {
    /// One prediction per decision bar.
    pub values: &'a [f64],
    /// The seed's `2`.
    pub scale: f64,
}

/// The pipeline's `strategy:` section: how predictions become positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyConfig {
    /// Long (all in) through the next bar when the predicted next close ratio exceeds
    /// `threshold`, else flat. With `average: true` the prediction for a bar is the mean of
    /// every prediction already made for it (the Blankly seed averages the 3 it has per day).
    LongFlat {
        /// Ratio above which to be long. Default: 1.0.
        #[serde(default = "one")]
        threshold: f64,
        /// Average the predictions made for the same bar. Default: true.
        #[serde(default = "yes")]
        average: bool,
    },
    /// The Blankly seed's sizing: with `p` the averaged predicted ratio, buy
    /// `cash·scale·(p − 1)/price` units when `p > 1`, sell `units·scale·(1 − p)` when `p < 1`
    /// (long only; pair with `backtest.lot_size: 0.01` and `fill: close` to reproduce it).
    BlanklyProportional {
        /// Default: 2 (the seed's).
        #[serde(default = "two")]
        scale: f64,
        /// Average the predictions made for the same bar. Default: true.
        #[serde(default = "yes")]
        average: bool,
    },
    /// freqAI-LSTM's entries and exits on the predicted score: long above `enter`; with
    /// `short`, short below `exit`; a long exits below `exit`, a short above `enter`; an
    /// optional trailing stop and time-based exit. Stops are checked at closes.
    Threshold {
        /// `threshold_buy`.
        enter: f64,
        /// `threshold_sell`.
        exit: f64,
        /// Allow shorts (`can_short`). Default: false.
        #[serde(default)]
        short: bool,
        /// freqtrade's `trailing_stop_positive` / `_offset`: once the trade is up by `offset`,
        /// exit when the close falls `positive` below its best close since entry.
        #[serde(default)]
        trailing_stop: Option<TrailingStop>,
        /// freqtrade's `minimal_roi` at one horizon: exit once held `after_bars` bars with at
        /// least `min_profit` gained (freqAI: 600 minutes = 10 hourly bars, 0).
        #[serde(default)]
        roi_exit: Option<RoiExit>,
    },
    /// Long (all in) when the predicted probability of "up" exceeds `long_above`, flat when it
    /// falls below `flat_below`, unchanged in between.
    Classifier {
        /// Default: 0.5.
        #[serde(default = "half")]
        long_above: f64,
        /// Default: 0.5.
        #[serde(default = "half")]
        flat_below: f64,
    },
    /// Long from the first decision to the end: the baseline.
    BuyAndHold,
    /// A universe (`data.universe`) traded by rank: at each rebalance, long the `long` assets
    /// with the highest predictions and short the `short` lowest, equally weighted (see
    /// [`crate::backtest_ranked`]).
    LongShortRank {
        /// Assets held long. Default: 10.
        #[serde(default = "ten")]
        long: usize,
        /// Assets held short. Default: 10.
        #[serde(default = "ten")]
        short: usize,
        /// Bars between rebalances. Default: 1 (every bar).
        #[serde(default = "one_bar")]
        rebalance_bars: usize,
        /// `equal` (the only weighting).
        #[serde(default)]
        weighting: Weighting,
    },
}

/// How [`StrategyConfig::LongShortRank`] sizes its positions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weighting {
    /// Every position `1 / (long + short)` of the equity.
    #[default]
    Equal,
}

fn ten() -> usize {
    10
}
fn one_bar() -> usize {
    1
}

/// See [`StrategyConfig::Threshold`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrailingStop {
    /// Distance below the best close (fraction), e.g. 0.001.
    pub positive: f64,
    /// Gain that arms the stop (fraction), e.g. 0.0139.
    pub offset: f64,
}

/// See [`StrategyConfig::Threshold`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoiExit {
    /// Bars held.
    pub after_bars: usize,
    /// Minimum gain (fraction). Default: 0.
    #[serde(default)]
    pub min_profit: f64,
}

fn one() -> f64 {
    1.0
}
fn two() -> f64 {
    2.0
}
fn half() -> f64 {
    0.5
}
fn yes() -> bool {
    true
}

impl Default for StrategyConfig {
    fn default() -> Self {
        StrategyConfig::LongFlat { threshold: one(), average: yes() }
    }
}

impl StrategyConfig {
    /// Checks the values, naming the key at fault.
    pub fn validate(&self) -> Result<(), EvaluateError> {
        let positive = |key: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(EvaluateError::invalid(key, &format!("must be a positive number, got {v}")))
            }
        };
        let probability = |key: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(EvaluateError::invalid(
                    key,
                    &format!("must be a probability in [0, 1], got {v}"),
                ))
            }
        };
        match self {
            StrategyConfig::LongFlat { threshold, .. } => {
                positive("strategy.threshold", *threshold)
            }
            StrategyConfig::BlanklyProportional { scale, .. } => positive("strategy.scale", *scale),
            StrategyConfig::Threshold { enter, exit, trailing_stop, roi_exit, .. } => {
                if !(enter.is_finite() && exit.is_finite()) {
                    return Err(EvaluateError::invalid(
                        "strategy.enter",
                        "enter and exit must be numbers",
                    ));
                }
                if let Some(t) = trailing_stop {
                    positive("strategy.trailing_stop.positive", t.positive)?;
                    positive("strategy.trailing_stop.offset", t.offset)?;
                }
                if let Some(r) = roi_exit
                    && !r.min_profit.is_finite()
                {
                    return Err(EvaluateError::invalid(
                        "strategy.roi_exit.min_profit",
                        "must be a number",
                    ));
                }
                Ok(())
            }
            StrategyConfig::Classifier { long_above, flat_below } => {
                probability("strategy.long_above", *long_above)?;
                probability("strategy.flat_below", *flat_below)?;
                if flat_below > long_above {
                    return Err(EvaluateError::invalid(
                        "strategy.flat_below",
                        &format!("must not exceed long_above ({long_above}), got {flat_below}"),
                    ));
                }
                Ok(())
            }
            StrategyConfig::BuyAndHold => Ok(()),
            StrategyConfig::LongShortRank { long, short, rebalance_bars, .. } => {
                if long + short == 0 {
                    return Err(EvaluateError::invalid(
                        "strategy.long",
                        "long and short are both 0: hold at least one asset",
                    ));
                }
                if *rebalance_bars == 0 {
                    return Err(EvaluateError::invalid(
                        "strategy.rebalance_bars",
                        "must be at least 1",
                    ));
                }
                Ok(())
            }
        }
    }

    /// Whether it trades a universe by rank (not a market bar by bar).
    pub fn is_ranking(&self) -> bool {
        matches!(self, StrategyConfig::LongShortRank { .. })
    }

    /// The prediction each decision bar acts on, from predictions laid out `[samples,
    /// horizon]` for consecutive decision bars.
    ///
    /// Sample `s` predicts bars `s+1 ..= s+horizon`. Averaging strategies take, for the bar
    /// after sample `s`, the mean of sample `s`'s first value, sample `s−1`'s second, ... (only
    /// predictions already made at `s`'s close); the others take sample `s`'s first value.
    pub fn per_bar(&self, pred: &[f32], horizon: usize) -> Vec<f64> {
        if horizon == 0 {
            return Vec::new();
        }
        let average = matches!(
            self,
            StrategyConfig::LongFlat { average: true, .. }
                | StrategyConfig::BlanklyProportional { average: true, .. }
        );
        let samples = pred.len() / horizon;
        (0..samples)
            .map(|s| {
                if !average {
                    return f64::from(pred[s * horizon]);
                }
                let k = horizon.min(s + 1);
                (0..k).map(|j| f64::from(pred[(s - j) * horizon + j])).sum::<f64>() / k as f64
            })
            .collect()
    }

    /// The strategy acting on `values`, one per bar (see [`StrategyConfig::per_bar`]).
    pub fn strategy(&self, values: &[f64]) -> Result<Box<dyn Strategy>, EvaluateError> {
        self.validate()?;
        let values = values.to_vec();
        Ok(match *self {
            StrategyConfig::LongFlat { threshold, .. } => Box::new(Switch {
                values,
                long_above: threshold,
                flat_below: threshold,
                strict: true,
            }),
            StrategyConfig::Classifier { long_above, flat_below } => {
                Box::new(Switch { values, long_above, flat_below, strict: false })
            }
            StrategyConfig::BlanklyProportional { scale, .. } => {
                Box::new(Proportional { values, scale })
            }
            StrategyConfig::Threshold { enter, exit, short, trailing_stop, roi_exit } => {
                Box::new(Thresholds {
                    values,
                    enter,
                    exit,
                    short,
                    trailing_stop,
                    roi_exit,
                    best: 0.0,
                })
            }
            StrategyConfig::BuyAndHold => Box::new(BuyAndHold),
            StrategyConfig::LongShortRank { .. } => {
                return Err(EvaluateError::invalid(
                    "strategy.kind",
                    "long_short_rank ranks the assets of a universe: set data.universe",
                ));
            }
        })
    }
}

/// Long/flat on a value: long when it exceeds `long_above`, flat when below `flat_below`
/// (`strict`: flat at or below, as `long_flat`'s single threshold).
struct Switch {
    values: Vec<f64>,
    long_above: f64,
    flat_below: f64,
    strict: bool,
}

impl Strategy for Switch {
    fn decide(&mut self, i: usize, _: &Bar, position: &Position) -> Option<Decision> {
        let v = *self.values.get(i)?;
        let flat = if self.strict { v <= self.flat_below } else { v < self.flat_below };
        match (position.units > 0.0, v > self.long_above, flat) {
            (false, true, _) => Some(Decision::Fraction(1.0)),
            (true, _, true) => Some(Decision::Fraction(0.0)),
            _ => None,
        }
    }
}

struct Proportional {
    values: Vec<f64>,
    scale: f64,
}

impl Strategy for Proportional {
    /// The orders of [`ProportionalOrders`], as a target position for the general loop: the
    /// backtest takes it only when `proportional` is hidden, as a test does to compare the
    /// two loops.
    fn decide(&mut self, i: usize, bar: &Bar, position: &Position) -> Option<Decision> {
        let p = *self.values.get(i).filter(|p| p.is_finite())?;
        let buy = position.cash.max(0.0) * (self.scale * (p - 1.0) / bar.close).max(0.0);
        let sell = (self.scale * (1.0 - p)).clamp(0.0, 1.0);
        let sell = position.units.max(0.0) * if sell > 1.0 - 1e-9 { 1.0 } else { sell };
        Some(Decision::Units(position.units + buy - sell))
    }

    fn proportional(&self) -> Option<ProportionalOrders<'_>> {
        Some(ProportionalOrders { values: &self.values, scale: self.scale })
    }
}

struct Thresholds {
    values: Vec<f64>,
    enter: f64,
    exit: f64,
    short: bool,
    trailing_stop: Option<TrailingStop>,
    roi_exit: Option<RoiExit>,
    /// Best close since entry (long) or lowest (short).
    best: f64,
}

impl Strategy for Thresholds {
    fn decide(&mut self, i: usize, bar: &Bar, position: &Position) -> Option<Decision> {
        let v = *self.values.get(i)?;
        let (long, short) = (position.units > 0.0, position.units < 0.0);
        if !long && !short {
            self.best = bar.close;
            return if v > self.enter {
                Some(Decision::Fraction(1.0))
            } else if self.short && v < self.exit {
                Some(Decision::Fraction(-1.0))
            } else {
                None
            };
        }
        let entry = position.entry_price.unwrap_or(bar.close);
        let profit = if long { bar.close / entry - 1.0 } else { entry / bar.close - 1.0 };
        self.best = if long { self.best.max(bar.close) } else { self.best.min(bar.close) };
        let signal_exit = if long { v < self.exit } else { v > self.enter };
        let stopped = self.trailing_stop.is_some_and(|t| {
            let best_profit = if long { self.best / entry - 1.0 } else { entry / self.best - 1.0 };
            let from_best =
                if long { 1.0 - bar.close / self.best } else { bar.close / self.best - 1.0 };
            best_profit >= t.offset && from_best >= t.positive
        });
        let timed = self
            .roi_exit
            .is_some_and(|r| position.bars_held >= r.after_bars && profit >= r.min_profit);
        (signal_exit || stopped || timed).then_some(Decision::Fraction(0.0))
    }
}

struct BuyAndHold;

impl Strategy for BuyAndHold {
    fn decide(&mut self, _: usize, _: &Bar, position: &Position) -> Option<Decision> {
        (position.units == 0.0).then_some(Decision::Fraction(1.0))
    }
}

/// A strategy that plays back fixed decisions (tests).
#[cfg(test)]
pub(crate) struct Fixed(pub Vec<Option<Decision>>);

#[cfg(test)]
impl Strategy for Fixed {
    fn decide(&mut self, i: usize, _: &Bar, _: &Position) -> Option<Decision> {
        self.0.get(i).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::{BacktestConfig, backtest};

    fn bars(closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar { timestamp_ms: i as i64, open: c, close: c })
            .collect()
    }

    fn run(cfg: &StrategyConfig, closes: &[f64], values: &[f64]) -> crate::Backtest {
        let bt =
            BacktestConfig { fee_bps: 0.0, fill: crate::Fill::Close, ..BacktestConfig::default() };
        let mut s = cfg.strategy(values).expect("valid strategy");
        backtest(&bars(closes), s.as_mut(), &bt).expect("valid backtest")
    }

    #[test]
    fn averaging_uses_only_predictions_already_made() {
        // Three samples, horizon 2: sample 1's next-bar prediction averages its own first
        // value (0.9) with sample 0's second value (1.3).
        let pred = [1.1, 1.3, 0.9, 0.95, 0.98, 1.0];
        let v = StrategyConfig::default().per_bar(&pred, 2);
        let want = [1.1, 1.1, 0.965];
        assert!(v.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{v:?}");
        let plain = StrategyConfig::LongFlat { threshold: 1.0, average: false };
        assert_eq!(plain.per_bar(&pred, 2), vec![1.1f32 as f64, 0.9f32 as f64, 0.98f32 as f64]);
    }

    /// Blankly's sizing: 2·cash·(p − 1)/price bought, 2·(1 − p) of the holdings sold.
    #[test]
    fn blankly_proportional_sizes_by_the_predicted_change() {
        let cfg = StrategyConfig::BlanklyProportional { scale: 2.0, average: false };
        let r = run(&cfg, &[100.0, 100.0, 100.0, 100.0], &[1.01, 0.9, 1.0, 1.0]);
        // Buys 10,000·2·0.01/100 = 2 units, then sells 2·0.1 of them.
        assert!((r.equity[1].position - 2.0).abs() < 1e-12);
        assert!((r.equity[2].position - 1.6).abs() < 1e-12);
    }

    /// freqAI's rules: enter long above `enter`, exit below `exit`, short below `exit`, cover
    /// above `enter`; the trailing stop exits after the gain passed its offset.
    #[test]
    fn thresholds_enter_exit_and_trail() {
        let cfg = StrategyConfig::Threshold {
            enter: 0.6,
            exit: 0.4,
            short: true,
            trailing_stop: None,
            roi_exit: None,
        };
        let r = run(&cfg, &[10.0; 7], &[0.7, 0.5, 0.3, 0.2, 0.5, 0.7, 0.5]);
        let pos: Vec<f64> = r
            .equity
            .iter()
            .map(|p| if p.position == 0.0 { 0.0 } else { p.position.signum() })
            .collect();
        // Each bar's decision shows from the next point on: long, held, exit, short, held, cover.
        assert_eq!(pos, vec![0.0, 1.0, 1.0, 0.0, -1.0, -1.0, 0.0]);

        let trail = StrategyConfig::Threshold {
            enter: 0.6,
            exit: 0.4,
            short: false,
            trailing_stop: Some(TrailingStop { positive: 0.01, offset: 0.05 }),
            roi_exit: None,
        };
        let r = run(&trail, &[100.0, 103.0, 106.0, 105.5, 104.0, 104.0], &[0.7; 6]);
        let pos: Vec<bool> = r.equity.iter().map(|p| p.position > 0.0).collect();
        // Up 6% (armed); 105.5 is within 1% of 106; 104 is not: out.
        assert_eq!(pos, vec![false, true, true, true, true, false]);
    }

    #[test]
    fn classifier_has_a_band_between_long_and_flat() {
        let cfg = StrategyConfig::Classifier { long_above: 0.6, flat_below: 0.4 };
        let r = run(&cfg, &[10.0; 6], &[0.7, 0.5, 0.3, 0.5, 0.65, 0.5]);
        let pos: Vec<bool> = r.equity.iter().map(|p| p.position > 0.0).collect();
        assert_eq!(pos, vec![false, true, true, false, false, true]);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (cfg, key) in [
            (
                StrategyConfig::Classifier { long_above: 1.5, flat_below: 0.5 },
                "strategy.long_above",
            ),
            (
                StrategyConfig::Classifier { long_above: 0.5, flat_below: 0.6 },
                "strategy.flat_below",
            ),
            (StrategyConfig::BlanklyProportional { scale: 0.0, average: true }, "strategy.scale"),
            (StrategyConfig::LongFlat { threshold: -1.0, average: true }, "strategy.threshold"),
        ] {
            let err = cfg.strategy(&[]).map(|_| ()).expect_err("invalid");
            assert!(err.to_string().starts_with(key), "{err}");
        }
    }
}
