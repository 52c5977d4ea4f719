"""Prints docs/REPRODUCTION.md's tables from the sweeps `scripts/reproduce` ran.

    .venv/bin/python scripts/reproduction.py results/reproduction

Reads only the Parquet tables and summary.json that `quantsweep run` wrote under each
pipeline's --out (a folder per run, named as in scripts/reproduce); a run that is missing
is skipped with a note.
"""
import json
import os
import sys

import pandas as pd

root = sys.argv[1] if len(sys.argv) > 1 else "results/reproduction"


def load(name):
    out = os.path.join(root, name)
    if not os.path.exists(os.path.join(out, "trials.parquet")):
        print(f"\n({name}: not run; scripts/reproduce runs it)\n")
        return None
    tables = {"trials": pd.read_parquet(os.path.join(out, "trials.parquet"))}
    for t in ["equity", "folds", "predictions"]:
        path = os.path.join(out, f"{t}.parquet")
        if os.path.exists(path):
            tables[t] = pd.read_parquet(path)
    tables["summary"] = json.load(open(os.path.join(out, "summary.json")))
    return tables


def pct(x):
    return "–" if pd.isna(x) else f"{100 * x:+.1f}%"


def pct3(x):
    return "–" if pd.isna(x) else f"{100 * x:+.3f}%"


def num(x, digits=2):
    return "–" if pd.isna(x) else f"{x:.{digits}f}"


def luck(summary):
    d, p = summary.get("deflated_sharpe", {}), summary.get("pbo", {})
    dsr = num(d["probability"]) if "probability" in d else d.get("skipped", "–")
    pbo = num(p["probability"]) if "probability" in p else p.get("skipped", "–")
    return f"deflated Sharpe ratio of the best trial {dsr} (among {d.get('trials', '?')} trials); PBO {pbo}"


def row(cells):
    print("| " + " | ".join(str(c) for c in cells) + " |")


def table(header, rows):
    row(header)
    row(["---"] * len(header))
    for r in rows:
        row(r)
    print()


def blankly():
    run = load("blankly-eth-daily")
    if run is None:
        return
    t = run["trials"]
    print("### Blankly: the published year (2021-03-08 .. 2022-03-07)\n")
    pub = t[(t["params.train.lr"] == 0.0003) & (t["params.model.hidden"] == 20)].sort_values("seed")
    published = {"cum_returns": 0.97, "cagr": 0.98, "max_drawdown": -0.20, "sharpe": 1.5,
                 "sortino": 2.17, "calmar": 2.69, "volatility": 0.35}
    rows = []
    for k, v in published.items():
        cells = [f"{k} (Blankly's formula)", num(v)]
        cells += [num(x) for x in pub[f"metric.blankly_{k}"]]
        rows.append(cells)
    rows.append(["sharpe (ours: daily, 365 days)", "–"] + [num(x) for x in pub["metric.sharpe"]])
    rows.append(["total return", "+97%"] + [pct(x) for x in pub["metric.total_return"]])
    rows.append(["buy and hold, same days", "–"] + [pct(x) for x in pub["metric.buy_hold_return"]])
    table(["metric", "published"] + [f"seed {s}" for s in pub["seed"]], rows)
    c = t[t.status == "complete"]
    beat = (c["metric.total_return"] > c["metric.buy_hold_return"]).mean()
    best = run["summary"]["best"]
    print(f"All {len(c)} trials of the sweep (learning rate × hidden size × 3 seeds): Sharpe "
          f"median {num(c['metric.sharpe'].median())}, range {num(c['metric.sharpe'].min())} .. "
          f"{num(c['metric.sharpe'].max())}; {100 * beat:.0f}% of trials returned more than "
          f"buy-and-hold ({pct(c['metric.buy_hold_return'].iloc[0])}). The best, trial "
          f"{best['trial_id']} ({', '.join(f'{k}={v}' for k, v in best['params'].items())}, "
          f"seed {best['seed']}): Sharpe {num(best['value'])}, return "
          f"{pct(best['metrics']['total_return'])}. {luck(run['summary'])}.\n")
    by_seed = c.groupby(["params.train.lr", "params.model.hidden"])["metric.sharpe"].agg(["min", "max"])
    spread = (by_seed["max"] - by_seed["min"]).median()
    print(f"Seeds alone move a configuration's Sharpe by {num(spread)} (median over the 9 "
          f"configurations of max − min over 3 seeds).\n")



