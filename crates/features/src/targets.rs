//! Target columns: for each candle row `t`, what a sample decided at `t` is asked to predict
//! (NaN where it cannot be known: the last rows, and indicator warm-up).

use quantsweep_ingest::Candles;

use crate::config::TargetConfig;
use crate::indicators::{self as ind, MaType};
use crate::transforms::{rolling_mean_std, zscore};

/// The target columns of `config` on `candles`, one vector per [`TargetConfig::names`]
/// entry, each as long as the candles.
pub fn target_columns(candles: &Candles, config: &TargetConfig) -> Vec<Vec<f64>> {
    let c = &candles.close;
    let n = c.len();
    let ahead = |h: usize, f: &dyn Fn(usize) -> f64| -> Vec<f64> {
        (0..n).map(|t| if t + h < n { f(t) } else { f64::NAN }).collect()
    };
    match *config {
        TargetConfig::NextCloseRatios { horizon_bars: h } => {
            (1..=h).map(|j| ahead(h, &|t| c[t + j] / c[t + j - 1])).collect()
        }
        TargetConfig::ForwardReturn { horizon_bars: h, log } => {
            vec![ahead(h, &|t| if log { (c[t + h] / c[t]).ln() } else { c[t + h] / c[t] - 1.0 })]
        }
        TargetConfig::UpDown { horizon_bars: h, threshold, keep_tail_as_down } => {
            let up = |t: usize| f64::from(u8::from(c[t + h] > c[t] * (1.0 + threshold)));
            let mut y = ahead(h, &up);
            if keep_tail_as_down {
                for v in y.iter_mut().skip(n.saturating_sub(h)) {
                    *v = 0.0;
                }
            }
            vec![y]
        }
        TargetConfig::FreqaiScore { horizon_bars, weights, original } => {
            let score = freqai_score(candles, &weights, original);
            let h = if original { 0 } else { horizon_bars };
            vec![ahead(h, &|t| score[t + h])]
        }
        // The asset's own forward return: [`cross_sectional`] turns a universe's into labels.
        TargetConfig::CrossSectional { horizon_bars: h, .. }
        | TargetConfig::CrossSectionalRank { horizon_bars: h } => {
            vec![ahead(h, &|t| c[t + h] / c[t] - 1.0)]
        }
    }
}

