use anyhow::{Context, Result, bail};
use quantsweep_report::{Sweep, TableBytes, html, table};
use quantsweep_sweep::{Journal, MetricConfig, write_tables};

use crate::args::ReportArgs;
use crate::commands::run::RESOLVED_FILE;
use crate::store::Outputs;

/// `quantsweep report OUT`: the best trials in the terminal and `report.html` (in OUT unless
/// `--html` says where).
pub fn report(args: &ReportArgs) -> Result<()> {
    let output = Outputs::open(&args.out, 0)?.output;
    let get = |name: &str| {
        output.get(name).with_context(|| format!("cannot read {}", output.locate(name)))
    };
    // A sweep killed (SIGKILL, a crash) before it wrote its tables: they are written from its
    // journal first, as the resumed run would (#23).
    if get("trials.parquet")?.is_none() && Journal::exists(&output)? {
        let mut records = Journal::read(output.clone())?;
        records.reverse();
        let mut seen = std::collections::BTreeSet::new();
        records.retain(|r| seen.insert(r.spec.id));
        records.sort_by_key(|r| r.spec.id);
        let metric = get(RESOLVED_FILE)?
            .and_then(|text| serde_yaml::from_slice::<serde_yaml::Value>(&text).ok())
            .and_then(|v| {
                serde_yaml::from_value::<MetricConfig>(v.get("sweep")?.get("metric")?.clone()).ok()
            })
            .unwrap_or_default();
        let luck = crate::luck::sweep_statistics(&records, &metric);
        write_tables(&output, &records, &metric, &luck)
            .with_context(|| format!("writing the tables of {} from its journal", args.out))?;
        eprintln!(
            "note: {} had no tables (its sweep stopped before writing them): written from its \
             journal ({} trials); `quantsweep run` with the same command resumes the sweep",
            args.out,
            records.len()
        );
    }
    let Some(trials) = get("trials.parquet")? else {
        bail!(
            "{} does not exist: is {} the --out of a sweep? (`quantsweep run` writes its tables \
             at checkpoints and at the end)",
            output.locate("trials.parquet"),
            args.out
        );
    };
    let sweep = Sweep::from_tables(TableBytes {
        trials,
        epochs: get("epochs.parquet")?,
        equity: get("equity.parquet")?,
        predictions: get("predictions.parquet")?,
        summary: get("summary.json")?,
    })
    .with_context(|| format!("reading the tables in {}", args.out))?;
    // The pipeline's name from the resolved pipeline, else the folder's; and which
    // parameters it draws log-uniformly (plotted on a log axis).
    let resolved = get(RESOLVED_FILE)?
        .and_then(|text| serde_yaml::from_slice::<serde_yaml::Value>(&text).ok());
    let name = resolved
        .as_ref()
        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .unwrap_or_else(|| {
            args.out.trim_end_matches('/').rsplit('/').next().unwrap_or("sweep").to_owned()
        });
    let mut sweep = sweep;
    if let Some(parameters) =
        resolved.as_ref().and_then(|v| v.get("sweep")?.get("parameters")?.as_mapping().cloned())
    {
        for (key, p) in parameters {
            let log =
                p.get("distribution").and_then(|d| d.as_str()).is_some_and(|d| d.contains("log"));
            if let (Some(key), true) = (key.as_str(), log) {
                sweep.log_scale.insert(key.to_owned());
            }
        }
    }
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
