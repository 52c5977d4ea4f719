//! The sweep's tables read back from Parquet (the names SPEC.md promises), into plain rows.

use std::collections::BTreeMap;

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::ReportError;

/// One parameter value of a trial, as its column holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// An integer column.
    Int(i64),
    /// A float column.
    Float(f64),
    /// A boolean column.
    Bool(bool),
    /// A text column (categorical values, mixed types).
    Text(String),
    /// No value for this trial.
    Null,
}

impl Cell {
    /// The value as a number, where it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(*i as f64),
            Cell::Float(f) => Some(*f),
            _ => None,
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Int(i) => write!(f, "{i}"),
            Cell::Float(x) => write!(f, "{}", crate::number(*x)),
            Cell::Bool(b) => write!(f, "{b}"),
            Cell::Text(s) => f.write_str(s),
            Cell::Null => f.write_str("-"),
        }
    }
}

/// One row of `trials.parquet`.
#[derive(Debug, Clone)]
pub struct Trial {
    /// `trial_id`.
    pub id: i64,
    /// `status`: complete, failed or pruned.
    pub status: String,
    /// `error`, for failed trials.
    pub error: Option<String>,
    /// `seed`.
    pub seed: i64,
    /// `params.<key>` in the order of [`Sweep::params`].
    pub params: Vec<Cell>,
    /// `metric.<name>` where not null.
    pub metrics: BTreeMap<String, f64>,
    /// `duration_s`.
    pub duration_s: f64,
    /// `leaky`: trained on a split that leaks the future (a seed's quirk, kept on request).
    pub leaky: bool,
}

/// One row of `epochs.parquet`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Epoch {
    /// `epoch`, from 0.
    pub epoch: i64,
    /// `train_loss`.
    pub train_loss: f64,
    /// `val_loss`, when the pipeline holds out a validation span.
    pub val_loss: Option<f64>,
}

/// One row of `equity.parquet`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// `timestamp`, milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
    /// `price`: the close the bar was valued at.
    pub price: f64,
    /// `equity`: cash plus position at that price.
    pub equity: f64,
}

/// One row of `predictions.parquet`: a model output on a test sample and its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Predicted {
    /// `output`: which of the model's outputs (0-based).
    pub output: i64,
    /// `prediction`: the model's value (a probability of "up" for up/down targets).
    pub prediction: f64,
    /// `actual`: the target's value (1 or 0 for up/down targets).
    pub actual: f64,
}

/// A sweep's results as `quantsweep run` wrote them under `--out`.
#[derive(Debug, Clone, Default)]
pub struct Sweep {
    /// The swept parameters (`params.<key>` columns), without the prefix.
    pub params: Vec<String>,
    /// Every trial, in `trial_id` order.
    pub trials: Vec<Trial>,
    /// Learning curves by trial id.
    pub epochs: BTreeMap<i64, Vec<Epoch>>,
    /// Backtest equity curves (the test span, or the stitched walk-forward folds) by trial id;
    /// a portfolio's summed curve for a trial that traded several pairs.
    pub equity: BTreeMap<i64, Vec<Bar>>,
    /// A portfolio's per-pair curves (rows of `equity.parquet` with a `pair`) by trial id and
    /// pair.
    pub pair_equity: BTreeMap<i64, BTreeMap<String, Vec<Bar>>>,
    /// Test-span predictions beside their targets by trial id.
    pub predictions: BTreeMap<i64, Vec<Predicted>>,
    /// `summary.json`, when present.
    pub summary: Option<Value>,
    /// Parameters drawn log-uniformly (from the resolved pipeline): plotted on a log axis.
    pub log_scale: std::collections::BTreeSet<String>,
}

/// The tables of a sweep's `--out`, as bytes; only `trials.parquet` is required.
#[derive(Debug, Clone, Default)]
pub struct TableBytes {
    /// `trials.parquet`.
    pub trials: Vec<u8>,
    /// `epochs.parquet`.
    pub epochs: Option<Vec<u8>>,
    /// `equity.parquet`.
    pub equity: Option<Vec<u8>>,
    /// `predictions.parquet`.
    pub predictions: Option<Vec<u8>>,
    /// `summary.json`.
    pub summary: Option<Vec<u8>>,
}

