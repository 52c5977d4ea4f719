//! The pipeline as a sweep objective: ingest → features → train → evaluate, one trial at a
//! time, on one worker's device.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use quantsweep_core::{
    EpochMetrics, EquityPoint, FoldSummary, Observer, Prediction, Stop, TeeObserver, TrialError,
    TrialResult, TrialSpec, TrialStatus,
};
use quantsweep_evaluate::{
    Bar, Leg, Portfolio, StrategyConfig, backtest, backtest_portfolio, blankly_metrics,
    classification_metrics, regression_metrics, trade_metrics, trading_metrics,
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
    /// The traded markets' candles: one, or each pair of a portfolio (`data.pair: [..]`).
    pub markets: Vec<MarketCandles>,
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

/// One traded market's candles; `pair` names it when the pipeline trades several.
pub struct MarketCandles {
    pub pair: Option<String>,
    pub candles: Candles,
    pub report: LoadReport,
}

/// Loads the candles of every market `config.data` names (one, or each pair of
/// `data.pair: [..]`), restricted to its time range.
pub fn load_markets(config: &PipelineConfig) -> Result<Vec<MarketCandles>> {
    let data = &config.data;
    if let (Some(column), Some(source)) = (&data.symbol_column, &data.source) {
        return load_table(config, source, column);
    }
    let key = if data.source.is_some() { "data.source" } else { "data.datadir" };
    let mut markets = Vec::new();
    let mut left_out = Vec::new();
    for market in data.markets()? {
        let location = &market.location;
        let at = match &market.pair {
            Some(pair) => format!("{key} (pair {pair})"),
            None => key.to_owned(),
        };
        let (mut candles, report) =
            load_source(location, &data.load_options(), &data.storage).context(at)?;
        if let Some(tf) = &data.resample {
            let tf = Timeframe::parse(tf).map_err(|e| anyhow::anyhow!("data.resample: {e}"))?;
            candles = candles.resample(tf).map_err(|e| anyhow::anyhow!("data.resample: {e}"))?;
        }
        let range = data.range()?;
        let candles = candles.between(range.start_ms, range.end_ms);
        if candles.len() < 2 && data.universe.is_some() {
            // A universe goes on without an asset that has no candles in the range (listed
            // later, or delisted), and says so.
            left_out.extend(market.pair);
            continue;
        }
        if candles.len() < 2 {
            anyhow::bail!(
                "data: only {} candles of {location} fall in the selected time range",
                candles.len()
            );
        }
        markets.push(MarketCandles { pair: market.pair, candles, report });
    }
    if data.universe.is_some() {
        check_universe(&markets, &left_out, "")?;
    }
    Ok(markets)
}

/// Says which assets of a universe have no candles in the selected time range (they are left
/// out), and fails when fewer than two are left (`of`: where they were read from).
fn check_universe(markets: &[MarketCandles], left_out: &[String], of: &str) -> Result<()> {
    if !left_out.is_empty() {
        eprintln!(
            "note: data.universe: {} assets have fewer than two candles in the selected time \
             range and are left out: {}",
            left_out.len(),
            left_out.join(", ")
        );
    }
    if markets.len() < 2 {
        anyhow::bail!(
            "data.universe: {} assets{of} have candles in the selected time range: a universe \
             needs at least two",
            markets.len()
        );
    }
    Ok(())
}

/// A universe's assets from one long table (`data.symbol_column`), each restricted to the
/// time range and resampled as one market's candles are.
fn load_table(config: &PipelineConfig, source: &str, column: &str) -> Result<Vec<MarketCandles>> {
    let data = &config.data;
    // One table, or a folder of them (a file per asset, each naming its asset in `column`).
    let files: Vec<String> = if !source.contains("://") && Path::new(source).is_dir() {
        crate::config::asset_files(source)?.into_iter().map(|(_, path)| path).collect()
    } else {
        vec![source.to_owned()]
    };
    let mut assets = Vec::new();
    for file in &files {
        let bytes = if file.contains("://") {
            quantsweep_ingest::fetch(file, &data.storage)?
        } else {
            std::fs::read(file).with_context(|| format!("data.source: {file}"))?
        };
        let found =
            quantsweep_ingest::load_by_symbol(bytes, Path::new(file), &data.load_options(), column)
                .context("data.source")?;
        for (name, candles, report) in found {
            if assets.iter().any(|(n, _, _)| *n == name) {
                anyhow::bail!("data.source: asset `{name}` is in more than one file ({file})");
            }
            assets.push((name, candles, report));
        }
    }
    assets.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<String> = assets.iter().map(|(n, _, _)| n.clone()).collect();
    let picked = data.pick_assets(&names)?;
    let range = data.range()?;
    let mut by_name: BTreeMap<String, (Candles, LoadReport)> =
        assets.into_iter().map(|(n, c, r)| (n, (c, r))).collect();
    let mut markets = Vec::with_capacity(picked.len());
    let mut left_out = Vec::new();
    for name in picked {
        let (mut candles, report) = by_name.remove(&name).context("a picked asset is there")?;
        if let Some(tf) = &data.resample {
            let tf = Timeframe::parse(tf).map_err(|e| anyhow::anyhow!("data.resample: {e}"))?;
            candles =
                candles.resample(tf).map_err(|e| anyhow::anyhow!("data.resample ({name}): {e}"))?;
        }
        let candles = candles.between(range.start_ms, range.end_ms);
        // An asset with no candles in the range (listed later, or delisted) is left out, and
        // said so.
        if candles.len() >= 2 {
            markets.push(MarketCandles { pair: Some(name), candles, report });
        } else {
            left_out.push(name);
        }
    }
    check_universe(&markets, &left_out, &format!(" of {source}"))?;
    Ok(markets)
}

/// Correlated pairs' candles, by pair name.
pub type Pairs = BTreeMap<String, Candles>;

/// Bars per year for annualised metrics: `backtest.periods_per_year`, or the market's
/// calendar's (252 daily bars on a weekday calendar, 365 otherwise).
pub(crate) fn periods_per_year(config: &PipelineConfig, market: &MarketCandles) -> f64 {
    config.backtest.periods_per_year.unwrap_or_else(|| {
        market.candles.timeframe().map_or(365.0, |tf| market.report.calendar.periods_per_year(tf))
    })
}

/// A relative `data.source` or `data.datadir` that is not there: says that relative paths
/// are read from the current directory, and where the file is when it is beside the pipeline
/// file instead (#23).
fn check_relative_paths(pipeline: &Pipeline) -> Result<()> {
    let data = &pipeline.config.data;
    for (key, value) in [("data.source", &data.source), ("data.datadir", &data.datadir)] {
        let Some(value) = value else { continue };
        let given = Path::new(value);
        if key == "data.source"
            && !value.contains("://")
            && given.is_dir()
            && data.universe.is_none()
        {
            let files = quantsweep_ingest::freqtrade_contents(given);
            let mut pairs: Vec<&str> = files.iter().map(|f| f.pair.as_str()).collect();
            pairs.dedup();
            if pairs.is_empty() {
                anyhow::bail!(
                    "{}: data.source: {value} is a folder, not a candle file",
                    pipeline.path.display()
                );
            }
            anyhow::bail!(
                "{}: data.source: {value} is a freqtrade data directory (it holds {}): write \
                 `datadir: {value}` with `pair` and `timeframe` instead",
                pipeline.path.display(),
                pairs.join(", ")
            );
        }
        if value.contains("://") || given.exists() {
            continue;
        }
        // A typo in the last part: the nearest name in the folder above (`binance-202`).
        let near = given
            .file_name()
            .and_then(|name| {
                let parent = given.parent().filter(|p| !p.as_os_str().is_empty());
                let entries = std::fs::read_dir(parent.unwrap_or(Path::new("."))).ok()?;
                let names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                let hint = quantsweep_core::did_you_mean(
                    &name.to_string_lossy(),
                    names.iter().map(String::as_str),
                );
                Some(match parent {
                    Some(p) => hint.replace("mean `", &format!("mean `{}/", p.display())),
                    None => hint,
                })
            })
            .unwrap_or_default();
        if given.is_absolute() {
            anyhow::bail!("{}: {key}: {value} is not there{near}", pipeline.path.display());
        }
        let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        let beside = pipeline.path.parent().map(|dir| dir.join(given)).filter(|p| p.exists());
        let hint = match beside {
            Some(p) => format!(
                "; it is beside the pipeline file ({}): write that path, or run from the \
                 pipeline's folder",
                p.display()
            ),
            None => String::new(),
        };
        anyhow::bail!(
            "{}: {key}: {value} is not there{near}: relative paths are read from the current \
             directory ({cwd}){hint}",
            pipeline.path.display()
        );
    }
    Ok(())
}

/// Loads a pipeline's markets and correlated pairs, and builds the first trial's dataset on
/// each market (a universe: its folds' pooled datasets): the data problems every trial would
/// hit, found before anything runs. Errors name the pipeline file.
pub fn load_checked(pipeline: &Pipeline) -> Result<(Vec<MarketCandles>, Pairs, Vec<Dataset>)> {
    let path = pipeline.path.display();
    check_relative_paths(pipeline)?;
    let markets = load_markets(&pipeline.config).with_context(|| path.to_string())?;
    let pairs = load_all_pairs(pipeline).with_context(|| path.to_string())?;
    let representative = pipeline.representative_trials();
    let first = representative.first().context("the sweep has no trials")?;
    let config = pipeline.trial_config(first)?;
    if config.data.universe.is_some() {
        // One dataset per fold, every asset's samples pooled.
        let folds = crate::universe::build_universe_folds(&config, &markets, &pairs)
            .with_context(|| format!("{path}: trial 0"))?;
        return Ok((markets, pairs, folds.into_iter().map(|f| f.dataset).collect()));
    }
    let mut datasets = Vec::with_capacity(markets.len());
    for market in &markets {
        let data =
            build_dataset(&config, &market.candles, &pairs).with_context(|| {
                match &market.pair {
                    Some(p) => format!("{path}: trial 0 (pair {p})"),
                    None => format!("{path}: trial 0"),
                }
            })?;
        datasets.push(data);
    }
    Ok((markets, pairs, datasets))
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
    pub(crate) shared: Arc<Shared>,
    /// This worker's device (`auto` and `cuda` spread the workers over the GPUs).
    pub(crate) device: DeviceRequest,
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
        let walk_forward = config.split.kind == SplitKind::WalkForward;
        let mut tb = open_tensorboard(&self.shared.tensorboard_dir, trial, &config.name)?;
        if config.data.universe.is_some() {
            return self.run_universe(trial, &config, obs, tb);
        }

        // Each market's own models: train each fold and predict its test span.
        let several = self.shared.markets.len() > 1;
        let mut epochs: Vec<EpochMetrics> = Vec::new();
        let mut device = String::new();
        let mut legs = Vec::with_capacity(self.shared.markets.len());
        for (k, market) in self.shared.markets.iter().enumerate() {
            let mut ctx = LegContext {
                config: &config,
                trial,
                index: several.then_some(k),
                obs: &mut *obs,
                tb: &mut tb,
                epochs: &mut epochs,
                device: &mut device,
            };
            match self.run_leg(market, &mut ctx) {
                Ok(leg) => legs.push(leg),
                Err(e) => return Err(finish_unfinished(tb, e)),
            }
        }
        let with_curve = |reason: String| TrialError::Failed { reason, epochs: epochs.clone() };
        let failed_backtest = |e: quantsweep_evaluate::EvaluateError| with_curve(e.to_string());

        // One backtest over the folds' test spans, back to back: the stitched out-of-sample
        // equity curve (each fold's values come from its own model). Several pairs trade as
        // an equal-weight portfolio on the bars they share; each pair's curve is kept too.
        let (mut curve, mut pair_curves, trades, baseline) = if let [leg] = legs.as_slice() {
            let mut strategy = config.strategy.strategy(&leg.values).map_err(failed_backtest)?;
            let run = backtest(&leg.bars, strategy.as_mut(), &config.backtest)
                .map_err(failed_backtest)?;
            // The baseline: buy and hold over the same bars, same fills and fees.
            let mut hold = StrategyConfig::BuyAndHold.strategy(&[]).map_err(failed_backtest)?;
            let baseline =
                backtest(&leg.bars, hold.as_mut(), &config.backtest).map_err(failed_backtest)?;
            (run.equity, Vec::new(), run.trades, baseline.equity)
        } else {
            let aligned = align_legs(&legs).map_err(with_curve)?;
            let portfolio = |hold: bool| -> Result<Portfolio, TrialError> {
                let mut parts = Vec::with_capacity(legs.len());
                for (leg, (bars, values)) in legs.iter().zip(&aligned) {
                    let strategy = if hold {
                        StrategyConfig::BuyAndHold.strategy(&[])
                    } else {
                        config.strategy.strategy(values)
                    };
                    let pair = leg.market.pair.clone().unwrap_or_default();
                    parts.push(Leg { pair, bars, strategy: strategy.map_err(failed_backtest)? });
                }
                backtest_portfolio(parts, &config.backtest).map_err(failed_backtest)
            };
            let run = portfolio(false)?;
            let baseline = portfolio(true)?;
            let mut pair_curves = Vec::new();
            let mut trades = Vec::new();
            for (_, leg) in run.legs {
                pair_curves.push(leg.equity);
                trades.extend(leg.trades);
            }
            trades.sort_by_key(|t| t.entry_ms);
            (run.equity, pair_curves, trades, baseline.equity)
        };

        let candles = &self.shared.markets[0].candles;
        let periods = periods_per_year(&config, &self.shared.markets[0]);
        let n_targets = legs[0].folds[0].dataset.n_targets;
        let prediction_metrics = |pred: &[f32], actual: &[f32]| match config.target {
            // Probabilities of "up": classification metrics.
            TargetConfig::UpDown { .. } => classification_metrics(pred, actual),
            TargetConfig::NextCloseRatios { .. } => {
                regression_metrics(pred, actual, n_targets, 1.0)
            }
            _ => regression_metrics(pred, actual, n_targets, 0.0),
        };
        let mut metrics = trading_metrics(&curve, periods);
        metrics.extend(trade_metrics(&trades));
        if matches!(config.strategy, StrategyConfig::BlanklyProportional { .. }) {
            // The seed's own metric table, beside ours, to compare with the published numbers.
            metrics.extend(blankly_metrics(&curve));
        }
        insert_buy_hold_metrics(&mut metrics, &baseline, periods);
        let (all_pred, all_actual): (Vec<f32>, Vec<f32>) = legs
            .iter()
            .flat_map(|l| l.folds.iter().zip(&l.preds))
            .flat_map(|(f, p)| p.iter().copied().zip(f.dataset.y_slice(f.dataset.test.clone())))
            .unzip();
        metrics.extend(prediction_metrics(&all_pred, &all_actual));
        // The model's epoch: the best one when early stopping restored it; averaged over
        // folds (and pairs).
        let finals: Vec<EpochMetrics> =
            legs.iter().flat_map(|l| l.finals.iter().cloned()).collect();
        crate::universe::insert_epoch_metrics(&mut metrics, &finals);

        // Per fold: its stretch of the stitched curve (from the bar before its first decision
        // fills to its last), and its predictions. Folds are cut by time, so a portfolio's
        // pairs share them; the spans are the first pair's.
        let mut fold_summaries = Vec::new();
        if walk_forward {
            let first = &legs[0];
            let starts: Vec<i64> =
                first.fold_starts.iter().map(|&s| first.bars[s].timestamp_ms).collect();
            for c in &mut pair_curves {
                tag_folds(c, &starts, &first.folds);
            }
            let spans = tag_folds(&mut curve, &starts, &first.folds);
            for (k, (fold, (start, end))) in first.folds.iter().zip(spans).enumerate() {
                let mut m = trading_metrics(&curve[start..=end], periods);
                let (pred, actual): (Vec<f32>, Vec<f32>) = legs
                    .iter()
                    .flat_map(|l| {
                        let d = &l.folds[k].dataset;
                        l.preds[k].iter().copied().zip(d.y_slice(d.test.clone()).iter().copied())
                    })
                    .unzip();
                m.extend(prediction_metrics(&pred, &actual));
                let d = &fold.dataset;
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
            metrics.insert("folds".into(), first.folds.len() as f64);
        }
        // The test predictions beside their targets, one row per sample and output.
        let mut predictions = Vec::with_capacity(all_pred.len());
        for leg in &legs {
            let candles = &leg.market.candles;
            for (fold, pred) in leg.folds.iter().zip(&leg.preds) {
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
                        pair: leg.market.pair.clone(),
                    });
                }
            }
        }
        tb.finish(TrialStatus::Complete, &metrics, epochs.len() as i64)
            .map_err(|e| with_curve(e.to_string()))?;
        let leaky = legs.iter().flat_map(|l| &l.folds).any(|f| f.dataset.leaky());
        curve.extend(pair_curves.into_iter().flatten());
        Ok(TrialResult {
            metrics,
            epochs,
            equity: curve,
            trades,
            folds: fold_summaries,
            predictions,
            device,
            leaky,
        })
    }

    /// Trains one market's models (one per fold), saves them when asked, and predicts each
    /// fold's test span: the bars its strategy trades and a value per decision bar.
    fn run_leg<'m>(
        &self,
        market: &'m MarketCandles,
        ctx: &mut LegContext<'_>,
    ) -> Result<LegRun<'m>, TrialError> {
        let failed = |e: anyhow::Error| TrialError::failed(format!("{e:#}"));
        let (config, trial) = (ctx.config, ctx.trial);
        let candles = &market.candles;
        let folds = build_folds(config, candles, &self.shared.pairs).map_err(failed)?;
        let walk_forward = config.split.kind == SplitKind::WalkForward;
        let mut fitted_folds = Vec::with_capacity(folds.len());
        for fold in &folds {
            let fold_tag = walk_forward.then_some(fold.index);
            let fitted = {
                let mut tee = TeeObserver::new(&mut *ctx.obs, &mut *ctx.tb);
                let mut tagged = FoldObserver {
                    inner: &mut tee,
                    offset: ctx.epochs.len(),
                    fold: fold_tag,
                    pair: ctx.index,
                };
                let data = &fold.dataset;
                fit(&config.model, &config.train, data, trial.seed, self.device, &mut tagged)
            };
            let fitted = match fitted {
                Ok(f) => f,
                Err(e) => {
                    let at = market.pair.as_ref().map_or(String::new(), |p| format!(" ({p})"));
                    return Err(fit_error(e, ctx.epochs, fold_tag, ctx.index, &at));
                }
            };
            let mut fold_epochs = fitted.epochs.clone();
            tag_epochs(&mut fold_epochs, fold_tag, ctx.index);
            ctx.epochs.extend(fold_epochs);
            *ctx.device = fitted.device_name();
            fitted_folds.push(fitted);
        }
        let with_curve = |reason: String| TrialError::Failed { reason, epochs: ctx.epochs.clone() };

        let mut preds = Vec::with_capacity(folds.len());
        for (fold, fitted) in folds.iter().zip(&fitted_folds) {
            if config.train.save_model {
                let pair = market.pair.as_deref().map_or(String::new(), |p| {
                    // `ETH/USDT:USDT` → `ETH_USDT_USDT`, as freqtrade names its files.
                    let slug: String = p
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
                        .collect();
                    format!("-{slug}")
                });
                let fold_tag = walk_forward.then_some(fold.index);
                self.save_model(fitted, trial, &pair, fold_tag).map_err(with_curve)?;
            }
            let data = &fold.dataset;
            preds.push(
                fitted.predict(data, data.test.clone()).map_err(|e| with_curve(e.to_string()))?,
            );
        }

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
            .map(|i| Bar {
                timestamp_ms: candles.timestamp_ms[i],
                open: candles.open[i],
                close: candles.close[i],
            })
            .collect();
        // The model's epoch: the best one when early stopping restored it.
        let finals = fitted_folds.iter().filter_map(|f| f.final_epoch()).cloned().collect();
        Ok(LegRun { market, folds, finals, preds, bars, values, fold_starts })
    }
}

