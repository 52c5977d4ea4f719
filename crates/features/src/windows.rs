use std::ops::Range;

use quantsweep_ingest::Candles;

use crate::config::{Balance, Purge, Scale, SplitConfig, SplitKind, TargetConfig, WindowConfig};
use crate::targets::target_columns;
use crate::transforms::minmax_window;
use crate::{FeatureError, FeatureTable};

/// Model-ready samples: input windows, targets, and the spans they belong to.
///
/// Sample `s` is decided at the close of candle `decision_row[s]`: its inputs are the rows
/// `decision_row[s] - input_bars + 1 ..= decision_row[s]`, its target reads the rows after it
/// (up to `horizon_bars` later).
///
/// Samples are stored span by span: training, validation, test. The test span is always the
/// last stretch of time, in time order; training and validation are in time order too unless
/// `split.kind: shuffled` drew them at random (then the dataset is [`Dataset::leaky`]).
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
    /// Why results built on this dataset are leaky, if they are: validation samples may
    /// overlap training windows (`split.kind: shuffled`), or a feature reads later candles to
    /// reproduce a published quirk (`ta_all` with `original`). Validation metrics are then
    /// optimistic, and every result says so ([`Dataset::leaky`]).
    pub leaks: Vec<String>,
    /// Decision bars left out because a value in their window, or their target, is not finite
    /// (after the warm-up; e.g. a rolling z-score over a flat stretch).
    pub skipped: usize,
    /// Samples dropped by `split.balance`.
    pub balanced_out: usize,
    /// Per input, the `(mean, std)` it is scaled by (`(0, 1)` unless `window.scale:
    /// standard`; `minmax` scales each window on its own). For a universe scaled per asset,
    /// the first asset's.
    pub scaler: Vec<(f64, f64)>,
    /// For a universe (`data.universe`), the asset of each sample (an index into the
    /// universe's assets; `decision_row` is then a row of that asset's candles); empty for
    /// one market.
    pub asset: Vec<u32>,
}

/// The samples every split of the same data shares: the decision rows whose window is clean
/// and whose target is known, with the input columns and targets they read.
pub(crate) struct Samples<'a> {
    inputs: Vec<&'a [f64]>,
    input_names: Vec<String>,
    pub(crate) targets: Vec<Vec<f64>>,
    /// Candle row of each sample, increasing.
    pub(crate) rows: Vec<usize>,
    /// Window length and target horizon.
    pub(crate) w: usize,
    pub(crate) h: usize,
    pub(crate) n: usize,
    purge: Purge,
    first_valid: usize,
    pub(crate) skipped: usize,
    feature_leaks: Vec<String>,
}

impl<'a> Samples<'a> {
    fn new(
        candles: &Candles,
        table: &'a FeatureTable,
        window: &WindowConfig,
        target: &TargetConfig,
        split: &SplitConfig,
    ) -> Result<Self, FeatureError> {
        Self::with_targets(candles, table, window, target, split, target_columns(candles, target))
    }

