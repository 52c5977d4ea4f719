//! Trading and prediction metrics. Definitions follow quantstats (and empyrical) with a zero
//! risk-free rate; each function's doc gives its formula. docs/metrics.md lists them all.

use std::collections::BTreeMap;

use quantsweep_core::{EquityPoint, Trade};

/// Simple returns between consecutive equity points.
pub fn returns(equity: &[EquityPoint]) -> Vec<f64> {
    equity.windows(2).map(|w| w[1].equity / w[0].equity - 1.0).collect()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Sample standard deviation (ddof = 1, as pandas and quantstats).
fn std(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
}

/// Linear-interpolated quantile, as numpy's default.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// The worst peak-to-trough fall of the equity curve, as a negative fraction (quantstats).
pub fn max_drawdown(equity: &[EquityPoint]) -> f64 {
    let mut peak = f64::NEG_INFINITY;
    let mut worst: f64 = 0.0;
    for p in equity {
        peak = peak.max(p.equity);
        worst = worst.min(p.equity / peak - 1.0);
    }
    worst
}

/// Every trading metric of an equity curve, by name.
///
/// With `r` the `n` per-bar returns and `P` the periods per year (quantstats' and empyrical's
/// definitions, zero risk-free rate; docs/metrics.md):
/// - `total_return` = last / first − 1
/// - `cagr` = (1 + total_return)^(P / n) − 1 (quantstats: years = returns / periods)
/// - `volatility` = std(r, ddof 1) · √P; `variance` = var(r, ddof 1) · P
/// - `sharpe` = mean(r) / std(r, ddof 1) · √P
/// - `sortino` = mean(r) / √(Σ min(r, 0)² / n) · √P
/// - `max_drawdown` = min(equity / running max − 1) (negative), from the first equity point
/// - `calmar` = cagr / |max_drawdown|
/// - `var_95` = 5% quantile of r (historical, linear: empyrical's `value_at_risk`);
///   `cvar_95` = mean of r at or below it (quantstats' historical CVaR)
/// - `exposure` = share of bars ending with a position (long or short)
///
/// Ratios with a zero denominator are NaN (a strategy that never trades has no Sharpe ratio).
pub fn trading_metrics(equity: &[EquityPoint], periods_per_year: f64) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    if equity.len() < 2 {
        return m;
    }
    let r = returns(equity);
    let first = equity[0].equity;
    let last = equity[equity.len() - 1].equity;
    let total = last / first - 1.0;
    let years = r.len() as f64 / periods_per_year;
    let cagr = (1.0 + total).abs().powf(1.0 / years) - 1.0;
    let sd = std(&r);
    let downside = (r.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / r.len() as f64).sqrt();
    let mdd = max_drawdown(equity);
    let var = quantile(&r, 0.05);
    let tail: Vec<f64> = r.iter().copied().filter(|x| *x <= var).collect();
    let annual = periods_per_year.sqrt();
    m.insert("total_return".into(), total);
    m.insert("cagr".into(), cagr);
    m.insert("volatility".into(), sd * annual);
    m.insert("variance".into(), sd * sd * periods_per_year);
    m.insert("sharpe".into(), ratio(mean(&r), sd) * annual);
    m.insert("sortino".into(), ratio(mean(&r), downside) * annual);
    m.insert("max_drawdown".into(), mdd);
    m.insert("calmar".into(), ratio(cagr, mdd.abs()));
    m.insert("var_95".into(), var);
    m.insert("cvar_95".into(), if tail.is_empty() { var } else { mean(&tail) });
    let exposed = equity.iter().filter(|p| p.position != 0.0).count();
    m.insert("exposure".into(), exposed as f64 / equity.len() as f64);
    m
}

/// Metrics of a backtest's round trips: `trades` (all, the last possibly still open) and
/// `win_rate`, the share of closed trades with a positive profit after fees (NaN without
/// closed trades).
pub fn trade_metrics(trades: &[Trade]) -> BTreeMap<String, f64> {
    let closed: Vec<&Trade> = trades.iter().filter(|t| t.closed).collect();
    let wins = closed.iter().filter(|t| t.pnl > 0.0).count();
    let mut m = BTreeMap::new();
    m.insert("trades".into(), trades.len() as f64);
    m.insert("win_rate".into(), ratio(wins as f64, closed.len() as f64));
    m
}

/// `num / den`, NaN when `den` is not positive.
fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { num / den } else { f64::NAN }
}

