use std::path::Path;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Float64Type, Int64Type, Schema, TimeUnit, TimestampMillisecondType,
};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::file::reader::ChunkReader;

use crate::Candles;
use crate::csv_reader::unix_to_ms;
use crate::feather;
use crate::validate::Parsed;
use crate::{Format, IngestError};

/// Reads an Arrow IPC (Feather v2) file held in memory: freqtrade's `feather` handler writes
/// one with LZ4-compressed buffers, `date` as `timestamp[ns, UTC]`. Only the needed columns
/// are decoded.
pub(crate) fn read_feather(bytes: &[u8], path: &Path) -> Result<Parsed, IngestError> {
    if let Some(parsed) = feather::read(feather::Input::Memory(bytes), path) {
        return Ok(parsed);
    }
    read_feather_from(|| Ok(std::io::Cursor::new(bytes)), bytes.len(), path)
}

/// Reads a local Feather file: each decoding thread reads the buffers it needs straight from
/// the file, with no copy of the whole file in memory first.
pub(crate) fn read_feather_file(path: &Path) -> Result<Parsed, IngestError> {
    let io = |error| IngestError::Io { path: path.to_path_buf(), error };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size == 0 {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    if let Some(parsed) = feather::read(feather::Input::File(&file, size), path) {
        return Ok(parsed);
    }
    let open = || std::fs::File::open(path).map(std::io::BufReader::new).map_err(io);
    read_feather_from(open, usize::try_from(size).unwrap_or(usize::MAX), path)
}

/// Reads a Feather file with arrow's reader, after checking that the sizes its footer and
/// messages declare fit the file ([`feather::check_sizes`]): arrow allocates what they say.
pub(crate) fn read_feather_from<R, F>(
    open_source: F,
    size: usize,
    path: &Path,
) -> Result<Parsed, IngestError>
where
    R: std::io::Read + std::io::Seek,
    F: Fn() -> Result<R, IngestError> + Sync,
{
    guarded(path, || {
        feather::check_sizes(&mut open_source()?, size as u64).map_err(|message| {
            IngestError::Format {
                path: path.to_path_buf(),
                message: format!("corrupt Feather/Arrow IPC file: {message}"),
            }
        })?;
        read_feather_with_arrow(open_source, size, path)
    })
}

/// Runs arrow's or parquet's decoder on `path`: a panic inside it (both assert on some
/// corrupt files instead of returning an error) is this file's error, not a crash.
pub(crate) fn guarded<T>(
    path: &Path,
    decode: impl FnOnce() -> Result<T, IngestError>,
) -> Result<T, IngestError> {
    quantsweep_core::contain::contain(decode).unwrap_or_else(|panic| {
        Err(IngestError::Format {
            path: path.to_path_buf(),
            message: format!("corrupt file: the decoder failed ({panic})"),
        })
    })
}

fn read_feather_with_arrow<R, F>(
    open_source: F,
    size: usize,
    path: &Path,
) -> Result<Parsed, IngestError>
where
    R: std::io::Read + std::io::Seek,
    F: Fn() -> Result<R, IngestError> + Sync,
{
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let open = |projection| {
        arrow::ipc::reader::FileReader::try_new(open_source()?, projection)
            .map_err(|e| err(format!("not a readable Feather/Arrow IPC file: {e}")))
    };
    let schema = open(None)?.schema();
    let wanted = Wanted::find(&schema, path)?;
    let batches = read_split(path, &schema, &wanted.indices(), size, |columns| {
        open(Some(columns))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("corrupt Feather/Arrow IPC data: {e}")))
    })?;
    from_batches(&batches, &schema, &wanted, path, Format::Feather)
}

/// Reads a Parquet file held in memory, decoding only the needed columns.
pub(crate) fn read_parquet(bytes: Vec<u8>, path: &Path) -> Result<Parsed, IngestError> {
    let size = bytes.len();
    read_parquet_from(bytes::Bytes::from(bytes), size, path)
}

/// Reads a local Parquet file, reading from disk only the column chunks it decodes.
pub(crate) fn read_parquet_file(path: &Path) -> Result<Parsed, IngestError> {
    let io = |error| IngestError::Io { path: path.to_path_buf(), error };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size == 0 {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    let file = PositionalFile { file: std::sync::Arc::new(file), size };
    read_parquet_from(file, usize::try_from(size).unwrap_or(usize::MAX), path)
}

/// A Parquet source that each decoding thread can read on its own.
trait Source: ChunkReader + Sized + 'static {
    fn another(&self) -> std::io::Result<Self>;
}

impl Source for bytes::Bytes {
    fn another(&self) -> std::io::Result<Self> {
        Ok(self.clone())
    }
}

/// A file read with positional reads (`pread`), so that threads share it safely: a cloned
/// `File` shares its offset, and two threads seeking it corrupt each other's reads.
#[derive(Clone)]
struct PositionalFile {
    file: std::sync::Arc<std::fs::File>,
    size: u64,
}

/// Reads a [`PositionalFile`] from `at` on.
struct ReadAt {
    file: std::sync::Arc<std::fs::File>,
    at: u64,
}

