//! `kind: ta_all`: the Python `ta` package's (0.11) whole feature set, as
//! `ta.add_all_ta_features(df, "open", "high", "low", "close", "volume", fillna=True)` adds it
//! (the Keras Binance seed's feature-engineering step): the same 86 columns, in the same order,
//! under the same names, with the same values — `ta`'s own definitions, which are not TA-Lib's
//! (its RSI is seeded from the first bar, its ATR is a 10-bar Wilder average, its windows are
//! partial at the start).
//!
//! With `fillna=True`, `ta` computes most windows from the first row (`min_periods=0`) and
//! then fills what is still missing: forward, then with a fixed value per column. Three of its
//! steps read the future:
//! - **backfill**: the columns whose fill value is −1 (Bollinger, Keltner and Donchian bands,
//!   Ichimoku lines, PSAR) are back-filled, so their first rows take a later value;
//! - **series means**: TRIX, KST, DPO, Vortex and the visual Ichimoku spans shift a series and
//!   fill the rows shifted in with the mean of the *whole* series;
//! - **wrap-around**: KAMA's `np.roll` compares its first bars with the *last* ones, and the
//!   average carries that into every later row.
//!
//! By default (`original: false`) these three are made causal — backfilled rows stay missing
//! (warm-up), shifted-in rows are missing (then filled as `ta` fills that column), KAMA's first
//! bars compare with the first close — and every other value is `ta`'s. `original: true`
//! reproduces `ta` exactly, look-ahead included, and marks every result built on it leaky.

use crate::pandas::{
    alpha, cumsum, diff, ewm, mean, pct_change, rolling_apply, rolling_extreme, rolling_mean,
    rolling_std, rolling_sum, shift, span, true_range,
};

/// The columns, in `add_all_ta_features`' order and under its names.
pub const COLUMNS: [&str; 86] = [
    "volume_adi",
    "volume_obv",
    "volume_cmf",
    "volume_fi",
    "volume_em",
    "volume_sma_em",
    "volume_vpt",
    "volume_vwap",
    "volume_mfi",
    "volume_nvi",
    "volatility_bbm",
    "volatility_bbh",
    "volatility_bbl",
    "volatility_bbw",
    "volatility_bbp",
    "volatility_bbhi",
    "volatility_bbli",
    "volatility_kcc",
    "volatility_kch",
    "volatility_kcl",
    "volatility_kcw",
    "volatility_kcp",
    "volatility_kchi",
    "volatility_kcli",
    "volatility_dcl",
    "volatility_dch",
    "volatility_dcm",
    "volatility_dcw",
    "volatility_dcp",
    "volatility_atr",
    "volatility_ui",
    "trend_macd",
    "trend_macd_signal",
    "trend_macd_diff",
    "trend_sma_fast",
    "trend_sma_slow",
    "trend_ema_fast",
    "trend_ema_slow",
    "trend_vortex_ind_pos",
    "trend_vortex_ind_neg",
    "trend_vortex_ind_diff",
    "trend_trix",
    "trend_mass_index",
    "trend_dpo",
    "trend_kst",
    "trend_kst_sig",
    "trend_kst_diff",
    "trend_ichimoku_conv",
    "trend_ichimoku_base",
    "trend_ichimoku_a",
    "trend_ichimoku_b",
    "trend_stc",
    "trend_adx",
    "trend_adx_pos",
    "trend_adx_neg",
    "trend_cci",
    "trend_visual_ichimoku_a",
    "trend_visual_ichimoku_b",
    "trend_aroon_up",
    "trend_aroon_down",
    "trend_aroon_ind",
    "trend_psar_up",
    "trend_psar_down",
    "trend_psar_up_indicator",
    "trend_psar_down_indicator",
    "momentum_rsi",
    "momentum_stoch_rsi",
    "momentum_stoch_rsi_k",
    "momentum_stoch_rsi_d",
    "momentum_tsi",
    "momentum_uo",
    "momentum_stoch",
    "momentum_stoch_signal",
    "momentum_wr",
    "momentum_ao",
    "momentum_roc",
    "momentum_ppo",
    "momentum_ppo_signal",
    "momentum_ppo_hist",
    "momentum_pvo",
    "momentum_pvo_signal",
    "momentum_pvo_hist",
    "momentum_kama",
    "others_dr",
    "others_dlr",
    "others_cr",
];

