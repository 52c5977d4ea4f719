//! Where a sweep's results go: a journal that makes each finished trial durable as it
//! arrives, and the Parquet tables and `summary.json` rewritten atomically from it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, ListBuilder, StringArray,
    StringBuilder, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use quantsweep_core::{FoldSummary, ParamValue, Prediction, Trade, TrialRecord, TrialStatus};
use serde_json::json;

use crate::SweepError;
use crate::output::{Output, atomic_write};
use crate::space::{Goal, MetricConfig};

/// The journal's file name under a local output folder.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// The journal's folder on an object store: one object per group commit.
pub const JOURNAL_DIR: &str = "journal";

/// An append-only log of finished trials, one JSON line each.
///
/// [`Journal::append`] takes a record; [`Journal::commit`] makes what was appended durable
/// before the trials count as done (the runner commits each batch of arrivals at once: a group
/// commit).
///
/// - In a local folder, `journal.jsonl`: each record is written to the file at once (a killed
///   process loses nothing written), and synced to the disk itself (`fsync`) by a commit at
///   least [`Journal::SYNC_EVERY`] after the last sync, and when the sweep ends. An
///   operating-system crash can lose at most the last interval's records, whose trials then
///   run again on resume.
/// - On an object store, `journal/<start>-<sequence>.jsonl`: each commit puts the records
///   appended since the last one as one new object (stores cannot append; a put is atomic).
///   [`Journal::compact`] merges them into one at the end. A put that fails past the
///   client's own retries is tried again after [`Journal::PUT_BACKOFF`]; if the store is
///   still unreachable, the records are appended to a local file instead
///   ([`crate::local_state`]`/journal.jsonl`, synced) and the commit fails. The next run into
///   the same URL reads that file with the store's segments, and puts it on the store as
///   its first segment before any trial runs.
pub struct Journal {
    backend: Backend,
}

enum Backend {
    File {
        file: File,
        path: PathBuf,
        last_sync: std::time::Instant,
        unsynced: bool,
    },
    Objects {
        output: Output,
        pending: Vec<u8>,
        run: String,
        sequence: u64,
        /// A put failed past every retry: later commits go straight to the local file.
        down: bool,
    },
}

/// The local file that keeps an object store's journal records while the store is down.
fn kept_journal(output: &Output) -> Option<PathBuf> {
    match output {
        Output::Dir(_) => None,
        Output::Objects(sink) => Some(crate::local_state(sink.url()).join(JOURNAL_FILE)),
    }
}

impl Journal {
    /// The longest a written record waits for its sync while trials keep finishing.
    pub const SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

    /// The waits before each further try of a journal put that failed on an object store
    /// (after the client's own retries: about 1 s of them on a refused connection). About
    /// 10 s in all before the sweep stops: an outage of a few seconds costs nothing.
    pub const PUT_BACKOFF: [std::time::Duration; 3] = [
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(2),
        std::time::Duration::from_secs(4),
    ];

    /// Opens (creating if needed) the journal under `output`.
    pub fn open(output: impl Into<Output>) -> Result<Self, SweepError> {
        let backend = match output.into() {
            Output::Dir(dir) => {
                let path = dir.join(JOURNAL_FILE);
                let file = open_journal_file(&path)?;
                Backend::File { file, path, last_sync: std::time::Instant::now(), unsynced: false }
            }
            output @ Output::Objects(_) => {
                // Segments of later runs sort after earlier ones: the start time, in
                // milliseconds and zero-padded, then the process id for runs started within
                // the same millisecond.
                let since_epoch = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let run = format!("{:015}-{}", since_epoch.as_millis(), std::process::id());
                Backend::Objects { output, pending: Vec::new(), run, sequence: 0, down: false }
            }
        };
        let mut journal = Self { backend };
        journal.put_kept()?;
        Ok(journal)
    }