/// Cross-sectional labels of a universe: `forward[a]` is asset `a`'s forward return at each of
/// its rows (at `times[a]`, increasing). At each time, the cross-section is the assets that
/// have a row then; its labels are known (not NaN) only when every one of those has its
/// return, so that later bars never change a label once it is known. `config` picks above the
/// median (1/0) or the rank in [0, 1].
pub fn cross_sectional(
    times: &[&[i64]],
    forward: &[Vec<f64>],
    config: &TargetConfig,
) -> Vec<Vec<f64>> {
    let mut out: Vec<Vec<f64>> = forward.iter().map(|f| vec![f64::NAN; f.len()]).collect();
    // Every (time, asset, row), in time order.
    let mut at: Vec<(i64, usize, usize)> = times
        .iter()
        .enumerate()
        .flat_map(|(a, ts)| ts.iter().enumerate().map(move |(r, t)| (*t, a, r)))
        .collect();
    at.sort_unstable();
    for group in at.chunk_by(|x, y| x.0 == y.0) {
        let values: Vec<f64> = group.iter().map(|&(_, a, r)| forward[a][r]).collect();
        if values.iter().any(|v| !v.is_finite()) {
            continue;
        }
        match config {
            TargetConfig::CrossSectionalRank { .. } => {
                let ranks = ranks01(&values);
                for (&(_, a, r), rank) in group.iter().zip(ranks) {
                    out[a][r] = rank;
                }
            }
            _ => {
                let m = median(&values);
                for (&(_, a, r), v) in group.iter().zip(&values) {
                    out[a][r] = f64::from(u8::from(*v > m));
                }
            }
        }
    }
    out
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

/// Ranks scaled to [0, 1] (ties share their mean rank; one value ranks 0.5).
fn ranks01(v: &[f64]) -> Vec<f64> {
    let n = v.len();
    if n == 1 {
        return vec![0.5];
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut rank = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0;
        for k in i..=j {
            rank[order[k]] = mean / (n - 1) as f64;
        }
        i = j + 1;
    }
    rank
}

/// freqAI-LSTM's aggregate score `T` at each row (from rows up to it), as its
/// `set_freqai_targets` computes it with TA-Lib and pandas; see [`TargetConfig::FreqaiScore`].
/// The MACD call there passes `slowperiod=12, fastperiod=26`; TA-Lib swaps them back, so it is
/// MACD(12, 26, 9) in either mode.
pub fn freqai_score(candles: &Candles, w: &[f64; 9], original: bool) -> Vec<f64> {
    let (h, l, c, v) = (&candles.high[..], &candles.low[..], &candles.close[..], &candles.volume);
    let n = c.len();
    let ma = ind::sma(c, 10);
    let roc = ind::roc(c, 2);
    let macd = ind::macd(c, 12, 26, 9).macd;
    let momentum = ind::mom(c, 4);
    let rsi = ind::rsi(c, 10);
    let bb = ind::bbands(c, 20, 2.0, 2.0, MaType::Sma);
    let cci = ind::cci(h, l, c, 20);
    let stoch = ind::stoch(h, l, c, 5, (3, MaType::Sma), (3, MaType::Sma)).k;
    let atr = ind::atr(h, l, c, 14);
    let obv = ind::obv(c, v);
    let ma_100 = ind::sma(c, 100);

    let width: Vec<f64> = bb.upper.iter().zip(&bb.lower).map(|(u, l)| u - l).collect();
    let bb_width_term = if original {
        let (mean, std) = rolling_mean_std(&width, 20);
        mean.iter().zip(&std).map(|(m, s)| m / s).collect()
    } else {
        zscore(&width, 20)
    };
    let trend: Vec<f64> = ma.iter().zip(c).map(|(m, c)| (m - c).abs()).collect();
    let (trend_mean, trend_std) = rolling_mean_std(&trend, 14);
    let terms = [
        zscore(c, 10),
        zscore(&macd, 26),
        zscore(&roc, 2),
        zscore(&rsi, 10),
        bb_width_term,
        zscore(&cci, 20),
        zscore(&momentum, 4),
        zscore(&stoch, 14),
        zscore(&atr, 14),
        zscore(&obv, 14),
    ];
    let [n_ma, n_macd, n_roc, n_rsi, n_bbw, n_cci, n_mom, n_stoch, n_atr, n_obv] = &terms;
    (0..n)
        .map(|i| {
            // NaN comparisons are false, as in pandas.
            let strong = trend[i] > trend_mean[i] + 1.5 * trend_std[i];
            let w_momentum = if strong { w[3] * 1.5 } else { w[3] };
            // pandas adds left to right in the original's order.
            let s = w[0] * n_ma[i]
                + w[1] * n_macd[i]
                + w[2] * n_roc[i]
                + w[3] * n_rsi[i]
                + w[4] * n_bbw[i]
                + w[5] * n_cci[i]
                + w_momentum * n_mom[i]
                + w[8] * n_stoch[i]
                + w[7] * n_atr[i]
                + w[6] * n_obv[i];
            let r = if c[i] > bb.middle[i] && c[i] > bb.upper[i] {
                1.0
            } else if c[i] < bb.middle[i] && c[i] < bb.lower[i] {
                -1.0
            } else {
                0.0
            };
            let r2 = if ma_100[i].is_nan() && !original {
                f64::NAN
            } else if c[i] > ma_100[i] {
                1.0
            } else {
                -1.0
            };
            let v_bb = 1.0 / ((bb.upper[i] - bb.lower[i]) / bb.middle[i]);
            let v_atr = 1.0 / atr[i];
            s * r * v_bb * r2 * v_atr
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candles(close: &[f64]) -> Candles {
        Candles {
            timestamp_ms: (0..close.len() as i64).collect(),
            open: close.to_vec(),
            high: close.iter().map(|c| c + 1.0).collect(),
            low: close.iter().map(|c| c - 1.0).collect(),
            close: close.to_vec(),
            volume: vec![1.0; close.len()],
        }
    }

    #[test]
    fn simple_targets() {
        let c = candles(&[10.0, 11.0, 9.0, 12.0]);
        let r = target_columns(&c, &TargetConfig::NextCloseRatios { horizon_bars: 2 });
        assert_eq!(r[0][0], 1.1);
        assert_eq!(r[1][0], 9.0 / 11.0);
        assert!(r[0][2].is_nan());
        let f = target_columns(&c, &TargetConfig::ForwardReturn { horizon_bars: 2, log: false });
        assert_eq!(f[0][1], 12.0 / 11.0 - 1.0);
        assert!(f[0][2].is_nan());
        let up = TargetConfig::UpDown { horizon_bars: 1, threshold: 0.0, keep_tail_as_down: false };
        assert_eq!(target_columns(&c, &up)[0][..3], [1.0, 0.0, 1.0]);
        assert!(target_columns(&c, &up)[0][3].is_nan());
        let quirk =
            TargetConfig::UpDown { horizon_bars: 1, threshold: 0.0, keep_tail_as_down: true };
        assert_eq!(target_columns(&c, &quirk)[0][3], 0.0);
    }
}
