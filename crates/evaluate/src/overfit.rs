//! The odds that a sweep's best trial is luck: the deflated Sharpe ratio (Bailey & López de
//! Prado, 2014) and the probability of backtest overfitting by combinatorially symmetric
//! cross-validation (Bailey, Borwein, López de Prado & Zhu, 2015). Both read the trials'
//! per-period out-of-sample returns; Sharpe ratios here are per period, not annualised.

use serde::Serialize;

/// The deflated Sharpe ratio of a selected trial among `trials` tried.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeflatedSharpe {
    /// The probability that the selected trial's true Sharpe ratio exceeds what the best of
    /// `trials` unskilled trials would show: DSR = Φ((SR − SR₀)·√(T − 1) / √(1 − γ₃·SR +
    /// (γ₄ − 1)/4·SR²)). Near 1: unlikely to be luck; 0.5 or less: indistinguishable from it.
    pub probability: f64,
    /// The selected trial's Sharpe ratio per period (SR).
    pub sharpe: f64,
    /// SR₀ = √V·((1 − γ)·Φ⁻¹(1 − 1/N) + γ·Φ⁻¹(1 − 1/(N·e))), the expected maximum Sharpe ratio
    /// of N trials without skill (γ: the Euler–Mascheroni constant).
    pub benchmark_sharpe: f64,
    /// N, the number of trials the selection was made from.
    pub trials: usize,
    /// V, the sample variance of the trials' per-period Sharpe ratios.
    pub sharpe_variance: f64,
    /// T, the selected trial's number of returns.
    pub periods: usize,
    /// γ₃, the skewness of its returns (biased, as `scipy.stats.skew`).
    pub skewness: f64,
    /// γ₄, the kurtosis of its returns (Pearson's, not excess: 3 for a normal distribution).
    pub kurtosis: f64,
}

const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;

/// The deflated Sharpe ratio of `selected` (one trial's per-period returns), chosen among
/// trials whose per-period Sharpe ratios are `sharpes` (non-finite ones are left out). `None`
/// with fewer than 2 trials or 3 returns, or a constant series.
pub fn deflated_sharpe(selected: &[f64], sharpes: &[f64]) -> Option<DeflatedSharpe> {
    let sharpes: Vec<f64> = sharpes.iter().copied().filter(|s| s.is_finite()).collect();
    let (n, t) = (sharpes.len(), selected.len());
    if n < 2 || t < 3 {
        return None;
    }
    let sr = sharpe(selected);
    let (mean_r, var_r) = moments(selected);
    if !sr.is_finite() || var_r <= 0.0 {
        return None;
    }
    let m2 = var_r * (t as f64 - 1.0) / t as f64; // biased second moment
    let m3 = selected.iter().map(|x| (x - mean_r).powi(3)).sum::<f64>() / t as f64;
    let m4 = selected.iter().map(|x| (x - mean_r).powi(4)).sum::<f64>() / t as f64;
    let (skewness, kurtosis) = (m3 / m2.powf(1.5), m4 / (m2 * m2));
    let variance = moments(&sharpes).1;
    let n_f = n as f64;
    let benchmark = variance.sqrt()
        * ((1.0 - EULER_GAMMA) * norm_ppf(1.0 - 1.0 / n_f)
            + EULER_GAMMA * norm_ppf(1.0 - 1.0 / (n_f * std::f64::consts::E)));
    let denominator = 1.0 - skewness * sr + (kurtosis - 1.0) / 4.0 * sr * sr;
    let z = (sr - benchmark) * (t as f64 - 1.0).sqrt() / denominator.max(f64::MIN_POSITIVE).sqrt();
    Some(DeflatedSharpe {
        probability: norm_cdf(z),
        sharpe: sr,
        benchmark_sharpe: benchmark,
        trials: n,
        sharpe_variance: variance,
        periods: t,
        skewness,
        kurtosis,
    })
}

