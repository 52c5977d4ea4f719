use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::candles::Spacing;
use crate::error::Position;
use crate::{
    Candles, DuplicatePolicy, FillGaps, Format, IngestError, InvalidPolicy, LastCandle,
    LoadOptions, OrderPolicy, Timeframe,
};

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
    /// Missing candles, found after sorting (before any filling).
    pub gaps: Vec<Gap>,
    /// Candles inserted by `FillGaps::Ffill`.
    pub gaps_filled: usize,
    /// The last candle may still have been open when the file was made.
    pub last_maybe_unfinished: bool,
    /// The last candle was dropped (`LastCandle`).
    pub last_dropped: bool,
    /// The calendar gaps were found by (given, or detected).
    #[serde(serialize_with = "display_debug")]
    pub calendar: crate::Calendar,
}

fn display_debug<S: serde::Serializer>(v: &crate::Calendar, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format!("{v:?}").to_ascii_lowercase())
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

/// What a reader hands over: the rows in file order, as columns (NaN for a null field), and
/// what it already knows.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// Every row with a timestamp, unvalidated and unsorted.
    pub candles: Candles,
    /// Text formats: the line of each row. Binary formats: none (row `i` is `Row(i + 1)`).
    pub lines: Option<Vec<u64>>,
    /// Rows already dropped by the reader (no timestamp).
    pub null_rows: usize,
    pub format: Format,
    pub columns: Vec<String>,
    /// True when the source has no volume column (volume is then NaN, not a null row).
    pub no_volume: bool,
}

impl Parsed {
    pub fn new(format: Format, columns: Vec<String>, no_volume: bool, text: bool) -> Self {
        Parsed { format, columns, no_volume, lines: text.then(Vec::new), ..Parsed::default() }
    }

    /// Appends a row.
    #[allow(clippy::too_many_arguments)]
    pub fn push(&mut self, line: Option<u64>, t: i64, o: f64, h: f64, l: f64, c: f64, v: f64) {
        self.candles.push(t, o, h, l, c, v);
        if let (Some(lines), Some(line)) = (self.lines.as_mut(), line) {
            lines.push(line);
        }
    }

    fn at(&self, i: usize) -> Position {
        match &self.lines {
            Some(lines) => Position::Line(lines[i]),
            None => Position::Row(i as u64 + 1),
        }
    }

    fn is_null(&self, i: usize) -> bool {
        let c = &self.candles;
        let prices = [c.open[i], c.high[i], c.low[i], c.close[i]];
        prices.iter().any(|v| v.is_nan()) || (!self.no_volume && c.volume[i].is_nan())
    }
}

