use std::cell::RefCell;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use quantsweep_core::contain::contain;
use quantsweep_core::{
    EpochMetrics, Observer, Stop, TrialError, TrialRecord, TrialResult, TrialSpec,
};
use std::sync::mpsc;

use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{Capability, Exchange as _, Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

use crate::{Journal, Pruner, SweepError, Workers};

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
    /// A worker (by its index in this process) starts a trial.
    fn trial_started(&self, _worker: usize, _spec: &TrialSpec) {}
    /// A worker finished an epoch of a trial.
    fn epoch(&self, _worker: usize, _spec: &TrialSpec, _epoch: usize, _m: &EpochMetrics) {}
    /// A trial finished and its record is journaled. Called once per trial, on worker 0.
    fn trial_finished(&self, _record: &TrialRecord) {}
}

/// A monitor that watches nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentMonitor;

impl SweepMonitor for SilentMonitor {}

/// Builds worker `index`'s objective; an error fails every trial that worker is given.
pub type ObjectiveFactory = dyn Fn(usize) -> Result<Box<dyn Objective>, String> + Send + Sync;

/// Where a sweep's trials come from: asked for a trial whenever a worker is idle, told every
/// finished trial. Adaptive samplers (TPE, Gaussian processes) implement it over the history;
/// [`TrialList`] hands out a fixed list. Lives on worker 0.
pub trait Study: Send {
    /// The next trial to run, or `None` when the study has none to give now.
    fn ask(&mut self) -> Option<TrialSpec>;
    /// A trial finished (complete, failed or pruned).
    fn tell(&mut self, record: &TrialRecord);
}

/// A study over a fixed list of trials (grid, random, Sobol'), handed out in order.
#[derive(Debug, Clone, Default)]
pub struct TrialList(std::collections::VecDeque<TrialSpec>);

impl TrialList {
    /// The trials, to run in this order.
    pub fn new(trials: Vec<TrialSpec>) -> Self {
        TrialList(trials.into())
    }
}

impl Study for TrialList {
    fn ask(&mut self) -> Option<TrialSpec> {
        self.0.pop_front()
    }
    fn tell(&mut self, _: &TrialRecord) {}
}

/// A worker's answer to an assignment: the trial's record, or none when it was not run (the
/// journal had failed).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Answer {
    worker: u64,
    #[serde(with = "as_json")]
    record: Option<TrialRecord>,
}

/// A trial assigned to one worker.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Assignment {
    worker: u64,
    #[serde(with = "as_json")]
    spec: TrialSpec,
}

/// Specs and records cross processes as JSON text inside timely's bincode: their parameters
/// are untagged and their floats may be NaN (see `quantsweep_core::nonfinite`), which bincode
/// cannot read back. Workers of one process pass them without serializing at all.
mod as_json {
    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&serde_json::to_string(value).map_err(S::Error::custom)?)
    }

    pub fn deserialize<'de, T: DeserializeOwned, D: Deserializer<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        serde_json::from_str(&String::deserialize(d)?).map_err(D::Error::custom)
    }
}

/// Runs `trials` on `workers` timely worker threads of this process; see [`run_study`].
pub fn run_trials(
    trials: Vec<TrialSpec>,
    workers: usize,
    factory: Arc<ObjectiveFactory>,
    monitor: Arc<dyn SweepMonitor>,
    journal: Option<Journal>,
) -> Result<Vec<TrialRecord>, SweepError> {
    let workers = Workers::Threads(workers);
    run_study(Box::new(TrialList::new(trials)), &workers, factory, monitor, journal, None, 0)
}

