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
    /// `max_trials` independent uniform draws from the space (seeded by `sweep.seed`).
    Random,
    /// `max_trials` scrambled Sobol' points: quasi-random, covering the space more evenly
    /// than independent draws.
    Sobol,
    /// The tree-structured Parzen estimator: each configuration chosen from the results so
    /// far (after 10 random ones), up to `max_trials`.
    Tpe,
    /// Gaussian-process Bayesian optimisation (Matérn-5/2 with a length scale per parameter,
    /// log expected improvement, running trials as kriging believers): each configuration
    /// chosen from the results so far (after 10 random ones), up to `max_trials`.
    Bayes,
}

/// How a `min`/`max` parameter is drawn (W&B's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Distribution {
    /// Uniform between `min` and `max` (the default for float bounds).
    Uniform,
    /// Integers `min ..= max`, equally likely (the default for integer bounds).
    IntUniform,
    /// Log-uniform between `min` and `max` (both positive): learning rates.
    LogUniformValues,
    /// Uniform, rounded to a multiple of `q`.
    QUniform,
    /// One of `values`, equally likely (the default for `values`).
    Categorical,
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

/// One swept parameter (W&B's parameter spec): a list of `values`, a single fixed `value`, or
/// `min`/`max` bounds with a `distribution` (not with `grid`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterConfig {
    /// The candidate values.
    #[serde(default)]
    pub values: Option<Vec<ParamValue>>,
    /// One fixed value (equivalent to `values: [value]`).
    #[serde(default)]
    pub value: Option<ParamValue>,
    /// Lower bound.
    #[serde(default)]
    pub min: Option<ParamValue>,
    /// Upper bound.
    #[serde(default)]
    pub max: Option<ParamValue>,
    /// How to draw between the bounds. Default: `int_uniform` for integer bounds, else
    /// `uniform`; `categorical` for `values`.
    #[serde(default)]
    pub distribution: Option<Distribution>,
    /// `q_uniform`'s step.
    #[serde(default)]
    pub q: Option<f64>,
}

/// One dimension of a search space, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Dimension {
    /// One of these values.
    Categorical(Vec<ParamValue>),
    /// A float in `[lo, hi]`.
    Uniform(f64, f64),
    /// An integer in `lo ..= hi`.
    IntUniform(i64, i64),
    /// A float in `[lo, hi]`, uniform in its logarithm.
    LogUniform(f64, f64),
    /// A multiple of `q` in `[lo, hi]`.
    QUniform(f64, f64, f64),
}

impl Dimension {
    /// The value at `u` in [0, 1).
    pub fn decode(&self, u: f64) -> ParamValue {
        let u = u.clamp(0.0, 1.0 - f64::EPSILON);
        match self {
            Dimension::Categorical(v) => {
                v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone()
            }
            Dimension::Uniform(lo, hi) => ParamValue::Float(lo + u * (hi - lo)),
            Dimension::IntUniform(lo, hi) => {
                let n = (hi - lo + 1) as f64;
                ParamValue::Int(lo + ((u * n) as i64).min(hi - lo))
            }
            Dimension::LogUniform(lo, hi) => {
                ParamValue::Float((lo.ln() + u * (hi.ln() - lo.ln())).exp().clamp(*lo, *hi))
            }
            Dimension::QUniform(lo, hi, q) => {
                let x = ((lo + u * (hi - lo)) / q).round() * q;
                ParamValue::Float(x.clamp(*lo, *hi))
            }
        }
    }

    /// How many distinct values it has (None: continuous).
    fn cardinality(&self) -> Option<u64> {
        match self {
            Dimension::Categorical(v) => Some(v.len() as u64),
            Dimension::IntUniform(lo, hi) => Some((hi - lo + 1) as u64),
            Dimension::QUniform(lo, hi, q) => Some(((hi - lo) / q).floor() as u64 + 1),
            Dimension::Uniform(..) | Dimension::LogUniform(..) => None,
        }
    }
}

