//! Pruners: stop unpromising trials early from their per-epoch reports.
//!
//! - `hyperband` (W&B's `early_terminate: {type: hyperband, min_iter, eta}`) runs as
//!   asynchronous successive halving (ASHA; Li et al., 2020): rungs at epochs `min_iter ·
//!   eta^k`; a trial reaching a rung continues only if its value is within the best `1/eta`
//!   of all values recorded at that rung so far.
//! - `median` (Optuna's `MedianPruner`, Google Vizier's rule): after `startup_trials` trials
//!   have finished and `min_iter` epochs, a trial stops when its value is worse than the median
//!   of the finished trials' values at the same epoch.
//!
//! Both read one per-epoch metric (`val_loss` by default) with its goal. Decisions depend on
//! which trials reported first, so with several workers they are not reproducible run to run
//! (as in every asynchronous pruner); the sweep's trials and seeds are.

use std::collections::{BTreeMap, HashMap};

use quantsweep_core::EpochMetrics;
use serde::{Deserialize, Serialize};

use crate::Goal;

/// The `sweep.early_terminate` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EarlyTerminate {
    /// Asynchronous successive halving.
    Hyperband {
        /// Epochs before the first rung. Default: 3.
        #[serde(default = "three")]
        min_iter: usize,
        /// Keep the best `1/eta` at each rung. Default: 3.
        #[serde(default = "three_f")]
        eta: f64,
        /// The per-epoch metric and its goal. Default: `val_loss`, minimised.
        #[serde(default)]
        metric: Option<EpochMetric>,
    },
    /// The median stopping rule.
    Median {
        /// Epochs before any pruning. Default: 3.
        #[serde(default = "three")]
        min_iter: usize,
        /// Finished trials needed before any pruning. Default: 5.
        #[serde(default = "five")]
        startup_trials: usize,
        /// The per-epoch metric and its goal. Default: `val_loss`, minimised.
        #[serde(default)]
        metric: Option<EpochMetric>,
    },
}

/// A per-epoch metric (`train_loss`, `val_loss`, `val_accuracy`, ...) and its goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochMetric {
    /// Its name in `epochs.parquet`.
    pub name: String,
    /// Default: `minimize`.
    #[serde(default = "minimize")]
    pub goal: Goal,
}

fn three() -> usize {
    3
}
fn three_f() -> f64 {
    3.0
}
fn five() -> usize {
    5
}
fn minimize() -> Goal {
    Goal::Minimize
}

impl EarlyTerminate {
    fn metric(&self) -> EpochMetric {
        let (EarlyTerminate::Hyperband { metric, .. } | EarlyTerminate::Median { metric, .. }) =
            self;
        metric.clone().unwrap_or(EpochMetric { name: "val_loss".into(), goal: Goal::Minimize })
    }

    /// Checks the values, naming the key at fault.
    pub fn validate(&self) -> Result<(), crate::SweepError> {
        match self {
            EarlyTerminate::Hyperband { min_iter, eta, .. } => {
                if *min_iter == 0 {
                    return Err(crate::SweepError::config(
                        "sweep.early_terminate.min_iter",
                        "must be at least 1",
                    ));
                }
                if !(eta.is_finite() && *eta > 1.0) {
                    return Err(crate::SweepError::config(
                        "sweep.early_terminate.eta",
                        "must be above 1",
                    ));
                }
            }
            EarlyTerminate::Median { .. } => {}
        }
        Ok(())
    }
}

/// A pruner's memory of the sweep: what every trial reported at every epoch.
#[derive(Debug)]
pub struct Pruner {
    rule: EarlyTerminate,
    metric: EpochMetric,
    /// Values recorded at each rung (hyperband), as "higher is better".
    rungs: BTreeMap<usize, Vec<f64>>,
    /// Finished trials' curves (median), as "higher is better".
    finished: Vec<Vec<f64>>,
    /// Curves of trials still running.
    running: HashMap<u64, Vec<f64>>,
}

impl Pruner {
    /// A pruner following `rule`.
    pub fn new(rule: EarlyTerminate) -> Self {
        let metric = rule.metric();
        Pruner {
            rule,
            metric,
            rungs: BTreeMap::new(),
            finished: Vec::new(),
            running: HashMap::new(),
        }
    }