/// The record batches of a Parquet file held in memory.
fn batches(bytes: Vec<u8>, name: &str) -> Result<Vec<RecordBatch>, ReportError> {
    let bad = |e: &dyn std::fmt::Display| ReportError::Table {
        name: name.into(),
        message: e.to_string(),
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(|e| bad(&e))?
        .build()
        .map_err(|e| bad(&e))?;
    reader.map(|b| b.map_err(|e| bad(&e))).collect()
}

/// A column of `batch` by name, or an error naming the table and column.
fn column<'a>(
    batch: &'a RecordBatch,
    table: &str,
    name: &str,
) -> Result<&'a dyn Array, ReportError> {
    batch.column_by_name(name).map(|c| c.as_ref()).ok_or_else(|| ReportError::Table {
        name: table.into(),
        message: format!("has no column `{name}`"),
    })
}

fn typed<'a, T: 'static>(
    array: &'a dyn Array,
    table: &str,
    name: &str,
) -> Result<&'a T, ReportError> {
    array.as_any().downcast_ref::<T>().ok_or_else(|| ReportError::Table {
        name: table.into(),
        message: format!(
            "column `{name}` has type {}, not the one quantsweep writes",
            array.data_type()
        ),
    })
}

fn ints<'a>(b: &'a RecordBatch, table: &str, name: &str) -> Result<&'a Int64Array, ReportError> {
    typed(column(b, table, name)?, table, name)
}

fn floats<'a>(
    b: &'a RecordBatch,
    table: &str,
    name: &str,
) -> Result<&'a Float64Array, ReportError> {
    typed(column(b, table, name)?, table, name)
}

fn value(f: &Float64Array, i: usize) -> Option<f64> {
    (!f.is_null(i)).then(|| f.value(i))
}

impl Sweep {
    /// Reads the tables from their bytes: `trials.parquet` (required), `epochs.parquet`,
    /// `equity.parquet`, `predictions.parquet` and `summary.json` where the sweep wrote them.
    pub fn from_tables(tables: TableBytes) -> Result<Sweep, ReportError> {
        let TableBytes { trials, epochs, equity, predictions, summary } = tables;
        let mut sweep = Sweep::default();
        const TRIALS: &str = "trials.parquet";
        for batch in batches(trials, TRIALS)? {
            let schema = batch.schema();
            let params: Vec<String> = schema
                .fields()
                .iter()
                .filter_map(|f| f.name().strip_prefix("params.").map(str::to_owned))
                .collect();
            if sweep.params.is_empty() {
                sweep.params.clone_from(&params);
            }
            let metrics: Vec<String> = schema
                .fields()
                .iter()
                .filter_map(|f| f.name().strip_prefix("metric.").map(str::to_owned))
                .collect();
            let ids = ints(&batch, TRIALS, "trial_id")?;
            let status: &StringArray = typed(column(&batch, TRIALS, "status")?, TRIALS, "status")?;
            let error: &StringArray = typed(column(&batch, TRIALS, "error")?, TRIALS, "error")?;
            let seed = ints(&batch, TRIALS, "seed")?;
            let duration = floats(&batch, TRIALS, "duration_s")?;
            let leaky = batch
                .column_by_name("leaky")
                .and_then(|c| c.as_any().downcast_ref::<BooleanArray>().cloned());
            let metric_columns: Vec<(&String, &Float64Array)> = metrics
                .iter()
                .map(|m| Ok((m, floats(&batch, TRIALS, &format!("metric.{m}"))?)))
                .collect::<Result<_, ReportError>>()?;
            let param_columns: Vec<&dyn Array> = sweep
                .params
                .iter()
                .map(|p| column(&batch, TRIALS, &format!("params.{p}")))
                .collect::<Result<_, _>>()?;
            for i in 0..batch.num_rows() {
                sweep.trials.push(Trial {
                    id: ids.value(i),
                    status: status.value(i).to_owned(),
                    error: (!error.is_null(i)).then(|| error.value(i).to_owned()),
                    seed: seed.value(i),
                    params: param_columns.iter().map(|c| cell(*c, i)).collect(),
                    metrics: metric_columns
                        .iter()
                        .filter_map(|(m, c)| value(c, i).map(|v| ((*m).clone(), v)))
                        .collect(),
                    duration_s: duration.value(i),
                    leaky: leaky.as_ref().is_some_and(|l| !l.is_null(i) && l.value(i)),
                });
            }
        }
        sweep.trials.sort_by_key(|t| t.id);

        if let Some(bytes) = epochs {
            const EPOCHS: &str = "epochs.parquet";
            for batch in batches(bytes, EPOCHS)? {
                let ids = ints(&batch, EPOCHS, "trial_id")?;
                let epoch = ints(&batch, EPOCHS, "epoch")?;
                let train = floats(&batch, EPOCHS, "train_loss")?;
                let val = floats(&batch, EPOCHS, "val_loss")?;
                for i in 0..batch.num_rows() {
                    sweep.epochs.entry(ids.value(i)).or_default().push(Epoch {
                        epoch: epoch.value(i),
                        train_loss: train.value(i),
                        val_loss: value(val, i),
                    });
                }
            }
        }

        if let Some(bytes) = equity {
            const EQUITY: &str = "equity.parquet";
            for batch in batches(bytes, EQUITY)? {
                let ids = ints(&batch, EQUITY, "trial_id")?;
                let time: &TimestampMillisecondArray =
                    typed(column(&batch, EQUITY, "timestamp")?, EQUITY, "timestamp")?;
                let price = floats(&batch, EQUITY, "price")?;
                let equity = floats(&batch, EQUITY, "equity")?;
                let pair: Option<&StringArray> = match batch.column_by_name("pair") {
                    Some(c) => Some(typed(c, EQUITY, "pair")?),
                    None => None,
                };
                for i in 0..batch.num_rows() {
                    let bar = Bar {
                        timestamp_ms: time.value(i),
                        price: price.value(i),
                        equity: equity.value(i),
                    };
                    let id = ids.value(i);
                    match pair.filter(|p| p.is_valid(i)) {
                        Some(p) => sweep
                            .pair_equity
                            .entry(id)
                            .or_default()
                            .entry(p.value(i).to_owned())
                            .or_default()
                            .push(bar),
                        None => sweep.equity.entry(id).or_default().push(bar),
                    }
                }
            }
        }

        if let Some(bytes) = predictions {
            const PREDICTIONS: &str = "predictions.parquet";
            for batch in batches(bytes, PREDICTIONS)? {
                let ids = ints(&batch, PREDICTIONS, "trial_id")?;
                let output = ints(&batch, PREDICTIONS, "output")?;
                let prediction = floats(&batch, PREDICTIONS, "prediction")?;
                let actual = floats(&batch, PREDICTIONS, "actual")?;
                for i in 0..batch.num_rows() {
                    sweep.predictions.entry(ids.value(i)).or_default().push(Predicted {
                        output: output.value(i),
                        prediction: prediction.value(i),
                        actual: actual.value(i),
                    });
                }
            }
        }

        if let Some(bytes) = summary {
            sweep.summary = Some(serde_json::from_slice(&bytes).map_err(|e| {
                ReportError::Table { name: "summary.json".into(), message: e.to_string() }
            })?);
        }
        Ok(sweep)
    }

