//! Every real data file in the shared collection loads, and its row count, time range and
//! timeframe agree with the collection's PROVENANCE.md (its "Files" table), after the
//! documented repairs.
//!
//! The collection lives beside the repository (`../shared/datasets`, or
//! `QUANTSWEEP_SHARED_DATASETS`). CI always has it; elsewhere the test says it is skipping.

use std::path::{Path, PathBuf};

use quantsweep_ingest::{InvalidPolicy, LoadOptions, format_ms, load};

fn collection() -> Option<PathBuf> {
    let dir = std::env::var_os("QUANTSWEEP_SHARED_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    if dir.join("PROVENANCE.md").exists() {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!("CI must have the shared datasets at {}", dir.display());
    } else {
        eprintln!("skipped: no shared datasets at {}", dir.display());
        None
    }
}

/// One row of PROVENANCE.md's Files table.
struct Expected {
    file: String,
    timeframe: String,
    first: String,
    last: String,
    rows: usize,
}

fn expected(dir: &Path) -> Vec<Expected> {
    let text = std::fs::read_to_string(dir.join("PROVENANCE.md")).expect("PROVENANCE.md");
    let files = text.split("## Files").nth(1).expect("a Files section");
    files
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // | file | repo | path | commit | license | pair | tf | first | last | rows | sha |
            // A folder of files is named in backticks before its description:
            // `` `sp500_5yr/` (505 files ...) ``.
            let file = cells[1].split('`').nth(1).unwrap_or(cells[1]);
            Expected {
                file: file.to_owned(),
                timeframe: cells[7].to_owned(),
                first: cells[8].to_owned(),
                last: cells[9].to_owned(),
                rows: cells[10].replace(',', "").parse().expect("a row count"),
            }
        })
        .collect()
}

/// PROVENANCE.md writes daily times as dates and intraday ones with the time of day.
fn as_written(ms: i64, like: &str) -> String {
    let full = format_ms(ms);
    if like.len() == 10 { full[..10].to_owned() } else { full }
}

#[test]
fn every_shared_file_matches_its_provenance() {
    let Some(dir) = collection() else { return };
    let expected = expected(&dir);
    assert!(expected.len() >= 40, "found {} files in PROVENANCE.md", expected.len());
    let mut problems = Vec::new();
    for e in &expected {
        let path = dir.join(&e.file);
        // A folder's row is its files together: rows summed, the earliest first candle, the
        // latest last one, and the timeframe every file has.
        let files: Vec<PathBuf> = if e.file.ends_with('/') {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map(|d| d.flatten().map(|f| f.path()).collect())
                .unwrap_or_default();
            files.sort();
            files
        } else {
            vec![path]
        };
        // The folder's notes document its rows that break low <= open, close <= high (12 in
        // sp500_5yr/): they are dropped and counted, not refused.
        let options = if e.file.ends_with('/') {
            LoadOptions { invalid: InvalidPolicy::Drop, ..LoadOptions::default() }
        } else {
            LoadOptions::default()
        };
        let (mut rows, mut span, mut timeframes) = (0, (i64::MAX, i64::MIN), Vec::new());
        let mut invalid = 0;
        for path in &files {
            match load(path, &options) {
                Ok((candles, report)) => {
                    rows += report.rows_read;
                    invalid += report.invalid_dropped;
                    span.0 = span.0.min(candles.timestamp_ms[0]);
                    span.1 = span.1.max(*candles.timestamp_ms.last().expect("candles"));
                    timeframes.push(report.timeframe.map(|t| t.to_string()).unwrap_or_default());
                }
                Err(err) => problems.push(format!("{}: {err}", path.display())),
            }
        }
        timeframes.sort();
        timeframes.dedup();
        if files.is_empty() || timeframes.is_empty() {
            problems.push(format!("{}: no files", e.file));
            continue;
        }
        let first = as_written(span.0, &e.first);
        let last = as_written(span.1, &e.last);
        let tf = timeframes.join(" and ");
        // "rows counts candles (data rows), duplicates included".
        let got = (rows, first.as_str(), last.as_str(), tf.as_str());
        let want = (e.rows, e.first.as_str(), e.last.as_str(), e.timeframe.as_str());
        if e.file == "sp500_5yr/" && invalid != 12 {
            problems.push(format!("{}: {invalid} invalid rows, its notes say 12", e.file));
        }
        if got != want {
            problems.push(format!("{}: got {got:?}, PROVENANCE.md says {want:?}", e.file));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} files disagree:\n{}",
        problems.len(),
        expected.len(),
        problems.join("\n")
    );
}

