//! Oscillators and momentum: RSI, CMO, MACD, PPO, MOM, ROC, STOCH, STOCHRSI, WILLR, CCI,
//! ULTOSC, MFI, and the close ratio.

use super::average::{MaType, ma};
use super::volatility::true_range;
use super::{from, is_zero, is_zero_scaled, lane_sum, nan, warm_up};

/// Close over previous close; row 0 is NaN.
pub fn close_ratio(close: &[f64]) -> Vec<f64> {
    let mut out = nan(close.len());
    for i in 1..close.len() {
        out[i] = close[i] / close[i - 1];
    }
    out
}

/// Wilder's smoothing of gains and losses, shared by RSI and CMO: `value(gain, loss)` at
/// every row from `period` on.
fn wilder_oscillator(x: &[f64], period: usize, value: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let mut out = nan(x.len());
    if period == 0 || x.len() <= period {
        return out;
    }
    let n = period as f64;
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=period {
        let d = x[i] - x[i - 1];
        if d < 0.0 { loss -= d } else { gain += d }
    }
    gain /= n;
    loss /= n;
    out[period] = value(gain, loss);
    // Wilder's smoothing `(prev · (n − 1) + v) / n` as `prev · a + v · b`: one multiply and one
    // add on the dependency chain instead of a multiply, an add and a divide (within a few ulps
    // of TA-Lib, whose wheel contracts it into fused multiply-adds). Branch-free: a gain or a
    // loss is 0 on the other side.
    let (a, b) = ((n - 1.0) / n, 1.0 / n);
    for i in period + 1..x.len() {
        let d = x[i] - x[i - 1];
        let (up, down) = (if d > 0.0 { d } else { 0.0 }, if d < 0.0 { -d } else { 0.0 });
        gain = gain * a + up * b;
        loss = loss * a + down * b;
        out[i] = value(gain, loss);
    }
    out
}

/// Wilder's relative strength index; the first `period` rows are NaN. A flat market reads
/// 0, as in TA-Lib.
pub fn rsi(x: &[f64], period: usize) -> Vec<f64> {
    wilder_oscillator(x, period, |gain, loss| {
        let total = gain + loss;
        if is_zero(total) { 0.0 } else { 100.0 * (gain / total) }
    })
}

/// Chande momentum oscillator; the first `period` rows are NaN.
pub fn cmo(x: &[f64], period: usize) -> Vec<f64> {
    wilder_oscillator(x, period, |gain, loss| {
        let total = gain + loss;
        if is_zero(total) { 0.0 } else { 100.0 * ((gain - loss) / total) }
    })
}

/// MACD line, signal line and histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Macd {
    /// Fast EMA minus slow EMA.
    pub macd: Vec<f64>,
    /// EMA of the MACD line.
    pub signal: Vec<f64>,
    /// MACD minus signal.
    pub hist: Vec<f64>,
}

/// TA-Lib's MACD: the first `slow + signal - 2` rows are NaN.
///
/// TA-Lib seeds the fast EMA with the SMA of the `fast` prices ending at row `slow - 1` (not
/// at row `fast - 1`), so both EMAs start on the same row; the signal EMA is seeded with the
/// SMA of the first `signal` MACD values. Periods are swapped if `slow < fast`, as TA-Lib does.
pub fn macd(x: &[f64], fast: usize, slow: usize, signal: usize) -> Macd {
    let (fast, slow) = if slow < fast { (slow, fast) } else { (fast, slow) };
    let n = x.len();
    let mut out = Macd { macd: nan(n), signal: nan(n), hist: nan(n) };
    if fast == 0 || signal == 0 || n < slow {
        return out;
    }
    let start = slow - 1;
    let first = start + signal - 1;
    if first >= n {
        return out;
    }
    // Both EMAs in one pass (two independent dependency chains overlap), the line written in
    // place; the same arithmetic as `ema_from`.
    let k = |p: usize| 2.0 / (p as f64 + 1.0);
    let (kf, ks) = (k(fast), k(slow));
    let mut f = x[start + 1 - fast..=start].iter().sum::<f64>() / fast as f64;
    let mut s = x[..=start].iter().sum::<f64>() / slow as f64;
    let line = &mut out.macd;
    line[start] = f - s;
    for i in start + 1..n {
        f = f * (1.0 - kf) + x[i] * kf;
        s = s * (1.0 - ks) + x[i] * ks;
        line[i] = f - s;
    }
    let ksig = k(signal);
    let mut sig = line[start..=first].iter().sum::<f64>() / signal as f64;
    for i in first..n {
        if i > first {
            sig = sig * (1.0 - ksig) + line[i] * ksig;
        }
        out.signal[i] = sig;
        out.hist[i] = line[i] - sig;
    }
    line[start..first].fill(f64::NAN);
    out
}

