//! The pandas operations the `ta` package and qtpylib are written in, with pandas' semantics: NaN is
//! "missing" and skipped by windows, `±inf` is turned into NaN before any window or EWM sees
//! it (pandas' `_prep_values`), `min_periods` counts the non-missing values, and rolling sums
//! and means keep pandas' compensated running sums (so that rounding agrees closely).
//!
//! Windows are the trailing `window` rows ending at each row: causal by construction.

/// `±inf` as pandas' windows see it: missing.
fn prep(v: f64) -> f64 {
    if v.is_finite() { v } else { f64::NAN }
}

/// `x.shift(k, fill_value=fill)`.
pub fn shift(x: &[f64], k: usize, fill: f64) -> Vec<f64> {
    (0..x.len()).map(|i| if i >= k { x[i - k] } else { fill }).collect()
}

/// `x.diff(1)`.
pub fn diff(x: &[f64]) -> Vec<f64> {
    (0..x.len()).map(|i| if i > 0 { x[i] - x[i - 1] } else { f64::NAN }).collect()
}

/// `x.pct_change()` (pandas 2+: no fill), `x / x.shift(1) - 1`.
pub fn pct_change(x: &[f64]) -> Vec<f64> {
    (0..x.len()).map(|i| if i > 0 { x[i] / x[i - 1] - 1.0 } else { f64::NAN }).collect()
}

/// `x.cumsum()`: missing rows stay missing and are skipped by the running sum.
pub fn cumsum(x: &[f64]) -> Vec<f64> {
    let mut sum = 0.0;
    x.iter()
        .map(|&v| {
            if v.is_nan() {
                f64::NAN
            } else {
                sum += v;
                sum
            }
        })
        .collect()
}

