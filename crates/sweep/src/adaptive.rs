//! The bookkeeping every adaptive sampler shares, as an ask/tell [`Study`]: coordinates in
//! the unit cube (log-scaled dimensions are uniform in their logarithm there), `startup`
//! random configurations first, seed repeats of each configuration, scores ("higher is
//! better", failures the worst so far), a limit on configurations, and a rebuild from the
//! journal on resume. What differs between samplers — how the next point is chosen from the
//! history — is a [`Propose`].

use std::collections::BTreeMap;

use quantsweep_core::{Params, SplitMix64, TrialId, TrialRecord, TrialSpec, TrialStatus};

use crate::{Dimension, Goal, Study};

/// Chooses the next point of the unit cube from a study's history.
pub trait Propose: Send + Default {
    /// Mixed into the study's seed, so that samplers draw different random streams.
    const SALT: u64;

    /// `history` is every configuration asked so far in trial-id order: its unit coordinates
    /// and its score (higher is better), `None` while it runs.
    fn propose(
        &mut self,
        space: &[(String, Dimension)],
        history: &[(&[f64], Option<f64>)],
        rng: &mut SplitMix64,
    ) -> Vec<f64>;
}

/// An adaptive study over a search space, asking configurations until `max_configs` have
/// been asked; see the module documentation. [`crate::Tpe`] and [`crate::Bayes`] are two.
pub struct Adaptive<P> {
    space: Vec<(String, Dimension)>,
    metric: String,
    goal: Goal,
    rng: SplitMix64,
    /// Random configurations before the proposer is asked.
    pub(crate) startup: usize,
    max_configs: usize,
    seeds: u64,
    base_seed: u64,
    /// Unit coordinates of every configuration asked, by trial id.
    asked: BTreeMap<u64, Vec<f64>>,
    /// Finished trials' scores ("higher is better"), by trial id.
    scores: BTreeMap<u64, f64>,
    /// Seed repeats of the configuration being asked.
    repeat: Option<(Vec<f64>, Params, u64)>,
    /// Trials a resumed study asks again first (their id, coordinates and repeat): random
    /// ones whose run did not finish.
    pending: std::collections::VecDeque<(u64, Vec<f64>, u64)>,
    next_id: u64,
    configs: usize,
    pub(crate) proposer: P,
}

impl<P: Propose> Adaptive<P> {
    /// A study over `space` ranking by `metric` (`goal`), seeded by `seed`; each
    /// configuration runs `seeds` times (seeds `seed..seed + seeds`); `max_configs` in all.
    pub fn new(
        space: Vec<(String, Dimension)>,
        metric: &str,
        goal: Goal,
        seed: u64,
        seeds: u64,
        max_configs: usize,
    ) -> Self {
        Adaptive {
            space,
            metric: metric.to_owned(),
            goal,
            rng: SplitMix64(seed ^ P::SALT),
            startup: 10,
            max_configs,
            seeds: seeds.max(1),
            base_seed: seed,
            asked: BTreeMap::new(),
            scores: BTreeMap::new(),
            repeat: None,
            pending: Default::default(),
            next_id: 0,
            configs: 0,
            proposer: P::default(),
        }
    }

