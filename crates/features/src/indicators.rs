//! Technical indicators with TA-Lib's definitions: same values, same warm-up (`NaN` rows).
//!
//! Every function is causal: output row `i` reads input rows `0..=i` only.

/// Simple moving average; the first `period - 1` rows are NaN.
pub fn sma(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    if period == 0 || x.len() < period {
        return out;
    }
    let mut sum: f64 = x[..period].iter().sum();
    out[period - 1] = sum / period as f64;
    for i in period..x.len() {
        sum += x[i] - x[i - period];
        out[i] = sum / period as f64;
    }
    out
}

/// TA-Lib's EMA of `x[from..]`: seeded at row `from + period - 1` with the SMA of the first
/// `period` values, then `k = 2 / (period + 1)`. Rows before the seed are NaN.
fn ema_from(x: &[f64], from: usize, period: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    let seed = from + period - 1;
    if period == 0 || seed >= x.len() {
        return out;
    }
    let k = 2.0 / (period as f64 + 1.0);
    let mut prev = x[from..=seed].iter().sum::<f64>() / period as f64;
    out[seed] = prev;
    for i in seed + 1..x.len() {
        prev = (x[i] - prev) * k + prev;
        out[i] = prev;
    }
    out
}

/// Exponential moving average (TA-Lib: SMA seed); the first `period - 1` rows are NaN.
pub fn ema(x: &[f64], period: usize) -> Vec<f64> {
    ema_from(x, 0, period)
}

/// Wilder's relative strength index, as TA-Lib computes it; the first `period` rows are NaN.
pub fn rsi(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; x.len()];
    if period == 0 || x.len() <= period {
        return out;
    }
    let n = period as f64;
    // Adding max(d, 0) and max(-d, 0) is exactly TA-Lib's "add to one side" (x + 0.0 == x).
    let up_down = |i: usize| {
        let d = x[i] - x[i - 1];
        (d.max(0.0), (-d).max(0.0))
    };
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=period {
        let (up, down) = up_down(i);
        gain += up;
        loss += down;
    }
    gain /= n;
    loss /= n;
    let value = |gain: f64, loss: f64| {
        let total = gain + loss;
        // TA-Lib's TA_IS_ZERO: a flat market reads 0, not NaN.
        if total.abs() < 1e-14 { 0.0 } else { 100.0 * gain / total }
    };
    out[period] = value(gain, loss);
    for (i, o) in out.iter_mut().enumerate().skip(period + 1) {
        let (up, down) = up_down(i);
        gain = (gain * (n - 1.0) + up) / n;
        loss = (loss * (n - 1.0) + down) / n;
        *o = value(gain, loss);
    }
    out
}

/// MACD line, signal line and histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Macd {
    /// Fast EMA minus slow EMA.
    pub macd: Vec<f64>,
    /// EMA of the MACD line.
    pub signal: Vec<f64>,
    /// MACD minus signal.
    pub hist: Vec<f64>,
}

/// TA-Lib's MACD: the first `slow + signal - 2` rows are NaN.
///
/// TA-Lib seeds the fast EMA with the SMA of the `fast` prices ending at row `slow - 1` (not
/// at row `fast - 1`), so both EMAs start on the same row; the signal EMA is seeded with the
/// SMA of the first `signal` MACD values. Periods are swapped if `slow < fast`, as TA-Lib does.
pub fn macd(x: &[f64], fast: usize, slow: usize, signal: usize) -> Macd {
    let (fast, slow) = if slow < fast { (slow, fast) } else { (fast, slow) };
    let n = x.len();
    let nan = || vec![f64::NAN; n];
    let mut out = Macd { macd: nan(), signal: nan(), hist: nan() };
    if fast == 0 || signal == 0 || n < slow {
        return out;
    }
    let start = slow - 1;
    let fast_ema = ema_from(x, start + 1 - fast, fast);
    let slow_ema = ema_from(x, 0, slow);
    let line: Vec<f64> = fast_ema.iter().zip(&slow_ema).map(|(f, s)| f - s).collect();
    let sig = ema_from(&line, start, signal);
    let first = start + signal - 1;
    for i in first..n {
        out.macd[i] = line[i];
        out.signal[i] = sig[i];
        out.hist[i] = line[i] - sig[i];
    }
    out
}

/// Close over previous close; row 0 is NaN.
pub fn close_ratio(close: &[f64]) -> Vec<f64> {
    let mut out = vec![f64::NAN; close.len()];
    for i in 1..close.len() {
        out[i] = close[i] / close[i - 1];
    }
    out
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
