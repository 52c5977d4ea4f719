//! Transforms of a column: returns, rolling z-scores, calendar features, and the per-window
//! min-max scaling of the Keras seed.
//!
//! Like the indicators, each is causal (row `i` reads rows `0..=i` of its input) and keeps NaN
//! rows NaN; pandas' conventions are followed where the seeds used pandas (`pct_change`,
//! `rolling(w).std()` with ddof = 1, `dt.dayofweek`).

/// `x[i] / x[i − period] − 1` (pandas' `pct_change(period)`); the first `period` rows are NaN.
pub fn pct_change(x: &[f64], period: usize) -> Vec<f64> {
    lagged(x, period, |now, then| now / then - 1.0)
}

/// `ln(x[i] / x[i − period])`; the first `period` rows are NaN.
pub fn log_return(x: &[f64], period: usize) -> Vec<f64> {
    lagged(x, period, |now, then| (now / then).ln())
}

fn lagged(x: &[f64], period: usize, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    if period == 0 {
        return out;
    }
    for i in period..x.len() {
        out[i] = f(x[i], x[i - period]);
    }
    out
}

/// Rolling mean and sample standard deviation (ddof = 1) over the last `period` rows, as
/// pandas' `rolling(period).mean()` / `.std()`: NaN until `period` rows are there, and
/// wherever the window holds a NaN. Each window is summed afresh (two passes), so a constant
/// window has a standard deviation of exactly 0 and no rounding carries from row to row.
pub fn rolling_mean_std(x: &[f64], period: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let (mut mean, mut std) = (vec![f64::NAN; n], vec![f64::NAN; n]);
    if period == 0 || n < period {
        return (mean, std);
    }
    for i in period - 1..n {
        let w = &x[i + 1 - period..=i];
        let m = w.iter().sum::<f64>() / period as f64;
        mean[i] = m;
        if period > 1 {
            let ss: f64 = w.iter().map(|v| (v - m) * (v - m)).sum();
            std[i] = (ss / (period - 1) as f64).sqrt();
        }
    }
    (mean, std)
}

/// Rolling z-score `(x − mean) / std` over the last `period` rows (pandas' ddof = 1). A flat
/// window divides by zero, as pandas does (±inf, or NaN for 0/0).
pub fn zscore(x: &[f64], period: usize) -> Vec<f64> {
    let (mean, std) = rolling_mean_std(x, period);
    x.iter().zip(mean.iter().zip(&std)).map(|(v, (m, s))| (v - m) / s).collect()
}

/// Day of the week of each open time, Monday = 0 .. Sunday = 6 (pandas' `dt.dayofweek`), UTC.
pub fn day_of_week(timestamp_ms: &[i64]) -> Vec<f64> {
    // 1970-01-01 was a Thursday (3).
    timestamp_ms.iter().map(|t| ((t.div_euclid(86_400_000) + 3).rem_euclid(7)) as f64).collect()
}

/// Hour of the day of each open time, 0..23, UTC.
pub fn hour_of_day(timestamp_ms: &[i64]) -> Vec<f64> {
    timestamp_ms.iter().map(|t| (t.rem_euclid(86_400_000) / 3_600_000) as f64).collect()
}

/// The typical price `(high + low + close) / 3` (TA-Lib's TYPPRICE, qtpylib's
/// `typical_price`).
pub fn typical_price(high: &[f64], low: &[f64], close: &[f64]) -> Vec<f64> {
    (0..close.len()).map(|i| (high[i] + low[i] + close[i]) / 3.0).collect()
}

/// Scales `window` (one column's values in one sample) to [−1, 1] by its own minimum and
/// maximum, as the Keras seed does (`2·(x − min)/(max − min) − 1`); a flat window, whose
/// division is 0/0, becomes 0 (the seed's `fillna(0)`).
pub fn minmax_window(window: &mut [f64]) {
    let (lo, hi) = window
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    for v in window.iter_mut() {
        let s = 2.0 * (*v - lo) / (hi - lo) - 1.0;
        *v = if s.is_nan() { 0.0 } else { s };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns() {
        let x = [100.0, 110.0, 99.0];
        assert!(pct_change(&x, 1)[0].is_nan());
        assert!((pct_change(&x, 1)[1] - 0.1).abs() < 1e-15);
        assert!((pct_change(&x, 2)[2] + 0.01).abs() < 1e-15);
        assert!((log_return(&x, 1)[2] - (0.9f64).ln()).abs() < 1e-15);
    }

    #[test]
    fn zscore_uses_the_sample_std() {
        // pandas: pd.Series([1., 2, 3, 4]).rolling(3).std() → [nan, nan, 1.0, 1.0]
        let z = zscore(&[1.0, 2.0, 3.0, 4.0], 3);
        assert!(z[1].is_nan());
        assert_eq!(z[2], 1.0);
        assert_eq!(z[3], 1.0);
        let flat = zscore(&[2.0, 2.0, 2.0], 3);
        assert!(flat[2].is_nan());
        let nan_in = zscore(&[1.0, f64::NAN, 3.0, 4.0, 5.0], 3);
        assert!(nan_in[3].is_nan());
        assert_eq!(nan_in[4], 1.0);
    }

    #[test]
    fn calendar() {
        // 2024-03-04 was a Monday; 13:00 UTC.
        let t = 1_709_557_200_000;
        assert_eq!(day_of_week(&[t]), [0.0]);
        assert_eq!(hour_of_day(&[t]), [13.0]);
        assert_eq!(day_of_week(&[t + 6 * 86_400_000]), [6.0]);
    }

    #[test]
    fn minmax_to_plus_minus_one() {
        let mut w = [2.0, 4.0, 3.0];
        minmax_window(&mut w);
        assert_eq!(w, [-1.0, 1.0, 0.0]);
        let mut flat = [5.0, 5.0];
        minmax_window(&mut flat);
        assert_eq!(flat, [0.0, 0.0]);
    }
}
