use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use quantsweep_core::{EpochMetrics, TrialRecord, TrialSpec};
use quantsweep_sweep::{
    JOURNAL_DIR, JOURNAL_FILE, Journal, MetricConfig, Objective, ObjectiveFactory, Output, Pruner,
    SweepMonitor, TrialList, Workers, best_trial, local_rank, local_state, read_hostfile,
    run_study, slurm_workers, status_counts, write_tables,
};
use quantsweep_train::{DeviceRequest, set_torch_threads};

use crate::args::RunArgs;
use crate::command::CommandObjective;
use crate::config::{Difference, ObjectiveConfig, Pipeline};
use crate::interrupt::{Interrupts, exit_code};
use crate::objective::{
    MarketCandles, Pairs, PipelineObjective, Shared, SyntheticObjective, load_checked,
};
use crate::progress::Progress;
use crate::store::Outputs;

pub(crate) const RESOLVED_FILE: &str = "pipeline.resolved.yaml";

/// `quantsweep run`: every trial of the sweep, journaled as it finishes, then the tables.
pub fn run(args: RunArgs) -> Result<()> {
    let pipeline = Pipeline::load(&args.pipeline.pipeline, &args.pipeline.overrides)?;
    let device: DeviceRequest =
        args.device.parse().map_err(|e: String| anyhow::anyhow!("--device: {e}"))?;
    device.resolve().context("--device")?;
    let checkpoint_every = Duration::try_from_secs_f64(args.checkpoint_every)
        .context("--checkpoint-every: a number of seconds, 0 or more")?;
    let out = args.out.clone().unwrap_or_else(|| {
        Path::new("results").join(safe_name(&pipeline.config.name)).display().to_string()
    });
    let workers = workers(&args)?;
    let outputs = Outputs::open(&out, workers.process())?;
    let output = outputs.output.clone();
    if let Workers::Cluster { process, addresses, .. } = &workers {
        // One write: the processes of scripts/sweep-local share a terminal, and `eprintln!`
        // writes a line in pieces that the other processes' lines can split.
        let line = format!(
            "process {process} of {}: {} workers here, {} in all\n",
            addresses.len(),
            workers.local(),
            workers.total()
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
    }
    if let Some(note) = pipeline.config.sweep.budget_note()
        && workers.is_coordinator()
    {
        eprintln!("{note}");
    }
    let data = load_data(&pipeline)?;
    set_torch_threads(args.torch_threads);
    let metric = pipeline.config.sweep.metric.clone();
    let early_terminate = pipeline.config.sweep.early_terminate.clone();
    let retries = pipeline.config.sweep.retries;
    let objective = pipeline.config.objective.clone();
    if let ObjectiveConfig::Command(c) = &objective
        && !args.allow_commands
    {
        bail!(
            "{}: objective.kind command runs `{}` once per trial: add --allow-commands to allow it",
            pipeline.path.display(),
            c.command.join(" ")
        );
    }
    let total = pipeline.total();
    let epochs = pipeline.config.train.epochs;
    // Workers on this host before this process's, for spreading workers over GPUs.
    let first_slot = local_rank(&workers) * workers.local();

    if !workers.is_coordinator() {
        // This process runs the trials process 0 assigns to its workers; process 0 keeps the
        // journal and writes the tables.
        let progress = Arc::new(Progress::new(total, &[], workers.local(), epochs, metric));
        let factory = factory(pipeline, data, &outputs, device, first_slot)?;
        let study = Box::new(TrialList::default());
        let pruner = early_terminate.map(Pruner::new);
        // Process 0 stops dispatching on a signal; here the first one only waits for it.
        let interrupts = Interrupts::install(announcer(&progress))?;
        let ran = run_study(study, &workers, factory, progress.clone(), None, pruner, retries);
        progress.finish();
        let _ = outputs.finish();
        if let Err(e) = ran {
            bail!(
                "{e}; process 0 journals the trials that finished: start the processes again to resume"
            );
        }
        if let Some(signal) = interrupts.signal() {
            return Err(Interrupted {
                signal,
                line: format!(
                    "process {}: interrupted; process 0 journaled the trials that finished",
                    workers.process()
                ),
            }
            .into());
        }
        eprintln!(
            "process {}: done; process 0 journaled the trials and wrote the tables under {output}",
            workers.process(),
        );
        return Ok(());
    }

    let previous = resume_state(&output, &pipeline, args.force_new)?;
    write_resolved(&output, &pipeline)?;
    let to_run = total.saturating_sub(previous.len());
    if !previous.is_empty() {
        eprintln!(
            "resuming {output}: {} of {total} trials already finished, {to_run} to run",
            previous.len(),
        );
    }
    // The trials not yet run, or an adaptive sampler rebuilt from the finished ones.
    let study = pipeline.config.sweep.study(&previous)?;
    let progress = Arc::new(Progress::new(
        total,
        &previous,
        workers.local().min(to_run.max(1)),
        epochs,
        metric.clone(),
    ));
    let factory = factory(pipeline, data, &outputs, device, first_slot)?;
    let journal = Journal::open(output.clone())?;
    let clock = std::time::Instant::now();
    let pruner = early_terminate.map(Pruner::new);
    let checkpoints = Arc::new(Checkpoints {
        progress: progress.clone(),
        output: output.clone(),
        metric: metric.clone(),
        every: checkpoint_every,
        state: Mutex::new((previous.clone(), Instant::now(), Duration::ZERO)),
    });
    let interrupts = Interrupts::install(announcer(&progress))?;
    let study = interrupts.guard(study);
    interrupts.on_second({
        let (checkpoints, output, metric) = (checkpoints.clone(), output.clone(), metric.clone());
        Box::new(move || {
            checkpoints.progress.finish();
            let mut records = checkpoints.state.lock().unwrap_or_else(|p| p.into_inner()).0.clone();
            records.sort_by_key(|r| r.spec.id);
            let luck = crate::luck::sweep_statistics(&records, &metric);
            let written = write_tables(&output, &records, &metric, &luck);
            let tables = if written.is_ok() { "" } else { " (the tables could not be written)" };
            eprintln!(
                "interrupted: {} of {total} trials finished in {output}, the running ones were \
                 stopped{tables}; run the same command to resume",
                records.len()
            );
        })
    });
    let new =
        run_study(study, &workers, factory, checkpoints.clone(), Some(journal), pruner, retries);
    progress.finish();
    let new = match new {
        Ok(new) => new,
        Err(e) => {
            // The journal keeps what finished; the tables show it too before we stop.
            let records = checkpoints.state.lock().unwrap_or_else(|p| p.into_inner()).0.clone();
            if !records.is_empty() {
                let luck = crate::luck::sweep_statistics(&records, &metric);
                let _ = write_tables(&output, &records, &metric, &luck);
            }
            let _ = outputs.finish();
            bail!(
                "{e}; {} of {total} trials are finished and journaled in {output}: run the same \
                 command again to resume",
                records.len()
            );
        }
    };
    outputs.finish()?;
    Journal::compact(&output)?;

    let mut all: Vec<TrialRecord> = previous.into_iter().chain(new).collect();
    all.sort_by_key(|r| r.spec.id);
    let luck = crate::luck::sweep_statistics(&all, &metric);
    {
        // A second Ctrl-C writes the tables under the same lock: one writer at a time.
        let _writing = checkpoints.state.lock().unwrap_or_else(|p| p.into_inner());
        write_tables(&output, &all, &metric, &luck)?;
    }
    if let Some(signal) = interrupts.signal() {
        let line = format!(
            "interrupted: {} of {total} trials finished in {output}; run the same command to resume",
            all.len()
        );
        return Err(Interrupted { signal, line }.into());
    }
    print_summary(&output, &all, &metric, total, clock.elapsed().as_secs_f64());
    if objective == ObjectiveConfig::Pipeline {
        outln!("{}", quantsweep_report::luck_line(&serde_json::Value::Object(luck.clone())));
    }
    Ok(())
}

/// A sweep stopped by SIGINT or SIGTERM after writing its tables: `main` prints `line` and
/// exits as a shell reports the signal (130, 143).
#[derive(Debug)]
pub struct Interrupted {
    /// The signal's number.
    pub signal: i32,
    /// What the user reads: how many trials finished, where, and how to resume.
    pub line: String,
}

impl Interrupted {
    /// The process's exit code.
    pub fn exit_code(&self) -> i32 {
        exit_code(self.signal)
    }
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

impl std::error::Error for Interrupted {}

/// Prints the first signal's line above the progress display.
fn announcer(progress: &Arc<Progress>) -> impl Fn(&str) + Send + 'static {
    let progress = Arc::clone(progress);
    move |line| progress.println(line)
}

/// The progress display, plus the tables rewritten every so often while the sweep runs.
struct Checkpoints {
    progress: Arc<Progress>,
    output: Output,
    metric: MetricConfig,
    /// The shortest time between two checkpoints.
    every: Duration,
    /// Every finished record, when the last checkpoint was written, and how long it took.
    state: Mutex<(Vec<TrialRecord>, Instant, Duration)>,
}

impl SweepMonitor for Checkpoints {
    fn trial_started(&self, worker: usize, spec: &TrialSpec) {
        self.progress.trial_started(worker, spec);
    }

    fn epoch(&self, worker: usize, spec: &TrialSpec, epoch: usize, m: &EpochMetrics) {
        self.progress.epoch(worker, spec, epoch, m);
    }

    fn trial_finished(&self, record: &TrialRecord) {
        self.progress.trial_finished(record);
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (records, last, cost) = &mut *state;
        records.push(record.clone());
        // At most a twentieth of the sweep's time goes to checkpoints.
        if last.elapsed() < self.every.max(*cost * 20) {
            return;
        }
        let started = Instant::now();
        let luck = crate::luck::sweep_statistics(records, &self.metric);
        if let Err(e) = write_tables(&self.output, records, &self.metric, &luck) {
            // The journal holds every record; the tables are written again at the end.
            self.progress.println(&format!("checkpoint of the tables failed: {e}"));
        }
        (*last, *cost) = (Instant::now(), started.elapsed());
    }
}

/// Where the sweep's workers run, from --workers, --processes/--process/--hostfile, or a
/// Slurm job step's variables.
fn workers(args: &RunArgs) -> Result<Workers> {
    if args.workers == Some(0) {
        bail!("--workers: must be at least 1");
    }
    let threads = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let workers = match (&args.hostfile, args.processes, args.process) {
        (Some(hostfile), processes, process) => {
            let addresses = read_hostfile(hostfile)?;
            if let Some(n) = processes.filter(|&n| n != addresses.len()) {
                bail!(
                    "--processes {n}, but {} lists {} processes",
                    hostfile.display(),
                    addresses.len()
                );
            }
            let process = process.context("--hostfile needs --process (this process's index)")?;
            Workers::Cluster { threads, process, addresses }
        }
        (None, Some(0), _) => bail!("--processes: must be at least 1"),
        (None, Some(1), None | Some(0)) => Workers::Threads(threads),
        (None, Some(n), process) => {
            let process = process.context("--processes needs --process (this process's index)")?;
            Workers::localhost(threads, process, n, args.port)
        }
        (None, None, Some(_)) => bail!("--process needs --processes or --hostfile"),
        (None, None, None) => {
            slurm_workers(threads, |k| std::env::var(k).ok())?.unwrap_or(Workers::Threads(threads))
        }
    };
    workers.validate()?;
    Ok(workers)
}

/// A pipeline's candles (and correlated pairs), loaded once; data problems every trial would
/// hit are reported before anything runs. None for synthetic objectives.
fn load_data(pipeline: &Pipeline) -> Result<Option<(Vec<MarketCandles>, Pairs)>> {
    if pipeline.config.objective != ObjectiveConfig::Pipeline {
        return Ok(None);
    }
    let (markets, pairs, _) = load_checked(pipeline)?;
    // Repairs are noted once the data is known to be usable; a universe's in one line.
    if markets.len() > 1 && pipeline.config.data.universe.is_some() {
        let sum = |f: &dyn Fn(&quantsweep_ingest::LoadReport) -> usize| -> usize {
            markets.iter().map(|m| f(&m.report)).sum()
        };
        let (gaps, duplicates, nulls, invalid) = (
            sum(&|r| r.gaps.len()),
            sum(&|r| r.duplicates_dropped),
            sum(&|r| r.null_rows_dropped),
            sum(&|r| r.invalid_dropped),
        );
        if gaps + duplicates + nulls + invalid > 0 {
            eprintln!(
                "note: {} assets: {gaps} gaps left as they are, {duplicates} duplicate, {nulls} \
                 null and {invalid} invalid rows dropped (quantsweep validate lists them by asset)",
                markets.len()
            );
        }
        return Ok(Some((markets, pairs)));
    }
    for MarketCandles { report, .. } in &markets {
        if !report.gaps.is_empty() || report.duplicates_dropped > 0 || report.null_rows_dropped > 0
        {
            eprintln!(
                "note: {}: {} gaps left as they are, {} duplicate and {} null rows dropped",
                report.source.display(),
                report.gaps.len(),
                report.duplicates_dropped,
                report.null_rows_dropped
            );
        }
    }
    Ok(Some((markets, pairs)))
}

/// Builds each worker's objective; `first_slot` is the first worker's index among the
/// workers of this host (for spreading them over GPUs).
fn factory(
    pipeline: Pipeline,
    data: Option<(Vec<MarketCandles>, Pairs)>,
    outputs: &Outputs,
    device: DeviceRequest,
    first_slot: usize,
) -> Result<Arc<ObjectiveFactory>> {
    Ok(match (pipeline.config.objective.clone(), data) {
        (ObjectiveConfig::Synthetic { function }, _) => Arc::new(move |_worker| {
            Ok(Box::new(SyntheticObjective::new(function)) as Box<dyn Objective>)
        }),
        (ObjectiveConfig::Command(command), _) => {
            let metric = pipeline.config.sweep.metric.name.clone();
            let tensorboard = outputs.files_root().join("tensorboard");
            let uploader = outputs.uploader();
            Arc::new(move |_worker| {
                let objective = CommandObjective::new(command.clone(), metric.clone())
                    .with_tensorboard(tensorboard.clone(), uploader.clone());
                Ok(Box::new(objective) as Box<dyn Objective>)
            })
        }
        (ObjectiveConfig::Pipeline, data) => {
            let (markets, pairs) = data.context("the pipeline's candles were not loaded")?;
            let shared = Arc::new(Shared {
                pipeline,
                markets,
                pairs,
                tensorboard_dir: outputs.files_root().join("tensorboard"),
                models_dir: outputs.files_root().join("models"),
                uploader: outputs.uploader(),
                device,
            });
            Arc::new(move |worker| {
                let objective = PipelineObjective::new(Arc::clone(&shared), first_slot + worker);
                Ok(Box::new(objective) as Box<dyn Objective>)
            })
        }
    })
}

/// Records already journaled under `output` for this same sweep (empty for a new one).
///
/// The same sweep with a larger budget (`sweep.max_trials` or `sweep.seeds` raised) is
/// extended: its finished trials take the ids they have in the larger sweep, found by their
/// parameters and seed, so that the trials still to run are exactly those a run with the
/// larger budget from the start would have run. Any other difference is refused, naming each
/// key; `--force-new` names what it deletes before it deletes it.
fn resume_state(output: &Output, pipeline: &Pipeline, force_new: bool) -> Result<Vec<TrialRecord>> {
    if !Journal::exists(output)? {
        return Ok(Vec::new());
    }
    let before = output.get(RESOLVED_FILE)?.unwrap_or_default();
    let before = strip_comments(&String::from_utf8_lossy(&before));
    let now = strip_comments(&pipeline.resolved_yaml()?);
    // None: the texts differ, but not in any value that can be named (an unreadable file).
    let differences = if before == now {
        Some(Vec::new())
    } else {
        crate::config::resolved_differences(&before, &now).ok().filter(|d| !d.is_empty())
    };
    let unreadable = differences.is_none();
    let differences = differences.unwrap_or_default();
    let budget = |d: &Difference| d.key == "sweep.max_trials" || d.key == "sweep.seeds";
    let other: Vec<String> =
        differences.iter().filter(|d| !budget(d)).map(ToString::to_string).collect();
    if !other.is_empty() || unreadable {
        if force_new {
            discard_results(output)?;
            return Ok(Vec::new());
        }
        let what = if other.is_empty() {
            format!("its {RESOLVED_FILE} cannot be read as a pipeline")
        } else {
            other.join("; ")
        };
        bail!(
            "{output} holds the results of a different sweep ({what}): only raising \
             sweep.max_trials or sweep.seeds extends a sweep; choose another --out, or add \
             --force-new to replace the results there"
        );
    }
    for d in &differences {
        let smaller =
            matches!((d.before.parse::<u64>(), d.now.parse::<u64>()), (Ok(a), Ok(b)) if b < a);
        if smaller {
            bail!(
                "{output}: {d}: a sweep can be extended, not shrunk; choose another --out for the \
                 smaller sweep, or add --force-new to replace the results there",
            );
        }
    }
    let mut records = Journal::read_once(output.clone())?;
    let sweep = &pipeline.config.sweep;
    if sweep.is_adaptive() {
        // An adaptive sweep's ids are the order it asked its trials in: more trials continue
        // after them. More seeds would repeat configurations asked long ago.
        if let Some(d) = differences.iter().find(|d| d.key == "sweep.seeds") {
            bail!(
                "{output}: {d}: a {} sweep asks each configuration's seeds together, so a \
                 started one cannot take more seeds; raise sweep.max_trials to extend it, or \
                 choose another --out",
                crate::config::spelled(&sweep.method)
            );
        }
        say_extended(output, &differences);
        return Ok(records);
    }
    // Trials of the list only, each with its id in the list: a larger budget may renumber
    // them (more seeds per configuration).
    let mut by_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for t in pipeline.trials.iter().rev() {
        by_key.entry(trial_key(t)).or_default().push(t.id.0);
    }
    let mut unknown = 0;
    records.retain_mut(|r| match by_key.get_mut(&trial_key(&r.spec)).and_then(Vec::pop) {
        Some(id) => {
            r.spec.id = quantsweep_core::TrialId(id);
            true
        }
        None => {
            unknown += 1;
            false
        }
    });
    if unknown > 0 && !differences.is_empty() {
        let changes: Vec<String> = differences.iter().map(ToString::to_string).collect();
        bail!(
            "{output}: with {}, {unknown} of the finished trials are not in the sweep (a random \
             or sobol sweep draws max_trials / seeds configurations): raise sweep.max_trials \
             too, or choose another --out",
            changes.join(" and ")
        );
    }
    say_extended(output, &differences);
    Ok(records)
}

/// Tells that a larger budget extends the sweep in `output`.
fn say_extended(output: &Output, differences: &[Difference]) {
    if !differences.is_empty() {
        let changes: Vec<String> = differences.iter().map(ToString::to_string).collect();
        eprintln!("extending the sweep in {output}: {}", changes.join(", "));
    }
}

/// A trial's parameters and seed, as one comparable key.
fn trial_key(t: &TrialSpec) -> String {
    format!("{:?} {}", t.params, t.seed)
}

/// What `discard_results` deletes.
const RESULT_NAMES: [&str; 12] = [
    JOURNAL_FILE,
    JOURNAL_DIR,
    RESOLVED_FILE,
    "trials.parquet",
    "epochs.parquet",
    "equity.parquet",
    "trades.parquet",
    "predictions.parquet",
    "folds.parquet",
    "summary.json",
    "tensorboard",
    "models",
];

/// Deletes what a sweep writes under `output` (and nothing else there), saying first what.
fn discard_results(output: &Output) -> Result<()> {
    let mut present = Vec::new();
    for name in RESULT_NAMES {
        if output.exists(name)? {
            present.push(if name.contains('.') { name.to_owned() } else { format!("{name}/") });
        }
    }
    let trials = Journal::read(output.clone()).map(|r| r.len()).unwrap_or(0);
    eprintln!(
        "--force-new: deleting the previous sweep's results in {output} ({trials} finished \
         trials): {}",
        present.join(", ")
    );
    for name in RESULT_NAMES {
        output.remove(name).with_context(|| format!("removing {}", output.locate(name)))?;
    }
    // What an earlier run kept on this machine for the store (journal records, staged files).
    if let Output::Objects(sink) = output {
        let local = local_state(sink.url());
        match std::fs::remove_dir_all(&local) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", local.display()));
            }
            _ => {}
        }
    }
    Ok(())
}

