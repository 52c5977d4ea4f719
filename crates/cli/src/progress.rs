//! Sweep progress: indicatif bars on a terminal, plain log lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use quantsweep_core::{EpochMetrics, TrialRecord, TrialSpec, TrialStatus};
use quantsweep_sweep::{Goal, MetricConfig, SweepMonitor};

/// One bar for the sweep (done/total, ETA, best so far, failures) and one line per worker.
pub struct Progress {
    bars: Option<(ProgressBar, Vec<ProgressBar>)>,
    metric: MetricConfig,
    total: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    done: usize,
    failed: usize,
    pruned: usize,
    best: Option<(f64, u64)>,
}

impl Progress {
    /// `already_done` trials (from an earlier, resumed run) count as done from the start.
    pub fn new(
        total: usize,
        already_done: usize,
        workers: usize,
        epochs: usize,
        metric: MetricConfig,
    ) -> Self {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let main = multi.add(ProgressBar::new(total as u64));
            main.set_style(
                ProgressStyle::with_template(
                    "{spinner} trials {pos}/{len} [{bar:30}] {elapsed_precise} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
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
        let state = State { done: already_done, ..State::default() };
        Self { bars, metric, total, state: Mutex::new(state) }
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
        match r.status {
            TrialStatus::Failed => s.failed += 1,
            TrialStatus::Pruned => s.pruned += 1,
            TrialStatus::Complete => {}
        }
        if let Some(v) = r.metrics.get(&self.metric.name).copied().filter(|v| !v.is_nan()) {
            let better = match (s.best, self.metric.goal) {
                (None, _) => true,
                (Some((b, _)), Goal::Maximize) => v > b,
                (Some((b, _)), Goal::Minimize) => v < b,
            };
            if better {
                s.best = Some((v, r.spec.id.0));
            }
        }
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
                eprintln!(
                    "[{}/{}] trial {} {} in {:.1}s on worker {}{}{}  |  {best}  {counts}",
                    s.done,
                    self.total,
                    r.spec.id,
                    r.status.as_str(),
                    r.duration_s,
                    r.worker,
                    value.unwrap_or_default(),
                    why
                );
            }
        }
    }
}
