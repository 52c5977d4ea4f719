use std::cell::RefCell;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use quantsweep_core::{
    EpochMetrics, Observer, Stop, TrialError, TrialRecord, TrialResult, TrialSpec,
};
use timely::dataflow::operators::vec::Map as _;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

use crate::{Journal, SweepError};

/// What a sweep optimises: one trial in, one result (or a recorded failure) out.
///
/// Each timely worker builds its own objective (and so opens its own device); only the serde
/// types [`TrialSpec`] and [`TrialRecord`] cross workers.
pub trait Objective: Send {
    /// Runs one trial, reporting each epoch to `obs` and stopping when it says so.
    fn run(&mut self, trial: &TrialSpec, obs: &mut dyn Observer)
    -> Result<TrialResult, TrialError>;
}

/// Callbacks from the sweep to whoever watches it (progress bars, logs). Called from worker
/// threads: implementations must be `Send + Sync`.
pub trait SweepMonitor: Send + Sync {
    /// A worker starts a trial.
    fn trial_started(&self, _worker: usize, _spec: &TrialSpec) {}
    /// A worker finished an epoch of a trial.
    fn epoch(&self, _worker: usize, _spec: &TrialSpec, _epoch: usize, _m: &EpochMetrics) {}
    /// A trial finished and its record is journaled. Called once per trial, from the worker
    /// that ran it.
    fn trial_finished(&self, _record: &TrialRecord) {}
}

/// A monitor that watches nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentMonitor;

impl SweepMonitor for SilentMonitor {}

/// Builds worker `index`'s objective; an error fails every trial that worker is given.
pub type ObjectiveFactory = dyn Fn(usize) -> Result<Box<dyn Objective>, String> + Send + Sync;

/// Runs `trials` on `workers` timely worker threads of this process.
///
/// Worker 0 owns the trial list: it feeds the trials into the dataflow and each worker runs
/// the ones routed to it. A finished trial is appended to `journal` (and synced to disk) by
/// the worker that ran it, before it counts as done and before that worker starts another:
/// a crash can lose only trials that were still running. Records then flow to worker 0,
/// which collects them; the returned list is in trial-id order.
///
/// If the journal cannot be written, the trials not yet started are skipped and the error is
/// returned: a sweep whose results cannot be kept stops.
///
/// Trials are routed by id over the workers (a static assignment). A trial runs inside the
/// operator on its worker's thread. See docs/architecture.md ("dispatch") for the pull-based
/// dispatch that replaces this.
pub fn run_trials(
    trials: Vec<TrialSpec>,
    workers: usize,
    factory: Arc<ObjectiveFactory>,
    monitor: Arc<dyn SweepMonitor>,
    journal: Option<Journal>,
) -> Result<Vec<TrialRecord>, SweepError> {
    let workers = workers.max(1);
    let trials = Arc::new(Mutex::new(Some(trials)));
    let journal = Arc::new(Mutex::new(journal));
    let journal_error: Arc<Mutex<Option<SweepError>>> = Arc::default();
    let failure = Arc::clone(&journal_error);
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        let peers = worker.peers() as u64;
        let mut input = InputHandle::new();
        let probe = ProbeHandle::new();
        let collected: Rc<RefCell<Vec<TrialRecord>>> = Rc::default();
        let sink = Rc::clone(&collected);
        let mut objective = factory(index);
        let monitor = Arc::clone(&monitor);
        let journal = Arc::clone(&journal);
        let journal_error = Arc::clone(&journal_error);
        worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .container::<Vec<TrialSpec>>()
                .exchange(move |spec: &TrialSpec| spec.id.0 % peers)
                .flat_map(move |spec: TrialSpec| {
                    if lock(&journal_error).is_some() {
                        return None;
                    }
                    let record = run_one(&mut objective, spec, index, &*monitor);
                    if let Some(j) = lock(&journal).as_mut()
                        && let Err(e) = j.append(&record)
                    {
                        lock(&journal_error).get_or_insert(e);
                        return None;
                    }
                    monitor.trial_finished(&record);
                    Some(record)
                })
                .exchange(|_: &TrialRecord| 0)
                .inspect(move |record: &TrialRecord| sink.borrow_mut().push(record.clone()))
                .probe_with(&probe);
        });
        if index == 0 {
            let list = lock(&trials).take();
            for t in list.into_iter().flatten() {
                input.send(t);
            }
        }
        input.close();
        while worker.step_or_park(None) {}
        collected.take()
    })
    .map_err(SweepError::Timely)?;

    let mut records = Vec::new();
    for result in guards.join() {
        records.extend(result.map_err(SweepError::Timely)?);
    }
    if let Some(e) = lock(&failure).take() {
        return Err(e);
    }
    records.sort_by_key(|r| r.spec.id);
    Ok(records)
}

/// Locks a mutex, carrying on if another thread panicked while holding it (the data here
/// stays consistent: every update is a single assignment or append).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs one trial, turning every outcome — a panic included — into a record.
fn run_one(
    objective: &mut Result<Box<dyn Objective>, String>,
    spec: TrialSpec,
    worker: usize,
    monitor: &dyn SweepMonitor,
) -> TrialRecord {
    monitor.trial_started(worker, &spec);
    let started_at_ms = chrono::Utc::now().timestamp_millis();
    let clock = Instant::now();
    let outcome = match objective {
        Err(reason) => {
            Err(TrialError::failed(format!("worker {worker} could not start: {reason}")))
        }
        Ok(obj) => {
            let mut obs = TrialObserver { monitor, worker, spec: &spec };
            catch_unwind(AssertUnwindSafe(|| obj.run(&spec, &mut obs))).unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(TrialError::failed(format!("the objective panicked: {msg}")))
            })
        }
    };
    let duration_s = clock.elapsed().as_secs_f64();
    let finished_at_ms = chrono::Utc::now().timestamp_millis();
    TrialRecord::from_outcome(
        spec,
        outcome,
        worker as u64,
        started_at_ms,
        finished_at_ms,
        duration_s,
    )
}

