use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Position;
use crate::{Candles, DuplicatePolicy, Format, IngestError, InvalidPolicy, LoadOptions, Timeframe};

/// A run of missing candles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Open time of the last candle before the gap (ms since the epoch).
    pub after_ms: i64,
    /// How many candles of the detected timeframe are missing.
    pub missing: i64,
}

/// What loading found and repaired. Nothing is repaired silently: every change is counted here.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadReport {
    /// The source, as given.
    pub source: PathBuf,
    /// The format it was read as.
    #[serde(serialize_with = "display")]
    pub format: Format,
    /// The source's columns, as named in it.
    pub columns: Vec<String>,
    /// Data rows read (null, invalid and duplicate rows included).
    pub rows_read: usize,
    /// True when the rows were not in ascending time order and had to be sorted.
    pub reordered: bool,
    /// Rows dropped because another row had the same timestamp (see `DuplicatePolicy`).
    pub duplicates_dropped: usize,
    /// Rows dropped because a price or volume field was null.
    pub null_rows_dropped: usize,
    /// Rows dropped for breaking OHLC consistency (only with `InvalidPolicy::Drop`).
    pub invalid_dropped: usize,
    /// The most common spacing of the candles kept.
    #[serde(serialize_with = "display_opt")]
    pub timeframe: Option<Timeframe>,
    /// Missing candles, found after sorting. Reported, not filled.
    pub gaps: Vec<Gap>,
}

fn display<S: serde::Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn display_opt<S: serde::Serializer>(v: &Option<Timeframe>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

/// One parsed data row, with its position for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawRow {
    pub at: Position,
    pub timestamp_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl RawRow {
    /// A row any of whose prices or volume is missing (NaN stands for null in binary formats).
    pub fn is_null(&self) -> bool {
        [self.open, self.high, self.low, self.close, self.volume].iter().any(|v| v.is_nan())
    }
}

/// What a reader hands over: rows in file order, and what it already knows.
pub(crate) struct Parsed {
    pub rows: Vec<RawRow>,
    pub null_rows: usize,
    pub format: Format,
    pub columns: Vec<String>,
    /// True when the source has no volume column (volume is then NaN, not a null row).
    pub no_volume: bool,
}

/// Drops null rows, checks OHLC consistency, sorts, resolves duplicates and finds gaps.
pub(crate) fn repair(
    parsed: Parsed,
    path: &Path,
    options: &LoadOptions,
) -> Result<(Candles, LoadReport), IngestError> {
    let Parsed { rows, mut null_rows, format, columns, no_volume } = parsed;
    let mut report = LoadReport {
        source: path.to_path_buf(),
        format,
        columns,
        rows_read: rows.len() + null_rows,
        ..LoadReport::default()
    };
    let mut kept = Vec::with_capacity(rows.len());
    for row in rows {
        let null = if no_volume {
            [row.open, row.high, row.low, row.close].iter().any(|v| v.is_nan())
        } else {
            row.is_null()
        };
        if null {
            null_rows += 1;
            continue;
        }
        match check_ohlc(&row, no_volume) {
            Ok(()) => kept.push(row),
            Err(message) => match options.invalid {
                InvalidPolicy::Error => {
                    return Err(IngestError::InvalidCandle {
                        path: path.to_path_buf(),
                        at: row.at,
                        message,
                    });
                }
                InvalidPolicy::Drop => report.invalid_dropped += 1,
            },
        }
    }
    report.null_rows_dropped = null_rows;
    let mut rows = kept;
    report.reordered = rows.windows(2).any(|w| w[1].timestamp_ms < w[0].timestamp_ms);
    // Stable sort: rows sharing a timestamp stay in file order.
    rows.sort_by_key(|r| r.timestamp_ms);
    let before = rows.len();
    match options.duplicates {
        DuplicatePolicy::KeepFirst => rows.dedup_by_key(|r| r.timestamp_ms),
        DuplicatePolicy::KeepLast => {
            rows.reverse();
            rows.dedup_by_key(|r| r.timestamp_ms);
            rows.reverse();
        }
        DuplicatePolicy::Error => {
            if let Some(w) = rows.windows(2).find(|w| w[0].timestamp_ms == w[1].timestamp_ms) {
                return Err(IngestError::Duplicate {
                    path: path.to_path_buf(),
                    at: w[1].at,
                    timestamp: format_ms(w[1].timestamp_ms),
                });
            }
        }
    }
    report.duplicates_dropped = before - rows.len();
    if rows.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }

    let mut candles = Candles::default();
    for r in &rows {
        candles.timestamp_ms.push(r.timestamp_ms);
        candles.open.push(r.open);
        candles.high.push(r.high);
        candles.low.push(r.low);
        candles.close.push(r.close);
        candles.volume.push(r.volume);
    }
    report.timeframe = candles.timeframe();
    if let Some(tf) = report.timeframe {
        report.gaps = candles
            .timestamp_ms
            .windows(2)
            .filter(|w| w[1] - w[0] > tf.0)
            .map(|w| Gap { after_ms: w[0], missing: (w[1] - w[0]) / tf.0 - 1 })
            .filter(|g| g.missing > 0)
            .collect();
    }
    Ok((candles, report))
}

