//! Times the indicators the freqAI-LSTM target computes (its README's "Step 0" and the
//! SMA(100) regime filter: 11 TA-Lib calls) on the candles of the file named on the command
//! line, printing `{"file", "rows", "best_s", "median_s"}`. Run by scripts/bench-features,
//! which times TA-Lib on the same candles in the same run.
//!
//!   cargo bench -p quantsweep-features --bench indicators -- FILE [--repeat N]
//!
//! With `PER_CALL=1` it also prints each call's best time to stderr (`rsi 0.00236`), to find
//! which indicator to work on; TA-Lib's per-call times come from timing its calls alike.

#[path = "../../../tests/support/bench.rs"]
mod bench;

use std::hint::black_box;
use std::time::Instant;

use quantsweep_features::indicators::{self as ind, MaType};
use quantsweep_ingest::{LoadOptions, load};

/// The allocator of the `quantsweep` binary, so that the times are what users get.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let (files, repeat) = bench::args();
    let Some(file) = files.first() else {
        eprintln!("usage: indicators FILE [--repeat N]");
        std::process::exit(2);
    };
    let c = match load(file, &LoadOptions::default()) {
        Ok((c, _)) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let (h, l, cl, v) = (&c.high[..], &c.low[..], &c.close[..], &c.volume[..]);
    let calls: [(&str, &dyn Fn()); 11] = [
        ("sma10", &|| drop(black_box(ind::sma(cl, 10)))),
        ("roc", &|| drop(black_box(ind::roc(cl, 2)))),
        ("macd", &|| drop(black_box(ind::macd(cl, 26, 12, 9)))),
        ("mom", &|| drop(black_box(ind::mom(cl, 4)))),
        ("rsi", &|| drop(black_box(ind::rsi(cl, 10)))),
        ("bbands", &|| drop(black_box(ind::bbands(cl, 20, 2.0, 2.0, MaType::Sma)))),
        ("cci", &|| drop(black_box(ind::cci(h, l, cl, 20)))),
        ("stoch", &|| drop(black_box(ind::stoch(h, l, cl, 5, (3, MaType::Sma), (3, MaType::Sma))))),
        ("atr", &|| drop(black_box(ind::atr(h, l, cl, 14)))),
        ("obv", &|| drop(black_box(ind::obv(cl, v)))),
        ("sma100", &|| drop(black_box(ind::sma(cl, 100)))),
    ];
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    };
    if std::env::var_os("PER_CALL").is_some() {
        for (name, f) in &calls {
            let best = (0..repeat).map(|_| time(*f)).fold(f64::INFINITY, f64::min);
            eprintln!("{name} {best:.5}");
        }
    }
    let times = (0..repeat).map(|_| time(&|| calls.iter().for_each(|(_, f)| f()))).collect();
    bench::report(file, c.len(), times);
}
