//! The bodies of the fuzz targets in fuzz/ (feature `fuzzing`), and the test that runs every
//! input they ever failed on (`fuzz/regressions/`) and every seed (`fuzz/seeds/`) in CI.
//!
//! A target fails (and libFuzzer keeps the input) on a panic, a timeout, memory past the
//! limit, or a failed check here: candles that break what loading promises (sorted unique
//! times, consistent positive prices), an error that does not name the file in one line, or
//! two readers of the same bytes that disagree.
//!
//! Each input starts with a byte that picks the load options ([`options`]); the CSV target
//! reads a second one (see [`csv`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::{
    Candles, ColumnMap, DuplicatePolicy, FillGaps, Format, IngestError, InvalidPolicy, LastCandle,
    LoadOptions, LoadReport, load, parse, parse_at,
};

/// What loading gave.
pub type Loaded = Result<(Candles, LoadReport), IngestError>;

/// Lets panics that [`quantsweep_core::contain::contain`] catches (a decoder's, turned into
/// the file's error) pass silently; any other still reaches the hook set before, libFuzzer's,
/// which aborts: a finding. Each target calls it once, at start.
pub fn let_contained_panics_pass() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !quantsweep_core::contain::panic_is_contained() {
            hook(info);
        }
    }));
}

/// Load options from the bits of `byte`: duplicate policy, invalid candles, last candle, gaps.
pub fn options(byte: u8) -> LoadOptions {
    LoadOptions {
        duplicates: match byte & 3 {
            1 => DuplicatePolicy::KeepFirst,
            2 => DuplicatePolicy::Error,
            _ => DuplicatePolicy::KeepLast,
        },
        invalid: if byte & 4 == 0 { InvalidPolicy::Error } else { InvalidPolicy::Drop },
        last_candle: match (byte >> 3) & 3 {
            1 => LastCandle::DropIfUnfinished,
            2 => LastCandle::Drop,
            _ => LastCandle::Keep,
        },
        fill_gaps: if byte & 32 == 0 { FillGaps::None } else { FillGaps::Ffill },
        ..LoadOptions::default()
    }
}

const FORMATS: [Format; 5] =
    [Format::Auto, Format::BinanceKline, Format::CryptoDataDownload, Format::Yahoo, Format::Csv];

/// CSV in every dialect the reader knows (binance.vision klines, CryptoDataDownload, Yahoo,
/// any CSV with a header), plain or gzip-compressed, detected or named, with a column map
/// whose time pattern comes from the input.
///
/// Byte 1: bits 0–2 the format (auto, binance, cdd, yahoo, csv), bit 3 a `.csv.gz` name,
/// bit 4 a column map (`time`, `open`, ...; bit 5 adds `volume`) whose `time_format` is the
/// first line of the rest.
pub fn csv(data: &[u8]) {
    let [a, b, rest @ ..] = data else { return };
    let mut options = options(*a);
    options.format = FORMATS[usize::from(b & 7) % FORMATS.len()];
    let name = if b & 8 == 0 { "fuzz.csv" } else { "fuzz.csv.gz" };
    let mut bytes = rest;
    if b & 16 != 0 {
        let (pattern, after) = match rest.iter().position(|&c| c == b'\n') {
            Some(at) => (&rest[..at], &rest[at + 1..]),
            None => (rest, &[][..]),
        };
        options.columns = Some(ColumnMap {
            time: "time".into(),
            open: "open".into(),
            high: "high".into(),
            low: "low".into(),
            close: "close".into(),
            volume: (b & 32 != 0).then(|| "volume".into()),
            time_format: Some(String::from_utf8_lossy(pattern).into_owned()),
        });
        bytes = after;
    }
    check(name, &parse(bytes.to_vec(), Path::new(name), &options));
}

/// freqtrade's JSON candles (`[[ms, open, high, low, close, volume], ...]`); bit 7 of byte 0
/// names the file `.json.gz`.
pub fn json(data: &[u8]) {
    let [a, rest @ ..] = data else { return };
    let name = if a & 128 == 0 { "fuzz.json" } else { "fuzz.json.gz" };
    check(name, &parse(rest.to_vec(), Path::new(name), &options(*a)));
}

/// Feather (Arrow IPC) files, read from memory and from a file, which must agree; and where
/// the in-place decoder reads a file, arrow's reader must read the same rows.
pub fn feather(data: &[u8]) {
    let [a, rest @ ..] = data else { return };
    let name = "fuzz.feather";
    memory_and_file(name, rest, &options(*a));
    let path = Path::new(name);
    if let Some(decoded) = crate::feather::read(crate::feather::Input::Memory(rest), path) {
        let open = || Ok(std::io::Cursor::new(rest));
        match crate::columnar::read_feather_from(open, rest.len(), path) {
            Ok(by_arrow) => {
                assert!(
                    same_candles(&decoded.candles, &by_arrow.candles),
                    "decoder and arrow differ"
                );
                assert_eq!(decoded.no_volume, by_arrow.no_volume, "decoder and arrow: volume");
            }
            // liblz4 (the decoder's, and polars') copies a match of offset 0, which the LZ4
            // format calls invalid and lz4_flex (arrow's) refuses: the one leniency of liblz4
            // fuzzing found. Memory-safe (the match stays inside the output), and what a
            // damaged block decodes to either way, where the frame has no checksum.
            Err(e) if e.to_string().contains("DecompressionError(OffsetZero)") => {}
            Err(e) => panic!("the decoder reads a file that arrow refuses: {e}"),
        }
    }
}

