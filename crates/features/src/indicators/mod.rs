//! Technical indicators with TA-Lib's definitions: same values within 1e-9 relative (TA-Lib's
//! loops step for step; the EMA and Wilder recurrences rearranged to `prev·a + x·b`, a few
//! ulps from TA-Lib, for speed), same warm-up (`NaN` rows).
//!
//! Every function is causal: output row `i` reads input rows `0..=i` only. Inputs are whole
//! columns without NaN; outputs have the inputs' length, NaN during the warm-up ("lookback")
//! and everywhere when the input is shorter than it.
//!
//! The golden test `tests/talib.rs` runs TA-Lib itself (the `ta-lib` wheel installed by
//! scripts/setup) on real candles and compares every output of every function here.

// Index loops here mirror TA-Lib's C loops step for step (and so its rounding).
#![allow(clippy::needless_range_loop)]

mod average;
mod momentum;
mod trend;
mod tulip;
mod volatility;
mod volume;

pub use average::{MaType, dema, ema, kama, ma, sma, tema, trix, wma};
pub use momentum::{
    Macd, Stoch, cci, close_ratio, cmo, macd, mfi, mom, ppo, roc, rsi, stoch, stochrsi, ultosc,
    willr,
};
pub use trend::{Aroon, adx, aroon, minus_di, plus_di, sar};
pub use tulip::{ema_tulip, macd_tulip};
pub(crate) use volatility::true_range;
pub use volatility::{Bands, atr, bbands, natr, stddev, trange};
pub use volume::{ad, adosc, obv};

/// TA-Lib's `TA_IS_ZERO`: within 1e-14 of zero.
pub(crate) fn is_zero(v: f64) -> bool {
    -TA_EPSILON < v && v < TA_EPSILON
}

/// TA-Lib's `TA_IS_ZERO_OR_NEG`.
pub(crate) fn is_zero_or_neg(v: f64) -> bool {
    v < TA_EPSILON
}

const TA_EPSILON: f64 = 1e-14;

/// TA-Lib 0.8's `TA_IS_ZERO_SCALED`: `v`, a difference of operands of magnitude `scale`
/// (`|a| + |b|`), is zero within 1e-14 of that magnitude.
pub(crate) fn is_zero_scaled(v: f64, scale: f64) -> bool {
    v.abs() <= TA_EPSILON * scale
}

/// The sum of `f(v)` over `x` in four interleaved lanes: independent additions the CPU
/// overlaps (a single running sum waits on each add). Rounding differs from a left-to-right
/// sum by a few ulps, far inside the 1e-9 agreement with TA-Lib.
pub(crate) fn lane_sum(x: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0; 4];
    let mut chunks = x.chunks_exact(4);
    for c in &mut chunks {
        for k in 0..4 {
            lanes[k] += f(c[k]);
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|&v| f(v)).sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

/// A column of NaN.
pub(crate) fn nan(n: usize) -> Vec<f64> {
    vec![f64::NAN; n]
}

/// `f` applied to `x[start..]`, shifted back into place: TA-Lib chains functions on the
/// previous one's valid outputs only.
pub(crate) fn from(x: &[f64], start: usize, f: impl FnOnce(&[f64]) -> Vec<f64>) -> Vec<f64> {
    let mut out = nan(x.len());
    if start < x.len() {
        for (o, v) in out[start..].iter_mut().zip(f(&x[start..])) {
            *o = v;
        }
    }
    out
}

/// Rows before the first non-NaN value.
pub(crate) fn warm_up(x: &[f64]) -> usize {
    x.iter().take_while(|v| v.is_nan()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ETH/USDT daily closes from `datasets/eth-usdt-1d.csv`, 2021-01-01 .. 2021-02-14.
    const CLOSE: [f64; 45] = [
        728.91, 774.56, 978.28, 1041.43, 1099.56, 1208.42, 1224.87, 1216.93, 1276.0, 1254.25,
        1087.01, 1050.16, 1129.89, 1231.62, 1168.53, 1227.83, 1232.45, 1258.45, 1365.36, 1376.99,
        1110.96, 1232.62, 1233.6, 1392.51, 1317.88, 1365.97, 1239.03, 1329.69, 1379.5, 1378.05,
        1312.55, 1374.17, 1511.87, 1664.49, 1595.67, 1719.19, 1676.35, 1611.62, 1750.15, 1769.13,
        1740.78, 1785.62, 1840.26, 1814.96, 1800.42,
    ];

    fn close_enough(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    // Golden values from TA-Lib 0.8.2 (PyPI `ta-lib`, which bundles the C library):
    //   import csv, numpy as np, talib
    //   rows = sorted(list(csv.reader(open("Binance_ETHUSDT_d.csv")))[2:], key=lambda r: int(r[0]))
    //   close = np.array([float(r[6]) for r in rows if "2021-01-01" <= r[1] <= "2021-02-14"])
    //   r = talib.RSI(close, 14); m, s, h = talib.MACD(close, 12, 26, 9)
    //   print(r[[14, 20, 44]], m[[33, 44]], s[[33, 44]], h[44], np.isnan(r).sum(), np.isnan(m).sum())
    #[test]
    fn rsi_and_macd_equal_talib() {
        let r = rsi(&CLOSE, 14);
        assert_eq!(r.iter().take_while(|v| v.is_nan()).count(), 14);
        for (i, want) in [(14, 71.27138654486338), (20, 58.38748330197511), (44, 66.74312633820834)]
        {
            assert!(close_enough(r[i], want), "rsi[{i}] = {} want {want}", r[i]);
        }
        let m = macd(&CLOSE, 12, 26, 9);
        assert_eq!(m.macd.iter().take_while(|v| v.is_nan()).count(), 33);
        assert_eq!(m.signal.iter().take_while(|v| v.is_nan()).count(), 33);
        assert!(close_enough(m.macd[33], 109.09942158074796), "{}", m.macd[33]);
        assert!(close_enough(m.macd[44], 155.98490260741346), "{}", m.macd[44]);
        assert!(close_enough(m.signal[33], 89.76712730115835), "{}", m.signal[33]);
        assert!(close_enough(m.signal[44], 146.9551416322161), "{}", m.signal[44]);
        assert!(close_enough(m.hist[44], 9.029760975197348), "{}", m.hist[44]);
    }

    #[test]
    fn ema_is_seeded_with_the_sma() {
        let e = ema(&[1.0, 2.0, 3.0, 4.0], 3);
        assert!(e[1].is_nan());
        assert!(close_enough(e[2], 2.0));
        assert!(close_enough(e[3], 3.0));
        assert_eq!(sma(&[1.0, 2.0, 3.0], 2)[2], 2.5);
    }

    #[test]
    fn flat_prices_give_rsi_zero_like_talib() {
        let r = rsi(&[5.0; 20], 14);
        assert_eq!(r[19], 0.0);
    }

    #[test]
    fn indicators_are_causal() {
        // Appending future prices never changes an earlier row.
        let short = CLOSE[..40].to_vec();
        let check = |a: &[f64], b: &[f64]| {
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        };
        assert!(check(&rsi(&short, 14), &rsi(&CLOSE, 14)));
        assert!(check(&macd(&short, 12, 26, 9).signal, &macd(&CLOSE, 12, 26, 9).signal));
        assert!(check(&close_ratio(&short), &close_ratio(&CLOSE)));
    }
}
