#!/usr/bin/env python3
"""Writes the bad-input corpus of tests/bad-input/: broken data files in data/ (cut from the
bundled datasets/eth-usdt-1d.csv, then truncated or corrupted) and one bad pipeline per case
(quickstart.yaml with one thing wrong). Each case's `# expect:` line was filled in from the
error quantsweep gives, after reading that error; re-running this script resets them to TODO.
The e2e test `the_bad_input_corpus_gives_one_clear_error_each` runs every case.
    .venv/bin/python tests/bad-input/make.py
"""
import os, gzip, io, re
import pyarrow as pa, pyarrow.feather as pf, pyarrow.parquet as pq, pandas as pd
root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
D = f"{root}/tests/bad-input"
os.makedirs(f"{D}/data", exist_ok=True)
quick = open(f"{root}/pipelines/quickstart.yaml").read()
body = quick[quick.index("name: quickstart"):]
body = body.replace("  epochs: 1000", "  epochs: 2")

# --- data files: a small clean CSV (chronological, standard header) and broken variants
src = pd.read_csv(f"{root}/datasets/eth-usdt-1d.csv", skiprows=1)
src = src.sort_values("Unix").tail(400)
clean = src[["Date", "Open", "High", "Low", "Close", "Volume ETH"]].rename(columns={"Volume ETH": "Volume"})
csv = clean.to_csv(index=False)
lines = csv.splitlines(keepends=True)
def w(name, data):
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(f"{D}/data/{name}", mode) as f: f.write(data)
w("truncated.csv", "".join(lines[:200]) + lines[200][:12])
bad = lines[:]; f = bad[150].split(","); f[4] = "abc"; bad[150] = ",".join(f)
w("garbage-close.csv", "".join(bad))
w("empty.csv", "")
w("header-only.csv", lines[0])
dup = lines[:101] + [lines[100]] + lines[101:]
dup[101] = dup[101].replace(dup[101].split(",")[4], str(float(dup[101].split(",")[4]) + 1), 1)
w("duplicates.csv", "".join(dup))
ooo = lines[:]; ooo.insert(200, ooo.pop(50))  # a row pasted 150 rows late
w("out-of-order.csv", "".join(ooo))
nan = [lines[0]] + [",".join(l.split(",")[:4] + ["", l.split(",")[5]]) for l in lines[1:]]
w("all-nan-close.csv", "".join(nan))
hl = lines[:]; p = hl[120].split(","); p[2], p[3] = p[3], p[2]; hl[120] = ",".join(p)
w("high-below-low.csv", "".join(hl))
w("no-time-column.csv", "Open,High,Low,Close,Volume\n" + "".join(",".join(l.split(",")[1:]) for l in lines[1:]))
w("not-utf8.csv", b"\xff\xfe" + csv.encode()[:500])
gz = gzip.compress(csv.encode(), mtime=0)
w("truncated.csv.gz", gz[: len(gz) // 2])
w("not-gzip.csv.gz", csv.encode()[:300])
t = pa.table({"date": pa.array(pd.to_datetime(clean.Date, utc=True)), "open": clean.Open.values, "high": clean.High.values,
              "low": clean.Low.values, "close": clean.Close.values, "volume": clean.Volume.values})
b = io.BytesIO(); pf.write_feather(t, b); fb = b.getvalue()
w("truncated.feather", fb[: len(fb) // 2])
w("garbage.feather", b"ARROW1\x00\x00" + b"\x13" * 200)
b = io.BytesIO(); pq.write_table(t, b); pb = b.getvalue()
w("truncated.parquet", pb[: len(pb) // 2])
corrupt = bytearray(pb); corrupt[len(pb) // 3: len(pb) // 3 + 64] = b"\x00" * 64
w("corrupt-footer.parquet", bytes(pb[:-12]) + b"\x00\x00\x00\x00PAR1")
w("truncated.json", "[[1514764800000, 1, 2, 0.5, 1.5, 10], [1514851200000, 1")
w("wrong-shape.json", '{"open": [1, 2], "close": [1, 2]}')


# --- the cases
import glob
for f in glob.glob(f"{D}/*.yaml"): os.remove(f)
quick = open(f"{root}/pipelines/quickstart.yaml").read()
base = quick[quick.index("name: quickstart"):].replace("  epochs: 1000", "  epochs: 2").replace("name: quickstart", "name: bad-input")

def sub(old, new, text=None):
    t = base if text is None else text
    assert old in t, old
    return t.replace(old, new, 1)

def data(path, extra=""):
    return sub("  source: datasets/eth-usdt-1d.csv\n  start: \"2018-01-01\"", f"  source: tests/bad-input/data/{path}{extra}")

cases = {}
def case(name, text, args=""):
    assert name not in cases, name
    cases[name] = (text, args)

# YAML syntax
case("syntax-unclosed-bracket", sub("  horizon_bars: 3", "  horizon_bars: [3"))
case("syntax-tab-indent", sub("  hidden: 20", "\thidden: 20"))
case("syntax-duplicate-key", sub("  hidden: 20", "  hidden: 20\n  hidden: 30"))
case("syntax-top-level-list", "- name: x\n- data: y\n")
case("yaml-python-tag", sub("name: bad-input", 'name: !!python/object/apply:os.system ["touch pwned-by-yaml"]'))
case("syntax-empty-file", "")
case("syntax-comments-only", "# nothing here\n")
case("syntax-bad-indent", sub("  lr: 0.003", "    lr: 0.003"))
case("syntax-unterminated-string", sub("  start: \"2018-01-01\"", "  start: \"2018-01-01"))
# unknown and misspelled keys
case("unknown-top-level", sub("model:", "modle:"))
case("unknown-data-key", sub("  source: datasets", "  sorce: datasets"))
case("unknown-train-key", sub("  lr: 0.003", "  learning_rate: 0.003"))
case("unknown-window-key", sub("  input_bars: 5", "  input_bar: 5"))
case("unknown-sweep-method", sub("  method: grid", "  method: grd"))
case("unknown-swept-key", sub("    train.lr: {values", "    train.lrr: {values"))
case("unknown-feature-kind", sub("kind: rsi", "kind: rsx"))
case("unknown-feature-parameter", sub("    period: 14", "    peroid: 14"))
case("unknown-strategy-kind", sub("  kind: long_flat", "  kind: long_flatt"))
case("unknown-model-kind", sub("  kind: blankly", "  kind: blankley"))
case("unknown-target-kind", sub("  kind: next_close_ratios", "  kind: next_close_ratio"))
case("unknown-optimizer", sub("  optimizer: adam", "  optimizer: adamm"))
case("unknown-input-column", sub("inputs: [close_ratio,", "inputs: [close_rato,"))
case("unknown-set-key", base, "--set train.lrate=0.1")
case("set-without-value", base, "--set train.lr")
# #23: --set errors name the key, in a user's words
case("set-text-for-a-number", base, "--set train.lr=abc")
case("set-scalar-for-a-section", base, "--set window=5")
case("set-negative-epochs", base, "--set train.epochs=-1")
case("set-nested-unknown-field", base, "--set train.epoch=5")
case("set-parameter-scalar", base, "--set sweep.parameters.model.hidden=5")
case("set-parameter-field-typo", base, "--set sweep.parameters.train.lr.valuez=[1]")
case("key-unknown-sweep-parameter", sub("    train.lr: {values: [0.001, 0.003]}", "    train.learning_rate: {values: [0.001, 0.003]}"))
case("value-tpe-without-max-trials", sub("  method: grid", "  method: tpe"))
case("unknown-optimizer-variant", sub("  optimizer: adam", "  optimizer: adamw2"))
case("key-nested-unknown-field", sub("  epochs: 2", "  epochs: 2\n  epoch: 3"))
case("unknown-metric", sub("  metric: {name: sharpe", "  metric: {name: sharp"))
# wrong types
case("type-lr-string", sub("  lr: 0.003", "  lr: fast"))
case("type-epochs-negative", sub("  epochs: 2", "  epochs: -5"))
case("type-epochs-fraction", sub("  epochs: 2", "  epochs: 1.5"))
case("type-hidden-list", sub("  hidden: 20", "  hidden: [20]"))
case("type-features-mapping", sub("features:\n  - kind: close_ratio", "features:\n  kind: close_ratio\n  x:"))
case("type-parameter-scalar", sub("    train.lr: {values: [0.001, 0.003]}", "    train.lr: 0.1"))
case("type-seeds-string", sub("  seed: 42", "  seed: 42\n  seeds: three"))
case("type-swept-value", sub("    model.hidden: {values: [16, 32]}", "    model.hidden: {values: [16, wide]}"))
case("type-period-string", sub("    period: 14", "    period: fourteen"))
# impossible values
case("value-negative-lr", sub("    train.lr: {values: [0.001, 0.003]}", "    train.lr: {values: [-0.001, 0.003]}"))
case("value-zero-lr", sub("    train.lr: {values: [0.001, 0.003]}", "    train.lr: {values: [0.001, 0]}"))
case("value-zero-window", sub("  input_bars: 5", "  input_bars: 0"))
case("value-window-longer-than-data", sub("  input_bars: 5", "  input_bars: 100000"))
case("value-test-fraction", sub("  test: 0.2", "  test: 1.5"))
case("value-val-plus-test", sub("  val: 0.2\n  test: 0.2", "  val: 0.6\n  test: 0.5"))
case("value-empty-grid", sub("    model.hidden: {values: [16, 32]}", "    model.hidden: {values: []}"))
grid = "".join(f"    {k}: {{values: [{', '.join(str(x) for x in v)}]}}\n" for k, v in [
    ("train.epochs", range(1, 11)), ("model.hidden", range(1, 11)), ("window.input_bars", range(1, 11)),
    ("train.lr", [round(0.001 * i, 3) for i in range(1, 11)]), ("train.batch_size", range(1, 11)),
    ("features.1.period", range(2, 12)), ("features.2.fast", range(2, 12)), ("target.horizon_bars", range(1, 11)),
    ("strategy.threshold", [round(0.9 + 0.05 * i, 2) for i in range(10)])])
case("value-huge-grid", base[:base.index("  parameters:\n")] + "  parameters:\n" + grid)
case("value-threshold-out-of-range", sub("  kind: long_flat\n  threshold: 1.0\n  average: true", "  kind: classifier\n  long_above: 1.5\n  flat_below: 0.5").replace("  kind: next_close_ratios\n  horizon_bars: 3", "  kind: up_down\n  horizon_bars: 3"))
case("value-negative-fee", sub("  fee_bps: 10", "  fee_bps: -1"))
case("value-zero-cash", sub("  initial_cash: 10000", "  initial_cash: 0"))
case("unknown-model-parameter", sub("  head: half_plus_sigmoid", "  head: half_plus_sigmoid\n  dropout: 0.5"))
case("value-dropout", sub("  kind: blankly\n  hidden: 20\n  head: half_plus_sigmoid", "  kind: freqai\n  hidden: 8\n  layers: 1\n  dropout: 1.5"))
case("value-zero-hidden", sub("    model.hidden: {values: [16, 32]}", "    model.hidden: {values: [0, 32]}"))
case("value-zero-batch", sub("  loss: mse", "  loss: mse\n  batch_size: 0"))
case("value-zero-max-trials", sub("  seed: 42", "  seed: 42\n  max_trials: 0"))
case("value-min-above-max", sub("    train.lr: {values: [0.001, 0.003]}", "    train.lr: {min: 0.1, max: 0.01}").replace("method: grid", "method: random\n  max_trials: 4"))
case("value-log-uniform-zero", sub("    train.lr: {values: [0.001, 0.003]}", "    train.lr: {min: 0, max: 0.01, distribution: log_uniform_values}").replace("method: grid", "method: random\n  max_trials: 4"))
case("value-start-after-end", sub("  start: \"2018-01-01\"", "  start: \"2020-01-01\"\n  end: \"2019-01-01\""))
case("value-bad-timerange", sub("  start: \"2018-01-01\"", "  timerange: 2018-2019"))
case("value-bad-resample", sub("  start: \"2018-01-01\"", "  start: \"2018-01-01\"\n  resample: 7x"))
case("value-zero-period", sub("    period: 14", "    period: 0"))
case("value-zero-horizon", sub("  horizon_bars: 3", "  horizon_bars: 0"))
case("value-walk-forward-too-long", sub("  val: 0.2\n  test: 0.2", "  kind: walk_forward\n  train_bars: 100000\n  test_bars: 100\n  val: 0.2"))
case("value-no-data-in-range", sub("  start: \"2018-01-01\"", "  start: \"2030-01-01\""))
case("value-swept-data", sub("    model.hidden: {values: [16, 32]}", "    model.hidden: {values: [16, 32]}\n    data.start: {values: ['2019-01-01']}"))
case("value-pair-listed-twice", sub("  source: datasets/eth-usdt-1d.csv\n  start: \"2018-01-01\"", "  datadir: datasets/binance-2024\n  pair: [ETH/USDT, ETH/USDT]\n  timeframe: 1h"))
# missing and unreadable data
case("data-missing-file", sub("datasets/eth-usdt-1d.csv", "datasets/nope.csv"))
case("data-directory", data("").replace("data/\n", "data\n"))
case("data-missing-datadir", sub("  source: datasets/eth-usdt-1d.csv\n  start: \"2018-01-01\"", "  datadir: datasets/nowhere\n  pair: ETH/USDT\n  timeframe: 1h"))
# #23: a freqtrade directory's errors say what it holds
ft = lambda body: sub("  source: datasets/eth-usdt-1d.csv\n  start: \"2018-01-01\"", body)
case("data-datadir-parent-folder", ft("  datadir: datasets\n  pair: ETH/USDT\n  timeframe: 1h"))
case("data-datadir-typo", ft("  datadir: datasets/binance-202\n  pair: ETH/USDT\n  timeframe: 1h"))
case("data-datadir-missing-pair", ft("  datadir: datasets/binance-2024\n  pair: DOGE/USDT\n  timeframe: 1h"))
case("data-datadir-pair-typo", ft("  datadir: datasets/binance-2024\n  pair: ETH/USDC\n  timeframe: 1h"))
case("data-datadir-timeframe-case", ft("  datadir: datasets/binance-2024\n  pair: ETH/USDT\n  timeframe: 1H"))
case("data-datadir-timeframe-missing", ft("  datadir: datasets/binance-2024\n  pair: ETH/USDT\n  timeframe: 15m"))
case("data-source-freqtrade-directory", sub("  source: datasets/eth-usdt-1d.csv", "  source: datasets/binance-2024"))
case("data-missing-pair-file", sub("  source: datasets/eth-usdt-1d.csv\n  start: \"2018-01-01\"", "  datadir: datasets/binance-2024\n  pair: DOGE/USDT\n  timeframe: 1h"))
case("data-missing-correlated-pair", sub("    period: 14", "    period: 14\n    pair: BTC/USDT"))
case("data-no-source", sub("  source: datasets/eth-usdt-1d.csv\n", ""))
# corrupted files
for f in ["truncated.csv", "garbage-close.csv", "empty.csv", "header-only.csv", "no-time-column.csv", "not-utf8.csv",
          "truncated.csv.gz", "not-gzip.csv.gz", "truncated.feather", "garbage.feather", "truncated.parquet",
          "corrupt-footer.parquet", "truncated.json", "wrong-shape.json", "all-nan-close.csv", "high-below-low.csv",
]:
    case("file-" + f.replace(".", "-"), data(f))
case("file-duplicate-timestamps", data("duplicates.csv", "\n  duplicates: error"))
case("file-out-of-order-timestamps", data("out-of-order.csv", "\n  order: error"))
# object stores
case("store-unknown-scheme", sub("  source: datasets/eth-usdt-1d.csv", "  source: s4://bucket/eth.csv"))
case("store-no-bucket", sub("  source: datasets/eth-usdt-1d.csv", "  source: s3:///eth.csv"))
case("store-malformed-url", sub("  source: datasets/eth-usdt-1d.csv", "  source: \"http://[::1/eth.csv\""))
case("store-unknown-option", sub("  source: datasets/eth-usdt-1d.csv", "  source: s3://bucket/eth.csv\n  storage: {aws_regoin: eu-west-1}"))
case("store-missing-credentials", sub("  source: datasets/eth-usdt-1d.csv", "  source: s3://bucket/eth.csv\n  storage: {aws_endpoint: \"http://127.0.0.1:9\", aws_allow_http: \"true\", aws_region: us-east-1}"))

for name, (text, args) in sorted(cases.items()):
    head = "# expect: TODO\n" + (f"# args: {args}\n" if args else "")
    open(f"{D}/{name}.yaml", "w").write(head + text)
print(len(cases))
