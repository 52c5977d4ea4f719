//! Worker utilisation with 16 workers on sleep-based trials of uneven length (0.1–2 s,
//! seeded): the share of the workers' wall-clock time spent inside trials. Ray Tune's own
//! benchmark reports about 87%. Prints one JSON line.
//!
//! `cargo bench -p quantsweep-sweep --bench utilisation -- [--trials N] [--workers W]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use quantsweep_core::{Observer, SplitMix64, TrialError, TrialId, TrialResult, TrialSpec};
use quantsweep_sweep::{Objective, ObjectiveFactory, SilentMonitor, TrialList, Workers, run_study};

struct Sleep;

impl Objective for Sleep {
    fn run(&mut self, t: &TrialSpec, _: &mut dyn Observer) -> Result<TrialResult, TrialError> {
        std::thread::sleep(duration(t.id.0));
        Ok(TrialResult::default())
    }
}

/// Trial `i`'s length: 0.1–2 s, from a fixed hash of `i`.
fn duration(i: u64) -> Duration {
    Duration::from_secs_f64(0.1 + 1.9 * SplitMix64(i).uniform())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let flag = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let (trials, workers) = (flag("--trials", 160), flag("--workers", 16));
    let specs: Vec<TrialSpec> = (0..trials as u64)
        .map(|i| TrialSpec { id: TrialId(i), params: Default::default(), seed: 0 })
        .collect();
    let busy: f64 = (0..trials as u64).map(|i| duration(i).as_secs_f64()).sum();
    let factory: Arc<ObjectiveFactory> = Arc::new(|_| Ok(Box::new(Sleep) as Box<dyn Objective>));
    let start = Instant::now();
    let records = run_study(
        Box::new(TrialList::new(specs)),
        &Workers::Threads(workers),
        factory,
        Arc::new(SilentMonitor),
        None,
        None,
        0,
    )
    .expect("sweep");
    let wall = start.elapsed().as_secs_f64();
    // While trials were still queued (until the last one started), the share of worker time
    // spent in trials: dispatch overhead without the unavoidable drain at the end.
    let t0 = records.iter().map(|r| r.started_at_ms).min().unwrap_or_default();
    let last_start = records.iter().map(|r| r.started_at_ms).max().unwrap_or_default();
    let queued_busy_ms: i64 = records
        .iter()
        .map(|r| r.finished_at_ms.min(last_start) - r.started_at_ms.min(last_start))
        .sum();
    let queued = queued_busy_ms as f64 / (workers as f64 * (last_start - t0).max(1) as f64);
    // The best any scheduler could do: the longest trial, or the work spread evenly.
    let longest = (0..trials as u64).map(|i| duration(i).as_secs_f64()).fold(0.0, f64::max);
    let bound = (busy / workers as f64).max(longest);
    println!(
        r#"{{"trials": {}, "workers": {workers}, "trial_seconds": {busy:.2}, "wall_s": {wall:.3}, "utilisation": {:.4}, "utilisation_while_queued": {queued:.4}, "lower_bound_wall_s": {bound:.3}}}"#,
        records.len(),
        busy / (workers as f64 * wall)
    );
}