    /// [`Samples::new`] with the target columns given (a universe's cross-sectional labels).
    pub(crate) fn with_targets(
        candles: &Candles,
        table: &'a FeatureTable,
        window: &WindowConfig,
        target: &TargetConfig,
        split: &SplitConfig,
        targets: Vec<Vec<f64>>,
    ) -> Result<Self, FeatureError> {
        let w = window.input_bars;
        let h = target.horizon_bars();
        if w == 0 {
            return Err(invalid("window.input_bars", "must be at least 1"));
        }
        if h == 0 && !matches!(target, TargetConfig::FreqaiScore { original: true, .. }) {
            return Err(invalid("target.horizon_bars", "must be at least 1"));
        }
        for (key, f) in [("split.val", split.val), ("split.test", split.test)] {
            if !(0.0..1.0).contains(&f) {
                return Err(invalid(key, &format!("must be in [0, 1), got {f}")));
            }
        }
        if split.test == 0.0 && split.kind != SplitKind::WalkForward {
            return Err(invalid("split.test", "must be above 0: the backtest needs a test span"));
        }
        if split.balance != Balance::None && !target.is_binary() {
            return Err(invalid("split.balance", "balancing needs a binary target (up_down)"));
        }

        let input_names: Vec<String> = match &window.inputs {
            Some(names) => names.clone(),
            None => table.names().into_iter().map(str::to_owned).collect(),
        };
        let mut inputs: Vec<&[f64]> = Vec::new();
        for name in &input_names {
            let col = table.column(name).ok_or_else(|| FeatureError::UnknownInput {
                name: name.clone(),
                available: table.names().join(", "),
            })?;
            inputs.push(col);
        }
        if inputs.is_empty() {
            return Err(invalid("window.inputs", "no input columns"));
        }
        // Rows with a non-finite input, counted cumulatively: a window is clean when the count
        // does not change across it.
        let n = candles.len();
        let mut bad_before = Vec::with_capacity(n + 1);
        bad_before.push(0usize);
        for i in 0..n {
            let bad = inputs.iter().any(|c| !c[i].is_finite());
            bad_before.push(bad_before[i] + usize::from(bad));
        }
        let first_valid = (0..n).find(|&i| bad_before[i + 1] == bad_before[i]).unwrap_or(n);
        let mut rows = Vec::new();
        let mut skipped = 0;
        for t in w.saturating_sub(1)..n {
            let clean = bad_before[t + 1] == bad_before[t + 1 - w];
            let known = targets.iter().all(|y| y[t].is_finite());
            if clean && known {
                rows.push(t);
            } else if t + 1 >= first_valid + w && t + h < n {
                skipped += 1;
            }
        }
        let feature_leaks = table
            .leaky_features
            .iter()
            .map(|f| format!("feature `{f}` reads later candles"))
            .collect();
        Ok(Samples {
            inputs,
            input_names,
            targets,
            rows,
            w,
            h,
            n,
            purge: split.purge,
            first_valid,
            skipped,
            feature_leaks,
        })
    }

    /// The purge gap (`split.purge`): no target of one span shares a bar with another span's
    /// windows, or (`horizon`) with its decisions and what follows.
    pub(crate) fn gap(&self) -> usize {
        match self.purge {
            Purge::Window => self.w + self.h,
            Purge::Horizon => self.h,
        }
    }

    /// Training and validation samples of the window `start..end` (chronological: validation
    /// last, purged), balanced if asked; errors when the training part is too short.
    fn train_val(
        &self,
        start: usize,
        end: usize,
        split: &SplitConfig,
        what: &str,
    ) -> Result<(Vec<usize>, Vec<usize>), FeatureError> {
        let n_val = (((end - start) as f64) * split.val).round() as usize;
        let gap = self.gap();
        let val = end.saturating_sub(n_val)..end;
        let train_end = if n_val == 0 { end } else { val.start.saturating_sub(gap) };
        let train: Vec<usize> = (start..train_end.max(start)).collect();
        if train.len() < 2 * gap {
            return Err(FeatureError::NotEnoughData(format!(
                "{what}: {} training samples after the validation span ({n_val}) and a purge gap of \
                 {gap}: fewer than twice the gap; use more data or a longer training window",
                train.len()
            )));
        }
        let val: Vec<usize> = if n_val == 0 { Vec::new() } else { val.collect() };
        Ok(if split.balance == Balance::Truncate {
            (
                truncate_classes(&train, &self.rows, &self.targets[0]),
                truncate_classes(&val, &self.rows, &self.targets[0]),
            )
        } else {
            (train, val)
        })
    }

    /// The dataset of these training, validation and test samples: inputs scaled with
    /// statistics of the rows the training windows read, and nothing later.
    /// The rows the windows of `samples` read.
    pub(crate) fn read_rows(&self, samples: &[usize]) -> Vec<bool> {
        let mut read = vec![false; self.n];
        for &s in samples {
            read[self.rows[s] + 1 - self.w..=self.rows[s]].fill(true);
        }
        read
    }