fn strip_comments(text: &str) -> String {
    text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
}

fn write_resolved(output: &Output, pipeline: &Pipeline) -> Result<()> {
    let header = format!(
        "# The pipeline as run by quantsweep {} (git {}), from {}, with --set overrides applied.\n\
         # Written {}.\n",
        env!("CARGO_PKG_VERSION"),
        env!("QUANTSWEEP_GIT_REV"),
        pipeline.path.display(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let text = header + &pipeline.resolved_yaml()?;
    output
        .put(RESOLVED_FILE, text.as_bytes())
        .with_context(|| format!("cannot write {}", output.locate(RESOLVED_FILE)))
}

/// A pipeline name made safe as one folder name.
fn safe_name(name: &str) -> PathBuf {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    PathBuf::from(if s.is_empty() || s.chars().all(|c| c == '.') { "pipeline".into() } else { s })
}

fn print_summary(
    out: &Output,
    records: &[TrialRecord],
    metric: &quantsweep_sweep::MetricConfig,
    total: usize,
    seconds: f64,
) {
    let counts = status_counts(records);
    let described: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    outln!(
        "{} trials of {total} in {out}: {} ({seconds:.1}s this run)",
        records.len(),
        described.join(", ")
    );
    let refs: Vec<&TrialRecord> = records.iter().collect();
    let mut ranked: Vec<&TrialRecord> = refs.clone();
    ranked.retain(|r| r.metrics.get(&metric.name).is_some_and(|v| !v.is_nan()));
    ranked.sort_by(|a, b| {
        let (va, vb) = (a.metrics[&metric.name], b.metrics[&metric.name]);
        match metric.goal {
            quantsweep_sweep::Goal::Maximize => vb.total_cmp(&va),
            quantsweep_sweep::Goal::Minimize => va.total_cmp(&vb),
        }
    });
    if !ranked.is_empty() {
        outln!(
            "{:>6}  {:>10}  {:>12}  {:>12}  {:>12}  params",
            "trial",
            metric.name,
            "total_return",
            "max_drawdown",
            "buy_hold"
        );
        let get =
            |r: &TrialRecord, k: &str| r.metrics.get(k).map_or("-".into(), |v| format!("{v:.4}"));
        for r in ranked.iter().take(5) {
            let params: Vec<String> =
                r.spec.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            outln!(
                "{:>6}  {:>10}  {:>12}  {:>12}  {:>12}  {} seed={}",
                r.spec.id.0,
                get(r, &metric.name),
                get(r, "total_return"),
                get(r, "max_drawdown"),
                get(r, "buy_hold_return"),
                params.join(" "),
                r.spec.seed
            );
        }
    }
    if let Some(best) = best_trial(&refs, metric) {
        outln!(
            "best: trial {} ({} = {:.4})",
            best.spec.id,
            metric.name,
            best.metrics[&metric.name]
        );
    }
    for r in records.iter().filter(|r| r.error.is_some()).take(3) {
        outln!("trial {} failed: {}", r.spec.id, r.error.as_deref().unwrap_or_default());
    }
    let folds = if records.iter().any(|r| !r.folds.is_empty()) { ", folds.parquet" } else { "" };
    outln!(
        "tables: {0}/trials.parquet, epochs.parquet, equity.parquet, trades.parquet, predictions.parquet{folds}; TensorBoard: tensorboard --logdir {0}/tensorboard",
        out.to_string().trim_end_matches('/')
    );
}
