//! A trial on a universe (`data.universe`): one model per fold trained on every asset's
//! windows pooled, its test predictions ranked across the assets at each bar and traded by
//! `long_short_rank` as one portfolio.

use std::collections::{BTreeMap, HashMap};

use anyhow::Result;
use quantsweep_core::{
    EpochMetrics, FoldSummary, Observer, Prediction, TeeObserver, TrialError, TrialResult,
    TrialSpec, TrialStatus,
};
use quantsweep_evaluate::{
    RankRule, RankedUniverse, StrategyConfig, backtest_ranked, classification_metrics,
    regression_metrics, trade_metrics, trading_metrics,
};
use quantsweep_features::{Asset, Fold, SplitKind, universe_folds};
use quantsweep_tblog::TensorBoardObserver;
use quantsweep_train::fit;

use crate::config::PipelineConfig;
use crate::objective::{
    FoldObserver, MarketCandles, Pairs, PipelineObjective, build_table, finish_unfinished,
    fit_error, insert_buy_hold_metrics, periods_per_year, tag_epochs,
};

/// The folds of a universe trial: every asset's features, then the pooled datasets.
pub fn build_universe_folds(
    config: &PipelineConfig,
    markets: &[MarketCandles],
    pairs: &Pairs,
) -> Result<Vec<Fold>> {
    let mut tables = Vec::with_capacity(markets.len());
    for m in markets {
        let name = m.pair.as_deref().unwrap_or_default();
        tables.push(
            build_table(config, &m.candles, pairs).map_err(|e| anyhow::anyhow!("{name}: {e:#}"))?,
        );
    }
    let assets: Vec<Asset> = markets
        .iter()
        .zip(&tables)
        .map(|(m, table)| Asset {
            name: m.pair.as_deref().unwrap_or_default(),
            candles: &m.candles,
            table,
        })
        .collect();
    Ok(universe_folds(&assets, &config.window, &config.target, &config.split)?)
}

impl PipelineObjective {
    /// See the module documentation. Ends the trial's TensorBoard run with its status.
    pub(crate) fn run_universe(
        &self,
        trial: &TrialSpec,
        config: &PipelineConfig,
        obs: &mut dyn Observer,
        mut tb: TensorBoardObserver,
    ) -> Result<TrialResult, TrialError> {
        match self.universe_trial(trial, config, obs, &mut tb) {
            Ok(result) => {
                let epochs = result.epochs.len() as i64;
                tb.finish(TrialStatus::Complete, &result.metrics, epochs).map_err(|e| {
                    TrialError::Failed { reason: e.to_string(), epochs: result.epochs.clone() }
                })?;
                Ok(result)
            }
            Err(e) => Err(finish_unfinished(tb, e)),
        }
    }

