//! Backtests per second of 10,000 bars, threshold and proportional strategies, on bars and
//! predictions written by `scripts/bench-evaluate` (which times vectorbt on the same signals
//! and prints the ratios). One thread. Prints one JSON line per strategy, with the final
//! equity for a cross-check.
//!
//! `cargo bench -p quantsweep-evaluate --bench backtest -- BARS.csv [--repeat N]`
//! (`BARS.csv`: `timestamp_ms,open,close,value` with a header.)
//!
//! `... -- --universe DIR [--repeat N]`: the ranking backtest (`long_short_rank`, long 10,
//! short 10, every bar) on `DIR/{open,close,prediction}.f64` (little-endian `[bars ×
//! assets]`, sizes in `DIR/shape.txt`: `bars assets`); prints milliseconds per backtest.

use quantsweep_evaluate::{
    BacktestConfig, Bar, RankRule, RankedUniverse, StrategyConfig, backtest, backtest_ranked,
};

// The `quantsweep` binary's allocator: each backtest allocates its equity curve afresh.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let path = args.first().expect("usage: backtest BARS.csv [--repeat N]");
    let repeat: usize = args
        .iter()
        .position(|a| a == "--repeat")
        .and_then(|i| args.get(i + 1))
        .map_or(2_000, |r| r.parse().expect("--repeat N"));
    if path == "--universe" {
        return universe(Path::new(args.get(1).expect("--universe DIR")), repeat.min(200));
    }
    let text = std::fs::read_to_string(path).expect("bars file");
    let (mut bars, mut values) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| f[i].parse::<f64>().expect("a number");
        bars.push(Bar { timestamp_ms: num(0) as i64, open: num(1), close: num(2) });
        values.push(num(3));
    }
    let cfg = BacktestConfig { fee_bps: 10.0, ..BacktestConfig::default() };
    let strategies = [
        (
            "threshold",
            StrategyConfig::Threshold {
                enter: 1.002,
                exit: 0.998,
                short: true,
                trailing_stop: None,
                roi_exit: None,
            },
        ),
        ("proportional", StrategyConfig::BlanklyProportional { scale: 2.0, average: false }),
    ];
    for (name, config) in strategies {
        let mut end = 0.0;
        let start = std::time::Instant::now();
        for _ in 0..repeat {
            let mut s = config.strategy(&values).expect("strategy");
            let run = backtest(&bars, s.as_mut(), &cfg).expect("backtest");
            end = run.equity.last().expect("bars").equity;
        }
        let per_second = repeat as f64 / start.elapsed().as_secs_f64();
        println!(
            r#"{{"strategy": "{name}", "bars": {}, "backtests_per_s": {per_second:.1}, "final_equity": {end:.6}}}"#,
            bars.len()
        );
    }
}

use std::path::Path;

/// The ranking backtest on a universe written by `scripts/bench-evaluate`.
fn universe(dir: &Path, repeat: usize) {
    let shape = std::fs::read_to_string(dir.join("shape.txt")).expect("shape.txt");
    let n: Vec<usize> = shape.split_whitespace().map(|v| v.parse().expect("size")).collect();
    let (bars, assets) = (n[0], n[1]);
    let read = |name: &str| -> Vec<f64> {
        let bytes = std::fs::read(dir.join(name)).expect("matrix");
        bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect()
    };
    let (open, close, prediction) = (read("open.f64"), read("close.f64"), read("prediction.f64"));
    let times: Vec<i64> = (0..bars as i64).map(|i| i * 86_400_000).collect();
    let names: Vec<String> = (0..assets).map(|a| format!("A{a}")).collect();
    let u = RankedUniverse {
        names: &names,
        times: &times,
        open: &open,
        close: &close,
        prediction: &prediction,
    };
    let rule = RankRule { long: 10, short: 10, rebalance_bars: 1 };
    let cfg = BacktestConfig { fee_bps: 5.0, ..BacktestConfig::default() };
    let mut end = 0.0;
    let mut trades = 0;
    let start = std::time::Instant::now();
    for _ in 0..repeat {
        let run = backtest_ranked(&u, &rule, &cfg).expect("backtest");
        end = run.equity.last().expect("bars").equity;
        trades = run.trades.len();
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / repeat as f64;
    println!(
        r#"{{"strategy": "long_short_rank", "bars": {bars}, "assets": {assets}, "ms_per_backtest": {ms:.3}, "trades": {trades}, "final_equity": {end:.6}}}"#
    );
}
