//! Causality, proven on real data: for random prefixes of the bundled ETH/USDT daily candles,
//! appending future candles never changes any earlier row of any feature kind (every kind
//! `features:` accepts, with its defaults and with other parameters, variants, transforms of
//! other features, shifted copies and coarser timeframes), of any target once it is known, or
//! of a correlated pair's or higher timeframe's join (on the shared hourly ETH and BTC candles);
//! and no sample's window holds a row its target reads.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use quantsweep_features::targets::target_columns;
use quantsweep_features::{
    Dataset, FeatureConfig, FeatureTable, SplitConfig, TargetConfig, WindowConfig,
};
use quantsweep_ingest::{Candles, LoadOptions, load};

fn candles() -> Candles {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/eth-usdt-1d.csv");
    load(path, &LoadOptions::default()).expect("bundled dataset").0
}

fn slice(c: &Candles, from: usize, to: usize) -> Candles {
    let at = |i: usize| c.timestamp_ms.get(i).copied();
    c.between(at(from), at(to))
}

/// Every kind with its defaults, and again with short periods and other MA types.
fn features() -> Vec<FeatureConfig> {
    // `expr` has no defaults (it needs an expression and a name): it is listed below.
    let mut all: Vec<FeatureConfig> = FeatureConfig::kinds()
        .into_iter()
        .map(FeatureConfig::new)
        .filter(|f| f.validate(0).is_ok())
        .collect();
    for (i, f) in all.clone().into_iter().enumerate() {
        let mut g = f.named(&format!("alt{i}"));
        for key in ["period", "fastk_period", "period1"] {
            if FeatureConfig::new(&g.kind).with(key, 3.0).validate(0).is_ok() {
                g = g.with(key, 3.0);
            }
        }
        for key in ["matype", "slowk_matype", "fastd_matype"] {
            if FeatureConfig::new(&g.kind).with_text(key, "ema").validate(0).is_ok() {
                g = g.with_text(key, "ema");
            }
        }
        all.push(g);
    }
    all.extend([
        FeatureConfig::new("ema").with_text("variant", "tulip").with("period", 5.0),
        FeatureConfig::new("macd").with_text("variant", "tulip"),
        FeatureConfig::new("rsi").named("rsi"),
        FeatureConfig::new("zscore").with_text("input", "rsi").with("period", 10.0),
        FeatureConfig::new("ema").with_text("input", "rsi").with("period", 3.0),
        FeatureConfig::new("pct_change").with_text("input", "volume"),
        FeatureConfig::new("macd").named("m").with("shifts", 3.0),
        FeatureConfig::new("rsi").with_text("timeframe", "3d").with("shifts", 1.0),
        FeatureConfig::new("bbands").with_text("timeframe", "2d").with("period", 5.0),
        FeatureConfig::new("bbands")
            .named("bb")
            .with_text("variant", "qtpylib")
            .with_text("input", "typical")
            .with("period", 10.0),
        FeatureConfig::new("expr")
            .named("width")
            .with_text("expr", "(bb.upper - bb.lower) / bb.middle"),
        FeatureConfig::new("sma").with_text("input", "typical").with_text("timeframe", "2d"),
    ]);
    all
}

/// Every target kind, with its quirk-free defaults and the freqAI score's `original` mode.
fn targets() -> Vec<TargetConfig> {
    vec![
        TargetConfig::NextCloseRatios { horizon_bars: 3 },
        TargetConfig::ForwardReturn { horizon_bars: 4, log: true },
        TargetConfig::UpDown { horizon_bars: 5, threshold: 0.0, keep_tail_as_down: false },
        TargetConfig::FreqaiScore {
            horizon_bars: 12,
            weights: quantsweep_features::freqai_weights(),
            original: false,
        },
        TargetConfig::FreqaiScore {
            horizon_bars: 12,
            weights: quantsweep_features::freqai_weights(),
            original: true,
        },
    ]
}

