use anyhow::{Context, Result};

use crate::args::PipelineArgs;
use crate::config::{ObjectiveConfig, Pipeline};
use crate::objective::{MarketCandles, build_dataset, load_all_pairs, load_markets};

/// `quantsweep validate`: load and check everything a run would, short of training.
pub fn validate(args: &PipelineArgs) -> Result<()> {
    let pipeline = Pipeline::load(&args.pipeline, &args.overrides)?;
    let path = args.pipeline.display();
    if let ObjectiveConfig::Synthetic { function } = &pipeline.config.objective {
        outln!(
            "{path}: ok: {} trials ({:?} sweep) of the synthetic {function:?} function",
            pipeline.total(),
            pipeline.config.sweep.method
        );
        return Ok(());
    }
    if let ObjectiveConfig::Command(c) = &pipeline.config.objective {
        outln!(
            "{path}: ok: {} trials ({:?} sweep) of `{}` (run it with --allow-commands)",
            pipeline.total(),
            pipeline.config.sweep.method,
            c.command.join(" ")
        );
        return Ok(());
    }
    let markets = load_markets(&pipeline.config).with_context(|| path.to_string())?;
    let representative = pipeline.representative_trials();
    let first = representative.first().context("the sweep has no trials")?;
    let pairs = load_all_pairs(&pipeline).with_context(|| path.to_string())?;
    let config = pipeline.trial_config(first)?;
    let mut lines = Vec::with_capacity(markets.len());
    for MarketCandles { pair, candles, report } in &markets {
        let at = pair.as_ref().map_or(String::new(), |p| format!("pair {p}: "));
        let data = build_dataset(&config, candles, &pairs).with_context(|| match pair {
            Some(p) => format!("{path}: trial 0 (pair {p})"),
            None => format!("{path}: trial 0"),
        })?;
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
        "{path}: ok: {} trials ({:?} sweep){}",
        pipeline.total(),
        pipeline.config.sweep.method,
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