/// The fewest candles `ta` computes the set on (its ADX indexes row 2 × 14 of its smoothing).
pub const MIN_CANDLES: usize = 28;

/// How `ta`'s `_check_fillna` fills a column after turning `±inf` into missing and filling
/// forward.
enum Fill<'a> {
    /// `value=v`.
    Value(f64),
    /// `value=-1`: backfill (look-ahead; only with `original`).
    Back,
    /// `value=series` (KAMA: the close).
    Series(&'a [f64]),
}

/// Every column of [`COLUMNS`] on candles `h`, `l`, `c`, `v`, in that order; all NaN when there
/// are fewer than [`MIN_CANDLES`]. `original`: reproduce `ta`'s look-ahead (see the module
/// documentation).
pub fn ta_all(h: &[f64], l: &[f64], c: &[f64], v: &[f64], original: bool) -> Vec<Vec<f64>> {
    let n = c.len();
    if n < MIN_CANDLES {
        return vec![vec![f64::NAN; n]; COLUMNS.len()];
    }
    let fill = |x: Vec<f64>, how: Fill<'_>| fill_na(x, how, original);
    let zip = |a: &[f64], b: &[f64], f: fn(f64, f64) -> f64| -> Vec<f64> {
        a.iter().zip(b).map(|(&x, &y)| f(x, y)).collect()
    };
    // The series mean `ta` fills shifted-in rows with (missing unless `original`).
    let shift_fill = |x: &[f64]| if original { mean(x) } else { f64::NAN };
    let prev_close = shift(c, 1, f64::NAN);
    let typical = crate::transforms::typical_price(h, l, c);
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(COLUMNS.len());

    // Volume.
    let clv: Vec<f64> = (0..n)
        .map(|i| {
            let r = (c[i] - l[i] - (h[i] - c[i])) / (h[i] - l[i]);
            if r.is_nan() { 0.0 } else { r }
        })
        .collect();
    let mfv = zip(&clv, v, |a, b| a * b);
    out.push(fill(cumsum(&mfv), Fill::Value(0.0)));
    let obv: Vec<f64> =
        (0..n).map(|i| if i > 0 && c[i] < c[i - 1] { -v[i] } else { v[i] }).collect();
    out.push(fill(cumsum(&obv), Fill::Value(0.0)));
    let cmf = zip(&rolling_sum(&mfv, 20, 0), &rolling_sum(v, 20, 0), |a, b| a / b);
    out.push(fill(cmf, Fill::Value(0.0)));
    let force = zip(&diff(c), v, |a, b| a * b);
    out.push(fill(ewm(&force, span(13), 0), Fill::Value(0.0)));
    let (dh, dl) = (diff(h), diff(l));
    let emv: Vec<f64> =
        (0..n).map(|i| (dh[i] + dl[i]) * (h[i] - l[i]) / (2.0 * v[i]) * 100_000_000.0).collect();
    out.push(fill(emv.clone(), Fill::Value(0.0)));
    out.push(fill(rolling_mean(&emv, 14, 0), Fill::Value(0.0)));
    let returns = pct_change(c);
    out.push(fill(cumsum(&zip(&returns, v, |a, b| a * b)), Fill::Value(0.0)));
    let pv = zip(&typical, v, |a, b| a * b);
    let vwap = zip(&rolling_sum(&pv, 14, 0), &rolling_sum(v, 14, 0), |a, b| a / b);
    out.push(fill(vwap, Fill::Value(0.0)));
    out.push(fill(mfi(&typical, v, 14), Fill::Value(50.0)));
    let mut nvi = vec![1000.0; n];
    for i in 1..n {
        nvi[i] = if v[i - 1] > v[i] { nvi[i - 1] * (1.0 + returns[i]) } else { nvi[i - 1] };
    }
    out.push(fill(nvi, Fill::Value(1000.0)));

    // Volatility: Bollinger (20, 2), Keltner (10, `ta`'s original version), Donchian (20),
    // ATR (10), Ulcer (14).
    let mavg = rolling_mean(c, 20, 0);
    let mstd = rolling_std(c, 20, 0, 0);
    let hband = zip(&mavg, &mstd, |m, s| m + 2.0 * s);
    let lband = zip(&mavg, &mstd, |m, s| m - 2.0 * s);
    out.push(fill(mavg.clone(), Fill::Back));
    out.push(fill(hband.clone(), Fill::Back));
    out.push(fill(lband.clone(), Fill::Back));
    out.push(fill(
        (0..n).map(|i| (hband[i] - lband[i]) / mavg[i] * 100.0).collect(),
        Fill::Value(0.0),
    ));
    let bbp = (0..n)
        .map(|i| {
            let width = if hband[i] != lband[i] { hband[i] - lband[i] } else { f64::NAN };
            (c[i] - lband[i]) / width
        })
        .collect();
    out.push(fill(bbp, Fill::Value(0.0)));
    out.push(fill(above(c, &hband), Fill::Value(0.0)));
    out.push(fill(above(&lband, c), Fill::Value(0.0)));
    let kc_mid = rolling_mean(&typical, 10, 1);
    let kc_high = rolling_mean(
        &(0..n).map(|i| (4.0 * h[i] - 2.0 * l[i] + c[i]) / 3.0).collect::<Vec<_>>(),
        10,
        0,
    );
    let kc_low = rolling_mean(
        &(0..n).map(|i| (-2.0 * h[i] + 4.0 * l[i] + c[i]) / 3.0).collect::<Vec<_>>(),
        10,
        0,
    );
    out.push(fill(kc_mid.clone(), Fill::Back));
    out.push(fill(kc_high.clone(), Fill::Back));
    out.push(fill(kc_low.clone(), Fill::Back));
    out.push(fill(
        (0..n).map(|i| (kc_high[i] - kc_low[i]) / kc_mid[i] * 100.0).collect(),
        Fill::Value(0.0),
    ));
    out.push(fill(
        (0..n).map(|i| (c[i] - kc_low[i]) / (kc_high[i] - kc_low[i])).collect(),
        Fill::Value(0.0),
    ));
    out.push(fill(above(c, &kc_high), Fill::Value(0.0)));
    out.push(fill(above(&kc_low, c), Fill::Value(0.0)));
    let dc_high = rolling_extreme(h, 20, 1, true);
    let dc_low = rolling_extreme(l, 20, 1, false);
    out.push(fill(dc_low.clone(), Fill::Back));
    out.push(fill(dc_high.clone(), Fill::Back));
    out.push(fill(
        (0..n).map(|i| (dc_high[i] - dc_low[i]) / 2.0 + dc_low[i]).collect(),
        Fill::Back,
    ));
    let dc_mavg = rolling_mean(c, 20, 1);
    out.push(fill(
        (0..n).map(|i| (dc_high[i] - dc_low[i]) / dc_mavg[i] * 100.0).collect(),
        Fill::Value(0.0),
    ));
    out.push(fill(
        (0..n).map(|i| (c[i] - dc_low[i]) / (dc_high[i] - dc_low[i])).collect(),
        Fill::Value(0.0),
    ));
    out.push(fill(atr(&true_range(h, l, &prev_close), 10), Fill::Value(0.0)));
    let ui_max = rolling_extreme(c, 14, 1, true);
    let drawdown: Vec<f64> = (0..n).map(|i| 100.0 * (c[i] - ui_max[i]) / ui_max[i]).collect();
    let ulcer =
        rolling_apply(&drawdown, 14, 14, |w| w.iter().map(|x| x * x / 14.0).sum::<f64>().sqrt());
    out.push(fill(ulcer, Fill::Value(0.0)));

    // Trend.
    let ema12 = ewm(c, span(12), 0);
    let ema26 = ewm(c, span(26), 0);
    let macd = zip(&ema12, &ema26, |a, b| a - b);
    let signal = ewm(&macd, span(9), 0);
    out.push(fill(macd.clone(), Fill::Value(0.0)));
    out.push(fill(signal.clone(), Fill::Value(0.0)));
    out.push(fill(zip(&macd, &signal, |a, b| a - b), Fill::Value(0.0)));
    // `ta`'s SMA and EMA indicators skip the fill.
    out.push(rolling_mean(c, 12, 0));
    out.push(rolling_mean(c, 26, 0));
    out.push(ema12.clone());
    out.push(ema26.clone());
    let vortex_close = shift(c, 1, shift_fill(c));
    let trn = rolling_sum(&true_range(h, l, &vortex_close), 14, 0);
    let (prev_low, prev_high) = (shift(l, 1, f64::NAN), shift(h, 1, f64::NAN));
    let vmp: Vec<f64> = (0..n).map(|i| (h[i] - prev_low[i]).abs()).collect();
    let vmm: Vec<f64> = (0..n).map(|i| (l[i] - prev_high[i]).abs()).collect();
    let vip = zip(&rolling_sum(&vmp, 14, 0), &trn, |a, b| a / b);
    let vin = zip(&rolling_sum(&vmm, 14, 0), &trn, |a, b| a / b);
    out.push(fill(vip.clone(), Fill::Value(1.0)));
    out.push(fill(vin.clone(), Fill::Value(1.0)));
    out.push(fill(zip(&vip, &vin, |a, b| a - b), Fill::Value(0.0)));
    let ema3 = ewm(&ewm(&ewm(c, span(15), 0), span(15), 0), span(15), 0);
    let prev3 = shift(&ema3, 1, shift_fill(&ema3));
    out.push(fill(zip(&ema3, &prev3, |a, b| (a - b) / b * 100.0), Fill::Value(0.0)));
    let amplitude = zip(h, l, |a, b| a - b);
    let e1 = ewm(&amplitude, span(9), 0);
    let e2 = ewm(&e1, span(9), 0);
    out.push(fill(rolling_sum(&zip(&e1, &e2, |a, b| a / b), 25, 0), Fill::Value(0.0)));
    let dpo = zip(&shift(c, 11, shift_fill(c)), &rolling_mean(c, 20, 0), |a, b| a - b);
    out.push(fill(dpo, Fill::Value(0.0)));
    let rocma = |r: usize, w: usize| {
        let past = shift(c, r, shift_fill(c));
        rolling_mean(&zip(c, &past, |a, b| (a - b) / b), w, 0)
    };
    let (r1, r2, r3, r4) = (rocma(10, 10), rocma(15, 10), rocma(20, 10), rocma(30, 15));
    let kst: Vec<f64> =
        (0..n).map(|i| 100.0 * (r1[i] + 2.0 * r2[i] + 3.0 * r3[i] + 4.0 * r4[i])).collect();
    let kst_sig = rolling_mean(&kst, 9, 0);
    out.push(fill(kst.clone(), Fill::Value(0.0)));
    out.push(fill(kst_sig.clone(), Fill::Value(0.0)));
    out.push(fill(zip(&kst, &kst_sig, |a, b| a - b), Fill::Value(0.0)));
    let midpoint = |w: usize| {
        zip(&rolling_extreme(h, w, 0, true), &rolling_extreme(l, w, 0, false), |a, b| 0.5 * (a + b))
    };
    let (conv, base, span_b) = (midpoint(9), midpoint(26), midpoint(52));
    let span_a = zip(&conv, &base, |a, b| 0.5 * (a + b));
    out.push(fill(conv, Fill::Back));
    out.push(fill(base, Fill::Back));
    out.push(fill(span_a.clone(), Fill::Back));
    out.push(fill(span_b.clone(), Fill::Back));
    out.push(fill(stc(c), Fill::Value(0.0)));
    let adx = Adx::new(h, l, c, 14);
    out.push(fill(adx.adx(), Fill::Value(20.0)));
    out.push(fill(adx.di(&adx.dip), Fill::Value(20.0)));
    out.push(fill(adx.di(&adx.din), Fill::Value(20.0)));
    let cci = {
        let mean_tp = rolling_mean(&typical, 20, 0);
        let mad = rolling_apply(&typical, 20, 0, |w| {
            let m = w.iter().sum::<f64>() / w.len() as f64;
            w.iter().map(|x| (x - m).abs()).sum::<f64>() / w.len() as f64
        });
        (0..n).map(|i| (typical[i] - mean_tp[i]) / (0.015 * mad[i])).collect()
    };
    out.push(fill(cci, Fill::Value(0.0)));
    out.push(fill(shift(&span_a, 26, shift_fill(&span_a)), Fill::Back));
    out.push(fill(shift(&span_b, 26, shift_fill(&span_b)), Fill::Back));
    let position = |x: &[f64], max: bool| {
        rolling_apply(x, 26, 1, move |w| {
            let mut best = 0;
            for (k, &v) in w.iter().enumerate() {
                if (max && v > w[best]) || (!max && v < w[best]) {
                    best = k;
                }
            }
            best as f64 / 25.0 * 100.0
        })
    };
    let (up, down) = (position(h, true), position(l, false));
    out.push(fill(up.clone(), Fill::Value(0.0)));
    out.push(fill(down.clone(), Fill::Value(0.0)));
    out.push(fill(zip(&up, &down, |a, b| a - b), Fill::Value(0.0)));
    let (psar_up, psar_down) = psar(h, l, c, 0.02, 0.2);
    let starts = |x: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| f64::from(u8::from(!x[i].is_nan() && (i == 0 || x[i - 1].is_nan()))))
            .collect()
    };
    let (up_starts, down_starts) = (starts(&psar_up), starts(&psar_down));
    out.push(fill(psar_up, Fill::Back));
    out.push(fill(psar_down, Fill::Back));
    out.push(up_starts);
    out.push(down_starts);

    // Momentum.
    let rsi = fill(rsi(c, 14), Fill::Value(50.0));
    let low_rsi = rolling_extreme(&rsi, 14, 14, false);
    let high_rsi = rolling_extreme(&rsi, 14, 14, true);
    let stoch_rsi: Vec<f64> =
        (0..n).map(|i| (rsi[i] - low_rsi[i]) / (high_rsi[i] - low_rsi[i])).collect();
    let stoch_rsi_k = rolling_mean(&stoch_rsi, 3, 3);
    let stoch_rsi_d = rolling_mean(&stoch_rsi_k, 3, 3);
    out.push(rsi);
    out.push(fill(stoch_rsi, Fill::Value(0.0)));
    out.push(fill(stoch_rsi_k, Fill::Value(0.0)));
    out.push(fill(stoch_rsi_d, Fill::Value(0.0)));
    let change = diff(c);
    let double = |x: &[f64]| ewm(&ewm(x, span(25), 0), span(13), 0);
    let smoothed = double(&change);
    let smoothed_abs = double(&change.iter().map(|x| x.abs()).collect::<Vec<_>>());
    out.push(fill(zip(&smoothed, &smoothed_abs, |a, b| a / b * 100.0), Fill::Value(0.0)));
    out.push(fill(ultimate(h, l, c, &prev_close), Fill::Value(50.0)));
    let low14 = rolling_extreme(l, 14, 0, false);
    let high14 = rolling_extreme(h, 14, 0, true);
    let stoch_k: Vec<f64> =
        (0..n).map(|i| 100.0 * (c[i] - low14[i]) / (high14[i] - low14[i])).collect();
    out.push(fill(stoch_k.clone(), Fill::Value(50.0)));
    out.push(fill(rolling_mean(&stoch_k, 3, 0), Fill::Value(50.0)));
    let wr = (0..n).map(|i| -100.0 * (high14[i] - c[i]) / (high14[i] - low14[i])).collect();
    out.push(fill(wr, Fill::Value(-50.0)));
    let median = zip(h, l, |a, b| 0.5 * (a + b));
    let ao = zip(&rolling_mean(&median, 5, 0), &rolling_mean(&median, 34, 0), |a, b| a - b);
    out.push(fill(ao, Fill::Value(0.0)));
    let past12 = shift(c, 12, f64::NAN);
    out.push(fill(zip(c, &past12, |a, b| (a - b) / b * 100.0), Fill::Value(0.0)));
    for x in [c, v] {
        let (fast, slow) = (ewm(x, span(12), 0), ewm(x, span(26), 0));
        let ppo = zip(&fast, &slow, |a, b| (a - b) / b * 100.0);
        let signal = ewm(&ppo, span(9), 0);
        let hist = zip(&ppo, &signal, |a, b| a - b);
        out.push(fill(ppo, Fill::Value(0.0)));
        out.push(fill(signal, Fill::Value(0.0)));
        out.push(fill(hist, Fill::Value(0.0)));
    }
    out.push(fill(kama(c, 10, 2.0, 30.0, original), Fill::Series(c)));

    // Others.
    out.push(fill(
        (0..n).map(|i| (c[i] / prev_close[i] - 1.0) * 100.0).collect(),
        Fill::Value(0.0),
    ));
    let log_close: Vec<f64> = c.iter().map(|x| x.ln()).collect();
    out.push(fill(diff(&log_close).iter().map(|x| x * 100.0).collect(), Fill::Value(0.0)));
    out.push(fill(c.iter().map(|x| (x / c[0] - 1.0) * 100.0).collect(), Fill::Back));
    debug_assert_eq!(out.len(), COLUMNS.len());
    out
}