    /// Per input, `(count, sum, sum of squares)` over the rows marked in `read`: a universe
    /// pools them into one scaler.
    pub(crate) fn moments(&self, read: &[bool]) -> Vec<(f64, f64, f64)> {
        self.inputs
            .iter()
            .map(|c| {
                c.iter()
                    .zip(read)
                    .filter(|(_, r)| **r)
                    .fold((0.0, 0.0, 0.0), |(n, s, q), (x, _)| (n + 1.0, s + x, q + x * x))
            })
            .collect()
    }

    /// The scaler `scale` fits on the rows the training samples' windows read.
    pub(crate) fn scaler(&self, train_idx: &[usize], scale: Scale) -> Vec<(f64, f64)> {
        match scale {
            Scale::None | Scale::Minmax => vec![(0.0, 1.0); self.inputs.len()],
            Scale::Standard => {
                let read = self.read_rows(train_idx);
                self.inputs.iter().map(|c| mean_std(c, &read)).collect()
            }
        }
    }

    /// The input columns' names.
    pub(crate) fn input_names(&self) -> &[String] {
        &self.input_names
    }

    fn assemble(
        &self,
        train_idx: &[usize],
        val_idx: &[usize],
        test: Range<usize>,
        scale: Scale,
        leaks: Vec<String>,
        balanced_out: usize,
    ) -> Result<Dataset, FeatureError> {
        if train_idx.is_empty() {
            return Err(FeatureError::NotEnoughData(
                "split.balance: the training span has only one class".into(),
            ));
        }
        let scaler = self.scaler(train_idx, scale);
        Ok(self.assemble_scaled(train_idx, val_idx, test, scale, scaler, leaks, balanced_out))
    }

    /// The dataset of these samples, inputs scaled by `scaler`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assemble_scaled(
        &self,
        train_idx: &[usize],
        val_idx: &[usize],
        test: Range<usize>,
        scale: Scale,
        scaler: Vec<(f64, f64)>,
        mut leaks: Vec<String>,
        balanced_out: usize,
    ) -> Dataset {
        let w = self.w;
        let order: Vec<usize> =
            train_idx.iter().chain(val_idx).copied().chain(test.clone()).collect();
        let f = self.inputs.len();
        let width = self.targets.len();
        let mut x = Vec::with_capacity(order.len() * w * f);
        let mut y = Vec::with_capacity(order.len() * width);
        let mut column = vec![0.0; w];
        for &s in &order {
            let t = self.rows[s];
            let at = x.len();
            x.resize(at + w * f, 0.0);
            for (k, (c, (mean, std))) in self.inputs.iter().zip(&scaler).enumerate() {
                column.copy_from_slice(&c[t + 1 - w..=t]);
                if scale == Scale::Minmax {
                    minmax_window(&mut column);
                }
                for (r, v) in column.iter().enumerate() {
                    x[at + r * f + k] = ((v - mean) / std) as f32;
                }
            }
            y.extend(self.targets.iter().map(|col| col[t] as f32));
        }
        let (n_train, n_val) = (train_idx.len(), val_idx.len());
        leaks.extend(self.feature_leaks.iter().cloned());
        Dataset {
            x,
            y,
            decision_row: order.iter().map(|&s| self.rows[s]).collect(),
            input_bars: w,
            input_names: self.input_names.clone(),
            n_targets: width,
            train: 0..n_train,
            val: n_train..n_train + n_val,
            test: n_train + n_val..order.len(),
            leaks,
            skipped: self.skipped,
            balanced_out,
            scaler,
            asset: Vec::new(),
        }
    }
}

/// One walk-forward fold: a dataset whose test span is the fold's, and where it sits.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    /// 0-based, in time order.
    pub index: usize,
    /// Training (and validation) samples, then this fold's test samples.
    pub dataset: Dataset,
}