def blankly_walk_forward():
    wf = load("blankly-eth-walk-forward")
    if wf is None:
        return
    t, q, f = wf["trials"], wf["equity"], wf["folds"]
    print("### Blankly: walk-forward over every year (2018-06 .. 2026-02), retrained yearly, "
          "0.1% fee, next-open fills\n")
    rows = []
    for _, r in t.sort_values("seed").iterrows():
        rows.append([r["seed"], pct(r["metric.total_return"]), pct(r["metric.buy_hold_return"]),
                     num(r["metric.sharpe"]), num(r["metric.buy_hold_sharpe"]),
                     pct(r["metric.max_drawdown"]), pct(r["metric.buy_hold_max_drawdown"])])
    table(["seed", "return", "buy and hold", "Sharpe", "buy-and-hold Sharpe", "max drawdown",
           "buy-and-hold max drawdown"], rows)
    years = []
    first = q[q.trial_id == t.trial_id.min()]
    for k, g in f[f.trial_id == t.trial_id.min()].groupby("fold"):
        bars = first[first.fold == k]
        hold = bars.price.iloc[-1] / bars.price.iloc[0] - 1
        rets = f[f.fold == k]["metric.total_return"]
        start = g.test_start.iloc[0].strftime("%Y-%m-%d")
        years.append([k, start, pct(rets.median()), f"{pct(rets.min())} .. {pct(rets.max())}",
                      pct(hold), f"{(rets > hold).sum()}/{len(rets)}"])
    table(["fold", "test from", "return (median of seeds)", "range", "buy and hold",
           "seeds beating it"], years)
    print(f"{luck(wf['summary'])}.\n")


def keras(name, title):
    run = load(name)
    if run is None:
        return
    t = run["trials"][lambda d: d.status == "complete"]
    print(f"### {title}\n")
    rows = []
    for kind, g in t.groupby("params.split.kind", sort=False):
        for loss, h in g.groupby("params.train.loss"):
            rows.append([kind + (" (leaky)" if h.leaky.all() else ""), loss, len(h),
                         num(h["metric.val_accuracy"].mean(), 3), num(h["metric.val_accuracy"].max(), 3),
                         num(h["metric.accuracy"].mean(), 3), num(h["metric.balanced_accuracy"].mean(), 3),
                         pct(h["metric.total_return"].mean()), pct(h["metric.buy_hold_return"].iloc[0])])
    table(["split", "loss", "trials", "validation accuracy (mean)", "(best)",
           "test accuracy (mean)", "test balanced accuracy", "test return (mean)",
           "buy and hold"], rows)
    best = run["summary"]["best"]
    print(f"Best by validation accuracy: trial {best['trial_id']} "
          f"({', '.join(f'{k}={v}' for k, v in best['params'].items())}): validation "
          f"{num(best['metrics']['val_accuracy'], 3)}, test {num(best['metrics']['accuracy'], 3)}. "
          f"{luck(run['summary'])}.\n")


def freqai():
    rows = []
    for name, what in [("freqai-published-portfolio", "published parameters, ETH + SOL portfolio"),
                       ("freqai-published-ETH", "published parameters, ETH/USDT alone"),
                       ("freqai-published-SOL", "published parameters, SOL/USDT alone"),
                       ("freqai-original-target", "published, ETH/USDT, original target (T of the decision bar)"),
                       ("freqai-lstm", "Bayesian sweep, ETH + SOL portfolio: its best trial")]:
        run = load(name)
        if run is None:
            continue
        t = run["trials"][lambda d: d.status == "complete"]
        if name == "freqai-lstm":
            best = run["summary"]["best"]
            t = t[t.trial_id == best["trial_id"]]
        rows.append([what, len(t), num(t["metric.accuracy"].mean(), 3),
                     num(t["metric.test_mse"].mean(), 4) if "metric.test_mse" in t else "–",
                     pct(t["metric.total_return"].mean()), num(t["metric.sharpe"].mean()),
                     pct(t["metric.buy_hold_return"].iloc[0]), num(t["metric.trades"].mean(), 0)])
        if name == "freqai-lstm":
            c = run["trials"][lambda d: d.status == "complete"]
            sweep_note = (f"The sweep's {len(c)} trials: Sharpe median {num(c['metric.sharpe'].median())}, "
                          f"best {num(c['metric.sharpe'].max())}; {luck(run['summary'])}.")
    if not rows:
        return
    print("### freqAI-LSTM: retrained every 30 days on the 120 before, traded 2024-05-04 .. 2024-09-05\n")
    table(["run", "trials", "directional accuracy (sign of T)", "test MSE", "return (mean)",
           "Sharpe (mean)", "buy and hold", "trades"], rows)
    if "sweep_note" in locals():
        print(sweep_note + "\n")


