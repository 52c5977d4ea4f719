//! The pipeline as a sweep objective: ingest → features → train → evaluate, one trial at a
//! time, on one worker's device.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use quantsweep_core::{
    Observer, Stop, TeeObserver, TrialError, TrialResult, TrialSpec, TrialStatus,
};
use quantsweep_evaluate::{
    Bar, StrategyConfig, backtest, classification_metrics, regression_metrics, trade_metrics,
    trading_metrics,
};
use quantsweep_features::TargetConfig;
use quantsweep_features::{Dataset, FeatureConfig, FeatureTable, Param};
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
    for t in &pipeline.trials {
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
}

impl PipelineObjective {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    fn run_trial(
        &self,
        trial: &TrialSpec,
        obs: &mut dyn Observer,
    ) -> Result<TrialResult, TrialError> {
        let failed = |e: anyhow::Error| TrialError::failed(format!("{e:#}"));
        let config = self.shared.pipeline.trial_config(trial).map_err(failed)?;
        let candles = &self.shared.candles;
        let data = build_dataset(&config, candles, &self.shared.pairs).map_err(failed)?;

        // A rerun (after a crash) starts its TensorBoard run afresh.
        let tb_dir = self.shared.tensorboard_dir.join(trial.id.to_string());
        if tb_dir.exists() {
            std::fs::remove_dir_all(&tb_dir)
                .map_err(|e| TrialError::failed(format!("clearing {}: {e}", tb_dir.display())))?;
        }
        // TensorBoard groups sessions by this name: one group per configuration, whose seed
        // repeats then show as one row with averaged metrics.
        let group: Vec<String> = trial.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let group = if group.is_empty() { config.name.clone() } else { group.join(",") };
        let mut tb = TensorBoardObserver::create(&tb_dir, &trial.params, &group)
            .map_err(|e| TrialError::failed(e.to_string()))?;

        let fitted = {
            let mut tee = TeeObserver::new(obs, &mut tb);
            fit(&config.model, &config.train, &data, trial.seed, self.shared.device, &mut tee)
        };
        let fitted = match fitted {
            Ok(f) => f,
            Err(e) => {
                let status = match &e {
                    TrainError::Stopped { stop: Stop::Pruned, .. } => TrialStatus::Pruned,
                    _ => TrialStatus::Failed,
                };
                let _ = tb.finish(status, std::iter::empty(), 0);
                return Err(match e {
                    TrainError::Stopped { stop: Stop::Pruned, epochs } => {
                        TrialError::Pruned { epochs }
                    }
                    TrainError::Diverged { epoch, epochs } => TrialError::Failed {
                        reason: format!("loss became NaN at epoch {epoch}"),
                        epochs,
                    },
                    TrainError::Stopped { epochs, .. } => {
                        TrialError::Failed { reason: "cancelled".into(), epochs }
                    }
                    other => TrialError::failed(other.to_string()),
                });
            }
        };
        let epochs = fitted.epochs.clone();
        let with_curve = |reason: String| TrialError::Failed { reason, epochs: epochs.clone() };
        if config.train.save_model {
            let path = self.shared.models_dir.join(format!("{}.safetensors", trial.id));
            std::fs::create_dir_all(&self.shared.models_dir).map_err(|e| {
                with_curve(format!("creating {}: {e}", self.shared.models_dir.display()))
            })?;
            fitted
                .save(&path)
                .map_err(|e| with_curve(format!("saving {}: {e}", path.display())))?;
        }

        let pred =
            fitted.predict(&data, data.test.clone()).map_err(|e| with_curve(e.to_string()))?;
        let values = config.strategy.per_bar(&pred, data.n_targets);
        // The test span's decision bars, plus the bar after the last decision (to fill it).
        let rows = data.decision_row[data.test.start]..=data.decision_row[data.test.end - 1] + 1;
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
        let run = backtest(&bars, strategy.as_mut(), &config.backtest).map_err(failed_backtest)?;
        // The baseline: buy and hold over the same bars, same fills and fees.
        let mut hold = StrategyConfig::BuyAndHold.strategy(&[]).map_err(failed_backtest)?;
        let baseline = backtest(&bars, hold.as_mut(), &config.backtest).map_err(failed_backtest)?;

        let periods = candles.timeframe().map_or(365.0, |tf| tf.periods_per_year());
        let mut metrics = trading_metrics(&run.equity, periods);
        metrics.extend(trade_metrics(&run.trades));
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
        let actual = data.y_slice(data.test.clone());
        metrics.extend(match config.target {
            // Probabilities of "up": classification metrics.
            TargetConfig::UpDown { .. } => classification_metrics(&pred, actual),
            TargetConfig::NextCloseRatios { .. } => {
                regression_metrics(&pred, actual, data.n_targets, 1.0)
            }
            _ => regression_metrics(&pred, actual, data.n_targets, 0.0),
        });
        // The model's epoch: the best one when early stopping restored it.
        let final_epoch = fitted.best_epoch.map_or(epochs.last(), |e| epochs.get(e));
        if let Some(v) = final_epoch.and_then(|m| m.val_loss) {
            metrics.insert("val_loss".into(), v);
        }
        if let Some(m) = final_epoch {
            metrics.insert("train_loss".into(), m.train_loss);
        }
        tb.finish(TrialStatus::Complete, &metrics, epochs.len() as i64)
            .map_err(|e| with_curve(e.to_string()))?;
        Ok(TrialResult {
            metrics,
            epochs,
            equity: run.equity,
            trades: run.trades,
            device: fitted.device_name(),
            leaky: data.leaky(),
        })
    }
}

impl Objective for PipelineObjective {
    fn run(
        &mut self,
        trial: &TrialSpec,
        obs: &mut dyn Observer,
    ) -> Result<TrialResult, TrialError> {
        self.run_trial(trial, obs)
    }
}
