//! `quantsweep features`: the feature table a pipeline trains on, as Parquet or CSV.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use quantsweep_features::targets::target_columns;
use quantsweep_features::{Dataset, Scale};

use crate::args::FeaturesArgs;
use crate::config::Pipeline;
use crate::objective::{MarketCandles, build_table, load_markets, load_pairs};

/// A column of the output: a name and its values (NaN written as null / empty).
enum Column {
    Number(String, Vec<f64>),
    Text(String, Vec<Option<String>>),
}

/// Writes `timestamp`, every feature column, the model inputs as the model sees them
/// (`input.NAME`, scaled; left out for `window.scale: minmax`, which scales each window on
/// its own), the target columns, and `split` (`train`, `val`, `test`, or empty for bars that
/// are not a sample's decision bar).
pub fn features(args: &FeaturesArgs) -> Result<()> {
    let pipeline = Pipeline::load_for_features(&args.pipeline.pipeline, &args.pipeline.overrides)?;
    let path = args.pipeline.pipeline.display();
    let config = &pipeline.config;
    let markets = load_markets(config).with_context(|| path.to_string())?;
    if config.data.universe.is_some() {
        return universe_features(args, &pipeline, &markets);
    }
    let [MarketCandles { candles, .. }, rest @ ..] = markets.as_slice() else {
        bail!("{path}: data names no market");
    };
    if let (Some(pair), false) = (&markets[0].pair, rest.is_empty()) {
        eprintln!(
            "note: data.pair lists {} pairs; this is the table of the first, {pair} \
             (--set data.pair=PAIR for another)",
            markets.len()
        );
    }
    let pairs = load_pairs(config, []).with_context(|| path.to_string())?;
    let table = build_table(config, candles, &pairs).with_context(|| path.to_string())?;
    let data = Dataset::build(candles, &table, &config.window, &config.target, &config.split)
        .with_context(|| path.to_string())?;

    let mut columns: Vec<Column> = Vec::new();
    for (name, values) in &table.columns {
        columns.push(Column::Number(name.clone(), values.clone()));
    }
    if config.window.scale != Scale::Minmax {
        for (name, (mean, std)) in data.input_names.iter().zip(&data.scaler) {
            let raw = table.column(name).context("an input column")?;
            let scaled = raw.iter().map(|v| (v - mean) / std).collect();
            columns.push(Column::Number(format!("input.{name}"), scaled));
        }
    }
    for (name, values) in
        config.target.names().into_iter().zip(target_columns(candles, &config.target))
    {
        columns.push(Column::Number(name, values));
    }
    let mut split = vec![None; candles.len()];
    for (span, label) in [(&data.train, "train"), (&data.val, "val"), (&data.test, "test")] {
        for s in span.clone() {
            split[data.decision_row[s]] = Some(label.to_owned());
        }
    }
    columns.push(Column::Text("split".into(), split));
    write(&args.out, &candles.timestamp_ms, columns)?;
    eprintln!(
        "wrote {}: {} rows, {} feature columns, {} samples (train {}, validation {}, test {}{})",
        args.out.display(),
        candles.len(),
        table.columns.len(),
        data.len(),
        data.train.len(),
        data.val.len(),
        data.test.len(),
        if data.leaky() { format!("; leaky: {}", data.leaks.join(", ")) } else { String::new() }
    );
    Ok(())
}

/// Writes `columns` beside `timestamps` as Parquet or CSV, by `out`'s extension.
fn write(out: &Path, timestamps: &[i64], columns: Vec<Column>) -> Result<()> {
    match out.extension().and_then(|e| e.to_str()) {
        Some("parquet") => write_parquet(out, timestamps, columns),
        Some("csv") => write_csv(out, timestamps, &columns),
        _ => bail!("--out: {} must end in .parquet or .csv", out.display()),
    }
}