/// The probability of backtest overfitting, with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overfitting {
    /// The share of the splits in which the trial best in-sample ranks in the bottom half
    /// out-of-sample (logit ≤ 0). Near 0: selection carries over; 0.5: a coin flip; above:
    /// selection hurts.
    pub probability: f64,
    /// S, the number of equal blocks the common periods were cut into.
    pub blocks: usize,
    /// C(S, S/2), the in-sample/out-of-sample splits evaluated.
    pub splits: usize,
    /// N, the trials compared.
    pub trials: usize,
    /// T, the periods used (a multiple of S: the earliest `T mod S` are dropped).
    pub periods: usize,
    /// The mean logit of the selected trial's out-of-sample relative rank.
    pub mean_logit: f64,
}

/// The probability of backtest overfitting by CSCV of the trials' per-period returns
/// (`returns[trial][period]`, all the same length), scoring each trial by its Sharpe ratio:
/// the periods are cut into `blocks` (even) equal blocks; for every choice of half the blocks
/// as in-sample, the trial with the best in-sample Sharpe ratio is ranked among all trials on
/// the other half (ω = rank / (N + 1), rank 1 the worst), and λ = ln(ω / (1 − ω)). `None` with
/// fewer than 2 trials, an odd or small block count, or fewer than 2 periods per block.
pub fn probability_of_overfitting(returns: &[Vec<f64>], blocks: usize) -> Option<Overfitting> {
    let n = returns.len();
    let t = returns.first()?.len();
    if n < 2 || blocks < 2 || blocks % 2 == 1 || returns.iter().any(|r| r.len() != t) {
        return None;
    }
    let per_block = t / blocks;
    if per_block < 2 {
        return None;
    }
    let skip = t - per_block * blocks;
    // Per block and trial: count, sum, sum of squares.
    let stats: Vec<Vec<(f64, f64)>> = (0..blocks)
        .map(|b| {
            returns
                .iter()
                .map(|r| {
                    let chunk = &r[skip + b * per_block..skip + (b + 1) * per_block];
                    (chunk.iter().sum(), chunk.iter().map(|x| x * x).sum())
                })
                .collect()
        })
        .collect();
    let sharpe_of = |chosen: &[bool], inside: bool, trial: usize| -> f64 {
        let (mut sum, mut sq, mut count) = (0.0, 0.0, 0.0);
        for (b, &c) in chosen.iter().enumerate() {
            if c == inside {
                sum += stats[b][trial].0;
                sq += stats[b][trial].1;
                count += per_block as f64;
            }
        }
        let mean = sum / count;
        let var = (sq - count * mean * mean) / (count - 1.0);
        if var > 0.0 { mean / var.sqrt() } else { f64::NEG_INFINITY }
    };
    let mut logits = Vec::new();
    for chosen in half_subsets(blocks) {
        let is: Vec<f64> = (0..n).map(|k| sharpe_of(&chosen, true, k)).collect();
        let best = (0..n).max_by(|&a, &b| is[a].total_cmp(&is[b]).then(b.cmp(&a)))?;
        let oos: Vec<f64> = (0..n).map(|k| sharpe_of(&chosen, false, k)).collect();
        // Rank 1 is the worst out of sample; ties take the average rank.
        let below = oos.iter().filter(|&&v| v < oos[best]).count() as f64;
        let equal = oos.iter().filter(|&&v| v == oos[best]).count() as f64;
        let rank = below + (equal + 1.0) / 2.0;
        let omega = rank / (n as f64 + 1.0);
        logits.push((omega / (1.0 - omega)).ln());
    }
    let splits = logits.len();
    Some(Overfitting {
        probability: logits.iter().filter(|&&l| l <= 0.0).count() as f64 / splits as f64,
        blocks,
        splits,
        trials: n,
        periods: per_block * blocks,
        mean_logit: logits.iter().sum::<f64>() / splits as f64,
    })
}