/// `ta`'s `_check_fillna` with `fillna=True`: `±inf` become missing, then forward fill, then
/// the column's fill (backfill only with `original`).
fn fill_na(mut x: Vec<f64>, how: Fill<'_>, original: bool) -> Vec<f64> {
    let mut last = f64::NAN;
    for v in &mut x {
        if !v.is_finite() {
            *v = last;
        } else {
            last = *v;
        }
    }
    match how {
        Fill::Value(value) => x.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = value),
        Fill::Series(s) => {
            x.iter_mut().zip(s).filter(|(v, _)| v.is_nan()).for_each(|(v, s)| *v = *s)
        }
        Fill::Back if original => {
            let mut next = f64::NAN;
            for v in x.iter_mut().rev() {
                if v.is_nan() {
                    *v = next;
                } else {
                    next = *v;
                }
            }
        }
        Fill::Back => {}
    }
    x
}

/// `1.0` where `a > b`, else `0.0`.
fn above(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| if x > y { 1.0 } else { 0.0 }).collect()
}

/// `ta`'s money flow index: rolling sums of the signed money flow from the first row.
fn mfi(typical: &[f64], v: &[f64], window: usize) -> Vec<f64> {
    let flow: Vec<f64> = (0..typical.len())
        .map(|i| {
            let sign = match i.checked_sub(1).map(|p| typical[i].partial_cmp(&typical[p])) {
                Some(Some(std::cmp::Ordering::Greater)) => 1.0,
                Some(Some(std::cmp::Ordering::Less)) => -1.0,
                _ => 0.0,
            };
            typical[i] * v[i] * sign
        })
        .collect();
    let positive = rolling_apply(&flow, window, 0, |w| w.iter().filter(|x| **x >= 0.0).sum());
    let negative = rolling_apply(&flow, window, 0, |w| w.iter().filter(|x| **x < 0.0).sum());
    positive.iter().zip(&negative).map(|(p, n)| 100.0 - 100.0 / (1.0 + p / n.abs())).collect()
}