/// Drops null rows, checks OHLC consistency, sorts, resolves duplicates, finds gaps, and
/// applies the last-candle and gap-fill policies. `modified_ms` is when the file was last
/// written, when known.
///
/// Fast path: when every row is kept and times strictly increase (the usual file), the
/// columns move into the candles without a copy.
pub(crate) fn repair(
    parsed: Parsed,
    path: &Path,
    options: &LoadOptions,
    modified_ms: Option<i64>,
) -> Result<(Candles, LoadReport), IngestError> {
    let n = parsed.candles.len();
    let mut report = LoadReport {
        source: path.to_path_buf(),
        format: parsed.format,
        columns: parsed.columns.clone(),
        rows_read: n + parsed.null_rows,
        ..LoadReport::default()
    };
    let mut null_rows = parsed.null_rows;
    let mut keep: Option<Vec<bool>> = None;
    // The row-by-row pass below names the first bad row; most files have none, which a
    // branch-free pass over the columns finds several times faster.
    let (valid, spacing) = scan(&parsed.candles, parsed.no_volume);
    let rows_to_check = if valid { 0 } else { n };
    for i in 0..rows_to_check {
        let verdict = if parsed.is_null(i) {
            null_rows += 1;
            false
        } else {
            match check_ohlc(&parsed, i) {
                Ok(()) => true,
                Err(message) => match options.invalid {
                    InvalidPolicy::Error => {
                        return Err(IngestError::InvalidCandle {
                            path: path.to_path_buf(),
                            at: parsed.at(i),
                            message,
                        });
                    }
                    InvalidPolicy::Drop => {
                        report.invalid_dropped += 1;
                        false
                    }
                },
            }
        };
        if !verdict {
            keep.get_or_insert_with(|| vec![true; n])[i] = false;
        }
    }
    report.null_rows_dropped = null_rows;
    let ts = &parsed.candles.timestamp_ms;
    // The usual file: every row kept, in order. The scan's spacing then describes `candles`.
    let unchanged = keep.is_none() && spacing.unordered == 0;
    let mut candles = if unchanged {
        parsed.candles
    } else {
        let mut rows: Vec<usize> = match &keep {
            Some(k) => (0..n).filter(|&i| k[i]).collect(),
            None => (0..n).collect(),
        };
        report.reordered = rows.windows(2).any(|w| ts[w[1]] < ts[w[0]]);
        if report.reordered && options.order == OrderPolicy::Error {
            // The file's own order: ascending, or newest first throughout.
            let newest_first = ts[rows[0]] > ts[rows[rows.len() - 1]];
            let back =
                |w: &[usize]| if newest_first { ts[w[1]] > ts[w[0]] } else { ts[w[1]] < ts[w[0]] };
            if let Some(w) = rows.windows(2).find(|w| back(w)) {
                return Err(IngestError::OutOfOrder {
                    path: path.to_path_buf(),
                    at: parsed.at(w[1]),
                    timestamp: format_ms(ts[w[1]]),
                    previous: format_ms(ts[w[0]]),
                    order: if newest_first { "newest first" } else { "oldest first" },
                });
            }
        }
        // Stable: rows sharing a timestamp stay in file order.
        rows.sort_by_key(|&i| ts[i]);
        let before = rows.len();
        match options.duplicates {
            DuplicatePolicy::KeepFirst => rows.dedup_by_key(|i| ts[*i]),
            DuplicatePolicy::KeepLast => {
                rows.reverse();
                rows.dedup_by_key(|i| ts[*i]);
                rows.reverse();
            }
            DuplicatePolicy::Error => {
                if let Some(w) = rows.windows(2).find(|w| ts[w[0]] == ts[w[1]]) {
                    return Err(IngestError::Duplicate {
                        path: path.to_path_buf(),
                        at: parsed.at(w[1]),
                        timestamp: format_ms(ts[w[1]]),
                    });
                }
            }
        }
        report.duplicates_dropped = before - rows.len();
        parsed.candles.select(&rows)
    };
    report.timeframe = match spacing.timeframe(n) {
        Some(tf) if unchanged => Some(tf),
        _ => candles.timeframe(),
    };
    if let (Some(tf), Some(&last)) = (report.timeframe, candles.timestamp_ms.last()) {
        let closes_after_file = modified_ms.is_some_and(|m| last.saturating_add(tf.0) > m);
        report.last_maybe_unfinished =
            closes_after_file || report.format == Format::CryptoDataDownload;
    }
    let drop_last = match options.last_candle {
        LastCandle::Keep => false,
        LastCandle::DropIfUnfinished => report.last_maybe_unfinished,
        LastCandle::Drop => true,
    };
    if drop_last && !candles.is_empty() {
        candles.pop_last();
        report.last_dropped = true;
    }
    if candles.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf() });
    }
    // No pair wider than the timeframe: no gap (dropping the last candle adds none).
    let gapless = |tf: Timeframe| unchanged && tf.0 == spacing.step && spacing.wider == 0;
    let calendar = options
        .calendar
        .unwrap_or_else(|| crate::Calendar::detect(&candles.timestamp_ms, report.timeframe));
    report.calendar = calendar;
    if let Some(tf) = report.timeframe.filter(|&tf| !gapless(tf)) {
        report.gaps = candles
            .timestamp_ms
            .windows(2)
            .filter(|w| w[1].saturating_sub(w[0]) > tf.0)
            .map(|w| Gap { after_ms: w[0], missing: calendar.bars_between(w[0], w[1], tf) })
            .filter(|g| g.missing > 0)
            .collect();
        if options.fill_gaps == FillGaps::Ffill && !report.gaps.is_empty() {
            let filled = report.gaps.iter().fold(0u64, |n, g| n.saturating_add(g.missing as u64));
            let allowed = (candles.len() as u64).saturating_mul(MAX_FILL_PER_CANDLE).max(MIN_FILL);
            if filled > allowed {
                let largest = report.gaps.iter().max_by_key(|g| g.missing).expect("a gap");
                return Err(IngestError::Format {
                    path: path.to_path_buf(),
                    message: format!(
                        "data.fill_gaps: ffill would add {filled} candles to the file's {} \
                         (the largest gap: {} candles after {}): more than {MAX_FILL_PER_CANDLE} \
                         per candle suggests wrong times; check the file, or set fill_gaps: none",
                        candles.len(),
                        largest.missing,
                        format_ms(largest.after_ms)
                    ),
                });
            }
            report.gaps_filled = filled as usize;
            candles = forward_fill(&candles, tf, calendar);
        }
    }
    Ok((candles, report))
}

