//! Where a sweep's results go: a journal that makes each finished trial durable as it
//! arrives, and the Parquet tables and `summary.json` rewritten atomically from it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use quantsweep_core::{FoldSummary, ParamValue, Trade, TrialRecord, TrialStatus};
use serde_json::json;

use crate::SweepError;
use crate::space::{Goal, MetricConfig};

/// The journal's file name under the output folder.
pub const JOURNAL_FILE: &str = "journal.jsonl";

/// An append-only log of finished trials, one JSON line each.
///
/// Each record is written to the file at once (a killed process loses nothing written), and
/// synced to the disk itself (`fsync`) when at least [`Journal::SYNC_EVERY`] has passed since
/// the last sync, and when the sweep ends: a group commit. Trials lasting longer than that are
/// synced one by one; a burst of short ones shares a sync. An operating-system crash can lose
/// at most the last interval's records, whose trials then run again on resume.
pub struct Journal {
    file: File,
    path: PathBuf,
    last_sync: std::time::Instant,
    unsynced: bool,
}

impl Journal {
    /// The longest a written record waits for its sync while trials keep finishing.
    pub const SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(50);

    /// Opens (creating if needed) `dir/journal.jsonl` for appending.
    pub fn open(dir: &Path) -> Result<Self, SweepError> {
        std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
        let path = dir.join(JOURNAL_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| SweepError::io(&path, e))?;
        Ok(Self { file, path, last_sync: std::time::Instant::now(), unsynced: false })
    }

    /// Appends one record: written at once, synced with the others of its interval.
    pub fn append(&mut self, record: &TrialRecord) -> Result<(), SweepError> {
        let mut line = serde_json::to_vec(record).map_err(|e| SweepError::Journal {
            path: self.path.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| SweepError::io(&self.path, e))?;
        self.unsynced = true;
        if self.last_sync.elapsed() >= Self::SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    /// Syncs every record written so far to the disk.
    pub fn sync(&mut self) -> Result<(), SweepError> {
        if self.unsynced {
            self.file.sync_data().map_err(|e| SweepError::io(&self.path, e))?;
            self.unsynced = false;
        }
        self.last_sync = std::time::Instant::now();
        Ok(())
    }

    /// Every record in `dir/journal.jsonl`, in the order they were written. A last line cut
    /// short by a crash is ignored; any other unreadable line is an error naming it.
    pub fn read(dir: &Path) -> Result<Vec<TrialRecord>, SweepError> {
        let path = dir.join(JOURNAL_FILE);
        let file = File::open(&path).map_err(|e| SweepError::io(&path, e))?;
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| SweepError::io(&path, e))?;
        let mut records = Vec::with_capacity(lines.len());
        for (i, line) in lines.iter().enumerate() {
            match serde_json::from_str(line) {
                Ok(r) => records.push(r),
                Err(_) if i + 1 == lines.len() => break,
                Err(e) => {
                    return Err(SweepError::Journal {
                        path: path.clone(),
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            }
        }
        Ok(records)
    }
}

/// Writes `trials.parquet`, `epochs.parquet`, `equity.parquet`, `trades.parquet`,
/// `folds.parquet` (walk-forward runs) and `summary.json` under
/// `dir`, each to a temporary name first and then renamed, so a reader never sees half a file.
/// `extra` entries (statistics of the sweep as a whole) are added to `summary.json`.
pub fn write_tables(
    dir: &Path,
    records: &[TrialRecord],
    metric: &MetricConfig,
    extra: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), SweepError> {
    let mut records: Vec<&TrialRecord> = records.iter().collect();
    records.sort_by_key(|r| r.spec.id);
    write_parquet(&dir.join("trials.parquet"), trials_batch(&records)?)?;
    write_parquet(&dir.join("epochs.parquet"), epochs_batch(&records)?)?;
    write_parquet(&dir.join("equity.parquet"), equity_batch(&records)?)?;
    write_parquet(&dir.join("trades.parquet"), trades_batch(&records)?)?;
    if records.iter().any(|r| !r.folds.is_empty()) {
        write_parquet(&dir.join("folds.parquet"), folds_batch(&records)?)?;
    }
    let mut summary = summary(&records, metric);
    if let Some(object) = summary.as_object_mut() {
        object.extend(extra.clone());
    }
    let text = serde_json::to_vec_pretty(&summary).map_err(|e| SweepError::Table(e.to_string()))?;
    atomic_write(&dir.join("summary.json"), |f| f.write_all(&text))
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
    ]);
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
    ]);
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
    // Walk-forward runs say which fold's model decided each bar.
    if rows.iter().any(|(_, p)| p.fold.is_some()) {
        fields.push(Field::new("fold", DataType::Int64, true));
        columns
            .push(Arc::new(Int64Array::from_iter(rows.iter().map(|(_, p)| p.fold.map(i64::from)))));
    }
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
    let schema = Schema::new(vec![
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
    ]);
    let columns: Vec<ArrayRef> = vec![
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
    Ok(RecordBatch::try_new(Arc::new(schema), columns)?)
}

/// Writes `batch` as a zstd-compressed Parquet file, atomically (through a temporary file in
/// the same folder, renamed over `path`).
pub fn write_parquet(path: &Path, batch: RecordBatch) -> Result<(), SweepError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    atomic_write(path, |file| {
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))
            .map_err(std::io::Error::other)?;
        writer.write(&batch).map_err(std::io::Error::other)?;
        writer.close().map_err(std::io::Error::other)?;
        Ok(())
    })
}

/// Writes through a temporary file in the same folder, syncs it, then renames it over `path`.
fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), SweepError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp"));
    let result = File::create(&tmp).and_then(|mut f| {
        write(&mut f)?;
        f.sync_all()
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(SweepError::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| SweepError::io(path, e))
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
        write_tables(dir.path(), &records, &MetricConfig::default(), &Default::default())
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
                "leaky"
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
    fn a_torn_last_journal_line_is_ignored() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut j = Journal::open(dir.path()).expect("journal");
        j.append(&record(0, ParamValue::Int(1), complete(1.0))).expect("append");
        drop(j);
        let mut f =
            OpenOptions::new().append(true).open(dir.path().join(JOURNAL_FILE)).expect("open");
        f.write_all(b"{\"spec\": {\"id\"").expect("torn write");
        assert_eq!(Journal::read(dir.path()).expect("read").len(), 1);
    }
}
