use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use quantsweep_core::TrialRecord;
use quantsweep_ingest::Candles;
use quantsweep_sweep::{
    JOURNAL_FILE, Journal, Objective, ObjectiveFactory, Pruner, TrialList, Workers, best_trial,
    local_rank, read_hostfile, run_study, slurm_workers, status_counts, write_tables,
};
use quantsweep_train::{DeviceRequest, set_torch_threads};

use crate::args::RunArgs;
use crate::config::{ObjectiveConfig, Pipeline};
use crate::objective::{
    PipelineObjective, Shared, SyntheticObjective, build_dataset, load_all_pairs, load_candles,
};
use crate::progress::Progress;

/// Correlated pairs' candles, by pair name.
type Pairs = std::collections::BTreeMap<String, Candles>;

const RESOLVED_FILE: &str = "pipeline.resolved.yaml";

/// `quantsweep run`: every trial of the sweep, journaled as it finishes, then the tables.
pub fn run(args: RunArgs) -> Result<()> {
    let pipeline = Pipeline::load(&args.pipeline.pipeline, &args.pipeline.overrides)?;
    let device: DeviceRequest =
        args.device.parse().map_err(|e: String| anyhow::anyhow!("--device: {e}"))?;
    device.resolve().context("--device")?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("results").join(safe_name(&pipeline.config.name)));
    let workers = workers(&args)?;
    if let Workers::Cluster { process, addresses, .. } = &workers {
        eprintln!(
            "process {process} of {}: {} workers here, {} in all",
            addresses.len(),
            workers.local(),
            workers.total()
        );
    }
    let data = load_data(&pipeline, &args)?;
    set_torch_threads(args.torch_threads);
    let metric = pipeline.config.sweep.metric.clone();
    let early_terminate = pipeline.config.sweep.early_terminate.clone();
    let objective = pipeline.config.objective;
    let total = pipeline.total();
    let epochs = pipeline.config.train.epochs;
    // Workers on this host before this process's, for spreading workers over GPUs.
    let first_slot = local_rank(&workers) * workers.local();

    if !workers.is_coordinator() {
        // This process runs the trials process 0 assigns to its workers; process 0 keeps the
        // journal and writes the tables.
        let progress = Arc::new(Progress::new(total, 0, workers.local(), epochs, metric));
        let factory = factory(pipeline, data, &out, device, first_slot)?;
        let study = Box::new(TrialList::default());
        let pruner = early_terminate.map(Pruner::new);
        let ran = run_study(study, &workers, factory, progress.clone(), None, pruner);
        progress.finish();
        ran?;
        eprintln!(
            "process {}: done; process 0 journaled the trials and wrote the tables under {}",
            workers.process(),
            out.display()
        );
        return Ok(());
    }

    let previous = resume_state(&out, &pipeline, args.force_new)?;
    write_resolved(&out, &pipeline)?;
    let to_run = total.saturating_sub(previous.len());
    if !previous.is_empty() {
        eprintln!(
            "resuming {}: {} of {total} trials already finished, {to_run} to run",
            out.display(),
            previous.len(),
        );
    }
    // The trials not yet run, or an adaptive sampler rebuilt from the finished ones.
    let study = pipeline.config.sweep.study(&previous)?;
    let progress = Arc::new(Progress::new(
        total,
        previous.len(),
        workers.local().min(to_run.max(1)),
        epochs,
        metric.clone(),
    ));
    let factory = factory(pipeline, data, &out, device, first_slot)?;
    let journal = Journal::open(&out)?;
    let clock = std::time::Instant::now();
    let pruner = early_terminate.map(Pruner::new);
    let new = run_study(study, &workers, factory, progress.clone(), Some(journal), pruner);
    progress.finish();
    let new = new?;

    let mut all: Vec<TrialRecord> = previous.into_iter().chain(new).collect();
    all.sort_by_key(|r| r.spec.id);
    let luck = crate::luck::sweep_statistics(&all, &metric);
    write_tables(&out, &all, &metric, &luck)?;
    print_summary(&out, &all, &metric, total, clock.elapsed().as_secs_f64());
    if objective == ObjectiveConfig::Pipeline {
        println!("{}", crate::luck::describe(&luck));
    }
    Ok(())
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
fn load_data(pipeline: &Pipeline, args: &RunArgs) -> Result<Option<(Candles, Pairs)>> {
    if let ObjectiveConfig::Synthetic { .. } = pipeline.config.objective {
        return Ok(None);
    }
    let (candles, report) = load_candles(&pipeline.config)?;
    if !report.gaps.is_empty() || report.duplicates_dropped > 0 || report.null_rows_dropped > 0 {
        eprintln!(
            "note: {}: {} gaps left as they are, {} duplicate and {} null rows dropped",
            report.source.display(),
            report.gaps.len(),
            report.duplicates_dropped,
            report.null_rows_dropped
        );
    }
    let representative = pipeline.representative_trials();
    let first = representative.first().context("the sweep has no trials")?;
    let pairs = load_all_pairs(pipeline)?;
    build_dataset(&pipeline.trial_config(first)?, &candles, &pairs)
        .with_context(|| format!("{}", args.pipeline.pipeline.display()))?;
    Ok(Some((candles, pairs)))
}

