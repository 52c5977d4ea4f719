use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

/// The spacing of candles, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timeframe(pub i64);

impl Timeframe {
    /// One day.
    pub const DAY: Timeframe = Timeframe(86_400_000);

    /// Bars per 365-day year: the crypto convention (markets never close).
    pub fn periods_per_year(self) -> f64 {
        365.0 * Self::DAY.0 as f64 / self.0 as f64
    }
}

impl fmt::Display for Timeframe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, len) in [("w", 604_800_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)]
        {
            if ms % len == 0 {
                return write!(f, "{}{unit}", ms / len);
            }
        }
        write!(f, "{ms}ms")
    }
}

/// How the times of consecutive candles are spaced, counted in one branch-free pass (it
/// vectorises; loading runs it on two cores, halves added): most files are in order with one
/// spacing and no gaps, which this settles without the passes that list the exceptions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Spacing {
    /// The spacing counted: the first pair's, when positive and not saturated; else 0, and
    /// no pair is a step.
    pub(crate) step: i64,
    /// Pairs not strictly increasing.
    pub(crate) unordered: usize,
    /// Pairs exactly `step` apart.
    pub(crate) steps: usize,
    /// Pairs whose wrapped difference exceeds `step`: a gap, or out of order (with `step`
    /// 0: every pair of unequal times).
    pub(crate) wider: usize,
}

impl Spacing {
    /// The spacing to count in `ts`: its first pair's (see [`Spacing::step`]).
    pub(crate) fn step(ts: &[i64]) -> i64 {
        match ts {
            // Saturating: a binary file's times may span more than an i64.
            [a, b, ..] => Some(b.saturating_sub(*a)).filter(|&d| d > 0 && d < i64::MAX),
            _ => None,
        }
        .unwrap_or(0)
    }

    /// Counts over the consecutive pairs of `ts`. `b` follows `a` by exactly `step` when
    /// `a + step` wraps to `b` and `b > a`: no overflow to rule out first.
    pub(crate) fn of(ts: &[i64], step: i64) -> Spacing {
        let mut counts = Spacing { step, ..Spacing::default() };
        for (&a, &b) in ts.iter().zip(ts.get(1..).unwrap_or_default()) {
            counts.unordered += usize::from(a >= b);
            counts.steps += usize::from((a.wrapping_add(step) == b) & (b > a));
            counts.wider += usize::from(b.wrapping_sub(a) as u64 > step as u64);
        }
        counts
    }

    /// Both halves' counts, for times split with the pair across the split in one of them.
    pub(crate) fn add(self, other: Spacing) -> Spacing {
        Spacing {
            step: self.step,
            unordered: self.unordered + other.unordered,
            steps: self.steps + other.steps,
            wider: self.wider + other.wider,
        }
    }

    /// The timeframe, when `step` is the spacing of more than half of the `n - 1` pairs.
    pub(crate) fn timeframe(&self, n: usize) -> Option<Timeframe> {
        (self.step > 0 && 2 * self.steps > n.saturating_sub(1)).then_some(Timeframe(self.step))
    }
}

/// OHLCV candles, sorted by time, one per timestamp, all prices positive.
///
/// Columns are plain vectors of equal length: indicators read them as slices. Timestamps are
/// candle open times in milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candles {
    /// Open time of each candle, ms since the epoch, strictly increasing.
    pub timestamp_ms: Vec<i64>,
    /// Opening prices.
    pub open: Vec<f64>,
    /// Highest prices.
    pub high: Vec<f64>,
    /// Lowest prices.
    pub low: Vec<f64>,
    /// Closing prices.
    pub close: Vec<f64>,
    /// Traded volume in the base asset (NaN where the source has none).
    pub volume: Vec<f64>,
}

impl Candles {
    /// Number of candles.
    pub fn len(&self) -> usize {
        self.timestamp_ms.len()
    }

    /// True when there are no candles.
    pub fn is_empty(&self) -> bool {
        self.timestamp_ms.is_empty()
    }

    /// Appends one candle (the caller keeps times increasing).
    pub fn push(
        &mut self,
        timestamp_ms: i64,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: f64,
    ) {
        self.timestamp_ms.push(timestamp_ms);
        self.open.push(open);
        self.high.push(high);
        self.low.push(low);
        self.close.push(close);
        self.volume.push(volume);
    }

    /// Moves `other`'s candles to the end of these.
    pub fn append(&mut self, mut other: Candles) {
        self.timestamp_ms.append(&mut other.timestamp_ms);
        self.open.append(&mut other.open);
        self.high.append(&mut other.high);
        self.low.append(&mut other.low);
        self.close.append(&mut other.close);
        self.volume.append(&mut other.volume);
    }

