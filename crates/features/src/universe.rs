//! Universes (`data.universe`): one model trained on the windows of many assets pooled, as
//! Fischer & Krauss (2018) and most cross-sectional papers train theirs.
//!
//! - Each window stays within its asset: an asset's samples are cut from its own candles and
//!   feature table exactly as for one market.
//! - Spans are cut by time across the universe: the calendar is every time at which some asset
//!   has a sample, and the split's fractions and walk-forward lengths count its times. The
//!   purge gap between spans is window + horizon times (`split.purge: horizon`: horizon times;
//!   plus `split.embargo_bars`), and on top of it no training or validation sample is kept
//!   whose target reads a bar at or after the earliest bar any next-span window of any asset
//!   reads (or its first decision): no asset's future is in another's training.
//! - Inputs are scaled per asset on its own training windows, or on all assets' training
//!   windows pooled (`window.scale_by: universe`).
//! - Samples are stored span by span (training, validation, test), asset by asset within a
//!   span, in time order within an asset; [`Dataset::asset`] says whose each is.

use std::ops::Range;

use quantsweep_ingest::Candles;

use crate::config::{
    Balance, Purge, Scale, ScaleBy, SplitConfig, SplitKind, TargetConfig, WindowConfig,
};
use crate::targets::{cross_sectional, target_columns};
use crate::windows::{Samples, invalid, truncate_classes, walk_forward_lengths};
use crate::{Dataset, FeatureError, FeatureTable, Fold};

/// One asset of a universe: its candles and feature table.
#[derive(Debug, Clone, Copy)]
pub struct Asset<'a> {
    /// Its name (`AAPL`, `ETH/USDT`), for messages.
    pub name: &'a str,
    /// Its candles.
    pub candles: &'a Candles,
    /// Its features, row by row with the candles.
    pub table: &'a FeatureTable,
}