    /// Puts the records an earlier run kept locally while the store was down as this run's
    /// first segment, then deletes the local file. If the store is still down, the error
    /// says where the records wait.
    fn put_kept(&mut self) -> Result<(), SweepError> {
        let Backend::Objects { output, run, sequence, .. } = &mut self.backend else {
            return Ok(());
        };
        let Some(path) = kept_journal(output) else { return Ok(()) };
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(SweepError::io(&path, e)),
        };
        if !bytes.is_empty() {
            let name = format!("{JOURNAL_DIR}/{run}-{sequence:08}.jsonl");
            output
                .put(&name, &bytes)
                .map_err(|e| SweepError::KeptLocally { cause: Box::new(e), local: path.clone() })?;
            *sequence += 1;
        }
        std::fs::remove_file(&path).map_err(|e| SweepError::io(&path, e))
    }

    /// Appends one record (written to a local file at once; kept for the next commit on an
    /// object store).
    pub fn append(&mut self, record: &TrialRecord) -> Result<(), SweepError> {
        let line = |path: &str| {
            let mut line = serde_json::to_vec(record).map_err(|e| SweepError::Journal {
                path: path.into(),
                line: 0,
                message: e.to_string(),
            })?;
            line.push(b'\n');
            Ok::<_, SweepError>(line)
        };
        match &mut self.backend {
            Backend::File { file, path, unsynced, .. } => {
                let line = line(&path.display().to_string())?;
                file.write_all(&line).map_err(|e| SweepError::io(path, e))?;
                *unsynced = true;
            }
            Backend::Objects { output, pending, .. } => {
                pending.extend(line(&output.locate(JOURNAL_DIR))?);
            }
        }
        Ok(())
    }

    /// Makes the appended records durable: on an object store, always (one put); in a local
    /// folder, syncs if [`Journal::SYNC_EVERY`] has passed since the last sync.
    pub fn commit(&mut self) -> Result<(), SweepError> {
        match &mut self.backend {
            Backend::File { last_sync, .. } if last_sync.elapsed() < Self::SYNC_EVERY => Ok(()),
            _ => self.sync(),
        }
    }

    /// Makes every record appended so far durable.
    pub fn sync(&mut self) -> Result<(), SweepError> {
        match &mut self.backend {
            Backend::File { file, path, last_sync, unsynced } => {
                if *unsynced {
                    file.sync_data().map_err(|e| SweepError::io(path, e))?;
                    *unsynced = false;
                }
                *last_sync = std::time::Instant::now();
            }
            Backend::Objects { output, pending, run, sequence, down } => {
                if pending.is_empty() {
                    return Ok(());
                }
                let name = format!("{JOURNAL_DIR}/{run}-{sequence:08}.jsonl");
                let mut put = if *down {
                    Err(output.error(&name, "unreachable since an earlier put".into()))
                } else {
                    output.put(&name, pending)
                };
                for wait in Self::PUT_BACKOFF.iter().filter(|_| !*down) {
                    if put.is_ok() {
                        break;
                    }
                    std::thread::sleep(*wait);
                    put = output.put(&name, pending);
                }
                if let Err(cause) = put {
                    let Some(local) = kept_journal(output) else { return Err(cause) };
                    keep_locally(&local, pending)?;
                    pending.clear();
                    *down = true;
                    return Err(SweepError::KeptLocally { cause: Box::new(cause), local });
                }
                pending.clear();
                *sequence += 1;
            }
        }
        Ok(())
    }

    /// Whether `output` holds a journal (on an object store: or records kept locally).
    pub fn exists(output: &Output) -> Result<bool, SweepError> {
        Ok(match output {
            Output::Dir(dir) => dir.join(JOURNAL_FILE).exists(),
            Output::Objects(sink) => {
                kept_journal(output).is_some_and(|p| p.exists())
                    || !sink.list(JOURNAL_DIR).map_err(|e| output.error(JOURNAL_DIR, e))?.is_empty()
            }
        })
    }

    /// Each trial's record in the journal under `output` once, in trial-id order: a trial
    /// journaled twice (it cannot be, but a journal is data) counts once, the last record
    /// winning. What a resume and `report` read.
    pub fn read_once(output: impl Into<Output>) -> Result<Vec<TrialRecord>, SweepError> {
        let mut latest = BTreeMap::new();
        for r in Self::read(output)? {
            latest.insert(r.spec.id, r);
        }
        Ok(latest.into_values().collect())
    }

    /// Every record in the journal under `output`, in the order they were written. A last
    /// line cut short by a crash is ignored; any other unreadable line is an error naming it.
    pub fn read(output: impl Into<Output>) -> Result<Vec<TrialRecord>, SweepError> {
        let output = output.into();
        match &output {
            Output::Dir(dir) => {
                let path = dir.join(JOURNAL_FILE);
                let bytes = std::fs::read(&path).map_err(|e| SweepError::io(&path, e))?;
                parse_journal(&bytes, &path.display().to_string())
            }
            Output::Objects(sink) => {
                let mut records = Vec::new();
                for name in sink.list(JOURNAL_DIR).map_err(|e| output.error(JOURNAL_DIR, e))? {
                    let bytes = output.get(&name)?.unwrap_or_default();
                    records.extend(parse_journal(&bytes, &output.locate(&name))?);
                }
                if let Some(path) = kept_journal(&output)
                    && let Ok(bytes) = std::fs::read(&path)
                {
                    records.extend(parse_journal(&bytes, &path.display().to_string())?);
                }
                Ok(records)
            }
        }
    }

    /// Merges an object store's journal segments into one object (then deletes the others),
    /// so that a resume reads one object, not one per commit. A crash in between leaves the
    /// same records twice, which [`Journal::read`]'s users count once. Nothing to do for a
    /// local folder.
    pub fn compact(output: &Output) -> Result<(), SweepError> {
        let Output::Objects(sink) = output else { return Ok(()) };
        let names = sink.list(JOURNAL_DIR).map_err(|e| output.error(JOURNAL_DIR, e))?;
        let Some(last) = names.last() else { return Ok(()) };
        if names.len() < 2 {
            return Ok(());
        }
        let mut all = Vec::new();
        for name in &names {
            all.extend(output.get(name)?.unwrap_or_default());
        }
        // Named after the last segment (so later runs still sort after it), which it replaces.
        let merged = last.replace(".jsonl", "-merged.jsonl");
        output.put(&merged, &all)?;
        for name in &names {
            sink.delete(name).map_err(|e| output.error(name, e))?;
        }
        Ok(())
    }
}