/// Runs the trials `study` hands out on timely workers: threads of this process, or of
/// several processes ([`Workers::Cluster`], every process calling this with its own index).
///
/// Dispatch is pull-based: worker 0 owns the study and gives a trial to a worker only when
/// that worker is idle (routing by worker index), and asks for the next one as soon as a
/// result arrives, without rounds; so uneven trials keep every worker busy. Each worker runs
/// its trials on a thread of its own and wakes its timely operator when one ends, so a long
/// trial never stalls the dataflow.
///
/// Worker 0 appends each finished trial to `journal` (one writer, synced by group commit and
/// at the end) before it counts as done and before that worker gets its next trial: a killed
/// process loses only trials that were still running. Records
/// then flow to worker 0; the returned list is in trial-id order. If the journal cannot be
/// written, no further trial is started and the error is returned.
///
/// With a `pruner`, every epoch a trial reports is weighed against the others' (shared by
/// the workers of this process); a trial it stops ends as `pruned`. A failed trial (not a
/// pruned one) runs again on the same worker, with the same seed, up to `retries` times.
///
/// In a cluster, worker 0 lives in process 0: only there are `study` and `journal` used and
/// records returned (other processes return none). `factory` is given each worker's index
/// within its process.
pub fn run_study(
    study: Box<dyn Study>,
    workers: &Workers,
    factory: Arc<ObjectiveFactory>,
    monitor: Arc<dyn SweepMonitor>,
    journal: Option<Journal>,
    pruner: Option<Pruner>,
    retries: u32,
) -> Result<Vec<TrialRecord>, SweepError> {
    workers.validate()?;
    let local_workers = workers.local();
    let pruner = pruner.map(|p| Arc::new(Mutex::new(p)));
    let study = Arc::new(Mutex::new(Some(study)));
    let journal = Arc::new(Mutex::new(journal));
    let journal_for_sync = Arc::clone(&journal);
    let journal_error: Arc<Mutex<Option<SweepError>>> = Arc::default();
    let failure = Arc::clone(&journal_error);
    let guards = workers.execute(move |worker| {
        let index = worker.index();
        let local_index = index % local_workers;
        let peers = worker.peers();
        let mut input = InputHandle::new();
        let probe = ProbeHandle::new();
        let collected: Rc<RefCell<Vec<Answer>>> = Rc::default();
        let sink = Rc::clone(&collected);
        // The thread that runs this worker's trials, and the channel it takes them from.
        let jobs: Rc<RefCell<Option<mpsc::Sender<TrialSpec>>>> = Rc::default();
        let helper: Rc<RefCell<Option<std::thread::JoinHandle<()>>>> = Rc::default();
        let (jobs_in, helper_in) = (Rc::clone(&jobs), Rc::clone(&helper));
        let factory = Arc::clone(&factory);
        let monitor = Arc::clone(&monitor);
        let monitor_0 = Arc::clone(&monitor);
        let journal = Arc::clone(&journal);
        let journal_error = Arc::clone(&journal_error);
        let stopped = Arc::clone(&journal_error);
        let pruner = pruner.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            let timely_worker = scope.worker();
            scope
                .input_from(&mut input)
                .container::<Vec<Assignment>>()
                .unary::<timely::container::CapacityContainerBuilder<Vec<Answer>>, _, _, _>(
                    Exchange::new(|a: &Assignment| a.worker),
                    "run trials",
                    move |_, info| {
                        let activator = timely_worker.sync_activator_for(info.address.to_vec());
                        let (job_tx, job_rx) = mpsc::channel::<TrialSpec>();
                        let (done_tx, done_rx) = mpsc::channel::<Option<TrialRecord>>();
                        *jobs_in.borrow_mut() = Some(job_tx);
                        let thread = std::thread::Builder::new()
                            .name(format!("trials-{index}"))
                            .spawn(move || {
                                let mut objective = factory(local_index);
                                for spec in job_rx {
                                    let id = spec.id;
                                    // Whatever happens, worker 0 gets an answer for every
                                    // assignment: a panic outside the objective (a monitor,
                                    // the journal) stops the sweep with an error, not a hang.
                                    let record = catch_unwind(AssertUnwindSafe(|| {
                                        if lock(&journal_error).is_some() {
                                            return None;
                                        }
                                        Some(run_one(
                                            &mut objective,
                                            spec,
                                            (index, local_index),
                                            &*monitor,
                                            pruner.as_deref(),
                                            retries,
                                        ))
                                    }))
                                    .unwrap_or_else(|_| {
                                        let message =
                                            format!("worker {index} failed around trial {id}");
                                        lock(&journal_error)
                                            .get_or_insert(SweepError::Timely(message));
                                        None
                                    });
                                    if done_tx.send(record).is_err() {
                                        break;
                                    }
                                    let _ = activator.activate();
                                }
                            });
                        *helper_in.borrow_mut() =
                            Some(thread.expect("the operating system starts a trial thread"));
                        let mut held: std::collections::VecDeque<Capability<u64>> =
                            Default::default();
                        move |input, output| {
                            input.for_each(|cap, data| {
                                let Some(cap) = cap.retain_least(0) else { return };
                                for a in data.drain(..) {
                                    if let Some(tx) = jobs_in.borrow().clone() {
                                        held.push_back(cap.clone());
                                        let _ = tx.send(a.spec);
                                    }
                                }
                            });
                            while let Ok(record) = done_rx.try_recv() {
                                let Some(cap) = held.pop_front() else { break };
                                output.session(&cap).give(Answer { worker: index as u64, record });
                            }
                        }
                    },
                )
                .exchange(|_: &Answer| 0)
                .inspect(move |answer: &Answer| sink.borrow_mut().push(answer.clone()))
                .probe_with(&probe);
        });

        let mut records = Vec::new();
        if index == 0 {
            // The coordinator: a trial for each idle worker, the next as soon as one finishes.
            let mut study = lock(&study).take();
            let mut idle: std::collections::VecDeque<u64> = (0..peers as u64).collect();
            let mut in_flight = 0usize;
            let mut epoch = 0u64;
            let mut sent = false;
            loop {
                if lock(&stopped).is_none()
                    && let Some(study) = study.as_mut()
                {
                    while !idle.is_empty() {
                        let Some(spec) = study.ask() else { break };
                        let worker = idle.pop_front().unwrap_or_default();
                        input.send(Assignment { worker, spec });
                        in_flight += 1;
                        sent = true;
                    }
                }
                if in_flight == 0 {
                    break;
                }
                // A new epoch pushes the assignments out (exchange buffers flush at its end).
                // Only after sending: advancing every time wakes every worker with progress
                // updates, whose answers wake this one again — each worker thread then spun
                // a whole core while trials ran (found with a `command` objective that slept).
                if std::mem::take(&mut sent) {
                    epoch += 1;
                    input.advance_to(epoch);
                }
                worker.step_or_park(None);
                let arrived: Vec<Answer> = collected.borrow_mut().drain(..).collect();
                let mut finished = Vec::with_capacity(arrived.len());
                for answer in arrived {
                    in_flight -= 1;
                    idle.push_back(answer.worker);
                    finished.extend(answer.record);
                }
                // Journaled here, by the one writer, and committed as one group before any
                // worker gets its next trial: a finished trial counts once it is durable.
                if let Some(j) = lock(&journal).as_mut() {
                    let journaled =
                        finished.iter().try_for_each(|r| j.append(r)).and_then(|()| j.commit());
                    if let Err(e) = journaled {
                        lock(&stopped).get_or_insert(e);
                        continue;
                    }
                }
                for record in finished {
                    monitor_0.trial_finished(&record);
                    if let Some(study) = study.as_mut() {
                        study.tell(&record);
                    }
                    records.push(record);
                }
            }
        }
        input.close();
        while worker.step_or_park(None) {}
        // Let the trial thread finish and join it.
        jobs.borrow_mut().take();
        if let Some(handle) = helper.borrow_mut().take() {
            let _ = handle.join();
        }
        records
    })?;

    let mut records: Vec<TrialRecord> = workers.join(guards)?.into_iter().flatten().collect();
    if let Some(e) = lock(&failure).take() {
        return Err(e);
    }
    // The last interval's records, synced before the sweep reports them done.
    if let Some(j) = lock(&journal_for_sync).as_mut() {
        j.sync()?;
    }
    records.sort_by_key(|r| r.spec.id);
    Ok(records)
}