/// The folds a universe trains: one (`split.kind: chronological`) or one per walk-forward
/// test span, each a [`Dataset`] of all assets' samples (see the module documentation).
pub fn universe_folds(
    assets: &[Asset],
    window: &WindowConfig,
    target: &TargetConfig,
    split: &SplitConfig,
) -> Result<Vec<Fold>, FeatureError> {
    if assets.len() < 2 {
        return Err(invalid(
            "data.universe",
            &format!(
                "a universe needs at least two assets, got {}: trade one market with data.pair",
                assets.len()
            ),
        ));
    }
    if split.kind == SplitKind::Shuffled {
        return Err(invalid(
            "split.kind",
            "a universe splits by time across its assets: use chronological or walk_forward",
        ));
    }
    // Targets: each asset's own, or the universe's cross-sectional labels.
    let own: Vec<Vec<Vec<f64>>> =
        assets.iter().map(|a| target_columns(a.candles, target)).collect();
    let targets: Vec<Vec<Vec<f64>>> = if target.is_cross_sectional() {
        let times: Vec<&[i64]> = assets.iter().map(|a| &a.candles.timestamp_ms[..]).collect();
        let forward: Vec<Vec<f64>> = own.into_iter().map(|mut t| t.swap_remove(0)).collect();
        cross_sectional(&times, &forward, target).into_iter().map(|c| vec![c]).collect()
    } else {
        own
    };
    let mut samples = Vec::with_capacity(assets.len());
    for (a, t) in assets.iter().zip(targets) {
        let s = Samples::with_targets(a.candles, a.table, window, target, split, t)
            .map_err(|e| in_asset(e, a.name))?;
        samples.push(s);
    }
    let names = samples[0].input_names().to_vec();
    if let Some((a, _)) = assets.iter().zip(&samples).find(|(_, s)| s.input_names() != names) {
        return Err(invalid(
            "window.inputs",
            &format!("{} has other input columns than {}", a.name, assets[0].name),
        ));
    }
    // The calendar: every time some asset has a sample.
    let time = |a: usize, row: usize| assets[a].candles.timestamp_ms[row];
    let mut calendar: Vec<i64> = samples
        .iter()
        .enumerate()
        .flat_map(|(a, s)| s.rows.iter().map(move |&r| time(a, r)))
        .collect();
    calendar.sort_unstable();
    calendar.dedup();
    let (w, h) = (samples[0].w, samples[0].h);
    let spans = spans(calendar.len(), samples[0].gap(), split)?;
    // How far back from a later span's first decision no training target may reach.
    let back = if split.purge == Purge::Window { w - 1 } else { 0 };
    let mut folds = Vec::with_capacity(spans.len());
    for (index, (train, val, test)) in spans.into_iter().enumerate() {
        let times = |r: &Range<usize>| {
            if r.is_empty() { None } else { Some(calendar[r.start]..calendar[r.end - 1] + 1) }
        };
        let (train_t, val_t, test_t) = (times(&train), times(&val), times(&test));
        // Per asset: its samples in each span.
        let pick = |a: usize, span: &Option<Range<i64>>| -> Vec<usize> {
            let Some(span) = span else { return Vec::new() };
            let s = &samples[a];
            (0..s.rows.len()).filter(|&i| span.contains(&time(a, s.rows[i]))).collect()
        };
        let mut parts: Vec<[Vec<usize>; 3]> = (0..assets.len())
            .map(|a| [pick(a, &train_t), pick(a, &val_t), pick(a, &test_t)])
            .collect();
        // The earliest bar any window of a span reads (or, purging by horizon, its first
        // decision), across the universe.
        let first_read = |parts: &[[Vec<usize>; 3]], k: usize| -> Option<i64> {
            parts
                .iter()
                .enumerate()
                .filter_map(|(a, p)| p[k].first().map(|&i| time(a, samples[a].rows[i] - back)))
                .min()
        };
        // No training or validation target reads a bar the next span's windows read.
        for (k, next) in [(1, 2), (0, 1)] {
            let next = if k == 0 && parts.iter().all(|p| p[1].is_empty()) { 2 } else { next };
            let Some(limit) = first_read(&parts, next) else { continue };
            for (a, p) in parts.iter_mut().enumerate() {
                let s = &samples[a];
                let n = s.n;
                p[k].retain(|&i| time(a, (s.rows[i] + h).min(n - 1)) < limit);
            }
        }
        let mut balanced_out = 0;
        if split.balance == Balance::Truncate {
            for (a, p) in parts.iter_mut().enumerate() {
                let s = &samples[a];
                for span in p.iter_mut().take(2) {
                    let before = span.len();
                    *span = truncate_classes(span, &s.rows, &s.targets[0]);
                    balanced_out += before - span.len();
                }
            }
        }
        let n_train: usize = parts.iter().map(|p| p[0].len()).sum();
        let n_test: usize = parts.iter().map(|p| p[2].len()).sum();
        if n_train == 0 || n_test == 0 {
            return Err(FeatureError::NotEnoughData(format!(
                "the universe's {} times give fold {index} {n_train} training and {n_test} test \
                 samples: use more data or other split lengths",
                calendar.len()
            )));
        }
        // The pooled scaler also scales an asset without training samples (one that starts
        // late) when each asset is scaled on its own.
        let pooled = (window.scale == Scale::Standard).then(|| pooled_scaler(&samples, &parts));
        let by_universe = window.scale_by == ScaleBy::Universe;
        let mut pieces = Vec::with_capacity(assets.len());
        for (a, p) in parts.iter().enumerate() {
            let s = &samples[a];
            // An asset's test samples are consecutive: they are its samples in a time range.
            let test = match (p[2].first(), p[2].last()) {
                (Some(&first), Some(&last)) => first..last + 1,
                _ => 0..0,
            };
            let scaler = match &pooled {
                Some(scaler) if by_universe || p[0].is_empty() => scaler.clone(),
                _ => s.scaler(&p[0], window.scale),
            };
            let d = s.assemble_scaled(&p[0], &p[1], test, window.scale, scaler, Vec::new(), 0);
            pieces.push(d);
        }
        folds.push(Fold { index, dataset: pool(pieces, balanced_out) });
    }
    Ok(folds)
}

