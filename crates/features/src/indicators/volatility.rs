//! Ranges and dispersion: TRANGE, ATR, NATR, BBANDS, STDDEV.

use super::average::{MaType, ma};
use super::{is_zero, is_zero_or_neg, lane_sum, nan};

/// True range of bar `i` (needs `i ≥ 1`), in TA-Lib's order of comparisons.
pub(crate) fn true_range(high: f64, low: f64, prev_close: f64) -> f64 {
    let mut greatest = high - low;
    let d = (prev_close - high).abs();
    if d > greatest {
        greatest = d;
    }
    let d = (low - prev_close).abs();
    if d > greatest {
        greatest = d;
    }
    greatest
}

/// True range; row 0 is NaN.
pub fn trange(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    let mut out = nan(close.len());
    for i in 1..close.len() {
        out[i] = true_range(high[i], low[i], close[i - 1]);
    }
    out
}

/// Wilder's average true range: the mean of the first `period` true ranges, then smoothed;
/// the first `period` rows are NaN.
pub fn atr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let n = close.len();
    if period <= 1 {
        return trange(high, low, close);
    }
    let mut out = nan(n);
    if n <= period {
        return out;
    }
    let tr = |i: usize| true_range(high[i], low[i], close[i - 1]);
    let p = period as f64;
    let mut prev = (1..=period).map(tr).sum::<f64>() / p;
    out[period] = prev;
    // Wilder's smoothing as `prev · a + tr · b` (see `wilder_oscillator`).
    let (a, b) = ((p - 1.0) / p, 1.0 / p);
    for i in period + 1..n {
        prev = prev * a + tr(i) * b;
        out[i] = prev;
    }
    out
}

/// ATR as a percentage of the close; the first `period` rows are NaN.
pub fn natr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let a = atr(high, low, close, period);
    a.iter()
        .zip(close)
        .map(|(&a, &c)| {
            if a.is_nan() {
                f64::NAN
            } else if is_zero(c) {
                0.0
            } else {
                (a / c) * 100.0
            }
        })
        .collect()
}

/// Population variance over `period` bars. TA-Lib 0.8 no longer takes it from running sums
/// of values and squares (which cancel catastrophically: a flat window read 1e-5, not 0);
/// this computes each window's deviations around its own mean, which agrees with TA-Lib 0.8
/// to about 1e-13 and is exactly 0 on a flat window.
fn variance(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    if period == 0 || x.len() < period {
        return out;
    }
    let n = period as f64;
    for (i, w) in x.windows(period).enumerate() {
        let mean = lane_sum(w, |v| v) / n;
        out[i + period - 1] = lane_sum(w, |v| (v - mean) * (v - mean)) / n;
    }
    out
}

/// Population standard deviation over `period` bars, times `nbdev`; the first
/// `period − 1` rows are NaN.
pub fn stddev(x: &[f64], period: usize, nbdev: f64) -> Vec<f64> {
    variance(x, period)
        .into_iter()
        .map(|v| {
            if v.is_nan() {
                f64::NAN
            } else if is_zero_or_neg(v) {
                0.0
            } else if nbdev == 1.0 {
                v.sqrt()
            } else {
                v.sqrt() * nbdev
            }
        })
        .collect()
}

/// Bollinger bands.
#[derive(Debug, Clone, PartialEq)]
pub struct Bands {
    /// Middle band plus `nbdev_up` deviations.
    pub upper: Vec<f64>,
    /// The moving average.
    pub middle: Vec<f64>,
    /// Middle band minus `nbdev_down` deviations.
    pub lower: Vec<f64>,
}

/// TA-Lib's BBANDS: the middle band is the MA of `kind`; the deviation is the population
/// standard deviation around it, from running sums of squares.
pub fn bbands(x: &[f64], period: usize, nbdev_up: f64, nbdev_down: f64, kind: MaType) -> Bands {
    let n = x.len();
    let middle = ma(x, period, kind);
    let dev = stddev(x, period, 1.0);
    let mut bands = Bands { upper: nan(n), middle: middle.clone(), lower: nan(n) };
    for i in 0..n {
        let (m, d) = (middle[i], dev[i]);
        if m.is_nan() || d.is_nan() {
            bands.middle[i] = f64::NAN;
            continue;
        }
        let (up, down) = if nbdev_up == nbdev_down {
            if nbdev_up == 1.0 { (d, d) } else { (d * nbdev_up, d * nbdev_up) }
        } else {
            (
                if nbdev_up == 1.0 { d } else { d * nbdev_up },
                if nbdev_down == 1.0 { d } else { d * nbdev_down },
            )
        };
        bands.upper[i] = m + up;
        bands.lower[i] = m - down;
    }
    bands
}
