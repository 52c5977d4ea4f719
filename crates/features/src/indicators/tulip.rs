//! Tulip Indicators' definitions (`variant: tulip`): the Blankly seed computed its features with
//! `tulipy`, whose EMA and MACD start from the first price instead of TA-Lib's SMA seed.
//!
//! Tulip returns shorter arrays (it drops the rows before its first value); here the rows are
//! kept in place and the dropped ones are NaN, as everywhere in [`crate::indicators`]. Tulip's
//! SMA and RSI equal TA-Lib's, so `variant: tulip` on them computes the TA-Lib functions (the
//! golden test checks both against `tulipy`).

use super::{Macd, nan};

/// Tulip's EMA: `e[0] = x[0]`, then `e[i] = (x[i] − e[i−1])·k + e[i−1]` with
/// `k = 2 / (period + 1)`. Defined from row 0.
pub fn ema_tulip(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    let Some(&first) = x.first() else { return out };
    if period == 0 {
        return out;
    }
    let k = 2.0 / (period as f64 + 1.0);
    let mut e = first;
    out[0] = e;
    for i in 1..x.len() {
        e = (x[i] - e) * k + e;
        out[i] = e;
    }
    out
}

/// Tulip's MACD: both EMAs start from the first price; the line, signal and histogram are
/// reported from row `slow − 1`, where the signal EMA is seeded with the line's value. For
/// periods (12, 26) Tulip smooths with 0.15 and 0.075 instead of 2/13 and 2/27, which is what
/// Blankly's MACD(12, 26, 9) computed. `fast > slow` is not swapped (Tulip refuses it; the
/// caller's check does too).
pub fn macd_tulip(x: &[f64], fast: usize, slow: usize, signal: usize) -> Macd {
    let n = x.len();
    let mut out = Macd { macd: nan(n), signal: nan(n), hist: nan(n) };
    if fast == 0 || slow < 2 || slow < fast || signal == 0 || n < slow {
        return out;
    }
    let (mut kf, mut ks) = (2.0 / (fast as f64 + 1.0), 2.0 / (slow as f64 + 1.0));
    if (fast, slow) == (12, 26) {
        (kf, ks) = (0.15, 0.075);
    }
    let kg = 2.0 / (signal as f64 + 1.0);
    let (mut ef, mut es, mut sig) = (x[0], x[0], 0.0);
    for i in 1..n {
        ef = (x[i] - ef) * kf + ef;
        es = (x[i] - es) * ks + es;
        let line = ef - es;
        if i == slow - 1 {
            sig = line;
        }
        if i >= slow - 1 {
            sig = (line - sig) * kg + sig;
            out.macd[i] = line;
            out.signal[i] = sig;
            out.hist[i] = line - sig;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ema_starts_at_the_first_price() {
        // tulipy 0.4: ti.ema(np.array([1., 2, 3, 2]), 5) → [1, 1.33333333, 1.88888889, 1.92592593]
        let e = ema_tulip(&[1.0, 2.0, 3.0, 2.0], 5);
        for (got, want) in e.iter().zip([1.0, 4.0 / 3.0, 17.0 / 9.0, 52.0 / 27.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn macd_12_26_uses_tulips_fixed_factors() {
        let x: Vec<f64> = (0..40).map(|i| 100.0 + (i as f64 * 0.7).sin() * 5.0).collect();
        let m = macd_tulip(&x, 12, 26, 9);
        assert!(m.macd[24].is_nan());
        assert!(m.macd[25].is_finite());
        let (mut f, mut s) = (x[0], x[0]);
        for &v in &x[1..=25] {
            f = (v - f) * 0.15 + f;
            s = (v - s) * 0.075 + s;
        }
        assert_eq!(m.macd[25], f - s);
        // The signal is seeded with the line, then smoothed once on the same row.
        assert_eq!(m.signal[25], f - s);
        assert_eq!(m.hist[25], 0.0);
    }
}
