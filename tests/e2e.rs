//! End-to-end tests of the `quantsweep` binary on the bundled real data, in temp dirs.
//!
//! Outputs are read back with the tools users read them with: pyarrow/pandas for Parquet and
//! TensorBoard's own event loader, from the venv `scripts/setup` creates (`.venv`).

#[path = "support/loopback.rs"]
mod loopback;
#[path = "support/moto.rs"]
mod moto;
#[path = "support/proxy.rs"]
mod proxy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn quantsweep(args: &[&str]) -> Output {
    quantsweep_in(&repo(), args)
}

/// The binary, to run from the repository root (arguments, environment and pipes to add).
fn quantsweep_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quantsweep"));
    c.current_dir(repo());
    c
}

/// The binary run with `dir` as its current directory.
fn quantsweep_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quantsweep"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the quantsweep binary runs")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn python() -> PathBuf {
    let p = repo().join(".venv/bin/python");
    assert!(p.exists(), "{} is missing: run scripts/setup first", p.display());
    p
}

/// Runs a Python snippet with `out` as `sys.argv[1]`; panics with its output if it fails.
fn check_with_python(script: &str, out: &Path) -> String {
    check_python(script, &[out.as_os_str()])
}

/// Runs a Python snippet with `args` as `sys.argv[1..]`; panics with its output if it fails.
fn check_python(script: &str, args: &[&std::ffi::OsStr]) -> String {
    let o = Command::new(python()).arg("-c").arg(script).args(args).output().expect("python runs");
    assert!(o.status.success(), "python check failed:\n{}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// docs/notebooks.md's Python blocks in order, on the sweep in `sys.argv[1]`, then checks
/// that pandas, polars and duckdb agree.
fn notebook_page() -> String {
    let page = std::fs::read_to_string(repo().join("docs/notebooks.md")).expect("notebooks.md");
    let blocks: Vec<&str> = page
        .split("```python\n")
        .skip(1)
        .map(|b| b.split("```").next().expect("a closed block"))
        .collect();
    assert_eq!(blocks.len(), 3, "pandas, polars and duckdb blocks");
    let code = blocks.concat();
    assert!(code.contains("out = \"results/quickstart\""));
    let code = code.replace("out = \"results/quickstart\"", "import sys\nout = sys.argv[1]");
    code + r#"
import numpy as np
assert len(trials) == 4 and len(curves.columns) == 4 and len(hold) == len(first)
a = pandas_view.sort_values("trial_id").reset_index(drop=True)
b = polars_view.to_pandas()
assert list(a.trial_id) == list(b.trial_id) == list(duckdb_view.trial_id) == [0, 1, 2, 3]
assert np.allclose(a.best_val_loss, b.best_val_loss) and np.allclose(a.best_val_loss, duckdb_view.best_val_loss)
assert np.allclose(a["metric.sharpe"], duckdb_view["metric.sharpe"])
last = equity.sort_values("timestamp").groupby("trial_id").equity.last()
assert np.allclose(last.values, duckdb_view.final_equity.values)
print("notebook ok")
"#
}

/// The quickstart at a smoke budget, into `out`.
fn smoke(out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().expect("utf-8 temp path");
    let mut args =
        vec!["run", "pipelines/quickstart.yaml", "--set", "train.epochs=15", "--out", out];
    args.extend_from_slice(extra);
    quantsweep(&args)
}

const READ_BACK: &str = r#"
import sys, glob, os
import pandas as pd, pyarrow.parquet as pq
out = sys.argv[1]
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
spec = ["trial_id", "status", "error", "params.model.hidden", "params.train.lr", "seed",
        "started_at", "finished_at", "duration_s", "worker", "device", "epochs"]
missing = [c for c in spec if c not in t.columns]
assert not missing, missing
metrics = ["sharpe", "sortino", "calmar", "cagr", "total_return", "max_drawdown", "volatility",
           "var_95", "cvar_95", "buy_hold_return", "accuracy", "val_loss"]
missing = [m for m in metrics if "metric." + m not in t.columns]
assert not missing, missing
assert len(t) == 4, len(t)
assert list(t.trial_id) == [0, 1, 2, 3]
assert set(t.status) == {"complete"}, t.status
assert t.error.isna().all()
assert (t.epochs == 15).all()
assert sorted(set(t["params.model.hidden"])) == [16, 32]
assert str(t["started_at"].dtype).startswith("datetime64"), t["started_at"].dtype
assert t["metric.val_loss"].notna().all() and (t["metric.val_loss"] > 0).all()
assert t["metric.accuracy"].between(0, 1).all()
assert set(t.worker) == {0, 1}, t.worker
e = pq.read_table(os.path.join(out, "epochs.parquet")).to_pandas()
assert len(e) == 4 * 15 and list(e.columns[:4]) == ["trial_id", "epoch", "train_loss", "val_loss"]
q = pd.read_parquet(os.path.join(out, "equity.parquet"))
assert list(q.columns) == ["trial_id", "timestamp", "price", "position", "cash", "equity"]
assert q.groupby("trial_id").size().nunique() == 1 and len(q) > 4 * 100
first = q[q.trial_id == 0].iloc[0]
assert first.equity == 10000.0 and first.position == 0.0
tr = pd.read_parquet(os.path.join(out, "trades.parquet"))
assert list(tr.columns) == ["trial_id", "entry_time", "exit_time", "side", "size", "entry_price",
                            "exit_price", "fees", "pnl", "closed"], tr.columns
assert set(tr.side) <= {"long"} and (tr.exit_time >= tr.entry_time).all()
for trial, g in tr.groupby("trial_id"):
    curve = q[q.trial_id == trial].equity
    assert abs(g.pnl.sum() - (curve.iloc[-1] - curve.iloc[0])) < 1e-6, (trial, g.pnl.sum())
    assert t[t.trial_id == trial]["metric.trades"].iloc[0] == len(g)
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
runs = sorted(os.listdir(os.path.join(out, "tensorboard")), key=int)
assert runs == ["0", "1", "2", "3"], runs
for run in runs:
    ea = EventAccumulator(os.path.join(out, "tensorboard", run)); ea.Reload()
    train = ea.Scalars("loss/train")
    assert [s.step for s in train] == list(range(15)), [s.step for s in train]
    assert len(ea.Scalars("loss/val")) == 15
    assert "metric/sharpe" in ea.Tags()["scalars"]
    content = ea.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = start.session_start_info.hparams
    row = t[t.trial_id == int(run)].iloc[0]
    assert hp["model.hidden"].number_value == row["params.model.hidden"]
    assert abs(hp["train.lr"].number_value - row["params.train.lr"]) < 1e-12
    end = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"])
    assert end.session_end_info.status == 1  # STATUS_SUCCESS
pr = pd.read_parquet(os.path.join(out, "predictions.parquet"))
assert list(pr.columns) == ["trial_id", "timestamp", "output", "prediction", "actual"], pr.columns
assert set(pr.output) == {0, 1, 2} and pr.groupby("trial_id").size().nunique() == 1
assert pr.timestamp.min() >= q.timestamp.min() and (pr.actual > 0).all()
first_out = pr[pr.output == 0]
hits = ((first_out.prediction > 1) == (first_out.actual > 1)).groupby(first_out.trial_id).mean()
assert abs(hits - t.set_index("trial_id")["metric.accuracy"]).max() < 1e-12, hits
import json
summary = json.load(open(os.path.join(out, "summary.json")))
d, p = summary["deflated_sharpe"], summary["pbo"]
assert 0 <= d["probability"] <= 1 and d["trials"] == 4 and d["trial_id"] in range(4), d
assert 0 <= p["probability"] <= 1 and p["trials"] == 4 and p["splits"] == 12870, p
print("ok", len(t), t["metric.sharpe"].round(6).tolist())
"#;

#[test]
fn quickstart_writes_tables_and_tensorboard_that_pandas_and_tensorboard_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("qs");
    let o = smoke(&out, &["--workers", "2"]);
    assert!(o.status.success(), "run failed:\n{}", text(&o));
    for f in [
        "trials.parquet",
        "epochs.parquet",
        "equity.parquet",
        "summary.json",
        "pipeline.resolved.yaml",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let resolved = std::fs::read_to_string(out.join("pipeline.resolved.yaml")).expect("resolved");
    assert!(resolved.contains("epochs: 15"), "overrides are applied in the resolved pipeline");
    let printed = check_with_python(READ_BACK, &out);
    assert!(printed.starts_with("ok 4"), "{printed}");
    let printed = check_with_python(&notebook_page(), &out);
    assert!(printed.trim_end().ends_with("notebook ok"), "{printed}");

    // `report` reads the tables back: the best trials in the terminal, report.html beside them.
    let o = quantsweep(&["report", out.to_str().expect("utf-8"), "--top", "3"]);
    assert!(o.status.success(), "report failed:\n{}", text(&o));
    let printed = text(&o);
    assert!(printed.contains("4 trials: 4 complete"), "{printed}");
    assert!(
        printed.contains("top 3 of 4 complete trials by sharpe (higher is better):"),
        "{printed}"
    );
    assert!(printed.contains("deflated Sharpe ratio of the best trial"), "{printed}");
    let table: Vec<&str> = printed.lines().skip_while(|l| !l.starts_with("rank")).take(4).collect();
    assert!(table[0].contains("model.hidden") && table[0].contains("train.lr"), "{printed}");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    assert_eq!(html.matches("<svg").count(), 5, "equity, 2 parameters, distribution, curves");
    assert!(html.contains("<title>quantsweep report: quickstart</title>"));
    // A reader that goes away (`report OUT | head -1`) is not a panic, whatever the command.
    let out_arg = out.to_str().expect("utf-8");
    for args in [
        &["report", out_arg][..],
        &["data", "inspect", "datasets/eth-usdt-1d.csv"],
        &["data", "inspect", "datasets/eth-usdt-1d.csv", "--json"],
        &["validate", "pipelines/quickstart.yaml"],
    ] {
        let mut child = quantsweep_command()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the quantsweep binary starts");
        drop(child.stdout.take());
        let o = child.wait_with_output().expect("the command ends");
        assert!(o.status.success() && !text(&o).contains("panicked"), "{args:?}: {}", text(&o));
    }
    let o = quantsweep(&["report", dir.path().to_str().expect("utf-8")]);
    assert!(!o.status.success());
    assert!(text(&o).contains("trials.parquet does not exist: is"), "{}", text(&o));

    // The same sweep on one worker gives the same results: trials are independent of
    // scheduling (seeded init under a lock, one torch thread).
    let serial = dir.path().join("serial");
    let o = smoke(&serial, &["--workers", "1"]);
    assert!(o.status.success(), "serial run failed:\n{}", text(&o));
    let compare = r#"
import sys, pandas as pd
a = pd.read_parquet(sys.argv[1] + "/qs/trials.parquet")
b = pd.read_parquet(sys.argv[1] + "/serial/trials.parquet")
cols = [c for c in a.columns if c.startswith("metric.") or c.startswith("params.")] + ["seed"]
pd.testing.assert_frame_equal(a[cols], b[cols])
ea = pd.read_parquet(sys.argv[1] + "/qs/epochs.parquet")
eb = pd.read_parquet(sys.argv[1] + "/serial/epochs.parquet")
pd.testing.assert_frame_equal(ea, eb)
print("identical")
"#;
    assert_eq!(check_with_python(compare, dir.path()).trim(), "identical");
}

#[test]
fn rerun_resumes_and_only_runs_unfinished_trials() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("resume");
    assert!(smoke(&out, &[]).status.success());
    // Drop the last finished trial from the journal, as if the run had died before it.
    let journal = out.join("journal.jsonl");
    let lines: Vec<String> =
        std::fs::read_to_string(&journal).expect("journal").lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 4);
    std::fs::write(&journal, lines[..3].join("\n") + "\n").expect("truncate journal");
    let o = smoke(&out, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 of 4 trials already finished, 1 to run"), "{}", text(&o));
    // The progress line's best counts the trials the resume found finished (#23).
    let best = check_with_python(
        r#"
import sys, pandas as pd
t = pd.read_parquet(sys.argv[1] + "/trials.parquet")
b = t.loc[t["metric.sharpe"].idxmax()]
print(f"best sharpe {b['metric.sharpe']:.4f} (trial {b.trial_id})")
"#,
        &out,
    );
    let line = text(&o).lines().find(|l| l.starts_with("[4/4]")).map(str::to_owned);
    assert!(line.as_deref().is_some_and(|l| l.contains(best.trim())), "{line:?} vs {best}");
    let again = std::fs::read_to_string(&journal).expect("journal");
    assert_eq!(again.lines().count(), 4);
    let count = r#"
import sys, pandas as pd
t = pd.read_parquet(sys.argv[1] + "/trials.parquet")
assert list(t.trial_id) == [0, 1, 2, 3] and (t.status == "complete").all(), t
print("ok")
"#;
    check_with_python(count, &out);

    // A different pipeline into the same folder is refused, and nothing there is touched.
    let o = quantsweep(&[
        "run",
        "pipelines/quickstart.yaml",
        "--set",
        "train.epochs=16",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(!o.status.success());
    // The message names what differs (#23).
    assert!(text(&o).contains("holds the results of a different sweep"), "{}", text(&o));
    assert!(text(&o).contains("train.epochs: 15 → 16"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&journal).expect("journal"), again);
    // With --force-new the old results go and the new sweep runs from scratch.
    let o = quantsweep(&[
        "run",
        "pipelines/quickstart.yaml",
        "--set",
        "train.epochs=16",
        "--force-new",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    // It says what it deletes, before deleting it (#23).
    assert!(
        text(&o).contains("--force-new: deleting the previous sweep's results in")
            && text(&o).contains(
                "(4 finished trials): journal.jsonl, pipeline.resolved.yaml, \
                trials.parquet"
            ),
        "{}",
        text(&o)
    );
    let fresh = std::fs::read_to_string(&journal).expect("journal");
    // Four trials of the new pipeline: 16 epochs each, not the old 15.
    assert_eq!(fresh.lines().count(), 4);
    assert_eq!(fresh.lines().next().map(|l| l.matches("\"extra\"").count()), Some(16));
    assert!(
        std::fs::read_to_string(out.join("pipeline.resolved.yaml"))
            .expect("resolved")
            .contains("epochs: 16")
    );
}

#[test]
fn a_failing_trial_is_recorded_and_the_sweep_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("failing");
    let pipeline = std::fs::read_to_string(repo().join("pipelines/quickstart.yaml"))
        .expect("quickstart")
        // A window longer than the data: valid on its own, it fails when the trial cuts its
        // samples. (A bad value such as a negative lr is refused before the sweep starts.)
        .replace("train.lr: {values: [0.001, 0.003]}", "window.input_bars: {values: [5, 4000]}");
    let path = dir.path().join("failing.yaml");
    std::fs::write(&path, pipeline).expect("write pipeline");
    let o = quantsweep(&[
        "run",
        path.to_str().expect("utf-8"),
        "--set",
        "train.epochs=5",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let check = r#"
import sys, pandas as pd
t = pd.read_parquet(sys.argv[1] + "/trials.parquet")
assert (t.status == "failed").sum() == 2 and (t.status == "complete").sum() == 2, t.status
err = t[t.status == "failed"].error.iloc[0]
assert "windows of 4000" in err and "too few" in err, err
print("ok")
"#;
    check_with_python(check, &out);
}

#[test]
fn bad_input_gives_one_clear_error_and_no_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let quickstart =
        std::fs::read_to_string(repo().join("pipelines/quickstart.yaml")).expect("quickstart");
    let cases = [
        (
            "missing-data",
            quickstart.replace("datasets/eth-usdt-1d.csv", "datasets/nope.csv"),
            vec![
                "data.source",
                "datasets/nope.csv",
                "is not there: relative paths are read from the current directory",
            ],
        ),
        (
            "syntax",
            quickstart.replace("  horizon_bars: 3", "  horizon_bars: [3"),
            vec!["syntax.yaml:"],
        ),
        (
            "unknown-key",
            quickstart.replace("  hidden: 20", "  hiden: 20"),
            vec!["syntax.yaml", "unknown field `hiden`", "did you mean `hidden`?"],
        ),
        (
            "unknown-feature",
            quickstart.replace("kind: rsi", "kind: rsx"),
            vec!["syntax.yaml:22:", "features[1].kind: unknown kind `rsx` (did you mean `rsi`?)"],
        ),
        (
            "unknown-feature-parameter",
            quickstart.replace("    period: 14", "    peroid: 14"),
            vec![
                "syntax.yaml:24:",
                "features[1].peroid: `rsi` takes no parameter `peroid` (did you mean `period`?)",
            ],
        ),
        (
            "unknown-feature-input",
            quickstart.replace("    period: 14", "    period: 14\n    input: close_ration"),
            vec!["features[1].input: no column `close_ration` (did you mean `close_ratio`?)"],
        ),
        (
            "missing-pair",
            quickstart.replace("    period: 14", "    period: 14\n    pair: BTC/USDT"),
            vec!["features[1].pair: no candles for pair `BTC/USDT`: add it to data.pairs"],
        ),
        (
            "balance-needs-classes",
            quickstart.replace("  test: 0.2", "  test: 0.2\n  balance: truncate"),
            vec!["split.balance: balancing needs a binary target (up_down)"],
        ),
    ];
    for (name, yaml, expected) in cases {
        let path =
            dir.path().join(if name == "missing-data" { "missing.yaml" } else { "syntax.yaml" });
        std::fs::write(&path, yaml).expect("write case");
        let out = dir.path().join(format!("out-{name}"));
        for command in ["validate", "run"] {
            let mut args = vec![command, path.to_str().expect("utf-8")];
            if command == "run" {
                args.extend(["--out", out.to_str().expect("utf-8")]);
            }
            let o = quantsweep(&args);
            let msg = text(&o);
            assert_eq!(o.status.code(), Some(1), "{name}/{command}: {msg}");
            assert!(!msg.contains("panicked"), "{name}/{command}: {msg}");
            assert_eq!(msg.trim().lines().count(), 1, "{name}/{command}: one line: {msg}");
            assert!(msg.starts_with("error: "), "{name}/{command}: {msg}");
            for e in &expected {
                assert!(msg.contains(e), "{name}/{command}: expected {e:?} in {msg}");
            }
            assert!(!out.join("trials.parquet").exists(), "{name}: nothing written on error");
        }
    }
}

/// #23, trying the product as a new user: relative paths are read from the current
/// directory (and the error says so, and where the file is when it is beside the pipeline);
/// `data inspect DIR` lists a freqtrade directory; `features` needs no `model`; a grid larger
/// than `max_trials` runs its first trials with a note; `validate` names the method plainly.
#[test]
fn paths_directories_and_budgets_answer_a_new_user() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A pipeline beside its data, run from another folder.
    let pipeline = std::fs::read_to_string(repo().join("pipelines/quickstart.yaml"))
        .expect("quickstart")
        .replace("datasets/eth-usdt-1d.csv", "eth.csv");
    std::fs::write(dir.path().join("p.yaml"), &pipeline).expect("pipeline");
    std::fs::copy(repo().join("datasets/eth-usdt-1d.csv"), dir.path().join("eth.csv"))
        .expect("data");
    let elsewhere = tempfile::tempdir().expect("another folder");
    let p = dir.path().join("p.yaml");
    let o = quantsweep_in(elsewhere.path(), &["validate", p.to_str().expect("utf-8")]);
    let said = text(&o);
    assert!(!o.status.success());
    assert!(
        said.contains(
            "data.source: eth.csv is not there: relative paths are read from the current directory"
        ) && said.contains(&format!(
            "it is beside the pipeline file ({})",
            dir.path().join("eth.csv").display()
        )),
        "{said}"
    );
    assert!(quantsweep_in(dir.path(), &["validate", "p.yaml"]).status.success());

    // A freqtrade data directory, listed.
    let o = quantsweep(&["data", "inspect", "datasets/binance-2024"]);
    assert!(o.status.success(), "{}", text(&o));
    let said = text(&o);
    assert!(said.contains("freqtrade data directory") && said.contains("pairs       3"), "{said}");
    assert!(
        said.contains("ETH/USDT       1h (ETH_USDT-1h.feather), 4h (ETH_USDT-4h.feather)"),
        "{said}"
    );
    let o = quantsweep(&["data", "inspect", "datasets/binance-2024", "--json"]);
    let listing: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(listing["pairs"]["SOL/USDT"][1]["timeframe"], "4h");
    let o = quantsweep(&["data", "inspect", "tests"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("tests is a folder without freqtrade candle files"), "{}", text(&o));

    // The feature table of a pipeline without a model.
    let no_model: String =
        std::fs::read_to_string(repo().join("tests/pipelines/blankly-features.yaml"))
            .expect("pipeline")
            .lines()
            .filter(|l| !l.starts_with("model:"))
            .map(|l| format!("{l}\n"))
            .collect();
    let p = dir.path().join("no-model.yaml");
    std::fs::write(&p, no_model).expect("pipeline");
    let table = dir.path().join("features.csv");
    let o = quantsweep(&[
        "features",
        p.to_str().expect("utf-8"),
        "--out",
        table.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = quantsweep(&["validate", p.to_str().expect("utf-8")]);
    assert!(text(&o).contains("missing field `model`"), "run and validate still need one");

    // --set adds a sweep parameter the file does not have.
    let o = quantsweep(&[
        "validate",
        "pipelines/quickstart.yaml",
        "--set",
        "sweep.parameters.train.batch_size.values=[16, 32]",
    ]);
    assert!(text(&o).contains("ok: 8 trials (grid sweep)"), "{}", text(&o));

    // An --out that is a file, and --top 0, are refused plainly.
    let o = quantsweep(&["run", "pipelines/quickstart.yaml", "--out", "README.md"]);
    assert!(text(&o).contains("--out README.md is a file: give a folder"), "{}", text(&o));
    let o = quantsweep(&["report", "results", "--top", "0"]);
    assert!(text(&o).contains("invalid value '0' for '--top"), "{}", text(&o));

    // A sweep killed before it wrote its tables: `report` writes them from the journal.
    let killed = dir.path().join("killed");
    let o = quantsweep(&[
        "run",
        "tests/pipelines/branin.yaml",
        "--set",
        "sweep.max_trials=8",
        "--out",
        killed.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    for table in ["trials", "epochs", "equity", "trades", "predictions"] {
        let _ = std::fs::remove_file(killed.join(format!("{table}.parquet")));
    }
    std::fs::remove_file(killed.join("summary.json")).expect("summary");
    let o = quantsweep(&["report", killed.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("written from its journal (8 trials)"), "{}", text(&o));
    assert!(
        text(&o).contains("top 8 of 8 complete trials by value (lower is better)"),
        "{}",
        text(&o)
    );

    // A grid larger than max_trials runs its first trials, saying so.
    let o = quantsweep(&["validate", "pipelines/quickstart.yaml", "--set", "sweep.max_trials=3"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ok: 3 trials (grid sweep)"), "{}", text(&o));
    assert!(
        text(&o).contains("note: sweep.max_trials = 3 runs the first 3 of the grid's 4 trials"),
        "{}",
        text(&o)
    );
}

#[test]
fn validate_prints_the_trial_count() {
    let o = quantsweep(&["validate", "pipelines/quickstart.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ok: 4 trials"), "{}", text(&o));
    let o = quantsweep(&["validate", "pipelines/quickstart.yaml", "--set", "sweep.seeds=3"]);
    assert!(text(&o).contains("ok: 12 trials"), "{}", text(&o));
}

#[test]
fn data_inspect_reports_format_range_and_repairs() {
    let o = quantsweep(&["data", "inspect", "datasets/eth-usdt-1d.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    for expected in [
        "format      crypto_data_download",
        "rows        3142 read, 3142 candles kept",
        "first       2017-08-17 00:00:00 UTC",
        "last        2026-03-30 00:00:00 UTC",
        "timeframe   1d",
        "gaps        4 (6 candles missing)",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
    let o = quantsweep(&["data", "inspect", "datasets/eth-usdt-1d.csv", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    assert_eq!(report["candles"], 3142);
    assert_eq!(report["format"], "crypto_data_download");
    assert_eq!(report["gaps"].as_array().map(Vec::len), Some(4));
    assert_eq!(report["calendar"], "continuous");
    // A long table, asset by asset (#24): each asset's repairs are its own, and a stock market's
    // weekends are not gaps (45 holidays in five years, not 272 "gaps").
    let o = quantsweep(&[
        "data",
        "inspect",
        "datasets/sp500-2013-2018.parquet",
        "--symbol-column",
        "Name",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    for expected in [
        "assets      505 (by column Name)",
        "  AAPL        1259 2013-02-08 2018-02-07    45     0       0  weekdays",
        "  DHR         1240 2013-02-08 2018-02-07    53     2       1  weekdays",
        "  APTV          44 2017-12-05 2018-02-07     3     0       0  weekdays",
    ] {
        assert!(out.contains(expected), "{expected:?} in\n{out}");
    }
}

#[test]
fn corrupt_data_files_give_one_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let csv = std::fs::read(repo().join("datasets/eth-usdt-1d.csv")).expect("bundled data");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.csv", Vec::new(), "no candles"),
        ("cut.csv", csv[..csv.len() / 2 - 7].to_vec(), "fields, the header has"),
        (
            "bad.csv",
            b"Date,Open,High,Low,Close\n2020-01-01,1,2,0.5,x\n".to_vec(),
            "bad.csv:2: column `Close`",
        ),
        ("bad.json", b"[[1,2,3,4".to_vec(), "not freqtrade JSON"),
        ("bad.json.gz", vec![0x1f, 0x8b, 8, 0, 0, 0], "not a complete gzip stream"),
        ("bad.feather", b"ARROW1\0\0garbage".to_vec(), "not a readable Feather"),
        ("bad.parquet", b"PAR1garbagePAR1".to_vec(), "not a readable Parquet"),
        ("binary.csv", vec![0xff, 0xfe, 0, 1, 2], "not UTF-8"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write case");
        let o = quantsweep(&["data", "inspect", path.to_str().expect("utf-8")]);
        let msg = text(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {msg}");
        assert!(!msg.contains("panicked"), "{name}: {msg}");
        assert_eq!(msg.trim().lines().count(), 1, "{name}: one line: {msg}");
        assert!(
            msg.contains(name) && msg.contains(expected),
            "{name}: expected {expected:?} in {msg}"
        );
    }
    // The Feather files fuzzing found (docs/security.md; a selector byte, then the file):
    // arrow panicked on some and allocated terabytes for others. Through the binary, each is
    // read or refused in one line naming it, with no internal error.
    let found = std::fs::read_dir(repo().join("fuzz/regressions/feather")).expect("fuzz inputs");
    let mut refused = 0;
    for (i, entry) in found.enumerate() {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read a fuzz input");
        let path = dir.path().join(format!("fuzz-{i}.feather"));
        std::fs::write(&path, &bytes[1..]).expect("write case");
        let o = quantsweep(&["data", "inspect", path.to_str().expect("utf-8")]);
        let msg = text(&o);
        assert!(!msg.contains("panicked") && !msg.contains("internal error"), "{i}: {msg}");
        if o.status.code() == Some(1) {
            assert_eq!(msg.trim().lines().count(), 1, "{i}: one line: {msg}");
            assert!(msg.contains(&format!("fuzz-{i}.feather")), "{i}: {msg}");
            refused += 1;
        } else {
            assert!(o.status.success(), "{i}: {msg}");
        }
    }
    assert!(refused >= 10, "only {refused} fuzz inputs refused");
}

#[test]
fn the_pipeline_reads_its_candles_from_s3() {
    let Some(moto) = moto::Moto::start(&repo()) else { return };
    moto.create_bucket("market");
    let csv = std::fs::read(repo().join("datasets/eth-usdt-1d.csv")).expect("bundled data");
    moto.put("market", "binance/eth-usdt-1d.csv", &csv);
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("s3");
    let run = |args: &[&str]| {
        quantsweep_command().args(args).envs(moto.env()).output().expect("quantsweep runs")
    };
    let o = run(&["data", "inspect", "s3://market/binance/eth-usdt-1d.csv"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3142 read"), "{}", text(&o));
    // A secret given in the YAML (moto checks no signature) is used, never written.
    let o = run(&[
        "run",
        "pipelines/quickstart.yaml",
        "--set",
        "train.epochs=3",
        "--set",
        "data.source=s3://market/binance/eth-usdt-1d.csv",
        "--set",
        "data.storage={aws_secret_access_key: s3cr3t-hunter2, aws_access_key_id: AKIAHUNTER2}",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("4 complete"), "{}", text(&o));
    let resolved = std::fs::read_to_string(out.join("pipeline.resolved.yaml")).expect("resolved");
    assert!(resolved.contains("source: s3://market/binance/eth-usdt-1d.csv"), "{resolved}");
    assert!(resolved.contains("aws_secret_access_key: <redacted>"), "{resolved}");
    // Not in any file the run wrote (tables, TensorBoard, models, summary), nor printed.
    let mut files = vec![out.clone()];
    let mut seen = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).expect("dir").map(|e| e.expect("entry").path()));
            continue;
        }
        let bytes = std::fs::read(&path).expect("readable");
        let found = |secret: &[u8]| bytes.windows(secret.len()).any(|w| w == secret);
        assert!(!found(b"s3cr3t-hunter2") && !found(b"AKIAHUNTER2"), "{}", path.display());
        seen += 1;
    }
    assert!(seen > 10, "{seen} files");
    assert!(!text(&o).contains("hunter2") && !text(&o).contains("HUNTER2"), "{}", text(&o));
}

/// The shared collection beside the repository, when this machine has it (CI does).
fn shared_datasets() -> Option<PathBuf> {
    let dir = repo().join("../shared/datasets");
    if dir.exists() {
        Some(dir)
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI must have {}", dir.display());
        None
    }
}

#[test]
fn freqtrade_directories_by_pair_timeframe_and_resampling() {
    let Some(shared) = shared_datasets() else { return };
    let exchange = shared.join("freqtrade/genetrader_2024/binance");
    let dir = exchange.to_str().expect("utf-8");
    let o = quantsweep(&[
        "data",
        "inspect",
        dir,
        "--pairs",
        "BTC/USDT,SOL/USDT",
        "--timeframe",
        "1h",
        "--json",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(report["aligned"]["candles"], 5980);
    assert_eq!(report["aligned"]["last"], "2024-09-06 03:00:00");
    assert_eq!(report["pairs"][1]["candles"], 6002);

    // A pipeline reads ETH/USDT 1h from the directory and trains on it resampled to 4h.
    let sets = [
        "data.source=null".to_owned(),
        format!("data.datadir={dir}"),
        "data.pair=ETH/USDT".into(),
        "data.timeframe=1h".into(),
        "data.resample=4h".into(),
        "data.start=null".into(),
    ];
    let mut args = vec!["validate", "pipelines/quickstart.yaml"];
    for s in &sets {
        args.extend(["--set", s.as_str()]);
    }
    let o = quantsweep(&args);
    assert!(o.status.success(), "{}", text(&o));
    // 2024-01-01 .. 2024-09-06 03:00 in 4h bins.
    assert!(text(&o).contains("1495 candles"), "{}", text(&o));
    let o = quantsweep(&[
        "validate",
        "pipelines/quickstart.yaml",
        "--set",
        &format!("data.datadir={dir}"),
    ]);
    assert!(text(&o).contains("give either source, or datadir"), "{}", text(&o));
}

/// `quantsweep features` on a seed's feature set; returns the output path (in `dir`).
fn features(dir: &Path, pipeline: &str, file: &str) -> PathBuf {
    let out = dir.join(file);
    let o = quantsweep(&["features", pipeline, "--out", out.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    out
}

#[test]
fn features_writes_the_blankly_feature_set_as_parquet_and_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    features(dir.path(), "tests/pipelines/blankly-features.yaml", "f.parquet");
    features(dir.path(), "tests/pipelines/blankly-features.yaml", "f.csv");
    check_with_python(
        r#"
import sys, pandas as pd
p = pd.read_parquet(sys.argv[1] + "/f.parquet")
c = pd.read_csv(sys.argv[1] + "/f.csv", parse_dates=["timestamp"])
want = ["timestamp", "close_ratio", "rsi", "macd.macd", "macd.signal", "macd.hist",
        "input.close_ratio", "input.rsi", "input.macd.macd", "input.macd.signal",
        "target.1", "target.2", "target.3", "split"]
assert list(p.columns) == want, list(p.columns)
assert list(c.columns) == want, list(c.columns)
assert str(p.timestamp.dt.tz) == "UTC"
assert (p.timestamp == c.timestamp).all()
# Tulip's MACD starts at row slow - 1 = 25 (the notebook drops 25 rows), RSI at row 14.
assert p["macd.macd"].first_valid_index() == 25, p["macd.macd"].first_valid_index()
assert p["rsi"].first_valid_index() == 14
# The target is the next three close ratios; the last three rows have none.
close = p["close_ratio"]
assert abs(p["target.1"][40] - close[41]) < 1e-12
assert p["target.1"].iloc[-1:].isna().all()
assert set(p["split"].dropna()) == {"train", "test"}
pd.testing.assert_frame_equal(p.drop(columns="timestamp"), c.drop(columns="timestamp"), check_exact=False, rtol=1e-12)
"#,
        dir.path(),
    );
}

#[test]
fn features_writes_the_keras_feature_set_with_a_leaky_balanced_split() {
    if shared_datasets().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let out = features(dir.path(), "tests/pipelines/keras-features.yaml", "k.parquet");
    check_with_python(
        r#"
import sys, pandas as pd
k = pd.read_parquet(sys.argv[1])
assert list(k.columns) == ["timestamp", "o", "h", "l", "c", "v", "target", "split"], list(k.columns)
# up/down after 5 bars: 1 when close[t+5] > close[t].
up = (k.c.shift(-5) > k.c).astype(float).where(k.c.shift(-5).notna())
assert ((k.target == up) | (k.target.isna() & up.isna())).all()
# Training and validation are balanced together (as the seed, before shuffling); the test
# span (the last bars) is not thinned.
t = k.target[k.split.isin(["train", "val"])]
assert (t == 1).sum() == (t == 0).sum(), t.value_counts()
test = k.index[k.split == "test"]
assert (test == range(test[0], test[0] + len(test))).all()
"#,
        &out,
    );
    let o = quantsweep(&["validate", "tests/pipelines/keras-features.yaml"]);
    assert!(text(&o).contains("leaky"), "{}", text(&o));
}

#[test]
fn features_writes_the_ta_package_set_of_the_keras_seed() {
    let Some(shared) = shared_datasets() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = features(dir.path(), "tests/pipelines/keras-ta-features.yaml", "t.parquet");
    // The same candles through `ta` 0.11 itself.
    let script = format!(
        r#"
import sys, warnings, numpy as np, pandas as pd
warnings.simplefilter("ignore")
from ta import add_all_ta_features
t = pd.read_parquet(sys.argv[1])
raw = pd.read_feather("{shared}/freqtrade/daisybum_2023/binance/ETH_USDT-15m.feather")
raw = raw[raw.date < "2023-02-01"].reset_index(drop=True)
want = add_all_ta_features(raw[["open", "high", "low", "close", "volume"]].copy(),
                           "open", "high", "low", "close", "volume", fillna=True).iloc[:, 5:]
assert len(want.columns) == 86
assert list(t.columns) == ["timestamp", "o", "h", "l", "c", "v"] + ["ta." + c for c in want.columns] + ["target", "split"], list(t.columns)
got = t[["ta." + c for c in want.columns]].set_axis(want.columns, axis=1)
scale = want.abs().mean() * 1e-6
bad = ((got - want).abs() > (want.abs() * 1e-9).clip(lower=scale, axis=1)).sum()
assert bad.sum() == 0, bad[bad > 0]
"#,
        shared = shared.display()
    );
    check_with_python(&script, &out);
    let o = quantsweep(&["validate", "tests/pipelines/keras-ta-features.yaml"]);
    assert!(text(&o).contains("feature `ta` reads later candles"), "{}", text(&o));
}

#[test]
fn features_joins_4h_candles_and_a_correlated_pair_causally() {
    let Some(shared) = shared_datasets() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let out = features(dir.path(), "tests/pipelines/freqai-features.yaml", "q.parquet");
    // Recomputed independently with pandas and TA-Lib: 4h bins by pandas' resample, each seen
    // from the 1h candle during which it closes (open time + 3h), by an as-of merge.
    let script = format!(
        r#"
import sys, json, numpy as np, pandas as pd, talib
q = pd.read_parquet(sys.argv[1])
def candles(pair):
    raw = json.load(open("{dir}/" + pair + "-1h.json"))
    d = pd.DataFrame(raw, columns=["t", "open", "high", "low", "close", "volume"])
    d["time"] = pd.to_datetime(d.t, unit="ms", utc=True)
    return d.set_index("time")
for pair, col, col4 in [("ETH_USDT", "rsi_10", "rsi_10_4h"), ("BTC_USDT", "rsi_10_BTC_USDT", "rsi_10_4h_BTC_USDT")]:
    d = candles(pair)
    four = d.resample("4h", label="left", closed="left").agg({{"close": "last"}}).dropna()
    four["rsi"] = talib.RSI(four.close.values, 10)
    four["seen"] = (four.index + pd.Timedelta(hours=3)).astype("datetime64[ms, UTC]")
    m = pd.merge_asof(q[["timestamp"]], four[["seen", "rsi"]], left_on="timestamp", right_on="seen")
    ok = np.isclose(q[col4], m.rsi, rtol=1e-9, atol=0) | (q[col4].isna() & m.rsi.isna())
    assert ok.all(), (pair, q[col4][~ok].head(), m.rsi[~ok].head())
    if pair == "BTC_USDT":
        one = pd.Series(talib.RSI(d.close.values, 10), index=d.index)
        joined = one.reindex(q.timestamp).values
        assert np.allclose(q[col], joined, rtol=1e-9, equal_nan=True)
assert (q["rsi_10_shift_2"].iloc[2:].values == q["rsi_10"].iloc[:-2].values)[20:].all()
assert set(q.day_of_week.dropna()) == set(range(7)) and q.hour_of_day.max() == 23
assert q.target.notna().sum() > 4000 and q.target.iloc[-12:].isna().all()
# freqAI's Bollinger features: qtpylib's bands of the typical price (window 10, 2.2 std).
eth = candles("ETH_USDT").reindex(q.timestamp)
typical = (eth.high + eth.low + eth.close) / 3.0
mid = typical.rolling(10, min_periods=1).mean()
std = typical.rolling(10, min_periods=1).std()
upper, lower = mid + std * 2.2, mid - std * 2.2
assert np.allclose(q["bb.lower"], lower.values, rtol=1e-9, equal_nan=True)
assert np.allclose(q.bb_width, ((upper - lower) / mid).values, rtol=1e-6, atol=1e-8, equal_nan=True)
assert np.allclose(q.close_bb_lower, (eth.close / lower).values, rtol=1e-9, equal_nan=True)
"#,
        dir = shared.join("freqtrade/nfi_2020-12_2021-07/binance").display()
    );
    check_with_python(&script, &out);
}

/// Reads `models/<trial>.safetensors` with the safetensors layout (8-byte header length, JSON
/// header, raw little-endian data) and loads it, strictly, into the seed's PyTorch module.
const LOAD_IN_PYTORCH: &str = r#"
import sys, os, json, struct
import numpy as np, pandas as pd, torch
from torch import nn
out, kind = sys.argv[1], sys.argv[2]
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
assert set(t.status) == {"complete"}, t[["status", "error"]]
e = pd.read_parquet(os.path.join(out, "epochs.parquet"))
assert "lr" in e.columns and e.lr.notna().all()

def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    data = b[8 + n:]
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        assert v["dtype"] == "F32", v
        lo, hi = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[lo:hi], dtype="<f4").reshape(v["shape"]).copy())
    return out

class Cell(nn.Module):
    def __init__(self, inputs, hidden):
        super().__init__()
        self.w_ih = nn.Parameter(torch.zeros(1, 4 * hidden, inputs))
        self.w_hh = nn.Parameter(torch.zeros(1, 4 * hidden, hidden))
        self.bias = nn.Parameter(torch.zeros(1, 4 * hidden))

class Keras(nn.Module):
    def __init__(self, inputs, hidden):
        super().__init__()
        self.lstm = Cell(inputs, hidden)
        self.dense = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 1)

class Freqai(nn.Module):
    def __init__(self, inputs, hidden, layers, outputs):
        super().__init__()
        self.lstm_layers = nn.ModuleList(nn.LSTM(inputs if i == 0 else hidden, hidden, batch_first=True) for i in range(layers))
        self.batch_norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in range(layers))
        self.fc1 = nn.Linear(hidden, 36)
        self.fc2 = nn.Linear(36, outputs)

for trial in t.trial_id:
    weights = load(os.path.join(out, "models", f"{trial}.safetensors"))
    if kind == "keras":
        assert "val_accuracy" in e.columns and e.val_accuracy.between(0, 1).all()
        module = Keras(5, 16)
    else:
        hidden = int(t[t.trial_id == trial]["params.model.hidden"].iloc[0])
        module = Freqai(4, hidden, 2, 3)
        # PyTorch's BatchNorm also counts batches; tch does not keep the count.
        for k, v in module.state_dict().items():
            if k.endswith("num_batches_tracked"):
                weights[k] = v
    module.load_state_dict(weights, strict=True)
print("ok", kind, len(t))
"#;

#[test]
fn freqai_and_keras_models_train_from_yaml_and_load_into_pytorch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keras = dir.path().join("keras");
    let o = quantsweep(&[
        "run",
        "tests/pipelines/keras-classifier.yaml",
        "--out",
        keras.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    check_python(LOAD_IN_PYTORCH, &[keras.as_os_str(), std::ffi::OsStr::new("keras")]);

    let freqai = dir.path().join("freqai");
    let o = quantsweep(&[
        "run",
        "tests/pipelines/freqai-model.yaml",
        "--out",
        freqai.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    check_python(LOAD_IN_PYTORCH, &[freqai.as_os_str(), std::ffi::OsStr::new("freqai")]);
}

/// Layer stacks from YAML (#24): a softmax-headed conv1d → LSTM classifier swept by paths into
/// its stack, every trial's saved weights loading (strictly) into the reference PyTorch
/// module that docs/pipeline.md prints, built from the trial's own layers; and the Keras
/// tutorial's four-layer stacked LSTM.
#[test]
fn layer_stacks_train_from_yaml_and_their_weights_load_into_the_documented_module() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("classifier");
    let o = quantsweep(&[
        "run",
        "tests/pipelines/layers-classifier.yaml",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let page = std::fs::read_to_string(repo().join("docs/pipeline.md")).expect("pipeline.md");
    let marker = "```python\n# quantsweep `model: {kind: layers}` as a PyTorch module";
    let start = page.find(marker).expect("the reference module") + 10;
    let module = page[start..].split("```").next().expect("a closed block");
    let script = format!(
        "{module}{}",
        r#"
import sys, os
import pandas as pd
from safetensors.torch import load_file
out = sys.argv[1]
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
assert list(t.status) == ["complete"] * 4, t[["status", "error"]]
e = pd.read_parquet(os.path.join(out, "epochs.parquet"))
assert e.val_accuracy.between(0, 1).all() and (e.val_loss > 0).all()
p = pd.read_parquet(os.path.join(out, "predictions.parquet"))
assert p.prediction.between(0, 1).all() and p.prediction.std() > 0
seen = set()
for _, row in t.iterrows():
    units, kernel = int(row["params.model.layers.1.units"]), int(row["params.model.layers.0.kernel_size"])
    seen.add((units, kernel))
    layers = [{"type": "conv1d", "filters": 8, "kernel_size": kernel, "activation": "relu"},
              {"type": "lstm", "units": units}, {"type": "dropout", "rate": 0.1},
              {"type": "dense", "units": 2, "activation": "softmax"}]
    model = Stack(layers, inputs=3, input_bars=16)
    model.load_state_dict(load_file(os.path.join(out, "models", f"{row.trial_id}.safetensors")), strict=True)
    model.eval()
    y = model(torch.randn(5, 16, 3))
    assert y.shape == (5, 2) and torch.allclose(y.sum(1), torch.ones(5))
assert seen == {(16, 2), (16, 4), (25, 2), (25, 4)}, seen
print("ok")
"#
    );
    assert_eq!(check_python(&script, &[out.as_os_str()]).trim(), "ok");

    let stacked = dir.path().join("stacked");
    let o = quantsweep(&[
        "run",
        "tests/pipelines/keras-stacked-lstm.yaml",
        "--out",
        stacked.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2 trials of 2 in"), "{}", text(&o));
}

/// A universe from a freqtrade directory (#24): `features` writes every asset's rows with the
/// cross-sectional label, which pandas recomputes from the candle files; `run` trains one
/// model on the pooled windows and trades the three pairs by rank, with trades and
/// predictions by asset, one portfolio curve and its turnover.
#[test]
fn a_universe_trains_one_model_and_trades_its_assets_by_rank() {
    let dir = tempfile::tempdir().expect("tempdir");
    let table = dir.path().join("features.parquet");
    let o = quantsweep(&[
        "features",
        "tests/pipelines/universe-crypto.yaml",
        "--out",
        table.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = dir.path().join("run");
    let o = quantsweep(&[
        "run",
        "tests/pipelines/universe-crypto.yaml",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let checked = check_python(
        r#"
import sys, os
import pandas as pd
table, out, repo = sys.argv[1], sys.argv[2], sys.argv[3]
f = pd.read_parquet(table)
pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
assert sorted(f.asset.unique()) == pairs
# The label from the candle files: the 4-bar return above the three pairs' median.
ret = {}
for p in pairs:
    c = pd.read_feather(f"{repo}/datasets/binance-2024/{p.replace('/', '_')}-1h.feather")
    c = c[(c.date >= "2024-01-01") & (c.date < "2024-04-01")].set_index("date").close
    ret[p] = c.shift(-4) / c - 1
ret = pd.DataFrame(ret)
label = ret.gt(ret.median(axis=1), axis=0).astype(float).where(ret.notna().all(axis=1))
ours = f.pivot(index="timestamp", columns="asset", values="target")
ours.index = ours.index.tz_convert("UTC")
label.index = pd.to_datetime(label.index, utc=True)
both = ours.join(label.add_suffix("_pandas")).dropna()
assert len(both) > 2000, len(both)
for p in pairs:
    assert (both[p] == both[p + "_pandas"]).all(), p
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
assert list(t.status) == ["complete"] * 2, t[["status", "error"]]
assert (t["metric.turnover"] > 0).all()
tr = pd.read_parquet(os.path.join(out, "trades.parquet"))
assert set(tr.pair) == set(pairs), set(tr.pair)
assert set(tr.side) == {"long", "short"}
pr = pd.read_parquet(os.path.join(out, "predictions.parquet"))
assert set(pr.pair) == set(pairs) and pr.prediction.between(0, 1).all()
e = pd.read_parquet(os.path.join(out, "equity.parquet"))
assert ("pair" not in e or e.pair.isna().all()) and e.groupby("trial_id").size().nunique() == 1
print("ok", len(both), len(tr))
"#,
        &[table.as_os_str(), out.as_os_str(), repo().as_os_str()],
    );
    assert!(checked.starts_with("ok"), "{checked}");
}

/// Starts the `tensorboard` server on the run's logs and asks its HParams plugin what its tab
/// shows: the experiment's hyperparameters and metrics, and one session group per trial with
/// its hyperparameters and final metric values.
const HPARAMS_TAB: &str = r#"
import sys, os, json, socket, subprocess, time, urllib.request
logdir = os.path.join(sys.argv[1], "tensorboard")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
tb = os.path.join(os.path.dirname(sys.executable), "tensorboard")
server = subprocess.Popen([tb, "--logdir", logdir, "--host", "127.0.0.1", "--port", str(port)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def post(route, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/data/plugin/hparams/{route}",
                                 data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=10))
try:
    for _ in range(120):
        try:
            experiment = post("experiment", {"experimentName": ""})
            if experiment.get("hparamInfos"):
                break
        except OSError:
            pass
        time.sleep(0.5)
    else:
        raise SystemExit("tensorboard did not answer")
    assert {h["name"] for h in experiment["hparamInfos"]} == {"model.hidden", "train.lr"}, experiment
    metrics = {m["name"]["tag"] for m in experiment["metricInfos"]}
    assert {"loss/train", "loss/val", "metric/sharpe", "metric/val_loss"} <= metrics, metrics
    groups = post("session_groups", {"experimentName": "", "startIndex": 0, "sliceSize": 100,
        "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
        "colParams": []})["sessionGroups"]
    assert len(groups) == 4, [g["name"] for g in groups]
    for g in groups:
        values = {m["name"]["tag"]: m["value"] for m in g["metricValues"]}
        assert "metric/sharpe" in values and "loss/val" in values, values
        assert g["sessions"][0]["status"] == "STATUS_SUCCESS", g["sessions"]
    print("ok", len(groups))
finally:
    server.terminate(); server.wait()
"#;

#[test]
fn tensorboard_hparams_tab_lists_every_trial_with_its_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = smoke(dir.path(), &["--set", "train.epochs=3"]);
    assert!(o.status.success(), "{}", text(&o));
    check_with_python(HPARAMS_TAB, dir.path());
}

/// Walk-forward on the quickstart: folds of 180 daily test bars after 730 training bars,
/// each fold trained afresh; the stitched out-of-sample curve, per-fold metrics and the
/// sweep's deflated Sharpe ratio and PBO.
#[test]
fn walk_forward_retrains_per_fold_and_stitches_the_out_of_sample_curve() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = smoke(
        dir.path(),
        &[
            "--set",
            "split.kind=walk_forward",
            "--set",
            "split.train_bars=730",
            "--set",
            "split.test_bars=180",
            "--set",
            "train.epochs=3",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    check_with_python(
        r#"
import sys, os, json
import pandas as pd
out = sys.argv[1]
f = pd.read_parquet(os.path.join(out, "folds.parquet"))
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
q = pd.read_parquet(os.path.join(out, "equity.parquet"))
e = pd.read_parquet(os.path.join(out, "epochs.parquet"))
assert set(t.status) == {"complete"}, t.error
for trial, g in f.groupby("trial_id"):
    g = g.sort_values("fold")
    n = len(g)
    assert n >= 10 and list(g.fold) == list(range(n)), g.fold
    assert t[t.trial_id == trial]["metric.folds"].iloc[0] == n
    # Each fold trains strictly before it tests; test spans follow each other.
    assert (g.train_end < g.test_start).all()
    assert (g.test_start.iloc[1:].values > g.test_end.iloc[:-1].values).all()
    assert (g.train_end.iloc[1:].values > g.train_end.iloc[:-1].values).all()
    assert g["metric.sharpe"].notna().sum() >= n - 1 and g["metric.accuracy"].between(0, 1).all()
    curve = q[q.trial_id == trial]
    assert sorted(curve.fold.unique()) == list(range(n)), curve.fold.unique()
    assert curve.timestamp.is_monotonic_increasing and curve.equity.iloc[0] == 10000.0
    assert (e[e.trial_id == trial].epoch.values == range(3 * n)).all()
    assert sorted(e[e.trial_id == trial].fold.unique()) == list(range(n))
s = json.load(open(os.path.join(out, "summary.json")))
assert 0 <= s["deflated_sharpe"]["probability"] <= 1 and 0 <= s["pbo"]["probability"] <= 1, s
print("ok")
"#,
        dir.path(),
    );
}

/// The Keras seed's shuffled split lets validation windows overlap training windows: the
/// same model on the same data scores a higher validation accuracy than with the
/// chronological split, and its results are flagged leaky.
#[test]
fn the_shuffled_split_is_flagged_leaky_and_scores_higher_than_the_chronological_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |kind: &str| {
        let out = dir.path().join(kind);
        let o = quantsweep(&[
            "run",
            "tests/pipelines/keras-classifier.yaml",
            "--set",
            &format!("split.kind={kind}"),
            "--set",
            "train.epochs=150",
            "--set",
            "train.early_stopping.patience=1000",
            "--set",
            "model.hidden=64",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        out
    };
    let (shuffled, chronological) = (run("shuffled"), run("chronological"));
    check_python(
        r#"
import sys, json, os
import pandas as pd
s, c = (pd.read_parquet(os.path.join(d, "trials.parquet")) for d in sys.argv[1:3])
assert s.leaky.all() and not c.leaky.any(), (s.leaky, c.leaky)
assert json.load(open(os.path.join(sys.argv[1], "summary.json")))["leaky_trials"] == len(s)
gap = s["metric.val_accuracy"].min() - c["metric.val_accuracy"].max()
assert gap > 0.02, (s["metric.val_accuracy"].tolist(), c["metric.val_accuracy"].tolist())
print("ok", round(gap, 3))
"#,
        &[shuffled.as_os_str(), chronological.as_os_str()],
    );
}

/// A synthetic sweep (Branin on 64 scrambled Sobol' points) needs no data: the same trials
/// and values on 1 thread, 4 threads and 2 local processes (timely's cluster mode on
/// 127.0.0.1, started by scripts/sweep-local), every point in the domain, and the best near
/// the known minimum.
#[test]
fn synthetic_sobol_sweeps_are_the_same_on_threads_and_processes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = |name: &str| dir.path().join(name);
    for workers in ["1", "4"] {
        let dir = out(workers);
        let o = quantsweep(&[
            "run",
            "tests/pipelines/branin.yaml",
            "--workers",
            workers,
            "--out",
            dir.to_str().expect("utf-8"),
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
    // Two processes of two threads each, on ports the system says are free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .min(65_000);
    let o = Command::new(repo().join("scripts/sweep-local"))
        .args(["2", "tests/pipelines/branin.yaml", "--workers", "2", "--out"])
        .arg(out("processes"))
        .env("QUANTSWEEP", env!("CARGO_BIN_EXE_quantsweep"))
        .env("PORT", port.to_string())
        .current_dir(repo())
        .output()
        .expect("scripts/sweep-local runs");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("process 1 of 2: 2 workers here, 4 in all"), "{}", text(&o));
    check_python(
        r#"
import sys, os
import pandas as pd
one, four, procs = (pd.read_parquet(os.path.join(d, "trials.parquet")) for d in sys.argv[1:4])
cols = [c for c in one.columns if c not in ("worker", "started_at", "finished_at", "duration_s")]
for other in (four, procs):
    assert one[cols].equals(other[cols]), (one[cols].head(), other[cols].head())
a = one
assert len(a) == 64 and a["params.x1"].between(-5, 10).all() and a["params.x2"].between(0, 15).all()
assert (a["metric.regret"] >= 0).all() and a["metric.value"].min() < 1.5, a["metric.value"].min()
assert set(four.worker) == {0, 1, 2, 3}, set(four.worker)
# Workers 2 and 3 are process 1's.
assert {2, 3} <= set(procs.worker), set(procs.worker)
print("ok", a["metric.value"].min())
"#,
        &[out("1").as_os_str(), out("4").as_os_str(), out("processes").as_os_str()],
    );
}

/// TPE and the Gaussian process choose each configuration from the results so far: on one
/// worker (a fixed completion order) they are reproducible, and on Branin they end nearer the
/// minimum than the 64 Sobol' points of tests/pipelines/branin.yaml (the GP in 30 trials).
#[test]
fn adaptive_sweeps_are_reproducible_and_find_lower_values_than_sobol() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |name: &str, method: &str| {
        let out = dir.path().join(name);
        let trials = if method == "bayes" { "30" } else { "64" };
        let o = quantsweep(&[
            "run",
            "tests/pipelines/branin.yaml",
            "--set",
            &format!("sweep.method={method}"),
            "--set",
            &format!("sweep.max_trials={trials}"),
            "--workers",
            "1",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        assert!(o.status.success(), "{}", text(&o));
        out
    };
    let (a, b, sobol) = (run("a", "tpe"), run("b", "tpe"), run("sobol", "sobol"));
    let (gp, gp_again) = (run("gp", "bayes"), run("gp_again", "bayes"));
    check_python(
        r#"
import sys, os
import pandas as pd
a, b, s, g, h = (pd.read_parquet(os.path.join(d, "trials.parquet")) for d in sys.argv[1:6])
cols = ["trial_id", "params.x1", "params.x2", "metric.value"]
assert a[cols].equals(b[cols]) and g[cols].equals(h[cols])
assert len(a) == 64 and a["metric.regret"].min() < s["metric.regret"].min(), (a["metric.regret"].min(), s["metric.regret"].min())
assert len(g) == 30 and g["metric.regret"].min() < s["metric.regret"].min(), (g["metric.regret"].min(), s["metric.regret"].min())
print("ok", a["metric.regret"].min(), g["metric.regret"].min(), s["metric.regret"].min())
"#,
        &[a.as_os_str(), b.as_os_str(), sobol.as_os_str(), gp.as_os_str(), gp_again.as_os_str()],
    );
}

/// Six quickstart trials of 400 epochs on 2 workers into `out`: long enough to be killed
/// between the first and the last.
fn killable_sweep<'a>(out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "pipelines/quickstart.yaml",
        "--set",
        "train.epochs=400",
        "--set",
        "sweep.parameters={train.lr: {values: [0.001, 0.002, 0.003]}, model.hidden: {values: [8, 16]}}",
        "--workers",
        "2",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    args
}

/// A sweep killed with SIGKILL while trials run, then run again: every trial ends up in the
/// journal and the tables exactly once, none lost, none duplicated; the finished ones are
/// not run again. The tables checkpointed before the kill are readable.
#[test]
fn a_sweep_killed_mid_run_resumes_with_every_trial_exactly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("killed");
    let args = killable_sweep(out.to_str().expect("utf-8"), &["--checkpoint-every", "0"]);
    let mut child = quantsweep_command()
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the quantsweep binary starts");
    let journal = out.join("journal.jsonl");
    // Complete lines only: a line being written when the kill lands is torn, and its trial
    // runs again (a flaky count before: the partial line was counted as finished).
    let lines = || std::fs::read(&journal).map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count());
    let start = std::time::Instant::now();
    // With --checkpoint-every 0 the tables are rewritten after each trial (as long as that
    // takes under a twentieth of the time): a notebook can read a sweep that is still running.
    let tables = out.join("trials.parquet");
    while (lines() < 1 || !tables.exists()) && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let finished = lines();
    assert!((1..6).contains(&finished), "killed after {finished} of 6 trials");
    let rows = check_with_python(
        "import sys, pandas as pd; print(len(pd.read_parquet(sys.argv[1] + '/trials.parquet')))",
        &out,
    );
    let rows: usize = rows.trim().parse().expect("a row count");
    assert!((1..=finished).contains(&rows), "{rows} rows in the checkpoint, {finished} journaled");

    let o = quantsweep(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("{finished} of 6 trials already finished")), "{}", text(&o));
    check_with_python(
        r#"
import sys, os, json
import pandas as pd
out = sys.argv[1]
ids = [json.loads(l)["spec"]["id"] for l in open(os.path.join(out, "journal.jsonl"))]
assert sorted(ids) == list(range(6)), ids
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
assert list(t.trial_id) == list(range(6)) and (t.status == "complete").all(), t
print("ok")
"#,
        &out,
    );
}

/// Reads every table under `sys.argv[1]` with pyarrow, again and again, until the file
/// `sys.argv[2]` appears; fails at the first table that does not read whole or holds a trial
/// twice. Prints how many tables it read.
const TABLE_READER: &str = r#"
import os, sys, time
import pyarrow.parquet as pq
out, stop = sys.argv[1], sys.argv[2]
reads = 0
while not os.path.exists(stop):
    names = sorted(os.listdir(out)) if os.path.isdir(out) else []
    for name in names:
        if name.endswith(".parquet"):
            # One open file: pq.read_table(path) opens the path twice (footer, then pages),
            # and a table replaced in between mixes two versions (a reader's race, not a
            # torn file: docs/notebooks.md).
            with open(os.path.join(out, name), "rb") as f:
                table = pq.read_table(f)
            if name == "trials.parquet":
                ids = table.column("trial_id").to_pylist()
                assert ids == sorted(set(ids)), f"a trial twice in trials.parquet: {ids}"
            reads += 1
    time.sleep(0.002)
print(reads)
"#;

/// The temporary files of tables being rewritten under `dir` (`.trials.parquet.tmp`...).
fn tables_being_written(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with('.') && n.ends_with(".parquet.tmp"))
                .collect()
        })
        .unwrap_or_default()
}

/// The crash harness: tests/pipelines/killable.yaml (120 deterministic trials on 2 workers,
/// tables rewritten after every trial) is killed with SIGKILL 24 times and resumed each time.
/// Half the kills land at random moments, half as soon as a Parquet table's temporary file
/// appears (in the middle of its rewrite). Meanwhile pyarrow reads every table over and over:
/// each is whole at every moment. At the end the tables equal an uninterrupted run's (but
/// for the times and workers), every trial is journaled once, and each TensorBoard run holds
/// one events file.
#[test]
fn a_sweep_killed_twenty_four_times_ends_with_the_tables_of_an_uninterrupted_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = |out: &Path| -> Vec<String> {
        let out = out.to_str().expect("utf-8");
        ["run", "tests/pipelines/killable.yaml", "--allow-commands", "--workers", "2"]
            .into_iter()
            .chain(["--checkpoint-every", "0", "--out", out])
            .map(String::from)
            .collect()
    };
    fn as_strs(a: &[String]) -> Vec<&str> {
        a.iter().map(String::as_str).collect()
    }
    let whole = dir.path().join("whole");
    let o = quantsweep(&as_strs(&args(&whole)));
    assert!(o.status.success(), "{}", text(&o));

    let killed = dir.path().join("killed");
    let stop = dir.path().join("stop-reading");
    let reader = Command::new(python())
        .arg("-c")
        .arg(TABLE_READER)
        .arg(&killed)
        .arg(&stop)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    // A fixed-seed generator (xorshift), so that a failure replays the same moments.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut random_ms = |low: u64, high: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        low + state % (high - low)
    };
    let (mut kills, mut mid_rewrite) = (0, 0);
    for round in 0..24 {
        let mut child = quantsweep_command()
            .args(args(&killed))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the quantsweep binary starts");
        if round % 2 == 0 {
            std::thread::sleep(std::time::Duration::from_millis(random_ms(10, 250)));
        } else {
            let start = std::time::Instant::now();
            while tables_being_written(&killed).is_empty() && start.elapsed().as_secs() < 5 {
                std::hint::spin_loop();
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break; // the sweep finished before this kill: too few kills, asserted below
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("wait");
        kills += 1;
        if !tables_being_written(&killed).is_empty() {
            mid_rewrite += 1;
        }
    }
    let o = quantsweep(&as_strs(&args(&killed)));
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(&stop, b"").expect("stop the reader");
    let read = reader.wait_with_output().expect("the reader ends");
    assert!(read.status.success(), "a table did not read whole:\n{}", text(&read));
    let reads: usize = String::from_utf8_lossy(&read.stdout).trim().parse().expect("a count");
    eprintln!("{kills} kills, {mid_rewrite} in a Parquet rewrite, {reads} table reads");
    assert!(kills >= 20, "only {kills} kills: the sweep finished too soon");
    assert!(mid_rewrite >= 1, "no kill landed during a rewrite of the tables");
    assert!(reads > 100, "only {reads} table reads during the kills");
    check_python(
        r#"
import sys, os, json
import pandas as pd
whole, killed = sys.argv[1:3]
def tables(d):
    t = pd.read_parquet(os.path.join(d, "trials.parquet"))
    e = pd.read_parquet(os.path.join(d, "epochs.parquet"))
    return t.drop(columns=["started_at", "finished_at", "duration_s", "worker"]), e
(t1, e1), (t2, e2) = tables(whole), tables(killed)
assert list(t1.trial_id) == list(range(120)) and (t1.status == "complete").all(), t1
pd.testing.assert_frame_equal(t1, t2)
pd.testing.assert_frame_equal(e1, e2)
assert len(e2) == 480, len(e2)
ids = [json.loads(l)["spec"]["id"] for l in open(os.path.join(killed, "journal.jsonl"))]
assert sorted(ids) == list(range(120)), "every trial journaled exactly once"
for i in range(120):
    files = os.listdir(os.path.join(killed, "tensorboard", str(i)))
    assert len(files) == 1, (i, files)
assert not [n for n in os.listdir(killed) if n.endswith(".tmp")]
print("ok")
"#,
        &[whole.as_os_str(), killed.as_os_str()],
    );
}

/// `--out s3://…` on a real S3-protocol server (moto on loopback): a sweep killed with SIGKILL
/// mid-run resumes from the bucket with every trial exactly once, and the tables and
/// TensorBoard runs put there read back in pyarrow, pandas and TensorBoard as a local run's do.
#[test]
fn sweep_outputs_go_to_s3_and_resume_from_there_after_sigkill() {
    let Some(moto) = moto::Moto::start(&repo()) else { return };
    moto.create_bucket("sweeps");
    // The folder a run keeps for the store's URL (staged files), in the test's own folder.
    let state = tempfile::tempdir().expect("temp dir");
    let command = |args: &[&str]| {
        let mut c = quantsweep_command();
        c.args(args).envs(moto.env()).env("XDG_STATE_HOME", state.path());
        c
    };
    let args = killable_sweep("s3://sweeps/eth/killed", &[]);
    let mut child = command(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the quantsweep binary starts");
    // Each commit is one object, put whole: the records in the objects are the finished trials.
    let journaled = || {
        let keys = moto.keys("sweeps", "eth/killed/journal/");
        let bytes: Vec<u8> = keys.iter().flat_map(|k| moto.get("sweeps", k)).collect();
        bytes.iter().filter(|&&b| b == b'\n').count()
    };
    let start = std::time::Instant::now();
    while journaled() < 1 && start.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let finished = journaled();
    assert!((1..6).contains(&finished), "killed after {finished} of 6 trials");

    let o = command(&args).output().expect("quantsweep runs");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("{finished} of 6 trials already finished")), "{}", text(&o));
    assert!(text(&o).contains("s3://sweeps/eth/killed/trials.parquet"), "{}", text(&o));
    // The segments were merged into one object holding each trial once.
    let journal = moto.keys("sweeps", "eth/killed/journal/");
    assert_eq!(journal.len(), 1, "{journal:?}");
    let text_of = String::from_utf8(moto.get("sweeps", &journal[0])).expect("utf-8 journal");
    let mut ids: Vec<u64> = text_of
        .lines()
        .map(|l| {
            let start = l.find("\"id\":").expect("an id") + 5;
            l[start..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .expect("digits")
                .parse()
                .expect("id")
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..6).collect::<Vec<u64>>());
    // One TensorBoard run per trial, its event file put when the trial ended.
    let runs = moto.keys("sweeps", "eth/killed/tensorboard/");
    assert_eq!(runs.len(), 6, "{runs:?}");
    let again = command(&args).output().expect("quantsweep runs");
    assert!(text(&again).contains("6 of 6 trials already finished, 0 to run"), "{}", text(&again));

    // The quickstart's outputs on S3, copied down by pyarrow's own S3 client, pass the same
    // checks as a local run's.
    let o = command(&[
        "run",
        "pipelines/quickstart.yaml",
        "--set",
        "train.epochs=15",
        "--workers",
        "2",
        "--out",
        "s3://sweeps/eth/quick",
    ])
    .output()
    .expect("quantsweep runs");
    assert!(o.status.success(), "{}", text(&o));
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = format!(
        r#"
import sys
from pyarrow import fs
s3 = fs.S3FileSystem(endpoint_override="{}", scheme="http", access_key="testing",
                     secret_key="testing", region="us-east-1")
fs.copy_files("sweeps/eth/quick", sys.argv[1], source_filesystem=s3,
              destination_filesystem=fs.LocalFileSystem())
print("copied")
"#,
        moto.endpoint().trim_start_matches("http://")
    );
    assert_eq!(check_with_python(&copy, dir.path()).trim(), "copied");
    let printed = check_with_python(READ_BACK, dir.path());
    assert!(printed.starts_with("ok 4"), "{printed}");
    assert!(dir.path().join("pipeline.resolved.yaml").exists());

    // `report` reads the tables from the bucket and puts report.html there.
    let o = command(&["report", "s3://sweeps/eth/quick"]).output().expect("quantsweep runs");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("report: s3://sweeps/eth/quick/report.html"), "{}", text(&o));
    let page = String::from_utf8(moto.get("sweeps", "eth/quick/report.html")).expect("utf-8");
    assert_eq!(page.matches("<svg").count(), 5);
}

/// The trial ids in the journal segments under `prefix` on moto (each line once per time
/// it was journaled).
fn journaled_ids(moto: &moto::Moto, bucket: &str, prefix: &str) -> Vec<u64> {
    let keys = moto.keys(bucket, prefix);
    let bytes: Vec<u8> = keys.iter().flat_map(|k| moto.get(bucket, k)).collect();
    journal_ids(&bytes)
}

/// The trial ids of the whole lines of journal text `bytes`.
fn journal_ids(bytes: &[u8]) -> Vec<u64> {
    String::from_utf8_lossy(bytes)
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .map(|l| {
            let record: serde_json::Value = serde_json::from_str(l).expect("a journal line");
            record["spec"]["id"].as_u64().expect("an id")
        })
        .collect()
}

/// An object store that goes down in the middle of a sweep (a proxy in front of moto stops:
/// connections refused, open ones cut). The sweep retries with backoff, then stops with one
/// clear error naming the object and the local file where the trials finished meanwhile are
/// kept; a run while the store is still down stops at once, saying so, and keeps them; once
/// the store is back, the same command puts them there first and finishes the sweep: every
/// trial journaled, none lost, none run twice, every TensorBoard run put.
#[test]
fn an_object_store_outage_stops_the_sweep_clearly_and_the_resume_loses_nothing() {
    let Some(moto) = moto::Moto::start(&repo()) else { return };
    moto.create_bucket("sweeps");
    let proxy = proxy::Proxy::start(moto.port());
    let state = tempfile::tempdir().expect("temp dir");
    let command = || {
        let mut c = quantsweep_command();
        c.args(["run", "tests/pipelines/sleepy.yaml", "--allow-commands", "--workers", "2"])
            .args(["--out", "s3://sweeps/outage"])
            .envs(moto.env())
            .env("AWS_ENDPOINT", proxy.endpoint())
            .env("XDG_STATE_HOME", state.path())
            .env_remove("RUST_BACKTRACE");
        c
    };
    let child = command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the quantsweep binary starts");
    let start = std::time::Instant::now();
    while journaled_ids(&moto, "sweeps", "outage/journal/").len() < 2
        && start.elapsed().as_secs() < 60
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    proxy.down();
    let down_at = std::time::Instant::now();
    let o = child.wait_with_output().expect("the sweep ends");
    let waited = down_at.elapsed().as_secs_f64();
    eprintln!("stopped {waited:.1} s after the outage began:\n{}", text(&o));
    assert!(!o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let local = state.path().join("quantsweep/s3___sweeps_outage/journal.jsonl");
    assert!(errors[0].contains("s3://sweeps/outage/journal/"), "{}", errors[0]);
    assert!(errors[0].contains(&format!("kept in {}", local.display())), "{}", errors[0]);
    assert!(errors[0].contains("run the same command again to resume"), "{}", errors[0]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Bounded: the client's retries and ours (about 10 s), not a hang.
    assert!(waited < 90.0, "stopped {waited:.0} s after the store went down");
    let stored = journaled_ids(&moto, "sweeps", "outage/journal/");
    let kept = journal_ids(&std::fs::read(&local).expect("the local journal"));
    assert!(!kept.is_empty(), "the trial that finished during the outage is kept locally");

    // Still down: a rerun stops at once with an error naming the store; the records stay.
    let o = command().output().expect("quantsweep runs");
    assert!(!o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("error: s3://sweeps/outage"), "{}", text(&o));
    assert_eq!(journal_ids(&std::fs::read(&local).expect("still kept")), kept);

    proxy.up();
    let o = command().output().expect("quantsweep runs");
    assert!(o.status.success(), "{}", text(&o));
    let mut before: Vec<u64> = stored.iter().chain(&kept).copied().collect();
    before.sort_unstable();
    before.dedup();
    let resumed = format!("{} of 12 trials already finished", before.len());
    assert!(text(&o).contains(&resumed), "{resumed}?\n{}", text(&o));
    assert!(!local.exists(), "the kept records were put on the store");
    let mut ids = journaled_ids(&moto, "sweeps", "outage/journal/");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids, (0..12).collect::<Vec<u64>>());
    let runs: std::collections::BTreeSet<String> = moto
        .keys("sweeps", "outage/tensorboard/")
        .iter()
        .filter_map(|k| k.split('/').nth(2).map(str::to_owned))
        .collect();
    assert_eq!(runs.len(), 12, "{runs:?}");
}

/// `objective: {kind: command}` runs the user's program per trial, only with
/// --allow-commands: its parameters arrive as arguments and environment, its JSON lines come
/// back as epochs and metrics (tables and TensorBoard), and a crash or a hang past the
/// timeout fails that trial with the reason while the sweep goes on.
#[test]
fn command_objectives_run_only_when_allowed_and_their_failures_are_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("command");
    let out_arg = out.to_str().expect("utf-8");
    let refused = quantsweep(&["run", "tests/pipelines/command.yaml", "--out", out_arg]);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("add --allow-commands"), "{}", text(&refused));
    assert!(!out.join("journal.jsonl").exists(), "nothing runs or is written when refused");

    let o = quantsweep(&[
        "run",
        "tests/pipelines/command.yaml",
        "--allow-commands",
        "--workers",
        "2",
        "--out",
        out_arg,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 complete, 2 failed"), "{}", text(&o));
    check_with_python(
        r#"
import sys, os
import pandas as pd
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
out = sys.argv[1]
t = pd.read_parquet(os.path.join(out, "trials.parquet")).set_index("trial_id")
assert list(t.status) == ["complete"] * 3 + ["failed"] * 2, t.status
assert list(t["metric.value"][:3]) == [1.0, 0.0, 1.0], t["metric.value"]
assert "ValueError: x = 3" in t.error[3] and "exited with exit status: 1" in t.error[3], t.error[3]
assert "timed out after 5 s" in t.error[4], t.error[4]
assert (t.duration_s[4] >= 5) and (t.duration_s[4] < 30), t.duration_s[4]
e = pd.read_parquet(os.path.join(out, "epochs.parquet"))
assert len(e) == 9 and list(e[e.trial_id == 1].train_loss) == [1.0, 0.5, 1 / 3], e
ea = EventAccumulator(os.path.join(out, "tensorboard", "0")); ea.Reload()
assert [s.step for s in ea.Scalars("loss/train")] == [0, 1, 2]
assert ea.Scalars("metric/value")[0].value == 1.0
print("ok")
"#,
        &out,
    );
}

/// Trial faults, each failing only its own trial, with its reason, while the sweep goes on;
/// `sweep.retries: 1` runs each failed trial once more with the same seed and records both
/// attempts. A `command` program that crashes, prints garbage, omits the metric, hangs past
/// its timeout or dies of SIGSEGV (tests/pipelines/faults.yaml), one that fails once and
/// then passes; real training whose loss becomes NaN, and a model too large for memory:
/// libtorch's out-of-memory error, one line, with no C++ backtrace and nothing on standard
/// error but the progress lines.
#[test]
fn trial_faults_fail_only_their_trial_and_retries_run_them_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let commands = dir.path().join("commands");
    let o = quantsweep_command()
        .args(["run", "tests/pipelines/faults.yaml", "--allow-commands", "--workers", "2"])
        .arg("--out")
        .arg(&commands)
        .env("FAULTS_DIR", dir.path())
        .output()
        .expect("the quantsweep binary runs");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("3 complete, 5 failed"), "{}", text(&o));
    check_with_python(
        r#"
import sys, os
import pandas as pd
t = pd.read_parquet(os.path.join(sys.argv[1], "trials.parquet")).set_index("trial_id")
assert list(t.status) == ["complete"] + ["failed"] * 5 + ["complete"] * 2, t.status
assert list(t.attempts) == [1, 2, 2, 2, 2, 2, 2, 1], t.attempts
assert "RuntimeError: x = 1 crashes" in t.error[1], t.error[1]
assert "printed no metrics" in t.error[2], t.error[2]
assert "reported no `value`" in t.error[3], t.error[3]
assert "timed out after 2 s" in t.error[4], t.error[4]
assert "signal: 11 (SIGSEGV)" in t.error[5], t.error[5]
for i in range(1, 6):
    assert list(t.attempt_errors[i]) == [t.error[i]], (i, t.attempt_errors[i])
assert t.error.isna()[6] and "transient failure" in t.attempt_errors[6][0], t.attempt_errors[6]
assert t["metric.value"][6] == 6.0 and t["metric.value"].isna()[7]
print("ok")
"#,
        &commands,
    );

    let training = dir.path().join("training");
    let o = quantsweep_command()
        .args(["run", "pipelines/quickstart.yaml", "--workers", "2", "--out"])
        .arg(&training)
        .args(["--set", "train.epochs=3", "--set", "model.head=identity"])
        .args(["--set", "train.optimizer=sgd", "--set", "sweep.retries=1"])
        .args([
            "--set",
            "sweep.parameters={model.hidden: {values: [8, 3000000]}, train.lr: {values: [0.003, 1.0e+30]}}",
        ])
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the quantsweep binary runs");
    assert!(o.status.success(), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!stderr.contains("panicked") && !stderr.contains("frame #"), "{stderr}");
    check_with_python(
        r#"
import sys, os
import pandas as pd
t = pd.read_parquet(os.path.join(sys.argv[1], "trials.parquet")).set_index("trial_id")
assert list(t.status) == ["complete", "failed", "failed", "failed"], t.status
assert list(t.attempts) == [1, 2, 2, 2], t.attempts
assert t.error[1].startswith("loss became NaN at epoch"), t.error[1]
for i in (2, 3):
    e = t.error[i]
    assert e.startswith("libtorch: DefaultCPUAllocator: can't allocate memory"), e
    assert "\n" not in e and "frame #" not in e and list(t.attempt_errors[i]) == [e], e
print("ok")
"#,
        &training,
    );
}

/// Parameter values reach a `command` program as literal arguments, with no shell (and,
/// with `shell: true`, quoted so that the shell runs none of them): `; touch pwned`,
/// `$(…)`, backquotes and quotes run nothing. A pipeline named `../../escape` and values
/// like `../../../escaped` write nothing outside `--out` (or `results/<name>` without it).
#[test]
fn command_values_are_literal_arguments_and_every_file_stays_under_out() {
    let work = tempfile::tempdir().expect("temp dir");
    let root = work.path().join("work");
    std::fs::create_dir(&root).expect("mkdir");
    std::fs::write(
        root.join("check.py"),
        "import json, os, sys\nv = sys.argv[1]\nassert v == os.environ['QS_PARAM_LABEL'], (v, os.environ['QS_PARAM_LABEL'])\nprint(json.dumps({'value': len(v)}))\n",
    )
    .expect("write");
    let values = [
        "; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "../../../escaped",
        "a' ; touch pwned; '",
    ];
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    std::fs::write(
        root.join("pipeline.yaml"),
        format!(
            "name: ../../escape\nobjective:\n  kind: command\n  command: [python3, check.py, \"{{label}}\"]\n\
             sweep:\n  method: grid\n  metric: {{name: value, goal: minimize}}\n  parameters:\n    \
             label: {{values: [{}]}}\n",
            quoted.join(", ")
        ),
    )
    .expect("write");
    for extra in [
        &["--out", "out-exec"][..],
        &[
            "--out",
            "out-shell",
            "--set",
            "objective.shell=true",
            "--set",
            "objective.command=python3 check.py {label}",
        ],
        &[],
    ] {
        let mut args = vec!["run", "pipeline.yaml", "--allow-commands", "--workers", "2"];
        args.extend_from_slice(extra);
        let o = quantsweep_in(&root, &args);
        assert!(o.status.success(), "{extra:?}: {}", text(&o));
        assert!(text(&o).contains("5 complete"), "{extra:?}: {}", text(&o));
    }
    // Every file is the two inputs or under an output folder.
    let mut stack = vec![work.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            let relative = path.strip_prefix(&root).map(Path::to_path_buf);
            if path == root {
                stack.push(path);
                continue;
            }
            let Ok(relative) = relative else {
                panic!("{} is outside the working folder", path.display());
            };
            let first = relative.components().next().expect("a name").as_os_str().to_owned();
            let allowed = ["check.py", "pipeline.yaml", "out-exec", "out-shell", "results"];
            assert!(allowed.iter().any(|a| first == *a), "unexpected {}", relative.display());
            assert!(!relative.to_string_lossy().contains("pwned"), "{}", relative.display());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    assert!(root.join("results/.._.._escape/trials.parquet").exists());
}

/// A process of a two-process sweep killed with SIGKILL mid-sweep: process 0 stops with one
/// clear error naming it (no panic, no backtrace), keeps the finished trials (journal and
/// tables), and a rerun — here on threads of one process — finishes the rest exactly once.
#[test]
fn a_cluster_process_that_dies_gives_one_clear_error_and_the_sweep_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("cluster");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
        .min(65_000);
    let process = |i: usize| {
        quantsweep_command()
            .args(["run", "tests/pipelines/sleepy.yaml", "--allow-commands", "--workers", "1"])
            .args(["--processes", "2", "--process", &i.to_string(), "--port", &port.to_string()])
            .arg("--out")
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("quantsweep starts")
    };
    let (coordinator, mut other) = (process(0), process(1));
    let journal = out.join("journal.jsonl");
    let lines = || std::fs::read(&journal).map_or(0, |t| t.iter().filter(|&&b| b == b'\n').count());
    let start = std::time::Instant::now();
    while lines() < 2 && start.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    other.kill().expect("SIGKILL");
    let _ = other.wait();
    let o = coordinator.wait_with_output().expect("process 0 ends");
    let said = text(&o);
    assert_eq!(o.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&format!("process 1 (127.0.0.1:{}) went away mid-sweep", port + 1)),
        "{said}"
    );
    assert!(!said.contains("panicked") && !said.contains("backtrace"), "{said}");
    let finished = lines();
    assert!((2..12).contains(&finished), "{finished} of 12 finished");
    assert!(said.contains(&format!("{finished} of 12 trials are finished")), "{said}");
    assert!(out.join("trials.parquet").exists(), "the tables show what finished");

    let o = quantsweep(&[
        "run",
        "tests/pipelines/sleepy.yaml",
        "--allow-commands",
        "--workers",
        "2",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("{finished} of 12 trials already finished")),
        "{}",
        text(&o)
    );
    check_with_python(
        r#"
import sys, os, json
import pandas as pd
out = sys.argv[1]
ids = [json.loads(l)["spec"]["id"] for l in open(os.path.join(out, "journal.jsonl"))]
assert sorted(ids) == list(range(12)), ids
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
assert list(t.trial_id) == list(range(12)) and list(t["metric.value"]) == list(range(12)), t
print("ok")
"#,
        &out,
    );
}

/// `init` writes a starter pipeline and its candles that validate and run from where init ran,
/// and never overwrites them without --force.
#[test]
fn init_writes_a_starter_pipeline_that_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let here = |args: &[&str]| quantsweep_in(dir.path(), args);
    let o = here(&["init", "starter"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("next: quantsweep run starter/pipeline.yaml"), "{}", text(&o));
    let again = here(&["init", "starter"]);
    assert!(!again.status.success());
    assert!(text(&again).contains("starter/pipeline.yaml exists"), "{}", text(&again));
    assert!(here(&["init", "starter", "--force"]).status.success());
    let o = here(&["validate", "starter/pipeline.yaml"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("ok: 4 trials"), "{}", text(&o));
    let o = here(&["run", "starter/pipeline.yaml", "--set", "train.epochs=3", "--out", "out"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("4 trials of 4"), "{}", text(&o));
}

/// The `# smoke budget (CI)` command in a pipeline's header, as arguments (single quotes
/// group), with its `--out` replaced by `out`.
fn smoke_command(pipeline: &Path, out: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(pipeline).expect("pipeline");
    let line = text
        .lines()
        .find(|l| l.starts_with('#') && l.contains("# smoke budget (CI)"))
        .unwrap_or_else(|| panic!("{}: no `# smoke budget (CI)` line", pipeline.display()));
    let command = line.trim_start_matches('#').split("# smoke budget").next().expect("command");
    let mut args = Vec::new();
    let mut quoted = false;
    let mut word: Option<String> = None;
    for c in command.trim().chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_default();
            }
            ' ' if !quoted => args.extend(word.take()),
            c => word.get_or_insert_default().push(c),
        }
    }
    args.extend(word);
    assert_eq!(args[..2], ["quantsweep", "run"], "{line}");
    let at = args.iter().position(|a| a == "--out").expect("--out in the smoke command");
    args[at + 1] = out.to_str().expect("utf-8 temp path").to_owned();
    args.remove(0);
    args
}

/// The `.yaml` files in the repository's folder `dir`, sorted.
fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}/: {e}"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// #23: the trials of the finished sweep in `full` (run by `args`, whose `--out` is `full`)
/// give bit-identical rows in every table when they run again after other trials or none:
/// resumed with the first half of the trials finished, and each trial alone as the first
/// trial of a fresh process (its journal holds every other trial). Timings, workers and
/// devices aside, the tables must be equal.
fn assert_history_independent(args: &[String], full: &Path, scratch: &Path) {
    let journal = std::fs::read_to_string(full.join("journal.jsonl")).expect("journal");
    let lines: Vec<&str> = journal.lines().collect();
    let ids = journal_ids(journal.as_bytes());
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    let mut runs: Vec<(String, Vec<u64>)> =
        vec![("resumed".into(), sorted[..sorted.len() / 2].to_vec())];
    if sorted.len() > 1 {
        for id in &sorted {
            let others = sorted.iter().copied().filter(|i| i != id).collect();
            runs.push((format!("alone-{id}"), others));
        }
    }
    let at = args.iter().position(|a| a == "--out").expect("--out") + 1;
    let mut dirs = Vec::new();
    for (label, keep) in runs {
        let out = scratch.join(label);
        std::fs::create_dir_all(&out).expect("run folder");
        std::fs::copy(full.join("pipeline.resolved.yaml"), out.join("pipeline.resolved.yaml"))
            .expect("copy the resolved pipeline");
        let kept: String = lines
            .iter()
            .zip(&ids)
            .filter(|(_, id)| keep.contains(id))
            .map(|(l, _)| format!("{l}\n"))
            .collect();
        std::fs::write(out.join("journal.jsonl"), kept).expect("journal");
        let mut args = args.to_vec();
        args[at] = out.to_str().expect("utf-8").to_owned();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = quantsweep(&args);
        assert!(o.status.success(), "{args:?}\n{}", text(&o));
        // It resumed from the journal it was given (a journal that does not read would run
        // everything again, and compare equal for nothing).
        let resumed = format!("{} of {} trials already finished", keep.len(), sorted.len());
        assert!(text(&o).contains(&resumed), "{args:?}: {resumed}?\n{}", text(&o));
        dirs.push(out.into_os_string());
    }
    let script = r#"
import sys, os, pandas as pd
full, others = sys.argv[1], sys.argv[2:]
timing = {"started_at", "finished_at", "duration_s", "worker", "device"}
for name in ["trials", "epochs", "predictions", "equity", "trades", "folds"]:
    a = os.path.join(full, name + ".parquet")
    if not os.path.exists(a):
        continue
    a = pd.read_parquet(a)
    a = a[[c for c in a.columns if c not in timing]]
    for other in others:
        b = pd.read_parquet(os.path.join(other, name + ".parquet"))[a.columns]
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=f"{other}/{name}")
print(len(others), "runs identical")
"#;
    let mut argv: Vec<&std::ffi::OsStr> = vec![full.as_os_str()];
    argv.extend(dirs.iter().map(|d| d.as_os_str()));
    let said = check_python(script, &argv);
    assert!(said.trim().ends_with("runs identical"), "{said}");
}

/// #23: a trial's numbers do not depend on what ran before it: the issue's hourly BTC sweep
/// (a Keras classifier, whose orthogonal initialiser runs MKL's QR: the first on a thread ran
/// on every core) in full, resumed with half of it finished, and each trial alone.
#[test]
fn a_trial_gives_the_same_numbers_whatever_ran_before_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let full = dir.path().join("full");
    let args: Vec<String> = [
        "run",
        "tests/pipelines/btc1h-updown.yaml",
        "--workers",
        "2",
        "--set",
        "sweep.max_trials=6",
        // MKL parallelises the QR of hidden sizes from 32 up (an orthogonal [128, 32] kernel).
        "--set",
        "sweep.parameters.model.hidden.values=[32, 64]",
        "--out",
        full.to_str().expect("utf-8"),
    ]
    .map(String::from)
    .to_vec();
    let o = quantsweep(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", text(&o));
    assert_history_independent(&args, &full, dir.path());

    // #23's report: whole-number metrics as integers, --top for the page too, and the
    // log-uniform learning rate on a log axis (its 3e-4..1e-2 spans under two decades).
    let o = quantsweep(&["report", full.to_str().expect("utf-8"), "--top", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let said = text(&o);
    let header = said.lines().find(|l| l.starts_with("rank")).expect("a table");
    let trades = header.split_whitespace().position(|c| c == "trades").expect("trades");
    let rows: Vec<&str> =
        said.lines().skip_while(|l| !l.starts_with("rank")).skip(1).take(2).collect();
    for row in &rows {
        let cell = row.split_whitespace().nth(trades).expect("a trades cell");
        assert!(cell.parse::<u64>().is_ok(), "trades as an integer: {row}");
    }
    let page = std::fs::read_to_string(full.join("report.html")).expect("report.html");
    assert!(page.contains("train.lr (log scale)"), "the learning rate on a log axis");
    assert_eq!(page.matches("<tr>").count(), 1 + 2, "a header and the top 2 rows");
}

/// Every pipeline in `pipelines/` validates, and runs to completion at the smoke budget its
/// header gives, on the bundled data, with the same numbers for every trial whatever ran
/// before it (#23); `report` then draws it (with the prediction histograms
/// for the Keras classifier). The full budgets and their numbers are in docs/REPRODUCTION.md.
#[test]
fn every_published_pipeline_validates_and_runs_its_smoke_budget() {
    let pipelines = yaml_files("pipelines");
    let names: Vec<String> = pipelines
        .iter()
        .map(|p| p.file_stem().expect("name").to_string_lossy().into_owned())
        .collect();
    for expected in [
        "blankly-eth-daily",
        "blankly-eth-walk-forward",
        "fischer-krauss-2018",
        "freqai-lstm",
        "keras-binance-15m",
        "keras-binance-15m-ta",
        "quickstart",
    ] {
        assert!(names.iter().any(|n| n == expected), "pipelines/{expected}.yaml: {names:?}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (pipeline, name) in pipelines.iter().zip(&names) {
        let relative = format!("pipelines/{name}.yaml");
        let o = quantsweep(&["validate", &relative]);
        assert!(o.status.success(), "validate {name}: {}", text(&o));
        let out = dir.path().join(name);
        let args = smoke_command(pipeline, &out);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = quantsweep(&args);
        assert!(o.status.success(), "{name}: {args:?}\n{}", text(&o));
        let owned: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        assert_history_independent(&owned, &out, &dir.path().join(format!("{name}-again")));
        let o = quantsweep(&["report", out.to_str().expect("utf-8"), "--top", "3"]);
        assert!(o.status.success(), "report {name}: {}", text(&o));
        let checked = check_with_python(
            r#"
import sys, os, pandas as pd
out = sys.argv[1]
t = pd.read_parquet(os.path.join(out, "trials.parquet"))
assert len(t) >= 2 and set(t.status) == {"complete"}, t[["trial_id", "status", "error"]]
pr = pd.read_parquet(os.path.join(out, "predictions.parquet"))
assert set(pr.trial_id) == set(t.trial_id)
page = open(os.path.join(out, "report.html")).read()
classifier = set(pr.actual.unique()) <= {0.0, 1.0}
assert ("Predictions by true class" in page) == classifier
print(len(t), "classifier" if classifier else "regression")
"#,
            &out,
        );
        eprintln!("{name}: {}", checked.trim());
        if name.starts_with("keras") {
            assert!(checked.ends_with("classifier\n"), "{name}: {checked}");
        }
    }
    // freqAI's original target (the score of the decision bar itself) reads no later bar, so
    // its last sample is the last candle: it runs (once it failed every trial on the fill bar).
    let out = dir.path().join("freqai-original");
    let o = quantsweep(&[
        "run",
        "pipelines/freqai-lstm.yaml",
        "--set",
        "train.epochs=1",
        "--set",
        "sweep={method: grid}",
        "--set",
        "target.original=true",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    check_with_python(
        r#"
import sys, os, pandas as pd
t = pd.read_parquet(os.path.join(sys.argv[1], "trials.parquet"))
assert list(t.status) == ["complete"], t[["status", "error"]]
"#,
        &out,
    );
}

/// `data.pair: [ETH/USDT, SOL/USDT]` (the published freqAI pipeline) trades the pairs as one
/// equal-weight portfolio, each with its own models: the portfolio's curve is the sum of the
/// pairs' curves, each pair starts with half the cash, trades and predictions say their pair,
/// and buy-and-hold is the same portfolio held. One pair alone writes no `pair` column.
#[test]
fn a_portfolio_of_pairs_trades_each_pair_with_its_own_models() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            "pipelines/freqai-lstm.yaml",
            "--set",
            "train.epochs=1",
            "--set",
            "sweep={method: grid}",
            "--out",
            out.to_str().expect("utf-8"),
        ];
        args.extend(extra);
        let o = quantsweep(&args);
        assert!(o.status.success(), "{name}: {}", text(&o));
        out
    };
    let portfolio = run("portfolio", &[]);
    let alone = run("alone", &["--set", "data.pair=ETH/USDT"]);
    let o = quantsweep(&["report", portfolio.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", text(&o));
    let checked = check_python(
        r#"
import sys, os, numpy as np, pandas as pd
out, alone = sys.argv[1:3]
q = pd.read_parquet(os.path.join(out, "equity.parquet"))
total = q[q.pair.isna()].set_index("timestamp")
legs = q[q.pair.notna()].pivot(index="timestamp", columns="pair", values="equity")
assert list(legs.columns) == ["ETH/USDT", "SOL/USDT"], legs.columns
assert legs.index.equals(total.index) and len(total) > 1000
assert np.allclose(legs.sum(axis=1), total.equity, rtol=0, atol=1e-6)
assert total.price.isna().all() and abs(total.equity.iloc[0] - 10000) < 1e-6
assert np.allclose(legs.iloc[0], 5000, atol=1e-6), legs.iloc[0]
assert set(total.fold) == {0, 1, 2, 3, 4}
tr = pd.read_parquet(os.path.join(out, "trades.parquet"))
assert set(tr.pair) == {"ETH/USDT", "SOL/USDT"}, tr.pair.unique()
pnl = tr.groupby("pair").pnl.sum()
end = legs.iloc[-1] - 5000
assert np.allclose(pnl[end.index], end, atol=1e-6), (pnl, end)
pr = pd.read_parquet(os.path.join(out, "predictions.parquet"))
assert set(pr.pair) == {"ETH/USDT", "SOL/USDT"}
e = pd.read_parquet(os.path.join(out, "epochs.parquet"))
assert sorted(set(zip(e.pair, e.fold))) == [(p, f) for p in (0.0, 1.0) for f in range(5)]
t = pd.read_parquet(os.path.join(out, "trials.parquet")).iloc[0]
prices = q[q.pair.notna()].pivot(index="timestamp", columns="pair", values="price")
held = (prices.iloc[-1] / prices.iloc[0]).mean() - 1
assert abs(t["metric.buy_hold_return"] - held) < 0.01, (t["metric.buy_hold_return"], held)
assert abs(t["metric.total_return"] - (total.equity.iloc[-1] / 10000 - 1)) < 1e-9
assert "buy and hold" in open(os.path.join(out, "report.html")).read()
for name in ("equity", "trades", "predictions"):
    assert "pair" not in pd.read_parquet(os.path.join(alone, name + ".parquet")).columns, name
print(len(total), len(tr))
"#,
        &[portfolio.as_os_str(), alone.as_os_str()],
    );
    eprintln!("portfolio bars, trades: {}", checked.trim());
}

/// tests/bad-input/: each file is a bad pipeline (or points at a bad data file in
/// tests/bad-input/data/) with the error it must give (`# expect:`, and `# args:` for bad
/// `--set`s). `validate` and `run` each refuse it with exit code 1 and one line that names the
/// file and holds the expected text — no panic, no backtrace — and `run` leaves nothing in
/// its `--out`.
#[test]
fn the_bad_input_corpus_gives_one_clear_error_each() {
    let cases = yaml_files("tests/bad-input");
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let dir = tempfile::tempdir().expect("temp dir");
    for case in &cases {
        let name = case.file_stem().expect("name").to_string_lossy().into_owned();
        let body = std::fs::read_to_string(case).expect("case");
        let header = |tag: &str| -> Vec<String> {
            body.lines().filter_map(|l| l.strip_prefix(tag)).map(str::to_owned).collect()
        };
        let expected = header("# expect: ");
        assert!(!expected.is_empty(), "{name}: no `# expect:` line");
        let extra: Vec<String> = header("# args: ")
            .iter()
            .flat_map(|a| a.split_whitespace())
            .map(String::from)
            .collect();
        let relative = format!("tests/bad-input/{name}.yaml");
        let out = dir.path().join(&name);
        for command in ["validate", "run"] {
            let mut args = vec![command, relative.as_str()];
            args.extend(extra.iter().map(String::as_str));
            if command == "run" {
                args.extend(["--out", out.to_str().expect("utf-8")]);
            }
            let o = quantsweep(&args);
            let msg = text(&o);
            let at = format!("{name}/{command}");
            assert_eq!(o.status.code(), Some(1), "{at}: {msg}");
            assert!(!msg.contains("panicked") && !msg.contains("BACKTRACE"), "{at}: {msg}");
            assert_eq!(msg.trim().lines().count(), 1, "{at}: one line: {msg}");
            assert!(msg.starts_with(&format!("error: {relative}")), "{at}: names the file: {msg}");
            for e in &expected {
                assert!(msg.contains(e.as_str()), "{at}: expected {e:?} in {msg}");
            }
        }
        let left = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
        assert_eq!(left, 0, "{name}: run left {left} entries in its --out");
    }
    eprintln!("{} bad inputs: each refused by validate and run with one clear line", cases.len());
}

/// Waits until the journal under `out` holds at least `n` trials.
fn wait_for_trials(out: &Path, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read(out.join("journal.jsonl")).map_or(0, |b| journal_ids(&b).len()) < n {
        assert!(std::time::Instant::now() < deadline, "no {n} trials journaled in a minute");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Sends `signal` to the process `child`.
fn signal(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("a pid"));
    nix::sys::signal::kill(pid, signal).expect("signal sent");
}

/// #23: Ctrl-C stops dispatching, lets the running trials end, writes the tables and the
/// summary, says how many finished and how to resume, and exits 130 (SIGTERM: 143); `report`
/// reads the folder; the same command then runs the rest. A second Ctrl-C stops the running
/// trials at once (their programs too) and still writes the tables of what had finished.
#[test]
fn ctrl_c_writes_the_tables_of_the_finished_trials_and_the_rerun_resumes() {
    use nix::sys::signal::Signal;
    let dir = tempfile::tempdir().expect("temp dir");
    for (sig, code) in [(Signal::SIGINT, 130), (Signal::SIGTERM, 143)] {
        let out = dir.path().join(format!("{sig}"));
        let out_s = out.to_str().expect("utf-8");
        let args = ["run", "tests/pipelines/sleepy.yaml", "--allow-commands", "--workers", "2"];
        let child = quantsweep_command()
            .args(args)
            .args(["--out", out_s])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("quantsweep starts");
        wait_for_trials(&out, 2);
        signal(&child, sig);
        let o = child.wait_with_output().expect("quantsweep ends");
        let said = text(&o);
        assert_eq!(o.status.code(), Some(code), "{said}");
        let finished = journal_ids(&std::fs::read(out.join("journal.jsonl")).expect("journal"));
        assert!(finished.len() >= 2 && finished.len() < 12, "{finished:?}");
        let line = format!(
            "interrupted: {} of 12 trials finished in {out_s}; run the same command to resume",
            finished.len()
        );
        assert!(said.contains(&line), "{said}");
        assert!(said.contains("no new trials start"), "{said}");
        check_with_python(
            &format!(
                r#"
import sys, os, json, pandas as pd
t = pd.read_parquet(os.path.join(sys.argv[1], "trials.parquet"))
assert len(t) == {n} and set(t.status) == {{"complete"}}, t
assert json.load(open(os.path.join(sys.argv[1], "summary.json")))["counts"]["complete"] == {n}
"#,
                n = finished.len()
            ),
            &out,
        );
        let o = quantsweep(&["report", out_s]);
        assert!(o.status.success(), "{}", text(&o));
        let mut rerun: Vec<&str> = args.to_vec();
        rerun.extend(["--out", out_s]);
        let o = quantsweep(&rerun);
        assert!(o.status.success(), "{}", text(&o));
        let all = journal_ids(&std::fs::read(out.join("journal.jsonl")).expect("journal"));
        let mut sorted = all.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..12).collect::<Vec<u64>>(), "every trial exactly once");
    }

    // Trials of a minute each: a second Ctrl-C ends them (and their programs) at once.
    let slow = dir.path().join("slow.yaml");
    std::fs::write(
        &slow,
        "name: slow\nobjective: {kind: command, command: [sh, -c, \"sleep 60; echo '{\\\"value\\\": 1}'\"]}\n\
         sweep: {method: grid, metric: {name: value, goal: minimize}, parameters: {x: {values: [1, 2, 3]}}}\n",
    )
    .expect("pipeline");
    let out = dir.path().join("twice");
    let started = std::time::Instant::now();
    let child = quantsweep_command()
        .args(["run", slow.to_str().expect("utf-8"), "--allow-commands", "--workers", "2"])
        .args(["--out", out.to_str().expect("utf-8")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("quantsweep starts");
    // Both trials' programs running: the sweep is dispatching (its handler is installed).
    let running = || {
        let o = Command::new("pgrep").args(["-f", "sleep 60; echo"]).output().expect("pgrep");
        String::from_utf8_lossy(&o.stdout).lines().count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while running() < 2 {
        assert!(std::time::Instant::now() < deadline, "the trials never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    signal(&child, Signal::SIGINT);
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, Signal::SIGINT);
    let o = child.wait_with_output().expect("quantsweep ends");
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "stopped at once");
    assert!(
        text(&o).contains("interrupted: 0 of 3 trials finished in")
            && text(&o).contains("the running ones were stopped"),
        "{}",
        text(&o)
    );
    // The stopped trials are not outcomes: nothing was journaled, so a rerun runs them.
    let journaled = std::fs::read(out.join("journal.jsonl")).unwrap_or_default();
    assert!(journal_ids(&journaled).is_empty(), "{}", String::from_utf8_lossy(&journaled));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while running() > 0 {
        assert!(std::time::Instant::now() < deadline, "the trials' programs were stopped too");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// #23: raising `sweep.max_trials` or `sweep.seeds` of a finished sweep runs exactly the
/// trials a run with the larger budget from the start would have run (ids, parameters,
/// seeds and numbers); any other change is refused naming each key that differs.
#[test]
fn a_finished_sweep_is_extended_by_a_larger_budget() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |out: &Path, sets: &[&str]| {
        let mut args = vec!["run", "tests/pipelines/branin.yaml", "--workers", "2"];
        for s in sets {
            args.extend(["--set", s]);
        }
        args.extend(["--out", out.to_str().expect("utf-8")]);
        quantsweep(&args)
    };
    for (method, small, large) in [
        (
            "random",
            ["sweep.max_trials=6", "sweep.seeds=1"],
            ["sweep.max_trials=12", "sweep.seeds=1"],
        ),
        (
            "random",
            ["sweep.max_trials=6", "sweep.seeds=1"],
            ["sweep.max_trials=12", "sweep.seeds=2"],
        ),
        ("sobol", ["sweep.max_trials=4", "sweep.seeds=1"], ["sweep.max_trials=8", "sweep.seeds=1"]),
        ("tpe", ["sweep.max_trials=4", "sweep.seeds=1"], ["sweep.max_trials=8", "sweep.seeds=1"]),
        ("bayes", ["sweep.max_trials=3", "sweep.seeds=1"], ["sweep.max_trials=6", "sweep.seeds=1"]),
    ] {
        let label = format!("{method}-{}", large.join("-"));
        let method = format!("sweep.method={method}");
        let extended = dir.path().join(format!("{label}-extended"));
        let whole = dir.path().join(format!("{label}-whole"));
        let mut sets: Vec<&str> = vec![&method];
        sets.extend(small);
        let o = run(&extended, &sets);
        assert!(o.status.success(), "{}", text(&o));
        let mut sets: Vec<&str> = vec![&method];
        sets.extend(large);
        let o = run(&extended, &sets);
        assert!(o.status.success(), "{label}: {}", text(&o));
        assert!(text(&o).contains("extending the sweep in"), "{}", text(&o));
        let o = run(&whole, &sets);
        assert!(o.status.success(), "{}", text(&o));
        let same = check_python(
            r#"
import sys, pandas as pd
a, b = (pd.read_parquet(d + "/trials.parquet") for d in sys.argv[1:])
keep = [c for c in a.columns if c.startswith(("params.", "metric.")) or c in ("trial_id", "seed")]
pd.testing.assert_frame_equal(a[keep], b[keep], check_exact=True)
print(len(a))
"#,
            &[extended.as_os_str(), whole.as_os_str()],
        );
        eprintln!("{label}: {} trials", same.trim());
    }

    // Another change is refused, naming each key; nothing there is touched.
    let out = dir.path().join("random-sweep.max_trials=12-sweep.seeds=1-extended");
    let journal = std::fs::read(out.join("journal.jsonl")).expect("journal");
    let o = run(&out, &["sweep.method=random", "sweep.max_trials=12", "sweep.seed=3"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("(sweep.seed: 7 → 3)"), "{}", text(&o));
    let o = run(&out, &["sweep.method=random", "sweep.max_trials=6"]);
    assert!(!o.status.success());
    assert!(
        text(&o).contains("sweep.max_trials: 12 → 6: a sweep can be extended, not shrunk"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read(out.join("journal.jsonl")).expect("journal"), journal);
    // More seeds at the same budget would drop finished configurations: refused.
    let o = run(&out, &["sweep.method=random", "sweep.max_trials=12", "sweep.seeds=3"]);
    assert!(
        text(&o).contains("with sweep.seeds: 1 → 3, 8 of the finished trials are not in the sweep"),
        "{}",
        text(&o)
    );
    // A started tpe sweep takes more trials, not more seeds.
    let out = dir.path().join("tpe-sweep.max_trials=8-sweep.seeds=1-extended");
    let o = run(&out, &["sweep.method=tpe", "sweep.max_trials=8", "sweep.seeds=2"]);
    assert!(
        text(&o)
            .contains("sweep.seeds: 1 → 2: a tpe sweep asks each configuration's seeds together"),
        "{}",
        text(&o)
    );
    // A grid takes more seeds: each configuration's new seed runs after its first.
    let grid = [
        "sweep.method=grid",
        "sweep.parameters.x1={values: [-5, 0, 5]}",
        "sweep.parameters.x2={values: [0, 15]}",
    ];
    let (extended, whole) = (dir.path().join("grid-extended"), dir.path().join("grid-whole"));
    let mut small = grid.to_vec();
    small.push("sweep.seeds=1");
    let mut large = grid.to_vec();
    large.push("sweep.seeds=2");
    assert!(run(&extended, &small).status.success());
    let o = run(&extended, &large);
    assert!(text(&o).contains("6 of 12 trials already finished, 6 to run"), "{}", text(&o));
    assert!(run(&whole, &large).status.success());
    check_python(
        r#"
import sys, pandas as pd
a, b = (pd.read_parquet(d + "/trials.parquet") for d in sys.argv[1:])
keep = ["trial_id", "seed", "params.x1", "params.x2", "metric.value"]
pd.testing.assert_frame_equal(a[keep], b[keep], check_exact=True)
assert list(a.seed) == [7, 8] * 6, list(a.seed)
"#,
        &[extended.as_os_str(), whole.as_os_str()],
    );
}
