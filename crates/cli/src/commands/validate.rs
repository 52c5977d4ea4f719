use anyhow::Result;

use crate::args::PipelineArgs;
use crate::config::{ObjectiveConfig, Pipeline};
use crate::objective::{MarketCandles, load_checked};

/// `quantsweep validate`: load and check everything a run would, short of training.
pub fn validate(args: &PipelineArgs) -> Result<()> {
    let pipeline = Pipeline::load(&args.pipeline, &args.overrides)?;
    let path = args.pipeline.display();
    if let Some(note) = pipeline.config.sweep.budget_note() {
        eprintln!("{note}");
    }
    let method = crate::config::spelled(&pipeline.config.sweep.method);
    if let ObjectiveConfig::Synthetic { function } = &pipeline.config.objective {
        outln!(
            "{path}: ok: {} trials ({method} sweep) of the synthetic {} function",
            pipeline.total(),
            crate::config::spelled(function),
        );
        return Ok(());
    }
    if let ObjectiveConfig::Command(c) = &pipeline.config.objective {
        outln!(
            "{path}: ok: {} trials ({method} sweep) of `{}` (run it with --allow-commands)",
            pipeline.total(),
            c.command.join(" ")
        );
        return Ok(());
    }
    let (markets, _, datasets) = load_checked(&pipeline)?;
    if pipeline.config.data.universe.is_some() {
        return universe_summary(&path.to_string(), &method, &pipeline, &markets, &datasets);
    }
    let mut lines = Vec::with_capacity(markets.len());
    for (MarketCandles { pair, candles, report }, data) in markets.iter().zip(&datasets) {
        let at = pair.as_ref().map_or(String::new(), |p| format!("pair {p}: "));
        let leaks = if data.leaky() {
            format!(" (leaky: {})", data.leaks.join(", "))
        } else {
            String::new()
        };
        lines.push(format!(
            "  {at}{} candles from {} ({} gaps, {} duplicates, {} null rows repaired); \
             {} samples: train {}, validation {}, test {}{leaks}",
            candles.len(),
            report.source.display(),
            report.gaps.len(),
            report.duplicates_dropped,
            report.null_rows_dropped,
            data.len(),
            data.train.len(),
            data.val.len(),
            data.test.len(),
        ));
    }
    outln!(
        "{path}: ok: {} trials ({method} sweep){}",
        pipeline.total(),
        if markets.len() > 1 {
            format!(" of an equal-weight portfolio of {} pairs", markets.len())
        } else {
            String::new()
        }
    );
    for line in lines {
        outln!("{line}");
    }
    Ok(())
}

/// `validate` on a universe: its assets, their candles and repairs in total, the assets with
/// repairs by name, and the first fold's pooled samples.
fn universe_summary(
    path: &str,
    method: &str,
    pipeline: &Pipeline,
    markets: &[MarketCandles],
    folds: &[quantsweep_features::Dataset],
) -> Result<()> {
    outln!(
        "{path}: ok: {} trials ({method} sweep) on a universe of {} assets, one model per fold \
         on their windows pooled",
        pipeline.total(),
        markets.len()
    );
    let candles: usize = markets.iter().map(|m| m.candles.len()).sum();
    let gaps: usize = markets.iter().map(|m| m.report.gaps.len()).sum();
    let repaired: Vec<String> = markets
        .iter()
        .filter_map(|m| {
            let r = &m.report;
            let mut what = Vec::new();
            for (n, label) in [
                (r.null_rows_dropped, "null rows"),
                (r.invalid_dropped, "invalid candles"),
                (r.duplicates_dropped, "duplicates"),
            ] {
                if n > 0 {
                    what.push(format!("{n} {label}"));
                }
            }
            (!what.is_empty())
                .then(|| format!("{} ({})", m.pair.as_deref().unwrap_or_default(), what.join(", ")))
        })
        .collect();
    let calendar = format!("{:?}", markets[0].report.calendar).to_ascii_lowercase();
    outln!(
        "  {candles} candles ({calendar} calendar, {gaps} gaps); dropped: {}",
        if repaired.is_empty() { "none".to_owned() } else { repaired.join(", ") }
    );
    if let Some(d) = folds.first() {
        let leaks =
            if d.leaky() { format!(" (leaky: {})", d.leaks.join(", ")) } else { String::new() };
        outln!(
            "  {} fold{}; the first: {} samples: train {}, validation {}, test {}{leaks}",
            folds.len(),
            if folds.len() == 1 { "" } else { "s" },
            d.len(),
            d.train.len(),
            d.val.len(),
            d.test.len()
        );
    }
    Ok(())
}