/// Every way to choose half of `s` items, as membership masks.
fn half_subsets(s: usize) -> Vec<Vec<bool>> {
    let mut out = Vec::new();
    let mut chosen = vec![false; s];
    fn go(i: usize, left: usize, chosen: &mut Vec<bool>, out: &mut Vec<Vec<bool>>) {
        if left == 0 {
            out.push(chosen.clone());
            return;
        }
        if chosen.len() - i < left {
            return;
        }
        chosen[i] = true;
        go(i + 1, left - 1, chosen, out);
        chosen[i] = false;
        go(i + 1, left, chosen, out);
    }
    go(0, s / 2, &mut chosen, &mut out);
    out
}

/// Mean and sample variance (ddof 1).
fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (mean, v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0))
}

/// Per-period Sharpe ratio: mean / sample standard deviation (NaN for a constant series).
pub fn sharpe(returns: &[f64]) -> f64 {
    let (mean, var) = moments(returns);
    if var > 0.0 { mean / var.sqrt() } else { f64::NAN }
}

/// The standard normal distribution function.
pub fn norm_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

/// The standard normal quantile function: a rational first guess (Abramowitz & Stegun
/// 26.2.23), polished by Newton steps on [`norm_cdf`] to full precision.
pub fn norm_ppf(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return match p {
            0.0 => f64::NEG_INFINITY,
            1.0 => f64::INFINITY,
            _ => f64::NAN,
        };
    }
    // Solve in the lower tail, where `norm_cdf` keeps full relative precision: 1 − p is
    // exact for p near 1, Φ(x) near 1 is not.
    let tail = p.min(1.0 - p);
    let t = (-2.0 * tail.ln()).sqrt();
    let mut x = -(t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t));
    for _ in 0..50 {
        let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let step = (norm_cdf(x) - tail) / pdf;
        x -= step;
        if step.abs() <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    if p < 0.5 { x } else { -x }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight "trials" on real returns: ETH/USDT daily returns of 2022, each taken only in
    /// every other block of k days (k = 2 ..= 9), flat in between.
    fn trials() -> Vec<Vec<f64>> {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/eth-usdt-1d.csv");
        let (candles, _) =
            quantsweep_ingest::load(&path, &Default::default()).expect("bundled data");
        let c = candles.between(Some(1_640_995_200_000), Some(1_672_531_200_000)).close;
        let r: Vec<f64> = c.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        (2..10)
            .map(|k| {
                r.iter().enumerate().map(|(i, x)| if (i / k) % 2 == 0 { *x } else { 0.0 }).collect()
            })
            .collect()
    }

    // Golden values from numpy 2.4 / scipy 1.17 on the same trials (the CSCV written out
    // directly over the rows, without block sums):
    //   sr = [t.mean() / t.std(ddof=1) for t in trials]; best = argmax(sr); x = trials[best]
    //   V = sr.var(ddof=1); g = 0.5772156649015329; N = 8
    //   sr0 = sqrt(V) * ((1-g)*norm.ppf(1-1/N) + g*norm.ppf(1-1/(N*e)))
    //   dsr = norm.cdf((sr[best]-sr0)*sqrt(len(x)-1) / sqrt(1 - skew(x)*sr[best]
    //                   + (kurtosis(x, fisher=False)-1)/4*sr[best]**2))
    //   CSCV: S = 8 blocks of the 364 returns (first 4 dropped); for each of the C(8,4)
    //   in-sample halves, n = argmax of in-sample Sharpe, w = rankdata(oos Sharpe)[n] / (N+1),
    //   logit = ln(w/(1-w)); pbo = mean(logit <= 0)
    #[test]
    fn deflated_sharpe_and_pbo_match_a_direct_python_computation() {
        let trials = trials();
        let sharpes: Vec<f64> = trials.iter().map(|t| sharpe(t)).collect();
        let best = (0..8).max_by(|&a, &b| sharpes[a].total_cmp(&sharpes[b])).expect("trials");
        assert_eq!(best, 4);
        let d = deflated_sharpe(&trials[best], &sharpes).expect("dsr");
        let close = |what: &str, got: f64, want: f64| {
            assert!((got - want).abs() <= 1e-9 * want.abs().max(1.0), "{what}: {got} want {want}");
        };
        close("sharpe", d.sharpe, 0.025_965_404_621_283_57);
        close("benchmark", d.benchmark_sharpe, 0.056_802_780_145_573_41);
        close("variance", d.sharpe_variance, 0.001_515_724_323_691_427_8);
        close("skewness", d.skewness, 1.062_458_076_527_011_5);
        close("kurtosis", d.kurtosis, 11.458_102_786_240_89);
        close("dsr", d.probability, 0.275_832_368_558_736_94);
        assert_eq!((d.trials, d.periods), (8, 364));

        let p = probability_of_overfitting(&trials, 8).expect("pbo");
        assert_eq!((p.splits, p.blocks, p.periods, p.trials), (70, 8, 360, 8));
        close("pbo", p.probability, 0.542_857_142_857_142_8);
        close("mean logit", p.mean_logit, -0.129_957_309_809_559_75);
    }

    /// A generator of returns for the behavioural checks.
    struct Lcg(u64);
    impl Lcg {
        fn normal(&mut self) -> f64 {
            let mut u = || {
                self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            };
            (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos()
        }
    }

    /// Pure noise: the in-sample winner is a coin flip out of sample (PBO near 0.5) and its
    /// deflated Sharpe ratio is unconvincing; one trial with a real edge in every period:
    /// PBO near 0 and a DSR near 1.
    #[test]
    fn noise_overfits_and_skill_does_not() {
        let mut g = Lcg(7);
        let noise: Vec<Vec<f64>> =
            (0..20).map(|_| (0..1000).map(|_| 0.01 * g.normal()).collect()).collect();
        let p = probability_of_overfitting(&noise, 16).expect("pbo");
        assert_eq!(p.splits, 12_870);
        assert!((p.probability - 0.5).abs() < 0.2, "{}", p.probability);
        let sharpes: Vec<f64> = noise.iter().map(|t| sharpe(t)).collect();
        let best = (0..20).max_by(|&a, &b| sharpes[a].total_cmp(&sharpes[b])).expect("trials");
        assert!(deflated_sharpe(&noise[best], &sharpes).expect("dsr").probability < 0.9);

        let mut skilled = noise.clone();
        skilled[3] = (0..1000).map(|_| 0.003 + 0.01 * g.normal()).collect();
        let p = probability_of_overfitting(&skilled, 16).expect("pbo");
        assert!(p.probability < 0.05, "{}", p.probability);
        let sharpes: Vec<f64> = skilled.iter().map(|t| sharpe(t)).collect();
        assert!(deflated_sharpe(&skilled[3], &sharpes).expect("dsr").probability > 0.99);
    }

    #[test]
    fn normal_quantiles_are_exact() {
        // scipy.stats.norm.ppf
        for (p, want) in [
            (0.975, 1.959_963_984_540_054),
            (0.5, 0.0),
            (0.875, 1.150_349_380_376_008_3),
            (1e-10, -6.361_340_902_404_056),
            (0.999_999, 4.753_424_308_817_087),
        ] {
            let got = norm_ppf(p);
            assert!((got - want).abs() < 1e-12 * want.abs().max(1.0), "{p}: {got} want {want}");
            assert!((norm_cdf(got) - p).abs() < 1e-15_f64.max(p.min(1.0 - p) * 1e-12));
        }
        assert!(norm_ppf(1.2).is_nan());
    }

    #[test]
    fn too_little_to_judge_gives_none() {
        assert!(probability_of_overfitting(&[vec![0.1; 100]], 16).is_none());
        assert!(probability_of_overfitting(&[vec![0.1; 10], vec![0.2; 10]], 16).is_none());
        assert!(probability_of_overfitting(&[vec![0.1; 100], vec![0.2; 100]], 7).is_none());
        assert!(deflated_sharpe(&[0.1, 0.2, 0.3], &[0.5]).is_none());
    }
}
