use serde::{Deserialize, Serialize};

use crate::EvaluateError;

/// The pipeline's `strategy:` section: how predictions become positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum StrategyConfig {
    /// Long through the next bar when the predicted next close ratio exceeds `threshold`,
    /// else flat. With `average: true` the prediction for a bar is the mean of every
    /// prediction made for it (the Blankly seed averages the 3 it has for each day).
    LongFlat {
        /// Ratio above which to be long. Default: 1.0.
        #[serde(default = "default_threshold")]
        threshold: f64,
        /// Average the predictions made for the same bar. Default: true.
        #[serde(default = "default_true")]
        average: bool,
    },
}

fn default_threshold() -> f64 {
    1.0
}
fn default_true() -> bool {
    true
}

impl Default for StrategyConfig {
    fn default() -> Self {
        StrategyConfig::LongFlat { threshold: default_threshold(), average: default_true() }
    }
}

impl StrategyConfig {
    /// Long/flat signals, one per sample, from ratio predictions laid out
    /// `[samples, horizon]` for consecutive decision bars.
    ///
    /// Sample `s` predicts the ratios of bars `s+1 ..= s+horizon`. The prediction for the
    /// bar after sample `s` averages sample `s`'s first value with the second value of sample
    /// `s-1`, the third of `s-2`, ... (only predictions already made at `s`'s close).
    pub fn signals(&self, pred: &[f32], horizon: usize) -> Result<Vec<bool>, EvaluateError> {
        let StrategyConfig::LongFlat { threshold, average } = self;
        if !(threshold.is_finite() && *threshold > 0.0) {
            return Err(EvaluateError::invalid("strategy.threshold", "must be a positive ratio"));
        }
        if horizon == 0 {
            return Ok(Vec::new());
        }
        let samples = pred.len() / horizon;
        let next = |s: usize| -> f64 {
            if !average {
                return f64::from(pred[s * horizon]);
            }
            let (mut sum, mut n) = (0.0, 0);
            for k in 0..horizon.min(s + 1) {
                sum += f64::from(pred[(s - k) * horizon + k]);
                n += 1;
            }
            sum / n as f64
        };
        Ok((0..samples).map(|s| next(s) > *threshold).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averaging_uses_only_predictions_already_made() {
        // Three samples, horizon 2: sample 1's next-bar prediction averages its own first
        // value (0.9) with sample 0's second value (1.3).
        let pred = [1.1, 1.3, 0.9, 0.95, 0.98, 1.0];
        let s = StrategyConfig::default().signals(&pred, 2).expect("valid");
        assert_eq!(s, vec![true, true, false]);
        let plain = StrategyConfig::LongFlat { threshold: 1.0, average: false };
        assert_eq!(plain.signals(&pred, 2).expect("valid"), vec![true, false, false]);
    }
}
