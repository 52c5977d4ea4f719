//! Command line and report of the benchmark binaries (`crates/*/benches`, `#[path]`-included):
//! `FILE... [--repeat N]` in, one JSON line per file out.

/// The files named on the command line and `--repeat N` (default 5).
pub fn args() -> (Vec<String>, usize) {
    let mut args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let mut repeat = 5;
    if let Some(i) = args.iter().position(|a| a == "--repeat") {
        repeat = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(repeat);
        args.drain(i..(i + 2).min(args.len()));
    }
    (args, repeat.max(1))
}

/// Prints `{"file", "rows", "best_s", "median_s"}` for the run times of `file`.
pub fn report(file: &str, rows: usize, mut times: Vec<f64>) {
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"file\": {file:?}, \"rows\": {rows}, \"best_s\": {:.6}, \"median_s\": {:.6}}}",
        times[0],
        times[times.len() / 2]
    );
}