    /// Trial `trial` reported `m` at `epoch` (0-based): true when it should stop. An epoch
    /// without the metric (or with a non-finite value) never prunes.
    pub fn report(&mut self, trial: u64, epoch: usize, m: &EpochMetrics) -> bool {
        let value = match self.metric.name.as_str() {
            "train_loss" => Some(m.train_loss),
            "val_loss" => m.val_loss,
            name => m.extra.get(name).copied(),
        };
        let Some(value) = value.filter(|v| v.is_finite()) else { return false };
        let score = if self.metric.goal == Goal::Minimize { -value } else { value };
        let curve = self.running.entry(trial).or_default();
        curve.push(score);
        let done = epoch + 1;
        match &self.rule {
            EarlyTerminate::Hyperband { min_iter, eta, .. } => {
                // Rungs at min_iter · eta^k epochs.
                let mut rung = *min_iter as f64;
                while (rung.round() as usize) < done {
                    rung *= eta;
                }
                if rung.round() as usize != done {
                    return false;
                }
                let recorded = self.rungs.entry(done).or_default();
                recorded.push(score);
                let keep = ((recorded.len() as f64) / eta).floor() as usize;
                if recorded.len() < *eta as usize || keep == 0 {
                    return false;
                }
                let mut sorted = recorded.clone();
                sorted.sort_by(|a, b| b.total_cmp(a));
                score < sorted[keep - 1]
            }
            EarlyTerminate::Median { min_iter, startup_trials, .. } => {
                if done < *min_iter || self.finished.len() < *startup_trials {
                    return false;
                }
                let mut at: Vec<f64> =
                    self.finished.iter().filter_map(|c| c.get(epoch).copied()).collect();
                if at.is_empty() {
                    return false;
                }
                at.sort_by(f64::total_cmp);
                let mid = at.len() / 2;
                let median =
                    if at.len() % 2 == 1 { at[mid] } else { (at[mid - 1] + at[mid]) / 2.0 };
                score < median
            }
        }
    }

    /// Trial `trial` ended; a complete one's curve joins the median rule's references.
    pub fn finish(&mut self, trial: u64, complete: bool) {
        if let Some(curve) = self.running.remove(&trial)
            && complete
        {
            self.finished.push(curve);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loss(v: f64) -> EpochMetrics {
        EpochMetrics { train_loss: v, val_loss: Some(v), extra: Default::default() }
    }

    /// ASHA with eta 2, first rung at 2 epochs: of trials reaching the rung, those outside the
    /// best half stop; the first to arrive always continue.
    #[test]
    fn hyperband_keeps_the_best_fraction_at_each_rung() {
        let mut p = Pruner::new(EarlyTerminate::Hyperband { min_iter: 2, eta: 2.0, metric: None });
        // Trial 0: loss 1.0 at the rung; trial 1: 0.5 (better); trial 2: 2.0 (worst); trial 3: 0.7.
        let mut stopped = Vec::new();
        for (trial, l) in [(0, 1.0), (1, 0.5), (2, 2.0), (3, 0.7)] {
            assert!(!p.report(trial, 0, &loss(9.0)), "no rung at 1 epoch");
            stopped.push(p.report(trial, 1, &loss(l)));
        }
        // Rung values so far: [1.0] -> keep; [1.0, 0.5] -> 1.0 is worse than the best half but
        // trial 1 is the one asking: kept; [.., 2.0] -> worst of 3, keep 1: stopped; 0.7 of
        // [1.0, 0.5, 2.0, 0.7]: keep 2 (0.5, 0.7): kept.
        assert_eq!(stopped, vec![false, false, true, false]);
        // The next rung is at 4 epochs.
        assert!(!p.report(1, 2, &loss(0.4)));
    }

    #[test]
    fn median_rule_needs_its_startup_trials() {
        let mut p =
            Pruner::new(EarlyTerminate::Median { min_iter: 1, startup_trials: 2, metric: None });
        for (trial, l) in [(0, 1.0), (1, 3.0)] {
            assert!(!p.report(trial, 0, &loss(l)));
            p.finish(trial, true);
        }
        // Median at epoch 0 of the finished: 2.0.
        assert!(p.report(2, 0, &loss(2.5)));
        assert!(!p.report(3, 0, &loss(1.5)));
        let maximise = EpochMetric { name: "val_accuracy".into(), goal: Goal::Maximize };
        let mut p = Pruner::new(EarlyTerminate::Median {
            min_iter: 1,
            startup_trials: 1,
            metric: Some(maximise),
        });
        let acc = |a: f64| EpochMetrics { extra: [("val_accuracy".into(), a)].into(), ..loss(0.0) };
        assert!(!p.report(0, 0, &acc(0.6)));
        p.finish(0, true);
        assert!(p.report(1, 0, &acc(0.5)));
        assert!(!p.report(2, 0, &acc(0.7)));
    }
}