impl std::io::Read for ReadAt {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

impl parquet::file::reader::Length for PositionalFile {
    fn len(&self) -> u64 {
        self.size
    }
}

impl ChunkReader for PositionalFile {
    type T = std::io::BufReader<ReadAt>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(std::io::BufReader::new(ReadAt { file: std::sync::Arc::clone(&self.file), at: start }))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        let mut buf = vec![0; length];
        std::os::unix::fs::FileExt::read_exact_at(&*self.file, &mut buf, start)
            .map_err(|e| parquet::errors::ParquetError::External(Box::new(e)))?;
        Ok(buf.into())
    }
}

impl Source for PositionalFile {
    fn another(&self) -> std::io::Result<Self> {
        Ok(self.clone())
    }
}

fn read_parquet_from<R: Source>(
    source: R,
    size: usize,
    path: &Path,
) -> Result<Parsed, IngestError> {
    guarded(path, || read_parquet_with(source, size, path))
}

fn read_parquet_with<R: Source>(
    source: R,
    size: usize,
    path: &Path,
) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let metadata = ArrowReaderMetadata::load(&source, ArrowReaderOptions::default())
        .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
    let schema = metadata.schema().clone();
    let wanted = Wanted::find(&schema, path)?;
    let batches = read_split(path, &schema, &wanted.indices(), size, |columns| {
        let reader = source
            .another()
            .map_err(|error| IngestError::Io { path: path.to_path_buf(), error })?;
        let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(reader, metadata.clone());
        let mask = ProjectionMask::roots(builder.parquet_schema(), columns);
        builder
            .with_projection(mask)
            .with_batch_size(64 * 1024)
            .build()
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("corrupt Parquet data: {e}")))
    })?;
    from_batches(&batches, &schema, &wanted, path, Format::Parquet)
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
        // Guarded on its own thread too: a decoder's panic there is the file's error.
        let other = scope.spawn(|| guarded(path, || read(second.to_vec())));
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
pub(crate) struct Wanted {
    pub time: usize,
    pub prices: [usize; 4],
    pub volume: Option<usize>,
}

