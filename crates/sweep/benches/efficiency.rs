//! Sample efficiency: the best value found after 50 and 100 trials (simple regret: its
//! distance above the known minimum) on the six synthetic functions, for our `tpe` and
//! `bayes`, one trial at a time, over several seeds. `scripts/bench-sweep` runs Optuna's
//! TPESampler and GPSampler on the same functions and prints the medians side by side.
//!
//! `cargo bench -p quantsweep-sweep --bench efficiency -- SEEDS` prints one JSON line per
//! function, sampler and seed (`SAMPLERS=bayes` for one sampler only, `FUNCTIONS=levy,ackley`
//! for some functions only, `TRIALS=50` to stop there: `regret100` is then null).

use std::collections::BTreeMap;

use quantsweep_core::{ParamValue, TrialRecord, TrialResult};
use quantsweep_sweep::{Bayes, Dimension, Goal, Study, Synthetic, Tpe};

/// The functions and the dimension each is run in.
const FUNCTIONS: [(Synthetic, &str, usize); 6] = [
    (Synthetic::Branin, "branin", 2),
    (Synthetic::Hartmann6, "hartmann6", 6),
    (Synthetic::Rosenbrock, "rosenbrock", 4),
    (Synthetic::Ackley, "ackley", 4),
    (Synthetic::Levy, "levy", 4),
    (Synthetic::StyblinskiTang, "styblinski_tang", 4),
];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let seeds: u64 = args.first().map_or(20, |s| s.parse().expect("usage: efficiency SEEDS"));
    let only = std::env::var("FUNCTIONS").ok();
    for (f, name, d) in FUNCTIONS {
        if only.as_ref().is_some_and(|o| !o.split(',').any(|n| n == name)) {
            continue;
        }
        let space: Vec<(String, Dimension)> = (0..d)
            .map(|i| {
                let (lo, hi) = f.bounds(i);
                (format!("x{i}"), Dimension::Uniform(lo, hi))
            })
            .collect();
        let trials: usize = std::env::var("TRIALS").map_or(100, |t| t.parse().expect("TRIALS=N"));
        // SAMPLERS="bayes" runs one of them (while working on it).
        let samplers = std::env::var("SAMPLERS").unwrap_or_else(|_| "tpe bayes".into());
        for sampler in samplers.split_whitespace() {
            for seed in 0..seeds {
                let mut study: Box<dyn Study> = match sampler {
                    "tpe" => {
                        Box::new(Tpe::new(space.clone(), "value", Goal::Minimize, seed, 1, 100))
                    }
                    _ => Box::new(Bayes::new(space.clone(), "value", Goal::Minimize, seed, 1, 100)),
                };
                let clock = std::time::Instant::now();
                let mut best = f64::INFINITY;
                let mut at50 = f64::INFINITY;
                for t in 0..trials {
                    let Some(spec) = study.ask() else { break };
                    // Parameters in x0, x1, ... order (x10 would sort before x2: d < 10).
                    let x: Vec<f64> = spec.params.values().filter_map(ParamValue::as_f64).collect();
                    let value = f.value(&x);
                    best = best.min(value);
                    if t == 49 {
                        at50 = best;
                    }
                    let result = TrialResult {
                        metrics: BTreeMap::from([("value".into(), value)]),
                        ..TrialResult::default()
                    };
                    study.tell(&TrialRecord::from_outcome(spec, Ok(result), 0, 0, 0, 0.0));
                }
                let min = f.minimum(d);
                let regret100 =
                    if trials >= 100 { (best - min).to_string() } else { "null".to_owned() };
                println!(
                    "{{\"function\":\"{name}\",\"dims\":{d},\"sampler\":\"{sampler}\",\"seed\":{seed},\"regret50\":{},\"regret100\":{},\"seconds\":{}}}",
                    at50 - min,
                    regret100,
                    clock.elapsed().as_secs_f64()
                );
            }
        }
    }
}