/// Forward-filling adds at most this many candles per candle of the file, or [`MIN_FILL`] in
/// all: beyond that the times are likely wrong, and filling would exhaust memory before it
/// said so (found by fuzzing: a file of two rows asking for 10^12 candles).
const MAX_FILL_PER_CANDLE: u64 = 10;
const MIN_FILL: u64 = 1_000_000;

/// Inserts a flat candle (open = high = low = close = the previous close, volume 0) at every
/// missing step of `tf`.
fn forward_fill(c: &Candles, tf: Timeframe, calendar: crate::Calendar) -> Candles {
    let mut out = Candles::default();
    for i in 0..c.len() {
        if i > 0 {
            let prev = c.close[i - 1];
            let mut t = c.timestamp_ms[i - 1].checked_add(tf.0);
            while let Some(at) = t.filter(|&at| at < c.timestamp_ms[i]) {
                if calendar.trades_at(at) {
                    out.push(at, prev, prev, prev, prev, 0.0);
                }
                t = at.checked_add(tf.0);
            }
        }
        out.push(c.timestamp_ms[i], c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]);
    }
    out
}

/// `2021-06-10 00:00:00` (UTC) for messages.
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| format!("{ms} ms"), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// Whether every row passes [`check_ohlc`] (and so none is null), and how the times are
/// spaced: branch-free passes without early exits, so that they vectorise, over each half
/// of a large file on its own core.
fn scan(c: &Candles, no_volume: bool) -> (bool, Spacing) {
    let (n, ts) = (c.len(), &c.timestamp_ms);
    let step = Spacing::step(ts);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    if threads < 2 || n < 1 << 18 {
        return (rows_valid(c, no_volume, 0..n), Spacing::of(ts, step));
    }
    // The second half's times start one early, for the pair across the split. A panicked
    // half counts as invalid, which sends the file through the row-by-row pass.
    let half = n / 2;
    std::thread::scope(|scope| {
        let other =
            scope.spawn(|| (rows_valid(c, no_volume, half..n), Spacing::of(&ts[half - 1..], step)));
        let (valid, spacing) = (rows_valid(c, no_volume, 0..half), Spacing::of(&ts[..half], step));
        match other.join() {
            Ok((other_valid, other_spacing)) => (valid & other_valid, spacing.add(other_spacing)),
            Err(_) => (false, spacing),
        }
    })
}

fn rows_valid(c: &Candles, no_volume: bool, rows: std::ops::Range<usize>) -> bool {
    let (o, h, l, cl, v) = (
        &c.open[rows.clone()],
        &c.high[rows.clone()],
        &c.low[rows.clone()],
        &c.close[rows.clone()],
        &c.volume[rows.clone()],
    );
    let rows = o.iter().zip(h).zip(l).zip(cl).zip(v);
    rows.fold(true, |ok, ((((&o, &h), &l), &c), &v)| {
        // A comparison with NaN is false. With 0 < low <= open, close <= high < INF, every
        // price is positive and finite.
        let ordered = (l <= o) & (l <= c) & (h >= o) & (h >= c);
        ok & ordered & (l > 0.0) & (h < f64::INFINITY) & (no_volume | (v >= 0.0))
    })
}