/// `2021-06-10 00:00:00` (UTC) for messages.
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| format!("{ms} ms"), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn check_ohlc(r: &RawRow, no_volume: bool) -> Result<(), String> {
    let prices = [r.open, r.high, r.low, r.close];
    if prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
        return Err(format!("prices must be positive and finite, got {prices:?}"));
    }
    if r.low > r.open.min(r.close) || r.high < r.open.max(r.close) {
        return Err(format!(
            "needs low <= open, close <= high; got open {} high {} low {} close {}",
            r.open, r.high, r.low, r.close
        ));
    }
    if !no_volume && (r.volume.is_nan() || r.volume < 0.0) {
        return Err(format!("volume must be a non-negative number, got {}", r.volume));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, t: i64, close: f64) -> RawRow {
        RawRow {
            at: Position::Line(line),
            timestamp_ms: t,
            open: close,
            high: close,
            low: close,
            close,
            volume: 1.0,
        }
    }

    fn parsed(rows: Vec<RawRow>) -> Parsed {
        Parsed { rows, null_rows: 0, format: Format::Csv, columns: Vec::new(), no_volume: false }
    }

    fn opts(duplicates: DuplicatePolicy, invalid: InvalidPolicy) -> LoadOptions {
        LoadOptions { format: Format::Auto, duplicates, invalid, columns: None }
    }

    #[test]
    fn duplicate_policies() {
        let rows = || vec![row(2, 20, 2.0), row(3, 10, 1.0), row(4, 10, 1.5)];
        let p = Path::new("f");
        let (c, r) = repair(parsed(rows()), p, &LoadOptions::default()).expect("keep last");
        assert_eq!((c.timestamp_ms.clone(), c.close.clone()), (vec![10, 20], vec![1.5, 2.0]));
        assert_eq!(r.duplicates_dropped, 1);
        assert!(r.reordered);
        let first = opts(DuplicatePolicy::KeepFirst, InvalidPolicy::Error);
        let (c, _) = repair(parsed(rows()), p, &first).expect("keep first");
        assert_eq!(c.close, vec![1.0, 2.0]);
        let error = opts(DuplicatePolicy::Error, InvalidPolicy::Error);
        let err = repair(parsed(rows()), Path::new("f.csv"), &error).expect_err("duplicates");
        assert!(
            err.to_string().starts_with("f.csv:4: duplicate candle at 1970-01-01 00:00:00"),
            "{err}"
        );
    }

    #[test]
    fn invalid_candles_are_refused_or_dropped_and_counted() {
        let mut bad = row(7, 10, 2.0);
        bad.low = 3.0;
        let rows = || vec![row(6, 0, 1.0), bad, row(8, 20, 1.0)];
        let err = repair(parsed(rows()), Path::new("f.csv"), &LoadOptions::default())
            .expect_err("low > high");
        assert!(err.to_string().starts_with("f.csv:7: invalid candle"), "{err}");
        let drop = opts(DuplicatePolicy::KeepLast, InvalidPolicy::Drop);
        let (c, r) = repair(parsed(rows()), Path::new("f.csv"), &drop).expect("dropped");
        assert_eq!((c.len(), r.invalid_dropped), (2, 1));
    }

    #[test]
    fn gaps_are_counted_in_bars() {
        let rows = vec![row(2, 0, 1.0), row(3, 10, 1.0), row(4, 20, 1.0), row(5, 50, 1.0)];
        let (_, r) = repair(parsed(rows), Path::new("f"), &LoadOptions::default()).expect("valid");
        assert_eq!(r.gaps, vec![Gap { after_ms: 20, missing: 2 }]);
        assert_eq!(r.timeframe, Some(Timeframe(10)));
    }
}
