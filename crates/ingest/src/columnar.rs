use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Float64Type, Int64Type, Schema, TimeUnit, TimestampMillisecondType,
};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::csv_reader::unix_to_ms;
use crate::validate::Parsed;
use crate::{Format, IngestError};

/// Reads an Arrow IPC (Feather v2) file: freqtrade's `feather` handler writes one with
/// LZ4-compressed buffers, `date` as `timestamp[ns, UTC]`. Only the needed columns are decoded.
pub(crate) fn read_feather(bytes: &[u8], path: &Path) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let open = |projection| {
        arrow::ipc::reader::FileReader::try_new(std::io::Cursor::new(bytes), projection)
            .map_err(|e| err(format!("not a readable Feather/Arrow IPC file: {e}")))
    };
    let schema = open(None)?.schema();
    let wanted = Wanted::find(&schema, path)?;
    let batches = read_split(path, &schema, &wanted.indices(), bytes.len(), |columns| {
        open(Some(columns))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("corrupt Feather/Arrow IPC data: {e}")))
    })?;
    from_batches(&batches, &schema, path, Format::Feather)
}

/// Reads a Parquet file, decoding only the needed columns.
pub(crate) fn read_parquet(bytes: Vec<u8>, path: &Path) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let size = bytes.len();
    let bytes = bytes::Bytes::from(bytes);
    let open = || {
        ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))
    };
    let schema = open()?.schema().clone();
    let wanted = Wanted::find(&schema, path)?;
    let batches = read_split(path, &schema, &wanted.indices(), size, |columns| {
        let builder = open()?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), columns);
        builder
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("corrupt Parquet data: {e}")))
    })?;
    from_batches(&batches, &schema, path, Format::Parquet)
}