/// Appends journal lines to the local file that keeps them while the store is down, synced.
fn keep_locally(path: &Path, lines: &[u8]) -> Result<(), SweepError> {
    let mut file = open_journal_file(path)?;
    file.write_all(lines).and_then(|()| file.sync_data()).map_err(|e| SweepError::io(path, e))
}

/// Opens a local journal file for appending (creating it and its folder), with a torn last
/// line cut off.
fn open_journal_file(path: &Path) -> Result<File, SweepError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .map_err(|e| SweepError::io(path, e))?;
    trim_torn_line(&file).map_err(|e| SweepError::io(path, e))?;
    Ok(file)
}

/// Cuts a last line that a kill left without its newline (its trial did not count and runs
/// again), so that the next record starts a line of its own instead of extending the torn one
/// into a line that no longer parses. Reads backwards from the end, a block at a time.
fn trim_torn_line(mut file: &File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    const BLOCK: u64 = 64 * 1024;
    let len = file.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; BLOCK as usize];
    while end > 0 {
        let start = end.saturating_sub(BLOCK);
        let block = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(block)?;
        if end == len && block.last() == Some(&b'\n') {
            return Ok(());
        }
        if let Some(i) = block.iter().rposition(|&b| b == b'\n') {
            return file.set_len(start + i as u64 + 1);
        }
        end = start;
    }
    file.set_len(0)
}

