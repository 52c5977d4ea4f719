//! Trials per second on a trivial objective (x1² + x2² over [−5, 10]²), one worker, the
//! journal on (each finished trial synced to disk before the next starts), for `random` and
//! `tpe`. `scripts/bench-sweep` times Optuna on the same objective and prints the ratios.
//!
//! `cargo bench -p quantsweep-sweep --bench throughput -- DIR`

use std::collections::BTreeMap;
use std::sync::Arc;

use quantsweep_core::{Observer, ParamValue, TrialError, TrialResult, TrialSpec};
use quantsweep_sweep::{
    Dimension, Goal, Journal, Method, Objective, ObjectiveFactory, ParameterConfig, SilentMonitor,
    Study, SweepConfig, Tpe, TrialList, Workers, run_study,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Sphere;

impl Objective for Sphere {
    fn run(&mut self, t: &TrialSpec, _: &mut dyn Observer) -> Result<TrialResult, TrialError> {
        let value: f64 = t.params.values().filter_map(ParamValue::as_f64).map(|x| x * x).sum();
        Ok(TrialResult {
            metrics: BTreeMap::from([("value".into(), value)]),
            ..TrialResult::default()
        })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let dir = std::path::PathBuf::from(args.first().expect("usage: throughput DIR"));
    let factory: Arc<ObjectiveFactory> = Arc::new(|_| Ok(Box::new(Sphere) as Box<dyn Objective>));
    let bounds = ParameterConfig {
        min: Some(ParamValue::Float(-5.0)),
        max: Some(ParamValue::Float(10.0)),
        ..ParameterConfig::default()
    };
    let space = vec![
        ("x1".to_owned(), Dimension::Uniform(-5.0, 10.0)),
        ("x2".to_owned(), Dimension::Uniform(-5.0, 10.0)),
    ];
    // Without a journal as well, to show what syncing every trial costs.
    for (sampler, n, journaled) in [
        ("random", 1_000usize, true),
        ("random", 10_000, true),
        ("random", 10_000, false),
        ("tpe", 1_000, true),
        ("tpe", 5_000, true),
    ] {
        let out = dir.join(format!("{sampler}-{n}"));
        let _ = std::fs::remove_dir_all(&out);
        let journal = journaled.then(|| Journal::open(&out).expect("journal"));
        let start = std::time::Instant::now();
        let study: Box<dyn Study> = if sampler == "random" {
            let mut cfg = SweepConfig {
                method: Method::Random,
                max_trials: Some(n as u64),
                ..SweepConfig::default()
            };
            cfg.parameters.insert("x1".into(), bounds.clone());
            cfg.parameters.insert("x2".into(), bounds.clone());
            Box::new(TrialList::new(cfg.trials().expect("trials")))
        } else {
            Box::new(Tpe::new(space.clone(), "value", Goal::Minimize, 0, 1, n))
        };
        let records = run_study(
            study,
            &Workers::Threads(1),
            Arc::clone(&factory),
            Arc::new(SilentMonitor),
            journal,
            None,
            0,
        )
        .expect("sweep");
        let seconds = start.elapsed().as_secs_f64();
        let best = records
            .iter()
            .filter_map(|r| r.metrics.get("value"))
            .fold(f64::INFINITY, |a, &b| a.min(b));
        println!(
            r#"{{"sampler": "{sampler}", "journal": {journaled}, "trials": {}, "trials_per_s": {:.1}, "best": {best:.6}}}"#,
            records.len(),
            records.len() as f64 / seconds
        );
    }
}
