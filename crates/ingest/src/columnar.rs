use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimeUnit, TimestampMillisecondType};
use arrow::record_batch::RecordBatch;

use crate::csv_reader::unix_to_ms;
use crate::error::Position;
use crate::validate::{Parsed, RawRow};
use crate::{Format, IngestError};

/// Reads an Arrow IPC (Feather v2) file: freqtrade's `feather` handler writes one with
/// LZ4-compressed buffers, `date` as `timestamp[ns, UTC]`.
pub(crate) fn read_feather(bytes: &[u8], path: &Path) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let reader = arrow::ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| err(format!("not a readable Feather/Arrow IPC file: {e}")))?;
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("corrupt Feather/Arrow IPC data: {e}")))?;
    from_batches(&batches, path, Format::Feather)
}

/// Reads a Parquet file.
pub(crate) fn read_parquet(bytes: Vec<u8>, path: &Path) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        bytes::Bytes::from(bytes),
    )
    .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
    let batches = builder
        .build()
        .map_err(|e| err(format!("not a readable Parquet file: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(format!("corrupt Parquet data: {e}")))?;
    from_batches(&batches, path, Format::Parquet)
}

/// Candles from record batches with a time column (`date`, `timestamp`, `time`, `open_time`,
/// `datetime`: any timestamp unit, or integers in s/ms/µs) and open/high/low/close(/volume).
fn from_batches(
    batches: &[RecordBatch],
    path: &Path,
    format: Format,
) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let Some(schema) = batches.first().map(RecordBatch::schema) else {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    };
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let find = |wanted: &[&str]| {
        names.iter().position(|n| wanted.contains(&n.to_ascii_lowercase().as_str()))
    };
    let missing = |c: &str| err(format!("no `{c}` column (columns: {})", names.join(", ")));
    let time = find(&["date", "timestamp", "time", "open_time", "datetime"])
        .ok_or_else(|| missing("date"))?;
    let price = |c: &'static str| find(&[c]).ok_or_else(|| missing(c));
    let (open, high, low, close) = (price("open")?, price("high")?, price("low")?, price("close")?);
    let volume = find(&["volume"]);

    let mut rows = Vec::new();
    let mut null_rows = 0;
    let mut row_no = 0u64;
    for batch in batches {
        let times = time_column_ms(batch.column(time).as_ref())
            .map_err(|m| err(format!("column `{}`: {m}", names[time])))?;
        let f = |i: usize| -> Result<Vec<f64>, IngestError> {
            let a = cast(batch.column(i), &DataType::Float64)
                .map_err(|e| err(format!("column `{}` is not numeric: {e}", names[i])))?;
            let a = a.as_primitive::<Float64Type>();
            Ok((0..a.len()).map(|k| if a.is_null(k) { f64::NAN } else { a.value(k) }).collect())
        };
        let (o, h, l, c) = (f(open)?, f(high)?, f(low)?, f(close)?);
        let v = match volume {
            Some(i) => f(i)?,
            None => vec![f64::NAN; batch.num_rows()],
        };
        for k in 0..batch.num_rows() {
            row_no += 1;
            let Some(timestamp_ms) = times[k] else {
                null_rows += 1;
                continue;
            };
            rows.push(RawRow {
                at: Position::Row(row_no),
                timestamp_ms,
                open: o[k],
                high: h[k],
                low: l[k],
                close: c[k],
                volume: v[k],
            });
        }
    }
    Ok(Parsed { rows, null_rows, format, columns: names, no_volume: volume.is_none() })
}

/// A time column as optional milliseconds since the epoch.
fn time_column_ms(a: &dyn Array) -> Result<Vec<Option<i64>>, String> {
    match a.data_type() {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
            let ms = cast(a, &DataType::Timestamp(TimeUnit::Millisecond, None))
                .map_err(|e| e.to_string())?;
            let ms = ms.as_primitive::<TimestampMillisecondType>();
            Ok((0..ms.len()).map(|k| (!ms.is_null(k)).then(|| ms.value(k))).collect())
        }
        DataType::Int64 | DataType::Int32 | DataType::UInt64 | DataType::Float64 => {
            let v = cast(a, &DataType::Int64).map_err(|e| e.to_string())?;
            let v = v.as_primitive::<Int64Type>();
            Ok((0..v.len())
                .map(|k| (!v.is_null(k)).then(|| unix_to_ms(v.value(k) as f64)).flatten())
                .collect())
        }
        other => Err(format!("cannot read {other} as timestamps")),
    }
}
