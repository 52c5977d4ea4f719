use std::collections::BTreeMap;

use quantsweep_core::{ParamValue, Params, TrialId, TrialSpec};
use serde::{Deserialize, Serialize};

use crate::SweepError;

/// How configurations are chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Every combination of every parameter's `values`, in a fixed order.
    #[default]
    Grid,
}

/// Whether the sweep's metric is to be minimised or maximised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Smaller is better (losses).
    Minimize,
    /// Larger is better (Sharpe ratio, returns).
    #[default]
    Maximize,
}

/// The metric a sweep ranks trials by (W&B's `metric: {name, goal}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    /// A metric name (`sharpe`, `val_loss`, ...). Default: `sharpe`.
    #[serde(default = "default_metric")]
    pub name: String,
    /// Default: `maximize`.
    #[serde(default)]
    pub goal: Goal,
}

fn default_metric() -> String {
    "sharpe".into()
}

impl Default for MetricConfig {
    fn default() -> Self {
        Self { name: default_metric(), goal: Goal::default() }
    }
}

/// One swept parameter (W&B's parameter spec): a list of `values` or a single fixed `value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterConfig {
    /// The candidate values.
    #[serde(default)]
    pub values: Option<Vec<ParamValue>>,
    /// One fixed value (equivalent to `values: [value]`).
    #[serde(default)]
    pub value: Option<ParamValue>,
}

/// The pipeline's `sweep:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// Default: `grid`.
    #[serde(default)]
    pub method: Method,
    /// Default: maximise `sharpe`.
    #[serde(default)]
    pub metric: MetricConfig,
    /// Swept parameters keyed by dotted pipeline path (`train.lr`). Default: none (one trial).
    #[serde(default)]
    pub parameters: BTreeMap<String, ParameterConfig>,
    /// Base seed: repeat `r` of every configuration uses `seed + r`. Default: 0.
    #[serde(default)]
    pub seed: u64,
    /// Repeats of every configuration with different seeds. Default: 1.
    #[serde(default = "default_seeds")]
    pub seeds: u64,
    /// Upper bound on the number of trials; a larger grid is refused. Default: 10000.
    #[serde(default = "default_max_trials")]
    pub max_trials: u64,
}

fn default_seeds() -> u64 {
    1
}
fn default_max_trials() -> u64 {
    10_000
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            method: Method::Grid,
            metric: MetricConfig::default(),
            parameters: BTreeMap::new(),
            seed: 0,
            seeds: default_seeds(),
            max_trials: default_max_trials(),
        }
    }
}

impl SweepConfig {
    /// Each parameter's candidate values, checked.
    pub fn grid_values(&self) -> Result<Vec<(String, Vec<ParamValue>)>, SweepError> {
        self.parameters
            .iter()
            .map(|(key, p)| {
                let values = match (&p.values, &p.value) {
                    (Some(v), None) => v.clone(),
                    (None, Some(v)) => vec![v.clone()],
                    (Some(_), Some(_)) => {
                        return Err(SweepError::config(
                            &format!("sweep.parameters.{key}"),
                            "give either `values` or `value`, not both",
                        ));
                    }
                    (None, None) => {
                        return Err(SweepError::config(
                            &format!("sweep.parameters.{key}"),
                            "needs `values: [...]` or `value: ...`",
                        ));
                    }
                };
                if values.is_empty() {
                    return Err(SweepError::config(
                        &format!("sweep.parameters.{key}.values"),
                        "is empty",
                    ));
                }
                Ok((key.clone(), values))
            })
            .collect()
    }

    /// Number of trials the sweep will run.
    pub fn trial_count(&self) -> Result<u64, SweepError> {
        let mut n: u64 = self.seeds;
        for (_, v) in self.grid_values()? {
            n = n.saturating_mul(v.len() as u64);
        }
        Ok(n)
    }

    /// Every trial of the sweep, in order: the grid's last parameter (in key order) varies
    /// fastest, and each configuration's seed repeats follow one another.
    pub fn trials(&self) -> Result<Vec<TrialSpec>, SweepError> {
        if self.seeds == 0 {
            return Err(SweepError::config("sweep.seeds", "must be at least 1"));
        }
        let n = self.trial_count()?;
        if n > self.max_trials {
            return Err(SweepError::config(
                "sweep.max_trials",
                &format!("the grid has {n} trials, more than max_trials = {}", self.max_trials),
            ));
        }
        let grid = self.grid_values()?;
        let mut configs: Vec<Params> = vec![Params::new()];
        for (key, values) in &grid {
            configs = configs
                .into_iter()
                .flat_map(|p| {
                    values.iter().map(move |v| {
                        let mut p = p.clone();
                        p.insert(key.clone(), v.clone());
                        p
                    })
                })
                .collect();
        }
        let mut trials = Vec::with_capacity(n as usize);
        for params in configs {
            for r in 0..self.seeds {
                let id = TrialId(trials.len() as u64);
                trials.push(TrialSpec { id, params: params.clone(), seed: self.seed + r });
            }
        }
        Ok(trials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[ParamValue]) -> ParameterConfig {
        ParameterConfig { values: Some(v.to_vec()), value: None }
    }

    #[test]
    fn grid_is_the_ordered_cartesian_product_times_seeds() {
        let mut cfg = SweepConfig { seeds: 2, seed: 10, ..SweepConfig::default() };
        cfg.parameters
            .insert("train.lr".into(), values(&[ParamValue::Float(0.1), ParamValue::Float(0.01)]));
        cfg.parameters
            .insert("model.hidden".into(), values(&[ParamValue::Int(8), ParamValue::Int(16)]));
        let t = cfg.trials().expect("valid grid");
        assert_eq!(t.len(), 8);
        assert_eq!(cfg.trial_count().expect("count"), 8);
        // model.hidden sorts first, so train.lr varies faster; seeds fastest of all.
        assert_eq!(t[0].params["model.hidden"], ParamValue::Int(8));
        assert_eq!(t[0].params["train.lr"], ParamValue::Float(0.1));
        assert_eq!((t[0].seed, t[1].seed), (10, 11));
        assert_eq!(t[2].params["train.lr"], ParamValue::Float(0.01));
        assert_eq!(t[4].params["model.hidden"], ParamValue::Int(16));
        assert!(t.iter().enumerate().all(|(i, s)| s.id == TrialId(i as u64)));
    }

    #[test]
    fn oversized_and_empty_grids_are_refused_with_the_key() {
        let mut cfg = SweepConfig { max_trials: 3, ..SweepConfig::default() };
        cfg.parameters.insert("a".into(), values(&[ParamValue::Int(1), ParamValue::Int(2)]));
        cfg.parameters.insert("b".into(), values(&[ParamValue::Int(1), ParamValue::Int(2)]));
        let err = cfg.trials().expect_err("too many");
        assert!(err.to_string().contains("4 trials"), "{err}");
        cfg.parameters.insert("c".into(), values(&[]));
        let err = cfg.trials().expect_err("empty");
        assert!(err.to_string().starts_with("sweep.parameters.c.values"), "{err}");
    }

    #[test]
    fn no_parameters_is_one_trial() {
        let t = SweepConfig::default().trials().expect("one trial");
        assert_eq!(t.len(), 1);
        assert!(t[0].params.is_empty());
    }
}