/// `ta`'s ATR: the mean of the first `window` true ranges at row `window − 1`, then Wilder's
/// smoothing; zero before.
fn atr(tr: &[f64], window: usize) -> Vec<f64> {
    let mut atr = vec![0.0; tr.len()];
    atr[window - 1] = tr[..window].iter().sum::<f64>() / window as f64;
    for i in window..tr.len() {
        atr[i] = (atr[i - 1] * (window - 1) as f64 + tr[i]) / window as f64;
    }
    atr
}

/// `ta`'s Schaff trend cycle (50, 23, cycle 10, smoothing 3 and 3).
fn stc(c: &[f64]) -> Vec<f64> {
    let macd: Vec<f64> =
        ewm(c, span(23), 0).iter().zip(ewm(c, span(50), 0)).map(|(a, b)| a - b).collect();
    let stoch = |x: &[f64]| -> Vec<f64> {
        let low = rolling_extreme(x, 10, 10, false);
        let high = rolling_extreme(x, 10, 10, true);
        (0..x.len()).map(|i| 100.0 * (x[i] - low[i]) / (high[i] - low[i])).collect()
    };
    let d = ewm(&stoch(&macd), span(3), 0);
    ewm(&stoch(&d), span(3), 0)
}

/// `ta`'s ADX state: Wilder sums of the true range (`trs`) and of the directional movements
/// (`dip`, `din`), element `i` belonging to row `window + i`.
struct Adx {
    window: usize,
    n: usize,
    trs: Vec<f64>,
    dip: Vec<f64>,
    din: Vec<f64>,
}

