//! Causality, proven on real data: for random prefixes of the bundled ETH/USDT daily candles,
//! appending future candles never changes any earlier row of any feature kind (every kind
//! `features:` accepts, with its defaults and with other parameters).

use proptest::prelude::*;
use quantsweep_features::{FeatureConfig, FeatureTable};
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
    let mut all: Vec<FeatureConfig> =
        FeatureConfig::kinds().into_iter().map(FeatureConfig::new).collect();
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
    all
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
    }
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
         it takes: period, nbdevup, nbdevdn, matype, input"
    );
    assert!(
        err(FeatureConfig::new("macdd")).contains("unknown kind `macdd` (did you mean `macd`?)")
    );
    assert!(err(FeatureConfig::new("sma").with("period", 100.0)).contains("needs more bars"));
    assert!(err(FeatureConfig::new("rsi").with("period", 0.0)).contains("whole number of bars"));
    assert!(err(FeatureConfig::new("ppo").with_text("matype", "hull")).contains("must be one of"));
    let mut no_volume = c.clone();
    no_volume.volume = vec![f64::NAN; c.len()];
    let e = FeatureTable::build(&no_volume, &[FeatureConfig::new("obv")]).expect_err("refused");
    assert_eq!(
        e.to_string(),
        "features[0].kind: `obv` needs volume, and the data has none (or has missing values)"
    );
}