    /// Rebuilds the study from finished trials (a resumed sweep), told in id order; asking
    /// continues after the highest id.
    pub fn resume(mut self, history: &[TrialRecord]) -> Self {
        let mut sorted: Vec<&TrialRecord> = history.iter().collect();
        sorted.sort_by_key(|r| r.spec.id);
        for r in sorted {
            if let Some(u) = self.encode(&r.spec.params) {
                self.asked.insert(r.spec.id.0, u);
            }
            self.tell(r);
            self.next_id = self.next_id.max(r.spec.id.0 + 1);
        }
        // Configurations are counted by their first seed.
        self.configs = history.iter().filter(|r| r.spec.seed == self.base_seed).count();
        // The first configurations' coordinates are the generator's first draws, one
        // configuration after another: those asked while fewer than `startup` trials can have
        // finished (configuration k after k·seeds trials). Replaying their draws, a resumed or
        // extended sweep asks again, with the same ids, the ones whose trials did not finish
        // (killed while running), and then what the uninterrupted sweep asked next (#23).
        // Past them, proposals follow the history, and the generator's state is not replayed.
        let finished: std::collections::BTreeSet<u64> =
            history.iter().map(|r| r.spec.id.0).collect();
        let random = (self.startup as u64).div_ceil(self.seeds);
        let asked = self.next_id.div_ceil(self.seeds).min(random);
        for k in 0..asked {
            let u: Vec<f64> = (0..self.space.len()).map(|_| self.rng.uniform()).collect();
            for r in 0..self.seeds {
                let id = k * self.seeds + r;
                if !finished.contains(&id) {
                    if r == 0 {
                        self.configs += 1;
                    }
                    self.pending.push_back((id, u.clone(), r));
                }
            }
        }
        self
    }

    /// Unit coordinates of `params` (inverse of [`Dimension::decode`], up to rounding).
    fn encode(&self, params: &Params) -> Option<Vec<f64>> {
        self.space
            .iter()
            .map(|(k, d)| {
                let v = params.get(k)?;
                Some(match d {
                    Dimension::Categorical(values) => {
                        let i = values.iter().position(|x| x == v)?;
                        (i as f64 + 0.5) / values.len() as f64
                    }
                    Dimension::Uniform(lo, hi) | Dimension::QUniform(lo, hi, _) => {
                        (v.as_f64()? - lo) / (hi - lo)
                    }
                    Dimension::IntUniform(lo, hi) => {
                        (v.as_f64()? - *lo as f64 + 0.5) / (hi - lo + 1) as f64
                    }
                    Dimension::LogUniform(lo, hi) => {
                        (v.as_f64()?.ln() - lo.ln()) / (hi.ln() - lo.ln())
                    }
                })
            })
            .collect()
    }

    fn decode(&self, u: &[f64]) -> Params {
        self.space.iter().zip(u).map(|((k, d), &x)| (k.clone(), d.decode(x))).collect()
    }

    /// The next configuration's unit coordinates.
    fn suggest(&mut self) -> Vec<f64> {
        if self.scores.len() < self.startup {
            return (0..self.space.len()).map(|_| self.rng.uniform()).collect();
        }
        let history: Vec<(&[f64], Option<f64>)> =
            self.asked.iter().map(|(id, u)| (u.as_slice(), self.scores.get(id).copied())).collect();
        self.proposer.propose(&self.space, &history, &mut self.rng)
    }
}

impl<P: Propose> Study for Adaptive<P> {
    fn ask(&mut self) -> Option<TrialSpec> {
        if let Some((id, u, r)) = self.pending.pop_front() {
            let params = self.decode(&u);
            self.asked.insert(id, u);
            return Some(TrialSpec { id: TrialId(id), params, seed: self.base_seed + r });
        }
        let (u, params, r) = match self.repeat.take() {
            Some((u, params, r)) => (u, params, r),
            None => {
                if self.configs >= self.max_configs {
                    return None;
                }
                self.configs += 1;
                let u = self.suggest();
                let params = self.decode(&u);
                (u, params, 0)
            }
        };
        if r + 1 < self.seeds {
            self.repeat = Some((u.clone(), params.clone(), r + 1));
        }
        let id = self.next_id;
        self.next_id += 1;
        self.asked.insert(id, u);
        Some(TrialSpec { id: TrialId(id), params, seed: self.base_seed + r })
    }

