//! Golden test for `kind: ta_all` against the Python `ta` package 0.11 (the Keras Binance
//! seed's `add_all_ta_features(..., fillna=True)`), on real candles: the first 10,000 ETH/USDT
//! 15-minute bars of 2023 (freqtrade data, with five flat zero-volume bars at rows 7918–7922).
//!
//! With `original: true` all 86 columns equal `ta`'s, look-ahead included. The causal default
//! equals `ta` on every column its three look-ahead steps do not touch, and on the touched ones
//! after their first rows.

mod common;

use common::{candles, compare, reference};
use quantsweep_features::ta_all::COLUMNS;
use quantsweep_features::{FeatureConfig, FeatureTable};

const FILE: &str = "freqtrade/daisybum_2023/binance/ETH_USDT-15m.feather";

const PRELUDE: &str = r#"
import warnings
warnings.simplefilter("ignore")
from ta import add_all_ta_features
def ta_all(df):
    d = df[["open", "high", "low", "close", "volume"]].copy()
    return add_all_ta_features(d, "open", "high", "low", "close", "volume", fillna=True).iloc[:, 5:]
"#;

/// Columns the causal default changes, and from which row on it equals `ta` again (KAMA's
/// wrap-around fades: from row 400 its values agree within 1e-9).
const TOUCHED: [(&str, usize); 10] = [
    ("trend_vortex_ind_pos", 14),
    ("trend_vortex_ind_neg", 14),
    ("trend_vortex_ind_diff", 14),
    ("trend_trix", 1),
    ("trend_dpo", 11),
    ("trend_kst", 45),
    ("trend_kst_sig", 53),
    ("trend_kst_diff", 53),
    ("trend_visual_ichimoku_a", 26),
    ("momentum_kama", 400),
];

#[test]
fn ta_all_equals_the_ta_package() {
    let Some(all) = candles(FILE) else { return };
    let c = all.select(&(0..10_000).collect::<Vec<_>>());
    let Some(want) = reference(&c, PRELUDE, &[("ta", "ta_all(df)")]) else { return };
    let want = &want["ta"];
    assert_eq!(want.len(), COLUMNS.len(), "ta's column count");

    let exact = FeatureConfig::new("ta_all").named("ta").with_flag("original", true);
    let causal = FeatureConfig::new("ta_all").named("causal");
    let table = FeatureTable::build(&c, &[exact, causal]).expect("ta_all");
    assert_eq!(table.leaky_features, ["ta"], "original reads the future");
    let mut problems = Vec::new();
    for (k, name) in COLUMNS.iter().enumerate() {
        // Values near zero are compared against a millionth of the column's typical size.
        let typical = want[k].iter().map(|v| v.abs()).filter(|v| v.is_finite()).sum::<f64>()
            / want[k].len() as f64;
        let got = table.column(&format!("ta.{name}")).expect("column");
        problems.extend(compare(name, got, &want[k], 1e-9, |_| typical * 1e-6));

        let causal = table.column(&format!("causal.{name}")).expect("column");
        let from = TOUCHED.iter().find(|(n, _)| n == name).map_or(0, |(_, r)| *r);
        if from > 0 {
            // The look-ahead is really gone: the first rows are not `ta`'s.
            assert!(
                compare(name, &causal[..from], &want[k][..from], 1e-9, |_| typical * 1e-6)
                    .is_some(),
                "causal {name} equals ta's look-ahead values"
            );
        }
        let nan_rows = causal.iter().take_while(|v| v.is_nan()).count();
        problems.extend(compare(
            &format!("causal {name}"),
            &causal[from.max(nan_rows)..],
            &want[k][from.max(nan_rows)..],
            1e-9,
            |_| typical * 1e-6,
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
