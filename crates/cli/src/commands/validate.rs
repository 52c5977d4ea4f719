use anyhow::{Context, Result};

use crate::args::PipelineArgs;
use crate::config::{ObjectiveConfig, Pipeline};
use crate::objective::{build_dataset, load_all_pairs, load_candles};

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
    let (candles, report) = load_candles(&pipeline.config).with_context(|| path.to_string())?;
    let representative = pipeline.representative_trials();
    let first = representative.first().context("the sweep has no trials")?;
    let pairs = load_all_pairs(&pipeline).with_context(|| path.to_string())?;
    let data = build_dataset(&pipeline.trial_config(first)?, &candles, &pairs)
        .with_context(|| format!("{path}: trial 0"))?;
    outln!(
        "{path}: ok: {} trials ({:?} sweep); {} candles from {} ({} gaps, {} duplicates, {} null rows repaired); \
         {} samples: train {}, validation {}, test {}{}",
        pipeline.total(),
        pipeline.config.sweep.method,
        candles.len(),
        report.source.display(),
        report.gaps.len(),
        report.duplicates_dropped,
        report.null_rows_dropped,
        data.len(),
        data.train.len(),
        data.val.len(),
        data.test.len(),
        if data.leaky() { format!(" (leaky: {})", data.leaks.join(", ")) } else { String::new() },
    );
    Ok(())
}
