//! Moving averages: SMA, EMA, WMA, DEMA, TEMA, KAMA, and TRIX on top of them.

use serde::{Deserialize, Serialize};

use super::{from, is_zero, nan, warm_up};

/// TA-Lib's moving-average types (the `matype` parameter of BBANDS, STOCH, PPO...).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaType {
    /// Simple (TA-Lib 0, the default).
    #[default]
    Sma,
    /// Exponential, SMA-seeded (1).
    Ema,
    /// Linearly weighted (2).
    Wma,
    /// Double exponential (3).
    Dema,
    /// Triple exponential (4).
    Tema,
    /// Kaufman adaptive (6).
    Kama,
}

/// The moving average `kind` of `x` (TA-Lib's `TA_MA`; period 1 returns `x`).
pub fn ma(x: &[f64], period: usize, kind: MaType) -> Vec<f64> {
    if period == 1 {
        return x.to_vec();
    }
    match kind {
        MaType::Sma => sma(x, period),
        MaType::Ema => ema(x, period),
        MaType::Wma => wma(x, period),
        MaType::Dema => dema(x, period),
        MaType::Tema => tema(x, period),
        MaType::Kama => kama(x, period),
    }
}

/// Simple moving average; the first `period - 1` rows are NaN.
pub fn sma(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    if period == 0 || x.len() < period {
        return out;
    }
    let mut total: f64 = x[..period - 1].iter().sum();
    for i in period - 1..x.len() {
        total += x[i];
        out[i] = total / period as f64;
        total -= x[i + 1 - period];
    }
    out
}

/// TA-Lib's EMA of `x[from..]`: seeded at row `from + period - 1` with the SMA of the first
/// `period` values, then `k = 2 / (period + 1)`. Rows before the seed are NaN.
pub(crate) fn ema_from(x: &[f64], from: usize, period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    let seed = from + period - 1;
    if period == 0 || seed >= x.len() {
        return out;
    }
    let k = 2.0 / (period as f64 + 1.0);
    let mut prev = x[from..=seed].iter().sum::<f64>() / period as f64;
    out[seed] = prev;
    // TA-Lib's `(x − prev) · k + prev` as `prev · (1 − k) + x · k`: one multiply and one add on
    // the dependency chain instead of three operations (within a few ulps; TA-Lib's wheel
    // itself contracts the original into a fused multiply-add).
    let keep = 1.0 - k;
    for i in seed + 1..x.len() {
        prev = prev * keep + x[i] * k;
        out[i] = prev;
    }
    out
}

/// Exponential moving average (TA-Lib: SMA seed); the first `period - 1` rows are NaN.
pub fn ema(x: &[f64], period: usize) -> Vec<f64> {
    ema_from(x, 0, period)
}

/// Linearly weighted moving average (weights 1..=period, newest heaviest).
pub fn wma(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    if period == 0 || x.len() < period {
        return out;
    }
    let divider = (period * (period + 1) / 2) as f64;
    let (mut sum, mut sub) = (0.0, 0.0);
    for (i, &v) in x[..period - 1].iter().enumerate() {
        sub += v;
        sum += v * (i + 1) as f64;
    }
    let mut trailing = 0.0;
    for i in period - 1..x.len() {
        let v = x[i];
        sub += v;
        sub -= trailing;
        sum += v * period as f64;
        trailing = x[i + 1 - period];
        out[i] = sum / divider;
        sum -= sub;
    }
    out
}

/// The EMA of an EMA's valid rows (as TA-Lib chains them), shifted back into place.
fn ema_of(e: &[f64], period: usize) -> Vec<f64> {
    from(e, warm_up(e), |s| ema(s, period))
}

/// Double EMA: `2·EMA − EMA(EMA)`; the first `2·(period − 1)` rows are NaN.
pub fn dema(x: &[f64], period: usize) -> Vec<f64> {
    let e1 = ema(x, period);
    let e2 = ema_of(&e1, period);
    e1.iter().zip(&e2).map(|(a, b)| if b.is_nan() { f64::NAN } else { 2.0 * a - b }).collect()
}

/// Triple EMA: `3·E1 − 3·E2 + E3`; the first `3·(period − 1)` rows are NaN.
pub fn tema(x: &[f64], period: usize) -> Vec<f64> {
    let e1 = ema(x, period);
    let e2 = ema_of(&e1, period);
    let e3 = ema_of(&e2, period);
    (0..x.len())
        .map(|i| if e3[i].is_nan() { f64::NAN } else { 3.0 * e1[i] - 3.0 * e2[i] + e3[i] })
        .collect()
}

/// Kaufman's adaptive moving average (fast 2, slow 30, as TA-Lib); the first `period` rows
/// are NaN.
pub fn kama(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    if period == 0 || x.len() <= period {
        return out;
    }
    let const_max = 2.0 / (30.0 + 1.0);
    let const_diff = 2.0 / (2.0 + 1.0) - const_max;
    let smoothing = |sum_roc: f64, period_roc: f64| {
        // TA-Lib compares the signed change with the sum of absolute changes.
        let er = if sum_roc <= period_roc || is_zero(sum_roc) {
            1.0
        } else {
            (period_roc / sum_roc).abs()
        };
        let sc = er * const_diff + const_max;
        sc * sc
    };
    let mut sum_roc = 0.0;
    for k in 0..period {
        sum_roc += (x[k] - x[k + 1]).abs();
    }
    let mut today = period;
    let mut trailing = 0;
    let mut prev = x[today - 1];
    let mut trailing_value = x[trailing];
    trailing += 1;
    let sc = smoothing(sum_roc, x[today] - trailing_value);
    prev = (x[today] - prev) * sc + prev;
    out[today] = prev;
    today += 1;
    while today < x.len() {
        let value = x[today];
        let old = x[trailing];
        trailing += 1;
        let period_roc = value - old;
        sum_roc -= (trailing_value - old).abs();
        sum_roc += (value - x[today - 1]).abs();
        trailing_value = old;
        let sc = smoothing(sum_roc, period_roc);
        prev = (value - prev) * sc + prev;
        out[today] = prev;
        today += 1;
    }
    out
}

/// TRIX: one-bar rate of change (in %) of a triple EMA; the first `3·(period − 1) + 1` rows
/// are NaN.
pub fn trix(x: &[f64], period: usize) -> Vec<f64> {
    let e3 = ema_of(&ema_of(&ema(x, period), period), period);
    from(&e3, warm_up(&e3), |s| super::roc(s, 1))
}