impl ParameterConfig {
    /// The dimension this parameter spans; `key` names it in errors.
    pub fn dimension(&self, key: &str) -> Result<Dimension, SweepError> {
        let at = |field: &str| format!("sweep.parameters.{key}{field}");
        let err = |field: &str, m: &str| Err(SweepError::config(&at(field), m));
        match (&self.values, &self.value, &self.min, &self.max) {
            (Some(v), None, None, None) => {
                if v.is_empty() {
                    return err(".values", "is empty");
                }
                if self.distribution.is_some_and(|d| d != Distribution::Categorical) {
                    return err(".distribution", "`values` are drawn as `categorical`");
                }
                Ok(Dimension::Categorical(v.clone()))
            }
            (None, Some(v), None, None) => Ok(Dimension::Categorical(vec![v.clone()])),
            (None, None, Some(lo), Some(hi)) => {
                let (Some(a), Some(b)) = (lo.as_f64(), hi.as_f64()) else {
                    return err("", "`min` and `max` must be numbers");
                };
                if !(a.is_finite() && b.is_finite() && a < b) {
                    return err(".max", &format!("must be above min ({a}), got {b}"));
                }
                let ints = matches!((lo, hi), (ParamValue::Int(_), ParamValue::Int(_)));
                let dist = self.distribution.unwrap_or(if ints {
                    Distribution::IntUniform
                } else {
                    Distribution::Uniform
                });
                Ok(match dist {
                    Distribution::Uniform => Dimension::Uniform(a, b),
                    Distribution::IntUniform => {
                        if !ints {
                            return err("", "int_uniform needs integer `min` and `max`");
                        }
                        Dimension::IntUniform(a as i64, b as i64)
                    }
                    Distribution::LogUniformValues => {
                        if a <= 0.0 {
                            return err(".min", "log_uniform_values needs a positive `min`");
                        }
                        Dimension::LogUniform(a, b)
                    }
                    Distribution::QUniform => match self.q {
                        Some(q) if q > 0.0 && q.is_finite() => Dimension::QUniform(a, b, q),
                        _ => return err(".q", "q_uniform needs a positive `q`"),
                    },
                    Distribution::Categorical => {
                        return err(".distribution", "`categorical` takes `values`, not bounds");
                    }
                })
            }
            (None, None, None, None) => {
                err("", "needs `values: [...]`, `value: ...` or `min`/`max`")
            }
            (_, _, Some(_), None) => err(".max", "`min` needs a `max`"),
            (_, _, None, Some(_)) => err(".min", "`max` needs a `min`"),
            _ => err("", "give one of `values`, `value` or `min`/`max`"),
        }
    }
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
    /// Trials to run (`random`, `sobol`: required) or the most a grid may have (default
    /// 10000: a larger grid is refused).
    #[serde(default)]
    pub max_trials: Option<u64>,
    /// Stop unpromising trials early (W&B's `early_terminate`). Default: never.
    #[serde(default)]
    pub early_terminate: Option<crate::EarlyTerminate>,
    /// Runs a failed trial again, with the same seed, up to this many times (Ray Tune's
    /// `max_failures`): for failures that may pass (out of memory beside other trials, a
    /// flaky file system). Every attempt's reason is recorded. Default: 0.
    #[serde(default)]
    pub retries: u32,
}

fn default_seeds() -> u64 {
    1
}
/// The largest grid run without an explicit `max_trials`.
pub const DEFAULT_MAX_TRIALS: u64 = 10_000;

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            method: Method::Grid,
            metric: MetricConfig::default(),
            parameters: BTreeMap::new(),
            seed: 0,
            seeds: default_seeds(),
            max_trials: None,
            early_terminate: None,
            retries: 0,
        }
    }
}