    /// The metric the sweep ranked by and whether higher is better, from `summary.json`
    /// (`metric: {name, goal}`).
    pub fn ranking(&self) -> Option<(String, bool)> {
        let metric = self.summary.as_ref()?.get("metric")?;
        let name = metric.get("name")?.as_str()?.to_owned();
        let maximize = metric.get("goal").and_then(Value::as_str) != Some("minimize");
        Some((name, maximize))
    }

    /// Complete trials that have `metric`, best first.
    pub fn ranked(&self, metric: &str, maximize: bool) -> Vec<&Trial> {
        let mut ranked: Vec<&Trial> = self
            .trials
            .iter()
            .filter(|t| {
                t.status == "complete" && t.metrics.get(metric).is_some_and(|v| v.is_finite())
            })
            .collect();
        ranked.sort_by(|a, b| {
            let (x, y) = (a.metrics[metric], b.metrics[metric]);
            if maximize { y.total_cmp(&x) } else { x.total_cmp(&y) }.then(a.id.cmp(&b.id))
        });
        ranked
    }

    /// How many trials have each status.
    pub fn counts(&self) -> BTreeMap<&str, usize> {
        let mut counts = BTreeMap::new();
        for t in &self.trials {
            *counts.entry(t.status.as_str()).or_insert(0) += 1;
        }
        counts
    }
}

fn cell(array: &dyn Array, i: usize) -> Cell {
    if array.is_null(i) {
        return Cell::Null;
    }
    match array.data_type() {
        DataType::Int64 => Cell::Int(array.as_primitive::<arrow::datatypes::Int64Type>().value(i)),
        DataType::Float64 => {
            Cell::Float(array.as_primitive::<arrow::datatypes::Float64Type>().value(i))
        }
        DataType::Boolean => Cell::Bool(array.as_boolean().value(i)),
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(i).to_owned()),
        _ => Cell::Null,
    }
}
