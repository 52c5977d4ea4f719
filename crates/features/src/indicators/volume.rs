//! Volume: OBV, Chaikin A/D line and oscillator.

use super::nan;

/// On-balance volume, starting from the first bar's volume.
pub fn obv(close: &[f64], volume: &[f64]) -> Vec<f64> {
    let mut out = nan(close.len());
    let Some((&first_close, &first_volume)) = close.first().zip(volume.first()) else {
        return out;
    };
    let (mut total, mut prev) = (first_volume, first_close);
    for i in 0..close.len() {
        let c = close[i];
        if c > prev {
            total += volume[i];
        } else if c < prev {
            total -= volume[i];
        }
        out[i] = total;
        prev = c;
    }
    out
}

/// The money-flow volume of bar `i`, added to the A/D line.
fn ad_step(ad: f64, high: f64, low: f64, close: f64, volume: f64) -> f64 {
    let range = high - low;
    if range > 0.0 { ad + (((close - low) - (high - close)) / range) * volume } else { ad }
}

/// Chaikin accumulation/distribution line.
pub fn ad(high: &[f64], low: &[f64], close: &[f64], volume: &[f64]) -> Vec<f64> {
    let mut ad = 0.0;
    (0..close.len())
        .map(|i| {
            ad = ad_step(ad, high[i], low[i], close[i], volume[i]);
            ad
        })
        .collect()
}

/// Chaikin oscillator: fast EMA minus slow EMA of the A/D line, both seeded with its first
/// value (not an SMA); the first `max(fast, slow) − 1` rows are NaN.
pub fn adosc(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    volume: &[f64],
    fast: usize,
    slow: usize,
) -> Vec<f64> {
    let n = close.len();
    let mut out = nan(n);
    let lookback = fast.max(slow).saturating_sub(1);
    if fast == 0 || slow == 0 || n <= lookback {
        return out;
    }
    let fast_k = 2.0 / (fast as f64 + 1.0);
    let slow_k = 2.0 / (slow as f64 + 1.0);
    let (one_minus_fast, one_minus_slow) = (1.0 - fast_k, 1.0 - slow_k);
    let mut ad = ad_step(0.0, high[0], low[0], close[0], volume[0]);
    let (mut fast_ema, mut slow_ema) = (ad, ad);
    for i in 1..n {
        ad = ad_step(ad, high[i], low[i], close[i], volume[i]);
        fast_ema = (fast_k * ad) + (one_minus_fast * fast_ema);
        slow_ema = (slow_k * ad) + (one_minus_slow * slow_ema);
        if i >= lookback {
            out[i] = fast_ema - slow_ema;
        }
    }
    out
}
