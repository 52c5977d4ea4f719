//! The HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing fetched).

use serde_json::Value;

use crate::text::{LEAKY_NOTE, failures, top};
use crate::{Sweep, plots};

/// How many of the best trials the equity and learning-curve plots show.
const PLOTTED: usize = 5;

const STYLE: &str = "body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}\
h1{margin-bottom:.2em}.meta{color:#555;margin-top:0}\
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{flex:1;min-width:280px;border:1px solid #ccc;border-radius:6px;padding:.8em 1em}\
.big{font-size:2em;font-weight:bold}.card p{margin:.3em 0;color:#444;font-size:.92em}\
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}th,td{padding:.25em .6em;text-align:right;border-bottom:1px solid #ddd}\
th{background:#f3f3f3}.grid{display:flex;flex-wrap:wrap;gap:.5em}.grid svg,.wide svg{max-width:100%;height:auto}\
.note{color:#555;font-size:.9em}.scroll{overflow-x:auto}.failed td{text-align:left}";

/// Escapes text for HTML.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn percent(fraction: f64) -> String {
    format!("{:+.1}%", 100.0 * fraction)
}

/// A plot, or a note saying why it could not be drawn.
fn figure(drawn: Option<Result<String, String>>, missing: &str) -> String {
    match drawn {
        Some(Ok(svg)) => svg,
        Some(Err(e)) => format!("<p class=note>(plot failed: {})</p>", escape(&e)),
        None => format!("<p class=note>({})</p>", escape(missing)),
    }
}

/// One card: the number big, what it means under it.
fn card(summary: Option<&Value>, key: &str, title: &str, meaning: &str) -> String {
    let entry = summary.and_then(|s| s.get(key));
    let (big, detail) = match entry.and_then(|e| e.get("probability")).and_then(Value::as_f64) {
        Some(p) => {
            let n = entry.and_then(|e| e.get("trials")).cloned().unwrap_or(Value::Null);
            (format!("{p:.2}"), format!("over {n} trials"))
        }
        None => {
            let why = entry
                .and_then(|e| e.get("skipped"))
                .and_then(Value::as_str)
                .unwrap_or("not in summary.json");
            ("n/a".to_owned(), escape(why))
        }
    };
    format!(
        "<div class=card><div>{title}</div><div class=big>{big}</div><p>{detail}</p><p>{meaning}</p></div>"
    )
}