/// The documented quirks are found and reported, not silently absorbed.
#[test]
fn documented_defects_are_reported() {
    let Some(dir) = collection() else { return };
    let load_ok = |f: &str| load(dir.join(f), &LoadOptions::default()).expect(f);

    // 2,649 hours appear twice (both layouts interleaved), 8 gaps, newest-first, 36,062 rows.
    let (c, r) = load_ok("cryptodatadownload/Binance_ETHUSDT_1h.csv");
    assert_eq!(r.duplicates_dropped, 2649);
    assert_eq!(c.len(), 36_062 - 2649);
    assert_eq!(r.gaps.len(), 8);
    assert!(r.reordered);
    // Its newest row (2021-06-10 00:00) is a candle captured while still open: flagged, and
    // dropped on request.
    assert!(r.last_maybe_unfinished && !r.last_dropped);
    let drop = LoadOptions {
        last_candle: quantsweep_ingest::LastCandle::DropIfUnfinished,
        ..LoadOptions::default()
    };
    let (c, r) = load(dir.join("cryptodatadownload/Binance_ETHUSDT_1h.csv"), &drop).expect("drop");
    assert!(r.last_dropped);
    assert_eq!(format_ms(*c.timestamp_ms.last().expect("rows")), "2021-06-09 23:00:00");
    // A finished freqtrade file is not flagged (it was written long after its last close).
    let (_, r) = load_ok("freqtrade/nfi_2020-12_2021-07/binance/ETH_USDT-1h.json");
    assert!(!r.last_maybe_unfinished);

    // Four literal `null` rows.
    let (_, r) = load_ok("yahoo/ETH-USD.csv");
    assert_eq!(r.null_rows_dropped, 4);

    // Four missing days in 2026 (three runs of them).
    let (_, r) = load_ok("cryptodatadownload/Binance_ETHUSDT_d.csv");
    let missing: i64 = r.gaps.iter().map(|g| g.missing).sum();
    assert_eq!((r.gaps.len(), missing), (4, 6));

    // Coinbase: 12 days missing in March 2019.
    let (_, r) = load_ok("cryptodatadownload/Coinbase_ETHUSD_d.csv");
    assert_eq!(r.gaps.iter().map(|g| g.missing).sum::<i64>(), 12);

    // The NFI files share six Binance maintenance gaps.
    let (_, r) = load_ok("freqtrade/nfi_2020-12_2021-07/binance/ETH_USDT-1h.json");
    assert_eq!(r.gaps.len(), 6);

    // The three encodings of the same futures candles agree exactly.
    let base = "freqtrade/testdata/futures/XRP_USDT_USDT-1h-futures";
    let (json, _) = load_ok(&format!("{base}.json"));
    let (gz, _) = load_ok(&format!("{base}.json.gz"));
    let (feather, r) = load_ok(&format!("{base}.feather"));
    assert_eq!(json, gz);
    // The Feather file (written by pandas in a later freqtrade commit) holds some prices one
    // ulp away from the JSON's decimal text (1.0520100000000001 for 1.05201).
    assert_eq!(json.timestamp_ms, feather.timestamp_ms);
    let close =
        |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs());
    for (a, b) in [
        (&json.open, &feather.open),
        (&json.high, &feather.high),
        (&json.low, &feather.low),
        (&json.close, &feather.close),
        (&json.volume, &feather.volume),
    ] {
        assert!(close(a, b));
    }
    assert_eq!(r.format.to_string(), "feather");
}