/// Forwards a trial's epochs to the monitor. Pruners hook in here.
struct TrialObserver<'a> {
    monitor: &'a dyn SweepMonitor,
    worker: usize,
    spec: &'a TrialSpec,
}

impl Observer for TrialObserver<'_> {
    fn on_epoch(&mut self, epoch: usize, m: &EpochMetrics) -> ControlFlow<Stop> {
        self.monitor.epoch(self.worker, self.spec, epoch, m);
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantsweep_core::{ParamValue, TrialStatus};

    use crate::SweepConfig;
    use crate::space::ParameterConfig;

    /// A deterministic objective: the metric is x², trials with x = 3 panic, x = 2 fail.
    struct Square;
    impl Objective for Square {
        fn run(
            &mut self,
            t: &TrialSpec,
            obs: &mut dyn Observer,
        ) -> Result<TrialResult, TrialError> {
            let x = t.params["x"].as_f64().expect("x is numeric");
            if x == 3.0 {
                panic!("x = 3 is cursed");
            }
            if x == 2.0 {
                return Err(TrialError::failed("x = 2 fails"));
            }
            let _ = obs.on_epoch(0, &EpochMetrics::new(x));
            let mut r = TrialResult::default();
            r.metrics.insert("value".into(), x * x);
            Ok(r)
        }
    }

    fn trials() -> Vec<TrialSpec> {
        let mut cfg = SweepConfig::default();
        let values = (0..8).map(ParamValue::Int).collect();
        cfg.parameters.insert(
            "x".into(),
            ParameterConfig { values: Some(values), ..ParameterConfig::default() },
        );
        cfg.trials().expect("grid")
    }

    fn run(workers: usize, journal: Option<Journal>) -> Vec<TrialRecord> {
        let factory: Arc<ObjectiveFactory> =
            Arc::new(|_| Ok(Box::new(Square) as Box<dyn Objective>));
        run_trials(trials(), workers, factory, Arc::new(SilentMonitor), journal)
            .expect("sweep runs")
    }

    #[test]
    fn every_trial_runs_once_and_failures_do_not_stop_the_sweep() {
        let records = run(3, None);
        assert_eq!(records.len(), 8);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.spec.id.0, i as u64);
        }
        assert_eq!(records[2].status, TrialStatus::Failed);
        assert_eq!(records[3].status, TrialStatus::Failed);
        assert!(records[3].error.as_deref().is_some_and(|e| e.contains("cursed")));
        assert_eq!(records[7].metrics["value"], 49.0);
        // Trials were spread over the workers.
        let used: std::collections::BTreeSet<u64> = records.iter().map(|r| r.worker).collect();
        assert_eq!(used.len(), 3);
    }

    #[test]
    fn results_do_not_depend_on_the_worker_count() {
        let strip = |rs: Vec<TrialRecord>| -> Vec<_> {
            rs.into_iter().map(|r| (r.spec, r.status, r.error, r.metrics)).collect()
        };
        assert_eq!(strip(run(1, None)), strip(run(4, None)));
    }

    /// Regression (found by watching the progress bar): records used to be journaled only by
    /// worker 0 between its own trials, so a finished trial could wait unjournaled while
    /// another trained — and be lost if the process died then.
    #[test]
    fn a_finished_trial_is_on_disk_before_the_worker_starts_another() {
        struct ReadsJournal(std::path::PathBuf);
        impl Objective for ReadsJournal {
            fn run(
                &mut self,
                t: &TrialSpec,
                _: &mut dyn Observer,
            ) -> Result<TrialResult, TrialError> {
                let on_disk = Journal::read(&self.0).map_or(0, |r| r.len()) as f64;
                let mut r = TrialResult::default();
                r.metrics.insert("journaled_before".into(), on_disk);
                r.metrics.insert("id".into(), t.id.0 as f64);
                Ok(r)
            }
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_path_buf();
        let factory: Arc<ObjectiveFactory> =
            Arc::new(move |_| Ok(Box::new(ReadsJournal(path.clone())) as Box<dyn Objective>));
        let journal = Journal::open(dir.path()).expect("journal");
        let records = run_trials(trials(), 1, factory, Arc::new(SilentMonitor), Some(journal))
            .expect("sweep runs");
        // One worker runs the trials in order: trial i sees the i trials before it on disk.
        for r in &records {
            assert_eq!(r.metrics["journaled_before"], r.metrics["id"], "trial {}", r.spec.id);
        }
    }

    #[test]
    fn every_record_is_journaled() {
        let dir = tempfile::tempdir().expect("temp dir");
        let journal = Journal::open(dir.path()).expect("journal");
        let records = run(2, Some(journal));
        let back = Journal::read(dir.path()).expect("read journal");
        assert_eq!(back.len(), records.len());
        let mut ids: Vec<u64> = back.iter().map(|r| r.spec.id.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..8).collect::<Vec<u64>>());
    }
}
