use std::path::PathBuf;

/// Everything that can go wrong reading candles. Each variant names the source and, for text
/// formats, the line (1-based, as an editor shows it).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// The CSV itself is malformed (unbalanced quotes, invalid UTF-8, ...).
    #[error("{path}:{line}: malformed CSV: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Line number.
        line: u64,
        /// What the CSV parser said.
        message: String,
    },
    /// The header lacks a column the candles need.
    #[error("{path}: no `{column}` column in the header (found: {found})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column looked for.
        column: &'static str,
        /// The header as read.
        found: String,
    },
    /// A field could not be parsed.
    #[error("{path}:{line}: column `{column}`: cannot parse {value:?} as {expected}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// Line number.
        line: u64,
        /// The column's name in the header.
        column: String,
        /// The field as read.
        value: String,
        /// What was expected (a number, a timestamp).
        expected: &'static str,
    },
    /// A candle breaks OHLC consistency (low above high, a non-positive price).
    #[error("{path}:{line}: invalid candle: {message}")]
    InvalidCandle {
        /// The file.
        path: PathBuf,
        /// Line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// No candles were left to use.
    #[error("{path}: no candles (the file has no data rows, or every row is null)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}