/// Decodes the `columns` (ascending positions in `schema`) with `read`, which returns the
/// batches of a projection. Files over a few MB are decoded on two threads, each reading half
/// of the columns (decompression dominates: see docs/benchmarks.md); the halves are joined
/// batch by batch, both readers seeing the same batch boundaries.
fn read_split<F>(
    path: &Path,
    schema: &Schema,
    columns: &[usize],
    size: usize,
    read: F,
) -> Result<Vec<RecordBatch>, IngestError>
where
    F: Fn(Vec<usize>) -> Result<Vec<RecordBatch>, IngestError> + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || size < 4 << 20 || columns.len() < 2 {
        return read(columns.to_vec());
    }
    let (first, second) = columns.split_at(columns.len() / 2);
    let (a, b) = std::thread::scope(|scope| {
        let other = scope.spawn(|| read(second.to_vec()));
        (read(first.to_vec()), other.join())
    });
    let (a, b) = (
        a?,
        b.map_err(|_| IngestError::Format {
            path: path.to_path_buf(),
            message: "a decoding thread panicked".into(),
        })??,
    );
    let projected =
        std::sync::Arc::new(schema.project(columns).map_err(|e| IngestError::Format {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?);
    if a.len() != b.len() || a.iter().zip(&b).any(|(x, y)| x.num_rows() != y.num_rows()) {
        // Different batch boundaries (should not happen): decode in one piece instead.
        return read(columns.to_vec());
    }
    a.into_iter()
        .zip(b)
        .map(|(x, y)| {
            let cols = x.columns().iter().chain(y.columns()).cloned().collect();
            RecordBatch::try_new(std::sync::Arc::clone(&projected), cols).map_err(|e| {
                IngestError::Format { path: path.to_path_buf(), message: e.to_string() }
            })
        })
        .collect()
}

/// The positions of the columns candles need, in the file's schema.
struct Wanted {
    time: usize,
    prices: [usize; 4],
    volume: Option<usize>,
}

impl Wanted {
    /// Finds a time column (`date`, `timestamp`, `time`, `open_time`, `datetime`) and
    /// open/high/low/close(/volume), case-insensitively.
    fn find(schema: &Schema, path: &Path) -> Result<Wanted, IngestError> {
        let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        let find = |wanted: &[&str]| {
            names.iter().position(|n| wanted.contains(&n.to_ascii_lowercase().as_str()))
        };
        let missing = |c: &str| IngestError::Format {
            path: path.to_path_buf(),
            message: format!(
                "no `{c}` column (columns: {})",
                names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
            ),
        };
        let time = find(&["date", "timestamp", "time", "open_time", "datetime"])
            .ok_or_else(|| missing("date"))?;
        let price = |c: &'static str| find(&[c]).ok_or_else(|| missing(c));
        Ok(Wanted {
            time,
            prices: [price("open")?, price("high")?, price("low")?, price("close")?],
            volume: find(&["volume"]),
        })
    }

    /// The needed columns' positions, ascending (projections keep file order).
    fn indices(&self) -> Vec<usize> {
        let mut v: Vec<usize> =
            [self.time].into_iter().chain(self.prices).chain(self.volume).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Candles from projected record batches; `schema` is the file's full schema (to name columns
/// and locate them in the projection).
fn from_batches(
    batches: &[RecordBatch],
    schema: &Schema,
    path: &Path,
    format: Format,
) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let wanted = Wanted::find(schema, path)?;
    let order = wanted.indices();
    let local = |i: usize| order.iter().position(|&j| j == i).unwrap_or(0);
    let mut out = Parsed::new(format, names.clone(), wanted.volume.is_none(), false);
    let total: usize = batches.iter().map(RecordBatch::num_rows).sum();
    for v in [
        &mut out.candles.open,
        &mut out.candles.high,
        &mut out.candles.low,
        &mut out.candles.close,
        &mut out.candles.volume,
    ] {
        v.reserve(total);
    }
    out.candles.timestamp_ms.reserve(total);
    for batch in batches {
        let n = batch.num_rows();
        let times = time_column_ms(batch.column(local(wanted.time)).as_ref())
            .map_err(|m| err(format!("column `{}`: {m}", names[wanted.time])))?;
        let floats = |i: usize| -> Result<arrow::array::ArrayRef, IngestError> {
            cast(batch.column(local(i)), &DataType::Float64)
                .map_err(|e| err(format!("column `{}` is not numeric: {e}", names[i])))
        };
        let [o, h, l, c] = wanted.prices;
        let cols = [floats(o)?, floats(h)?, floats(l)?, floats(c)?];
        let volume = wanted.volume.map(floats).transpose()?;
        let value = |a: &arrow::array::ArrayRef, k: usize| {
            let a = a.as_primitive::<Float64Type>();
            if a.is_null(k) { f64::NAN } else { a.value(k) }
        };
        let no_nulls = cols.iter().chain(volume.iter()).all(|a| a.null_count() == 0);
        match times {
            TimeColumn::Dense(t) if no_nulls => {
                out.candles.timestamp_ms.extend_from_slice(&t);
                for (dst, a) in [
                    &mut out.candles.open,
                    &mut out.candles.high,
                    &mut out.candles.low,
                    &mut out.candles.close,
                ]
                .into_iter()
                .zip(&cols)
                {
                    dst.extend_from_slice(a.as_primitive::<Float64Type>().values());
                }
                match &volume {
                    Some(v) => out
                        .candles
                        .volume
                        .extend_from_slice(v.as_primitive::<Float64Type>().values()),
                    None => out.candles.volume.extend(std::iter::repeat_n(f64::NAN, n)),
                }
            }
            times => {
                for k in 0..n {
                    let v = volume.as_ref().map_or(f64::NAN, |a| value(a, k));
                    match times.get(k) {
                        Some(t) => out.push(
                            None,
                            t,
                            value(&cols[0], k),
                            value(&cols[1], k),
                            value(&cols[2], k),
                            value(&cols[3], k),
                            v,
                        ),
                        None => out.null_rows += 1,
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A batch's times in ms: dense when no value is null.
enum TimeColumn {
    Dense(Vec<i64>),
    WithNulls(Vec<Option<i64>>),
}

impl TimeColumn {
    fn get(&self, k: usize) -> Option<i64> {
        match self {
            TimeColumn::Dense(v) => v.get(k).copied(),
            TimeColumn::WithNulls(v) => v.get(k).copied().flatten(),
        }
    }
}

/// A time column in milliseconds since the epoch.
fn time_column_ms(a: &dyn Array) -> Result<TimeColumn, String> {
    let ms: Vec<Option<i64>> = match a.data_type() {
        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
            let ms = cast(a, &DataType::Timestamp(TimeUnit::Millisecond, None))
                .map_err(|e| e.to_string())?;
            let ms = ms.as_primitive::<TimestampMillisecondType>();
            if ms.null_count() == 0 {
                return Ok(TimeColumn::Dense(ms.values().to_vec()));
            }
            (0..ms.len()).map(|k| (!ms.is_null(k)).then(|| ms.value(k))).collect()
        }
        DataType::Int64 | DataType::Int32 | DataType::UInt64 | DataType::Float64 => {
            // Integer times: seconds, milliseconds or microseconds, told by magnitude.
            let v = cast(a, &DataType::Int64).map_err(|e| e.to_string())?;
            let v = v.as_primitive::<Int64Type>();
            (0..v.len())
                .map(|k| if v.is_null(k) { None } else { unix_to_ms(v.value(k) as f64) })
                .collect()
        }
        other => return Err(format!("cannot read {other} as timestamps")),
    };
    Ok(if ms.iter().all(Option::is_some) {
        TimeColumn::Dense(ms.into_iter().flatten().collect())
    } else {
        TimeColumn::WithNulls(ms)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// 150,000 candles (over 4 MB uncompressed: the two-thread path), in three batches.
    fn batches() -> (Arc<Schema>, Vec<RecordBatch>) {
        let n = 150_000;
        let price = |k: f64| (0..n).map(|i| 100.0 + (i % 97) as f64 + k).collect::<Vec<f64>>();
        let candles = crate::Candles {
            timestamp_ms: (0..n as i64).map(|i| i * 60_000).collect(),
            open: price(0.5),
            high: price(1.0),
            low: price(0.0),
            close: price(0.25),
            volume: price(7.0),
        };
        let all = candles.to_record_batch().expect("batch");
        (all.schema(), (0..3).map(|k| all.slice(k * 50_000, 50_000)).collect())
    }

    fn check(p: &Parsed) {
        assert_eq!(p.candles.timestamp_ms.len(), 150_000);
        assert_eq!(p.candles.timestamp_ms[149_999], 149_999 * 60_000);
        assert_eq!(p.candles.open[123_456], 100.0 + (123_456 % 97) as f64 + 0.5);
        assert_eq!(p.candles.volume[77_777], 100.0 + (77_777 % 97) as f64 + 7.0);
        assert_eq!(p.candles.low[5], 105.0);
    }

    #[test]
    fn large_feather_and_parquet_decode_on_two_threads_correctly() {
        let (schema, batches) = batches();
        let mut ipc = Vec::new();
        let mut w = arrow::ipc::writer::FileWriter::try_new(&mut ipc, &schema).expect("ipc writer");
        for b in &batches {
            w.write(b).expect("write");
        }
        w.finish().expect("finish");
        drop(w);
        assert!(ipc.len() > 4 << 20);
        check(&read_feather(&ipc, Path::new("big.feather")).expect("feather"));

        let mut pq = Vec::new();
        // Plain encoding, several row groups: over 4 MB, so the two-thread path runs.
        let plain = parquet::file::properties::WriterProperties::builder()
            .set_dictionary_enabled(false)
            .set_max_row_group_row_count(Some(40_000))
            .build();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut pq, schema, Some(plain))
            .expect("parquet writer");
        for b in &batches {
            w.write(b).expect("write");
        }
        w.close().expect("close");
        assert!(pq.len() > 4 << 20, "{}", pq.len());
        check(&read_parquet(pq, Path::new("big.parquet")).expect("parquet"));
    }
}
