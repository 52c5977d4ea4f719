//! Times `quantsweep_ingest::load` (read + parse + validate + repair) on the files named on
//! the command line, printing one JSON line per file: `{"file", "rows", "best_s", "median_s"}`.
//! Run by scripts/bench-ingest, which times polars on the same files in the same run.
//!
//!   cargo bench -p quantsweep-ingest --bench read -- FILE... [--repeat N]

#[path = "../../../tests/support/bench.rs"]
mod bench;

use std::time::Instant;

use quantsweep_ingest::{LoadOptions, load};

/// The allocator of the `quantsweep` binary, so that the times are what users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let (files, repeat) = bench::args();
    for file in files {
        let mut times = Vec::with_capacity(repeat);
        let mut rows = 0;
        for _ in 0..repeat {
            let start = Instant::now();
            match load(&file, &LoadOptions::default()) {
                Ok((candles, _)) => rows = candles.len(),
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
            times.push(start.elapsed().as_secs_f64());
        }
        bench::report(&file, rows, times);
    }
}