/// A universe's table: every asset's rows one after the other, with an `asset` column; the
/// target as the model sees it (a cross-sectional label across the universe); `split` of the
/// first fold's pooled spans. Inputs scaled as the model sees them (`input.NAME`) only where
/// one scaler serves every asset (`scale: none`, or `standard` with `scale_by: universe`).
fn universe_features(
    args: &FeaturesArgs,
    pipeline: &Pipeline,
    markets: &[MarketCandles],
) -> Result<()> {
    let path = args.pipeline.pipeline.display();
    let config = &pipeline.config;
    let pairs = load_pairs(config, []).with_context(|| path.to_string())?;
    let folds = crate::universe::build_universe_folds(config, markets, &pairs)
        .with_context(|| path.to_string())?;
    let data = &folds[0].dataset;
    let tables: Vec<_> = markets
        .iter()
        .map(|m| build_table(config, &m.candles, &pairs))
        .collect::<Result<_>>()
        .with_context(|| path.to_string())?;
    let targets: Vec<Vec<Vec<f64>>> = if config.target.is_cross_sectional() {
        let times: Vec<&[i64]> = markets.iter().map(|m| &m.candles.timestamp_ms[..]).collect();
        let forward: Vec<Vec<f64>> = markets
            .iter()
            .map(|m| target_columns(&m.candles, &config.target).swap_remove(0))
            .collect();
        quantsweep_features::targets::cross_sectional(&times, &forward, &config.target)
            .into_iter()
            .map(|c| vec![c])
            .collect()
    } else {
        markets.iter().map(|m| target_columns(&m.candles, &config.target)).collect()
    };
    let starts: Vec<usize> = markets
        .iter()
        .scan(0, |at, m| {
            let start = *at;
            *at += m.candles.len();
            Some(start)
        })
        .collect();
    let rows: usize = markets.iter().map(|m| m.candles.len()).sum();
    let timestamps: Vec<i64> =
        markets.iter().flat_map(|m| m.candles.timestamp_ms.iter().copied()).collect();
    let asset: Vec<Option<String>> =
        markets.iter().flat_map(|m| std::iter::repeat_n(m.pair.clone(), m.candles.len())).collect();
    let mut columns = vec![Column::Text("asset".into(), asset)];
    for (k, (name, _)) in tables[0].columns.iter().enumerate() {
        let values = tables.iter().flat_map(|t| t.columns[k].1.iter().copied()).collect();
        columns.push(Column::Number(name.clone(), values));
    }
    let one_scaler = config.window.scale == Scale::None
        || config.window.scale_by == quantsweep_features::ScaleBy::Universe;
    if config.window.scale != Scale::Minmax && one_scaler {
        for (name, (mean, std)) in data.input_names.iter().zip(&data.scaler) {
            let values = tables
                .iter()
                .flat_map(|t| t.column(name).unwrap_or(&[]).iter().map(|v| (v - mean) / std))
                .collect();
            columns.push(Column::Number(format!("input.{name}"), values));
        }
    }
    for (j, name) in config.target.names().into_iter().enumerate() {
        let values = targets.iter().flat_map(|t| t[j].iter().copied()).collect();
        columns.push(Column::Number(name, values));
    }
    let mut split = vec![None; rows];
    for (span, label) in [(&data.train, "train"), (&data.val, "val"), (&data.test, "test")] {
        for s in span.clone() {
            split[starts[data.asset[s] as usize] + data.decision_row[s]] = Some(label.to_owned());
        }
    }
    columns.push(Column::Text("split".into(), split));
    write(&args.out, &timestamps, columns)?;
    eprintln!(
        "wrote {}: {rows} rows of {} assets, {} feature columns, the first fold's {} samples \
         (train {}, validation {}, test {})",
        args.out.display(),
        markets.len(),
        tables[0].columns.len(),
        data.len(),
        data.train.len(),
        data.val.len(),
        data.test.len(),
    );
    Ok(())
}

fn write_parquet(out: &Path, timestamps: &[i64], columns: Vec<Column>) -> Result<()> {
    let utc = DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()));
    let mut fields = vec![Field::new("timestamp", utc, false)];
    let mut arrays: Vec<ArrayRef> =
        vec![Arc::new(TimestampMillisecondArray::from(timestamps.to_vec()).with_timezone("UTC"))];
    for column in columns {
        match column {
            Column::Number(name, values) => {
                fields.push(Field::new(name, DataType::Float64, true));
                let values = values.into_iter().map(|v| (!v.is_nan()).then_some(v));
                arrays.push(Arc::new(Float64Array::from_iter(values)));
            }
            Column::Text(name, values) => {
                fields.push(Field::new(name, DataType::Utf8, true));
                arrays.push(Arc::new(StringArray::from(values)));
            }
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?;
    quantsweep_sweep::write_parquet(out, batch)?;
    Ok(())
}

fn write_csv(out: &Path, timestamps: &[i64], columns: &[Column]) -> Result<()> {
    let mut text = String::from("timestamp");
    for column in columns {
        let (Column::Number(name, _) | Column::Text(name, _)) = column;
        text.push(',');
        text.push_str(name);
    }
    text.push('\n');
    for (i, &t) in timestamps.iter().enumerate() {
        let time = chrono::DateTime::from_timestamp_millis(t).context("a timestamp")?;
        text.push_str(&time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
        for column in columns {
            text.push(',');
            match column {
                Column::Number(_, v) if v[i].is_nan() => {}
                Column::Number(_, v) => write!(text, "{}", v[i])?,
                Column::Text(_, v) => text.push_str(v[i].as_deref().unwrap_or("")),
            }
        }
        text.push('\n');
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))
}
