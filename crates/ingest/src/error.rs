use std::fmt;
use std::path::PathBuf;

/// Where in a source a problem is: a line of a text file, or a row of a binary one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 1-based line of a text file, as an editor shows it.
    Line(u64),
    /// 1-based data row of a JSON, Feather or Parquet file.
    Row(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(n) => write!(f, "{n}"),
            Position::Row(n) => write!(f, "row {n}"),
        }
    }
}

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
    #[error("{path}:{at}: invalid candle: {message} (data.invalid: drop skips such candles)")]
    InvalidCandle {
        /// The file.
        path: PathBuf,
        /// Where.
        at: Position,
        /// What is wrong.
        message: String,
    },
    /// Two candles share a timestamp and the policy is `error`.
    #[error(
        "{path}:{at}: duplicate candle at {timestamp} (data.duplicates: keep_last or keep_first repairs this)"
    )]
    Duplicate {
        /// The file.
        path: PathBuf,
        /// The second row with that time.
        at: Position,
        /// The timestamp, UTC.
        timestamp: String,
    },
    /// A row's time goes back against the file's order and the policy is `error`.
    #[error(
        "{path}:{at}: the time {timestamp} is out of the file's order ({order}, after \
         {previous}) (data.order: sort sorts the rows)"
    )]
    OutOfOrder {
        /// The file.
        path: PathBuf,
        /// The row out of order.
        at: Position,
        /// Its time, UTC.
        timestamp: String,
        /// The time of the row before it, UTC.
        previous: String,
        /// `oldest first` or `newest first`.
        order: &'static str,
    },
    /// A binary or JSON file is malformed, truncated or lacks a needed column.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An object store (S3, GCS, Azure, HTTP) could not deliver the object.
    #[error("{url}: {message}")]
    ObjectStore {
        /// The URL.
        url: String,
        /// What went wrong (never includes credentials).
        message: String,
    },
    /// A freqtrade data directory has no file for a pair and timeframe.
    #[error("{dir}: no data for {pair} (looked for {tried}){hint}")]
    MissingPair {
        /// The data directory.
        dir: PathBuf,
        /// The pair, as given.
        pair: String,
        /// The names looked for.
        tried: String,
        /// What the directory holds instead, and the nearest match (`; it holds ...`), or
        /// nothing.
        hint: String,
    },
    /// No candles were left to use.
    #[error("{path}: no candles (the file has no data rows, or every row is null)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

/// Column names as an error shows them, joined by `separator`: on one line (a name may hold
/// line breaks, shown escaped) and at most 200 characters.
pub(crate) fn shown_names<'a>(names: impl IntoIterator<Item = &'a str>, separator: &str) -> String {
    let joined = names.into_iter().collect::<Vec<_>>().join(separator);
    let line: String = joined.chars().flat_map(char::escape_debug).collect();
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}
