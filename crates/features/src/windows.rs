use std::ops::Range;

use quantsweep_ingest::Candles;

use crate::config::{Scale, SplitConfig, TargetConfig, WindowConfig};
use crate::{FeatureError, FeatureTable};

/// Model-ready samples: input windows, targets, and the chronological spans they belong to.
///
/// Sample `s` is decided at the close of candle `decision_row[s]`: its inputs are the rows
/// `decision_row[s] - input_bars + 1 ..= decision_row[s]`, its target reads the rows after it.
///
/// # Shapes
/// - `x`: `[samples, input_bars, n_inputs]`, row-major, f32.
/// - `y`: `[samples, n_targets]`, row-major, f32.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Input windows, `[samples, input_bars, n_inputs]`.
    pub x: Vec<f32>,
    /// Targets, `[samples, n_targets]`.
    pub y: Vec<f32>,
    /// The candle row each sample is decided at.
    pub decision_row: Vec<usize>,
    /// Bars per input window.
    pub input_bars: usize,
    /// Input columns, in order.
    pub input_names: Vec<String>,
    /// Values per target.
    pub n_targets: usize,
    /// Training samples.
    pub train: Range<usize>,
    /// Validation samples (may be empty).
    pub val: Range<usize>,
    /// Test samples (the backtest span).
    pub test: Range<usize>,
}

impl Dataset {
    /// Cuts windows and targets from `table` and splits them chronologically.
    pub fn build(
        candles: &Candles,
        table: &FeatureTable,
        window: &WindowConfig,
        target: &TargetConfig,
        split: &SplitConfig,
    ) -> Result<Self, FeatureError> {
        let w = window.input_bars;
        let h = target.horizon_bars();
        if w == 0 {
            return Err(invalid("window.input_bars", "must be at least 1"));
        }
        if h == 0 {
            return Err(invalid("target.horizon_bars", "must be at least 1"));
        }
        for (key, f) in [("split.val", split.val), ("split.test", split.test)] {
            if !(0.0..1.0).contains(&f) {
                return Err(invalid(key, &format!("must be in [0, 1), got {f}")));
            }
        }
        if split.test == 0.0 {
            return Err(invalid("split.test", "must be above 0: the backtest needs a test span"));
        }

        let input_names: Vec<String> = match &window.inputs {
            Some(names) => names.clone(),
            None => table.names().into_iter().map(str::to_owned).collect(),
        };
        let mut inputs: Vec<Vec<f64>> = Vec::new();
        for name in &input_names {
            let col = table.column(name).ok_or_else(|| FeatureError::UnknownInput {
                name: name.clone(),
                available: table.names().join(", "),
            })?;
            inputs.push(col.to_vec());
        }
        if inputs.is_empty() {
            return Err(invalid("window.inputs", "no input columns"));
        }

        let n = candles.len();
        // The first row from which every input is defined (indicators' warm-up).
        let first_valid = (0..n).find(|&i| inputs.iter().all(|c| c[i].is_finite())).unwrap_or(n);
        if let Some(bad) = (first_valid..n).find(|&i| inputs.iter().any(|c| !c[i].is_finite())) {
            return Err(FeatureError::NotEnoughData(format!(
                "an input is not finite at candle {bad} (after the warm-up ends at {first_valid})"
            )));
        }
        let first_decision = first_valid + w - 1;
        let decision_row: Vec<usize> =
            if n > h { (first_decision..n - h).collect() } else { Vec::new() };
        let samples = decision_row.len();

        let gap = w + h;
        let n_test = ((samples as f64) * split.test).round() as usize;
        let n_val = ((samples as f64) * split.val).round() as usize;
        let test = samples.saturating_sub(n_test)..samples;
        let val = if n_val == 0 {
            test.start..test.start
        } else {
            test.start.saturating_sub(gap + n_val)..test.start.saturating_sub(gap)
        };
        let train_end = if n_val == 0 { test.start } else { val.start }.saturating_sub(gap);
        let train = 0..train_end;
        if train.len() < 2 * gap || test.is_empty() {
            return Err(FeatureError::NotEnoughData(format!(
                "{n} candles give {samples} samples after warm-up ({first_valid} bars), windows of \
                 {w} and a horizon of {h}: too few for a training span after the validation \
                 ({n_val}) and test ({n_test}) spans and purge gaps of {gap}; use more data or \
                 smaller split.val / split.test"
            )));
        }

        // Scaler statistics from the rows the training windows read, and nothing later.
        let scaler: Vec<(f64, f64)> = match window.scale {
            Scale::None => vec![(0.0, 1.0); inputs.len()],
            Scale::Standard => {
                let rows = decision_row[train.start] + 1 - w..=decision_row[train.end - 1];
                inputs.iter().map(|c| mean_std(&c[rows.clone()])).collect()
            }
        };

        let f = inputs.len();
        let mut x = Vec::with_capacity(samples * w * f);
        let mut y = Vec::with_capacity(samples * h);
        for &t in &decision_row {
            for row in t + 1 - w..=t {
                for (c, (mean, std)) in inputs.iter().zip(&scaler) {
                    x.push(((c[row] - mean) / std) as f32);
                }
            }
            match target {
                TargetConfig::NextCloseRatios { .. } => {
                    for j in 1..=h {
                        y.push((candles.close[t + j] / candles.close[t + j - 1]) as f32);
                    }
                }
            }
        }
        Ok(Self { x, y, decision_row, input_bars: w, input_names, n_targets: h, train, val, test })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.decision_row.len()
    }