fn same(a: f64, b: f64) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn appending_candles_never_changes_earlier_rows(
        start in 0usize..1500,
        // Longer than the longest warm-up (TRIX 30: 88 rows).
        len in 100usize..400,
        more in 1usize..200,
    ) {
        let all = candles();
        let end = (start + len + more).min(all.len());
        let cut = start + len;
        prop_assume!(cut < end);
        let features = features();
        let short = FeatureTable::build(&slice(&all, start, cut), &features).expect("short");
        let long = FeatureTable::build(&slice(&all, start, end), &features).expect("long");
        for ((name, a), (_, b)) in short.columns.iter().zip(&long.columns) {
            for i in 0..a.len() {
                prop_assert!(same(a[i], b[i]), "{name} row {i}: {} became {}", a[i], b[i]);
            }
        }
        // A target, once known (finite), never changes.
        for target in targets() {
            let a = target_columns(&slice(&all, start, cut), &target);
            let b = target_columns(&slice(&all, start, end), &target);
            for (col_a, col_b) in a.iter().zip(&b) {
                for i in 0..col_a.len() {
                    prop_assert!(
                        col_a[i].is_nan() || same(col_a[i], col_b[i]),
                        "{target:?} row {i}: {} became {}", col_a[i], col_b[i]
                    );
                }
            }
        }
    }

    #[test]
    fn windows_never_hold_a_row_their_target_reads(
        start in 0usize..1000,
        len in 300usize..800,
        input_bars in 1usize..30,
        target in 0usize..4,
    ) {
        let all = candles();
        let c = slice(&all, start, (start + len).min(all.len()));
        let features = [FeatureConfig::new("rsi"), FeatureConfig::new("close_ratio")];
        let table = FeatureTable::build(&c, &features).expect("table");
        let target = &targets()[target];
        let window = WindowConfig { input_bars, ..WindowConfig::default() };
        let Ok(d) = Dataset::build(&c, &table, &window, target, &SplitConfig::default()) else {
            return Ok(());
        };
        let h = target.horizon_bars();
        let ys = target_columns(&c, target);
        for s in 0..d.len() {
            let t = d.decision_row[s];
            // Inputs: rows t+1-w ..= t; the target reads t+1 ..= t+h, all within the data.
            prop_assert!(t + h < c.len());
            prop_assert!(ys.iter().all(|y| y[t].is_finite()));
        }
        // Training samples' targets end before any validation or test window starts.
        let last_train_target = d.decision_row[..d.train.end].iter().max().expect("train") + h;
        let first_later_input = d.decision_row[d.train.end..].iter().min().expect("later") + 1 - input_bars;
        prop_assert!(last_train_target < first_later_input);
    }
}

/// Candles of the shared hourly sets (ETH base, BTC pair) up to `end_ms`.
fn hourly(end_ms: Option<i64>) -> Option<(Candles, BTreeMap<String, Candles>)> {
    let dir = "freqtrade/nfi_2020-12_2021-07/binance";
    let eth = common::candles(&format!("{dir}/ETH_USDT-1h.json"))?;
    let btc = common::candles(&format!("{dir}/BTC_USDT-1h.json"))?;
    let pairs = BTreeMap::from([("BTC/USDT".to_owned(), btc.between(None, end_ms))]);
    Some((eth.between(None, end_ms), pairs))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn pairs_and_timeframes_join_causally(cut in 1000usize..4000, more in 1usize..300) {
        let Some((eth, _)) = hourly(None) else { return Ok(()) };
        prop_assume!(cut + more < eth.len());
        let features = [
            FeatureConfig::new("rsi").with_text("timeframe", "4h"),
            FeatureConfig::new("macd").with_text("timeframe", "1d"),
            FeatureConfig::new("rsi").with_text("pair", "BTC/USDT"),
            FeatureConfig::new("sma").with_text("pair", "BTC/USDT").with_text("timeframe", "4h")
                .with("period", 5.0).with("shifts", 2.0),
            FeatureConfig::new("raw").with_text("pair", "BTC/USDT").with_text("input", "close"),
        ];
        let at = |i: usize| Some(eth.timestamp_ms[i]);
        let (short_eth, short_pairs) = hourly(at(cut)).expect("data");
        let (long_eth, long_pairs) = hourly(at(cut + more)).expect("data");
        let short = FeatureTable::build_with(&short_eth, &short_pairs, &features).expect("short");
        let long = FeatureTable::build_with(&long_eth, &long_pairs, &features).expect("long");
        for ((name, a), (_, b)) in short.columns.iter().zip(&long.columns) {
            for i in 0..a.len() {
                prop_assert!(same(a[i], b[i]), "{name} row {i}: {} became {}", a[i], b[i]);
            }
        }
    }
}