/// Locks a mutex, carrying on if another thread panicked while holding it (the data here
/// stays consistent: every update is a single assignment or append).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs one trial on a worker (its index in the sweep, and in its process, which the monitor
/// is told), turning every outcome — a panic included — into a record. A failed trial runs
/// again, with the same seed, up to `retries` more times; the record keeps why each earlier
/// attempt failed (its duration spans them all).
fn run_one(
    objective: &mut Result<Box<dyn Objective>, String>,
    spec: TrialSpec,
    (worker, local): (usize, usize),
    monitor: &dyn SweepMonitor,
    pruner: Option<&Mutex<Pruner>>,
    retries: u32,
) -> TrialRecord {
    monitor.trial_started(local, &spec);
    let started_at_ms = chrono::Utc::now().timestamp_millis();
    let clock = Instant::now();
    let mut attempt_errors = Vec::new();
    let outcome = loop {
        let outcome = match objective {
            Err(reason) => {
                Err(TrialError::failed(format!("worker {worker} could not start: {reason}")))
            }
            Ok(obj) => {
                let mut obs = TrialObserver { monitor, worker: local, spec: &spec, pruner };
                contain(|| obj.run(&spec, &mut obs)).unwrap_or_else(|msg| {
                    Err(TrialError::failed(format!("the objective panicked: {msg}")))
                })
            }
        };
        if let Some(p) = pruner {
            // A retry's curve starts again from its first epoch.
            lock(p).finish(spec.id.0, outcome.is_ok());
        }
        match outcome {
            Err(TrialError::Failed { reason, .. }) if attempt_errors.len() < retries as usize => {
                attempt_errors.push(reason);
            }
            outcome => break outcome,
        }
    };
    let duration_s = clock.elapsed().as_secs_f64();
    let finished_at_ms = chrono::Utc::now().timestamp_millis();
    let mut record = TrialRecord::from_outcome(
        spec,
        outcome,
        worker as u64,
        started_at_ms,
        finished_at_ms,
        duration_s,
    );
    record.attempts = attempt_errors.len() as u32 + 1;
    record.attempt_errors = attempt_errors;
    record
}