    /// True when there are no samples.
    pub fn is_empty(&self) -> bool {
        self.decision_row.is_empty()
    }

    /// Number of input columns.
    pub fn n_inputs(&self) -> usize {
        self.input_names.len()
    }

    /// Inputs of the samples in `range`, `[range.len(), input_bars, n_inputs]`.
    pub fn x_slice(&self, range: Range<usize>) -> &[f32] {
        let per = self.input_bars * self.n_inputs();
        &self.x[range.start * per..range.end * per]
    }

    /// Targets of the samples in `range`, `[range.len(), n_targets]`.
    pub fn y_slice(&self, range: Range<usize>) -> &[f32] {
        &self.y[range.start * self.n_targets..range.end * self.n_targets]
    }
}

fn invalid(key: &str, message: &str) -> FeatureError {
    FeatureError::InvalidParameter { key: key.into(), message: message.into() }
}

/// Mean and population standard deviation; a constant column scales by 1.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean, if std > 0.0 && std.is_finite() { std } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureConfig;

    fn candles(n: usize) -> Candles {
        // A deterministic wiggle, so that indicators are defined and distinct.
        let close: Vec<f64> =
            (0..n).map(|i| 100.0 + 10.0 * (i as f64 * 0.3).sin() + i as f64 * 0.1).collect();
        Candles {
            timestamp_ms: (0..n as i64).map(|i| i * 86_400_000).collect(),
            open: close.clone(),
            high: close.iter().map(|c| c + 1.0).collect(),
            low: close.iter().map(|c| c - 1.0).collect(),
            close,
            volume: vec![1.0; n],
        }
    }

    fn features() -> Vec<FeatureConfig> {
        vec![
            FeatureConfig::new("close_ratio"),
            FeatureConfig::new("rsi").named("rsi"),
            FeatureConfig::new("macd").named("macd"),
        ]
    }

    fn build(c: &Candles, scale: Scale) -> Dataset {
        let table = FeatureTable::build(c, &features()).expect("features");
        let window = WindowConfig {
            input_bars: 5,
            inputs: Some(vec![
                "close_ratio".into(),
                "rsi".into(),
                "macd.macd".into(),
                "macd.signal".into(),
            ]),
            scale,
        };
        Dataset::build(
            c,
            &table,
            &window,
            &TargetConfig::NextCloseRatios { horizon_bars: 3 },
            &SplitConfig::default(),
        )
        .expect("dataset")
    }

    #[test]
    fn shapes_and_blankly_layout() {
        let c = candles(300);
        let d = build(&c, Scale::None);
        // MACD's warm-up is 33 rows; windows of 5 start at row 37; the last 3 rows are targets.
        assert_eq!(d.decision_row[0], 37);
        assert_eq!(*d.decision_row.last().expect("samples"), 296);
        assert_eq!(d.x.len(), d.len() * 5 * 4);
        assert_eq!(d.y.len(), d.len() * 3);
        let t = d.decision_row[0];
        assert_eq!(d.y[0], (c.close[t + 1] / c.close[t]) as f32);
        assert_eq!(d.x[(4 * 4) as usize], (c.close[t] / c.close[t - 1]) as f32);
    }

    #[test]
    fn spans_are_ordered_and_purged() {
        let d = build(&candles(400), Scale::None);
        let gap = 5 + 3;
        assert_eq!(d.train.start, 0);
        assert_eq!(d.val.start - d.train.end, gap);
        assert_eq!(d.test.start - d.val.end, gap);
        assert_eq!(d.test.end, d.len());
        // No training target reads a bar that a validation window reads.
        let last_train_target = d.decision_row[d.train.end - 1] + 3;
        let first_val_input = d.decision_row[d.val.start] + 1 - 5;
        assert!(last_train_target < first_val_input);
    }

    #[test]
    fn standard_scaling_is_fitted_on_the_training_span_only() {
        // Changing every price after the training span leaves every training sample unchanged:
        // neither the scaler nor the windows read later bars.
        let c = candles(400);
        let d = build(&c, Scale::Standard);
        let last_train_row = d.decision_row[d.train.end - 1];
        let mut shocked = c.clone();
        for i in last_train_row + 1..shocked.len() {
            for v in [&mut shocked.open, &mut shocked.high, &mut shocked.low, &mut shocked.close] {
                v[i] *= 3.0;
            }
        }
        let e = build(&shocked, Scale::Standard);
        assert_eq!(d.x_slice(d.train.clone()), e.x_slice(e.train.clone()));
        assert_ne!(d.x_slice(d.test.clone()), e.x_slice(e.test.clone()));
    }

    #[test]
    fn too_little_data_is_a_clear_error() {
        let c = candles(60);
        let table = FeatureTable::build(&c, &features()).expect("features");
        let err = Dataset::build(
            &c,
            &table,
            &WindowConfig::default(),
            &TargetConfig::NextCloseRatios { horizon_bars: 3 },
            &SplitConfig::default(),
        )
        .expect_err("too short");
        assert!(err.to_string().contains("too few"), "{err}");
    }

    #[test]
    fn unknown_input_lists_the_columns() {
        let c = candles(300);
        let table = FeatureTable::build(&c, &features()).expect("features");
        let window =
            WindowConfig { inputs: Some(vec!["macd.sig".into()]), ..WindowConfig::default() };
        let err = Dataset::build(
            &c,
            &table,
            &window,
            &TargetConfig::NextCloseRatios { horizon_bars: 3 },
            &SplitConfig::default(),
        )
        .expect_err("unknown");
        assert!(err.to_string().contains("macd.signal"), "{err}");
    }
}
