use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A candle file format. `auto` detects it from the name and the first bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Detect from the file name and contents.
    #[default]
    Auto,
    /// data.binance.vision kline CSV: 12 columns, with or without a header; open time in ms,
    /// or in µs (spot files since 2025).
    BinanceKline,
    /// CryptoDataDownload CSV: URL banner line, newest-first rows, mixed unix/12-hour dates.
    CryptoDataDownload,
    /// Yahoo Finance CSV: `Date,Open,High,Low,Close,Adj Close,Volume`, `null` rows.
    Yahoo,
    /// Any CSV whose header names a time column and open/high/low/close.
    Csv,
    /// freqtrade's JSON data handler: `[[ms, open, high, low, close, volume], ...]`,
    /// optionally gzip-compressed (`.json.gz`).
    FreqtradeJson,
    /// Arrow IPC file (freqtrade's `feather` data handler; LZ4 buffers are supported).
    Feather,
    /// Parquet.
    Parquet,
}

impl Format {
    /// The format of `path` from its name alone, when the name is enough.
    pub(crate) fn from_name(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".json") || name.ends_with(".json.gz") {
            Some(Format::FreqtradeJson)
        } else if name.ends_with(".feather") || name.ends_with(".arrow") || name.ends_with(".ipc") {
            Some(Format::Feather)
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Some(Format::Parquet)
        } else {
            None
        }
    }

    /// The flavour of a CSV file from its first lines.
    pub(crate) fn sniff_csv(first_line: &str, header: &[String]) -> Format {
        let lower: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
        let has = |name: &str| lower.iter().any(|h| h == name);
        if first_line.trim_start().to_ascii_lowercase().starts_with("http")
            || (has("unix") && has("tradecount"))
            || (has("date") && has("symbol") && lower.iter().any(|h| h.starts_with("volume ")))
        {
            Format::CryptoDataDownload
        } else if has("adj close") {
            Format::Yahoo
        } else if has("open_time") && has("close_time") || header_is_data(header) {
            Format::BinanceKline
        } else {
            Format::Csv
        }
    }
}

/// True when a "header" is really a data row (headerless Binance files): its first field is
/// a number.
pub(crate) fn header_is_data(header: &[String]) -> bool {
    header.first().is_some_and(|f| f.trim().parse::<f64>().is_ok())
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Auto => "auto",
            Format::BinanceKline => "binance_kline",
            Format::CryptoDataDownload => "crypto_data_download",
            Format::Yahoo => "yahoo",
            Format::Csv => "csv",
            Format::FreqtradeJson => "freqtrade_json",
            Format::Feather => "feather",
            Format::Parquet => "parquet",
        })
    }
}

/// What to do with several candles at the same timestamp.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Keep the row that comes last in the file (the most recent download of that candle).
    #[default]
    KeepLast,
    /// Keep the row that comes first in the file.
    KeepFirst,
    /// Refuse the file, naming the first duplicated timestamp.
    Error,
}

/// What to do with rows whose times go back: a file is in time order, or (CryptoDataDownload)
/// newest first throughout; a row out of that order means rows pasted together or a broken
/// export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderPolicy {
    /// Sort the rows by time (counted in the report as reordered).
    #[default]
    Sort,
    /// Refuse the file, naming the first row out of the file's order.
    Error,
}

/// What to do with candles that break OHLC consistency (low above open/close, high below
/// them, a price that is not positive, negative volume).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidPolicy {
    /// Refuse the file, naming the first bad row.
    #[default]
    Error,
    /// Drop such candles and count them in the report.
    Drop,
}

/// What to do with the last candle, which may still have been open when the file was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LastCandle {
    /// Keep it (the report still says when it may be unfinished).
    #[default]
    Keep,
    /// Drop it when it may be unfinished: its close time is after the file was last modified,
    /// or the file is a CryptoDataDownload snapshot (published with a partial newest row).
    DropIfUnfinished,
    /// Always drop it.
    Drop,
}

/// How missing candles are treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FillGaps {
    /// Leave gaps (they are reported).
    #[default]
    None,
    /// Insert a flat candle at the previous close with zero volume for each missing one, as
    /// freqtrade does.
    Ffill,
}

/// Column names for CSV files whose header the detection does not know, and how their time
/// column is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// The time column's name.
    pub time: String,
    /// The open price column's name. Default: `open`.
    #[serde(default = "open")]
    pub open: String,
    /// Default: `high`.
    #[serde(default = "high")]
    pub high: String,
    /// Default: `low`.
    #[serde(default = "low")]
    pub low: String,
    /// Default: `close`.
    #[serde(default = "close")]
    pub close: String,
    /// The volume column's name; none when the file has no volume. Default: `volume` if present.
    #[serde(default)]
    pub volume: Option<String>,
    /// How times are written: `unix_s`, `unix_ms`, `unix_us`, or a chrono/strftime pattern
    /// such as `%d/%m/%Y %H:%M` (UTC). Default: detected (unix in s/ms/µs, ISO dates).
    #[serde(default)]
    pub time_format: Option<String>,
}

fn open() -> String {
    "open".into()
}
fn high() -> String {
    "high".into()
}
fn low() -> String {
    "low".into()
}
fn close() -> String {
    "close".into()
}

