//! The ranking backtest (`long_short_rank`) against a direct pandas computation on real S&P
//! 500 candles (../shared/datasets/sp500_5yr): 21 stocks, one of them listed late (APTV) and
//! one missing two days (ORCL), ranked each day by their 5-day momentum, long the top 4 and
//! short the bottom 4, 5 bps a half-turn, filled at the close and at the next open. pandas
//! reads the CSV files itself; the two equity curves agree to 1e-9.

#[path = "../../../tests/support/loopback.rs"]
#[allow(dead_code)]
mod loopback;

use std::path::{Path, PathBuf};
use std::process::Command;

use quantsweep_evaluate::{BacktestConfig, Fill, RankRule, RankedUniverse, backtest_ranked};

const TICKERS: [&str; 21] = [
    "AAPL", "ABT", "ADBE", "AMGN", "AMZN", "APTV", "AXP", "BA", "CAT", "CSCO", "CVX", "DIS", "GE",
    "HD", "IBM", "JNJ", "JPM", "KO", "MSFT", "ORCL", "XOM",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Builds the universe from 2016-11-01 on and runs the backtest with `fill`.
fn ours(dir: &Path, fill: Fill) -> Vec<f64> {
    let candles: Vec<_> = TICKERS
        .iter()
        .map(|t| {
            let path = dir.join(format!("{t}_data.csv"));
            quantsweep_ingest::load(&path, &Default::default()).expect("csv").0
        })
        .collect();
    // Momentum on each stock's own bars, then the calendar from 2016-11-01.
    let start = 1_477_958_400_000; // 2016-11-01
    let mut times: Vec<i64> = candles.iter().flat_map(|c| c.timestamp_ms.clone()).collect();
    times.retain(|t| *t >= start);
    times.sort_unstable();
    times.dedup();
    let a = TICKERS.len();
    let mut open = vec![f64::NAN; times.len() * a];
    let mut close = open.clone();
    let mut pred = open.clone();
    for (k, c) in candles.iter().enumerate() {
        for (r, t) in c.timestamp_ms.iter().enumerate() {
            let Ok(i) = times.binary_search(t) else { continue };
            open[i * a + k] = c.open[r];
            close[i * a + k] = c.close[r];
            if r >= 5 {
                pred[i * a + k] = c.close[r] / c.close[r - 5] - 1.0;
            }
        }
    }
    let names: Vec<String> = TICKERS.iter().map(|t| (*t).to_owned()).collect();
    let universe = RankedUniverse {
        names: &names,
        times: &times,
        open: &open,
        close: &close,
        prediction: &pred,
    };
    let rule = RankRule { long: 4, short: 4, rebalance_bars: 1 };
    let cfg = BacktestConfig { fee_bps: 5.0, fill, ..BacktestConfig::default() };
    let run = backtest_ranked(&universe, &rule, &cfg).expect("backtest");
    assert!(run.trades.iter().any(|t| t.pair.as_deref() == Some("APTV")), "APTV trades");
    assert!(run.turnover > 0.05 && run.turnover < 2.0, "turnover {}", run.turnover);
    run.equity.iter().map(|p| p.equity).collect()
}

const PANDAS: &str = r#"
import sys
import numpy as np, pandas as pd
folder, fill, tickers = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
frames = []
for t in tickers:
    d = pd.read_csv(f"{folder}/{t}_data.csv", parse_dates=["date"])
    d["momentum"] = d.close / d.close.shift(5) - 1
    frames.append(d.assign(Name=t))
long = pd.concat(frames)
long = long[long.date >= "2016-11-01"]
close = long.pivot(index="date", columns="Name", values="close")[tickers]
open_ = long.pivot(index="date", columns="Name", values="open")[tickers]
pred = long.pivot(index="date", columns="Name", values="momentum")[tickers]
k, fee, cash = 4, 5e-4, 10_000.0
units = pd.Series(0.0, index=tickers)
last = pd.Series(np.nan, index=tickers)
pending, equity = None, []

def trade(weights, value, price):
    global cash, units
    ok = price.notna() & (price > 0)
    target = (weights * value / price).where(ok, units)
    delta = (target - units)[ok]
    cash -= (delta * price[ok]).sum() + fee * (delta.abs() * price[ok]).sum()
    units = target.where(ok, units)

dates = close.index
for i, day in enumerate(dates):
    if pending is not None:
        trade(*pending, open_.loc[day]); pending = None
    last = close.loc[day].combine_first(last)
    value = cash + (units * last).where(units != 0, 0.0).sum()
    rankable = pred.loc[day][close.loc[day].notna() & pred.loc[day].notna()]
    order = sorted(rankable.index, key=lambda t: (-rankable[t], tickers.index(t)))
    weights = pd.Series(0.0, index=tickers)
    if not (fill == "next_open" and i + 1 == len(dates)):
        n = len(order)
        lo, sh = (k, k) if n >= 2 * k else (min(k, n // 2), min(k, n // 2))
        weights[order[:lo]] = 1 / (2 * k)
        if sh:
            weights[order[n - sh:]] = -1 / (2 * k)
        if fill == "close":
            trade(weights, value, close.loc[day])
            value = cash + (units * last).where(units != 0, 0.0).sum()
        else:
            pending = (weights, value)
    equity.append(value)
print(" ".join(repr(float(v)) for v in equity))
"#;

#[test]
fn the_ranking_backtest_matches_pandas_on_sp500_candles() {
    let dir = std::env::var_os("QUANTSWEEP_SHARED_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/datasets"))
        .join("sp500_5yr");
    if !dir.exists() {
        assert!(std::env::var_os("CI").is_none(), "CI must have {}", dir.display());
        eprintln!("skipped: no {}", dir.display());
        return;
    }
    let Some(python) = loopback::venv_tool(&repo(), "python") else { return };
    for (fill, name) in [(Fill::Close, "close"), (Fill::NextOpen, "next_open")] {
        let ours = ours(&dir, fill);
        let out = Command::new(&python)
            .args(["-c", PANDAS])
            .arg(&dir)
            .arg(name)
            .arg(TICKERS.join(","))
            .output()
            .expect("python runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let theirs: Vec<f64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|v| v.parse().expect("a number"))
            .collect();
        assert_eq!(ours.len(), theirs.len(), "{name}: bars");
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{name}, bar {i}: ours {a}, pandas {b}");
        }
        let change = ours.last().expect("bars") / ours[0] - 1.0;
        eprintln!("{name}: {} bars, return {change:.4}", ours.len());
    }
}
