//! Trading and prediction metrics. Definitions follow quantstats (and empyrical) with a zero
//! risk-free rate; each function's doc gives its formula. docs/metrics.md lists them all.

use std::collections::BTreeMap;

use quantsweep_core::EquityPoint;

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
/// With `r` the per-bar returns and `P` the periods per year:
/// - `total_return` = last / first − 1
/// - `cagr` = (1 + total_return)^(1/years) − 1, years = elapsed days / 365
/// - `volatility` = std(r, ddof 1) · √P
/// - `sharpe` = mean(r) / std(r, ddof 1) · √P
/// - `sortino` = mean(r) / √(Σ min(r, 0)² / n) · √P
/// - `max_drawdown` = min(equity / running max − 1) (negative)
/// - `calmar` = cagr / |max_drawdown|
/// - `var_95` = 5% quantile of r (historical); `cvar_95` = mean of r at or below it
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
    let days =
        (equity[equity.len() - 1].timestamp_ms - equity[0].timestamp_ms) as f64 / 86_400_000.0;
    let cagr = if days > 0.0 { (1.0 + total).powf(365.0 / days) - 1.0 } else { f64::NAN };
    let sd = std(&r);
    let ratio = |num: f64, den: f64| if den > 0.0 { num / den } else { f64::NAN };
    let downside = (r.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / r.len() as f64).sqrt();
    let mdd = max_drawdown(equity);
    let var = quantile(&r, 0.05);
    let tail: Vec<f64> = r.iter().copied().filter(|x| *x <= var).collect();
    let annual = periods_per_year.sqrt();
    m.insert("total_return".into(), total);
    m.insert("cagr".into(), cagr);
    m.insert("volatility".into(), sd * annual);
    m.insert("sharpe".into(), ratio(mean(&r), sd) * annual);
    m.insert("sortino".into(), ratio(mean(&r), downside) * annual);
    m.insert("max_drawdown".into(), mdd);
    m.insert("calmar".into(), ratio(cagr, mdd.abs()));
    m.insert("var_95".into(), var);
    m.insert("cvar_95".into(), if tail.is_empty() { var } else { mean(&tail) });
    let exposed = equity.iter().filter(|p| p.position > 0.0).count();
    m.insert("exposure".into(), exposed as f64 / equity.len() as f64);
    m
}

/// Regression metrics of ratio predictions against what happened: `test_mse` over every
/// predicted value, and `accuracy`, the share of samples whose first predicted ratio is on the
/// same side of 1 as the actual next ratio (directional accuracy).
pub fn ratio_prediction_metrics(
    pred: &[f32],
    actual: &[f32],
    per_sample: usize,
) -> BTreeMap<String, f64> {
    let mut m = BTreeMap::new();
    if pred.is_empty() || pred.len() != actual.len() || per_sample == 0 {
        return m;
    }
    let mse =
        pred.iter().zip(actual).map(|(p, a)| (f64::from(*p) - f64::from(*a)).powi(2)).sum::<f64>()
            / pred.len() as f64;
    let samples = pred.len() / per_sample;
    let hits = (0..samples)
        .filter(|s| (pred[s * per_sample] > 1.0) == (actual[s * per_sample] > 1.0))
        .count();
    m.insert("test_mse".into(), mse);
    m.insert("accuracy".into(), hits as f64 / samples as f64);
    m
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
            })
            .collect()
    }

    // Golden values from numpy 2 on ETH/USDT daily closes 2021-01-01 .. 2021-01-10
    // (datasets/eth-usdt-1d.csv) used as an equity curve:
    //   e = np.array([728.91, 774.56, 978.28, 1041.43, 1099.56, 1208.42, 1224.87, 1216.93, 1276.0, 1254.25])
    //   r = e[1:] / e[:-1] - 1
    //   sharpe = r.mean() / r.std(ddof=1) * np.sqrt(365)
    //   sortino = r.mean() / np.sqrt((np.minimum(r, 0) ** 2).mean()) * np.sqrt(365)
    //   mdd = (e / np.maximum.accumulate(e) - 1).min(); var = np.quantile(r, 0.05)
    #[test]
    fn metrics_match_numpy_on_real_closes() {
        let e =
            [728.91, 774.56, 978.28, 1041.43, 1099.56, 1208.42, 1224.87, 1216.93, 1276.0, 1254.25];
        let m = trading_metrics(&curve(&e), 365.0);
        let close = |k: &str, want: f64| {
            let got = m[k];
            assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{k}: {got} want {want}");
        };
        close("total_return", 1254.25 / 728.91 - 1.0);
        close("sharpe", 14.913_896_906_992_061);
        close("sortino", 203.811_979_277_735_65);
        close("max_drawdown", 1254.25 / 1276.0 - 1.0);
        close("var_95", -0.012_820_200_956_390_87);
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
        let m = ratio_prediction_metrics(&pred, &actual, 2);
        assert_eq!(m["accuracy"], 0.5);
    }
}