/// Percentage price oscillator: `(fast MA − slow MA) / slow MA · 100` (TA-Lib's default MA is
/// the SMA); the first `slow − 1` rows are NaN.
pub fn ppo(x: &[f64], fast: usize, slow: usize, kind: MaType) -> Vec<f64> {
    let (fast, slow) = if slow < fast { (slow, fast) } else { (fast, slow) };
    // Both MAs run from row 0 (TA-Lib 0.8; older versions seeded an EMA-type fast MA where
    // the slow one starts, as MACD still does).
    let slow_ma = ma(x, slow, kind);
    let fast_ma = ma(x, fast, kind);
    let first = warm_up(&slow_ma);
    let mut out = nan(x.len());
    for i in first..x.len() {
        let s = slow_ma[i];
        out[i] = if is_zero(s) { 0.0 } else { ((fast_ma[i] - s) / s) * 100.0 };
    }
    out
}

/// Momentum: `x[i] − x[i − period]`.
pub fn mom(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    for i in period..x.len() {
        out[i] = x[i] - x[i - period];
    }
    out
}

/// Rate of change in %: `(x[i] / x[i − period] − 1) · 100` (0 where the old value is 0).
pub fn roc(x: &[f64], period: usize) -> Vec<f64> {
    let mut out = nan(x.len());
    if period == 0 {
        return out;
    }
    for i in period..x.len() {
        let old = x[i - period];
        out[i] = if old != 0.0 { ((x[i] / old) - 1.0) * 100.0 } else { 0.0 };
    }
    out
}

/// A stochastic oscillator's two lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Stoch {
    /// %K (slow %K for STOCH, fast %K for STOCHRSI).
    pub k: Vec<f64>,
    /// %D, the moving average of %K.
    pub d: Vec<f64>,
}

/// The extreme of `x[trailing..=today]` that TA-Lib tracks incrementally: the index of the
/// lowest (or highest) value, rescanning only when the old extreme leaves the window.
struct Extreme {
    index: Option<usize>,
    value: f64,
}

impl Extreme {
    fn new() -> Self {
        Extreme { index: None, value: 0.0 }
    }

    /// Updates for the window `trailing..=today`; `better(a, b)` is true when `a` replaces
    /// `b` on a rescan and `ties(a, b)` when today's value replaces the kept one. Returns
    /// true when the extreme changed.
    fn update(
        &mut self,
        x: &[f64],
        trailing: usize,
        today: usize,
        better: impl Fn(f64, f64) -> bool,
        ties: impl Fn(f64, f64) -> bool,
    ) -> bool {
        match self.index {
            Some(i) if i >= trailing => {
                if ties(x[today], self.value) {
                    self.index = Some(today);
                    self.value = x[today];
                    true
                } else {
                    false
                }
            }
            _ => {
                let mut index = trailing;
                let mut value = x[trailing];
                for (i, &v) in x.iter().enumerate().take(today + 1).skip(trailing + 1) {
                    if better(v, value) {
                        index = i;
                        value = v;
                    }
                }
                self.index = Some(index);
                self.value = value;
                true
            }
        }
    }
}