/// The records of one journal file or segment; `location` names it in errors.
fn parse_journal(bytes: &[u8], location: &str) -> Result<Vec<TrialRecord>, SweepError> {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    // Only a last line without its newline is torn (a crash mid-write); a whole line that
    // does not read is an error, never a trial silently run again (#23: a NaN price in a
    // portfolio's curve made every freqAI record unreadable, and the last one was dropped).
    let torn = !text.ends_with('\n');
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str(line) {
            Ok(r) => records.push(r),
            Err(_) if i + 1 == lines.len() && torn => break,
            Err(e) => {
                return Err(SweepError::Journal {
                    path: location.into(),
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(records)
}

/// Writes `trials.parquet`, `epochs.parquet`, `equity.parquet`, `trades.parquet`,
/// `predictions.parquet`, `folds.parquet` (walk-forward runs) and `summary.json` under
/// `dir`, each to a temporary name first and then renamed, so a reader never sees half a file.
/// `extra` entries (statistics of the sweep as a whole) are added to `summary.json`.
pub fn write_tables(
    output: &Output,
    records: &[TrialRecord],
    metric: &MetricConfig,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), SweepError> {
    let mut records: Vec<&TrialRecord> = records.iter().collect();
    records.sort_by_key(|r| r.spec.id);
    output.put("trials.parquet", &parquet_bytes(&trials_batch(&records)?)?)?;
    output.put("epochs.parquet", &parquet_bytes(&epochs_batch(&records)?)?)?;
    output.put("equity.parquet", &parquet_bytes(&equity_batch(&records)?)?)?;
    output.put("trades.parquet", &parquet_bytes(&trades_batch(&records)?)?)?;
    output.put("predictions.parquet", &parquet_bytes(&predictions_batch(&records)?)?)?;
    if records.iter().any(|r| !r.folds.is_empty()) {
        output.put("folds.parquet", &parquet_bytes(&folds_batch(&records)?)?)?;
    }
    let mut summary = summary(&records, metric);
    if let Some(object) = summary.as_object_mut() {
        object.extend(extra.clone());
    }
    let text = serde_json::to_vec_pretty(&summary).map_err(|e| SweepError::Table(e.to_string()))?;
    output.put("summary.json", &text)
}

/// The best complete trial by `metric` (NaN values never win).
pub fn best_trial<'a>(
    records: &[&'a TrialRecord],
    metric: &MetricConfig,
) -> Option<&'a TrialRecord> {
    let value = |r: &TrialRecord| r.metrics.get(&metric.name).copied().filter(|v| !v.is_nan());
    records
        .iter()
        .copied()
        .filter(|r| r.status == TrialStatus::Complete && value(r).is_some())
        .max_by(|a, b| {
            let (va, vb) = (value(a).unwrap_or(f64::NAN), value(b).unwrap_or(f64::NAN));
            let ord = va.total_cmp(&vb);
            let ord = if metric.goal == Goal::Minimize { ord.reverse() } else { ord };
            // On ties the earlier trial wins.
            ord.then(b.spec.id.cmp(&a.spec.id))
        })
}

fn summary(records: &[&TrialRecord], metric: &MetricConfig) -> serde_json::Value {
    let count = |s: TrialStatus| records.iter().filter(|r| r.status == s).count();
    let best = best_trial(records, metric).map(|r| {
        json!({
            "trial_id": r.spec.id.0,
            "value": r.metrics.get(&metric.name),
            "params": r.spec.params,
            "seed": r.spec.seed,
            "leaky": r.leaky,
            "metrics": r.metrics,
        })
    });
    json!({
        "trials": records.len(),
        "counts": {
            "complete": count(TrialStatus::Complete),
            "failed": count(TrialStatus::Failed),
            "pruned": count(TrialStatus::Pruned),
        },
        "metric": { "name": metric.name, "goal": metric.goal },
        // Trials trained on a shuffled (leaky) split: their validation metrics are optimistic.
        "leaky_trials": records.iter().filter(|r| r.leaky).count(),
        "best": best,
    })
}

fn utc_ms() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The Arrow type of a parameter's column: integers stay integers, mixed numbers become
/// floats, anything else mixed becomes text.
fn param_type(values: &[Option<&ParamValue>]) -> DataType {
    let present: Vec<&ParamValue> = values.iter().flatten().copied().collect();
    if present.iter().all(|v| matches!(v, ParamValue::Int(_))) {
        DataType::Int64
    } else if present.iter().all(|v| matches!(v, ParamValue::Int(_) | ParamValue::Float(_))) {
        DataType::Float64
    } else if present.iter().all(|v| matches!(v, ParamValue::Bool(_))) {
        DataType::Boolean
    } else {
        DataType::Utf8
    }
}

fn param_column(values: &[Option<&ParamValue>], ty: &DataType) -> ArrayRef {
    match ty {
        DataType::Int64 => Arc::new(Int64Array::from_iter(values.iter().map(|v| match v {
            Some(ParamValue::Int(i)) => Some(*i),
            _ => None,
        }))),
        DataType::Float64 => {
            Arc::new(Float64Array::from_iter(values.iter().map(|v| v.and_then(ParamValue::as_f64))))
        }
        DataType::Boolean => Arc::new(BooleanArray::from_iter(values.iter().map(|v| match v {
            Some(ParamValue::Bool(b)) => Some(*b),
            _ => None,
        }))),
        _ => Arc::new(StringArray::from_iter(values.iter().map(|v| v.map(ToString::to_string)))),
    }
}

fn trials_batch(records: &[&TrialRecord]) -> Result<RecordBatch, SweepError> {
    let mut fields = vec![
        Field::new("trial_id", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("error", DataType::Utf8, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(records.iter().map(|r| r.spec.id.0 as i64))),
        Arc::new(StringArray::from_iter_values(records.iter().map(|r| r.status.as_str()))),
        Arc::new(StringArray::from_iter(records.iter().map(|r| r.error.as_deref()))),
    ];
    let param_keys: BTreeSet<&String> = records.iter().flat_map(|r| r.spec.params.keys()).collect();
    for key in param_keys {
        let values: Vec<Option<&ParamValue>> =
            records.iter().map(|r| r.spec.params.get(key)).collect();
        let ty = param_type(&values);
        columns.push(param_column(&values, &ty));
        fields.push(Field::new(format!("params.{key}"), ty, true));
    }
    fields.push(Field::new("seed", DataType::Int64, false));
    columns
        .push(Arc::new(Int64Array::from_iter_values(records.iter().map(|r| r.spec.seed as i64))));
    let metric_names: BTreeSet<&String> = records.iter().flat_map(|r| r.metrics.keys()).collect();
    for name in metric_names {
        fields.push(Field::new(format!("metric.{name}"), DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter(
            records.iter().map(|r| r.metrics.get(name).copied()),
        )));
    }
    fields.extend([
        Field::new("started_at", utc_ms(), false),
        Field::new("finished_at", utc_ms(), false),
        Field::new("duration_s", DataType::Float64, false),
        Field::new("worker", DataType::Int64, false),
        Field::new("device", DataType::Utf8, false),
        Field::new("epochs", DataType::Int64, false),
        Field::new("leaky", DataType::Boolean, false),
        Field::new("attempts", DataType::Int64, false),
    ]);
    let mut attempt_errors = ListBuilder::new(StringBuilder::new());
    for r in records {
        attempt_errors.append_value(r.attempt_errors.iter().map(Some));
    }
    let attempt_errors = attempt_errors.finish();
    columns.extend([
        Arc::new(
            TimestampMillisecondArray::from_iter_values(records.iter().map(|r| r.started_at_ms))
                .with_timezone("UTC"),
        ) as ArrayRef,
        Arc::new(
            TimestampMillisecondArray::from_iter_values(records.iter().map(|r| r.finished_at_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(Float64Array::from_iter_values(records.iter().map(|r| r.duration_s))),
        Arc::new(Int64Array::from_iter_values(records.iter().map(|r| r.worker as i64))),
        Arc::new(StringArray::from_iter_values(records.iter().map(|r| r.device.as_str()))),
        Arc::new(Int64Array::from_iter_values(records.iter().map(|r| r.epochs.len() as i64))),
        Arc::new(BooleanArray::from_iter(records.iter().map(|r| Some(r.leaky)))),
        Arc::new(Int64Array::from_iter_values(records.iter().map(|r| i64::from(r.attempts)))),
    ]);
    fields.push(Field::new("attempt_errors", attempt_errors.data_type().clone(), false));
    columns.push(Arc::new(attempt_errors));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

fn epochs_batch(records: &[&TrialRecord]) -> Result<RecordBatch, SweepError> {
    let rows: Vec<(u64, usize, &quantsweep_core::EpochMetrics)> = records
        .iter()
        .flat_map(|r| r.epochs.iter().enumerate().map(move |(e, m)| (r.spec.id.0, e, m)))
        .collect();
    let extra: BTreeSet<&String> = rows.iter().flat_map(|(_, _, m)| m.extra.keys()).collect();
    let mut fields = vec![
        Field::new("trial_id", DataType::Int64, false),
        Field::new("epoch", DataType::Int64, false),
        Field::new("train_loss", DataType::Float64, false),
        Field::new("val_loss", DataType::Float64, true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(t, _, _)| *t as i64))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, e, _)| *e as i64))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|(_, _, m)| m.train_loss))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|(_, _, m)| m.val_loss))),
    ];
    for name in extra {
        fields.push(Field::new(name.as_str(), DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter(
            rows.iter().map(|(_, _, m)| m.extra.get(name).copied()),
        )));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

fn equity_batch(records: &[&TrialRecord]) -> Result<RecordBatch, SweepError> {
    let rows: Vec<(u64, &quantsweep_core::EquityPoint)> =
        records.iter().flat_map(|r| r.equity.iter().map(move |p| (r.spec.id.0, p))).collect();
    let f = |get: fn(&quantsweep_core::EquityPoint) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|(_, p)| get(p))))
    };
    let mut fields = vec![
        Field::new("trial_id", DataType::Int64, false),
        Field::new("timestamp", utc_ms(), false),
        Field::new("price", DataType::Float64, false),
        Field::new("position", DataType::Float64, false),
        Field::new("cash", DataType::Float64, false),
        Field::new("equity", DataType::Float64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(t, _)| *t as i64))),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|(_, p)| p.timestamp_ms))
                .with_timezone("UTC"),
        ),
        f(|p| p.price),
        f(|p| p.position),
        f(|p| p.cash),
        f(|p| p.equity),
    ];
    // Walk-forward runs say which fold's model decided each bar; portfolios, which pair a
    // curve is of (null on the portfolio's own).
    push_fold(&mut fields, &mut columns, rows.iter().map(|(_, p)| p.fold));
    push_pair(&mut fields, &mut columns, rows.iter().map(|(_, p)| p.pair.as_deref()));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Adds the nullable `fold` column when any row has a walk-forward fold.