/// Forwards a trial's epochs to the monitor and the pruner, which may stop it.
struct TrialObserver<'a> {
    monitor: &'a dyn SweepMonitor,
    worker: usize,
    spec: &'a TrialSpec,
    pruner: Option<&'a Mutex<Pruner>>,
}

impl Observer for TrialObserver<'_> {
    fn on_epoch(&mut self, epoch: usize, m: &EpochMetrics) -> ControlFlow<Stop> {
        self.monitor.epoch(self.worker, self.spec, epoch, m);
        match self.pruner {
            Some(p) if lock(p).report(self.spec.id.0, epoch, m) => ControlFlow::Break(Stop::Pruned),
            _ => ControlFlow::Continue(()),
        }
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

    /// Trials 0..n without parameters.
    fn plain_trials(n: u64) -> Vec<TrialSpec> {
        (0..n)
            .map(|i| TrialSpec {
                id: quantsweep_core::TrialId(i),
                params: Default::default(),
                seed: 0,
            })
            .collect()
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

    /// Dispatch is pull-based: a worker busy with a long trial is not handed more, the idle
    /// one takes the queue (a static split would give each worker half the trials).
    #[test]
    fn idle_workers_pull_the_next_trial() {
        struct Sleepy;
        impl Objective for Sleepy {
            fn run(
                &mut self,
                t: &TrialSpec,
                _: &mut dyn Observer,
            ) -> Result<TrialResult, TrialError> {
                let ms = if t.id.0 == 0 { 900 } else { 40 };
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(TrialResult::default())
            }
        }
        let trials = plain_trials(13);
        let factory: Arc<ObjectiveFactory> =
            Arc::new(|_| Ok(Box::new(Sleepy) as Box<dyn Objective>));
        let records = run_trials(trials, 2, factory, Arc::new(SilentMonitor), None).expect("runs");
        let slow = records[0].worker;
        let others = records.iter().filter(|r| r.worker == slow).count() - 1;
        assert!(others <= 1, "the worker with the long trial also ran {others} others");
    }

    /// `retries: 2`: a trial that fails twice, then completes, ends complete after 3
    /// attempts with both reasons kept; one that always fails (a panic first) stops failing
    /// after 3; a pruned trial is not run again; one that completes runs once. Each attempt
    /// gets the same seed.
    #[test]
    fn failed_trials_run_again_with_the_same_seed_up_to_the_retries() {
        #[derive(Default)]
        struct Flaky(std::collections::BTreeMap<u64, Vec<u64>>);
        impl Objective for Flaky {
            fn run(
                &mut self,
                t: &TrialSpec,
                _: &mut dyn Observer,
            ) -> Result<TrialResult, TrialError> {
                let seeds = self.0.entry(t.id.0).or_default();
                seeds.push(t.seed);
                let attempt = seeds.len();
                assert!(seeds.iter().all(|&s| s == t.seed), "every attempt gets the trial's seed");
                match (t.id.0, attempt) {
                    (1, 1 | 2) => Err(TrialError::failed(format!("flaky {attempt}"))),
                    (2, 1) => panic!("out of memory"),
                    (2, _) => Err(TrialError::failed(format!("broken {attempt}"))),
                    (3, _) => Err(TrialError::Pruned { epochs: Vec::new() }),
                    _ => Ok(TrialResult {
                        metrics: [("runs".to_owned(), attempt as f64)].into(),
                        ..TrialResult::default()
                    }),
                }
            }
        }
        let factory: Arc<ObjectiveFactory> =
            Arc::new(|_| Ok(Box::new(Flaky::default()) as Box<dyn Objective>));
        let records = run_study(
            Box::new(TrialList::new(plain_trials(4))),
            &Workers::Threads(1),
            factory,
            Arc::new(SilentMonitor),
            None,
            None,
            2,
        )
        .expect("sweep runs");
        let got: Vec<(TrialStatus, u32, Vec<String>)> =
            records.iter().map(|r| (r.status, r.attempts, r.attempt_errors.clone())).collect();
        assert_eq!(got[0], (TrialStatus::Complete, 1, vec![]));
        assert_eq!(
            got[1],
            (TrialStatus::Complete, 3, vec!["flaky 1".to_owned(), "flaky 2".to_owned()])
        );
        assert_eq!(records[1].metrics["runs"], 3.0);
        assert_eq!(
            got[2],
            (
                TrialStatus::Failed,
                3,
                vec!["the objective panicked: out of memory".to_owned(), "broken 2".to_owned()]
            )
        );
        assert_eq!(records[2].error.as_deref(), Some("broken 3"));
        assert_eq!(got[3], (TrialStatus::Pruned, 1, vec![]));
    }

    /// With ASHA (first rung at 2 epochs, keep half), a trial whose loss at the rung is in the
    /// worse half of those seen there stops as `pruned` after 2 epochs; the others run all 6.
    #[test]
    fn pruned_trials_stop_at_their_rung() {
        struct Curves;
        impl Objective for Curves {
            fn run(
                &mut self,
                t: &TrialSpec,
                obs: &mut dyn Observer,
            ) -> Result<TrialResult, TrialError> {
                // Trial i's loss: level[i] / (epoch + 1).
                let level = [1.0, 0.5, 3.0, 0.4, 2.0, 0.3][t.id.0 as usize];
                let mut epochs = Vec::new();
                for e in 0..6 {
                    let m = EpochMetrics {
                        val_loss: Some(level / (e as f64 + 1.0)),
                        ..EpochMetrics::new(level)
                    };
                    epochs.push(m.clone());
                    if obs.on_epoch(e, &m).is_break() {
                        return Err(TrialError::Pruned { epochs });
                    }
                }
                Ok(TrialResult { epochs, ..TrialResult::default() })
            }
        }
        let trials = plain_trials(6);
        let factory: Arc<ObjectiveFactory> =
            Arc::new(|_| Ok(Box::new(Curves) as Box<dyn Objective>));
        let rule = crate::EarlyTerminate::Hyperband { min_iter: 2, eta: 2.0, metric: None };
        let records = run_study(
            Box::new(TrialList::new(trials)),
            &Workers::Threads(1),
            factory,
            Arc::new(SilentMonitor),
            None,
            Some(Pruner::new(rule)),
            0,
        )
        .expect("runs");
        let status: Vec<TrialStatus> = records.iter().map(|r| r.status).collect();
        use TrialStatus::{Complete, Pruned};
        // At the rung: [1.0] keep; [1.0, 0.5] keep; 3.0 worst of 3 → pruned; 0.4 best; 2.0 of
        // 5 (keep 2) → pruned; 0.3 best.
        assert_eq!(status, vec![Complete, Complete, Pruned, Complete, Pruned, Complete]);
        assert_eq!(records[2].epochs.len(), 2);
        assert_eq!(records[0].epochs.len(), 6);
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
                let on_disk = Journal::read(self.0.as_path()).map_or(0, |r| r.len()) as f64;
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