#[test]
fn a_4h_candle_is_seen_once_it_closes() {
    let Some((eth, _)) = hourly(None) else { return };
    let f = [FeatureConfig::new("raw").with_text("timeframe", "4h").named("close_4h")];
    let table = FeatureTable::build(&eth, &f).expect("table");
    let col = table.column("close_4h").expect("column");
    let four = eth.resample(quantsweep_ingest::Timeframe(4 * 3_600_000)).expect("4h");
    for (i, &t) in eth.timestamp_ms.iter().enumerate().take(500) {
        // The 1h candle opening at t closes at t + 1h; the last 4h candle closed by then.
        let closed = four.timestamp_ms.iter().rposition(|&s| s + 4 * 3_600_000 <= t + 3_600_000);
        match closed {
            Some(j) => assert_eq!(col[i], four.close[j], "row {i}"),
            None => assert!(col[i].is_nan(), "row {i}"),
        }
    }
    // On the 1h candle opening at 03:00 the 00:00-04:00 candle has closed: it equals that
    // hour's close.
    let i =
        eth.timestamp_ms.iter().position(|t| t % (4 * 3_600_000) == 3 * 3_600_000).expect("03:00");
    assert_eq!(col[i], eth.close[i]);
}

#[test]
fn every_kind_computes_and_names_its_outputs() {
    let c = candles();
    let features = features();
    let table = FeatureTable::build(&c, &features).expect("all kinds");
    let names: usize = features.iter().map(|f| f.output_names().len()).sum();
    assert_eq!(table.columns.len(), names);
    assert!(table.columns.iter().all(|(_, v)| v.len() == c.len()));
}

#[test]
fn bad_feature_entries_name_the_entry() {
    let c = slice(&candles(), 0, 50);
    let err = |f: FeatureConfig| {
        FeatureTable::build(&c, &[FeatureConfig::new("close_ratio"), f])
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        err(FeatureConfig::new("bbands").with("peroid", 20.0)),
        "features[1].peroid: `bbands` takes no parameter `peroid` (did you mean `period`?); \
         it takes: period, nbdevup, nbdevdn, matype, input, variant, shifts, timeframe, pair"
    );
    assert!(
        err(FeatureConfig::new("macdd")).contains("unknown kind `macdd` (did you mean `macd`?)")
    );
    assert!(err(FeatureConfig::new("sma").with("period", 100.0)).contains("needs more bars"));
    assert!(err(FeatureConfig::new("rsi").with("period", 0.0)).contains("whole number of bars"));
    assert!(err(FeatureConfig::new("ppo").with_text("matype", "hull")).contains("must be one of"));
    let expr = |text: &str| FeatureConfig::new("expr").named("e").with_text("expr", text);
    assert_eq!(
        err(expr("close / (clse - 1)")),
        "features[1].expr: no column `clse` (did you mean `close`?) among the candle columns and \
         the earlier features' outputs: open, high, low, close, volume, typical, close_ratio"
    );
    assert_eq!(
        err(expr("close / (open - 1")),
        "features[1].expr: the `(` at character 9 is not closed in `close / (open - 1`"
    );
    assert!(err(FeatureConfig::new("expr").with_text("expr", "close")).contains("needs a `name`"));
    assert!(err(FeatureConfig::new("expr").named("e")).contains("expr: is required"));
    assert!(
        err(FeatureConfig::new("ta_all").with_text("original", "yes"))
            .contains("original: must be true or false, got `yes`")
    );
    let mut no_volume = c.clone();
    no_volume.volume = vec![f64::NAN; c.len()];
    let e = FeatureTable::build(&no_volume, &[FeatureConfig::new("obv")]).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "features[0].kind: `obv` needs volume, and the data has none (or has missing values)"
    );
}
