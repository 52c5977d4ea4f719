use anyhow::{Context, Result};
use quantsweep_ingest::{
    DuplicatePolicy, Format, FreqtradeFile, InvalidPolicy, LoadOptions, align, format_ms,
    freqtrade_contents, load_pairs, load_source,
};
use serde::de::DeserializeOwned;
use std::path::Path;

use crate::args::InspectArgs;
use crate::config::spelled;

/// Parses a snake_case option value the way the YAML spells it (`keep_first`, `feather`).
pub fn parse_option<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| {
        let msg = e.to_string();
        msg.split(" at line").next().unwrap_or(&msg).to_owned()
    })
}

/// `data inspect DIR` on a freqtrade data directory: its pairs and the timeframes of each.
fn inspect_directory(args: &InspectArgs) -> Result<()> {
    let files = freqtrade_contents(Path::new(&args.source));
    if files.is_empty() {
        anyhow::bail!(
            "{} is a folder without freqtrade candle files (BASE_QUOTE-TF.feather, .json, \
             .json.gz or .parquet): give a candle file, or the exchange's folder of a freqtrade \
             data directory (user_data/data/binance)",
            args.source
        );
    }
    let mut by_pair: std::collections::BTreeMap<&str, Vec<&FreqtradeFile>> = Default::default();
    for f in &files {
        by_pair.entry(f.pair.as_str()).or_default().push(f);
    }
    if args.json {
        let pairs: serde_json::Map<String, serde_json::Value> = by_pair
            .iter()
            .map(|(pair, fs)| {
                let tfs: Vec<serde_json::Value> = fs
                    .iter()
                    .map(|f| serde_json::json!({"timeframe": f.timeframe, "file": f.path.display().to_string()}))
                    .collect();
                ((*pair).to_owned(), tfs.into())
            })
            .collect();
        let value =
            serde_json::json!({"directory": args.source, "format": "freqtrade", "pairs": pairs});
        outln!("{}", serde_json::to_string_pretty(&value).context("serializing the listing")?);
        return Ok(());
    }
    outln!("directory   {} (freqtrade data directory)", args.source);
    outln!("pairs       {}", by_pair.len());
    for (pair, fs) in &by_pair {
        let tfs: Vec<String> = fs
            .iter()
            .map(|f| {
                let name = f.path.file_name().map(|n| n.to_string_lossy().into_owned());
                format!("{} ({})", f.timeframe, name.unwrap_or_default())
            })
            .collect();
        outln!("  {pair:<14} {}", tfs.join(", "));
    }
    outln!(
        "inspect one: quantsweep data inspect {}; align several: --pairs A,B --timeframe TF",
        files[0].path.display()
    );
    Ok(())
}

/// `quantsweep data inspect`: what a source holds and what loading it repairs.
pub fn inspect(args: &InspectArgs) -> Result<()> {
    let options = LoadOptions {
        format: args.format.unwrap_or(Format::Auto),
        duplicates: args.duplicates.unwrap_or(DuplicatePolicy::KeepLast),
        invalid: args.invalid.unwrap_or(InvalidPolicy::Drop),
        ..LoadOptions::default()
    };
    if !args.pairs.is_empty() {
        return inspect_pairs(args, &options);
    }
    if let Some(column) = &args.symbol_column {
        return inspect_table(args, &options, column);
    }
    if Path::new(&args.source).is_dir() {
        return inspect_directory(args);
    }
    let (candles, report) = load_source(&args.source, &options, &Default::default())?;
    let first = candles.timestamp_ms.first().copied().context("no candles")?;
    let last = candles.timestamp_ms.last().copied().context("no candles")?;
    let missing: i64 = report.gaps.iter().map(|g| g.missing).sum();
    if args.json {
        let mut value = serde_json::to_value(&report).context("serializing the report")?;
        value["candles"] = candles.len().into();
        value["first"] = format_ms(first).into();
        value["last"] = format_ms(last).into();
        value["missing_candles"] = missing.into();
        outln!("{}", serde_json::to_string_pretty(&value).context("serializing the report")?);
        return Ok(());
    }
    let gaps: Vec<String> = report
        .gaps
        .iter()
        .take(5)
        .map(|g| format!("after {} ({} missing)", format_ms(g.after_ms), g.missing))
        .collect();
    let more = report.gaps.len().saturating_sub(gaps.len());
    outln!("source      {}", args.source);
    outln!("format      {}", report.format);
    outln!("columns     {}", report.columns.join(", "));
    outln!("rows        {} read, {} candles kept", report.rows_read, candles.len());
    outln!("first       {} UTC", format_ms(first));
    outln!("last        {} UTC", format_ms(last));
    outln!("timeframe   {}", report.timeframe.map_or("-".into(), |t| t.to_string()));
    let calendar = match report.calendar {
        quantsweep_ingest::Calendar::Weekdays => {
            "weekdays (no weekend bars: weekends are not gaps)"
        }
        quantsweep_ingest::Calendar::Continuous => "continuous",
    };
    outln!("calendar    {calendar}");
    outln!("order       {}", if report.reordered { "not ascending (sorted)" } else { "ascending" });
    outln!(
        "duplicates  {} rows dropped ({})",
        report.duplicates_dropped,
        spelled(&options.duplicates)
    );
    outln!("nulls       {} rows dropped", report.null_rows_dropped);
    outln!(
        "invalid     {} candles breaking OHLC consistency ({})",
        report.invalid_dropped,
        spelled(&options.invalid)
    );
    if report.last_maybe_unfinished {
        outln!(
            "last candle may be unfinished ({}); data.last_candle: drop_if_unfinished removes it",
            if report.format == Format::CryptoDataDownload {
                "CryptoDataDownload snapshots can end in an open candle"
            } else {
                "it closes after the file was written"
            }
        );
    }
    outln!(
        "gaps        {} ({} candles missing){}{}",
        report.gaps.len(),
        missing,
        if gaps.is_empty() { String::new() } else { format!(": {}", gaps.join(", ")) },
        if more > 0 { format!(", and {more} more") } else { String::new() }
    );
    Ok(())
}