def fischer_krauss():
    run = load("fischer-krauss-2018")
    if run is None:
        return
    t = run["trials"][lambda d: d.status == "complete"]
    pred = run["predictions"]
    # The paper's measure, before costs, from our predictions and the bundled closes: each day
    # the mean next-day return of the 10 stocks with the highest probability of beating the
    # median, minus that of the 10 lowest ($1 long and $1 short).
    prices = pd.read_parquet("datasets/sp500-2013-2018.parquet", columns=["date", "close", "Name"])
    close = prices.pivot(index="date", columns="Name", values="close")
    nxt = close.pct_change(fill_method=None).shift(-1)
    rows, ours = [], []
    for trial_id, p in pred.groupby("trial_id"):
        wide = p.pivot(index="timestamp", columns="pair", values="prediction")
        daily = []
        for day, probs in wide.iterrows():
            probs = probs.dropna()
            k = min(10, len(probs) // 2)
            if k == 0 or day not in nxt.index:
                continue
            ranked = probs.sort_values(ascending=False)
            r = nxt.loc[day]
            long, short = r[ranked.index[:k]].mean(), r[ranked.index[-k:]].mean()
            daily.append((day, long - short, long, short))
        d = pd.DataFrame(daily, columns=["day", "ls", "long", "short"]).dropna()
        folds = p.groupby("fold").timestamp.agg(["min", "max"]) if "fold" in p else None
        for fold, (lo, hi) in (folds.iterrows() if folds is not None else []):
            f = d[(d.day >= lo) & (d.day <= hi)]
            acc = p[(p.fold == fold)]
            acc = ((acc.prediction > 0.5) == (acc.actual > 0.5)).mean()
            rows.append([trial_id, fold, f"{lo:%Y-%m-%d} .. {hi:%Y-%m-%d}", len(f), num(acc, 3),
                         pct3(f.ls.mean()), num(f.ls.mean() / f.ls.std() * 252 ** 0.5),
                         pct3(f.long.mean()), pct3(-f.short.mean())])
        tr = t[t.trial_id == trial_id].iloc[0]
        rows.append([trial_id, "all", "", len(d), num(tr["metric.accuracy"], 3), pct3(d.ls.mean()),
                     num(d.ls.mean() / d.ls.std() * 252 ** 0.5), pct3(d.long.mean()), pct3(-d.short.mean())])
        ours.append(f"Trial {trial_id} (seed {tr['seed']}), our backtest ($1 of equity split over the 20 positions, 5 bps a "
                f"half-turn, fills at the close): return {pct(tr['metric.total_return'])}, Sharpe "
                f"{num(tr['metric.sharpe'])}, max drawdown {pct(tr['metric.max_drawdown'])}, turnover "
                f"{num(tr['metric.turnover'])} of the equity a day; the equal-weight universe bought "
                f"and held: {pct(tr['metric.buy_hold_return'])}.")
    print("### Fischer & Krauss (2018): LSTM on the S&P 500, long the top 10 / short the flop 10\n")
    table(["trial", "study period", "trading days", "days", "accuracy", "daily return before costs (mean)",
           "Sharpe before costs", "long leg (mean)", "short leg (mean)"], rows)
    print("\n\n".join(ours) + "\n")
    print("Across the seeds: " + luck(run["summary"]) + ".\n")


blankly()
blankly_walk_forward()
keras("keras-binance-15m", "Keras classifier: raw OHLCV")
keras("keras-binance-15m-ta", "Keras classifier: OHLCV and the `ta` package's 86 indicators")
freqai()
fischer_krauss()
