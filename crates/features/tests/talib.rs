//! Golden test: every indicator in `quantsweep_features::indicators` against TA-Lib itself, on
//! real candles from the shared collection (Binance ETH/USDT hourly 2017–2021, 36k rows; Binance
//! USD-M LTCUSDT 1-minute, 40k rows with many flat bars). TA-Lib is the `ta-lib` wheel (which
//! bundles the C library) in the venv scripts/setup creates; the Python below is the generating
//! snippet, run by the test so that the reference is always the real library.
//!
//! Agreement: the same warm-up (count of leading NaN) and, after it, every value within 1e-9
//! relative (of the larger of |TA-Lib's value| and 1).

mod common;

use quantsweep_features::indicators::{self as ind, MaType};
use quantsweep_ingest::Candles;

type Compute = Box<dyn Fn(&Candles) -> Vec<Vec<f64>>>;

/// `(name, TA-Lib expression, ours)`.
fn cases() -> Vec<(&'static str, &'static str, Compute)> {
    fn f(g: impl Fn(&Candles) -> Vec<Vec<f64>> + 'static) -> Compute {
        Box::new(g)
    }
    vec![
        ("sma", "talib.SMA(c, 30)", f(|k| vec![ind::sma(&k.close, 30)])),
        ("ema", "talib.EMA(c, 30)", f(|k| vec![ind::ema(&k.close, 30)])),
        ("wma", "talib.WMA(c, 30)", f(|k| vec![ind::wma(&k.close, 30)])),
        ("dema", "talib.DEMA(c, 30)", f(|k| vec![ind::dema(&k.close, 30)])),
        ("tema", "talib.TEMA(c, 30)", f(|k| vec![ind::tema(&k.close, 30)])),
        ("kama", "talib.KAMA(c, 30)", f(|k| vec![ind::kama(&k.close, 30)])),
        ("rsi", "talib.RSI(c, 14)", f(|k| vec![ind::rsi(&k.close, 14)])),
        ("rsi10", "talib.RSI(c, 10)", f(|k| vec![ind::rsi(&k.close, 10)])),
        (
            "macd",
            "talib.MACD(c, 12, 26, 9)",
            f(|k| {
                let m = ind::macd(&k.close, 12, 26, 9);
                vec![m.macd, m.signal, m.hist]
            }),
        ),
        (
            "bbands",
            "talib.BBANDS(c, 20, 2.0, 2.0, 0)",
            f(|k| {
                let b = ind::bbands(&k.close, 20, 2.0, 2.0, MaType::Sma);
                vec![b.upper, b.middle, b.lower]
            }),
        ),
        (
            "bbands_ema",
            "talib.BBANDS(c, 20, 2.5, 1.5, 1)",
            f(|k| {
                let b = ind::bbands(&k.close, 20, 2.5, 1.5, MaType::Ema);
                vec![b.upper, b.middle, b.lower]
            }),
        ),
        ("cci", "talib.CCI(h, l, c, 20)", f(|k| vec![ind::cci(&k.high, &k.low, &k.close, 20)])),
        (
            "stoch",
            "talib.STOCH(h, l, c, 14, 3, 0, 3, 0)",
            f(|k| {
                let s =
                    ind::stoch(&k.high, &k.low, &k.close, 14, (3, MaType::Sma), (3, MaType::Sma));
                vec![s.k, s.d]
            }),
        ),
        (
            "stoch_ema",
            "talib.STOCH(h, l, c, 5, 3, 1, 4, 1)",
            f(|k| {
                let s =
                    ind::stoch(&k.high, &k.low, &k.close, 5, (3, MaType::Ema), (4, MaType::Ema));
                vec![s.k, s.d]
            }),
        ),
        (
            "stochrsi",
            "talib.STOCHRSI(c, 14, 5, 3, 0)",
            f(|k| {
                let s = ind::stochrsi(&k.close, 14, 5, (3, MaType::Sma));
                vec![s.k, s.d]
            }),
        ),
        ("atr", "talib.ATR(h, l, c, 14)", f(|k| vec![ind::atr(&k.high, &k.low, &k.close, 14)])),
        ("natr", "talib.NATR(h, l, c, 14)", f(|k| vec![ind::natr(&k.high, &k.low, &k.close, 14)])),
        ("trange", "talib.TRANGE(h, l, c)", f(|k| vec![ind::trange(&k.high, &k.low, &k.close)])),
        ("obv", "talib.OBV(c, v)", f(|k| vec![ind::obv(&k.close, &k.volume)])),
        ("ad", "talib.AD(h, l, c, v)", f(|k| vec![ind::ad(&k.high, &k.low, &k.close, &k.volume)])),
        // A difference of two EMAs of the A/D line: compared at the line's magnitude.
        (
            "adosc",
            "talib.ADOSC(h, l, c, v, 3, 10)",
            f(|k| vec![ind::adosc(&k.high, &k.low, &k.close, &k.volume, 3, 10)]),
        ),
        (
            "mfi",
            "talib.MFI(h, l, c, v, 14)",
            f(|k| vec![ind::mfi(&k.high, &k.low, &k.close, &k.volume, 14)]),
        ),
        ("adx", "talib.ADX(h, l, c, 14)", f(|k| vec![ind::adx(&k.high, &k.low, &k.close, 14)])),
        (
            "plus_di",
            "talib.PLUS_DI(h, l, c, 14)",
            f(|k| vec![ind::plus_di(&k.high, &k.low, &k.close, 14)]),
        ),
        (
            "minus_di",
            "talib.MINUS_DI(h, l, c, 14)",
            f(|k| vec![ind::minus_di(&k.high, &k.low, &k.close, 14)]),
        ),
        (
            "aroon",
            "talib.AROON(h, l, 14)",
            f(|k| {
                let a = ind::aroon(&k.high, &k.low, 14);
                vec![a.down, a.up]
            }),
        ),
        (
            "willr",
            "talib.WILLR(h, l, c, 14)",
            f(|k| vec![ind::willr(&k.high, &k.low, &k.close, 14)]),
        ),
        ("roc", "talib.ROC(c, 10)", f(|k| vec![ind::roc(&k.close, 10)])),
        ("roc2", "talib.ROC(c, 2)", f(|k| vec![ind::roc(&k.close, 2)])),
        ("mom", "talib.MOM(c, 4)", f(|k| vec![ind::mom(&k.close, 4)])),
        ("trix", "talib.TRIX(c, 30)", f(|k| vec![ind::trix(&k.close, 30)])),
        (
            "ultosc",
            "talib.ULTOSC(h, l, c, 7, 14, 28)",
            f(|k| vec![ind::ultosc(&k.high, &k.low, &k.close, [7, 14, 28])]),
        ),
        ("sar", "talib.SAR(h, l, 0.02, 0.2)", f(|k| vec![ind::sar(&k.high, &k.low, 0.02, 0.2)])),
        ("ppo", "talib.PPO(c, 12, 26, 0)", f(|k| vec![ind::ppo(&k.close, 12, 26, MaType::Sma)])),
        (
            "ppo_ema",
            "talib.PPO(c, 12, 26, 1)",
            f(|k| vec![ind::ppo(&k.close, 12, 26, MaType::Ema)]),
        ),
        ("cmo", "talib.CMO(c, 14)", f(|k| vec![ind::cmo(&k.close, 14)])),
        ("stddev", "talib.STDDEV(c, 5, 1.0)", f(|k| vec![ind::stddev(&k.close, 5, 1.0)])),
        ("stddev2", "talib.STDDEV(c, 20, 2.0)", f(|k| vec![ind::stddev(&k.close, 20, 2.0)])),
    ]
}

