//! The pipeline as a sweep objective: ingest → features → train → evaluate, one trial at a
//! time, on one worker's device.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use quantsweep_core::{
    EpochMetrics, FoldSummary, Observer, Prediction, Stop, TeeObserver, TrialError, TrialResult,
    TrialSpec, TrialStatus,
};
use quantsweep_evaluate::{
    Bar, StrategyConfig, backtest, blankly_metrics, classification_metrics, regression_metrics,
    trade_metrics, trading_metrics,
};
use quantsweep_features::{
    Dataset, FeatureConfig, FeatureTable, Fold, Param, SplitKind, TargetConfig,
};
use quantsweep_ingest::{Candles, LoadReport, Timeframe, load_source};
use quantsweep_sweep::Objective;
use quantsweep_tblog::TensorBoardObserver;
use quantsweep_train::{DeviceRequest, TrainError, fit};

use crate::config::{Pipeline, PipelineConfig};

/// What every trial of a sweep shares: the pipeline, its candles, where logs go.
pub struct Shared {
    pub pipeline: Pipeline,
    pub candles: Candles,
    /// Correlated pairs' candles, by pair name.
    pub pairs: BTreeMap<String, Candles>,
    pub tensorboard_dir: PathBuf,
    /// Where `train.save_model` writes `<trial_id>.safetensors`.
    pub models_dir: PathBuf,
    /// With `--out` on an object store: puts each trial's TensorBoard run and models there
    /// when it ends (they are staged under `tensorboard_dir` and `models_dir` meanwhile).
    pub uploader: Option<crate::store::Uploader>,
    pub device: DeviceRequest,
}

/// Loads the candles `config.data` names, restricted to its time range.
pub fn load_candles(config: &PipelineConfig) -> Result<(Candles, LoadReport)> {
    let data = &config.data;
    let location = data.location()?;
    let key = if data.source.is_some() { "data.source" } else { "data.datadir" };
    let (mut candles, report) =
        load_source(&location, &data.load_options(), &data.storage).context(key)?;
    if let Some(tf) = &data.resample {
        let tf = Timeframe::parse(tf).map_err(|e| anyhow::anyhow!("data.resample: {e}"))?;
        candles = candles.resample(tf).map_err(|e| anyhow::anyhow!("data.resample: {e}"))?;
    }
    let range = data.range()?;
    let candles = candles.between(range.start_ms, range.end_ms);
    if candles.len() < 2 {
        anyhow::bail!(
            "data: only {} candles of {location} fall in the selected time range",
            candles.len()
        );
    }
    Ok((candles, report))
}

/// Loads the candles of every correlated pair a feature of `config` (or of a trial's
/// configuration: `extra`) names with `pair:`, resampled like the main candles and cut at the
/// same end.
pub fn load_pairs<'a>(
    config: &'a PipelineConfig,
    extra: impl IntoIterator<Item = &'a FeatureConfig>,
) -> Result<BTreeMap<String, Candles>> {
    let data = &config.data;
    let mut pairs = BTreeMap::new();
    for (i, f) in config.features.iter().chain(extra).enumerate() {
        let Some(Param::Text(pair)) = f.params.get("pair") else { continue };
        if pairs.contains_key(pair) {
            continue;
        }
        let at = if i < config.features.len() {
            format!("features[{i}].pair")
        } else {
            "a trial's features: pair".into()
        };
        let location = data.pair_location(pair).with_context(|| at.clone())?;
        let (mut candles, _) = load_source(&location, &data.load_options(), &data.storage)
            .with_context(|| format!("data.pairs.{pair}"))?;
        if let Some(tf) = &data.resample {
            let tf = Timeframe::parse(tf).map_err(|e| anyhow::anyhow!("data.resample: {e}"))?;
            candles = candles
                .resample(tf)
                .map_err(|e| anyhow::anyhow!("data.pairs.{pair}: resample: {e}"))?;
        }
        let range = data.range()?;
        pairs.insert(pair.clone(), candles.between(None, range.end_ms));
    }
    Ok(pairs)
}