impl Dataset {
    /// Cuts windows and targets from `table` and splits them. With `split.kind: walk_forward`,
    /// the first fold (see [`Dataset::walk_forward`]).
    pub fn build(
        candles: &Candles,
        table: &FeatureTable,
        window: &WindowConfig,
        target: &TargetConfig,
        split: &SplitConfig,
    ) -> Result<Self, FeatureError> {
        if split.kind == SplitKind::WalkForward {
            let mut folds = Self::walk_forward(candles, table, window, target, split)?;
            return Ok(folds.swap_remove(0).dataset);
        }
        let s = Samples::new(candles, table, window, target, split)?;
        let (samples, gap, n, w, h) = (s.rows.len(), s.gap(), s.n, s.w, s.h);
        let n_test = ((samples as f64) * split.test).round() as usize;
        let n_val = ((samples as f64) * split.val).round() as usize;
        let test = samples.saturating_sub(n_test)..samples;
        let pool_end = test.start.saturating_sub(gap);
        let too_few = || {
            FeatureError::NotEnoughData(format!(
                "{n} candles give {samples} samples after warm-up ({} bars), windows of {w} and a \
                 horizon of {h}: too few for a training span after the validation ({n_val}) and \
                 test ({n_test}) spans and purge gaps of {gap}; use more data or smaller \
                 split.val / split.test",
                s.first_valid
            ))
        };
        if test.is_empty() {
            return Err(too_few());
        }
        match split.kind {
            SplitKind::Shuffled => {
                let mut pool: Vec<usize> = (0..pool_end).collect();
                if split.balance == Balance::Truncate {
                    pool = truncate_classes(&pool, &s.rows, &s.targets[0]);
                }
                shuffle(&mut pool, split.seed);
                let val = pool.split_off(pool.len().saturating_sub(n_val));
                if pool.len() < 2 * gap {
                    return Err(too_few());
                }
                let balanced_out = pool_end - pool.len() - val.len();
                let leaks = vec!["shuffled split".to_owned()];
                s.assemble(&pool, &val, test, window.scale, leaks, balanced_out)
            }
            _ => {
                // The validation span is `n_val` samples (a fraction of all of them) before the
                // test span's purge gap: as a fraction of what precedes that gap.
                let fraction = if pool_end > 0 { n_val as f64 / pool_end as f64 } else { 0.0 };
                let local = SplitConfig { val: fraction, ..split.clone() };
                let (train, val) =
                    s.train_val(0, pool_end, &local, "split").map_err(|_| too_few())?;
                let kept = pool_end - if n_val == 0 { 0 } else { gap };
                let balanced_out = kept - train.len() - val.len();
                s.assemble(&train, &val, test, window.scale, Vec::new(), balanced_out)
            }
        }
    }

    /// Walk-forward folds (`split.kind: walk_forward`): test spans of `split.test_bars`
    /// samples every `split.step_bars`, from the first point with `split.train_bars` samples
    /// and the purge gap (window + horizon) plus `split.embargo_bars` before it; each fold
    /// trains on the `train_bars` samples before its gap (or all earlier ones, `expanding`),
    /// the last `split.val` of them as its validation span, and scales its inputs with its
    /// own training statistics. The last test span may be shorter.
    pub fn walk_forward(
        candles: &Candles,
        table: &FeatureTable,
        window: &WindowConfig,
        target: &TargetConfig,
        split: &SplitConfig,
    ) -> Result<Vec<Fold>, FeatureError> {
        let (train_bars, test_bars, step) = walk_forward_lengths(split)?;
        let s = Samples::new(candles, table, window, target, split)?;
        let samples = s.rows.len();
        let gap = s.gap() + split.embargo_bars;
        let first = train_bars + gap;
        if first >= samples {
            return Err(FeatureError::NotEnoughData(format!(
                "split.train_bars: {samples} samples leave no test span after a training window \
                 of {train_bars} and a gap of {gap} (window + horizon + embargo)"
            )));
        }
        let mut folds = Vec::new();
        let mut start = first;
        while start < samples {
            let test = start..(start + test_bars).min(samples);
            let end = start - gap;
            let begin = if split.expanding { 0 } else { end - train_bars };
            let what = format!("split.train_bars (fold {})", folds.len());
            let (train, val) = s.train_val(begin, end, split, &what)?;
            let dataset = s.assemble(&train, &val, test, window.scale, Vec::new(), 0)?;
            folds.push(Fold { index: folds.len(), dataset });
            start += step;
        }
        Ok(folds)
    }