impl PipelineObjective {
    /// Saves a fold's model as `<trial_id><pair>[-fold<k>].safetensors` in the models folder.
    pub(crate) fn save_model(
        &self,
        fitted: &quantsweep_train::Fitted,
        trial: &TrialSpec,
        pair: &str,
        fold: Option<usize>,
    ) -> Result<(), String> {
        let name = match fold {
            Some(k) => format!("{}{pair}-fold{k}.safetensors", trial.id),
            None => format!("{}{pair}.safetensors", trial.id),
        };
        let path = self.shared.models_dir.join(name);
        std::fs::create_dir_all(&self.shared.models_dir)
            .map_err(|e| format!("creating {}: {e}", self.shared.models_dir.display()))?;
        fitted.save(&path).map_err(|e| format!("saving {}: {e}", path.display()))
    }
}

/// Ends the TensorBoard run of a trial that did not complete (pruned or failed), and gives
/// back its error.
pub(crate) fn finish_unfinished(tb: TensorBoardObserver, e: TrialError) -> TrialError {
    let status = match e {
        TrialError::Pruned { .. } => TrialStatus::Pruned,
        _ => TrialStatus::Failed,
    };
    let _ = tb.finish(status, std::iter::empty(), 0);
    e
}

/// The buy-and-hold baseline's `buy_hold_return`, `buy_hold_sharpe` and
/// `buy_hold_max_drawdown`.
pub(crate) fn insert_buy_hold_metrics(
    metrics: &mut BTreeMap<String, f64>,
    baseline: &[EquityPoint],
    periods: f64,
) {
    let hold = trading_metrics(baseline, periods);
    for (name, key) in [
        ("total_return", "buy_hold_return"),
        ("sharpe", "buy_hold_sharpe"),
        ("max_drawdown", "buy_hold_max_drawdown"),
    ] {
        if let Some(v) = hold.get(name) {
            metrics.insert(key.into(), *v);
        }
    }
}