impl Adx {
    fn new(h: &[f64], l: &[f64], c: &[f64], window: usize) -> Self {
        let n = c.len();
        let m = n - (window - 1);
        // A NaN in the first row (no previous bar) is dropped before the first sum.
        let wilder = |x: &[f64]| {
            let mut s = vec![0.0; m];
            s[0] = x.iter().filter(|v| !v.is_nan()).take(window).sum();
            for i in 1..m - 1 {
                s[i] = s[i - 1] - s[i - 1] / window as f64 + x[window + i];
            }
            s
        };
        let movement: Vec<f64> = (0..n)
            .map(|i| if i == 0 { f64::NAN } else { h[i].max(c[i - 1]) - l[i].min(c[i - 1]) })
            .collect();
        let directional = |plus: bool| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    if i == 0 {
                        return f64::NAN;
                    }
                    let (up, down) = (h[i] - h[i - 1], l[i - 1] - l[i]);
                    let (a, b) = if plus { (up, down) } else { (down, up) };
                    if a > b && a > 0.0 { a.abs() } else { 0.0 }
                })
                .collect()
        };
        Self {
            window,
            n,
            trs: wilder(&movement),
            dip: wilder(&directional(true)),
            din: wilder(&directional(false)),
        }
    }

    /// A directional indicator from its Wilder sum: `100 · dm / tr` at row `window + i`
    /// (`i ≥ 1`; 0 elsewhere).
    fn di(&self, dm: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; self.n];
        for i in 1..self.trs.len() - 1 {
            out[i + self.window] =
                if self.trs[i] != 0.0 { 100.0 * (dm[i] / self.trs[i]) } else { 0.0 };
        }
        out
    }

    fn adx(&self) -> Vec<f64> {
        let (w, m) = (self.window, self.trs.len());
        let ratio = |dm: &[f64], i: usize| {
            if self.trs[i] != 0.0 { 100.0 * (dm[i] / self.trs[i]) } else { 0.0 }
        };
        let dx: Vec<f64> = (0..m)
            .map(|i| {
                let (p, q) = (ratio(&self.dip, i), ratio(&self.din, i));
                if p + q != 0.0 { 100.0 * ((p - q) / (p + q)).abs() } else { 0.0 }
            })
            .collect();
        let mut adx = vec![0.0; m];
        adx[w] = dx[..w].iter().sum::<f64>() / w as f64;
        for i in w + 1..m {
            adx[i] = (adx[i - 1] * (w - 1) as f64 + dx[i - 1]) / w as f64;
        }
        let mut out = vec![0.0; w - 1];
        out.extend(adx);
        out
    }
}