impl SweepConfig {
    /// Each parameter's candidate values, checked (grid sweeps: `values` or `value` only).
    pub fn grid_values(&self) -> Result<Vec<(String, Vec<ParamValue>)>, SweepError> {
        self.parameters
            .iter()
            .map(|(key, p)| match p.dimension(key)? {
                Dimension::Categorical(v) => Ok((key.clone(), v)),
                _ => Err(SweepError::config(
                    &format!("sweep.parameters.{key}"),
                    "a grid takes `values` lists; bounds need method random, sobol (or bayes)",
                )),
            })
            .collect()
    }

    /// The search space: every parameter's dimension, in key order.
    pub fn space(&self) -> Result<Vec<(String, Dimension)>, SweepError> {
        self.parameters.iter().map(|(k, p)| Ok((k.clone(), p.dimension(k)?))).collect()
    }

    /// Number of trials the sweep will run.
    pub fn trial_count(&self) -> Result<u64, SweepError> {
        let configs = match self.method {
            Method::Grid => {
                let all = self.grid_size()?;
                // W&B's `run_cap`: a smaller budget runs the first trials in the grid's order.
                return Ok(self.max_trials.map_or(all, |max| all.min(max)));
            }
            Method::Random | Method::Sobol | Method::Tpe | Method::Bayes => self.sampled_count()?,
        };
        Ok(configs.saturating_mul(self.seeds))
    }

    /// A grid's trials: every combination of the parameters' values, times the seeds.
    pub fn grid_size(&self) -> Result<u64, SweepError> {
        let mut n: u64 = 1;
        for (_, v) in self.grid_values()? {
            n = n.saturating_mul(v.len() as u64);
        }
        Ok(n.saturating_mul(self.seeds))
    }

    /// The note a grid larger than `max_trials` deserves: which of its trials run.
    pub fn budget_note(&self) -> Option<String> {
        let (Method::Grid, Some(max)) = (self.method, self.max_trials) else { return None };
        let all = self.grid_size().ok()?;
        (all > max).then(|| {
            format!(
                "note: sweep.max_trials = {max} runs the first {max} of the grid's {all} trials, \
                 in the grid's order"
            )
        })
    }

    /// Configurations a sampling method draws: `max_trials / seeds`, at most the number of
    /// distinct configurations a discrete space has.
    fn sampled_count(&self) -> Result<u64, SweepError> {
        let Some(max) = self.max_trials else {
            return Err(SweepError::config(
                "sweep.max_trials",
                &format!(
                    "a {} sweep needs a trial count (max_trials: N)",
                    format!("{:?}", self.method).to_lowercase()
                ),
            ));
        };
        let distinct = self
            .space()?
            .iter()
            .try_fold(1u64, |n, (_, d)| d.cardinality().map(|c| n.saturating_mul(c)));
        let wanted = (max / self.seeds.max(1)).max(1);
        Ok(distinct.map_or(wanted, |d| wanted.min(d)))
    }

    /// Every trial of the sweep, in order, each configuration's seed repeats following one
    /// another. `grid`: the last parameter (in key order) varies fastest. `random` and
    /// `sobol`: seeded draws, a configuration drawn twice drawn again (identical
    /// configurations never run twice).
    pub fn trials(&self) -> Result<Vec<TrialSpec>, SweepError> {
        if self.seeds == 0 {
            return Err(SweepError::config("sweep.seeds", "must be at least 1"));
        }
        if let Some(e) = &self.early_terminate {
            e.validate()?;
        }
        if self.max_trials == Some(0) {
            return Err(SweepError::config("sweep.max_trials", "must be at least 1"));
        }
        let n = self.trial_count()?;
        if self.method == Method::Grid && self.max_trials.is_none() && n > DEFAULT_MAX_TRIALS {
            return Err(SweepError::config(
                "sweep.max_trials",
                &format!(
                    "the grid has {n} trials, more than {DEFAULT_MAX_TRIALS}: give max_trials \
                     to run its first ones, or fewer values"
                ),
            ));
        }
        if self.method == Method::Grid {
            let all = self.grid_size()?;
            if all > DEFAULT_MAX_TRIALS * 100 {
                return Err(SweepError::config(
                    "sweep.parameters",
                    &format!("the grid has {all} trials: too many to list"),
                ));
            }
        }
        let configs: Vec<Params> = match self.method {
            Method::Grid => crate::sampler::grid(&self.grid_values()?),
            Method::Random | Method::Sobol => self.sampled()?,
            // Chosen as results arrive: see `study`.
            Method::Tpe | Method::Bayes => Vec::new(),
        };
        let mut trials = Vec::with_capacity(n as usize);
        for params in configs {
            for r in 0..self.seeds {
                let id = TrialId(trials.len() as u64);
                trials.push(TrialSpec { id, params: params.clone(), seed: self.seed + r });
            }
        }
        trials.truncate(n as usize);
        Ok(trials)
    }