/// The whole report as one HTML document titled `title` (the pipeline's name), listing the
/// `listed` best trials (`report --top`).
pub fn html(sweep: &Sweep, title: &str, listed: usize) -> String {
    let title = escape(title);
    let counts: Vec<String> = sweep.counts().iter().map(|(k, v)| format!("{v} {k}")).collect();
    let best = top(sweep, listed);
    let mut page = format!(
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>quantsweep report: {title}</title>\
         <style>{STYLE}</style></head><body>\n<h1>{title}</h1>\n<p class=meta>{} trials: {}{}. Written by quantsweep {}.</p>\n",
        sweep.trials.len(),
        counts.join(", "),
        best.as_ref().map_or(String::new(), |b| format!(
            "; ranked by {} ({})",
            escape(&b.metric),
            if b.maximize { "higher is better" } else { "lower is better" }
        )),
        env!("CARGO_PKG_VERSION"),
    );

    let summary = sweep.summary.as_ref();
    page += "<h2>Is the best trial luck?</h2>\n<div class=cards>";
    page += &card(
        summary,
        "deflated_sharpe",
        "Deflated Sharpe ratio of the best trial",
        "The probability that its Sharpe ratio beats what the best of this many unskilled \
         trials would show (Bailey &amp; López de Prado, 2014). Near 1: unlikely to be luck; \
         0.5 or less: indistinguishable from luck.",
    );
    page += &card(
        summary,
        "pbo",
        "Probability of backtest overfitting",
        "How often the trial best on half of the test span ranks in the bottom half on the \
         other half, over every such split (CSCV; Bailey, Borwein, López de Prado &amp; Zhu, \
         2015). Near 0: the ranking carries over; 0.5: a coin flip.",
    );
    page += "</div>\n";

    let Some(best) = best else {
        page += "<p>No trial has metrics yet.</p>";
        page += &failed_table(sweep);
        page += "</body></html>\n";
        return page;
    };
    page += &format!(
        "<h2>Top trials</h2>\n<p class=note>The {} best of {} complete trials.</p>\n<div class=scroll><table><tr>",
        best.rows.len(),
        best.complete
    );
    for h in &best.header {
        page += &format!("<th>{}</th>", escape(h));
    }
    page += "</tr>\n";
    for row in &best.rows {
        page += "<tr>";
        for c in row {
            page += &format!("<td>{}</td>", escape(c));
        }
        page += "</tr>\n";
    }
    page += "</table></div>\n";
    if best.leaky {
        page += &format!("<p class=note>{}</p>\n", escape(LEAKY_NOTE));
    }

    let ranked = sweep.ranked(&best.metric, best.maximize);
    let plotted: Vec<&crate::Trial> = ranked.iter().take(PLOTTED).copied().collect();
    page += "<h2>Equity</h2>\n<div class=wide>";
    page += &figure(
        plots::equity(sweep, &plotted),
        "no equity curves: equity.parquet is missing or empty",
    );
    page += "</div>\n";
    if let Some(hold) = ranked.first().and_then(|t| t.metrics.get("buy_hold_return")) {
        page += &format!(
            "<p class=note>Buy-and-hold over the same bars returned {}; the best trial {}.</p>\n",
            percent(*hold),
            ranked[0].metrics.get("total_return").map_or("-".into(), |r| percent(*r))
        );
    }

    page += &format!("<h2>Parameters against {}</h2>\n<div class=grid>", escape(&best.metric));
    for p in 0..sweep.params.len() {
        page += &figure(plots::parameter(sweep, p, &best.metric, &ranked), "no values");
    }
    if sweep.params.is_empty() {
        page += "<p class=note>(the sweep has no swept parameters)</p>";
    }
    page += "</div>\n";

    page += &format!("<h2>Distribution of {}</h2>\n<div class=grid>", escape(&best.metric));
    page += &figure(plots::distribution(&best.metric, &ranked), "no complete trials");
    page += "</div>\n";

    let histograms: Vec<_> =
        plotted.iter().filter_map(|t| plots::class_histogram(sweep, t)).collect();
    if !histograms.is_empty() {
        page += "<h2>Predictions by true class</h2>\n<p class=note>The best trials' predicted \
                 probability of up on the test span, for samples that went up (green) and down \
                 (red). Overlapping histograms: the model cannot tell them apart.</p>\n<div class=grid>";
        for h in histograms {
            page += &figure(Some(h), "");
        }
        page += "</div>\n";
    }

    page += "<h2>Learning curves</h2>\n<div class=wide>";
    page += &figure(
        plots::learning_curves(sweep, &plotted),
        "no epochs: epochs.parquet is missing or empty",
    );
    page += "</div>\n";
    page += &failed_table(sweep);
    page += "</body></html>\n";
    page
}

fn failed_table(sweep: &Sweep) -> String {
    let failed = failures(sweep, 50);
    if failed.is_empty() {
        return String::new();
    }
    let mut out =
        "<h2>Failed trials</h2>\n<table class=failed><tr><th>trial</th><th>reason</th></tr>\n"
            .to_owned();
    for (id, reason) in failed {
        out += &format!("<tr><td>{id}</td><td>{}</td></tr>\n", escape(reason));
    }
    out + "</table>\n"
}

#[cfg(test)]
mod tests {
    use quantsweep_core::{
        EpochMetrics, EquityPoint, ParamValue, Params, Prediction, TrialError, TrialId,
        TrialRecord, TrialResult, TrialSpec,
    };
    use quantsweep_sweep::{Goal, MetricConfig, Output, write_tables};

    use crate::TableBytes;
    use serde_json::json;

    use super::*;

    /// A trial with `sharpe`, a learning curve and an equity curve that ends at `end`.
    fn trial(id: u64, lr: f64, optimizer: &str, sharpe: f64, end: f64) -> TrialRecord {
        let mut params = Params::new();
        params.insert("train.lr".into(), ParamValue::Float(lr));
        params.insert("train.optimizer".into(), ParamValue::Str(optimizer.into()));
        let spec = TrialSpec { id: TrialId(id), params, seed: 7 };
        let mut r = TrialResult { device: "cpu".into(), ..TrialResult::default() };
        r.metrics.insert("sharpe".into(), sharpe);
        r.metrics.insert("total_return".into(), end / 100.0 - 1.0);
        r.metrics.insert("buy_hold_return".into(), 0.5);
        r.epochs = (0..30).map(|e| EpochMetrics::new(1.0 / f64::from(e + 1))).collect();
        r.equity = (0..50)
            .map(|d| {
                let price = 100.0 + f64::from(d);
                let equity = 100.0 + (end - 100.0) * f64::from(d) / 49.0;
                EquityPoint {
                    timestamp_ms: 1_700_000_000_000 + i64::from(d) * 86_400_000,
                    price,
                    position: 0.0,
                    cash: equity,
                    equity,
                    fold: None,
                    pair: None,
                }
            })
            .collect();
        // Odd trials classify (targets 0 or 1: histograms per class), even ones regress.
        r.predictions = (0..40)
            .map(|k| Prediction {
                timestamp_ms: 1_700_000_000_000 + i64::from(k) * 86_400_000,
                output: 0,
                prediction: 0.3 + f64::from(k % 10) / 25.0,
                actual: if id % 2 == 1 { f64::from(k % 2) } else { 1.01 },
                fold: None,
                pair: None,
            })
            .collect();
        TrialRecord::from_outcome(spec, Ok(r), 0, 1_000, 2_000, 1.0)
    }

