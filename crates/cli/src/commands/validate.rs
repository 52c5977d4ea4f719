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
