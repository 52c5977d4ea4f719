//! Golden tests for what the seeds computed with other libraries, on real candles (Binance
//! ETH/USDT hourly, 36k rows):
//! - `variant: tulip` against `tulipy` 0.4 (Blankly's indicator library);
//! - freqAI-LSTM's Bollinger features (qtpylib's bands of the typical price, width, close over
//!   the lower band) against qtpylib's definition in pandas;
//! - the transforms against pandas (`pct_change`, `rolling(w).std()` with ddof = 1, `dt`);
//! - freqAI-LSTM's target score T against its definition run with TA-Lib and pandas, in both
//!   the `original` mode (the published code's quirks) and the corrected default.

mod common;

use quantsweep_features::indicators::{self as ind};
use quantsweep_features::targets::{freqai_score, target_columns};
use quantsweep_features::{
    FeatureConfig, FeatureTable, TargetConfig, freqai_weights, transforms as tr,
};

const FILE: &str = "cryptodatadownload/Binance_ETHUSDT_1h.csv";

/// The freqAI-LSTM score as the README's formulas define it (TA-Lib's abstract API on the
/// DataFrame, pandas rolling windows), with the corrected mode's three changes behind
/// `original=False`.
const PRELUDE: &str = r#"
import talib, talib.abstract as ta, tulipy as ti

def tulip(f, *args):
    out = f(*args)
    outs = out if isinstance(out, tuple) else (out,)
    return tuple(np.concatenate([np.full(len(c) - len(x), np.nan), x]) for x in outs)

def z(s, w):
    return (s - s.rolling(window=w).mean()) / s.rolling(window=w).std()

def freqai_score(df, w, original):
    close = df["close"]
    ma = pd.Series(ta.SMA(df, timeperiod=10))
    roc = pd.Series(ta.ROC(df, timeperiod=2))
    macd = pd.Series(ta.MACD(df["close"], slowperiod=12, fastperiod=26)[0])
    mom = pd.Series(ta.MOM(df, timeperiod=4))
    rsi = pd.Series(ta.RSI(df, timeperiod=10))
    bb = ta.BBANDS(df, timeperiod=20)
    upper, middle, lower = bb["upperband"], bb["middleband"], bb["lowerband"]
    cci = pd.Series(ta.CCI(df, timeperiod=20))
    stoch = ta.STOCH(df)["slowk"]
    atr = pd.Series(ta.ATR(df, timeperiod=14))
    obv = pd.Series(ta.OBV(df))
    width = upper - lower
    bbw = width.rolling(window=20).mean() / width.rolling(window=20).std() if original else z(width, 20)
    trend = (ma - close).abs()
    strong = trend > trend.rolling(window=14).mean() + 1.5 * trend.rolling(window=14).std()
    w_mom = np.where(strong, w[3] * 1.5, w[3])
    s = (w[0] * z(close, 10) + w[1] * z(macd, 26) + w[2] * z(roc, 2) + w[3] * z(rsi, 10)
         + w[4] * bbw + w[5] * z(cci, 20) + w_mom * z(mom, 4) + w[8] * z(stoch, 14)
         + w[7] * z(atr, 14) + w[6] * z(obv, 14))
    r = pd.Series(0.0, index=df.index)
    r[(close > middle) & (close > upper)] = 1.0
    r[(close < middle) & (close < lower)] = -1.0
    ma100 = pd.Series(ta.SMA(df, timeperiod=100))
    r2 = pd.Series(np.where(close > ma100, 1.0, -1.0))
    if not original:
        r2[ma100.isna()] = np.nan
    return s * r * (1 / (width / middle)) * r2 * (1 / atr)

# freqtrade's vendored qtpylib (freqtrade/vendor/qtpylib/indicators.py), as freqAI-LSTM's
# strategy calls it: bollinger_bands(typical_price(df), window=period, stds=2.2).
def qtpylib_bollinger(series, window, stds):
    ma = series.rolling(window=window, min_periods=1).mean()
    std = series.rolling(window=window, min_periods=1).std()
    return ma + std * stds, ma, ma - std * stds