/// The metric table the Blankly seed printed (Blankly's 2022 formulas), as `blankly_<name>`:
/// 252 periods a year even for crypto; `sharpe` = mean / std(ddof 1) · √252; `sortino` = mean
/// / std(negative returns, ddof 1) · √252; `volatility` = std(ddof 0) · √252; `calmar` =
/// mean · 252 / |max drawdown|; `cagr` = (last / first)^(252 / n) − 1; `cum_returns` = last /
/// first − 1; `max_drawdown` as [`max_drawdown`]. For comparing with the published numbers,
/// not for ranking.
pub fn blankly_metrics(equity: &[EquityPoint]) -> BTreeMap<String, f64> {
    const PERIODS: f64 = 252.0;
    let mut m = BTreeMap::new();
    if equity.len() < 3 {
        return m;
    }
    let r = returns(equity);
    let (first, last) = (equity[0].equity, equity[equity.len() - 1].equity);
    let negative: Vec<f64> = r.iter().copied().filter(|x| *x < 0.0).collect();
    let population_sd = {
        let mu = mean(&r);
        (r.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / r.len() as f64).sqrt()
    };
    let mdd = max_drawdown(equity);
    let mu = mean(&r);
    m.insert("blankly_cum_returns".into(), last / first - 1.0);
    m.insert("blankly_cagr".into(), (last / first).powf(PERIODS / r.len() as f64) - 1.0);
    m.insert("blankly_sharpe".into(), ratio(mu, std(&r)) * PERIODS.sqrt());
    let sortino =
        if negative.len() < 2 { f64::NAN } else { ratio(mu, std(&negative)) * PERIODS.sqrt() };
    m.insert("blankly_sortino".into(), sortino);
    m.insert("blankly_volatility".into(), population_sd * PERIODS.sqrt());
    m.insert("blankly_calmar".into(), ratio(mu * PERIODS, mdd.abs()));
    m.insert("blankly_max_drawdown".into(), mdd);
    m
}

/// Regression metrics of predictions against what happened: `test_mse` and `test_mae` over
/// every predicted value, and `accuracy`, the share of samples whose first predicted value is
/// on the same side of `pivot` as the actual one (directional accuracy: pivot 1 for price
/// ratios, 0 for returns and scores).
pub fn regression_metrics(
    pred: &[f32],
    actual: &[f32],
    per_sample: usize,
    pivot: f32,
) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    if pred.is_empty() || pred.len() != actual.len() || per_sample == 0 {
        return m;
    }
    let diffs = pred.iter().zip(actual).map(|(p, a)| f64::from(*p) - f64::from(*a));
    let (sq, abs) = diffs.fold((0.0, 0.0), |(sq, abs), d| (sq + d * d, abs + d.abs()));
    let samples = pred.len() / per_sample;
    let hits = (0..samples)
        .filter(|s| (pred[s * per_sample] > pivot) == (actual[s * per_sample] > pivot))
        .count();
    m.insert("test_mse".into(), sq / pred.len() as f64);
    m.insert("test_mae".into(), abs / pred.len() as f64);
    m.insert("accuracy".into(), hits as f64 / samples as f64);
    m
}

/// Binary classification metrics of probabilities `prob` against 0/1 labels `actual` (the
/// `up_down` target), scikit-learn's definitions; a sample is predicted positive when its
/// probability exceeds 0.5:
/// `accuracy`, `balanced_accuracy` (mean of the two recalls), `precision`, `recall`, `f1` (0
/// where undefined, as scikit-learn's `zero_division=0`), `roc_auc` (ties share ranks; NaN
/// with one class), `log_loss` (probabilities clipped to [ε, 1 − ε], ε of f64), and the
/// confusion matrix as `confusion_tn`, `confusion_fp`, `confusion_fn`, `confusion_tp`.
pub fn classification_metrics(prob: &[f32], actual: &[f32]) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    if prob.is_empty() || prob.len() != actual.len() {
        return m;
    }
    let n = prob.len() as f64;
    let (mut tp, mut fp, mut tn, mut fn_) = (0.0, 0.0, 0.0, 0.0);
    let mut log_loss = 0.0;
    for (&p, &y) in prob.iter().zip(actual) {
        let (p, up) = (f64::from(p), y > 0.5);
        match (p > 0.5, up) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => fn_ += 1.0,
        }
        let q = p.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        log_loss -= if up { q.ln() } else { (1.0 - q).ln() };
    }
    let share = |a: f64, b: f64| if a + b > 0.0 { a / (a + b) } else { 0.0 };
    let (precision, recall) = (share(tp, fp), share(tp, fn_));
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    m.insert("accuracy".into(), (tp + tn) / n);
    m.insert("balanced_accuracy".into(), (recall + share(tn, fp)) / 2.0);
    m.insert("precision".into(), precision);
    m.insert("recall".into(), recall);
    m.insert("f1".into(), f1);
    m.insert("roc_auc".into(), roc_auc(prob, actual));
    m.insert("log_loss".into(), log_loss / n);
    m.insert("confusion_tn".into(), tn);
    m.insert("confusion_fp".into(), fp);
    m.insert("confusion_fn".into(), fn_);
    m.insert("confusion_tp".into(), tp);
    m
}