/// Parquet files, read from memory and from a file (positional reads), which must agree.
pub fn parquet(data: &[u8]) {
    let [a, rest @ ..] = data else { return };
    memory_and_file("fuzz.parquet", rest, &options(*a));
}

/// Loads `bytes` named `name` from memory and from a scratch file, checks both, and checks
/// that they agree.
fn memory_and_file(name: &str, bytes: &[u8], options: &LoadOptions) {
    let file = scratch_file(name, bytes);
    // Both with the file's modification time: a last candle that closes after it may be
    // dropped as unfinished, and it is the readers that are compared here, not that policy
    // (found by fuzzing: a last candle far ahead, dropped from the file only, left a gap to
    // fill in memory only).
    let modified = crate::modified_ms(&file);
    let from_memory = parse_at(bytes.to_vec(), Path::new(name), options, modified);
    check(name, &from_memory);
    let from_file = load(file, options);
    check(name, &from_file);
    match (&from_memory, &from_file) {
        (Ok((x, _)), Ok((y, _))) => assert!(same_candles(x, y), "memory and file differ"),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => panic!("memory and file: only one fails: {e}"),
    }
}

/// Checks what loading `name` gave: candles keep every promise of [`load`]; an error names
/// the file, in one line.
pub fn check(name: &str, loaded: &Loaded) {
    match loaded {
        Ok((candles, _)) => check_candles(candles),
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains(name), "the error does not name {name}: {message}");
            assert!(!message.contains('\n'), "the error is not one line: {message}");
        }
    }
}

/// Loaded candles: at least one, sorted unique times, positive finite prices with low and
/// high around open and close, no negative volume.
pub fn check_candles(c: &Candles) {
    let n = c.len();
    assert!(n > 0, "loaded no candles without an error");
    for column in [&c.open, &c.high, &c.low, &c.close, &c.volume] {
        assert_eq!(column.len(), n, "columns of different lengths");
    }
    assert!(c.timestamp_ms.windows(2).all(|w| w[0] < w[1]), "times not strictly increasing");
    for i in 0..n {
        let (o, h, l, cl, v) = (c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]);
        assert!(
            [o, h, l, cl].iter().all(|p| p.is_finite() && *p > 0.0),
            "row {i}: a price is not positive and finite: {o} {h} {l} {cl}"
        );
        assert!(l <= o.min(cl) && h >= o.max(cl), "row {i}: inconsistent OHLC {o} {h} {l} {cl}");
        assert!(v.is_nan() || v >= 0.0, "row {i}: negative volume {v}");
    }
}

/// True when the two candle sets are the same, bit for bit (NaN volumes included).
pub fn same_candles(a: &Candles, b: &Candles) -> bool {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    a.timestamp_ms == b.timestamp_ms
        && [
            (&a.open, &b.open),
            (&a.high, &b.high),
            (&a.low, &b.low),
            (&a.close, &b.close),
            (&a.volume, &b.volume),
        ]
        .into_iter()
        .all(|(x, y)| bits(x) == bits(y))
}

/// Writes `bytes` to a file called `name` in this process's scratch folder (in /dev/shm when
/// there is one) and returns its path.
fn scratch_file(name: &str, bytes: &[u8]) -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let made = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() };
        made.expect("a scratch folder")
    });
    // Each thread its own file: the test runs several targets at once.
    let thread =
        format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_alphanumeric(), "");
    let path = dir.path().join(format!("{thread}-{name}"));
    std::fs::write(&path, bytes).expect("write the scratch file");
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every input a fuzz target ever failed on (kept in `fuzz/regressions/<target>/` once
    /// fixed), and every seed, passes its target's checks.
    #[test]
    fn fuzz_regressions_and_seeds_pass_their_targets() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
        type Target = (&'static str, fn(&[u8]));
        let targets: [Target; 4] =
            [("csv", csv), ("json", json), ("feather", feather), ("parquet", parquet)];
        let mut ran = 0;
        for (target, body) in targets {
            for kind in ["regressions", "seeds"] {
                let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join(target)) else { continue };
                for entry in entries {
                    let path = entry.expect("a directory entry").path();
                    let data = std::fs::read(&path).expect("read the input");
                    let outcome = std::panic::catch_unwind(|| body(&data));
                    assert!(outcome.is_ok(), "{} fails its target", path.display());
                    ran += 1;
                }
            }
        }
        assert!(ran >= 20, "only {ran} fuzz inputs found under {}", fuzz.display());
    }
}