/// How a source is read and repaired. (The pipeline's `data:` keys of the same names set it;
/// they live in the CLI's config because serde's `flatten` cannot be combined with
/// `deny_unknown_fields`.)
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Default: `auto`.
    pub format: Format,
    /// Default: `keep_last`.
    pub duplicates: DuplicatePolicy,
    /// Default: `sort`.
    pub order: OrderPolicy,
    /// Default: `error`.
    pub invalid: InvalidPolicy,
    /// Column names and time format for CSV files; default: detected from the header.
    pub columns: Option<ColumnMap>,
    /// Default: `keep`.
    pub last_candle: LastCandle,
    /// Default: `none`.
    pub fill_gaps: FillGaps,
    /// Default: detected ([`Calendar::detect`]).
    pub calendar: Option<Calendar>,
}

/// When a market trades: which missing bars are gaps, and how many bars make a year.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Calendar {
    /// Every bar of the timeframe, every day (crypto).
    #[default]
    Continuous,
    /// Monday to Friday (stock markets): weekends are not gaps, and a year of daily bars is
    /// 252 trading days.
    Weekdays,
}

const DAY_MS: i64 = 86_400_000;

impl Calendar {
    /// `weekdays` for daily candles (at least ten) none of which falls on a Saturday or a
    /// Sunday (UTC); else `continuous`.
    pub fn detect(timestamps: &[i64], timeframe: Option<crate::Timeframe>) -> Calendar {
        let daily = timeframe == Some(crate::Timeframe::DAY);
        if daily && timestamps.len() >= 10 && timestamps.iter().all(|&t| is_weekday(t)) {
            Calendar::Weekdays
        } else {
            Calendar::Continuous
        }
    }

    /// Whether the market trades at `ms`.
    pub fn trades_at(self, ms: i64) -> bool {
        self == Calendar::Continuous || is_weekday(ms)
    }

    /// Bars of `timeframe` in a year: 365 days' worth, or for `weekdays` 252 trading days'
    /// (252 daily bars).
    pub fn periods_per_year(self, timeframe: crate::Timeframe) -> f64 {
        match self {
            Calendar::Continuous => timeframe.periods_per_year(),
            Calendar::Weekdays => timeframe.periods_per_year() * 252.0 / 365.0,
        }
    }

    /// Bars of `timeframe` this calendar has strictly between `a` and `b`.
    pub fn bars_between(self, a: i64, b: i64, timeframe: crate::Timeframe) -> i64 {
        let all = (b.saturating_sub(a) / timeframe.0).saturating_sub(1).max(0);
        if self == Calendar::Continuous || all == 0 {
            return all;
        }
        if timeframe == crate::Timeframe::DAY {
            // Weekdays among the days strictly between.
            let (d0, d1) = (a.div_euclid(DAY_MS), b.div_euclid(DAY_MS));
            return (weekdays_before(d1) - weekdays_before(d0 + 1)).max(0);
        }
        // Other timeframes: about five days in seven.
        all * 5 / 7
    }
}

/// Monday to Friday, UTC (1970-01-01 was a Thursday).
fn is_weekday(ms: i64) -> bool {
    (ms.div_euclid(DAY_MS) + 3).rem_euclid(7) < 5
}

/// Weekdays before day `day` (since the epoch), counted from the Monday 1970-01-05 (negative
/// before it): differences count the weekdays in between.
fn weekdays_before(day: i64) -> i64 {
    let d = day - 4;
    d.div_euclid(7) * 5 + d.rem_euclid(7).min(5)
}

#[cfg(test)]
mod calendar_tests {
    use super::*;
    use crate::Timeframe;

    const DAY: i64 = 86_400_000;

    /// 2024-01-05 was a Friday, 2024-01-08 a Monday.
    #[test]
    fn weekends_are_not_gaps_on_a_weekday_calendar() {
        let friday = 19_727 * DAY;
        let monday = friday + 3 * DAY;
        assert!(
            Calendar::Weekdays.trades_at(friday) && !Calendar::Weekdays.trades_at(friday + DAY)
        );
        assert_eq!(Calendar::Weekdays.bars_between(friday, monday, Timeframe::DAY), 0);
        assert_eq!(Calendar::Continuous.bars_between(friday, monday, Timeframe::DAY), 2);
        // Friday to the next Wednesday: Monday and Tuesday are missing.
        assert_eq!(Calendar::Weekdays.bars_between(friday, monday + 2 * DAY, Timeframe::DAY), 2);
        // Two weeks: ten weekdays, the two Fridays excluded: nine.
        assert_eq!(Calendar::Weekdays.bars_between(friday, friday + 14 * DAY, Timeframe::DAY), 9);
        assert_eq!(Calendar::Weekdays.periods_per_year(Timeframe::DAY), 252.0);
        let days: Vec<i64> = (0..20)
            .map(|i| monday + i * DAY)
            .filter(|t| Calendar::Weekdays.trades_at(*t))
            .collect();
        assert_eq!(Calendar::detect(&days, Some(Timeframe::DAY)), Calendar::Weekdays);
        let all: Vec<i64> = (0..20).map(|i| monday + i * DAY).collect();
        assert_eq!(Calendar::detect(&all, Some(Timeframe::DAY)), Calendar::Continuous);
    }
}