/// Every case on `file`; returns the failures, one line each.
fn check_file(file: &str) -> Vec<String> {
    let Some(candles) = common::candles(file) else { return Vec::new() };
    let cases = cases();
    let exprs: Vec<(&str, &str)> = cases.iter().map(|(n, e, _)| (*n, *e)).collect();
    let Some(want) = common::reference(&candles, "import talib\n", &exprs) else {
        return Vec::new();
    };
    let ad = ind::ad(&candles.high, &candles.low, &candles.close, &candles.volume);
    let mut failures = Vec::new();
    for (name, expr, ours) in &cases {
        for (k, got) in ours(&candles).iter().enumerate() {
            // ADOSC is a difference of two EMAs of the A/D line: compared at its magnitude.
            let scale = |i: usize| if *name == "adosc" { ad[i].abs() } else { 1.0 };
            let what = format!("{file} {expr} output {k}");
            failures.extend(common::compare(&what, got, &want[*name][k], 1e-9, scale));
        }
    }
    failures
}

#[test]
fn indicators_equal_talib_on_real_candles() {
    let mut failures = check_file("cryptodatadownload/Binance_ETHUSDT_1h.csv");
    failures.extend(check_file("binance_vision/futures_um/LTCUSDT-1m-2026-02.csv"));
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