    fn tell(&mut self, record: &TrialRecord) {
        if !self.asked.contains_key(&record.spec.id.0) {
            return;
        }
        let value = match record.status {
            TrialStatus::Complete => {
                record.metrics.get(&self.metric).copied().filter(|v| v.is_finite())
            }
            _ => None,
        };
        // A failed or pruned trial, or one without the metric, counts as the worst so far.
        let score = match value {
            Some(v) if self.goal == Goal::Minimize => -v,
            Some(v) => v,
            None => self.scores.values().copied().fold(-1e300, f64::min),
        };
        self.scores.insert(record.spec.id.0, score);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use quantsweep_core::TrialResult;

    use super::*;
    use crate::Synthetic;

    pub(crate) fn branin_space() -> Vec<(String, Dimension)> {
        vec![
            ("x1".into(), Dimension::Uniform(-5.0, 10.0)),
            ("x2".into(), Dimension::Uniform(0.0, 15.0)),
        ]
    }

    /// Runs `n` trials of `f` one after another with `study`; returns the best value.
    pub(crate) fn minimise(study: &mut dyn Study, f: Synthetic, n: usize) -> f64 {
        let mut best = f64::INFINITY;
        for _ in 0..n {
            let Some(spec) = study.ask() else { break };
            let x: Vec<f64> = spec.params.values().filter_map(|v| v.as_f64()).collect();
            let value = f.value(&x);
            best = best.min(value);
            let result = TrialResult {
                metrics: BTreeMap::from([("value".into(), value)]),
                ..TrialResult::default()
            };
            study.tell(&TrialRecord::from_outcome(spec, Ok(result), 0, 0, 0, 0.0));
        }
        best
    }

    /// Seed repeats of a configuration follow one another; the study stops at max_configs;
    /// resuming from its history continues the ids.
    #[test]
    fn repeats_limits_and_resume() {
        let new = || crate::Tpe::new(branin_space(), "value", Goal::Minimize, 0, 2, 3);
        let mut t = new();
        let specs: Vec<TrialSpec> = std::iter::from_fn(|| t.ask()).collect();
        assert_eq!(specs.len(), 6);
        assert_eq!(specs[0].params, specs[1].params);
        assert_eq!((specs[0].seed, specs[1].seed), (0, 1));
        let history: Vec<TrialRecord> = specs[..4]
            .iter()
            .map(|s| TrialRecord::from_outcome(s.clone(), Ok(TrialResult::default()), 0, 0, 0, 0.0))
            .collect();
        let mut resumed = new().resume(&history);
        let next: Vec<TrialSpec> = std::iter::from_fn(|| resumed.ask()).collect();
        assert_eq!(next.iter().map(|s| s.id.0).collect::<Vec<_>>(), vec![4, 5]);
        // Within the random startup, the resumed study asks what the uninterrupted one did.
        assert_eq!(next, specs[4..], "#23: a resume asks the trials the full run asked");
        // Trials killed while running (1 and 2 here) are asked again, same ids and values.
        let holes: Vec<TrialRecord> = [&specs[0], &specs[3]]
            .iter()
            .map(|s| {
                TrialRecord::from_outcome((*s).clone(), Ok(TrialResult::default()), 0, 0, 0, 0.0)
            })
            .collect();
        let mut resumed = new().resume(&holes);
        let next: Vec<TrialSpec> = std::iter::from_fn(|| resumed.ask()).collect();
        let want: Vec<TrialSpec> = [1, 2, 4, 5].iter().map(|&i| specs[i].clone()).collect();
        assert_eq!(next, want);
        // And a larger budget continues with the trials a larger sweep asked from the start.
        let larger = || crate::Tpe::new(branin_space(), "value", Goal::Minimize, 0, 2, 5);
        let mut whole = larger();
        let all: Vec<TrialSpec> = std::iter::from_fn(|| whole.ask()).collect();
        assert_eq!(all[..6], specs[..]);
        let finished: Vec<TrialRecord> = specs
            .iter()
            .map(|s| TrialRecord::from_outcome(s.clone(), Ok(TrialResult::default()), 0, 0, 0, 0.0))
            .collect();
        let mut extended = larger().resume(&finished);
        let more: Vec<TrialSpec> = std::iter::from_fn(|| extended.ask()).collect();
        assert_eq!(more, all[6..]);
    }
}
