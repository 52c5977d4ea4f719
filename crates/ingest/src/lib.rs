//! Candle sources and formats, turned into validated [`Candles`] with a [`LoadReport`] of
//! everything that was repaired.
//!
//! Formats ([`Format`], detected by default): data.binance.vision kline CSV (with or without
//! header, ms or µs times), CryptoDataDownload CSV (URL banner, newest-first rows, unix times in
//! s or ms, 12-hour dates, `NULL` fields), Yahoo CSV (`null` rows), any CSV whose header names
//! a time column and open/high/low/close, freqtrade JSON (`.json`, `.json.gz`), Feather (Arrow
//! IPC, LZ4-compressed as freqtrade writes it) and Parquet.
//!
//! Loading sorts rows, resolves duplicate timestamps ([`DuplicatePolicy`]), drops null rows,
//! refuses or drops candles that break OHLC consistency ([`InvalidPolicy`]) and reports gaps.
//! Every repair is counted in the report; none is silent.
//!
//! ```no_run
//! use quantsweep_ingest::{load, LoadOptions};
//! let (candles, report) = load("datasets/eth-usdt-1d.csv", &LoadOptions::default())?;
//! println!("{} candles ({}), {} duplicates dropped", candles.len(), report.format, report.duplicates_dropped);
//! # Ok::<(), quantsweep_ingest::IngestError>(())
//! ```
#![deny(missing_docs)]

mod candles;
mod columnar;
mod csv_reader;
mod error;
mod feather;
mod json_reader;
mod options;
mod pairs;
mod resample;
mod source;
mod symbols;
mod timerange;
mod validate;

use std::path::Path;

#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;

pub use candles::{Candles, Timeframe};
pub use error::{IngestError, Position};
pub use options::{
    Calendar, ColumnMap, DuplicatePolicy, FillGaps, Format, InvalidPolicy, LastCandle, LoadOptions,
    OrderPolicy,
};
pub use pairs::{Aligned, FreqtradeFile, align, freqtrade_contents, freqtrade_file, load_pairs};
pub use source::{Located, StorageOptions, fetch, load_source, memory_store, open_store};
pub use symbols::load_by_symbol;
pub use timerange::Timerange;
pub use validate::{Gap, LoadReport, format_ms};

/// Reads, validates and repairs the candles in `path`.
pub fn load(
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<(Candles, LoadReport), IngestError> {
    let path = path.as_ref();
    let io = |error| IngestError::Io { path: path.to_path_buf(), error };
    let modified_ms = modified_ms(path);
    // Columnar files are read in place: only the needed column chunks, no whole-file copy.
    let columnar = match resolve_format(path, options) {
        Format::Parquet => Some(columnar::read_parquet_file(path)?),
        Format::Feather => Some(columnar::read_feather_file(path)?),
        _ => None,
    };
    if let Some(parsed) = columnar {
        return validate::repair(parsed, path, options, modified_ms);
    }
    let bytes = std::fs::read(path).map_err(io)?;
    parse_at(bytes, path, options, modified_ms)
}

/// When `path` was last written, in ms since the epoch.
fn modified_ms(path: &Path) -> Option<i64> {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
    i64::try_from(since.as_millis()).ok()
}

/// Parses the bytes of a candle file; `path` names it in errors and drives format detection.
pub fn parse(
    bytes: Vec<u8>,
    path: &Path,
    options: &LoadOptions,
) -> Result<(Candles, LoadReport), IngestError> {
    parse_at(bytes, path, options, None)
}

/// [`parse`], knowing when the file was last written (ms since the epoch): a last candle
/// that closes after that may be unfinished.
pub fn parse_at(
    bytes: Vec<u8>,
    path: &Path,
    options: &LoadOptions,
    modified_ms: Option<i64>,
) -> Result<(Candles, LoadReport), IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    let format = resolve_format(path, options);
    // A gzip-compressed CSV (`eth.csv.gz`, or gzip bytes under any name); freqtrade's
    // `.json.gz` is the JSON reader's. Feather and Parquet compress inside the file and are
    // read as they are, as from a path (found by fuzzing: Feather bytes after a gzip magic
    // number, which arrow's reader accepts, were gunzipped from memory only).
    let named_gz = path.to_string_lossy().to_ascii_lowercase().ends_with(".gz");
    let text = !matches!(format, Format::FreqtradeJson | Format::Feather | Format::Parquet);
    let bytes = if text && (named_gz || bytes.starts_with(&[0x1f, 0x8b])) {
        gunzip(&bytes, path)?
    } else {
        bytes
    };
    let parsed = read_parsed(bytes, path, options, format)?;
    validate::repair(parsed, path, options, modified_ms)
}

/// The rows of a file's (decompressed) bytes in `format`, before validation.
fn read_parsed(
    bytes: Vec<u8>,
    path: &Path,
    options: &LoadOptions,
    format: Format,
) -> Result<validate::Parsed, IngestError> {
    Ok(match format {
        Format::FreqtradeJson => json_reader::read_freqtrade_json(&bytes, path)?,
        Format::Feather => columnar::read_feather(&bytes, path)?,
        Format::Parquet => columnar::read_parquet(bytes, path)?,
        Format::Auto
        | Format::BinanceKline
        | Format::CryptoDataDownload
        | Format::Yahoo
        | Format::Csv => {
            let text = String::from_utf8(bytes).map_err(|e| IngestError::Format {
                path: path.to_path_buf(),
                message: format!(
                    "not UTF-8 text at byte {}: is this a CSV file? (set data.format otherwise)",
                    e.utf8_error().valid_up_to()
                ),
            })?;
            csv_reader::read_csv(&text, path, format, options.columns.as_ref())?
        }
    })
}

/// The decompressed bytes of a gzip file, or an error saying what is wrong with it.
fn gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, IngestError> {
    let format_err = |message: String| IngestError::Format { path: path.to_path_buf(), message };
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(format_err("named .gz but not gzip-compressed".into()));
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out)
        .map_err(|e| format_err(format!("not a complete gzip stream: {e}")))?;
    if out.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    Ok(out)
}

/// The format `options` name, or the one the file name implies (`Auto` when it implies none:
/// the CSV reader tells the CSV dialects apart by content).
fn resolve_format(path: &Path, options: &LoadOptions) -> Format {
    match options.format {
        Format::Auto => Format::from_name(path).unwrap_or(Format::Auto),
        f => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzip-compressed CSV reads like the CSV; a cut or mislabelled one is refused by name.
    #[test]
    fn gzipped_csv_reads_and_broken_gzip_is_named() {
        let csv = "date,open,high,low,close,volume\n\
                   2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1.5,2,1,1.8,12\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, csv.as_bytes()).expect("compress");
        let gz = gz.finish().expect("gzip");
        let options = LoadOptions::default();
        let (plain, _) = parse(csv.into(), Path::new("a.csv"), &options).expect("csv");
        for name in ["a.csv.gz", "a.csv"] {
            let (unzipped, _) = parse(gz.clone(), Path::new(name), &options).expect(name);
            assert_eq!(unzipped, plain, "{name}");
        }
        let err =
            parse(gz[..gz.len() / 2].to_vec(), Path::new("a.csv.gz"), &options).expect_err("cut");
        assert!(err.to_string().contains("a.csv.gz: not a complete gzip stream"), "{err}");
        let err = parse(csv.into(), Path::new("b.csv.gz"), &options).expect_err("not gzip");
        assert!(err.to_string().contains("b.csv.gz: named .gz but not gzip-compressed"), "{err}");
    }
}
