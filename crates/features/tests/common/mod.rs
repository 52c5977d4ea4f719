//! Shared by the golden tests: real candles from ../shared/datasets, and a Python reference
//! (TA-Lib, tulipy, pandas, `ta` in the venv scripts/setup creates) evaluated on them.

#![allow(dead_code)]

#[path = "../../../../tests/support/loopback.rs"]
#[allow(dead_code)]
mod loopback;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use quantsweep_ingest::{Candles, LoadOptions, load};

/// Reads the candles `<dir>/{open,high,low,close,volume}.f64` and `time.i64`, runs
/// `<dir>/prelude.py`, evaluates each `name = expression` line of `<dir>/cases.txt`, and
/// writes `<dir>/<name>.<k>.f64` for output `k` (tuples and DataFrames give one output per
/// element or column).
const RUNNER: &str = r#"
import sys, numpy as np, pandas as pd
d = sys.argv[1]
o, h, l, c, v = (np.fromfile(f"{d}/{k}.f64", dtype="<f8") for k in ["open", "high", "low", "close", "volume"])
t = np.fromfile(f"{d}/time.i64", dtype="<i8")
df = pd.DataFrame({"open": o, "high": h, "low": l, "close": c, "volume": v,
                   "date": pd.to_datetime(t, unit="ms", utc=True)})
exec(open(f"{d}/prelude.py").read())
for line in open(f"{d}/cases.txt"):
    name, expr = line.strip().split(" = ", 1)
    out = eval(expr)
    if isinstance(out, pd.DataFrame):
        out = tuple(out[col] for col in out.columns)
    for k, a in enumerate(out if isinstance(out, tuple) else (out,)):
        np.asarray(a, dtype="<f8").tofile(f"{d}/{name}.{k}.f64")
"#;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the shared collection; `None` (test skipped) outside CI when it is absent.
pub fn shared(file: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("QUANTSWEEP_SHARED_DATASETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/datasets"));
    let path = dir.join(file);
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "CI must have {}", path.display());
    eprintln!("skipped: no {}", path.display());
    None
}

/// The venv's Python; `None` (test skipped) outside CI when it is absent.
pub fn python() -> Option<PathBuf> {
    loopback::venv_tool(&repo(), "python")
}

/// Candles of a shared file.
pub fn candles(file: &str) -> Option<Candles> {
    let path = shared(file)?;
    Some(load(&path, &LoadOptions::default()).expect("load").0)
}

fn write_f64(path: &Path, values: &[f64]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write");
}

fn read_f64(path: &Path) -> Vec<f64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect()
}

/// Evaluates `cases` (`(name, Python expression)`) on `candles` after `prelude`; returns each
/// case's outputs. `None` when the venv is missing (outside CI).
pub fn reference(
    candles: &Candles,
    prelude: &str,
    cases: &[(&str, &str)],
) -> Option<BTreeMap<String, Vec<Vec<f64>>>> {
    let python = python()?;
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, column) in [
        ("open", &candles.open),
        ("high", &candles.high),
        ("low", &candles.low),
        ("close", &candles.close),
        ("volume", &candles.volume),
    ] {
        write_f64(&dir.path().join(format!("{name}.f64")), column);
    }
    let times: Vec<u8> = candles.timestamp_ms.iter().flat_map(|t| t.to_le_bytes()).collect();
    std::fs::write(dir.path().join("time.i64"), times).expect("times");
    std::fs::write(dir.path().join("prelude.py"), prelude).expect("prelude");
    let list: String = cases.iter().map(|(n, e)| format!("{n} = {e}\n")).collect();
    std::fs::write(dir.path().join("cases.txt"), list).expect("cases");
    let status =
        Command::new(python).args(["-c", RUNNER]).arg(dir.path()).status().expect("run python");
    assert!(status.success(), "the Python reference failed");
    let mut out = BTreeMap::new();
    for (name, _) in cases {
        let outputs: Vec<Vec<f64>> = (0..)
            .map(|k| dir.path().join(format!("{name}.{k}.f64")))
            .take_while(|p| p.exists())
            .map(|p| read_f64(&p))
            .collect();
        out.insert((*name).to_owned(), outputs);
    }
    Some(out)
}

pub fn warm_up(x: &[f64]) -> usize {
    x.iter().take_while(|v| v.is_nan()).count()
}

/// Compares `got` with `want`: the same warm-up, then every value within `rel` of
/// `max(|want|, scale(i))`; NaN and infinities must agree exactly. Returns a line describing
/// the first difference, if any.
pub fn compare(
    what: &str,
    got: &[f64],
    want: &[f64],
    rel: f64,
    scale: impl Fn(usize) -> f64,
) -> Option<String> {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if warm_up(got) != warm_up(want) {
        return Some(format!("{what}: warm-up {} rows, reference {}", warm_up(got), warm_up(want)));
    }
    let bad: Vec<usize> = (warm_up(want)..want.len())
        .filter(|&i| {
            let (g, w) = (got[i], want[i]);
            if !w.is_finite() || !g.is_finite() {
                return !(g == w || (g.is_nan() && w.is_nan()));
            }
            (g - w).abs() > rel * w.abs().max(scale(i))
        })
        .collect();
    let &i = bad.first()?;
    Some(format!(
        "{what}: {} of {} rows differ; first at row {i}: {} vs reference {}",
        bad.len(),
        want.len(),
        got[i],
        want[i]
    ))
}