/// `x.mean()` over the non-missing values (NaN when there are none).
pub fn mean(x: &[f64]) -> f64 {
    let (sum, n) =
        x.iter().filter(|v| !v.is_nan()).fold((0.0, 0usize), |(s, n), &v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// The running state of pandas' `roll_sum` / `roll_mean`: a Kahan-compensated sum of the
/// values entering and leaving the window, and the run of equal values at its end (a window of
/// one repeated value gives that value exactly).
#[derive(Default)]
struct RunningSum {
    nobs: usize,
    sum: f64,
    neg: usize,
    comp_add: f64,
    comp_remove: f64,
    same: usize,
    prev: f64,
}

impl RunningSum {
    fn add(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.nobs += 1;
        let y = v - self.comp_add;
        let t = self.sum + y;
        self.comp_add = t - self.sum - y;
        self.sum = t;
        if v < 0.0 {
            self.neg += 1;
        }
        if v == self.prev {
            self.same += 1;
        } else {
            self.same = 1;
        }
        self.prev = v;
    }

    fn remove(&mut self, v: f64) {
        if v.is_nan() {
            return;
        }
        self.nobs -= 1;
        let y = -v - self.comp_remove;
        let t = self.sum + y;
        self.comp_remove = t - self.sum - y;
        self.sum = t;
        if v < 0.0 {
            self.neg -= 1;
        }
    }
}

/// Runs `f(state)` at every row of a trailing window of `window` rows over `x`.
fn sliding(x: &[f64], window: usize, mut f: impl FnMut(&RunningSum) -> f64) -> Vec<f64> {
    let x: Vec<f64> = x.iter().map(|&v| prep(v)).collect();
    let mut s = RunningSum { prev: x.first().copied().unwrap_or(f64::NAN), ..Default::default() };
    (0..x.len())
        .map(|i| {
            if i >= window {
                s.remove(x[i - window]);
            }
            s.add(x[i]);
            f(&s)
        })
        .collect()
}

/// `x.rolling(window, min_periods).sum()` (an empty window sums to 0 when `min_periods` is 0).
pub fn rolling_sum(x: &[f64], window: usize, min_periods: usize) -> Vec<f64> {
    sliding(x, window, |s| {
        if s.nobs == 0 && min_periods == 0 {
            0.0
        } else if s.nobs >= min_periods {
            if s.same >= s.nobs { s.prev * s.nobs as f64 } else { s.sum }
        } else {
            f64::NAN
        }
    })
}

/// `x.rolling(window, min_periods).mean()`.
pub fn rolling_mean(x: &[f64], window: usize, min_periods: usize) -> Vec<f64> {
    sliding(x, window, |s| {
        if s.nobs >= min_periods && s.nobs > 0 {
            let mean = s.sum / s.nobs as f64;
            if s.same >= s.nobs {
                s.prev
            } else if (s.neg == 0 && mean < 0.0) || (s.neg == s.nobs && mean > 0.0) {
                0.0
            } else {
                mean
            }
        } else {
            f64::NAN
        }
    })
}

/// `f` of each trailing window's raw values (missing ones included) where the window has at
/// least `min_periods` non-missing values: `x.rolling(window, min_periods).apply(f, raw=True)`.
pub fn rolling_apply(
    x: &[f64],
    window: usize,
    min_periods: usize,
    f: impl Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let x: Vec<f64> = x.iter().map(|&v| prep(v)).collect();
    (0..x.len())
        .map(|i| {
            let w = &x[(i + 1).saturating_sub(window)..=i];
            if w.iter().filter(|v| !v.is_nan()).count() >= min_periods { f(w) } else { f64::NAN }
        })
        .collect()
}

/// `x.rolling(window, min_periods).max()` (`min` with `max = false`): the extreme of the
/// non-missing values, NaN below `min_periods` of them or with none.
pub fn rolling_extreme(x: &[f64], window: usize, min_periods: usize, max: bool) -> Vec<f64> {
    rolling_apply(x, window, min_periods.max(1), |w| {
        let values = w.iter().copied().filter(|v| !v.is_nan());
        if max { values.fold(f64::MIN, f64::max) } else { values.fold(f64::MAX, f64::min) }
    })
}

/// `x.rolling(window, min_periods).std(ddof)` as pandas computes it: Welford's running mean
/// and sum of squared deviations, values entering and leaving with compensated updates (a
/// single value, or one value repeated, has deviation 0; NaN up to `ddof` values).
pub fn rolling_std(x: &[f64], window: usize, min_periods: usize, ddof: usize) -> Vec<f64> {
    let x: Vec<f64> = x.iter().map(|&v| prep(v)).collect();
    let min_periods = min_periods.max(1);
    let (mut nobs, mut mean, mut ssqdm) = (0usize, 0.0f64, 0.0f64);
    let (mut comp_add, mut comp_remove) = (0.0f64, 0.0f64);
    let (mut same, mut prev) = (0usize, x.first().copied().unwrap_or(f64::NAN));
    let mut out = Vec::with_capacity(x.len());
    for i in 0..x.len() {
        if i >= window && !x[i - window].is_nan() {
            let v = x[i - window];
            nobs -= 1;
            if nobs > 0 {
                let prev_mean = mean - comp_remove;
                let y = v - comp_remove;
                let t = y - mean;
                comp_remove = t + mean - y;
                mean -= t / nobs as f64;
                ssqdm -= (v - prev_mean) * (v - mean);
            } else {
                mean = 0.0;
                ssqdm = 0.0;
            }
        }
        let v = x[i];
        if !v.is_nan() {
            same = if v == prev { same + 1 } else { 1 };
            prev = v;
            nobs += 1;
            let prev_mean = mean - comp_add;
            let y = v - comp_add;
            let t = y - mean;
            comp_add = t + mean - y;
            mean += t / nobs as f64;
            ssqdm += (v - prev_mean) * (v - mean);
        }
        out.push(if nobs >= min_periods && nobs > ddof {
            if nobs == 1 || same >= nobs {
                0.0
            } else {
                (ssqdm / (nobs - ddof) as f64).max(0.0).sqrt()
            }
        } else {
            f64::NAN
        });
    }
    out
}

/// pandas' smoothing factor for `span`: through the centre of mass, as pandas computes it.
pub fn span(span: usize) -> f64 {
    let com = (span as f64 - 1.0) / 2.0;
    1.0 / (1.0 + com)
}

/// pandas' smoothing factor for `alpha=a` (pandas goes through the centre of mass too).
pub fn alpha(a: f64) -> f64 {
    let com = (1.0 - a) / a;
    1.0 / (1.0 + com)
}

/// `x.ewm(alpha=a, min_periods, adjust=False).mean()` (`ignore_na=False`): seeded with the
/// first value; a missing value keeps the average and lets the next value weigh more, as its
/// weight follows absolute positions.
///
/// pandas 3.1 deviates from its own rule at exactly `a = 0.5` across interior gaps; `ta`'s
/// only `a = 0.5` average (STC's smoothing) has gaps only in its warm-up, before the first
/// value, where both agree.
pub fn ewm(x: &[f64], a: f64, min_periods: usize) -> Vec<f64> {
    let min_periods = min_periods.max(1);
    let mut out = Vec::with_capacity(x.len());
    let Some(&first) = x.first() else { return out };
    let mut weighted = prep(first);
    let mut nobs = usize::from(!weighted.is_nan());
    let mut old_wt = 1.0;
    out.push(if nobs >= min_periods { weighted } else { f64::NAN });
    for &v in &x[1..] {
        let cur = prep(v);
        let observed = !cur.is_nan();
        nobs += usize::from(observed);
        if !weighted.is_nan() {
            old_wt *= 1.0 - a;
            if observed {
                if weighted != cur {
                    weighted = (old_wt * weighted + a * cur) / (old_wt + a);
                }
                old_wt = 1.0;
            }
        } else if observed {
            weighted = cur;
        }
        out.push(if nobs >= min_periods { weighted } else { f64::NAN });
    }
    out
}

/// `ta`'s true range: the largest of high − low, |high − prev close| and |low − prev close|
/// that is not missing (a DataFrame's row max); TA-Lib's comparisons skip a missing previous
/// close the same way.
pub fn true_range(h: &[f64], l: &[f64], prev_close: &[f64]) -> Vec<f64> {
    (0..h.len()).map(|i| crate::indicators::true_range(h[i], l[i], prev_close[i])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter().zip(b).all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-12)
    }

    // Values printed by pandas 3.1:
    //   s = pd.Series([1.0, np.inf, 2, 3, 4, 5, 6]); s.rolling(2, min_periods=0).mean()
    //   pd.Series([np.nan, np.nan]).rolling(2, min_periods=0).sum()
    //   pd.Series([1.0, 2.0, np.nan, 3.0]).ewm(alpha=0.4, adjust=False).mean()
    #[test]
    fn windows_follow_pandas() {
        let s = [1.0, f64::INFINITY, 2.0, 3.0, 4.0, 5.0, 6.0];
        assert!(same(&rolling_mean(&s, 2, 0), &[1.0, 1.0, 2.0, 2.5, 3.5, 4.5, 5.5]));
        assert!(same(&rolling_sum(&s, 2, 0), &[1.0, 1.0, 2.0, 5.0, 7.0, 9.0, 11.0]));
        assert!(same(&rolling_sum(&[f64::NAN, f64::NAN], 2, 0), &[0.0, 0.0]));
        assert!(same(&rolling_mean(&[f64::NAN, 1.0], 2, 0), &[f64::NAN, 1.0]));
        let e = ewm(&[1.0, 2.0, f64::NAN, 3.0], 0.4, 0);
        assert!(same(&e, &[1.0, 1.4, 1.4, 2.242105263157895]), "{e:?}");
        assert!(same(&ewm(&[f64::NAN, 1.0, 3.0], 0.5, 0), &[f64::NAN, 1.0, 2.0]));
    }

    #[test]
    fn a_window_of_one_repeated_value_is_that_value() {
        let x = [0.1, 0.7, 0.7, 0.7];
        assert_eq!(rolling_mean(&x, 3, 3)[3], 0.7);
        assert_eq!(rolling_sum(&x, 3, 3)[3], 0.7 * 3.0);
    }
}