fn push_fold(
    fields: &mut Vec<Field>,
    columns: &mut Vec<ArrayRef>,
    folds: impl Iterator<Item = Option<u32>> + Clone,
) {
    if folds.clone().any(|f| f.is_some()) {
        fields.push(Field::new("fold", DataType::Int64, true));
        columns.push(Arc::new(Int64Array::from_iter(folds.map(|f| f.map(i64::from)))));
    }
}

/// Adds the nullable `pair` column when any row belongs to one pair of a portfolio.
fn push_pair<'a>(
    fields: &mut Vec<Field>,
    columns: &mut Vec<ArrayRef>,
    pairs: impl Iterator<Item = Option<&'a str>> + Clone,
) {
    if pairs.clone().any(|p| p.is_some()) {
        fields.push(Field::new("pair", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter(pairs)));
    }
}

/// One row per trial, test sample and model output: the prediction beside the target.
fn predictions_batch(records: &[&TrialRecord]) -> Result<RecordBatch, SweepError> {
    let rows: Vec<(u64, &Prediction)> =
        records.iter().flat_map(|r| r.predictions.iter().map(move |p| (r.spec.id.0, p))).collect();
    let mut fields = vec![
        Field::new("trial_id", DataType::Int64, false),
        Field::new("timestamp", utc_ms(), false),
        Field::new("output", DataType::Int64, false),
        Field::new("prediction", DataType::Float64, false),
        Field::new("actual", DataType::Float64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(t, _)| *t as i64))),
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|(_, p)| p.timestamp_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, p)| i64::from(p.output)))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|(_, p)| p.prediction))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|(_, p)| p.actual))),
    ];
    push_fold(&mut fields, &mut columns, rows.iter().map(|(_, p)| p.fold));
    push_pair(&mut fields, &mut columns, rows.iter().map(|(_, p)| p.pair.as_deref()));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// One row per trial and walk-forward fold: its spans and metrics (`metric.<name>`).
