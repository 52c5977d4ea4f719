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
    })
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