/// TA-Lib's incremental lowest-low / highest-high scan over `period` bars: calls
/// `value(today, lowest, highest, diff)` from row `period − 1` on, where `diff` is
/// `(highest − lowest) / scale`, recomputed (as TA-Lib does) only when an extreme changes.
fn range_scan(
    high: &[f64],
    low: &[f64],
    period: usize,
    scale: f64,
    value: impl Fn(usize, f64, f64, f64) -> f64,
) -> Vec<f64> {
    let n = high.len();
    let mut out = nan(n);
    if period == 0 || n < period {
        return out;
    }
    let (mut lowest, mut highest) = (Extreme::new(), Extreme::new());
    let mut diff = 0.0;
    for today in period - 1..n {
        let trailing = today + 1 - period;
        if lowest.update(low, trailing, today, |a, b| a < b, |a, b| a <= b) {
            diff = (highest.value - lowest.value) / scale;
        }
        if highest.update(high, trailing, today, |a, b| a > b, |a, b| a >= b) {
            diff = (highest.value - lowest.value) / scale;
        }
        out[today] = value(today, lowest.value, highest.value, diff);
    }
    out
}

/// Fast %K over `period` bars: `(close − lowest low) / (highest high − lowest low) · 100`;
/// rows before `period − 1` are NaN.
fn fast_k(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    range_scan(high, low, period, 100.0, |today, lowest, highest, diff| {
        // A range that is only rounding noise (RSI flat for the window) reads 0.
        let flat = is_zero_scaled(diff, (highest.abs() + lowest.abs()) / 100.0);
        if diff != 0.0 && !flat { (close[today] - lowest) / diff } else { 0.0 }
    })
}

/// TA-Lib's STOCH: slow %K = MA(fast %K, `slow_k`), slow %D = MA(slow %K, `slow_d`).
pub fn stoch(
    high: &[f64],
    low: &[f64],
    close: &[f64],
    fast_k_period: usize,
    slow_k: (usize, MaType),
    slow_d: (usize, MaType),
) -> Stoch {
    let fk = fast_k(high, low, close, fast_k_period);
    let k = from(&fk, warm_up(&fk), |s| ma(s, slow_k.0, slow_k.1));
    with_d(k, slow_d)
}

/// %K and its moving average %D; TA-Lib outputs both lines from the row where %D starts.
fn with_d(k: Vec<f64>, (period, kind): (usize, MaType)) -> Stoch {
    let d = from(&k, warm_up(&k), |s| ma(s, period, kind));
    let first = warm_up(&d);
    let k = k.iter().enumerate().map(|(i, &v)| if i < first { f64::NAN } else { v }).collect();
    Stoch { k, d }
}

/// TA-Lib's STOCHRSI: the fast stochastic (%K over `fast_k` bars, %D its MA over `fast_d`)
/// of RSI(`period`).
pub fn stochrsi(x: &[f64], period: usize, fast_k_period: usize, fast_d: (usize, MaType)) -> Stoch {
    let r = rsi(x, period);
    let start = warm_up(&r);
    with_d(from(&r, start, |s| fast_k(s, s, s, fast_k_period)), fast_d)
}

/// Williams' %R over `period` bars; the first `period − 1` rows are NaN.
pub fn willr(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    range_scan(high, low, period, -100.0, |today, _, highest, diff| {
        if diff != 0.0 { (highest - close[today]) / diff } else { 0.0 }
    })
}

/// Commodity channel index over `period` bars of typical price; the first `period − 1` rows
/// are NaN.
pub fn cci(high: &[f64], low: &[f64], close: &[f64], period: usize) -> Vec<f64> {
    let n = close.len();
    let mut out = nan(n);
    if period == 0 || n < period {
        return out;
    }
    let mut ring = vec![0.0; period];
    for i in 0..period - 1 {
        ring[i % period] = (high[i] + low[i] + close[i]) / 3.0;
    }
    for i in period - 1..n {
        let last = (high[i] + low[i] + close[i]) / 3.0;
        ring[i % period] = last;
        let average = lane_sum(&ring, |v| v) / period as f64;
        let deviation = lane_sum(&ring, |v| (average - v).abs());
        let d = last - average;
        out[i] = if d != 0.0 && deviation != 0.0 {
            d / (0.015 * (deviation / period as f64))
        } else {
            0.0
        };
    }
    out
}

