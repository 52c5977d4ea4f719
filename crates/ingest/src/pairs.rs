use std::path::{Path, PathBuf};

use crate::{Candles, IngestError, LoadOptions, LoadReport, load};

/// Extensions freqtrade's data handlers write, in the order they are looked for.
const EXTENSIONS: [&str; 4] = ["feather", "json", "json.gz", "parquet"];

/// The file holding `pair` at `timeframe` in a freqtrade data directory (the exchange
/// folder, e.g. `user_data/data/binance`): `BTC/USDT` → `BTC_USDT-1h.feather`; futures pairs
/// (`BTC/USDT:USDT`) → `futures/BTC_USDT_USDT-1h-futures.feather`. The first existing of
/// feather, json, json.gz and parquet wins.
pub fn freqtrade_file(dir: &Path, pair: &str, timeframe: &str) -> Result<PathBuf, IngestError> {
    let (spot, settle) = match pair.split_once(':') {
        Some((p, s)) => (p, Some(s)),
        None => (pair, None),
    };
    let Some((base, quote)) = spot.split_once('/') else {
        return Err(IngestError::MissingPair {
            dir: dir.to_path_buf(),
            pair: pair.to_owned(),
            tried: format!(
                "nothing: a pair is written BASE/QUOTE (or BASE/QUOTE:SETTLE for futures), got {pair:?}"
            ),
            hint: String::new(),
        });
    };
    let stem = match settle {
        Some(s) => format!("futures/{base}_{quote}_{s}-{timeframe}-futures"),
        None => format!("{base}_{quote}-{timeframe}"),
    };
    let candidates: Vec<PathBuf> =
        EXTENSIONS.iter().map(|e| dir.join(format!("{stem}.{e}"))).collect();
    candidates.iter().find(|p| p.exists()).cloned().ok_or_else(|| IngestError::MissingPair {
        dir: dir.to_path_buf(),
        pair: pair.to_owned(),
        tried: format!("{stem}.{{{}}}", EXTENSIONS.join(",")),
        hint: missing_pair_hint(dir, pair, timeframe),
    })
}

/// One file of a freqtrade data directory: its pair (`BTC/USDT`, `BTC/USDT:USDT`), timeframe
/// and path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FreqtradeFile {
    /// The pair, as a pipeline writes it.
    pub pair: String,
    /// The timeframe (`1h`).
    pub timeframe: String,
    /// The file.
    pub path: PathBuf,
}

/// The candle files of a freqtrade data directory (`BASE_QUOTE-TF.{feather,json,json.gz,
/// parquet}`, and `futures/BASE_QUOTE_SETTLE-TF-futures.*`), sorted by pair and timeframe.
/// Empty where `dir` is not such a directory.
pub fn freqtrade_contents(dir: &Path) -> Vec<FreqtradeFile> {
    let mut files = Vec::new();
    for (folder, futures) in [(dir.to_path_buf(), false), (dir.join("futures"), true)] {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) =
                EXTENSIONS.iter().rev().find_map(|e| name.strip_suffix(&format!(".{e}")))
            else {
                continue;
            };
            let stem = if futures {
                match stem.strip_suffix("-futures") {
                    Some(s) => s,
                    None => continue,
                }
            } else {
                stem
            };
            let Some((market, timeframe)) = stem.rsplit_once('-') else { continue };
            // Not `Timeframe::parse`: freqtrade also writes `1M` (a month), which it refuses.
            let numeric = timeframe.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            if numeric.is_empty() || !numeric.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let parts: Vec<&str> = market.split('_').collect();
            let pair = match (futures, parts.as_slice()) {
                (false, [base, quote]) => format!("{base}/{quote}"),
                (true, [base, quote, settle]) => format!("{base}/{quote}:{settle}"),
                _ => continue,
            };
            files.push(FreqtradeFile { pair, timeframe: timeframe.to_owned(), path: entry.path() });
        }
    }
    files.sort();
    files
}

/// What a freqtrade directory without `pair` at `timeframe` holds instead: the pair at other
/// timeframes, the timeframe for other pairs, the nearest pair's name, or the folders below
/// that are data directories (the parent folder given instead of the exchange's).
fn missing_pair_hint(dir: &Path, pair: &str, timeframe: &str) -> String {
    let files = freqtrade_contents(dir);
    if files.is_empty() {
        let mut below: Vec<String> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir() && !freqtrade_contents(&e.path()).is_empty())
            .map(|e| e.path().display().to_string())
            .collect();
        below.sort();
        return match below.as_slice() {
            [] if dir.is_dir() => "; the folder holds no freqtrade candle files".into(),
            [] => String::new(),
            _ => format!(
                "; the folder holds no candle files, but {} does: datadir is the exchange's folder",
                below.join(", ")
            ),
        };
    }
    let list = |mut v: Vec<&str>| {
        v.sort_unstable();
        v.dedup();
        match v.len() {
            0..=12 => v.join(", "),
            n => format!("{} and {} more", v[..10].join(", "), n - 10),
        }
    };
    let pairs = list(files.iter().map(|f| f.pair.as_str()).collect());
    let timeframes = list(files.iter().map(|f| f.timeframe.as_str()).collect());
    let for_pair: Vec<&str> =
        files.iter().filter(|f| f.pair == pair).map(|f| f.timeframe.as_str()).collect();
    let nearest = if !for_pair.is_empty() {
        let lower = for_pair.iter().find(|t| t.eq_ignore_ascii_case(timeframe) && **t != timeframe);
        match lower {
            // freqtrade's timeframes are case-sensitive: 1M is a month, 1m a minute.
            Some(t) => {
                format!(" (did you mean `{t}`? timeframes are written as freqtrade writes them)")
            }
            None => format!(" ({pair} is there at {})", list(for_pair)),
        }
    } else {
        let names: Vec<&str> = files.iter().map(|f| f.pair.as_str()).collect();
        quantsweep_core::did_you_mean(pair, names)
    };
    format!("; it holds {pairs} at {timeframes}{nearest}")
}