fn folds_batch(records: &[&TrialRecord]) -> Result<RecordBatch, SweepError> {
    let rows: Vec<(u64, &FoldSummary)> =
        records.iter().flat_map(|r| r.folds.iter().map(move |f| (r.spec.id.0, f))).collect();
    let time = |get: fn(&FoldSummary) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|(_, f)| get(f)))
                .with_timezone("UTC"),
        )
    };
    let mut fields = vec![
        Field::new("trial_id", DataType::Int64, false),
        Field::new("fold", DataType::Int64, false),
        Field::new("train_start", utc_ms(), false),
        Field::new("train_end", utc_ms(), false),
        Field::new("test_start", utc_ms(), false),
        Field::new("test_end", utc_ms(), false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(t, _)| *t as i64))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, f)| i64::from(f.fold)))),
        time(|f| f.train_start_ms),
        time(|f| f.train_end_ms),
        time(|f| f.test_start_ms),
        time(|f| f.test_end_ms),
    ];
    let names: BTreeSet<&String> = rows.iter().flat_map(|(_, f)| f.metrics.keys()).collect();
    for name in names {
        fields.push(Field::new(format!("metric.{name}"), DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from_iter(
            rows.iter().map(|(_, f)| f.metrics.get(name).copied()),
        )));
    }
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

fn trades_batch(records: &[&TrialRecord]) -> Result<RecordBatch, SweepError> {
    let rows: Vec<(u64, &Trade)> =
        records.iter().flat_map(|r| r.trades.iter().map(move |t| (r.spec.id.0, t))).collect();
    let f = |get: fn(&Trade) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|(_, t)| get(t))))
    };
    let time = |get: fn(&Trade) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|(_, t)| get(t)))
                .with_timezone("UTC"),
        )
    };
    let mut fields = vec![
        Field::new("trial_id", DataType::Int64, false),
        Field::new("entry_time", utc_ms(), false),
        Field::new("exit_time", utc_ms(), false),
        Field::new("side", DataType::Utf8, false),
        Field::new("size", DataType::Float64, false),
        Field::new("entry_price", DataType::Float64, false),
        Field::new("exit_price", DataType::Float64, false),
        Field::new("fees", DataType::Float64, false),
        Field::new("pnl", DataType::Float64, false),
        Field::new("closed", DataType::Boolean, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(t, _)| *t as i64))),
        time(|t| t.entry_ms),
        time(|t| t.exit_ms),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|(_, t)| t.side.as_str()))),
        f(|t| t.size),
        f(|t| t.entry_price),
        f(|t| t.exit_price),
        f(|t| t.fees),
        f(|t| t.pnl),
        Arc::new(BooleanArray::from_iter(rows.iter().map(|(_, t)| Some(t.closed)))),
    ];
    push_pair(&mut fields, &mut columns, rows.iter().map(|(_, t)| t.pair.as_deref()));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?)
}