/// A training failure as the trial's: pruned, diverged (naming the epoch), cancelled or
/// failed, with the epochs so far (`before`, then the fold's, tagged). `at` names the pair.
pub(crate) fn fit_error(
    e: TrainError,
    before: &[EpochMetrics],
    fold: Option<usize>,
    pair: Option<usize>,
    at: &str,
) -> TrialError {
    let so_far = |mut more: Vec<EpochMetrics>| {
        tag_epochs(&mut more, fold, pair);
        before.iter().cloned().chain(more).collect()
    };
    match e {
        TrainError::Stopped { stop: Stop::Pruned, epochs: e } => {
            TrialError::Pruned { epochs: so_far(e) }
        }
        TrainError::Diverged { epoch, epochs: e } => TrialError::Failed {
            reason: format!("loss became NaN at epoch {epoch}{at}"),
            epochs: so_far(e),
        },
        TrainError::Stopped { epochs: e, .. } => {
            TrialError::Failed { reason: "cancelled".into(), epochs: so_far(e) }
        }
        other => TrialError::failed(format!("{other}{at}")),
    }
}

/// What [`PipelineObjective::run_leg`] reads and adds to: the trial, and its epochs so far.
struct LegContext<'a> {
    config: &'a PipelineConfig,
    trial: &'a TrialSpec,
    /// The pair's place in `data.pair` when there are several.
    index: Option<usize>,
    obs: &'a mut dyn Observer,
    tb: &'a mut TensorBoardObserver,
    epochs: &'a mut Vec<EpochMetrics>,
    device: &'a mut String,
}