/// Loads every pair at `timeframe` from a freqtrade data directory.
pub fn load_pairs(
    dir: &Path,
    pairs: &[String],
    timeframe: &str,
    options: &LoadOptions,
) -> Result<Vec<(String, Candles, LoadReport)>, IngestError> {
    pairs
        .iter()
        .map(|pair| {
            let path = freqtrade_file(dir, pair, timeframe)?;
            let (candles, report) = load(&path, options)?;
            Ok((pair.clone(), candles, report))
        })
        .collect()
}

/// Several pairs on one time index.
#[derive(Debug, Clone, PartialEq)]
pub struct Aligned {
    /// The shared open times.
    pub timestamp_ms: Vec<i64>,
    /// Each pair's candles at exactly those times, in the order given.
    pub pairs: Vec<(String, Candles)>,
    /// Per pair, how many of its candles were left out (outside the common range, or at a
    /// time another pair lacks).
    pub dropped: Vec<usize>,
}

/// Aligns pairs on the times they all have (an inner join; pairs that end at different
/// times are cut to the common range). Nothing is filled in.
pub fn align(pairs: Vec<(String, Candles)>) -> Result<Aligned, String> {
    let Some((_, first)) = pairs.first() else {
        return Err("no pairs to align".into());
    };
    let mut common: Vec<i64> = first.timestamp_ms.clone();
    for (_, c) in &pairs[1..] {
        let mut i = 0;
        common.retain(|t| {
            while i < c.timestamp_ms.len() && c.timestamp_ms[i] < *t {
                i += 1;
            }
            i < c.timestamp_ms.len() && c.timestamp_ms[i] == *t
        });
    }
    if common.is_empty() {
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!("{} have no candle time in common", names.join(", ")));
    }
    let mut out = Vec::with_capacity(pairs.len());
    let mut dropped = Vec::with_capacity(pairs.len());
    for (name, c) in pairs {
        // Both lists are ascending: walk them together to find each common time's row.
        let mut rows = Vec::with_capacity(common.len());
        let mut j = 0;
        for (i, t) in c.timestamp_ms.iter().enumerate() {
            if j < common.len() && common[j] == *t {
                rows.push(i);
                j += 1;
            }
        }
        let kept = c.select(&rows);
        dropped.push(c.len() - kept.len());
        out.push((name, kept));
    }
    Ok(Aligned { timestamp_ms: common, pairs: out, dropped })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candles(ts: &[i64]) -> Candles {
        let n = ts.len();
        let v: Vec<f64> = ts.iter().map(|t| *t as f64 + 1.0).collect();
        Candles {
            timestamp_ms: ts.to_vec(),
            open: v.clone(),
            high: v.clone(),
            low: v.clone(),
            close: v,
            volume: vec![1.0; n],
        }
    }

    #[test]
    fn align_is_an_inner_join_on_time() {
        let a = Aligned {
            timestamp_ms: vec![2, 4],
            pairs: vec![("A".into(), candles(&[2, 4])), ("B".into(), candles(&[2, 4]))],
            dropped: vec![3, 1],
        };
        let got =
            align(vec![("A".into(), candles(&[1, 2, 3, 4, 5])), ("B".into(), candles(&[2, 4, 6]))])
                .expect("overlap");
        assert_eq!(got, a);
        assert!(align(vec![("A".into(), candles(&[1])), ("B".into(), candles(&[2]))]).is_err());
    }

    #[test]
    fn freqtrade_names() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("futures")).expect("mkdir");
        std::fs::write(dir.path().join("BTC_USDT-1h.json"), "[]").expect("write");
        std::fs::write(dir.path().join("futures/BTC_USDT_USDT-1h-futures.feather"), "x")
            .expect("write");
        assert!(
            freqtrade_file(dir.path(), "BTC/USDT", "1h")
                .expect("spot")
                .ends_with("BTC_USDT-1h.json")
        );
        let fut = freqtrade_file(dir.path(), "BTC/USDT:USDT", "1h").expect("futures");
        assert!(fut.ends_with("futures/BTC_USDT_USDT-1h-futures.feather"));
        let err = freqtrade_file(dir.path(), "ETH/USDT", "1h").expect_err("missing");
        assert!(err.to_string().contains("ETH_USDT-1h.{feather,json,json.gz,parquet}"), "{err}");
    }
}