    fn universe_trial(
        &self,
        trial: &TrialSpec,
        config: &PipelineConfig,
        obs: &mut dyn Observer,
        tb: &mut TensorBoardObserver,
    ) -> Result<TrialResult, TrialError> {
        let failed = |e: anyhow::Error| TrialError::failed(format!("{e:#}"));
        let markets = &self.shared.markets;
        let folds = build_universe_folds(config, markets, &self.shared.pairs).map_err(failed)?;
        let walk_forward = config.split.kind == SplitKind::WalkForward;
        let mut epochs: Vec<EpochMetrics> = Vec::new();
        let mut device = String::new();
        let mut finals = Vec::with_capacity(folds.len());
        let mut preds = Vec::with_capacity(folds.len());
        for fold in &folds {
            let tag = walk_forward.then_some(fold.index);
            let fitted = {
                let mut tee = TeeObserver::new(&mut *obs, &mut *tb);
                let mut tagged =
                    FoldObserver { inner: &mut tee, offset: epochs.len(), fold: tag, pair: None };
                let data = &fold.dataset;
                fit(&config.model, &config.train, data, trial.seed, self.device, &mut tagged)
            }
            .map_err(|e| fit_error(e, &epochs, tag, None, ""))?;
            let mut fold_epochs = fitted.epochs.clone();
            tag_epochs(&mut fold_epochs, tag, None);
            epochs.extend(fold_epochs);
            device = fitted.device_name();
            let with_curve = |reason: String| TrialError::Failed { reason, epochs: epochs.clone() };
            if config.train.save_model {
                self.save_model(&fitted, trial, "", tag).map_err(with_curve)?;
            }
            let d = &fold.dataset;
            preds.push(fitted.predict(d, d.test.clone()).map_err(|e| with_curve(e.to_string()))?);
            finals.extend(fitted.final_epoch().cloned());
        }
        let with_curve = |reason: String| TrialError::Failed { reason, epochs: epochs.clone() };

        // The calendar the portfolio trades: every asset's bars from the first test decision
        // to the last, and the bar after it (the last decision fills there).
        let time = |a: usize, row: usize| markets[a].candles.timestamp_ms[row];
        let n_targets = folds[0].dataset.n_targets;
        let decisions: Vec<(usize, i64)> = folds
            .iter()
            .flat_map(|f| {
                let d = &f.dataset;
                d.test.clone().map(move |s| (d.asset[s] as usize, d.decision_row[s]))
            })
            .map(|(a, r)| (a, time(a, r)))
            .collect();
        let first = decisions
            .iter()
            .map(|d| d.1)
            .min()
            .ok_or_else(|| with_curve("no test samples".into()))?;
        let last = decisions.iter().map(|d| d.1).max().unwrap_or(first);
        let mut times: Vec<i64> = markets
            .iter()
            .flat_map(|m| m.candles.timestamp_ms.iter().copied())
            .filter(|t| *t >= first)
            .collect();
        times.sort_unstable();
        times.dedup();
        let after = times.partition_point(|t| *t <= last);
        times.truncate((after + 1).min(times.len()));
        let at: HashMap<i64, usize> = times.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        let a_len = markets.len();
        let mut open = vec![f64::NAN; times.len() * a_len];
        let mut close = open.clone();
        for (a, m) in markets.iter().enumerate() {
            let c = &m.candles;
            for (r, t) in c.timestamp_ms.iter().enumerate() {
                if let Some(&i) = at.get(t) {
                    open[i * a_len + a] = c.open[r];
                    close[i * a_len + a] = c.close[r];
                }
            }
        }
        let mut prediction = vec![f64::NAN; times.len() * a_len];
        let mut rows = Vec::new();
        for (fold, pred) in folds.iter().zip(&preds) {
            let d = &fold.dataset;
            let actual = d.y_slice(d.test.clone());
            for (k, s) in d.test.clone().enumerate() {
                let a = d.asset[s] as usize;
                let t = time(a, d.decision_row[s]);
                // The strategy ranks the first output (the probability of "up" for a class
                // head, the predicted value otherwise).
                prediction[at[&t] * a_len + a] = f64::from(pred[k * n_targets]);
                for j in 0..n_targets {
                    rows.push(Prediction {
                        timestamp_ms: t,
                        output: j as u32,
                        prediction: f64::from(pred[k * n_targets + j]),
                        actual: f64::from(actual[k * n_targets + j]),
                        fold: walk_forward.then_some(fold.index as u32),
                        pair: markets[a].pair.clone(),
                    });
                }
            }
        }
        let names: Vec<String> =
            markets.iter().map(|m| m.pair.clone().unwrap_or_default()).collect();
        let universe = RankedUniverse {
            names: &names,
            times: &times,
            open: &open,
            close: &close,
            prediction: &prediction,
        };
        let StrategyConfig::LongShortRank { long, short, rebalance_bars, .. } = config.strategy
        else {
            return Err(with_curve(
                "strategy.kind: a universe trades by rank: use long_short_rank".into(),
            ));
        };
        let failed_backtest = |e: quantsweep_evaluate::EvaluateError| with_curve(e.to_string());
        let rule = RankRule { long, short, rebalance_bars };
        let run = backtest_ranked(&universe, &rule, &config.backtest).map_err(failed_backtest)?;
        // The baseline: the universe bought in equal parts at the first decision and held.
        let ones: Vec<f64> =
            close.iter().map(|c| if c.is_finite() { 1.0 } else { f64::NAN }).collect();
        let hold_rule = RankRule { long: a_len, short: 0, rebalance_bars: times.len() + 1 };
        let hold = RankedUniverse { prediction: &ones, ..universe };
        let baseline =
            backtest_ranked(&hold, &hold_rule, &config.backtest).map_err(failed_backtest)?;

        let periods = periods_per_year(config, &markets[0]);
        let mut metrics = trading_metrics(&run.equity, periods);
        metrics.extend(trade_metrics(&run.trades));
        metrics.insert("turnover".into(), run.turnover);
        insert_buy_hold_metrics(&mut metrics, &baseline.equity, periods);
        let prediction_metrics = |pred: &[f32], actual: &[f32]| {
            if config.target.is_binary() {
                classification_metrics(pred, actual)
            } else {
                regression_metrics(pred, actual, n_targets, 0.0)
            }
        };
        let (all_pred, all_actual): (Vec<f32>, Vec<f32>) = folds
            .iter()
            .zip(&preds)
            .flat_map(|(f, p)| {
                p.iter().copied().zip(f.dataset.y_slice(f.dataset.test.clone()).iter().copied())
            })
            .unzip();
        metrics.extend(prediction_metrics(&all_pred, &all_actual));
        insert_epoch_metrics(&mut metrics, &finals);

        // Per fold: its test span of the curve and its predictions.
        let mut curve = run.equity;
        let mut summaries = Vec::new();
        if walk_forward {
            for (k, (fold, pred)) in folds.iter().zip(&preds).enumerate() {
                let d = &fold.dataset;
                let span = |r: std::ops::Range<usize>| {
                    let t: Vec<i64> =
                        r.map(|s| time(d.asset[s] as usize, d.decision_row[s])).collect();
                    (t.iter().copied().min().unwrap_or(0), t.iter().copied().max().unwrap_or(0))
                };
                let (train_start, train_end) = span(0..d.val.end.max(d.train.end));
                let (test_start, test_end) = span(d.test.clone());
                let next_start = folds.get(k + 1).map(|f| {
                    let d = &f.dataset;
                    d.test
                        .clone()
                        .map(|s| time(d.asset[s] as usize, d.decision_row[s]))
                        .min()
                        .unwrap_or(i64::MAX)
                });
                let lo = curve.partition_point(|p| p.timestamp_ms < test_start);
                let hi = match next_start {
                    Some(t) => curve.partition_point(|p| p.timestamp_ms < t),
                    None => curve.len(),
                };
                for p in &mut curve[lo..hi] {
                    p.fold = Some(fold.index as u32);
                }
                let end = curve.partition_point(|p| p.timestamp_ms <= test_end).max(lo + 1);
                let mut m =
                    trading_metrics(&curve[lo.saturating_sub(1)..end.min(curve.len())], periods);
                m.extend(prediction_metrics(pred, d.y_slice(d.test.clone())));
                summaries.push(FoldSummary {
                    fold: fold.index as u32,
                    train_start_ms: train_start,
                    train_end_ms: train_end,
                    test_start_ms: test_start,
                    test_end_ms: test_end,
                    metrics: m,
                });
            }
            metrics.insert("folds".into(), folds.len() as f64);
        }
        let leaky = folds.iter().any(|f| f.dataset.leaky());
        Ok(TrialResult {
            metrics,
            epochs,
            equity: curve,
            trades: run.trades,
            folds: summaries,
            predictions: rows,
            device,
            leaky,
        })
    }
}

/// `val_loss`, `train_loss` and the `val_*` metrics of the models' epochs (the best ones
/// when early stopping restored them), averaged over the folds.
pub(crate) fn insert_epoch_metrics(metrics: &mut BTreeMap<String, f64>, finals: &[EpochMetrics]) {
    let mean = |get: &dyn Fn(&EpochMetrics) -> Option<f64>| {
        let v: Vec<f64> = finals.iter().filter_map(get).collect();
        (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
    };
    if let Some(v) = mean(&|m| m.val_loss) {
        metrics.insert("val_loss".into(), v);
    }
    if let Some(v) = mean(&|m| Some(m.train_loss)) {
        metrics.insert("train_loss".into(), v);
    }
    let extras: std::collections::BTreeSet<&String> =
        finals.iter().flat_map(|m| m.extra.keys()).filter(|k| k.starts_with("val_")).collect();
    for key in extras {
        if let Some(v) = mean(&|m| m.extra.get(key).copied()) {
            metrics.insert(key.clone(), v);
        }
    }
}