fn check_ohlc(p: &Parsed, i: usize) -> Result<(), String> {
    let c = &p.candles;
    let (open, high, low, close) = (c.open[i], c.high[i], c.low[i], c.close[i]);
    let prices = [open, high, low, close];
    if !prices.iter().all(|v| v.is_finite() && *v > 0.0) {
        return Err(format!("prices must be positive and finite, got {prices:?}"));
    }
    if low > open.min(close) || high < open.max(close) {
        return Err(format!(
            "needs low <= open, close <= high; got open {open} high {high} low {low} close {close}"
        ));
    }
    let volume = c.volume[i];
    if !p.no_volume && (volume.is_nan() || volume < 0.0) {
        return Err(format!("volume must be a non-negative number, got {volume}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows `(line, time, close)` with open = high = low = close, volume 1.
    fn parsed(rows: &[(u64, i64, f64)]) -> Parsed {
        let mut p = Parsed::new(Format::Csv, Vec::new(), false, true);
        for &(line, t, c) in rows {
            p.push(Some(line), t, c, c, c, c, 1.0);
        }
        p
    }

    fn opts(duplicates: DuplicatePolicy, invalid: InvalidPolicy) -> LoadOptions {
        LoadOptions { duplicates, invalid, ..LoadOptions::default() }
    }

    /// Filling a gap of 10^10 candles in a file of four is refused by name, not attempted
    /// (it exhausted memory: found by fuzzing); a real gap is filled.
    #[test]
    fn forward_filling_refuses_absurd_gaps() {
        let ffill = LoadOptions { fill_gaps: FillGaps::Ffill, ..LoadOptions::default() };
        let rows = parsed(&[(2, 0, 1.0), (3, 60_000, 1.0), (4, 120_000, 1.0), (5, 1 << 50, 1.0)]);
        let err = repair(rows, Path::new("f.csv"), &ffill, None).expect_err("absurd gap");
        assert!(err.to_string().contains("f.csv: data.fill_gaps: ffill would add"), "{err}");
        let rows = parsed(&[(2, 0, 1.0), (3, 60_000, 1.0), (4, 120_000, 1.0), (5, 600_000, 2.0)]);
        let (c, r) = repair(rows, Path::new("f.csv"), &ffill, None).expect("a real gap");
        assert_eq!((c.len(), r.gaps_filled), (11, 7));
    }

    /// `order: error` refuses a row out of the file's order, naming it; a file newest first
    /// throughout (CryptoDataDownload) is in its order. `sort` sorts either.
    #[test]
    fn out_of_order_rows_are_sorted_or_refused() {
        let refuse = LoadOptions { order: OrderPolicy::Error, ..LoadOptions::default() };
        let pasted = || parsed(&[(2, 10, 1.0), (3, 30, 1.0), (4, 20, 1.0), (5, 40, 1.0)]);
        let err = repair(pasted(), Path::new("f.csv"), &refuse, None).expect_err("out of order");
        assert!(err.to_string().starts_with("f.csv:4: the time"), "{err}");
        assert!(err.to_string().contains("(oldest first, after"), "{err}");
        let (c, r) =
            repair(pasted(), Path::new("f.csv"), &LoadOptions::default(), None).expect("sorted");
        assert_eq!((c.timestamp_ms, r.reordered), (vec![10, 20, 30, 40], true));
        let newest_first = parsed(&[(2, 40, 1.0), (3, 30, 1.0), (4, 20, 1.0)]);
        let (c, _) = repair(newest_first, Path::new("f.csv"), &refuse, None).expect("in order");
        assert_eq!(c.timestamp_ms, vec![20, 30, 40]);
        let broken = parsed(&[(2, 40, 1.0), (3, 10, 1.0), (4, 20, 1.0)]);
        let err = repair(broken, Path::new("f.csv"), &refuse, None).expect_err("goes up");
        assert!(err.to_string().starts_with("f.csv:4:"), "{err}");
    }

    #[test]
    fn duplicate_policies() {
        let rows = || parsed(&[(2, 20, 2.0), (3, 10, 1.0), (4, 10, 1.5)]);
        let p = Path::new("f");
        let (c, r) = repair(rows(), p, &LoadOptions::default(), None).expect("keep last");
        assert_eq!((c.timestamp_ms.clone(), c.close.clone()), (vec![10, 20], vec![1.5, 2.0]));
        assert_eq!(r.duplicates_dropped, 1);
        assert!(r.reordered);
        let first = opts(DuplicatePolicy::KeepFirst, InvalidPolicy::Error);
        let (c, _) = repair(rows(), p, &first, None).expect("keep first");
        assert_eq!(c.close, vec![1.0, 2.0]);
        let error = opts(DuplicatePolicy::Error, InvalidPolicy::Error);
        let err = repair(rows(), Path::new("f.csv"), &error, None).expect_err("duplicates");
        assert!(
            err.to_string().starts_with("f.csv:4: duplicate candle at 1970-01-01 00:00:00"),
            "{err}"
        );
    }

    #[test]
    fn invalid_candles_are_refused_or_dropped_and_counted() {
        let rows = || {
            let mut p = parsed(&[(6, 0, 1.0), (7, 10, 2.0), (8, 20, 1.0)]);
            p.candles.low[1] = 3.0;
            p
        };
        let err = repair(rows(), Path::new("f.csv"), &LoadOptions::default(), None)
            .expect_err("low > high");
        assert!(err.to_string().starts_with("f.csv:7: invalid candle"), "{err}");
        let drop = opts(DuplicatePolicy::KeepLast, InvalidPolicy::Drop);
        let (c, r) = repair(rows(), Path::new("f.csv"), &drop, None).expect("dropped");
        assert_eq!((c.len(), r.invalid_dropped), (2, 1));
    }

    #[test]
    fn gaps_are_counted_in_bars() {
        let rows = parsed(&[(2, 0, 1.0), (3, 10, 1.0), (4, 20, 1.0), (5, 50, 1.0)]);
        let (_, r) = repair(rows, Path::new("f"), &LoadOptions::default(), None).expect("valid");
        assert_eq!(r.gaps, vec![Gap { after_ms: 20, missing: 2 }]);
        assert_eq!(r.timeframe, Some(Timeframe(10)));
    }

    #[test]
    fn gap_filling_and_the_last_candle_policies() {
        let rows = || parsed(&[(2, 0, 1.0), (3, 10, 2.0), (4, 40, 3.0), (5, 50, 4.0)]);
        let fill = LoadOptions { fill_gaps: FillGaps::Ffill, ..LoadOptions::default() };
        let (c, r) = repair(rows(), Path::new("f"), &fill, None).expect("filled");
        assert_eq!(c.timestamp_ms, vec![0, 10, 20, 30, 40, 50]);
        assert_eq!((c.close[2], c.open[3], c.volume[2]), (2.0, 2.0, 0.0));
        assert_eq!((r.gaps_filled, r.gaps.len()), (2, 1));
        // Written at t = 55: the candle opening at 50 closes at 60, after the file was made.
        let unfinished =
            LoadOptions { last_candle: LastCandle::DropIfUnfinished, ..LoadOptions::default() };
        let (c, r) = repair(rows(), Path::new("f"), &unfinished, Some(55)).expect("dropped");
        assert!(r.last_maybe_unfinished && r.last_dropped);
        assert_eq!(c.timestamp_ms.last(), Some(&40));
        let (c, r) = repair(rows(), Path::new("f"), &unfinished, Some(60)).expect("kept");
        assert!(!r.last_maybe_unfinished && !r.last_dropped);
        assert_eq!(c.len(), 4);
        let keep = LoadOptions::default();
        let (_, r) = repair(rows(), Path::new("f"), &keep, Some(55)).expect("kept");
        assert!(r.last_maybe_unfinished && !r.last_dropped);
    }

    /// Large files are checked in two halves on two cores: a bad row in either half is found.
    #[test]
    fn fast_check_of_large_files_sees_both_halves() {
        let n = 300_000;
        let mut p = Parsed::new(Format::Csv, Vec::new(), false, false);
        for k in 0..n {
            p.push(None, k as i64, 2.0, 3.0, 1.0, 2.5, 10.0);
        }
        assert!(scan(&p.candles, false).0);
        for bad in [7, n - 7] {
            let mut c = p.candles.clone();
            c.low[bad] = 2.2;
            assert!(!scan(&c, false).0, "row {bad}");
        }
        // The times: a gap late in the second half, a step back across the split.
        let mut c = p.candles.clone();
        c.timestamp_ms[n - 3..].iter_mut().for_each(|t| *t += 5);
        c.timestamp_ms[n / 2] = c.timestamp_ms[n / 2 - 1];
        let (_, halves) = scan(&c, false);
        assert_eq!(halves, Spacing::of(&c.timestamp_ms, 1));
        // The step back is one unordered pair, and the pair after it spans 2: wider, as the gap.
        assert_eq!((halves.unordered, halves.wider, halves.steps), (1, 2, n - 4));
    }

    proptest::proptest! {
        /// The fast column pass says "all valid" exactly when the row-by-row check passes
        /// every row: NaN, infinities, zero, negative and misordered prices included.
        #[test]
        fn fast_check_agrees_with_row_check(
            rows in proptest::collection::vec(row(), 0..12),
            no_volume in proptest::bool::ANY,
        ) {
            let mut p = Parsed::new(Format::Csv, Vec::new(), no_volume, false);
            for (k, [o, h, l, c, v]) in rows.iter().enumerate() {
                p.push(None, k as i64, *o, *h, *l, *c, *v);
            }
            let rowwise = (0..p.candles.len()).all(|i| !p.is_null(i) && check_ohlc(&p, i).is_ok());
            proptest::prop_assert_eq!(scan(&p.candles, no_volume).0, rowwise);
        }

        /// What the spacing pass settles agrees with the full passes: order, the most common
        /// spacing (the smallest on ties), and no gap. Times near the ends of an i64 included.
        #[test]
        fn spacing_agrees_with_the_full_passes(
            start in proptest::sample::select(vec![0, -5, i64::MIN, i64::MAX - 40, i64::MIN + 3]),
            moves in proptest::collection::vec(
                proptest::sample::select(vec![1i64, 1, 1, 2, 3, 0, -1, i64::MAX, i64::MIN]), 0..12),
        ) {
            let mut ts = vec![start];
            for m in moves {
                let last = ts[ts.len() - 1];
                ts.push(last.wrapping_add(m));
            }
            let spacing = Spacing::of(&ts, Spacing::step(&ts));
            let pairs: Vec<(i64, i64)> = ts.windows(2).map(|w| (w[0], w[1])).collect();
            proptest::prop_assert_eq!(spacing.unordered == 0, pairs.iter().all(|(a, b)| a < b));
            let mut counts = std::collections::BTreeMap::new();
            for (a, b) in &pairs {
                *counts.entry(b.saturating_sub(*a)).or_insert(0usize) += 1;
            }
            // The largest count; on ties the smallest spacing (the map is in spacing order).
            let most = counts.iter().rev().max_by_key(|(_, n)| **n).map(|(d, _)| Timeframe(*d));
            if let Some(tf) = spacing.timeframe(ts.len()) {
                proptest::prop_assert_eq!(Some(tf), most);
                if spacing.wider == 0 {
                    proptest::prop_assert!(pairs.iter().all(|(a, b)| b.saturating_sub(*a) <= tf.0));
                }
            }
            let c = Candles { timestamp_ms: ts.clone(), ..Candles::default() };
            proptest::prop_assert_eq!(c.timeframe(), most);
        }
    }

    /// A consistent row `[open, high, low, close, volume]`, one field in four replaced by a
    /// value that may break it (NaN, infinities, zero, negative, out of the low..high range).
    fn row() -> impl proptest::strategy::Strategy<Value = [f64; 5]> {
        use proptest::strategy::Strategy;
        let bad = proptest::sample::select(vec![
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.5,
            100.0,
        ]);
        (1.0..2.0f64, 0.0..1.0f64, 0.0..1.0f64, 0.0..1.0f64, 0.0..9.0f64, 0..20usize, bad).prop_map(
            |(low, a, b, up, volume, field, value)| {
                let mut r = [low + a, low + a.max(b) + up, low, low + b, volume];
                if let Some(f) = r.get_mut(field) {
                    *f = value;
                }
                r
            },
        )
    }
}