    /// Whether configurations are chosen from results as they arrive (no list up front).
    pub fn is_adaptive(&self) -> bool {
        matches!(self.method, Method::Tpe | Method::Bayes)
    }

    /// Trials at the space's lower corner, centre and upper corner: what a pipeline checks its
    /// parameter keys and values with when the trials are not known up front.
    pub fn probes(&self) -> Result<Vec<TrialSpec>, SweepError> {
        let space = self.space()?;
        Ok([0.0, 0.5, 1.0 - f64::EPSILON]
            .iter()
            .enumerate()
            .map(|(i, &u)| TrialSpec {
                id: TrialId(i as u64),
                params: space.iter().map(|(k, d)| (k.clone(), d.decode(u))).collect(),
                seed: self.seed,
            })
            .collect())
    }

    /// The study that hands out this sweep's trials, resumed from `previous` (finished trials
    /// of the same sweep): an adaptive sampler rebuilt from them, or the list of those not run.
    pub fn study(
        &self,
        previous: &[quantsweep_core::TrialRecord],
    ) -> Result<Box<dyn crate::Study>, SweepError> {
        if self.is_adaptive() {
            let configs = self.sampled_count()? as usize;
            let (space, metric, goal) = (self.space()?, &self.metric.name, self.metric.goal);
            return Ok(if self.method == Method::Bayes {
                let gp = crate::Bayes::new(space, metric, goal, self.seed, self.seeds, configs);
                Box::new(gp.resume(previous))
            } else {
                let tpe = crate::Tpe::new(space, metric, goal, self.seed, self.seeds, configs);
                Box::new(tpe.resume(previous))
            });
        }
        let done: std::collections::BTreeSet<TrialId> =
            previous.iter().map(|r| r.spec.id).collect();
        let todo = self.trials()?.into_iter().filter(|t| !done.contains(&t.id)).collect();
        Ok(Box::new(crate::TrialList::new(todo)))
    }