    /// Removes the last candle, if any.
    pub fn pop_last(&mut self) {
        self.timestamp_ms.pop();
        for v in [&mut self.open, &mut self.high, &mut self.low, &mut self.close, &mut self.volume]
        {
            v.pop();
        }
    }

    /// The candles at `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Candles {
        let take = |col: &[f64]| rows.iter().map(|&i| col[i]).collect::<Vec<f64>>();
        Candles {
            timestamp_ms: rows.iter().map(|&i| self.timestamp_ms[i]).collect(),
            open: take(&self.open),
            high: take(&self.high),
            low: take(&self.low),
            close: take(&self.close),
            volume: take(&self.volume),
        }
    }

    /// The most common spacing between consecutive candles, if there are at least two (the
    /// smallest one on ties).
    pub fn timeframe(&self) -> Option<Timeframe> {
        let ts = &self.timestamp_ms;
        if let Some(tf) = Spacing::of(ts, Spacing::step(ts)).timeframe(ts.len()) {
            return Some(tf);
        }
        // Candle files have a handful of distinct spacings (the timeframe, and gaps): count
        // them in a short list rather than sorting a million differences.
        let mut counts: Vec<(i64, usize)> = Vec::new();
        let mut last = 0;
        for w in ts.windows(2) {
            // Saturating: a binary file's times may span more than an i64.
            let d = w[1].saturating_sub(w[0]);
            if counts.get(last).is_some_and(|(v, _)| *v == d) {
                counts[last].1 += 1;
            } else if let Some(i) = counts.iter().position(|(v, _)| *v == d) {
                counts[i].1 += 1;
                last = i;
            } else {
                counts.push((d, 1));
                last = counts.len() - 1;
            }
        }
        counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(d, _)| Timeframe(d))
    }

    /// The candles whose open time lies in `[start_ms, end_ms)`; `None` leaves an end open.
    pub fn between(&self, start_ms: Option<i64>, end_ms: Option<i64>) -> Candles {
        let lo = start_ms.map_or(0, |s| self.timestamp_ms.partition_point(|&t| t < s));
        let hi = end_ms.map_or(self.len(), |e| self.timestamp_ms.partition_point(|&t| t < e));
        let hi = hi.max(lo);
        Candles {
            timestamp_ms: self.timestamp_ms[lo..hi].to_vec(),
            open: self.open[lo..hi].to_vec(),
            high: self.high[lo..hi].to_vec(),
            low: self.low[lo..hi].to_vec(),
            close: self.close[lo..hi].to_vec(),
            volume: self.volume[lo..hi].to_vec(),
        }
    }

    /// The candles as an Arrow record batch: `timestamp` (ms, UTC), open, high, low, close, volume.
    pub fn to_record_batch(&self) -> Result<RecordBatch, ArrowError> {
        let schema = Schema::new(vec![
            Field::new(
                "timestamp",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("open", DataType::Float64, false),
            Field::new("high", DataType::Float64, false),
            Field::new("low", DataType::Float64, false),
            Field::new("close", DataType::Float64, false),
            Field::new("volume", DataType::Float64, false),
        ]);
        let f = |v: &Vec<f64>| Arc::new(Float64Array::from(v.clone())) as ArrayRef;
        let ts = TimestampMillisecondArray::from(self.timestamp_ms.clone()).with_timezone("UTC");
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(ts),
                f(&self.open),
                f(&self.high),
                f(&self.low),
                f(&self.close),
                f(&self.volume),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candles(ts: &[i64]) -> Candles {
        let n = ts.len();
        Candles {
            timestamp_ms: ts.to_vec(),
            open: vec![1.0; n],
            high: vec![1.0; n],
            low: vec![1.0; n],
            close: vec![1.0; n],
            volume: vec![1.0; n],
        }
    }

    #[test]
    fn timeframe_is_the_most_common_spacing() {
        let c = candles(&[0, 10, 20, 30, 50, 60]);
        assert_eq!(c.timeframe(), Some(Timeframe(10)));
        assert_eq!(Timeframe::DAY.to_string(), "1d");
        assert_eq!(Timeframe(900_000).to_string(), "15m");
        assert_eq!(Timeframe::DAY.periods_per_year(), 365.0);
    }

    #[test]
    fn between_is_half_open() {
        let c = candles(&[0, 10, 20, 30]);
        assert_eq!(c.between(Some(10), Some(30)).timestamp_ms, vec![10, 20]);
        assert_eq!(c.between(None, Some(5)).len(), 1);
        assert_eq!(c.between(Some(40), None).len(), 0);
    }

    #[test]
    fn record_batch_has_the_documented_columns() {
        let b = candles(&[0, 10]).to_record_batch().expect("valid batch");
        let names: Vec<_> = b.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, ["timestamp", "open", "high", "low", "close", "volume"]);
        assert_eq!(b.num_rows(), 2);
    }
}