/// `ta`'s parabolic SAR split into its up-trend and down-trend values (NaN where the trend is
/// the other one, and on the first two rows).
fn psar(h: &[f64], l: &[f64], c: &[f64], step: f64, max_step: f64) -> (Vec<f64>, Vec<f64>) {
    let n = c.len();
    let mut sar = c.to_vec();
    let (mut up, mut down) = (vec![f64::NAN; n], vec![f64::NAN; n]);
    let mut up_trend = true;
    let mut af = step;
    let (mut high_point, mut low_point) = (h[0], l[0]);
    for i in 2..n {
        let mut reversal = false;
        if up_trend {
            sar[i] = sar[i - 1] + af * (high_point - sar[i - 1]);
            if l[i] < sar[i] {
                reversal = true;
                sar[i] = high_point;
                low_point = l[i];
                af = step;
            } else {
                if h[i] > high_point {
                    high_point = h[i];
                    af = (af + step).min(max_step);
                }
                if l[i - 2] < sar[i] {
                    sar[i] = l[i - 2];
                } else if l[i - 1] < sar[i] {
                    sar[i] = l[i - 1];
                }
            }
        } else {
            sar[i] = sar[i - 1] - af * (sar[i - 1] - low_point);
            if h[i] > sar[i] {
                reversal = true;
                sar[i] = low_point;
                high_point = h[i];
                af = step;
            } else {
                if l[i] < low_point {
                    low_point = l[i];
                    af = (af + step).min(max_step);
                }
                if h[i - 2] > sar[i] {
                    sar[i] = h[i - 2];
                } else if h[i - 1] > sar[i] {
                    sar[i] = h[i - 1];
                }
            }
        }
        up_trend = up_trend != reversal;
        if up_trend {
            up[i] = sar[i];
        } else {
            down[i] = sar[i];
        }
    }
    (up, down)
}

