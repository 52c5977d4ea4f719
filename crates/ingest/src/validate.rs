use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Candles, IngestError};

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
    /// Data rows read (null and duplicate rows included).
    pub rows_read: usize,
    /// True when the rows were not in ascending time order and had to be sorted.
    pub reordered: bool,
    /// Rows dropped because a later row (in file order) had the same timestamp.
    pub duplicates_dropped: usize,
    /// Rows dropped because a price or volume field was null.
    pub null_rows_dropped: usize,
    /// Missing candles, found after sorting. Reported, not filled.
    pub gaps: Vec<Gap>,
}

/// One parsed data row, with its line for error messages.
pub(crate) struct RawRow {
    pub line: u64,
    pub timestamp_ms: i64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

/// Sorts, de-duplicates (last row in file order wins), checks OHLC consistency and finds gaps.
pub(crate) fn repair(
    mut rows: Vec<RawRow>,
    null_rows: usize,
    path: &Path,
) -> Result<(Candles, LoadReport), IngestError> {
    let mut report = LoadReport {
        source: path.to_path_buf(),
        rows_read: rows.len() + null_rows,
        null_rows_dropped: null_rows,
        ..LoadReport::default()
    };
    for row in &rows {
        check_ohlc(row, path)?;
    }
    report.reordered = rows.windows(2).any(|w| w[1].timestamp_ms < w[0].timestamp_ms);
    // Stable by (time, line): of rows sharing a timestamp, the one latest in the file is last.
    rows.sort_by_key(|r| (r.timestamp_ms, r.line));
    let before = rows.len();
    rows.reverse();
    rows.dedup_by_key(|r| r.timestamp_ms);
    rows.reverse();
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
    if let Some(tf) = candles.timeframe() {
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

fn check_ohlc(r: &RawRow, path: &Path) -> Result<(), IngestError> {
    let invalid = |message: String| {
        Err(IngestError::InvalidCandle { path: path.to_path_buf(), line: r.line, message })
    };
    let prices = [r.open, r.high, r.low, r.close];
    if prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
        return invalid(format!("prices must be positive and finite, got {prices:?}"));
    }
    if r.low > r.open.min(r.close) || r.high < r.open.max(r.close) {
        return invalid(format!(
            "needs low <= open, close <= high; got open {} high {} low {} close {}",
            r.open, r.high, r.low, r.close
        ));
    }
    if r.volume < 0.0 {
        return invalid(format!("negative volume {}", r.volume));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, t: i64, close: f64) -> RawRow {
        RawRow { line, timestamp_ms: t, open: close, high: close, low: close, close, volume: 1.0 }
    }

    #[test]
    fn duplicates_keep_the_last_row_in_file_order() {
        let rows = vec![row(2, 20, 2.0), row(3, 10, 1.0), row(4, 10, 1.5)];
        let (c, r) = repair(rows, 0, Path::new("f")).expect("valid rows");
        assert_eq!(c.timestamp_ms, vec![10, 20]);
        assert_eq!(c.close, vec![1.5, 2.0]);
        assert_eq!(r.duplicates_dropped, 1);
        assert!(r.reordered);
    }

    #[test]
    fn inconsistent_candle_names_its_line() {
        let mut bad = row(7, 10, 2.0);
        bad.low = 3.0;
        let err = repair(vec![row(6, 0, 1.0), bad], 0, Path::new("f.csv")).expect_err("low > high");
        assert!(err.to_string().starts_with("f.csv:7: invalid candle"), "{err}");
    }

    #[test]
    fn gaps_are_counted_in_bars() {
        let rows = vec![row(2, 0, 1.0), row(3, 10, 1.0), row(4, 20, 1.0), row(5, 50, 1.0)];
        let (_, r) = repair(rows, 0, Path::new("f")).expect("valid rows");
        assert_eq!(r.gaps, vec![Gap { after_ms: 20, missing: 2 }]);
    }
}
