use anyhow::{Context, Result, bail};
use quantsweep_report::{Sweep, TableBytes, html, table};
use quantsweep_sweep::{Journal, write_tables};

use crate::args::ReportArgs;
use crate::commands::run::RESOLVED_FILE;
use crate::config::ResolvedFacts;
use crate::store::Outputs;

/// `quantsweep report OUT`: the best trials in the terminal and `report.html` (in OUT unless
/// `--html` says where).
pub fn report(args: &ReportArgs) -> Result<()> {
    let output = Outputs::open(&args.out, 0)?.output;
    let get = |name: &str| {
        output.get(name).with_context(|| format!("cannot read {}", output.locate(name)))
    };
    let resolved = ResolvedFacts::read(&get(RESOLVED_FILE)?.unwrap_or_default());
    let trials = match get("trials.parquet")? {
        Some(trials) => trials,
        // A sweep killed (SIGKILL, a crash) before it wrote its tables: they are written from
        // its journal first, as the resumed run would (#23).
        None if Journal::exists(&output)? => {
            let records = Journal::read_once(output.clone())?;
            let metric = resolved.metric.clone().unwrap_or_default();
            let luck = crate::luck::sweep_statistics(&records, &metric);
            write_tables(&output, &records, &metric, &luck)
                .with_context(|| format!("writing the tables of {} from its journal", args.out))?;
            eprintln!(
                "note: {} had no tables (its sweep stopped before writing them): written from \
                 its journal ({} trials); `quantsweep run` with the same command resumes the sweep",
                args.out,
                records.len()
            );
            get("trials.parquet")?.context("trials.parquet was just written")?
        }
        None => bail!(
            "{} does not exist: is {} the --out of a sweep? (`quantsweep run` writes its tables \
             at checkpoints and at the end)",
            output.locate("trials.parquet"),
            args.out
        ),
    };
    let mut sweep = Sweep::from_tables(TableBytes {
        trials,
        epochs: get("epochs.parquet")?,
        equity: get("equity.parquet")?,
        predictions: get("predictions.parquet")?,
        summary: get("summary.json")?,
    })
    .with_context(|| format!("reading the tables in {}", args.out))?;
    sweep.log_scale = resolved.log_scale;
    // The pipeline's name from the resolved pipeline, else the folder's.
    let name = resolved.name.unwrap_or_else(|| {
        args.out.trim_end_matches('/').rsplit('/').next().unwrap_or("sweep").to_owned()
    });
    let page = html(&sweep, &name, usize::from(args.top));
    let written = match &args.html {
        Some(path) => {
            std::fs::write(path, page)
                .with_context(|| format!("cannot write {}", path.display()))?;
            path.display().to_string()
        }
        None => {
            output
                .put("report.html", page.as_bytes())
                .with_context(|| format!("cannot write {}", output.locate("report.html")))?;
            output.locate("report.html")
        }
    };
    outln!("{}report: {written}", table(&sweep, usize::from(args.top)));
    Ok(())
}