/// `ta`'s RSI: Wilder averages (`alpha = 1/window`) seeded with the first bar's zero move; 100
/// where the average loss is zero.
fn rsi(c: &[f64], window: usize) -> Vec<f64> {
    let change = diff(c);
    let gain: Vec<f64> = change.iter().map(|&d| if d > 0.0 { d } else { 0.0 }).collect();
    let loss: Vec<f64> = change.iter().map(|&d| -(if d < 0.0 { d } else { 0.0 })).collect();
    let a = alpha(1.0 / window as f64);
    let (up, down) = (ewm(&gain, a, 0), ewm(&loss, a, 0));
    up.iter()
        .zip(&down)
        .map(|(u, d)| if *d == 0.0 { 100.0 } else { 100.0 - 100.0 / (1.0 + u / d) })
        .collect()
}

/// `ta`'s ultimate oscillator (7, 14, 28; weights 4, 2, 1) with partial windows at the start.
fn ultimate(h: &[f64], l: &[f64], c: &[f64], prev_close: &[f64]) -> Vec<f64> {
    let n = c.len();
    let tr = true_range(h, l, prev_close);
    // `min(low, prev close)` does not skip the missing first row.
    let pressure: Vec<f64> = (0..n)
        .map(|i| if prev_close[i].is_nan() { f64::NAN } else { c[i] - l[i].min(prev_close[i]) })
        .collect();
    let average = |w: usize| -> Vec<f64> {
        let (bp, tr) = (rolling_sum(&pressure, w, 0), rolling_sum(&tr, w, 0));
        bp.iter().zip(&tr).map(|(a, b)| a / b).collect()
    };
    let (s, m, long) = (average(7), average(14), average(28));
    (0..n).map(|i| 100.0 * (4.0 * s[i] + 2.0 * m[i] + 1.0 * long[i]) / 7.0).collect()
}

