//! The odds that a sweep's best trial is luck: the deflated Sharpe ratio of the best trial and
//! the probability of backtest overfitting over all complete trials, from their test-span
//! equity curves, for `summary.json` (docs/metrics.md).

use std::collections::BTreeSet;

use quantsweep_core::{TrialRecord, TrialStatus};
use quantsweep_evaluate::{deflated_sharpe, probability_of_overfitting, sharpe};
use quantsweep_sweep::{MetricConfig, best_trial};
use serde_json::{Map, Value, json};

/// `deflated_sharpe` and `pbo` entries: the numbers, or `{"skipped": why}`.
pub fn sweep_statistics(records: &[TrialRecord], metric: &MetricConfig) -> Map<String, Value> {
    let mut out = Map::new();
    let complete: Vec<&TrialRecord> = records
        .iter()
        .filter(|r| r.status == TrialStatus::Complete && r.equity.len() >= 3)
        .collect();
    let skipped = |why: &str| json!({ "skipped": why });
    if complete.len() < 2 {
        let why = "needs at least 2 complete trials with equity curves";
        out.insert("deflated_sharpe".into(), skipped(why));
        out.insert("pbo".into(), skipped(why));
        return out;
    }
    // The bars every trial traded (trials whose parameters change the data span differ).
    let mut common: BTreeSet<i64> = complete[0].equity.iter().map(|p| p.timestamp_ms).collect();
    for r in &complete[1..] {
        let mine: BTreeSet<i64> = r.equity.iter().map(|p| p.timestamp_ms).collect();
        common = common.intersection(&mine).copied().collect();
    }
    let returns: Vec<Vec<f64>> = complete
        .iter()
        .map(|r| {
            let values: Vec<f64> = r
                .equity
                .iter()
                .filter(|p| common.contains(&p.timestamp_ms))
                .map(|p| p.equity)
                .collect();
            values.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
        })
        .collect();
    let periods = returns[0].len();
    let distinct = returns.iter().any(|r| r != &returns[0]);
    let sharpes: Vec<f64> = returns.iter().map(|r| sharpe(r)).collect();
    let best = best_trial(&complete, metric)
        .and_then(|b| complete.iter().position(|r| r.spec.id == b.spec.id));
    out.insert(
        "deflated_sharpe".into(),
        match best.and_then(|i| deflated_sharpe(&returns[i], &sharpes).map(|d| (i, d))) {
            Some((i, d)) => {
                let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
                if let Some(o) = v.as_object_mut() {
                    o.insert("trial_id".into(), json!(complete[i].spec.id.0));
                }
                v
            }
            None => skipped("no best trial with a non-constant equity curve"),
        },
    );
    // 16 blocks as the paper's examples, fewer for short test spans (at least 4 bars each).
    let blocks = (periods / 4).min(16) & !1;
    out.insert(
        "pbo".into(),
        match probability_of_overfitting(&returns, blocks) {
            _ if !distinct => skipped("every trial traded the same returns: nothing was selected"),
            Some(p) => serde_json::to_value(p).unwrap_or(Value::Null),
            None => skipped(&format!("{periods} common periods are too few to split")),
        },
    );
    out
}