    /// True when results built on this dataset are leaky (see [`Dataset::leaks`]).
    pub fn leaky(&self) -> bool {
        !self.leaks.is_empty()
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

/// `split.train_bars`, `test_bars` and `step_bars` (default: `test_bars`), each positive.
pub(crate) fn walk_forward_lengths(
    split: &SplitConfig,
) -> Result<(usize, usize, usize), FeatureError> {
    let need = |key: &str, v: Option<usize>| match v {
        Some(v) if v > 0 => Ok(v),
        _ => Err(invalid(key, "walk_forward needs a positive number of samples")),
    };
    let train_bars = need("split.train_bars", split.train_bars)?;
    let test_bars = need("split.test_bars", split.test_bars)?;
    let step = need("split.step_bars", split.step_bars.or(Some(test_bars)))?;
    Ok((train_bars, test_bars, step))
}

pub(crate) fn invalid(key: &str, message: &str) -> FeatureError {
    FeatureError::InvalidParameter { key: key.into(), message: message.into() }
}

/// The Keras seed's balancing of `samples` (indices into `rows`): the first
/// `min(ups, downs)` of each class, in the order given.
pub(crate) fn truncate_classes(samples: &[usize], rows: &[usize], y: &[f64]) -> Vec<usize> {
    let up = |s: &usize| y[rows[*s]] > 0.5;
    let ups = samples.iter().filter(|s| up(s)).count();
    let keep = ups.min(samples.len() - ups);
    let (mut n_up, mut n_down) = (0, 0);
    samples
        .iter()
        .copied()
        .filter(|s| {
            let count = if up(s) { &mut n_up } else { &mut n_down };
            *count += 1;
            *count <= keep
        })
        .collect()
}

/// Fisher-Yates with SplitMix64: the same permutation for the same seed on every platform.
fn shuffle(v: &mut [usize], seed: u64) {
    quantsweep_core::SplitMix64(seed).shuffle(v);
}

/// Mean and population standard deviation of `v` over the rows marked in `read`; a constant
/// column scales by 1.
fn mean_std(v: &[f64], read: &[bool]) -> (f64, f64) {
    let picked = || v.iter().zip(read).filter(|(_, r)| **r).map(|(x, _)| *x);
    let n = picked().count() as f64;
    let mean = picked().sum::<f64>() / n;
    let var = picked().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean, if std > 0.0 && std.is_finite() { std } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureConfig;
    use crate::config::{Balance, SplitKind};

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
            ..Default::default()
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
        assert_eq!(d.val.start, d.train.end);
        assert_eq!(d.test.start, d.val.end);
        assert_eq!(d.test.end, d.len());
        // `gap` decision bars are left out between spans.
        let row = |s: usize| d.decision_row[s];
        assert_eq!(row(d.val.start) - row(d.train.end - 1), gap + 1);
        assert_eq!(row(d.test.start) - row(d.val.end - 1), gap + 1);
        assert!(d.decision_row.windows(2).all(|p| p[0] < p[1]));
        assert!(!d.leaky());
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

    fn dataset(
        c: &Candles,
        window: WindowConfig,
        target: TargetConfig,
        split: SplitConfig,
    ) -> Dataset {
        let table = FeatureTable::build(c, &features()).expect("features");
        Dataset::build(c, &table, &window, &target, &split).expect("dataset")
    }

    const UP_DOWN: TargetConfig =
        TargetConfig::UpDown { horizon_bars: 5, threshold: 0.0, keep_tail_as_down: false };

    #[test]
    fn a_feature_reproducing_look_ahead_makes_the_dataset_leaky() {
        let c = candles(400);
        for (original, leaky) in [(false, false), (true, true)] {
            let ta = FeatureConfig::new("ta_all").named("ta").with_flag("original", original);
            let table = FeatureTable::build(&c, &[ta]).expect("ta_all");
            let window = WindowConfig {
                inputs: Some(vec!["ta.momentum_rsi".into(), "ta.trend_trix".into()]),
                ..WindowConfig::default()
            };
            let d = Dataset::build(&c, &table, &window, &UP_DOWN, &SplitConfig::default())
                .expect("dataset");
            assert_eq!(d.leaky(), leaky, "original: {original}");
        }
    }

    #[test]
    fn shuffled_split_is_leaky_but_keeps_the_test_span_last() {
        let c = candles(600);
        let split = SplitConfig { kind: SplitKind::Shuffled, seed: 7, ..SplitConfig::default() };
        let d = dataset(&c, WindowConfig::default(), UP_DOWN, split.clone());
        assert!(d.leaky());
        let test = &d.decision_row[d.test.clone()];
        assert!(test.windows(2).all(|p| p[1] == p[0] + 1), "test span in time order");
        let pool = &d.decision_row[..d.test.start];
        assert!(pool.iter().all(|&r| r + 5 + 5 < test[0]), "purged before the test span");
        // Training and validation interleave in time.
        let (tr, va) = (&d.decision_row[d.train.clone()], &d.decision_row[d.val.clone()]);
        assert!(va.iter().any(|v| v < tr.iter().max().expect("train")));
        // The same seed draws the same split; another seed another.
        assert_eq!(d, dataset(&c, WindowConfig::default(), UP_DOWN, split.clone()));
        let other = SplitConfig { seed: 8, ..split };
        assert_ne!(
            d.decision_row,
            dataset(&c, WindowConfig::default(), UP_DOWN, other).decision_row
        );
    }

    #[test]
    fn truncate_balances_training_and_validation_only() {
        let c = candles(600);
        let split = SplitConfig { balance: Balance::Truncate, ..SplitConfig::default() };
        let d = dataset(&c, WindowConfig::default(), UP_DOWN, split);
        for span in [d.train.clone(), d.val.clone()] {
            let ups = d.y_slice(span.clone()).iter().filter(|y| **y == 1.0).count();
            assert_eq!(2 * ups, span.len(), "balanced");
        }
        let plain = dataset(&c, WindowConfig::default(), UP_DOWN, SplitConfig::default());
        assert_eq!(d.y_slice(d.test.clone()), plain.y_slice(plain.test.clone()));
        assert!(d.balanced_out > 0);
        let err = Dataset::build(
            &c,
            &FeatureTable::build(&c, &features()).expect("features"),
            &WindowConfig::default(),
            &TargetConfig::NextCloseRatios { horizon_bars: 3 },
            &SplitConfig { balance: Balance::Truncate, ..SplitConfig::default() },
        )
        .expect_err("not binary");
        assert!(err.to_string().starts_with("split.balance:"), "{err}");
    }

    #[test]
    fn minmax_scales_each_window_to_plus_minus_one() {
        let c = candles(300);
        let window =
            WindowConfig { input_bars: 10, scale: Scale::Minmax, ..WindowConfig::default() };
        let d = dataset(&c, window, UP_DOWN, SplitConfig::default());
        let f = d.n_inputs();
        for s in [0, d.len() / 2, d.len() - 1] {
            let x = &d.x[s * 10 * f..(s + 1) * 10 * f];
            for k in 0..f {
                let col: Vec<f32> = (0..10).map(|r| x[r * f + k]).collect();
                let (lo, hi) =
                    col.iter().fold((f32::MAX, f32::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
                assert!((lo + 1.0).abs() < 1e-6 && (hi - 1.0).abs() < 1e-6, "{col:?}");
            }
        }
    }

    #[test]
    fn freqai_original_mode_targets_the_decision_bar() {
        let c = candles(400);
        let target = TargetConfig::FreqaiScore {
            horizon_bars: 12,
            weights: crate::freqai_weights(),
            original: true,
        };
        let d = dataset(&c, WindowConfig::default(), target.clone(), SplitConfig::default());
        let score = crate::targets::freqai_score(&c, &crate::freqai_weights(), true);
        assert_eq!(d.y[0], score[d.decision_row[0]] as f32);
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

    fn folds(c: &Candles, split: &SplitConfig, scale: Scale) -> Vec<Fold> {
        let table = FeatureTable::build(c, &features()).expect("features");
        let window = WindowConfig { input_bars: 5, inputs: None, scale, ..Default::default() };
        let target = TargetConfig::NextCloseRatios { horizon_bars: 3 };
        Dataset::walk_forward(c, &table, &window, &target, split).expect("folds")
    }

    fn walk(train: usize, test: usize, expanding: bool, embargo: usize) -> SplitConfig {
        SplitConfig {
            kind: SplitKind::WalkForward,
            val: 0.25,
            train_bars: Some(train),
            test_bars: Some(test),
            expanding,
            embargo_bars: embargo,
            ..SplitConfig::default()
        }
    }

    /// Test spans follow each other without overlap to the last sample; each fold trains only
    /// on samples that end a purge gap (window + horizon) plus the embargo before its test
    /// span; rolling windows keep `train_bars` samples, expanding ones start at the first.
    #[test]
    fn walk_forward_folds_tile_the_samples_and_train_only_on_the_past() {
        let c = candles(600);
        let all = build(&c, Scale::None);
        for (expanding, embargo) in [(false, 0), (true, 4)] {
            let f = folds(&c, &walk(200, 50, expanding, embargo), Scale::None);
            let tested: Vec<usize> = f
                .iter()
                .flat_map(|f| f.dataset.decision_row[f.dataset.test.clone()].to_vec())
                .collect();
            assert!(tested.windows(2).all(|p| p[1] > p[0]), "test spans in order, no overlap");
            assert_eq!(tested.last(), all.decision_row.last(), "the last sample is tested");
            assert!(f[..f.len() - 1].iter().all(|f| f.dataset.test.len() == 50));
            for fold in &f {
                let d = &fold.dataset;
                let first_test = d.decision_row[d.test.start];
                // The latest bar any training or validation target reads is before the first
                // test window's first bar, by the embargo at least.
                let last_fit = d.decision_row[..d.test.start].iter().max().expect("training");
                assert!(last_fit + 3 + embargo < first_test + 1 - 5, "fold {}", fold.index);
                let fit = d.train.len() + d.val.len() + 8; // + the purge between them
                if expanding {
                    assert_eq!(d.decision_row[0], all.decision_row[0]);
                } else {
                    assert_eq!(fit, 200, "fold {}", fold.index);
                    assert_eq!(d.val.len(), 50);
                }
            }
            // Samples here are consecutive bars: the first test sample comes `train_bars`
            // plus the gap after the first sample.
            let d = &f[0].dataset;
            assert_eq!(d.decision_row[d.test.start] - d.decision_row[0], 200 + 8 + embargo);
        }
    }

    /// Each fold fits its scaler on its own training window: prices changed after a fold's
    /// training window leave that fold's training inputs unchanged.
    #[test]
    fn walk_forward_scalers_see_only_their_training_window() {
        let c = candles(600);
        let split = walk(200, 50, false, 0);
        let f = folds(&c, &split, Scale::Standard);
        let fold = &f[2].dataset;
        let last = fold.decision_row[fold.val.end - 1];
        let mut shocked = c.clone();
        for i in last + 1..shocked.len() {
            shocked.close[i] *= 3.0;
        }
        let g = folds(&shocked, &split, Scale::Standard);
        assert_eq!(fold.scaler, g[2].dataset.scaler);
        assert_eq!(fold.x_slice(fold.train.clone()), g[2].dataset.x_slice(fold.train.clone()));
        // Fold 3 trains inside fold 2's window (its last 50 samples are validation); fold 4
        // trains past it.
        assert_eq!(f[3].dataset.scaler, g[3].dataset.scaler);
        assert_ne!(f[4].dataset.scaler, g[4].dataset.scaler);
    }
}