    fn sweep() -> Sweep {
        let mut records: Vec<TrialRecord> = (0..6)
            .map(|i| {
                let optimizer = if i % 2 == 0 { "adam" } else { "rmsprop" };
                trial(
                    i,
                    1e-4 * 10f64.powi(i as i32 % 3),
                    optimizer,
                    i as f64 * 0.3 - 0.5,
                    90.0 + i as f64 * 10.0,
                )
            })
            .collect();
        let failed = TrialSpec { id: TrialId(6), params: records[0].spec.params.clone(), seed: 7 };
        records.push(TrialRecord::from_outcome(
            failed,
            Err(TrialError::Failed {
                reason: "loss became NaN at epoch 3\nmore detail".into(),
                epochs: Vec::new(),
            }),
            0,
            1_000,
            2_000,
            1.0,
        ));
        let dir = tempfile::tempdir().expect("temp dir");
        let metric = MetricConfig { name: "sharpe".into(), goal: Goal::Maximize };
        let mut luck = serde_json::Map::new();
        luck.insert("deflated_sharpe".into(), json!({"probability": 0.73, "trials": 6}));
        luck.insert("pbo".into(), json!({"skipped": "too few periods"}));
        let output = Output::from(dir.path());
        write_tables(&output, &records, &metric, &luck).expect("tables");
        let read = |name: &str| std::fs::read(dir.path().join(name)).ok();
        Sweep::from_tables(TableBytes {
            trials: read("trials.parquet").expect("trials"),
            epochs: read("epochs.parquet"),
            equity: read("equity.parquet"),
            predictions: read("predictions.parquet"),
            summary: read("summary.json"),
        })
        .expect("readable")
    }

    #[test]
    fn the_terminal_table_ranks_by_the_sweeps_metric() {
        let text = crate::table(&sweep(), 3);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "7 trials: 6 complete, 1 failed");
        assert!(lines[1].starts_with("deflated Sharpe ratio of the best trial 0.73"), "{text}");
        assert_eq!(lines[2], "top 3 of 6 complete trials by sharpe (higher is better):");
        let header: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(
            header,
            [
                "rank",
                "trial",
                "sharpe",
                "total_return",
                "buy_hold_return",
                "train.lr",
                "train.optimizer",
                "seed"
            ]
        );
        let first: Vec<&str> = lines[4].split_whitespace().collect();
        assert_eq!(first[..3], ["1", "5", "1.000"]);
        assert_eq!(first[6], "rmsprop");
        assert_eq!(lines[6].split_whitespace().nth(1), Some("3"));
        assert_eq!(lines[7], "trial 6 failed: loss became NaN at epoch 3");
    }

    #[test]
    fn the_page_holds_every_plot_and_the_odds() {
        let page = html(&sweep(), "a <test> sweep", 20);
        assert!(page.contains("<title>quantsweep report: a &lt;test&gt; sweep</title>"));
        assert!(page.contains("<div class=big>0.73</div>"));
        assert!(page.contains("too few periods"));
        // Equity, two parameters, the distribution, the learning curves, and the class
        // histograms of the three classifying trials among the best five.
        assert_eq!(page.matches("<svg").count(), 8, "{page}");
        assert!(page.contains("Predictions by true class"));
        for id in [5, 3, 1] {
            assert!(page.contains(&format!("trial {id}: P(up) on the test span")), "{id}");
        }
        assert!(page.contains("Equity of the best trials against buy-and-hold"));
        assert!(page.contains("sharpe by train.optimizer"));
        assert!(page.contains("train.lr (log scale)") || page.contains(">train.lr<"));
        assert!(page.contains("loss became NaN at epoch 3"));
        assert!(page.contains("+50.0%"), "buy and hold in percent");
        // Nothing fetched from elsewhere.
        for outside in ["<script", "<link", "src=", "href=", "@import"] {
            assert!(!page.contains(outside), "{outside}");
        }
    }

    #[test]
    fn a_sweep_without_results_still_reports() {
        let empty = Sweep { trials: Vec::new(), ..Sweep::default() };
        assert_eq!(crate::table(&empty, 5), "0 trials: \nno trial has metrics yet\n");
        assert!(html(&empty, "empty", 20).contains("No trial has metrics yet"));
    }
}
