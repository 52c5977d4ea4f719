//! Universes on real candles (the bundled hourly BTC, ETH and SOL of 2024): cross-sectional
//! labels and pooled datasets are causal — appending future candles to any asset changes no
//! label once known and no earlier fold — and no training target reads a bar that any asset's
//! later windows read.

use proptest::prelude::*;
use quantsweep_features::targets::{cross_sectional, target_columns};
use quantsweep_features::{
    Asset, CrossSection, Dataset, FeatureConfig, FeatureTable, Purge, Scale, ScaleBy, SplitConfig,
    SplitKind, TargetConfig, WindowConfig, universe_folds,
};
use quantsweep_ingest::{Candles, LoadOptions, load};

const PAIRS: [&str; 3] = ["BTC_USDT", "ETH_USDT", "SOL_USDT"];

fn candles() -> Vec<Candles> {
    PAIRS
        .iter()
        .map(|p| {
            let path = format!(
                "{}/../../datasets/binance-2024/{p}-1h.feather",
                env!("CARGO_MANIFEST_DIR")
            );
            load(&path, &LoadOptions::default()).expect("bundled data").0
        })
        .collect()
}

/// The first `n` candles.
fn head(c: &Candles, n: usize) -> Candles {
    let end = c.timestamp_ms.get(n).copied();
    c.between(None, end)
}

fn cross(above: bool) -> TargetConfig {
    if above {
        TargetConfig::CrossSectional { horizon_bars: 3, above: CrossSection::Median }
    } else {
        TargetConfig::CrossSectionalRank { horizon_bars: 3 }
    }
}

fn labels(assets: &[Candles], target: &TargetConfig) -> Vec<Vec<f64>> {
    let times: Vec<&[i64]> = assets.iter().map(|c| &c.timestamp_ms[..]).collect();
    let forward: Vec<Vec<f64>> =
        assets.iter().map(|c| target_columns(c, target).swap_remove(0)).collect();
    cross_sectional(&times, &forward, target)
}

fn folds(assets: &[Candles], tables: &[FeatureTable], scale_by: ScaleBy) -> Vec<Dataset> {
    folds_purged(assets, tables, scale_by, Purge::Window)
}

fn folds_purged(
    assets: &[Candles],
    tables: &[FeatureTable],
    scale_by: ScaleBy,
    purge: Purge,
) -> Vec<Dataset> {
    let names = ["BTC", "ETH", "SOL"];
    let universe: Vec<Asset> = assets
        .iter()
        .zip(tables)
        .zip(names)
        .map(|((candles, table), name)| Asset { name, candles, table })
        .collect();
    let window =
        WindowConfig { input_bars: 8, scale: Scale::Standard, scale_by, ..Default::default() };
    let split = SplitConfig {
        kind: SplitKind::WalkForward,
        train_bars: Some(300),
        test_bars: Some(100),
        val: 0.2,
        purge,
        ..SplitConfig::default()
    };
    universe_folds(&universe, &window, &cross(true), &split)
        .expect("folds")
        .into_iter()
        .map(|f| f.dataset)
        .collect()
}

fn tables(assets: &[Candles]) -> Vec<FeatureTable> {
    let features = [FeatureConfig::new("log_return"), FeatureConfig::new("rsi")];
    assets.iter().map(|c| FeatureTable::build(c, &features).expect("features")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, failure_persistence: None, ..ProptestConfig::default() })]

    /// The data up to a time, then with each asset's own number of later candles appended:
    /// every label the shorter data knows is the longer data's label.
    #[test]
    fn cross_sectional_labels_never_change_once_known(
        cut in 50usize..600,
        more in proptest::collection::vec(0usize..50, 3),
        above in any::<bool>(),
    ) {
        let all = candles();
        let end = all[0].timestamp_ms[cut];
        let short: Vec<Candles> = all.iter().map(|c| c.between(None, Some(end))).collect();
        let long: Vec<Candles> = all.iter().zip(&more).map(|(c, m)| head(c, c.timestamp_ms.partition_point(|t| *t < end) + m)).collect();
        let target = cross(above);
        let (a, b) = (labels(&short, &target), labels(&long, &target));
        let mut known = 0;
        for (col_a, col_b) in a.iter().zip(&b) {
            for (i, (x, y)) in col_a.iter().zip(col_b).enumerate() {
                if x.is_finite() {
                    known += 1;
                    prop_assert!(x == y, "row {i}: {x} became {y}");
                }
            }
        }
        prop_assert!(known > 0);
    }

    /// The data up to a time, then with each asset's own number of later candles appended:
    /// no fold whose test span ends before the cut changes.
    #[test]
    fn appending_candles_to_any_asset_changes_no_earlier_fold(
        more in proptest::collection::vec(0usize..300, 3),
        universe_scaler in any::<bool>(),
    ) {
        let all = candles();
        let end = all[0].timestamp_ms[900];
        let base: Vec<Candles> = all.iter().map(|c| c.between(None, Some(end))).collect();
        let longer: Vec<Candles> = all.iter().zip(&more).map(|(c, m)| head(c, c.timestamp_ms.partition_point(|t| *t < end) + m)).collect();
        let scale_by = if universe_scaler { ScaleBy::Universe } else { ScaleBy::Asset };
        let (a, b) = (folds(&base, &tables(&base), scale_by), folds(&longer, &tables(&longer), scale_by));
        // The last full fold may still gain samples whose labels the appended bars make known.
        let complete = a.iter().filter(|d| d.test.len() == 300).count().max(1) - 1;
        prop_assert!(complete >= 3);
        for k in 0..complete {
            let (a, b) = (&a[k], &b[k]);
            // Everything a model and a backtest read (not `skipped`, a count over all the data).
            prop_assert!(a.x == b.x && a.y == b.y, "fold {k}: samples changed");
            prop_assert!(a.decision_row == b.decision_row && a.asset == b.asset, "fold {k}");
            prop_assert!(a.train == b.train && a.val == b.val && a.test == b.test, "fold {k}");
            prop_assert!(a.scaler == b.scaler, "fold {k}: scaler");
        }
    }
}

