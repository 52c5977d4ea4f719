//! The terminal report: counts, the odds that the best trial is luck, the top trials.

use serde_json::Value;

use crate::{Sweep, number};

/// Metrics shown next to the ranking metric when the trials have them, in this order.
const SHOWN: [&str; 6] =
    ["total_return", "max_drawdown", "buy_hold_return", "accuracy", "val_loss", "trades"];

/// One line: the deflated Sharpe ratio of the best trial and the probability of backtest
/// overfitting from `summary` (`summary.json`), with what they mean, or why they are missing.
pub fn luck_line(summary: &Value) -> String {
    let field = |key: &str, name: &str| summary.get(key).and_then(|v| v.get(name)).cloned();
    let skipped = |key: &str| {
        field(key, "skipped").and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
    };
    let dsr = match field("deflated_sharpe", "probability").and_then(|v| v.as_f64()) {
        Some(p) => format!(
            "deflated Sharpe ratio of the best trial {p:.2} (the chance its edge is not luck among {} trials)",
            field("deflated_sharpe", "trials").unwrap_or(Value::Null)
        ),
        None => format!("deflated Sharpe ratio: {}", skipped("deflated_sharpe")),
    };
    let pbo = match field("pbo", "probability").and_then(|v| v.as_f64()) {
        Some(p) => format!("probability of backtest overfitting {p:.2}"),
        None => format!("probability of backtest overfitting: {}", skipped("pbo")),
    };
    format!("{dsr}; {pbo} (summary.json)")
}

/// The best complete trials as rows of text: rank, trial, the ranking metric, the main
/// metrics the trials have, the parameters and the seed.
pub(crate) struct Top {
    pub metric: String,
    pub maximize: bool,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Complete trials with the metric.
    pub complete: usize,
    /// Some shown trial trained on a leaky split (its id is starred).
    pub leaky: bool,
}

/// The `n` best complete trials by the sweep's metric (from `summary.json`; without it the
/// first metric column, higher is better); None before any trial has metrics.
pub(crate) fn top(sweep: &Sweep, n: usize) -> Option<Top> {
    let (metric, maximize) = sweep.ranking().or_else(|| {
        sweep.trials.iter().flat_map(|t| t.metrics.keys()).next().map(|m| (m.clone(), true))
    })?;
    let ranked = sweep.ranked(&metric, maximize);
    let shown: Vec<&str> = SHOWN
        .iter()
        .copied()
        .filter(|m| *m != metric && ranked.iter().any(|t| t.metrics.contains_key(*m)))
        .collect();
    let mut header: Vec<String> = vec!["rank".into(), "trial".into(), metric.clone()];
    header.extend(shown.iter().map(|m| (*m).to_owned()));
    header.extend(sweep.params.iter().cloned());
    header.push("seed".into());
    // A metric whose every value is a whole number (trades, confusion counts) prints as one.
    let whole: std::collections::BTreeSet<&str> = std::iter::once(metric.as_str())
        .chain(shown.iter().copied())
        .filter(|m| {
            ranked
                .iter()
                .filter_map(|t| t.metrics.get(*m))
                .all(|v| v.fract() == 0.0 && v.abs() < 1e15)
        })
        .collect();
    let rows = ranked
        .iter()
        .take(n)
        .enumerate()
        .map(|(rank, t)| {
            let get = |m: &str| {
                t.metrics.get(m).map_or("-".into(), |v| {
                    if whole.contains(m) { format!("{v:.0}") } else { number(*v) }
                })
            };
            let mut row = vec![
                (rank + 1).to_string(),
                format!("{}{}", t.id, if t.leaky { "*" } else { "" }),
                get(&metric),
            ];
            row.extend(shown.iter().map(|m| get(m)));
            row.extend(t.params.iter().map(ToString::to_string));
            row.push(t.seed.to_string());
            row
        })
        .collect();
    let leaky = ranked.iter().take(n).any(|t| t.leaky);
    Some(Top { metric, maximize, header, rows, complete: ranked.len(), leaky })
}

/// Said under a table with a starred trial.
pub(crate) const LEAKY_NOTE: &str =
    "* trained on a split that leaks the future (the seed's own quirk): its numbers are inflated";

/// The first line of each failed trial's reason, at most `n` of them.
pub(crate) fn failures(sweep: &Sweep, n: usize) -> Vec<(i64, &str)> {
    sweep
        .trials
        .iter()
        .filter(|t| t.status == "failed")
        .take(n)
        .map(|t| {
            let reason = t.error.as_deref().unwrap_or("no reason recorded");
            (t.id, reason.lines().next().unwrap_or_default())
        })
        .collect()
}

/// The report for a terminal: what ran, the odds that the best is luck, and the `n` best
/// complete trials by the sweep's metric with their parameters and main metrics; failed
/// trials' reasons last.
pub fn table(sweep: &Sweep, n: usize) -> String {
    let mut out = String::new();
    let counts: Vec<String> = sweep.counts().iter().map(|(k, v)| format!("{v} {k}")).collect();
    out += &format!("{} trials: {}\n", sweep.trials.len(), counts.join(", "));
    if let Some(summary) = &sweep.summary {
        out += &luck_line(summary);
        out.push('\n');
    }
    match top(sweep, n) {
        None => out += "no trial has metrics yet\n",
        Some(top) => {
            out += &format!(
                "top {} of {} complete trials by {} ({}):\n",
                top.rows.len(),
                top.complete,
                top.metric,
                if top.maximize { "higher is better" } else { "lower is better" }
            );
            let widths: Vec<usize> = (0..top.header.len())
                .map(|c| {
                    top.rows
                        .iter()
                        .map(|r| r[c].chars().count())
                        .chain([top.header[c].chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            for row in std::iter::once(&top.header).chain(&top.rows) {
                let cells: Vec<String> =
                    row.iter().zip(&widths).map(|(c, w)| format!("{c:>w$}")).collect();
                out += cells.join("  ").trim_end();
                out.push('\n');
            }
            if top.leaky {
                out += LEAKY_NOTE;
                out.push('\n');
            }
        }
    }
    for (id, reason) in failures(sweep, 5) {
        out += &format!("trial {id} failed: {reason}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn luck_line_says_why_a_number_is_missing() {
        let line = luck_line(&json!({
            "deflated_sharpe": {"probability": 0.912, "trials": 24},
            "pbo": {"skipped": "12 common periods are too few to split"}
        }));
        assert_eq!(
            line,
            "deflated Sharpe ratio of the best trial 0.91 (the chance its edge is not luck among 24 trials); \
             probability of backtest overfitting: 12 common periods are too few to split (summary.json)"
        );
    }
}