/// Area under the ROC curve as the Mann–Whitney statistic: the chance that a random positive
/// scores above a random negative, ties counting half (average ranks).
fn roc_auc(prob: &[f32], actual: &[f32]) -> f64 {
    let mut order: Vec<usize> = (0..prob.len()).collect();
    order.sort_by(|&a, &b| prob[a].total_cmp(&prob[b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && prob[order[j + 1]] == prob[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += rank * order[i..=j].iter().filter(|&&k| actual[k] > 0.5).count() as f64;
        i = j + 1;
    }
    let positives = actual.iter().filter(|&&y| y > 0.5).count() as f64;
    let negatives = actual.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(values: &[f64]) -> Vec<EquityPoint> {
        values
            .iter()
            .enumerate()
            .map(|(i, &e)| EquityPoint {
                timestamp_ms: i as i64 * 86_400_000,
                price: e,
                position: 1.0,
                cash: 0.0,
                equity: e,
                fold: None,
                pair: None,
            })
            .collect()
    }

    /// ETH/USDT daily closes of 2022 (the bundled CryptoDataDownload file): 365 closes, a
    /// bear year.
    fn closes_2022() -> Vec<f64> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/eth-usdt-1d.csv");
        let (candles, _) =
            quantsweep_ingest::load(&path, &Default::default()).expect("bundled data");
        let c = candles.between(Some(1_640_995_200_000), Some(1_672_531_200_000));
        assert_eq!(c.close.len(), 365);
        c.close
    }

    /// Holding the year, and the same returns taken only in every other 10-day block (flat in
    /// between: zero returns, as a long/flat strategy has).
    fn golden_curves() -> [(&'static str, Vec<f64>); 2] {
        let c = closes_2022();
        let r: Vec<f64> = c.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let mut blocks = vec![1.0];
        for (i, x) in r.iter().enumerate() {
            let x = if (i / 10) % 2 == 0 { *x } else { 0.0 };
            blocks.push(blocks[i] * (1.0 + x));
        }
        [("hold", c), ("every_other_10", blocks)]
    }

    // Golden values from quantstats 0.0.86 and empyrical-reloaded 0.7.1 (which agree on every
    // shared metric), pandas 3.1, on the curves above:
    //   d = pd.read_csv("datasets/eth-usdt-1d.csv", skiprows=1).sort_values("Unix")
    //   close = pd.Series(d["Close"].values, index=pd.to_datetime(d["Unix"], unit="ms", utc=True))
    //   r = close["2022-01-01":"2022-12-31"].pct_change().dropna()
    //   mask = np.array([(i // 10) % 2 == 0 for i in range(len(r))]); r2 = r.where(mask, 0.0)
    //   qs.stats.sharpe(r, periods=365), qs.stats.sortino(r, periods=365),
    //   qs.stats.volatility(r, periods=365), qs.stats.cagr(r, periods=365),
    //   qs.stats.calmar(r, periods=365), qs.stats.max_drawdown(r), qs.stats.comp(r),
    //   qs.stats.conditional_value_at_risk(r, method="historical"),
    //   empyrical.value_at_risk(r.values, cutoff=0.05)
    #[test]
    fn metrics_match_quantstats_and_empyrical_on_real_closes() {
        let want: [(&str, [(&str, f64); 9]); 2] = [
            (
                "hold",
                [
                    ("sharpe", -0.886_022_401_044_719),
                    ("sortino", -1.204_035_559_259_354_3),
                    ("volatility", 0.868_128_740_601_090_8),
                    ("cagr", -0.683_347_550_776_382_9),
                    ("calmar", -0.923_370_863_497_992),
                    ("max_drawdown", -0.740_057_519_453_957_6),
                    ("cvar_95", -0.109_242_403_924_763_96),
                    ("var_95", -0.074_622_475_483_467_2),
                    ("total_return", -0.682_348_348_444_048_5),
                ],
            ),
            (
                "every_other_10",
                [
                    ("sharpe", -1.100_355_754_103_475_9),
                    ("sortino", -1.420_832_432_496_785),
                    ("volatility", 0.582_898_786_824_511_1),
                    ("cagr", -0.557_283_172_103_457_5),
                    ("calmar", -0.835_742_361_136_587_1),
                    ("max_drawdown", -0.666_812_163_673_943),
                    ("cvar_95", -0.086_783_391_287_516_48),
                    ("var_95", -0.057_257_609_169_101_77),
                    ("total_return", -0.556_293_748_374_706),
                ],
            ),
        ];
        for ((name, values), (wname, expected)) in golden_curves().iter().zip(want) {
            assert_eq!(*name, wname);
            let m = trading_metrics(&curve(values), 365.0);
            for (k, w) in expected {
                let got = m[k];
                assert!((got - w).abs() <= 1e-9 * w.abs().max(1.0), "{name} {k}: {got} want {w}");
            }
            let vol = m["volatility"];
            assert!((m["variance"] - vol * vol).abs() < 1e-12);
        }
    }

    // scikit-learn 1.9.1 on the same closes c (2022): p = sigmoid(20·(c[t]/c[t−1] − 1)) as
    // float32, y = c[t+1] > c[t], for t = 1 .. 363:
    //   hat = p > 0.5; sk.accuracy_score(y, hat), sk.balanced_accuracy_score(y, hat),
    //   sk.precision_score(y, hat), sk.recall_score(y, hat), sk.f1_score(y, hat),
    //   sk.roc_auc_score(y, p), sk.log_loss(y, p), sk.confusion_matrix(y, hat).ravel()
    #[test]
    fn classification_metrics_match_scikit_learn_on_real_closes() {
        let c = closes_2022();
        let prob: Vec<f32> = (1..c.len() - 1)
            .map(|t| (1.0 / (1.0 + (-20.0 * (c[t] / c[t - 1] - 1.0)).exp())) as f32)
            .collect();
        let up: Vec<f32> = (1..c.len() - 1).map(|t| f32::from(u8::from(c[t + 1] > c[t]))).collect();
        let m = classification_metrics(&prob, &up);
        for (k, w) in [
            ("accuracy", 0.473_829_201_101_928_4),
            ("balanced_accuracy", 0.472_801_947_064_192_26),
            ("precision", 0.448_275_862_068_965_5),
            ("recall", 0.450_867_052_023_121_4),
            ("f1", 0.449_567_723_342_939_5),
            ("roc_auc", 0.459_628_840_888_348_1),
            ("log_loss", 0.807_532_259_651_032_7),
            ("confusion_tn", 94.0),
            ("confusion_fp", 96.0),
            ("confusion_fn", 95.0),
            ("confusion_tp", 78.0),
        ] {
            assert!((m[k] - w).abs() <= 1e-9, "{k}: {} want {w}", m[k]);
        }
    }

    /// Blankly's table on a hand-checkable curve: 252 periods, ddof 0 volatility, Sortino over
    /// the negative returns only, Calmar of the mean return.
    #[test]
    fn blankly_table_uses_its_own_formulas() {
        let m = blankly_metrics(&curve(&[100.0, 110.0, 99.0, 108.9, 98.01]));
        // r = [0.1, -0.1, 0.1, -0.1]: mean 0, so Sharpe, Sortino and Calmar are 0.
        assert!(m["blankly_sharpe"].abs() < 1e-12 && m["blankly_calmar"].abs() < 1e-12);
        assert!((m["blankly_volatility"] - 0.1 * 252f64.sqrt()).abs() < 1e-12);
        assert!((m["blankly_max_drawdown"] - (98.01 / 110.0 - 1.0)).abs() < 1e-12);
        assert!((m["blankly_cum_returns"] - (-0.0199)).abs() < 1e-12);
    }

    #[test]
    fn flat_curve_has_no_sharpe() {
        let m = trading_metrics(&curve(&[1.0, 1.0, 1.0]), 365.0);
        assert!(m["sharpe"].is_nan());
        assert_eq!(m["max_drawdown"], 0.0);
    }

    #[test]
    fn directional_accuracy_reads_the_first_ratio() {
        let pred = [1.1, 0.5, 0.9, 0.5];
        let actual = [1.2, 9.0, 1.1, 9.0];
        let m = regression_metrics(&pred, &actual, 2, 1.0);
        assert_eq!(m["accuracy"], 0.5);
    }
}