/// One market's part of a trial.
struct LegRun<'m> {
    market: &'m MarketCandles,
    folds: Vec<Fold>,
    /// Each fold's model's epoch (the best one when early stopping restored it).
    finals: Vec<EpochMetrics>,
    /// Each fold's test predictions.
    preds: Vec<Vec<f32>>,
    /// The bars traded: the test decision bars and the one after.
    bars: Vec<Bar>,
    /// The strategy's value for each decision bar (`values[i]` decides at `bars[i]`).
    values: Vec<f64>,
    /// Where each fold's decisions start in `bars`.
    fold_starts: Vec<usize>,
}

/// One leg's bars and strategy values, on the portfolio's common bars.
type Aligned = (Vec<Bar>, Vec<f64>);

/// The legs' bars and values on the timestamps every leg has (a portfolio trades them side
/// by side); a bar missing from one pair is left out of all.
fn align_legs(legs: &[LegRun]) -> Result<Vec<Aligned>, String> {
    let mut common: Vec<i64> = legs[0].bars.iter().map(|b| b.timestamp_ms).collect();
    for leg in &legs[1..] {
        let have: std::collections::BTreeSet<i64> =
            leg.bars.iter().map(|b| b.timestamp_ms).collect();
        common.retain(|t| have.contains(t));
    }
    if common.len() < 2 {
        let spans: Vec<String> = legs
            .iter()
            .map(|l| {
                let pair = l.market.pair.as_deref().unwrap_or_default();
                let (a, b) = (l.bars[0].timestamp_ms, l.bars[l.bars.len() - 1].timestamp_ms);
                format!(
                    "{pair} {} .. {}",
                    quantsweep_ingest::format_ms(a),
                    quantsweep_ingest::format_ms(b)
                )
            })
            .collect();
        return Err(format!(
            "data.pair: the pairs' test spans share {} bars, too few to trade them together ({})",
            common.len(),
            spans.join("; ")
        ));
    }
    Ok(legs
        .iter()
        .map(|leg| {
            let mut bars = Vec::with_capacity(common.len());
            let mut values = Vec::with_capacity(common.len());
            for (i, bar) in leg.bars.iter().enumerate() {
                if common.binary_search(&bar.timestamp_ms).is_ok() {
                    bars.push(*bar);
                    if let Some(v) = leg.values.get(i) {
                        values.push(*v);
                    }
                }
            }
            (bars, values)
        })
        .collect())
}

