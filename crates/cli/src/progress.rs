//! Sweep progress: indicatif bars on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use quantsweep_core::{EpochMetrics, TrialRecord, TrialSpec, TrialStatus};
use quantsweep_sweep::{Goal, MetricConfig, SweepMonitor};

/// One bar for the sweep (done/total, ETA, best so far, failures) and one line per worker.
pub struct Progress {
    bars: Option<(ProgressBar, Vec<ProgressBar>)>,
    metric: MetricConfig,
    total: usize,
    /// Trials finished by this run (not found finished by a resume): the ETA's pace.
    this_run: Arc<AtomicUsize>,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    done: usize,
    failed: usize,
    pruned: usize,
    best: Option<(f64, u64)>,
}

impl State {
    /// Counts a finished trial's status and metric (not `done`).
    fn count(&mut self, r: &TrialRecord, metric: &MetricConfig) {
        match r.status {
            TrialStatus::Failed => self.failed += 1,
            TrialStatus::Pruned => self.pruned += 1,
            TrialStatus::Complete => {}
        }
        if let Some(v) = r.metrics.get(&metric.name).copied().filter(|v| !v.is_nan()) {
            let better = match (self.best, metric.goal) {
                (None, _) => true,
                (Some((b, _)), Goal::Maximize) => v > b,
                (Some((b, _)), Goal::Minimize) => v < b,
            };
            if better {
                self.best = Some((v, r.spec.id.0));
            }
        }
    }
}

/// The time left, from this run's pace (`finished` trials in `elapsed`), or `eta estimating`
/// until a trial of this run has ended: trials a resume found finished took no time here.
fn eta(elapsed: Duration, finished: usize, left: usize) -> String {
    if left == 0 {
        return String::new();
    }
    if finished == 0 {
        return "eta estimating".into();
    }
    let secs = (elapsed.as_secs_f64() / finished as f64 * left as f64).round() as u64;
    match secs {
        0..60 => format!("eta {secs}s"),
        60..3600 => format!("eta {}m{:02}s", secs / 60, secs % 60),
        _ => format!("eta {}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

impl Progress {
    /// `previous` trials (from an earlier, resumed run) count as done from the start, and
    /// the best of them is the best so far.
    pub fn new(
        total: usize,
        previous: &[TrialRecord],
        workers: usize,
        epochs: usize,
        metric: MetricConfig,
    ) -> Self {
        let already_done = previous.len();
        let this_run = Arc::new(AtomicUsize::new(0));
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let main = multi.add(ProgressBar::new(total as u64));
            let finished = Arc::clone(&this_run);
            main.set_style(
                ProgressStyle::with_template(
                    "{spinner} trials {pos}/{len} [{bar:30}] {elapsed_precise} {eta_or_not} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key(
                    "eta_or_not",
                    move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let left = state.len().unwrap_or(0).saturating_sub(state.pos()) as usize;
                        let _ = w.write_str(&eta(
                            state.elapsed(),
                            finished.load(Ordering::Relaxed),
                            left,
                        ));
                    },
                )
                .progress_chars("=> "),
            );
            main.set_position(already_done as u64);
            main.enable_steady_tick(Duration::from_millis(200));
            let lines = (0..workers)
                .map(|w| {
                    let line = multi.add(ProgressBar::new(epochs as u64));
                    line.set_style(
                        ProgressStyle::with_template("  worker {prefix}: {msg} epoch {pos}/{len}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    line.set_prefix(w.to_string());
                    line.set_message("idle");
                    line
                })
                .collect();
            (main, lines)
        });
        let mut state = State { done: already_done, ..State::default() };
        for r in previous {
            state.count(r, &metric);
        }
        Self { bars, metric, total, this_run, started: Instant::now(), state: Mutex::new(state) }
    }

    fn worker_line(&self, worker: usize) -> Option<&ProgressBar> {
        self.bars.as_ref().and_then(|(_, lines)| lines.get(worker))
    }

    /// Prints a line above the bars (or to stderr without them).
    pub fn println(&self, line: &str) {
        match &self.bars {
            Some((main, _)) => main.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Clears the bars.
    pub fn finish(&self) {
        if let Some((main, lines)) = &self.bars {
            for l in lines {
                l.finish_and_clear();
            }
            main.finish_and_clear();
        }
    }
}

impl SweepMonitor for Progress {
    fn trial_started(&self, worker: usize, spec: &TrialSpec) {
        if let Some(line) = self.worker_line(worker) {
            line.set_position(0);
            line.set_message(format!("trial {}", spec.id));
        }
    }

    fn epoch(&self, worker: usize, _spec: &TrialSpec, epoch: usize, _m: &EpochMetrics) {
        if let Some(line) = self.worker_line(worker) {
            line.set_position(epoch as u64 + 1);
        }
    }

    fn trial_finished(&self, r: &TrialRecord) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.done += 1;
        s.count(r, &self.metric);
        let finished = self.this_run.fetch_add(1, Ordering::Relaxed) + 1;
        let best = s
            .best
            .map(|(v, id)| format!("best {} {v:.4} (trial {id})", self.metric.name))
            .unwrap_or_default();
        let counts = format!("failed {} pruned {}", s.failed, s.pruned);
        match &self.bars {
            Some((main, _)) => {
                main.set_position(s.done as u64);
                main.set_message(format!("{best}  {counts}"));
            }
            None => {
                let value = r
                    .metrics
                    .get(&self.metric.name)
                    .map(|v| format!(" {}={v:.4}", self.metric.name));
                let why = r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
                let left = self.total.saturating_sub(s.done);
                eprintln!(
                    "[{}/{}] trial {} {} in {:.1}s on worker {}{}{}  |  {best}  {counts}  {}",
                    s.done,
                    self.total,
                    r.spec.id,
                    r.status.as_str(),
                    r.duration_s,
                    r.worker,
                    value.unwrap_or_default(),
                    why,
                    eta(self.started.elapsed(), finished, left)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// #23: no ETA before a trial of this run has ended (resumed trials took no time here);
    /// then this run's pace times what is left.
    #[test]
    fn the_eta_waits_for_a_trial_of_this_run() {
        assert_eq!(eta(Duration::from_secs(30), 0, 4), "eta estimating");
        assert_eq!(eta(Duration::from_secs(30), 2, 4), "eta 1m00s");
        assert_eq!(eta(Duration::from_secs(3), 3, 5), "eta 5s");
        assert_eq!(eta(Duration::from_secs(3600), 1, 2), "eta 2h00m");
        assert_eq!(eta(Duration::from_secs(3), 3, 0), "");
    }

    /// #23: the best so far includes the trials a resume found finished.
    #[test]
    fn the_best_so_far_counts_resumed_trials() {
        let record = |id: u64, sharpe: f64| {
            let spec =
                TrialSpec { id: quantsweep_core::TrialId(id), params: Default::default(), seed: 0 };
            let mut result = quantsweep_core::TrialResult::default();
            result.metrics.insert("sharpe".into(), sharpe);
            TrialRecord::from_outcome(spec, Ok(result), 0, 0, 0, 0.0)
        };
        let metric = MetricConfig::default();
        let progress = Progress::new(3, &[record(0, 1.5), record(1, 0.5)], 1, 1, metric);
        progress.trial_finished(&record(2, 1.0));
        let state = progress.state.lock().expect("not poisoned");
        assert_eq!((state.done, state.best), (3, Some((1.5, 0))));
    }
}
