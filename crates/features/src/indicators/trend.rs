//! Trend: ADX, +DI, −DI, AROON, parabolic SAR.

use super::volatility::true_range;
use super::{is_zero, nan};

/// The directional movement of bar `i` against bar `i − 1`: `(+DM, −DM)`, at most one
/// non-zero (TA-Lib's rule).
fn directional(high: &[f64], low: &[f64], i: usize) -> (f64, f64) {
    let diff_p = high[i] - high[i - 1];
    let diff_m = low[i - 1] - low[i];
    if diff_m > 0.0 && diff_p < diff_m {
        (0.0, diff_m)
    } else if diff_p > 0.0 && diff_p > diff_m {
        (diff_p, 0.0)
    } else {
        (0.0, 0.0)
    }
}

/// Wilder-smoothed `(+DM, −DM, TR)` from row `period` on: plain sums over bars
/// `1..period`, then `x − x/period + new` from bar `period` (TA-Lib's DI and ADX).
fn smoothed_dm(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
) -> Vec<Option<(f64, f64, f64)>> {
    let n = close.len();
    let mut out = vec![None; n];
    if period == 0 || n <= period {
        return out;
    }
    let p = period as f64;
    let (mut plus, mut minus, mut tr) = (0.0, 0.0, 0.0);
    for i in 1..period {
        let (dp, dm) = directional(high, low, i);
        plus += dp;
        minus += dm;
        tr += true_range(high[i], low[i], close[i - 1]);
    }
    for (i, o) in out.iter_mut().enumerate().skip(period) {
        let (dp, dm) = directional(high, low, i);
        plus = plus - plus / p + dp;
        minus = minus - minus / p + dm;
        tr = tr - tr / p + true_range(high[i], low[i], close[i - 1]);
        *o = Some((plus, minus, tr));
    }
    out
}

fn di(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    period: usize,
    pick: impl Fn((f64, f64, f64)) -> f64,
) -> Vec<f64> {
    if period == 1 {
        // TA-Lib: with period 1, DI is DM over TR of the bar itself.
        let mut out = nan(close.len());
        for i in 1..close.len() {
            let (dp, dm) = directional(high, low, i);
            let tr = true_range(high[i], low[i], close[i - 1]);
            out[i] = if is_zero(tr) { 0.0 } else { pick((dp, dm, 0.0)) / tr };
        }
        return out;
    }
    smoothed_dm(high, low, close, period)
        .into_iter()
        .map(|s| match s {
            None => f64::NAN,
            Some(s) if is_zero(s.2) => 0.0,
            Some(s) => 100.0 * (pick(s) / s.2),
        })
        .collect()
}

/// Plus directional indicator; the first `period` rows are NaN.
pub fn plus_di(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    di(high, low, close, period, |s| s.0)
}

/// Minus directional indicator; the first `period` rows are NaN.
pub fn minus_di(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    di(high, low, close, period, |s| s.1)
}

/// Average directional index; the first `2·period − 1` rows are NaN.
pub fn adx(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let n = close.len();
    let mut out = nan(n);
    if period == 0 || n < 2 * period {
        return out;
    }
    let p = period as f64;
    let dx = |(plus, minus, tr): (f64, f64, f64)| {
        if is_zero(tr) {
            return None;
        }
        let minus_di = 100.0 * (minus / tr);
        let plus_di = 100.0 * (plus / tr);
        let sum = minus_di + plus_di;
        if is_zero(sum) { None } else { Some(100.0 * ((minus_di - plus_di).abs() / sum)) }
    };
    let dm = smoothed_dm(high, low, close, period);
    let mut sum_dx = 0.0;
    for s in dm[period..2 * period].iter().flatten() {
        sum_dx += dx(*s).unwrap_or(0.0);
    }
    let mut prev = sum_dx / p;
    out[2 * period - 1] = prev;
    for i in 2 * period..n {
        if let Some(d) = dm[i].and_then(dx) {
            prev = ((prev * (p - 1.0)) + d) / p;
        }
        out[i] = prev;
    }
    out
}

/// Aroon down and up lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Aroon {
    /// `100 · (period − bars since the lowest low) / period`.
    pub down: Vec<f64>,
    /// `100 · (period − bars since the highest high) / period`.
    pub up: Vec<f64>,
}

/// Aroon over `period + 1` bars (ties go to the newest bar); the first `period` rows are NaN.
pub fn aroon(high: &[f64], low: &[f64], period: usize) -> Aroon {
    let n = high.len();
    let mut out = Aroon { down: nan(n), up: nan(n) };
    if period == 0 || n <= period {
        return out;
    }
    let factor = 100.0 / period as f64;
    let (mut lowest, mut highest): (Option<usize>, Option<usize>) = (None, None);
    for today in period..n {
        let trailing = today - period;
        lowest = Some(match lowest {
            Some(i) if i >= trailing => {
                if low[today] <= low[i] {
                    today
                } else {
                    i
                }
            }
            _ => (trailing..=today).fold(trailing, |m, j| if low[j] <= low[m] { j } else { m }),
        });
        highest = Some(match highest {
            Some(i) if i >= trailing => {
                if high[today] >= high[i] {
                    today
                } else {
                    i
                }
            }
            _ => (trailing..=today).fold(trailing, |m, j| if high[j] >= high[m] { j } else { m }),
        });
        let since = |i: Option<usize>| (period - (today - i.unwrap_or(today))) as f64;
        out.up[today] = factor * since(highest);
        out.down[today] = factor * since(lowest);
    }
    out
}

/// Parabolic SAR (Wilder), TA-Lib's variant: the first bar's direction comes from the
/// first two bars' −DM; row 0 is NaN.
pub fn sar(high: &[f64], low: &[f64], acceleration: f64, maximum: f64) -> Vec<f64> {
    let n = high.len();
    let mut out = nan(n);
    if n < 2 {
        return out;
    }
    let (mut acceleration, mut af) = (acceleration, acceleration);
    if af > maximum {
        acceleration = maximum;
        af = maximum;
    }
    let (_, minus_dm) = directional(high, low, 1);
    let mut long = minus_dm <= 0.0;
    let (mut ep, mut sar) = if long { (high[1], low[0]) } else { (low[1], high[0]) };
    let (mut new_low, mut new_high) = (low[1], high[1]);
    for (today, o) in out.iter_mut().enumerate().skip(1) {
        let (prev_low, prev_high) = (new_low, new_high);
        new_low = low[today];
        new_high = high[today];
        if long {
            if new_low <= sar {
                long = false;
                sar = ep.max(prev_high).max(new_high);
                *o = sar;
                af = acceleration;
                ep = new_low;
                sar += af * (ep - sar);
                sar = sar.max(prev_high).max(new_high);
            } else {
                *o = sar;
                if new_high > ep {
                    ep = new_high;
                    af = (af + acceleration).min(maximum);
                }
                sar += af * (ep - sar);
                sar = sar.min(prev_low).min(new_low);
            }
        } else if new_high >= sar {
            long = true;
            sar = ep.min(prev_low).min(new_low);
            *o = sar;
            af = acceleration;
            ep = new_high;
            sar += af * (ep - sar);
            sar = sar.min(prev_low).min(new_low);
        } else {
            *o = sar;
            if new_low < ep {
                ep = new_low;
                af = (af + acceleration).min(maximum);
            }
            sar += af * (ep - sar);
            sar = sar.max(prev_high).max(new_high);
        }
    }
    out
}