/// Tags each point of `curve` with the fold whose decisions made it (fold `k`'s decisions
/// start at `starts[k]`; the last fold takes the end) and returns each fold's stretch
/// `(start, end)`: from the bar before its first decision fills to its last, inclusive.
fn tag_folds(curve: &mut [EquityPoint], starts: &[i64], folds: &[Fold]) -> Vec<(usize, usize)> {
    let at: Vec<usize> =
        starts.iter().map(|t| curve.partition_point(|p| p.timestamp_ms < *t)).collect();
    let mut spans = Vec::with_capacity(folds.len());
    for (k, fold) in folds.iter().enumerate() {
        let start = at[k].min(curve.len() - 1);
        let end = at.get(k + 1).copied().unwrap_or(curve.len() - 1).max(start);
        let stop = if k + 1 < folds.len() { end } else { curve.len() };
        for p in &mut curve[start..stop] {
            p.fold = Some(fold.index as u32);
        }
        spans.push((start, end));
    }
    spans
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

/// Forwards epochs with a running epoch number across folds (and pairs), and the fold and
/// pair as extra scalars.
pub(crate) struct FoldObserver<'a> {
    pub(crate) inner: &'a mut dyn Observer,
    pub(crate) offset: usize,
    pub(crate) fold: Option<usize>,
    pub(crate) pair: Option<usize>,
}

impl Observer for FoldObserver<'_> {
    fn on_epoch(&mut self, epoch: usize, metrics: &EpochMetrics) -> ControlFlow<Stop> {
        let mut m = metrics.clone();
        tag_epochs(std::slice::from_mut(&mut m), self.fold, self.pair);
        self.inner.on_epoch(self.offset + epoch, &m)
    }
}

/// Marks epochs with their walk-forward fold, and with their pair's place in `data.pair`
/// when a portfolio trades several.
pub(crate) fn tag_epochs(epochs: &mut [EpochMetrics], fold: Option<usize>, pair: Option<usize>) {
    for m in epochs {
        if let Some(fold) = fold {
            m.extra.insert("fold".into(), fold as f64);
        }
        if let Some(pair) = pair {
            m.extra.insert("pair".into(), pair as f64);
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