/// `data inspect TABLE --symbol-column C`: each asset of a long table, a line each.
fn inspect_table(args: &InspectArgs, options: &LoadOptions, column: &str) -> Result<()> {
    let bytes = if args.source.contains("://") {
        quantsweep_ingest::fetch(&args.source, &Default::default())?
    } else {
        std::fs::read(&args.source).with_context(|| args.source.clone())?
    };
    let assets =
        quantsweep_ingest::load_by_symbol(bytes, Path::new(&args.source), options, column)?;
    if args.json {
        let rows: Vec<serde_json::Value> = assets
            .iter()
            .map(|(name, candles, report)| {
                let mut v = serde_json::to_value(report).unwrap_or_default();
                v["asset"] = name.clone().into();
                v["candles"] = candles.len().into();
                v
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows).context("serializing the reports")?);
        return Ok(());
    }
    outln!("source      {}", args.source);
    outln!("assets      {} (by column {column})", assets.len());
    outln!(
        "  {:<8} {:>7} {:<10} {:<10} {:>5} {:>5} {:>7}  calendar",
        "asset",
        "candles",
        "first",
        "last",
        "gaps",
        "nulls",
        "invalid"
    );
    let day = |ms: i64| quantsweep_ingest::format_ms(ms).chars().take(10).collect::<String>();
    for (name, candles, report) in &assets {
        let (Some(&first), Some(&last)) =
            (candles.timestamp_ms.first(), candles.timestamp_ms.last())
        else {
            continue;
        };
        outln!(
            "  {name:<8} {:>7} {:<10} {:<10} {:>5} {:>5} {:>7}  {}",
            candles.len(),
            day(first),
            day(last),
            report.gaps.len(),
            report.null_rows_dropped,
            report.invalid_dropped,
            format!("{:?}", report.calendar).to_ascii_lowercase(),
        );
    }
    Ok(())
}

/// `data inspect DIR --pairs A,B --timeframe TF`: each pair, then their common time index.
fn inspect_pairs(args: &InspectArgs, options: &LoadOptions) -> Result<()> {
    let timeframe = args.timeframe.as_deref().context("--pairs needs --timeframe")?;
    let loaded = load_pairs(Path::new(&args.source), &args.pairs, timeframe, options)?;
    let rows: Vec<serde_json::Value> = loaded
        .iter()
        .map(|(pair, c, r)| {
            serde_json::json!({
                "pair": pair,
                "file": r.source,
                "format": r.format.to_string(),
                "candles": c.len(),
                "first": c.timestamp_ms.first().map(|t| format_ms(*t)),
                "last": c.timestamp_ms.last().map(|t| format_ms(*t)),
                "gaps": r.gaps.len(),
                "duplicates_dropped": r.duplicates_dropped,
            })
        })
        .collect();
    let aligned = align(loaded.into_iter().map(|(p, c, _)| (p, c)).collect())
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.source))?;
    let first = aligned.timestamp_ms.first().map(|t| format_ms(*t)).unwrap_or_default();
    let last = aligned.timestamp_ms.last().map(|t| format_ms(*t)).unwrap_or_default();
    if args.json {
        let value = serde_json::json!({
            "pairs": rows,
            "aligned": {"candles": aligned.timestamp_ms.len(), "first": first, "last": last, "dropped": aligned.dropped},
        });
        outln!("{}", serde_json::to_string_pretty(&value).context("serializing the report")?);
        return Ok(());
    }
    outln!("{:<16} {:>8}  {:<19}  {:<19}  {:>4}  file", "pair", "candles", "first", "last", "gaps");
    for r in &rows {
        let s = |k: &str| r[k].as_str().unwrap_or("-").to_owned();
        outln!(
            "{:<16} {:>8}  {:<19}  {:<19}  {:>4}  {}",
            s("pair"),
            r["candles"].as_u64().unwrap_or_default(),
            s("first"),
            s("last"),
            r["gaps"].as_u64().unwrap_or_default(),
            r["file"].as_str().unwrap_or_default()
        );
    }
    outln!(
        "aligned: {} candles on one index, {first} .. {last} (dropped per pair: {:?})",
        aligned.timestamp_ms.len(),
        aligned.dropped
    );
    Ok(())
}