/// [`load_pairs`] for the pipeline and every trial's configuration.
pub fn load_all_pairs(pipeline: &Pipeline) -> Result<BTreeMap<String, Candles>> {
    let mut features = Vec::new();
    for t in &pipeline.representative_trials() {
        features.extend(pipeline.trial_config(t)?.features);
    }
    load_pairs(&pipeline.config, &features)
}

/// The feature table of a configuration.
pub fn build_table(
    config: &PipelineConfig,
    candles: &Candles,
    pairs: &BTreeMap<String, Candles>,
) -> Result<FeatureTable> {
    Ok(FeatureTable::build_with(candles, pairs, &config.features)?)
}

/// The folds a trial trains: walk-forward folds, or the one split as a single fold.
pub fn build_folds(
    config: &PipelineConfig,
    candles: &Candles,
    pairs: &BTreeMap<String, Candles>,
) -> Result<Vec<Fold>> {
    if config.split.kind != SplitKind::WalkForward {
        return Ok(vec![Fold { index: 0, dataset: build_dataset(config, candles, pairs)? }]);
    }
    let table = build_table(config, candles, pairs)?;
    Ok(Dataset::walk_forward(candles, &table, &config.window, &config.target, &config.split)?)
}

/// Builds the dataset a trial configuration trains on.
pub fn build_dataset(
    config: &PipelineConfig,
    candles: &Candles,
    pairs: &BTreeMap<String, Candles>,
) -> Result<Dataset> {
    let table = build_table(config, candles, pairs)?;
    Ok(Dataset::build(candles, &table, &config.window, &config.target, &config.split)?)
}

/// One worker's objective.
pub struct PipelineObjective {
    shared: Arc<Shared>,
    /// This worker's device (`auto` and `cuda` spread the workers over the GPUs).
    device: DeviceRequest,
}

impl PipelineObjective {
    /// The objective of the worker in `slot` among the workers of this host.
    pub fn new(shared: Arc<Shared>, slot: usize) -> Self {
        let device = shared.device.for_worker(slot);
        Self { shared, device }
    }