/// Writes `batch` as a zstd-compressed Parquet file, atomically (through a temporary file in
/// the same folder, renamed over `path`).
pub fn write_parquet(path: &Path, batch: RecordBatch) -> Result<(), SweepError> {
    let bytes = parquet_bytes(&batch)?;
    atomic_write(path, |file| file.write_all(&bytes))
}

/// `batch` as the bytes of a zstd-compressed Parquet file.
fn parquet_bytes(batch: &RecordBatch) -> Result<Vec<u8>, SweepError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), Some(props))
        .map_err(|e| SweepError::Table(e.to_string()))?;
    writer.write(batch).map_err(|e| SweepError::Table(e.to_string()))?;
    writer.close().map_err(|e| SweepError::Table(e.to_string()))?;
    Ok(bytes)
}

/// Counts of records by status, for progress lines and the closing message.
pub fn status_counts(records: &[TrialRecord]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::new();
    for r in records {
        *counts.entry(r.status.as_str()).or_insert(0) += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ObjectSink;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use quantsweep_core::{EpochMetrics, Params, TrialError, TrialId, TrialResult, TrialSpec};

    fn record(id: u64, lr: ParamValue, outcome: Result<TrialResult, TrialError>) -> TrialRecord {
        let mut params = Params::new();
        params.insert("train.lr".into(), lr);
        let spec = TrialSpec { id: TrialId(id), params, seed: 1 };
        TrialRecord::from_outcome(spec, outcome, 0, 1_000, 2_000, 1.0)
    }

    fn complete(sharpe: f64) -> Result<TrialResult, TrialError> {
        let mut r = TrialResult { device: "cpu".into(), ..TrialResult::default() };
        r.metrics.insert("sharpe".into(), sharpe);
        r.epochs = vec![EpochMetrics::new(0.5), EpochMetrics::new(0.25)];
        Ok(r)
    }

    #[test]
    fn tables_round_trip_through_parquet() {
        let dir = tempfile::tempdir().expect("temp dir");
        let records = vec![
            record(
                1,
                ParamValue::Float(0.01),
                Err(TrialError::failed("loss became NaN at epoch 3")),
            ),
            record(0, ParamValue::Int(1), complete(1.5)),
        ];
        write_tables(&dir.path().into(), &records, &MetricConfig::default(), &Default::default())
            .expect("write");
        let file = File::open(dir.path().join("trials.parquet")).expect("trials.parquet");
        let batch = ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet")
            .build()
            .expect("reader")
            .next()
            .expect("a batch")
            .expect("valid batch");
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "trial_id",
                "status",
                "error",
                "params.train.lr",
                "seed",
                "metric.sharpe",
                "started_at",
                "finished_at",
                "duration_s",
                "worker",
                "device",
                "epochs",
                "leaky",
                "attempts",
                "attempt_errors"
            ]
        );
        // Mixed int and float parameter values become one float column.
        assert_eq!(schema.field(3).data_type(), &DataType::Float64);
        assert_eq!(batch.num_rows(), 2);
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join("summary.json")).expect("summary.json"),
        )
        .expect("json");
        assert_eq!(summary["best"]["trial_id"], 0);
        assert_eq!(summary["counts"]["failed"], 1);
        assert!(!dir.path().join(".trials.parquet.tmp").exists());
    }

    #[test]
    fn best_trial_respects_goal_and_skips_nan() {
        let rs = [
            record(0, ParamValue::Int(1), complete(f64::NAN)),
            record(1, ParamValue::Int(1), complete(0.5)),
            record(2, ParamValue::Int(1), complete(2.0)),
        ];
        let refs: Vec<&TrialRecord> = rs.iter().collect();
        let max = MetricConfig { name: "sharpe".into(), goal: Goal::Maximize };
        let min = MetricConfig { name: "sharpe".into(), goal: Goal::Minimize };
        assert_eq!(best_trial(&refs, &max).map(|r| r.spec.id.0), Some(2));
        assert_eq!(best_trial(&refs, &min).map(|r| r.spec.id.0), Some(1));
    }

    #[test]
    fn a_torn_last_journal_line_is_ignored_and_cut_before_the_next_append() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut j = Journal::open(dir.path()).expect("journal");
        j.append(&record(0, ParamValue::Int(1), complete(1.0))).expect("append");
        drop(j);
        let mut f =
            OpenOptions::new().append(true).open(dir.path().join(JOURNAL_FILE)).expect("open");
        f.write_all(b"{\"spec\": {\"id\"").expect("torn write");
        assert_eq!(Journal::read(dir.path()).expect("read").len(), 1);
        // The resumed run cuts the torn line before appending: its records are whole lines.
        let mut j = Journal::open(dir.path()).expect("journal reopened");
        j.append(&record(1, ParamValue::Int(1), complete(2.0))).expect("append");
        drop(j);
        let ids: Vec<u64> =
            Journal::read(dir.path()).expect("read").iter().map(|r| r.spec.id.0).collect();
        assert_eq!(ids, [0, 1]);
        // A journal that is one torn line (killed during its first write) starts empty.
        std::fs::write(dir.path().join(JOURNAL_FILE), b"{\"spec\"").expect("write");
        drop(Journal::open(dir.path()).expect("journal"));
        assert_eq!(std::fs::read(dir.path().join(JOURNAL_FILE)).expect("read"), b"");
    }

    #[test]
    fn an_object_store_journal_is_one_object_per_commit_then_merged() {
        let sink = Arc::new(crate::MemorySink::default());
        let output = Output::Objects(sink.clone());
        assert!(!Journal::exists(&output).expect("list"));
        let mut j = Journal::open(output.clone()).expect("journal");
        j.append(&record(0, ParamValue::Int(1), complete(1.0))).expect("append");
        j.append(&record(1, ParamValue::Int(2), complete(f64::NAN))).expect("append");
        // Nothing is put before the commit, then one object for the group.
        assert!(sink.names().is_empty());
        j.commit().expect("commit");
        j.commit().expect("an empty commit puts nothing");
        j.append(&record(2, ParamValue::Int(3), complete(2.0))).expect("append");
        j.sync().expect("sync");
        assert_eq!(sink.list(JOURNAL_DIR).expect("list").len(), 2);
        assert!(Journal::exists(&output).expect("list"));
        // A second run (a resume) writes segments that sort after the first run's.
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut again = Journal::open(output.clone()).expect("journal");
        again.append(&record(3, ParamValue::Int(4), complete(3.0))).expect("append");
        again.sync().expect("sync");
        let ids = |rs: Vec<TrialRecord>| rs.iter().map(|r| r.spec.id.0).collect::<Vec<_>>();
        assert_eq!(ids(Journal::read(output.clone()).expect("read")), [0, 1, 2, 3]);
        let back = Journal::read(output.clone()).expect("read");
        assert!(back[1].metrics["sharpe"].is_nan());

        Journal::compact(&output).expect("compact");
        let names = sink.list(JOURNAL_DIR).expect("list");
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].ends_with("-merged.jsonl"), "{names:?}");
        assert_eq!(ids(Journal::read(output.clone()).expect("read")), [0, 1, 2, 3]);
        // A run after the merge still sorts after it.
        std::thread::sleep(std::time::Duration::from_millis(2));
        let mut later = Journal::open(output.clone()).expect("journal");
        later.append(&record(4, ParamValue::Int(5), complete(3.0))).expect("append");
        later.sync().expect("sync");
        assert_eq!(ids(Journal::read(output).expect("read")), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn tables_go_to_an_object_store_whole() {
        let sink = Arc::new(crate::MemorySink::default());
        let output = Output::Objects(sink.clone());
        let records = vec![record(0, ParamValue::Int(1), complete(1.5))];
        write_tables(&output, &records, &MetricConfig::default(), &Default::default())
            .expect("write");
        assert_eq!(
            sink.names(),
            [
                "epochs.parquet",
                "equity.parquet",
                "predictions.parquet",
                "summary.json",
                "trades.parquet",
                "trials.parquet"
            ]
        );
        let bytes = sink.get("trials.parquet").expect("get").expect("trials.parquet");
        let rows: usize = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .expect("parquet")
            .build()
            .expect("reader")
            .map(|b| b.expect("batch").num_rows())
            .sum();
        assert_eq!(rows, 1);
        // A store that refuses a put is an error naming the object.
        let failing = Output::Objects(Arc::new(crate::MemorySink::failing_after(0)));
        let err = write_tables(&failing, &records, &MetricConfig::default(), &Default::default())
            .expect_err("store down");
        assert_eq!(err.to_string(), "memory:///sweep/trials.parquet: the store is unreachable");
    }
}
