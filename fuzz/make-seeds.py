"""Writes the fuzz targets' seed inputs into fuzz/seeds/<target>/ (committed; small files).

Each seed is what its target reads: a selector byte (load options; for csv a second byte for
the name, format and column map) and then a real file cut to a few rows: the tutorials' data
in datasets/ and ../shared/datasets/ where present, and pyarrow-written Feather and Parquet in
the layouts freqtrade, pandas and polars write. Pipeline seeds are the repository's pipelines.

Run with the venv's python (pyarrow): .venv/bin/python fuzz/make-seeds.py
"""

import gzip
import io
import pathlib
import shutil

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
SHARED = ROOT.parent / "shared" / "datasets"
ROWS = 24


def head(path, lines):
    with open(path, "rb") as f:
        return b"".join(f.readline() for _ in range(lines))


def write(target, name, data):
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def csv_seeds():
    # Byte 1: bits 0-2 the format (auto, binance, cdd, yahoo, csv), bit 3 .gz, bit 4 column map.
    files = {
        "generic": (ROOT / "datasets" / "eth-usdt-1d.csv", 0),
        "binance-spot-noheader": (SHARED / "binance_vision/spot/ADABTC-1m-2021-11-27.csv", 0),
        "binance-futures-header": (SHARED / "binance_vision/futures_um/LTCUSDT-1m-2026-02.csv", 1),
        "cdd": (SHARED / "cryptodatadownload/Binance_ETHUSDT_1h.csv", 0),
        "cdd-daily": (SHARED / "cryptodatadownload/Coinbase_ETHUSD_d.csv", 2),
        "yahoo": (SHARED / "yahoo/ETH-USD.csv", 0),
    }
    for name, (path, fmt) in files.items():
        if path.exists():
            text = head(path, ROWS)
            write("csv", name, bytes([0, fmt]) + text)
            write("csv", name + "-gz", bytes([0, fmt | 8]) + gzip.compress(text, mtime=0))
    rows = b"time,open,high,low,close,volume\n" + b"".join(
        b"%02d/01/2024 %02d:00,%d,%d,%d,%d,%d\n" % (d, d % 24, 10 + d, 12 + d, 9 + d, 11 + d, d)
        for d in range(1, ROWS)
    )
    write("csv", "column-map", bytes([0, 16 | 32]) + b"%d/%m/%Y %H:%M\n" + rows)
    write("csv", "duplicates-unsorted", bytes([0b100101, 4]) + b"date,open,high,low,close\n"
          b"2024-01-03,1,2,0.5,1.5\n2024-01-01,1,2,0.5,1.5\n2024-01-01,1,2,0.5,1.6\n"
          b"2024-01-09,1,2,0.5,1.5\n2024-01-02,3,2,0.5,1.5\n")


def json_seeds():
    testdata = SHARED / "freqtrade" / "testdata"
    for path in sorted(testdata.glob("*.json"))[:2]:
        text = path.read_bytes()
        rows = text.split(b"], [")[:ROWS]
        cut = b"], [".join(rows) + (b"]]" if not rows[-1].endswith(b"]]") else b"")
        write("json", path.stem, b"\x00" + cut)
        write("json", path.stem + "-gz", b"\x80" + gzip.compress(cut, mtime=0))
    write("json", "tiny", b"\x00[[1700000000000,1.0,2.0,0.5,1.5,10.0],[1700000060000,1.5,2.0,1.0,1.8,0]]")


def table(rows=ROWS, unit="ns"):
    t = pa.array([1_700_000_000_000 + 60_000 * i for i in range(rows)], pa.int64())
    t = t.cast(pa.timestamp("ms", tz="UTC")).cast(pa.timestamp(unit, tz="UTC"))
    price = [10.0 + (i % 7) for i in range(rows)]
    return pa.table({
        "date": t,
        "open": price,
        "high": [p + 1 for p in price],
        "low": [p - 1 for p in price],
        "close": [p + 0.5 for p in price],
        "volume": [float(i) for i in range(rows)],
    })


def arrow_file(tbl, **kw):
    sink = io.BytesIO()
    feather.write_feather(tbl, sink, **kw)
    return sink.getvalue()


def feather_seeds():
    write("feather", "lz4", b"\x00" + arrow_file(table(), compression="lz4"))
    write("feather", "uncompressed", b"\x00" + arrow_file(table(), compression="uncompressed"))
    write("feather", "zstd", b"\x00" + arrow_file(table(), compression="zstd"))
    write("feather", "batches", b"\x00" + arrow_file(table(), compression="lz4", chunksize=5))
    write("feather", "ms", b"\x00" + arrow_file(table(unit="ms"), compression="lz4"))
    nulls = table().set_column(4, "close", pa.array([None if i % 5 == 0 else 11.0 for i in range(ROWS)]))
    write("feather", "nulls", b"\x00" + arrow_file(nulls, compression="lz4"))
    # A real freqtrade file, cut to its first rows and written the way freqtrade writes it.
    real = SHARED / "freqtrade" / "testdata" / "ETH_BTC-5m.feather"
    if real.exists():
        cut = feather.read_table(real).slice(0, ROWS)
        write("feather", "freqtrade", b"\x00" + arrow_file(cut, compression="lz4"))


def parquet_file(tbl, **kw):
    sink = io.BytesIO()
    pq.write_table(tbl, sink, **kw)
    return sink.getvalue()


def parquet_seeds():
    write("parquet", "snappy", b"\x00" + parquet_file(table()))
    write("parquet", "zstd", b"\x00" + parquet_file(table(unit="ms"), compression="zstd"))
    write("parquet", "plain", b"\x00" + parquet_file(table(unit="us"), compression="none",
                                                  use_dictionary=False))
    write("parquet", "row-groups", b"\x00" + parquet_file(table(), row_group_size=5))
    ints = table().set_column(0, "date", pa.array(
        [1_700_000_000_000 + 60_000 * i for i in range(ROWS)], pa.int64()))
    write("parquet", "int-ms", b"\x00" + parquet_file(ints))


def pipeline_seeds():
    folder = SEEDS / "pipeline"
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((ROOT / "pipelines").glob("*.yaml")) + sorted(
            (ROOT / "tests" / "pipelines").glob("*.yaml")):
        shutil.copy(path, folder / path.name)
    quick = (ROOT / "pipelines" / "quickstart.yaml").read_bytes()
    write("pipeline", "quickstart-with-sets", quick + b"\x00train.epochs=2\nmodel.hidden=3\n")


if __name__ == "__main__":
    shutil.rmtree(SEEDS, ignore_errors=True)
    csv_seeds()
    json_seeds()
    feather_seeds()
    parquet_seeds()
    pipeline_seeds()
    for folder in sorted(SEEDS.iterdir()):
        files = list(folder.iterdir())
        print(f"{folder.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