    fn run_trial(
        &self,
        trial: &TrialSpec,
        obs: &mut dyn Observer,
    ) -> Result<TrialResult, TrialError> {
        let failed = |e: anyhow::Error| TrialError::failed(format!("{e:#}"));
        let config = self.shared.pipeline.trial_config(trial).map_err(failed)?;
        let candles = &self.shared.candles;
        let folds = build_folds(&config, candles, &self.shared.pairs).map_err(failed)?;
        let walk_forward = config.split.kind == SplitKind::WalkForward;

        let mut tb = open_tensorboard(&self.shared.tensorboard_dir, trial, &config.name)?;

        // Train each fold (one without walk-forward) and predict its test span.
        let mut epochs: Vec<EpochMetrics> = Vec::new();
        let mut fitted_folds = Vec::with_capacity(folds.len());
        let mut device = String::new();
        for fold in &folds {
            let data = &fold.dataset;
            let fitted = {
                let mut tee = TeeObserver::new(obs, &mut tb);
                let mut tagged = FoldObserver {
                    inner: &mut tee,
                    offset: epochs.len(),
                    fold: walk_forward.then_some(fold.index),
                };
                fit(&config.model, &config.train, data, trial.seed, self.device, &mut tagged)
            };
            let fitted = match fitted {
                Ok(f) => f,
                Err(e) => {
                    let status = match &e {
                        TrainError::Stopped { stop: Stop::Pruned, .. } => TrialStatus::Pruned,
                        _ => TrialStatus::Failed,
                    };
                    let _ = tb.finish(status, std::iter::empty(), 0);
                    let so_far = |mut more: Vec<EpochMetrics>| {
                        tag_fold(&mut more, walk_forward.then_some(fold.index));
                        epochs.iter().cloned().chain(more).collect()
                    };
                    return Err(match e {
                        TrainError::Stopped { stop: Stop::Pruned, epochs: e } => {
                            TrialError::Pruned { epochs: so_far(e) }
                        }
                        TrainError::Diverged { epoch, epochs: e } => TrialError::Failed {
                            reason: format!("loss became NaN at epoch {epoch}"),
                            epochs: so_far(e),
                        },
                        TrainError::Stopped { epochs: e, .. } => {
                            TrialError::Failed { reason: "cancelled".into(), epochs: so_far(e) }
                        }
                        other => TrialError::failed(other.to_string()),
                    });
                }
            };
            let mut fold_epochs = fitted.epochs.clone();
            tag_fold(&mut fold_epochs, walk_forward.then_some(fold.index));
            epochs.extend(fold_epochs);
            device = fitted.device_name();
            fitted_folds.push(fitted);
        }
        let with_curve = |reason: String| TrialError::Failed { reason, epochs: epochs.clone() };

        let mut preds = Vec::with_capacity(folds.len());
        for (fold, fitted) in folds.iter().zip(&fitted_folds) {
            if config.train.save_model {
                let name = if walk_forward {
                    format!("{}-fold{}.safetensors", trial.id, fold.index)
                } else {
                    format!("{}.safetensors", trial.id)
                };
                let path = self.shared.models_dir.join(name);
                std::fs::create_dir_all(&self.shared.models_dir).map_err(|e| {
                    with_curve(format!("creating {}: {e}", self.shared.models_dir.display()))
                })?;
                fitted
                    .save(&path)
                    .map_err(|e| with_curve(format!("saving {}: {e}", path.display())))?;
            }
            let data = &fold.dataset;
            preds.push(
                fitted.predict(data, data.test.clone()).map_err(|e| with_curve(e.to_string()))?,
            );
        }

        // One backtest over the folds' test spans, back to back: the stitched out-of-sample
        // equity curve. Each fold's values come from its own model.
        let n_targets = folds[0].dataset.n_targets;
        let mut values = Vec::new();
        let mut fold_starts = Vec::with_capacity(folds.len());
        for pred in &preds {
            fold_starts.push(values.len());
            values.extend(config.strategy.per_bar(pred, n_targets));
        }
        let first_row = {
            let d = &folds[0].dataset;
            d.decision_row[d.test.start]
        };
        let last_row = {
            let d = &folds[folds.len() - 1].dataset;
            d.decision_row[d.test.end - 1]
        };
        // The test decision bars, plus the bar after the last decision (to fill it). A target
        // that reads no later bar (freqAI's `original: true` score of the decision bar itself)
        // lets the last sample sit on the last candle: that decision has nothing to fill at.
        let rows = first_row..=(last_row + 1).min(candles.timestamp_ms.len() - 1);
        let bars: Vec<Bar> = rows
            .clone()
            .map(|i| Bar {
                timestamp_ms: candles.timestamp_ms[i],
                open: candles.open[i],
                close: candles.close[i],
            })
            .collect();
        let failed_backtest = |e: quantsweep_evaluate::EvaluateError| with_curve(e.to_string());
        let mut strategy = config.strategy.strategy(&values).map_err(failed_backtest)?;
        let mut run =
            backtest(&bars, strategy.as_mut(), &config.backtest).map_err(failed_backtest)?;
        // The baseline: buy and hold over the same bars, same fills and fees.
        let mut hold = StrategyConfig::BuyAndHold.strategy(&[]).map_err(failed_backtest)?;
        let baseline = backtest(&bars, hold.as_mut(), &config.backtest).map_err(failed_backtest)?;

        let periods = config
            .backtest
            .periods_per_year
            .unwrap_or_else(|| candles.timeframe().map_or(365.0, |tf| tf.periods_per_year()));
        let prediction_metrics = |pred: &[f32], actual: &[f32]| match config.target {
            // Probabilities of "up": classification metrics.
            TargetConfig::UpDown { .. } => classification_metrics(pred, actual),
            TargetConfig::NextCloseRatios { .. } => {
                regression_metrics(pred, actual, n_targets, 1.0)
            }
            _ => regression_metrics(pred, actual, n_targets, 0.0),
        };
        let mut metrics = trading_metrics(&run.equity, periods);
        metrics.extend(trade_metrics(&run.trades));
        if matches!(config.strategy, StrategyConfig::BlanklyProportional { .. }) {
            // The seed's own metric table, beside ours, to compare with the published numbers.
            metrics.extend(blankly_metrics(&run.equity));
        }
        let hold_metrics = trading_metrics(&baseline.equity, periods);
        for name in ["total_return", "sharpe", "max_drawdown"] {
            if let Some(v) = hold_metrics.get(name) {
                let key = if name == "total_return" {
                    "buy_hold_return".into()
                } else {
                    format!("buy_hold_{name}")
                };
                metrics.insert(key, *v);
            }
        }
        let all_pred: Vec<f32> = preds.concat();
        let all_actual: Vec<f32> =
            folds.iter().flat_map(|f| f.dataset.y_slice(f.dataset.test.clone()).to_vec()).collect();
        metrics.extend(prediction_metrics(&all_pred, &all_actual));
        // The model's epoch: the best one when early stopping restored it; averaged over folds.
        let finals: Vec<&EpochMetrics> = fitted_folds
            .iter()
            .filter_map(|f| f.best_epoch.map_or(f.epochs.last(), |e| f.epochs.get(e)))
            .collect();
        let mean = |get: &dyn Fn(&EpochMetrics) -> Option<f64>| {
            let v: Vec<f64> = finals.iter().filter_map(|m| get(m)).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        if let Some(v) = mean(&|m| m.val_loss) {
            metrics.insert("val_loss".into(), v);
        }
        if let Some(v) = mean(&|m| Some(m.train_loss)) {
            metrics.insert("train_loss".into(), v);
        }
        // Validation metrics the training reported (`val_accuracy` with bce).
        let extras: std::collections::BTreeSet<&String> =
            finals.iter().flat_map(|m| m.extra.keys()).filter(|k| k.starts_with("val_")).collect();
        for key in extras {
            if let Some(v) = mean(&|m| m.extra.get(key).copied()) {
                metrics.insert(key.clone(), v);
            }
        }

        // Per fold: its stretch of the stitched curve (from the bar before its first decision
        // fills to its last), and its predictions.
        let mut fold_summaries = Vec::new();
        if walk_forward {
            for (k, fold) in folds.iter().enumerate() {
                let start = fold_starts[k];
                let end = fold_starts.get(k + 1).copied().unwrap_or(run.equity.len() - 1);
                // A point belongs to the fold whose decisions made it (the last takes the end).
                let stop = if k + 1 < folds.len() { end } else { run.equity.len() };
                for p in &mut run.equity[start..stop] {
                    p.fold = Some(fold.index as u32);
                }
                let d = &fold.dataset;
                let mut m = trading_metrics(&run.equity[start..=end], periods);
                m.extend(prediction_metrics(&preds[k], d.y_slice(d.test.clone())));
                let at = |s: usize| candles.timestamp_ms[d.decision_row[s]];
                fold_summaries.push(FoldSummary {
                    fold: fold.index as u32,
                    train_start_ms: at(0),
                    train_end_ms: at(d.val.end.max(d.train.end) - 1),
                    test_start_ms: at(d.test.start),
                    test_end_ms: at(d.test.end - 1),
                    metrics: m,
                });
            }
            metrics.insert("folds".into(), folds.len() as f64);
        }
        // The test predictions beside their targets, one row per sample and output.
        let mut predictions = Vec::with_capacity(all_pred.len());
        for (fold, pred) in folds.iter().zip(&preds) {
            let d = &fold.dataset;
            let actual = d.y_slice(d.test.clone());
            let tag = walk_forward.then_some(fold.index as u32);
            for (k, (p, a)) in pred.iter().zip(actual).enumerate() {
                predictions.push(Prediction {
                    timestamp_ms: candles.timestamp_ms
                        [d.decision_row[d.test.start + k / n_targets]],
                    output: (k % n_targets) as u32,
                    prediction: f64::from(*p),
                    actual: f64::from(*a),
                    fold: tag,
                });
            }
        }
        tb.finish(TrialStatus::Complete, &metrics, epochs.len() as i64)
            .map_err(|e| with_curve(e.to_string()))?;
        let leaky = folds.iter().any(|f| f.dataset.leaky());
        Ok(TrialResult {
            metrics,
            epochs,
            equity: run.equity,
            trades: run.trades,
            folds: fold_summaries,
            predictions,
            device,
            leaky,
        })
    }
}

/// A synthetic test function of the trial's numeric parameters (in key order): metrics
/// `value` and `regret` (value minus the known minimum).
pub struct SyntheticObjective {
    function: quantsweep_sweep::Synthetic,
}

impl SyntheticObjective {
    pub fn new(function: quantsweep_sweep::Synthetic) -> Self {
        Self { function }
    }
}

impl Objective for SyntheticObjective {
    fn run(&mut self, trial: &TrialSpec, _: &mut dyn Observer) -> Result<TrialResult, TrialError> {
        let x: Vec<f64> = trial
            .params
            .iter()
            .map(|(k, v)| {
                v.as_f64().ok_or_else(|| TrialError::failed(format!("{k}: not a number")))
            })
            .collect::<Result<_, _>>()?;
        let value = self.function.value(&x);
        let metrics = BTreeMap::from([
            ("value".to_owned(), value),
            ("regret".to_owned(), value - self.function.minimum(x.len())),
        ]);
        Ok(TrialResult { metrics, device: "cpu".into(), ..TrialResult::default() })
    }
}

/// Opens trial `trial`'s TensorBoard run under `root` (`root/<trial_id>`), afresh: a rerun
/// after a crash replaces what the interrupted run wrote. TensorBoard groups sessions by the
/// parameters (`key=value,...`; `fallback` without any), so seed repeats of one configuration
/// show as one row with averaged metrics.
pub fn open_tensorboard(
    root: &Path,
    trial: &TrialSpec,
    fallback: &str,
) -> Result<TensorBoardObserver, TrialError> {
    let dir = root.join(trial.id.to_string());
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| TrialError::failed(format!("clearing {}: {e}", dir.display())))?;
    }
    let group: Vec<String> = trial.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let group = if group.is_empty() { fallback.to_owned() } else { group.join(",") };
    TensorBoardObserver::create(&dir, &trial.params, &group)
        .map_err(|e| TrialError::failed(e.to_string()))
}

/// Forwards epochs with a running epoch number across folds and the fold as an extra scalar.
struct FoldObserver<'a> {
    inner: &'a mut dyn Observer,
    offset: usize,
    fold: Option<usize>,
}

impl Observer for FoldObserver<'_> {
    fn on_epoch(&mut self, epoch: usize, metrics: &EpochMetrics) -> ControlFlow<Stop> {
        let mut m = metrics.clone();
        if let Some(fold) = self.fold {
            m.extra.insert("fold".into(), fold as f64);
        }
        self.inner.on_epoch(self.offset + epoch, &m)
    }
}

/// Marks epochs with their walk-forward fold.
fn tag_fold(epochs: &mut [EpochMetrics], fold: Option<usize>) {
    if let Some(fold) = fold {
        for m in epochs {
            m.extra.insert("fold".into(), fold as f64);
        }
    }
}

impl Objective for PipelineObjective {
    fn run(
        &mut self,
        trial: &TrialSpec,
        obs: &mut dyn Observer,
    ) -> Result<TrialResult, TrialError> {
        let result = self.run_trial(trial, obs);
        if let Some(uploader) = &self.shared.uploader {
            uploader.trial_or_later(trial.id);
        }
        result
    }
}