/// Builds each worker's objective; `first_slot` is the first worker's index among the
/// workers of this host (for spreading them over GPUs).
fn factory(
    pipeline: Pipeline,
    data: Option<(Candles, Pairs)>,
    out: &Path,
    device: DeviceRequest,
    first_slot: usize,
) -> Result<Arc<ObjectiveFactory>> {
    Ok(match (pipeline.config.objective, data) {
        (ObjectiveConfig::Synthetic { function }, _) => Arc::new(move |_worker| {
            Ok(Box::new(SyntheticObjective::new(function)) as Box<dyn Objective>)
        }),
        (ObjectiveConfig::Pipeline, data) => {
            let (candles, pairs) = data.context("the pipeline's candles were not loaded")?;
            let shared = Arc::new(Shared {
                pipeline,
                candles,
                pairs,
                tensorboard_dir: out.join("tensorboard"),
                models_dir: out.join("models"),
                device,
            });
            Arc::new(move |worker| {
                let objective = PipelineObjective::new(Arc::clone(&shared), first_slot + worker);
                Ok(Box::new(objective) as Box<dyn Objective>)
            })
        }
    })
}

/// Records already journaled under `out` for this same pipeline (empty for a new `out`).
fn resume_state(out: &Path, pipeline: &Pipeline, force_new: bool) -> Result<Vec<TrialRecord>> {
    if !out.join(JOURNAL_FILE).exists() {
        return Ok(Vec::new());
    }
    let resolved_path = out.join(RESOLVED_FILE);
    let before = std::fs::read_to_string(&resolved_path).unwrap_or_default();
    if strip_comments(&before) != strip_comments(&pipeline.resolved_yaml()?) {
        if force_new {
            discard_results(out)?;
            eprintln!(
                "--force-new: removed the results of the previous sweep in {}",
                out.display()
            );
            return Ok(Vec::new());
        }
        bail!(
            "{} holds results of a different pipeline (its {RESOLVED_FILE} differs from this one): \
             choose another --out, or add --force-new to replace them",
            out.display()
        );
    }
    let mut records = Journal::read(out)?;
    // A trial journaled twice (it cannot be, but a journal is data) counts once: the last wins.
    records.reverse();
    let mut seen = BTreeSet::new();
    records.retain(|r| seen.insert(r.spec.id));
    records.reverse();
    // Trials of the list only (an adaptive sweep's ids are whatever it asked).
    if !pipeline.config.sweep.is_adaptive() {
        let known: BTreeSet<u64> = pipeline.trials.iter().map(|t| t.id.0).collect();
        records.retain(|r| known.contains(&r.spec.id.0));
    }
    Ok(records)
}

/// Deletes what a sweep writes under `out` (and nothing else there).
fn discard_results(out: &Path) -> Result<()> {
    for name in [
        JOURNAL_FILE,
        RESOLVED_FILE,
        "trials.parquet",
        "epochs.parquet",
        "equity.parquet",
        "trades.parquet",
        "folds.parquet",
        "summary.json",
    ] {
        let path = out.join(name);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    for dir in ["tensorboard", "models"] {
        let path = out.join(dir);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

fn strip_comments(text: &str) -> String {
    text.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
}

fn write_resolved(out: &Path, pipeline: &Pipeline) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let header = format!(
        "# The pipeline as run by quantsweep {} (git {}), from {}, with --set overrides applied.\n\
         # Written {}.\n",
        env!("CARGO_PKG_VERSION"),
        env!("QUANTSWEEP_GIT_REV"),
        pipeline.path.display(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let path = out.join(RESOLVED_FILE);
    let tmp = out.join(format!(".{RESOLVED_FILE}.tmp"));
    std::fs::write(&tmp, header + &pipeline.resolved_yaml()?)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .with_context(|| format!("cannot write {}", path.display()))
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
    out: &Path,
    records: &[TrialRecord],
    metric: &quantsweep_sweep::MetricConfig,
    total: usize,
    seconds: f64,
) {
    let counts = status_counts(records);
    let described: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!(
        "{} trials of {total} in {}: {} ({seconds:.1}s this run)",
        records.len(),
        out.display(),
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
        println!(
            "{:>6}  {:>10}  {:>12}  {:>12}  {:>12}  params",
            "trial", metric.name, "total_return", "max_drawdown", "buy_hold"
        );
        let get =
            |r: &TrialRecord, k: &str| r.metrics.get(k).map_or("-".into(), |v| format!("{v:.4}"));
        for r in ranked.iter().take(5) {
            let params: Vec<String> =
                r.spec.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            println!(
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
        println!(
            "best: trial {} ({} = {:.4})",
            best.spec.id, metric.name, best.metrics[&metric.name]
        );
    }
    for r in records.iter().filter(|r| r.error.is_some()).take(3) {
        println!("trial {} failed: {}", r.spec.id, r.error.as_deref().unwrap_or_default());
    }
    let folds = if records.iter().any(|r| !r.folds.is_empty()) { ", folds.parquet" } else { "" };
    println!(
        "tables: {0}/trials.parquet, epochs.parquet, equity.parquet, trades.parquet{folds}; TensorBoard: tensorboard --logdir {0}/tensorboard",
        out.display()
    );
}