/// `ta`'s KAMA. Its efficiency ratio compares each close with the one `window` rows back
/// through `np.roll`, which wraps around: row `i < window` reads row `n − window + i`, the
/// future. With `original` that is reproduced; otherwise those rows compare with the first close
/// (a partial window, like the volatility sum beside it).
fn kama(c: &[f64], window: usize, fast: f64, slow: f64, original: bool) -> Vec<f64> {
    let n = c.len();
    let back = |i: usize, k: usize| -> f64 {
        if i >= k {
            c[i - k]
        } else if original {
            c[n + i - k]
        } else if k == 1 {
            f64::NAN
        } else {
            c[0]
        }
    };
    let volatility: Vec<f64> = (0..n).map(|i| (c[i] - back(i, 1)).abs()).collect();
    let denominator = rolling_sum(&volatility, window, 0);
    let mut kama = vec![f64::NAN; n];
    let mut first = true;
    for i in 0..n {
        let numerator = (c[i] - back(i, window)).abs();
        let er = if denominator[i] != 0.0 { numerator / denominator[i] } else { 0.0 };
        let x = er * (2.0 / (fast + 1.0) - 2.0 / (slow + 1.0)) + 2.0 / (slow + 1.0);
        let sc = x * x;
        if sc.is_nan() {
            kama[i] = f64::NAN;
        } else if first {
            kama[i] = c[i];
            first = false;
        } else {
            kama[i] = kama[i - 1] + sc * (c[i] - kama[i - 1]);
        }
    }
    kama
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_data_gives_warm_up_only() {
        let x = [1.0; 27];
        let out = ta_all(&x, &x, &x, &x, false);
        assert_eq!(out.len(), COLUMNS.len());
        assert!(out.iter().all(|col| col.iter().all(|v| v.is_nan())));
    }
}