/// `(train, val, test)` ranges of calendar indices for each fold, as [`Dataset::build`] and
/// [`Dataset::walk_forward`] cut one market's samples, here counting times.
#[allow(clippy::type_complexity)]
fn spans(
    times: usize,
    purge: usize,
    split: &SplitConfig,
) -> Result<Vec<(Range<usize>, Range<usize>, Range<usize>)>, FeatureError> {
    for (key, f) in [("split.val", split.val), ("split.test", split.test)] {
        if !(0.0..1.0).contains(&f) {
            return Err(invalid(key, &format!("must be in [0, 1), got {f}")));
        }
    }
    let train_val = |start: usize, end: usize, gap: usize| {
        let n_val = (((end - start) as f64) * split.val).round() as usize;
        if n_val == 0 {
            return (start..end, end..end);
        }
        let val = end.saturating_sub(n_val)..end;
        (start..val.start.saturating_sub(gap).max(start), val)
    };
    if split.kind != SplitKind::WalkForward {
        if split.test == 0.0 {
            return Err(invalid("split.test", "must be above 0: the backtest needs a test span"));
        }
        let n_test = ((times as f64) * split.test).round() as usize;
        let test = times.saturating_sub(n_test)..times;
        let pool_end = test.start.saturating_sub(purge);
        // The validation span: a fraction of all times, before the test span's gap.
        let n_val = (((times as f64) * split.val).round() as usize).min(pool_end);
        let (train, val) = if n_val == 0 {
            (0..pool_end, pool_end..pool_end)
        } else {
            let val = pool_end - n_val..pool_end;
            (0..val.start.saturating_sub(purge), val)
        };
        if test.is_empty() || train.len() < 2 * purge {
            return Err(FeatureError::NotEnoughData(format!(
                "the universe has {times} times with samples: too few for a training span after \
                 the validation and test spans and purge gaps of {purge}; use more data or \
                 smaller split.val / split.test"
            )));
        }
        return Ok(vec![(train, val, test)]);
    }
    let (train_bars, test_bars, step) = walk_forward_lengths(split)?;
    let gap = purge + split.embargo_bars;
    let first = train_bars + gap;
    if first >= times {
        return Err(FeatureError::NotEnoughData(format!(
            "split.train_bars: the universe's {times} times leave no test span after a training \
             window of {train_bars} and a gap of {gap} (window + horizon + embargo)"
        )));
    }
    let mut out = Vec::new();
    let mut start = first;
    while start < times {
        let test = start..(start + test_bars).min(times);
        let end = start - gap;
        let begin = if split.expanding { 0 } else { end - train_bars };
        let (train, val) = train_val(begin, end, purge);
        out.push((train, val, test));
        start += step;
    }
    Ok(out)
}

/// One scaler from every asset's training windows.
fn pooled_scaler(samples: &[Samples], parts: &[[Vec<usize>; 3]]) -> Vec<(f64, f64)> {
    let mut total: Vec<(f64, f64, f64)> = Vec::new();
    for (s, p) in samples.iter().zip(parts) {
        let m = s.moments(&s.read_rows(&p[0]));
        if total.is_empty() {
            total = m;
        } else {
            for (t, (n, sum, sq)) in total.iter_mut().zip(m) {
                *t = (t.0 + n, t.1 + sum, t.2 + sq);
            }
        }
    }
    total
        .into_iter()
        .map(|(n, sum, sq)| {
            let mean = sum / n;
            let std = (sq / n - mean * mean).max(0.0).sqrt();
            (mean, if std > 0.0 && std.is_finite() { std } else { 1.0 })
        })
        .collect()
}

/// The assets' datasets as one: their training samples, then their validation samples, then
/// their test samples, each asset's in time order.
fn pool(pieces: Vec<Dataset>, balanced_out: usize) -> Dataset {
    let first = &pieces[0];
    let (input_bars, input_names, n_targets) =
        (first.input_bars, first.input_names.clone(), first.n_targets);
    let scaler = first.scaler.clone();
    let per_x = input_bars * input_names.len();
    let mut out = Dataset {
        x: Vec::new(),
        y: Vec::new(),
        decision_row: Vec::new(),
        input_bars,
        input_names,
        n_targets,
        train: 0..0,
        val: 0..0,
        test: 0..0,
        leaks: Vec::new(),
        skipped: pieces.iter().map(|d| d.skipped).sum(),
        balanced_out,
        scaler,
        asset: Vec::new(),
    };
    let mut bounds = [0usize; 3];
    for (k, span) in
        [|d: &Dataset| d.train.clone(), |d: &Dataset| d.val.clone(), |d: &Dataset| d.test.clone()]
            .iter()
            .enumerate()
    {
        for (a, d) in pieces.iter().enumerate() {
            let r = span(d);
            out.x.extend_from_slice(&d.x[r.start * per_x..r.end * per_x]);
            out.y.extend_from_slice(d.y_slice(r.clone()));
            out.decision_row.extend_from_slice(&d.decision_row[r.clone()]);
            out.asset.extend(std::iter::repeat_n(a as u32, r.len()));
            for leak in &d.leaks {
                if !out.leaks.contains(leak) {
                    out.leaks.push(leak.clone());
                }
            }
        }
        bounds[k] = out.decision_row.len();
    }
    out.train = 0..bounds[0];
    out.val = bounds[0]..bounds[1];
    out.test = bounds[1]..bounds[2];
    out
}

/// An asset's error, naming it.
fn in_asset(e: FeatureError, name: &str) -> FeatureError {
    match e {
        FeatureError::NotEnoughData(m) => FeatureError::NotEnoughData(format!("{name}: {m}")),
        FeatureError::InvalidParameter { key, message } => {
            FeatureError::InvalidParameter { key, message: format!("{name}: {message}") }
        }
        other => other,
    }
}