/// Ultimate oscillator over three periods (sorted, shortest weighted 4, middle 2, longest 1);
/// the first `longest` rows are NaN.
pub fn ultosc(high: &[f64], low: &[f64], close: &[f64], periods: [usize; 3]) -> Vec<f64> {
    let n = close.len();
    let mut out = nan(n);
    let mut p = periods;
    p.sort_unstable();
    if p[0] == 0 || n <= p[2] {
        return out;
    }
    // (close − true low, true range) of bar `day` (needs day ≥ 1).
    let terms = |day: usize| {
        let true_low = low[day].min(close[day - 1]);
        (close[day] - true_low, true_range(high[day], low[day], close[day - 1]))
    };
    let start = p[2];
    let mut totals = [(0.0, 0.0); 3];
    for (total, &period) in totals.iter_mut().zip(&p) {
        for i in start + 1 - period..start {
            let (a, b) = terms(i);
            total.0 += a;
            total.1 += b;
        }
    }
    for today in start..n {
        let (a, b) = terms(today);
        for total in &mut totals {
            total.0 += a;
            total.1 += b;
        }
        let mut value = 0.0;
        for (total, weight) in totals.iter().zip([4.0, 2.0, 1.0]) {
            if !is_zero(total.1) {
                value +=
                    if weight == 1.0 { total.0 / total.1 } else { weight * (total.0 / total.1) };
            }
        }
        for (total, &period) in totals.iter_mut().zip(&p) {
            let (a, b) = terms(today + 1 - period);
            total.0 -= a;
            total.1 -= b;
        }
        out[today] = 100.0 * (value / 7.0);
    }
    out
}

/// Money flow index over `period` bars; the first `period` rows are NaN. As in TA-Lib, a
/// total money flow below 1 reads 0.
pub fn mfi(high: &[f64], low: &[f64], close: &[f64], volume: &[f64], period: usize) -> Vec<f64> {
    let n = close.len();
    let mut out = nan(n);
    if period == 0 || n <= period {
        return out;
    }
    let typical = |i: usize| (high[i] + low[i] + close[i]) / 3.0;
    let mut ring = vec![(0.0, 0.0); period];
    let (mut pos_sum, mut neg_sum) = (0.0, 0.0);
    let mut prev = typical(0);
    let mut slot = 0;
    let flow = |i: usize, prev: &mut f64| {
        let tp = typical(i);
        let d = tp - *prev;
        let unchanged = is_zero_scaled(d, tp.abs() + prev.abs());
        *prev = tp;
        let money = tp * volume[i];
        if unchanged {
            (0.0, 0.0)
        } else if d < 0.0 {
            (0.0, money)
        } else if d > 0.0 {
            (money, 0.0)
        } else {
            (0.0, 0.0)
        }
    };
    for i in 1..=period {
        let (p, m) = flow(i, &mut prev);
        ring[slot] = (p, m);
        pos_sum += p;
        neg_sum += m;
        slot = (slot + 1) % period;
    }
    let value = |pos: f64, neg: f64| {
        let total = pos + neg;
        if total < 1.0 { 0.0 } else { 100.0 * (pos / total) }
    };
    out[period] = value(pos_sum, neg_sum);
    for i in period + 1..n {
        pos_sum -= ring[slot].0;
        neg_sum -= ring[slot].1;
        let (p, m) = flow(i, &mut prev);
        ring[slot] = (p, m);
        pos_sum += p;
        neg_sum += m;
        out[i] = value(pos_sum, neg_sum);
        slot = (slot + 1) % period;
    }
    out
}