    /// Distinct configurations drawn by `random` or `sobol`.
    fn sampled(&self) -> Result<Vec<Params>, SweepError> {
        use crate::sampler::{Random, SOBOL_MAX_DIMS, Sobol, UnitSampler};
        let space = self.space()?;
        let wanted = self.sampled_count()? as usize;
        let mut sampler: Box<dyn UnitSampler> = match self.method {
            Method::Sobol => {
                if space.len() > SOBOL_MAX_DIMS {
                    return Err(SweepError::config(
                        "sweep.parameters",
                        &format!(
                            "sobol handles up to {SOBOL_MAX_DIMS} parameters, got {}",
                            space.len()
                        ),
                    ));
                }
                Box::new(Sobol::new(space.len(), Some(self.seed)))
            }
            _ => Box::new(Random::new(space.len(), self.seed)),
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(wanted);
        // Duplicates (discrete spaces) are drawn again, within reason.
        let mut draws = 0;
        while out.len() < wanted && draws < wanted.saturating_mul(100).max(1000) {
            draws += 1;
            let u = sampler.next_point();
            let params: Params =
                space.iter().zip(&u).map(|((k, d), &x)| (k.clone(), d.decode(x))).collect();
            if seen.insert(format!("{params:?}")) {
                out.push(params);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(v: &[ParamValue]) -> ParameterConfig {
        ParameterConfig { values: Some(v.to_vec()), ..ParameterConfig::default() }
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
        let mut cfg = SweepConfig { max_trials: Some(3), ..SweepConfig::default() };
        cfg.parameters.insert("a".into(), values(&[ParamValue::Int(1), ParamValue::Int(2)]));
        cfg.parameters.insert("b".into(), values(&[ParamValue::Int(1), ParamValue::Int(2)]));
        // #23: a budget below the grid's size runs its first trials, in the grid's order.
        let first = cfg.trials().expect("the first 3");
        let mut all = cfg.clone();
        all.max_trials = None;
        assert_eq!(first[..], all.trials().expect("all 4")[..3]);
        assert!(cfg.budget_note().expect("a note").contains("the first 3 of the grid's 4"));
        cfg.max_trials = Some(0);
        let err = cfg.trials().expect_err("none");
        assert!(err.to_string().contains("sweep.max_trials: must be at least 1"), "{err}");
        cfg.max_trials = None;
        for k in 0..5 {
            let many = (0..10).map(ParamValue::Int).collect();
            cfg.parameters.insert(
                format!("p{k}"),
                ParameterConfig { values: Some(many), ..Default::default() },
            );
        }
        let err = cfg.trials().expect_err("too many");
        assert!(err.to_string().contains("400000 trials, more than 10000"), "{err}");
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

    fn bounds(lo: ParamValue, hi: ParamValue, d: Option<Distribution>) -> ParameterConfig {
        ParameterConfig {
            min: Some(lo),
            max: Some(hi),
            distribution: d,
            ..ParameterConfig::default()
        }
    }

    fn mixed(method: Method, seed: u64, max: u64) -> SweepConfig {
        let mut cfg = SweepConfig { method, seed, max_trials: Some(max), ..SweepConfig::default() };
        let p = &mut cfg.parameters;
        p.insert("a.uniform".into(), bounds(ParamValue::Float(-1.0), ParamValue::Float(2.0), None));
        p.insert("b.int".into(), bounds(ParamValue::Int(3), ParamValue::Int(9), None));
        p.insert(
            "c.log".into(),
            bounds(
                ParamValue::Float(1e-5),
                ParamValue::Float(1e-1),
                Some(Distribution::LogUniformValues),
            ),
        );
        let mut q =
            bounds(ParamValue::Float(0.0), ParamValue::Float(1.0), Some(Distribution::QUniform));
        q.q = Some(0.25);
        p.insert("d.q".into(), q);
        p.insert(
            "e.choice".into(),
            values(&[ParamValue::Str("adam".into()), ParamValue::Str("rmsprop".into())]),
        );
        cfg
    }

    /// The contract every sampling method keeps: the asked number of distinct trials, every
    /// value of its dimension's type within its bounds, the same trials for the same seed and
    /// others for another seed.
    #[test]
    fn sampling_methods_keep_the_contract() {
        for method in [Method::Random, Method::Sobol] {
            let t = mixed(method, 1, 60).trials().expect("valid");
            assert_eq!(t.len(), 60, "{method:?}");
            let distinct: std::collections::BTreeSet<String> =
                t.iter().map(|s| format!("{:?}", s.params)).collect();
            assert_eq!(distinct.len(), 60, "{method:?}: no configuration twice");
            for s in &t {
                let p = &s.params;
                assert!(
                    matches!(p["a.uniform"], ParamValue::Float(x) if (-1.0..=2.0).contains(&x))
                );
                assert!(matches!(p["b.int"], ParamValue::Int(x) if (3..=9).contains(&x)));
                assert!(matches!(p["c.log"], ParamValue::Float(x) if (1e-5..=1e-1).contains(&x)));
                assert!(
                    matches!(p["d.q"], ParamValue::Float(x) if (x * 4.0).fract() == 0.0 && (0.0..=1.0).contains(&x))
                );
                assert!(
                    matches!(&p["e.choice"], ParamValue::Str(x) if x == "adam" || x == "rmsprop")
                );
            }
            assert_eq!(t, mixed(method, 1, 60).trials().expect("valid"), "{method:?}: same seed");
            assert_ne!(t, mixed(method, 2, 60).trials().expect("valid"), "{method:?}: other seed");
            // Both ends of every integer range are reached.
            let ints: std::collections::BTreeSet<i64> = t
                .iter()
                .filter_map(
                    |s| if let ParamValue::Int(i) = s.params["b.int"] { Some(i) } else { None },
                )
                .collect();
            assert_eq!(ints, (3..=9).collect(), "{method:?}");
        }
    }

    /// A discrete space with fewer configurations than asked is run once each.
    #[test]
    fn small_discrete_spaces_run_each_configuration_once() {
        let mut cfg = SweepConfig {
            method: Method::Random,
            max_trials: Some(100),
            seeds: 2,
            ..SweepConfig::default()
        };
        cfg.parameters.insert("n".into(), bounds(ParamValue::Int(1), ParamValue::Int(3), None));
        cfg.parameters
            .insert("b".into(), values(&[ParamValue::Bool(true), ParamValue::Bool(false)]));
        let t = cfg.trials().expect("valid");
        assert_eq!(t.len(), 12);
        assert_eq!(cfg.trial_count().expect("count"), 12);
    }

    /// Log-uniform draws are spread evenly over the orders of magnitude.
    #[test]
    fn log_uniform_covers_each_decade() {
        let mut cfg =
            SweepConfig { method: Method::Sobol, max_trials: Some(64), ..SweepConfig::default() };
        cfg.parameters.insert(
            "lr".into(),
            bounds(
                ParamValue::Float(1e-5),
                ParamValue::Float(1e-1),
                Some(Distribution::LogUniformValues),
            ),
        );
        let t = cfg.trials().expect("valid");
        for decade in -5..-1 {
            let n = t
                .iter()
                .filter(|s| {
                    s.params["lr"].as_f64().is_some_and(|x| x.log10().floor() as i32 == decade)
                })
                .count();
            assert_eq!(n, 16, "decade 1e{decade}");
        }
    }

    #[test]
    fn bad_spaces_name_the_key() {
        let cases: Vec<(ParameterConfig, Method, &str)> = vec![
            (
                bounds(ParamValue::Float(2.0), ParamValue::Float(1.0), None),
                Method::Random,
                "sweep.parameters.x.max",
            ),
            (
                bounds(
                    ParamValue::Float(0.0),
                    ParamValue::Float(1.0),
                    Some(Distribution::LogUniformValues),
                ),
                Method::Random,
                "sweep.parameters.x.min",
            ),
            (
                bounds(
                    ParamValue::Float(0.0),
                    ParamValue::Float(1.0),
                    Some(Distribution::QUniform),
                ),
                Method::Random,
                "sweep.parameters.x.q",
            ),
            (
                bounds(ParamValue::Float(0.0), ParamValue::Float(1.0), None),
                Method::Grid,
                "sweep.parameters.x",
            ),
            (
                ParameterConfig { min: Some(ParamValue::Int(1)), ..ParameterConfig::default() },
                Method::Random,
                "sweep.parameters.x.max",
            ),
        ];
        for (p, method, key) in cases {
            let mut cfg = SweepConfig { method, max_trials: Some(5), ..SweepConfig::default() };
            cfg.parameters.insert("x".into(), p);
            let err = cfg.trials().expect_err("invalid");
            assert!(err.to_string().starts_with(key), "{key}: {err}");
        }
        let mut cfg = SweepConfig { method: Method::Random, ..SweepConfig::default() };
        cfg.parameters.insert("x".into(), bounds(ParamValue::Int(1), ParamValue::Int(9), None));
        let err = cfg.trials().expect_err("no count");
        assert!(err.to_string().starts_with("sweep.max_trials"), "{err}");
    }
}