/// PROVENANCE.md: "15m -> 1h and 5m -> 1h aggregates equal the 1h files of the same source
/// exactly". Our resampling reproduces that on the real files.
#[test]
fn resampled_intraday_candles_equal_the_sources_own_coarser_files() {
    let Some(dir) = collection() else { return };
    let load_ok = |f: &str| load(dir.join(f), &LoadOptions::default()).expect(f).0;
    let hour = quantsweep_ingest::Timeframe::parse("1h").expect("1h");
    for (fine, coarse) in [
        (
            "freqtrade/daisybum_2023/binance/ETH_USDT-15m.feather",
            "freqtrade/daisybum_2023/binance/ETH_USDT-1h.feather",
        ),
        (
            "freqtrade/genetrader_2024/binance/BTC_USDT-15m.feather",
            "freqtrade/genetrader_2024/binance/BTC_USDT-1h.feather",
        ),
        (
            "freqtrade/nfi_2020-12_2021-07/binance/ETH_USDT-5m.json",
            "freqtrade/nfi_2020-12_2021-07/binance/ETH_USDT-1h.json",
        ),
    ] {
        let resampled = load_ok(fine).resample(hour).expect("resample");
        let reference = load_ok(coarse);
        // Compare where both have the hour (the files end at different times).
        let end = (*resampled.timestamp_ms.last().expect("rows"))
            .min(*reference.timestamp_ms.last().expect("rows"));
        let a = resampled.between(None, Some(end));
        let b = reference.between(None, Some(end));
        assert_eq!(a.timestamp_ms, b.timestamp_ms, "{fine}");
        let close = |x: &[f64], y: &[f64]| {
            x.iter().zip(y).all(|(p, q)| (p - q).abs() <= 1e-9 * q.abs().max(1.0))
        };
        assert!(
            close(&a.open, &b.open) && close(&a.high, &b.high) && close(&a.low, &b.low),
            "{fine}"
        );
        assert!(close(&a.close, &b.close), "{fine}");
        // Volumes agree everywhere except three hours of the NFI ETH data (2021-04-22 02:00,
        // 2021-04-23 01:00 and 02:00), where Binance's 5m volumes sum to less than its 1h
        // volume; pandas' resample gives the same sums as ours there.
        let off: Vec<String> = (0..a.len())
            .filter(|&i| (a.volume[i] - b.volume[i]).abs() > 1e-9 * b.volume[i].abs().max(1.0))
            .map(|i| quantsweep_ingest::format_ms(a.timestamp_ms[i]))
            .collect();
        let known: &[&str] = if fine.contains("nfi_") {
            &["2021-04-22 02:00:00", "2021-04-23 01:00:00", "2021-04-23 02:00:00"]
        } else {
            &[]
        };
        assert_eq!(off, known, "{fine}");
    }
}

/// GeneTrader's 2024 pairs end at different times (BTC, ETH, LTC at 2024-09-06 03:00; SOL,
/// XRP, DOGE at 2024-09-07 01:00): aligned, they share the common range.
#[test]
fn pairs_from_a_freqtrade_directory_align_on_their_common_range() {
    let Some(dir) = collection() else { return };
    let exchange = dir.join("freqtrade/genetrader_2024/binance");
    let pairs: Vec<String> =
        ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "LTC/USDT", "DOGE/USDT"]
            .map(String::from)
            .to_vec();
    let loaded = quantsweep_ingest::load_pairs(&exchange, &pairs, "1h", &LoadOptions::default())
        .expect("pairs");
    let aligned = quantsweep_ingest::align(loaded.into_iter().map(|(p, c, _)| (p, c)).collect())
        .expect("align");
    assert_eq!(aligned.timestamp_ms.len(), 5980);
    assert_eq!(format_ms(*aligned.timestamp_ms.last().expect("rows")), "2024-09-06 03:00:00");
    assert_eq!(aligned.dropped, vec![0, 0, 22, 22, 0, 22]);
    // Futures names resolve too.
    let f =
        quantsweep_ingest::freqtrade_file(&dir.join("freqtrade/testdata"), "XRP/USDT:USDT", "1h")
            .expect("futures");
    assert!(f.ends_with("futures/XRP_USDT_USDT-1h-futures.feather"));
}