def freqai_bollinger(df, period):
    typical = (df["high"] + df["low"] + df["close"]) / 3.0
    upper, mid, lower = qtpylib_bollinger(typical, period, 2.2)
    return upper, mid, lower, (upper - lower) / mid, df["close"] / lower

HYPEROPT = [0.54347, 0.82226, 0.56675, 0.77918, 0.98488, 0.31368, 0.75916, 0.09226, 0.85667]
"#;

const HYPEROPT: [f64; 9] =
    [0.54347, 0.82226, 0.56675, 0.77918, 0.98488, 0.31368, 0.75916, 0.09226, 0.85667];

#[test]
fn tulip_variant_equals_tulipy() {
    let Some(k) = common::candles(FILE) else { return };
    let cases = [
        ("ema", "tulip(ti.ema, c, 30)"),
        ("ema5", "tulip(ti.ema, c, 5)"),
        ("macd", "tulip(ti.macd, c, 12, 26, 9)"),
        ("macd_other", "tulip(ti.macd, c, 5, 35, 5)"),
        ("rsi", "tulip(ti.rsi, c, 14)"),
        ("sma", "tulip(ti.sma, c, 10)"),
    ];
    let Some(want) = common::reference(&k, PRELUDE, &cases) else { return };
    let m = ind::macd_tulip(&k.close, 12, 26, 9);
    let m2 = ind::macd_tulip(&k.close, 5, 35, 5);
    let ours = [
        ("ema", vec![ind::ema_tulip(&k.close, 30)]),
        ("ema5", vec![ind::ema_tulip(&k.close, 5)]),
        ("macd", vec![m.macd, m.signal, m.hist]),
        ("macd_other", vec![m2.macd, m2.signal, m2.hist]),
        // Tulip's RSI and SMA are TA-Lib's: `variant: tulip` computes those.
        ("rsi", vec![ind::rsi(&k.close, 14)]),
        ("sma", vec![ind::sma(&k.close, 10)]),
    ];
    let mut failures = Vec::new();
    for (name, outputs) in &ours {
        assert_eq!(outputs.len(), want[*name].len(), "{name}: outputs");
        for (i, got) in outputs.iter().enumerate() {
            let what = format!("tulip {name} output {i}");
            failures.extend(common::compare(&what, got, &want[*name][i], 1e-9, |_| 1.0));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn freqai_bollinger_features_equal_qtpylib() {
    let Some(k) = common::candles(FILE) else { return };
    let Some(want) = common::reference(&k, PRELUDE, &[("bb", "freqai_bollinger(df, 10)")]) else {
        return;
    };
    let features = [
        FeatureConfig::new("bbands")
            .named("bb")
            .with_text("variant", "qtpylib")
            .with_text("input", "typical")
            .with("period", 10.0)
            .with("nbdevup", 2.2)
            .with("nbdevdn", 2.2),
        FeatureConfig::new("expr")
            .named("width")
            .with_text("expr", "(bb.upper - bb.lower) / bb.middle"),
        FeatureConfig::new("expr").named("close_lower").with_text("expr", "close / bb.lower"),
    ];
    FeatureConfig::validate_all(&features).expect("valid");
    let table = FeatureTable::build(&k, &features).expect("features");
    // Over ten equal prices the deviation is 0. pandas 3.1's running update says so on long flat
    // stretches but leaves rounding residue on some (a width of 4e-7 over ten equal prices at
    // two rows of this file). Windows ending in ten equal values, or within 1e-12 of flat over
    // twenty rows, are held to 1e-5 instead of 1e-9.
    let typical: Vec<f64> =
        (0..k.len()).map(|i| (k.high[i] + k.low[i] + k.close[i]) / 3.0).collect();
    let near_flat: Vec<bool> = (0..k.len())
        .map(|i| {
            let w = &typical[i.saturating_sub(19)..=i];
            let (lo, hi) = w.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            w[w.len().saturating_sub(10)..].iter().all(|&v| v == w[w.len() - 1])
                || hi - lo < 1e-12 * hi
        })
        .collect();
    let names = ["bb.upper", "bb.middle", "bb.lower", "width", "close_lower"];
    let mut failures = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let got = table.column(name).expect("column");
        let strict: Vec<f64> =
            (0..k.len()).map(|r| if near_flat[r] { f64::NAN } else { got[r] }).collect();
        let want_strict: Vec<f64> =
            (0..k.len()).map(|r| if near_flat[r] { f64::NAN } else { want["bb"][i][r] }).collect();
        // The width divides the bands' difference by the price: 1e-9 of the price in each band
        // is 4e-9 in the width.
        let scale = if *name == "width" { 4.0 } else { 1.0 };
        failures.extend(common::compare(name, &strict, &want_strict, 1e-9, |_| scale));
        for r in (0..k.len()).filter(|&r| near_flat[r]) {
            let (g, w) = (got[r], want["bb"][i][r]);
            if !(g.is_nan() && w.is_nan()) && (g - w).abs() > 1e-5 * w.abs().max(1.0) {
                failures.push(format!("{name} row {r} (flat): {g} vs reference {w}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn transforms_equal_pandas() {
    let Some(k) = common::candles(FILE) else { return };
    let cases = [
        ("pct", "df['close'].pct_change()"),
        ("pct3", "df['close'].pct_change(3)"),
        ("logret", "np.log(df['close'] / df['close'].shift(1))"),
        ("z", "z(df['close'], 20)"),
        ("zvol", "z(df['volume'], 14)"),
        ("dow", "df['date'].dt.dayofweek"),
        ("hour", "df['date'].dt.hour"),
    ];
    let Some(want) = common::reference(&k, PRELUDE, &cases) else { return };
    let ours = [
        ("pct", tr::pct_change(&k.close, 1)),
        ("pct3", tr::pct_change(&k.close, 3)),
        ("logret", tr::log_return(&k.close, 1)),
        ("z", tr::zscore(&k.close, 20)),
        ("zvol", tr::zscore(&k.volume, 14)),
        ("dow", tr::day_of_week(&k.timestamp_ms)),
        ("hour", tr::hour_of_day(&k.timestamp_ms)),
    ];
    // pandas' rolling windows update running sums; ours sum each window afresh. The z-score
    // divides their small differences by the window's deviation: 1e-7 of the value.
    let mut failures = Vec::new();
    for (name, got) in &ours {
        let rel = if name.starts_with('z') { 1e-7 } else { 1e-12 };
        failures.extend(common::compare(name, got, &want[*name][0], rel, |_| 1.0));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn freqai_score_equals_its_definition() {
    let Some(k) = common::candles(FILE) else { return };
    let cases = [
        ("original", "freqai_score(df, HYPEROPT, True)"),
        ("corrected", "freqai_score(df, HYPEROPT, False)"),
        (
            "defaults",
            "freqai_score(df, [0.10, 0.15, 0.10, 0.15, 0.10, 0.10, 0.10, 0.05, 0.15], False)",
        ),
    ];
    let Some(want) = common::reference(&k, PRELUDE, &cases) else { return };
    let ours = [
        ("original", freqai_score(&k, &HYPEROPT, true)),
        ("corrected", freqai_score(&k, &HYPEROPT, false)),
        ("defaults", freqai_score(&k, &freqai_weights(), false)),
    ];
    let mut failures = Vec::new();
    for (name, got) in &ours {
        // S sums ten rolling z-scores that partly cancel, and pandas' running window sums
        // drift (its BB-width mean/std is 2.3e-9 off the exact value at row 12896, the one row
        // beyond 1e-6): 1e-5 of the value.
        failures.extend(common::compare(name, got, &want[*name][0], 1e-5, |_| 1.0));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The target column is the score `horizon_bars` ahead; in `original` mode, the decision
    // bar's own.
    let t = target_columns(
        &k,
        &TargetConfig::FreqaiScore { horizon_bars: 12, weights: HYPEROPT, original: false },
    );
    let score = &ours[1].1;
    assert!((0..k.len() - 12).all(|i| t[0][i].to_bits() == score[i + 12].to_bits()));
    assert!(t[0][k.len() - 12..].iter().all(|v| v.is_nan()));
    let t = target_columns(
        &k,
        &TargetConfig::FreqaiScore { horizon_bars: 12, weights: HYPEROPT, original: true },
    );
    assert!(t[0].iter().zip(&ours[0].1).all(|(a, b)| a.to_bits() == b.to_bits()));
}
