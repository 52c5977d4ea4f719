//! Long tables: one row per asset and bar, a column naming the asset (`Name`, `symbol`), in
//! CSV or Parquet. Each asset's rows are validated and repaired on their own, exactly as a
//! file of that asset alone would be, and reported on their own.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::validate::{self, Parsed};
use crate::{Candles, Format, IngestError, LoadOptions, LoadReport};

/// Each asset of the long table in `bytes` (read from `path`, which names it in errors), by
/// the values of its column `symbol` (matched case-insensitively), in name order.
pub fn load_by_symbol(
    bytes: Vec<u8>,
    path: &Path,
    options: &LoadOptions,
    symbol: &str,
) -> Result<Vec<(String, Candles, LoadReport)>, IngestError> {
    let err = |message: String| IngestError::Format { path: path.to_path_buf(), message };
    if bytes.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    let format = match options.format {
        Format::Auto => Format::from_name(path).unwrap_or(Format::Auto),
        f => f,
    };
    let text_format = !matches!(format, Format::FreqtradeJson | Format::Feather | Format::Parquet);
    // The symbol of each row: by line (CSV: the reader reports its rows' lines) or in order.
    let (by_line, in_order): (Option<Vec<Option<String>>>, Option<Vec<String>>) = match format {
        Format::Parquet => (None, Some(parquet_symbols(&bytes, path, symbol)?)),
        _ if text_format => (Some(csv_symbols(&bytes, path, symbol)?), None),
        other => {
            return Err(err(format!(
                "data.symbol_column: a long table must be CSV or Parquet, this is {other}"
            )));
        }
    };
    let parsed = crate::read_parsed(bytes, path, options, format)?;
    let rows = parsed.candles.len();
    let symbol_of: Vec<String> = match (&by_line, &in_order, &parsed.lines) {
        (Some(by_line), _, Some(lines)) => lines
            .iter()
            .map(|&l| by_line.get(l as usize).cloned().flatten().unwrap_or_default())
            .collect(),
        (_, Some(in_order), _) if in_order.len() == rows && parsed.null_rows == 0 => {
            in_order.clone()
        }
        _ => {
            return Err(err(format!(
                "data.symbol_column: {} rows have no time: a long table needs every row's time",
                parsed.null_rows
            )));
        }
    };
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in symbol_of.iter().enumerate() {
        groups.entry(s.as_str()).or_default().push(i);
    }
    if let Some(rows) = groups.get("") {
        let first = parsed.lines.as_ref().map_or(rows[0] as u64 + 1, |l| l[rows[0]]);
        return Err(err(format!(
            "data.symbol_column: {} rows have an empty `{symbol}` (the first at row {first})",
            rows.len()
        )));
    }
    // Rows without a time, dropped by the reader: counted against their asset (by line).
    let mut dropped: BTreeMap<&str, usize> = BTreeMap::new();
    if let (Some(by_line), Some(lines)) = (&by_line, &parsed.lines) {
        let mut kept = vec![false; by_line.len()];
        for &l in lines {
            if let Some(k) = kept.get_mut(l as usize) {
                *k = true;
            }
        }
        for (l, s) in by_line.iter().enumerate() {
            if let (Some(s), false) = (s, kept[l]) {
                *dropped.entry(s.as_str()).or_default() += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(groups.len());
    for (name, rows) in groups {
        let part = Parsed {
            candles: parsed.candles.select(&rows),
            lines: parsed.lines.as_ref().map(|l| rows.iter().map(|&r| l[r]).collect()),
            null_rows: dropped.get(name).copied().unwrap_or(0),
            format: parsed.format,
            columns: parsed.columns.clone(),
            no_volume: parsed.no_volume,
        };
        let (candles, report) =
            validate::repair(part, path, options, None).map_err(|e| match e {
                IngestError::Format { path, message } => {
                    IngestError::Format { path, message: format!("{name}: {message}") }
                }
                other => other,
            })?;
        out.push((name.to_owned(), candles, report));
    }
    Ok(out)
}

/// The symbol on each line of a CSV (index: the 1-based line; `None` for the header and
/// blank lines).
fn csv_symbols(
    bytes: &[u8],
    path: &Path,
    symbol: &str,
) -> Result<Vec<Option<String>>, IngestError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut out = vec![None, None];
    let mut column = None;
    for record in reader.records() {
        let record = record.map_err(|e| IngestError::Csv {
            path: path.to_path_buf(),
            line: e.position().map_or(0, |p| p.line()),
            message: e.to_string(),
        })?;
        let line = record.position().map_or(0, |p| p.line()) as usize;
        let Some(at) = column else {
            let names: Vec<&str> = record.iter().collect();
            let found = names.iter().position(|n| n.eq_ignore_ascii_case(symbol));
            column = Some(found.ok_or_else(|| IngestError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "data.symbol_column: no column `{symbol}` (columns: {})",
                    names.join(", ")
                ),
            })?);
            continue;
        };
        if out.len() <= line {
            out.resize(line + 1, None);
        }
        out[line] = record.get(at).map(str::to_owned);
    }
    Ok(out)
}

/// The symbol of each row of a Parquet file, in order.
fn parquet_symbols(bytes: &[u8], path: &Path, symbol: &str) -> Result<Vec<String>, IngestError> {
    let err = |message: String| IngestError::Format { path: path.to_path_buf(), message };
    let data = bytes::Bytes::copy_from_slice(bytes);
    let builder = ParquetRecordBatchReaderBuilder::try_new(data)
        .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
    let fields = builder.schema().fields().clone();
    let Some(at) = fields.iter().position(|f| f.name().eq_ignore_ascii_case(symbol)) else {
        let names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
        return Err(err(format!(
            "data.symbol_column: no column `{symbol}` (columns: {})",
            names.join(", ")
        )));
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [at]);
    let reader = builder.with_projection(mask).build().map_err(|e| err(e.to_string()))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| err(format!("corrupt Parquet data: {e}")))?;
        let column = arrow::compute::cast(batch.column(0), &DataType::Utf8)
            .map_err(|e| err(format!("data.symbol_column: `{symbol}` is not text: {e}")))?;
        let strings = column.as_string::<i32>();
        for i in 0..strings.len() {
            out.push(if strings.is_null(i) { String::new() } else { strings.value(i).to_owned() });
        }
    }
    Ok(out)
}