/// Every fold: each sample's window and target lie in its asset's data, no training or
/// validation target reads a bar that the next span's windows (of any asset) read, and the
/// test span holds every asset.
#[test]
fn no_training_target_reads_a_bar_a_later_window_reads() {
    let all: Vec<Candles> = candles().iter().map(|c| head(c, 1500)).collect();
    let folds = folds(&all, &tables(&all), ScaleBy::Asset);
    check_purged(&all, &folds, 1 - 8);
    // `split.purge: horizon`: no training target reads a later span's decision bar or later;
    // the spans lose fewer samples to the gap.
    let horizon = folds_purged(&all, &tables(&all), ScaleBy::Asset, Purge::Horizon);
    check_purged(&all, &horizon, 0);
    assert!(horizon[0].train.len() > folds[0].train.len());
}

/// Every fold of `folds`: each training or validation target ends before the bar `offset`
/// from the next span's earliest decision (the first bar its windows read, or the decision).
fn check_purged(all: &[Candles], folds: &[Dataset], offset: isize) {
    assert!(folds.len() >= 8, "{} folds", folds.len());
    let h = 3;
    let time = |d: &Dataset, s: usize, offset: isize| {
        let c = &all[d.asset[s] as usize];
        c.timestamp_ms[(d.decision_row[s] as isize + offset) as usize]
    };
    for (k, d) in folds.iter().enumerate() {
        assert_eq!(d.asset.len(), d.len());
        let spans = [d.train.clone(), d.val.clone(), d.test.clone()];
        for pair in spans.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            if before.is_empty() || after.is_empty() {
                continue;
            }
            let last_target = before.clone().map(|s| time(d, s, h)).max().expect("samples");
            let first_input = after.clone().map(|s| time(d, s, offset)).min().expect("samples");
            assert!(last_target < first_input, "fold {k}: a target reads a later window's bar");
        }
        let mut test_assets: Vec<u32> = d.asset[d.test.clone()].to_vec();
        test_assets.dedup();
        assert_eq!(test_assets, vec![0, 1, 2], "fold {k}");
        // Labels are the universe's: at a test time, about half the assets are above.
        assert!(d.y.iter().all(|y| *y == 0.0 || *y == 1.0));
    }
}

/// The pooled scaler is the mean and standard deviation of the rows the training windows
/// read, over all assets, and nothing else.
#[test]
fn the_pooled_scaler_reads_the_training_windows_only() {
    let all: Vec<Candles> = candles().iter().map(|c| head(c, 1200)).collect();
    let t = tables(&all);
    for d in folds(&all, &t, ScaleBy::Universe) {
        let w = d.input_bars;
        for (k, name) in d.input_names.iter().enumerate() {
            let mut rows = std::collections::BTreeSet::new();
            for s in d.train.clone() {
                for r in d.decision_row[s] + 1 - w..=d.decision_row[s] {
                    rows.insert((d.asset[s] as usize, r));
                }
            }
            let v: Vec<f64> =
                rows.iter().map(|&(a, r)| t[a].column(name).expect("input")[r]).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            let (m, sd) = d.scaler[k];
            assert!((m - mean).abs() < 1e-9 * mean.abs().max(1.0), "{name}: mean {m} vs {mean}");
            assert!((sd - std).abs() < 1e-7 * std, "{name}: std {sd} vs {std}");
        }
    }
}

/// Bad universes are refused naming the key.
#[test]
fn a_universe_needs_two_assets_and_a_time_split() {
    let all = candles();
    let t = tables(&all[..1]);
    let one = [Asset { name: "BTC", candles: &all[0], table: &t[0] }];
    let e = universe_folds(&one, &WindowConfig::default(), &cross(true), &SplitConfig::default())
        .expect_err("one asset");
    assert!(
        e.to_string().starts_with("data.universe: a universe needs at least two assets"),
        "{e}"
    );
    let t = tables(&all);
    let two: Vec<Asset> =
        (0..2).map(|i| Asset { name: "X", candles: &all[i], table: &t[i] }).collect();
    let shuffled = SplitConfig { kind: SplitKind::Shuffled, ..SplitConfig::default() };
    let e = universe_folds(&two, &WindowConfig::default(), &cross(true), &shuffled)
        .expect_err("shuffled");
    assert!(e.to_string().starts_with("split.kind: a universe splits by time"), "{e}");
    // Chronological: one fold; every asset in each span.
    let d = universe_folds(&two, &WindowConfig::default(), &cross(false), &SplitConfig::default())
        .expect("chronological")
        .swap_remove(0)
        .dataset;
    for span in [d.train.clone(), d.val.clone(), d.test.clone()] {
        let mut a = d.asset[span].to_vec();
        a.dedup();
        assert_eq!(a, vec![0, 1]);
    }
    assert!(d.y.iter().all(|y| (0.0..=1.0).contains(y)));
}