impl Wanted {
    /// Finds a time column (`date`, `timestamp`, `time`, `open_time`, `datetime`) and
    /// open/high/low/close(/volume), case-insensitively.
    pub fn find(schema: &Schema, path: &Path) -> Result<Wanted, IngestError> {
        let names: Vec<&String> = schema.fields().iter().map(|f| f.name()).collect();
        let find = |wanted: &[&str]| {
            names.iter().position(|n| wanted.contains(&n.to_ascii_lowercase().as_str()))
        };
        let missing = |c: &str| IngestError::Format {
            path: path.to_path_buf(),
            message: format!(
                "no `{c}` column (columns: {})",
                crate::error::shown_names(names.iter().map(|n| n.as_str()), ", ")
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
    pub fn indices(&self) -> Vec<usize> {
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
    wanted: &Wanted,
    path: &Path,
    format: Format,
) -> Result<Parsed, IngestError> {
    let err = |m: String| IngestError::Format { path: path.to_path_buf(), message: m };
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let order = wanted.indices();
    let local = |i: usize| order.iter().position(|&j| j == i).unwrap_or(0);
    let mut decoded = Vec::with_capacity(batches.len());
    for batch in batches {
        let times = time_column_ms(batch.column(local(wanted.time)).as_ref())
            .map_err(|m| err(format!("column `{}`: {m}", names[wanted.time])))?;
        let floats = |i: usize| -> Result<ArrayRef, IngestError> {
            cast(batch.column(local(i)), &DataType::Float64)
                .map_err(|e| err(format!("column `{}` is not numeric: {e}", names[i])))
        };
        let [o, h, l, c] = wanted.prices;
        let prices = [floats(o)?, floats(h)?, floats(l)?, floats(c)?];
        let volume = wanted.volume.map(floats).transpose()?;
        decoded.push(Decoded { times, prices, volume });
    }
    let mut out = Parsed::new(format, names.clone(), wanted.volume.is_none(), false);
    if decoded.iter().all(Decoded::is_dense) {
        out.candles = gather_dense(&decoded);
        return Ok(out);
    }
    let value = |a: &ArrayRef, k: usize| {
        let a = a.as_primitive::<Float64Type>();
        if a.is_null(k) { f64::NAN } else { a.value(k) }
    };
    for d in &decoded {
        let [o, h, l, c] = &d.prices;
        for k in 0..o.len() {
            let v = d.volume.as_ref().map_or(f64::NAN, |a| value(a, k));
            match d.times.get(k) {
                Some(t) => out.push(None, t, value(o, k), value(h, k), value(l, k), value(c, k), v),
                None => out.null_rows += 1,
            }
        }
    }
    Ok(out)
}

/// One batch's columns: times in ms, prices and volume as `Float64`.
struct Decoded {
    times: TimeColumn,
    prices: [ArrayRef; 4],
    volume: Option<ArrayRef>,
}

impl Decoded {
    fn is_dense(&self) -> bool {
        matches!(self.times, TimeColumn::Dense(_))
            && self.prices.iter().chain(&self.volume).all(|a| a.null_count() == 0)
    }
}

/// Price column `K` (open, high, low, close) of a batch.
fn price<const K: usize>(d: &Decoded) -> Option<&[f64]> {
    Some(d.prices[K].as_primitive::<Float64Type>().values())
}

/// The volume column of a batch, if the source has one.
fn volume(d: &Decoded) -> Option<&[f64]> {
    d.volume.as_ref().map(|a| a.as_primitive::<Float64Type>().values().as_ref())
}

/// Concatenates batches without nulls into candles, the columns copied on two threads when
/// there are many rows (the copy is memory-bound; one core does not saturate the bus).
fn gather_dense(decoded: &[Decoded]) -> Candles {
    let total: usize = decoded.iter().map(|d| d.prices[0].len()).sum();
    let gather = |pick: fn(&Decoded) -> Option<&[f64]>| -> Vec<f64> {
        let mut v = Vec::with_capacity(total);
        for d in decoded {
            match pick(d) {
                Some(values) => v.extend_from_slice(values),
                None => v.resize(v.len() + d.prices[0].len(), f64::NAN),
            }
        }
        v
    };
    let (open, high, low, close) = (price::<0>, price::<1>, price::<2>, price::<3>);
    let times = || -> Vec<i64> {
        let mut v = Vec::with_capacity(total);
        for d in decoded {
            if let TimeColumn::Dense(t) = &d.times {
                v.extend_from_slice(t);
            }
        }
        v
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || total < 1 << 16 {
        return Candles {
            timestamp_ms: times(),
            open: gather(open),
            high: gather(high),
            low: gather(low),
            close: gather(close),
            volume: gather(volume),
        };
    }
    std::thread::scope(|scope| {
        let other = scope.spawn(|| (gather(low), gather(close), gather(volume)));
        let (timestamp_ms, open, high) = (times(), gather(open), gather(high));
        let (low, close, volume) = match other.join() {
            Ok(columns) => columns,
            // A panic in a copy is a bug; finish on this thread rather than lose the load.
            Err(_) => (gather(low), gather(close), gather(volume)),
        };
        Candles { timestamp_ms, open, high, low, close, volume }
    })
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

/// Times in `unit` to ms since the epoch, in place (floored, as arrow's cast does).
pub(crate) fn to_ms(t: &mut [i64], unit: TimeUnit) {
    match unit {
        TimeUnit::Second => t.iter_mut().for_each(|t| *t = t.saturating_mul(1000)),
        TimeUnit::Millisecond => {}
        TimeUnit::Microsecond => t.iter_mut().for_each(|t| *t = t.div_euclid(1_000)),
        TimeUnit::Nanosecond => t.iter_mut().for_each(|t| *t = t.div_euclid(1_000_000)),
    }
}

/// A time column in milliseconds since the epoch.
fn time_column_ms(a: &dyn Array) -> Result<TimeColumn, String> {
    let ms: Vec<Option<i64>> = match a.data_type() {
        DataType::Timestamp(unit, _) if a.null_count() == 0 => {
            // Any timestamp array holds i64 values.
            let data = a.to_data();
            let mut ms = data.buffer::<i64>(0)[..data.len()].to_vec();
            to_ms(&mut ms, *unit);
            return Ok(TimeColumn::Dense(ms));
        }
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
            if v.null_count() == 0 {
                let ms: Vec<i64> = v.values().iter().map(|&t| unix_int_to_ms(t)).collect();
                if ms.iter().all(|&t| t >= 0) {
                    return Ok(TimeColumn::Dense(ms));
                }
            }
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

/// [`unix_to_ms`] for an integer time (`-1` for a negative one), without a round trip
/// through `f64`: seconds below 1e11, milliseconds below 1e14, microseconds above.
fn unix_int_to_ms(t: i64) -> i64 {
    match t {
        ..0 => -1,
        0..100_000_000_000 => t * 1000,
        100_000_000_000..100_000_000_000_000 => t,
        _ => t / 1000 + i64::from(t % 1000 >= 500),
    }
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
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("big.feather");
        std::fs::write(&file, &ipc).expect("write");
        check(&read_feather_file(&file).expect("feather file"));

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
        let file = dir.path().join("big.parquet");
        std::fs::write(&file, &pq).expect("write");
        check(&read_parquet_file(&file).expect("parquet file"));
        check(&read_parquet(pq, Path::new("big.parquet")).expect("parquet"));
    }

    #[test]
    fn integer_times_convert_as_floats_do() {
        for t in [
            0,
            1,
            99_999_999_999,
            100_000_000_000,
            1_700_000_000,
            1_700_000_000_123,
            99_999_999_999_999,
            100_000_000_000_000,
            1_700_000_000_123_499,
            1_700_000_000_123_500,
        ] {
            assert_eq!(Some(unix_int_to_ms(t)), unix_to_ms(t as f64), "{t}");
        }
        assert_eq!(unix_int_to_ms(-5), -1);
    }
}
