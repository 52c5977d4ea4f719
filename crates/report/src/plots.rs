//! The report's plots, each an SVG string drawn by plotters (text is left to the browser).

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::coord::ranged1d::Ranged;
use plotters::prelude::*;

use crate::{Cell, Sweep, Trial, number};

/// Width and height of a full-width plot, in pixels.
const WIDE: (u32, u32) = (960, 420);
/// Width and height of one small plot in a grid.
const SMALL: (u32, u32) = (460, 320);
/// The sans-serif font used for every label.
const FONT: &str = "sans-serif";

/// A plot failed to draw (plotters' errors carry the backend's).
type Drawn = Result<String, String>;

fn failed(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Draws with `draw` on a white SVG canvas of `size`.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Drawn {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(failed)?;
        draw(&root)?;
        root.present().map_err(failed)?;
    }
    Ok(out)
}

/// `[lo, hi]` widened by 5% each side (or by 1 around a single value).
fn padded(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return None;
    }
    let pad = if hi > lo { 0.05 * (hi - lo) } else { lo.abs().max(1.0) * 0.05 };
    Some((lo - pad, hi + pad))
}

/// Tick labels for an axis over `[lo, hi]`: three significant digits of the span, so that
/// ticks read 0.20, 0.00, -0.20 rather than 0.2000, -2.220e-16, -0.2000.
fn ticks(lo: f64, hi: f64) -> impl Fn(&f64) -> String {
    let span = (hi - lo).abs();
    let decimals = if span > 0.0 { (2 - span.log10().floor() as i32).max(0) as usize } else { 3 };
    move |v: &f64| {
        let v = if v.abs() < span * 1e-9 { 0.0 } else { *v };
        if v.abs() >= 1e6 || (v != 0.0 && decimals > 8) {
            format!("{v:.2e}")
        } else {
            format!("{v:.decimals$}")
        }
    }
}

/// Three significant digits, trailing zeros dropped (log-axis ticks: 0.002, 0.0015).
fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return v.to_string();
    }
    let decimals = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

fn date(ms: f64) -> String {
    chrono::DateTime::from_timestamp_millis(ms as i64)
        .map_or_else(String::new, |d| d.format("%Y-%m-%d").to_string())
}

fn colour(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    COLOURS[i % COLOURS.len()]
}

/// A labelled line of `points` in `colour`, two pixels wide, with its legend entry.
fn line<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    points: impl IntoIterator<Item = (f64, f64)>,
    colour: RGBColor,
    label: impl Into<String>,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = colour.stroke_width(2);
    chart
        .draw_series(LineSeries::new(points, style))
        .map_err(failed)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
    Ok(())
}

/// Draws the legend of `chart`'s labelled series at `position`.
fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    position: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged,
    Y: Ranged,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()
        .map_err(failed)
}

/// Buy-and-hold from `curve`'s starting equity: all in at the first price, or, for a
/// portfolio (whose summed curve has no price), an equal share in each pair of `pairs`.
fn buy_and_hold(
    curve: &[crate::Bar],
    pairs: Option<&BTreeMap<String, Vec<crate::Bar>>>,
) -> Vec<(f64, f64)> {
    let start = curve[0];
    if start.price.is_finite() {
        return curve
            .iter()
            .map(|b| (b.timestamp_ms as f64, start.equity * b.price / start.price))
            .collect();
    }
    let legs: Vec<&Vec<crate::Bar>> =
        pairs.map(|p| p.values().filter(|l| l.len() == curve.len()).collect()).unwrap_or_default();
    if legs.is_empty() {
        return Vec::new();
    }
    let share = start.equity / legs.len() as f64;
    (0..curve.len())
        .map(|i| {
            let value: f64 = legs.iter().map(|l| share * l[i].price / l[0].price).sum();
            (curve[i].timestamp_ms as f64, value)
        })
        .collect()
}

/// Y-axis labels of a count: whole numbers only.
fn whole(y: &f64) -> String {
    if (y - y.round()).abs() < 1e-9 { format!("{y:.0}") } else { String::new() }
}

/// The equity of `best` trials against buy-and-hold of the first one's prices (the same
/// starting equity, all in at the first bar's price; for a portfolio, split equally over its
/// pairs).
pub fn equity(sweep: &Sweep, best: &[&Trial]) -> Option<Drawn> {
    let curves: Vec<(&Trial, &Vec<crate::Bar>)> = best
        .iter()
        .filter_map(|t| sweep.equity.get(&t.id).filter(|c| c.len() >= 2).map(|c| (*t, c)))
        .collect();
    let (trial, first) = curves.first()?;
    let hold = buy_and_hold(first, sweep.pair_equity.get(&trial.id));
    let xs = curves.iter().flat_map(|(_, c)| c.iter().map(|b| b.timestamp_ms as f64));
    let (x0, x1) = padded(xs)?;
    let ys =
        curves.iter().flat_map(|(_, c)| c.iter().map(|b| b.equity)).chain(hold.iter().map(|p| p.1));
    let (y0, y1) = padded(ys)?;
    Some(svg(WIDE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Equity of the best trials against buy-and-hold", (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(72)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| date(*x))
            .y_label_formatter(&ticks(y0, y1))
            .y_desc("equity")
            .draw()
            .map_err(failed)?;
        line(&mut chart, hold.iter().copied(), BLACK, "buy and hold")?;
        for (i, (t, curve)) in curves.iter().enumerate() {
            let points = curve.iter().map(|b| (b.timestamp_ms as f64, b.equity));
            line(&mut chart, points, colour(i), format!("trial {}", t.id))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }))
}

/// Each complete trial's `metric` against parameter `p`: numbers on a linear axis (or a
/// log one when the sweep draws them log-uniformly, or they span over two decades and are
/// positive), anything else as categories.
pub fn parameter(sweep: &Sweep, p: usize, metric: &str, ranked: &[&Trial]) -> Option<Drawn> {
    let name = sweep.params.get(p)?;
    let points: Vec<(&Cell, f64)> =
        ranked.iter().map(|t| (&t.params[p], t.metrics[metric])).collect();
    let (y0, y1) = padded(points.iter().map(|p| p.1))?;
    let numeric: Option<Vec<(f64, f64)>> =
        points.iter().map(|(c, y)| c.as_f64().map(|x| (x, *y))).collect();
    let caption = format!("{metric} by {name}");
    Some(match numeric {
        Some(xy) => {
            let positive = xy.iter().all(|(x, _)| *x > 0.0);
            let (lo, hi) = xy
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (x, _)| (l.min(*x), h.max(*x)));
            let log = positive && (sweep.log_scale.contains(name) || hi / lo > 100.0);
            let xy: Vec<(f64, f64)> =
                xy.into_iter().map(|(x, y)| (if log { x.log10() } else { x }, y)).collect();
            let (x0, x1) = padded(xy.iter().map(|p| p.0))?;
            svg(SMALL, |root| {
                let mut chart = ChartBuilder::on(root)
                    .caption(&caption, (FONT, 16))
                    .margin(10)
                    .x_label_area_size(32)
                    .y_label_area_size(60)
                    .build_cartesian_2d(x0..x1, y0..y1)
                    .map_err(failed)?;
                let linear = ticks(x0, x1);
                let tick = |x: &f64| if log { number(10f64.powf(*x)) } else { linear(x) };
                chart
                    .configure_mesh()
                    .x_labels(5)
                    .x_label_formatter(&tick)
                    .y_label_formatter(&ticks(y0, y1))
                    .x_desc(if log { format!("{name} (log scale)") } else { name.clone() })
                    .y_desc(metric)
                    .draw()
                    .map_err(failed)?;
                chart
                    .draw_series(xy.iter().map(|p| Circle::new(*p, 4, colour(0).mix(0.7).filled())))
                    .map_err(failed)?;
                Ok(())
            })
        }
        None => {
            let mut labels: Vec<String> = points.iter().map(|(c, _)| c.to_string()).collect();
            labels.sort();
            labels.dedup();
            let at = |c: &Cell| labels.iter().position(|l| *l == c.to_string()).unwrap_or(0) as f64;
            let n = labels.len() as f64;
            svg(SMALL, |root| {
                let mut chart = ChartBuilder::on(root)
                    .caption(&caption, (FONT, 16))
                    .margin(10)
                    .x_label_area_size(32)
                    .y_label_area_size(60)
                    .build_cartesian_2d(-0.5..n - 0.5, y0..y1)
                    .map_err(failed)?;
                let tick = |x: &f64| {
                    let i = x.round();
                    if (x - i).abs() < 1e-9 && i >= 0.0 && i < n {
                        labels[i as usize].clone()
                    } else {
                        String::new()
                    }
                };
                chart
                    .configure_mesh()
                    .x_labels(labels.len() * 2 + 1)
                    .x_label_formatter(&tick)
                    .disable_x_mesh()
                    .y_label_formatter(&ticks(y0, y1))
                    .x_desc(name.as_str())
                    .y_desc(metric)
                    .draw()
                    .map_err(failed)?;
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|(c, y)| Circle::new((at(c), *y), 4, colour(0).mix(0.7).filled())),
                    )
                    .map_err(failed)?;
                Ok(())
            })
        }
    })
}

/// The distribution of `metric` over complete trials (20 bins at most), the best marked.
pub fn distribution(metric: &str, ranked: &[&Trial]) -> Option<Drawn> {
    let values: Vec<f64> = ranked.iter().map(|t| t.metrics[metric]).collect();
    let best = *values.first()?;
    let (lo, hi) = padded(values.iter().copied())?;
    let bins = values.len().clamp(1, 20);
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in &values {
        counts[(((v - lo) / width) as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1) as f64;
    Some(svg(SMALL, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("{metric} over {} complete trials", values.len()), (FONT, 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0.0..top * 1.1)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_labels(5)
            .x_label_formatter(&ticks(lo, hi))
            .y_labels((top as usize + 1).min(6))
            .y_label_formatter(&whole)
            .x_desc(metric)
            .y_desc("trials")
            .draw()
            .map_err(failed)?;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, c)| {
                let x = lo + i as f64 * width;
                Rectangle::new([(x, 0.0), (x + width, *c as f64)], colour(0).mix(0.6).filled())
            }))
            .map_err(failed)?;
        line(&mut chart, [(best, 0.0), (best, top * 1.1)], colour(3), "best")?;
        legend(&mut chart, SeriesLabelPosition::MiddleRight)
    }))
}

/// For a classifier (every target 0 or 1): the histogram of `trial`'s predicted probability
/// of "up" on the test span, one per true class — the Keras seed's buys and sells plots. A
/// model that separates the classes puts the ups (green) right of the downs (red). None for
/// regression targets or a trial without predictions.
pub fn class_histogram(sweep: &Sweep, trial: &Trial) -> Option<Drawn> {
    let rows = sweep.predictions.get(&trial.id)?;
    let binary = |v: f64| v == 0.0 || v == 1.0;
    if rows.is_empty() || !rows.iter().all(|r| binary(r.actual) && r.output == 0) {
        return None;
    }
    // The predictions' own range (with 0.5 in it), so that a model that hardly moves from
    // 0.5 still shows its shape.
    let values = rows.iter().map(|r| r.prediction).chain([0.5]);
    let (lo, hi) = padded(values)?;
    let (lo, hi) = (lo.max(0.0), hi.min(1.0));
    const BINS: usize = 20;
    let width = (hi - lo) / BINS as f64;
    let mut counts = [[0usize; BINS]; 2];
    for r in rows {
        let bin = (((r.prediction - lo) / width).max(0.0) as usize).min(BINS - 1);
        counts[usize::from(r.actual == 1.0)][bin] += 1;
    }
    let top = counts.iter().flatten().copied().max().unwrap_or(1) as f64;
    let (ups, downs) = (counts[1].iter().sum::<usize>(), counts[0].iter().sum::<usize>());
    Some(svg(SMALL, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(format!("trial {}: P(up) on the test span", trial.id), (FONT, 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(lo..hi, 0.0..top * 1.15)
            .map_err(failed)?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&ticks(lo, hi))
            .y_labels((top as usize + 1).min(6))
            .y_label_formatter(&whole)
            .x_desc("predicted probability of up")
            .y_desc("samples")
            .draw()
            .map_err(failed)?;
        let classes = [
            (1, RGBColor(44, 160, 44), format!("up ({ups})")),
            (0, RGBColor(214, 39, 40), format!("down ({downs})")),
        ];
        for (class, colour, label) in classes {
            chart
                .draw_series(counts[class].iter().enumerate().map(move |(i, c)| {
                    let x = lo + i as f64 * width;
                    Rectangle::new([(x, 0.0), (x + width, *c as f64)], colour.mix(0.45).filled())
                }))
                .map_err(failed)?
                .label(label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], colour.mix(0.45).filled())
                });
        }
        line(&mut chart, [(0.5, 0.0), (0.5, top * 1.15)], RGBColor(90, 90, 90), "0.5")?;
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    }))
}

/// Training (lines) and validation (dots) loss by epoch of `best` trials, on a log
/// axis when every loss is positive.
pub fn learning_curves(sweep: &Sweep, best: &[&Trial]) -> Option<Drawn> {
    let curves: Vec<(&Trial, &Vec<crate::Epoch>)> = best
        .iter()
        .filter_map(|t| sweep.epochs.get(&t.id).filter(|e| !e.is_empty()).map(|e| (*t, e)))
        .collect();
    let losses = || {
        curves
            .iter()
            .flat_map(|(_, e)| e.iter().flat_map(|e| [Some(e.train_loss), e.val_loss]).flatten())
    };
    let (y0, y1) = padded(losses())?;
    let last = curves.iter().flat_map(|(_, e)| e.iter().map(|e| e.epoch)).max()? as f64;
    let x_range = 0.0..last.max(1.0);
    if losses().all(|l| l > 0.0) {
        let (lo, hi) = losses().fold((f64::INFINITY, 0.0f64), |(lo, hi), l| (lo.min(l), hi.max(l)));
        let range = (lo / 1.1..hi * 1.1).log_scale();
        Some(svg(WIDE, |root| draw_curves(root, &curves, x_range, range, "loss (log scale)")))
    } else {
        Some(svg(WIDE, |root| draw_curves(root, &curves, x_range, y0..y1, "loss")))
    }
}

/// The learning-curve chart on any y coordinate (linear or logarithmic).
fn draw_curves<Y>(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
    curves: &[(&Trial, &Vec<crate::Epoch>)],
    x_range: std::ops::Range<f64>,
    y_range: Y,
    y_desc: &str,
) -> Result<(), String>
where
    Y: plotters::coord::ranged1d::AsRangedCoord<Value = f64>,
    Y::CoordDescType: plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let mut chart = ChartBuilder::on(root)
        .caption("Learning curves of the best trials", (FONT, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range, y_range)
        .map_err(failed)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .y_labels(8)
        .light_line_style(WHITE)
        .y_label_formatter(&|v| short(*v))
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()
        .map_err(failed)?;
    for (i, (t, epochs)) in curves.iter().enumerate() {
        let c = colour(i);
        let train = epochs.iter().map(|e| (e.epoch as f64, e.train_loss));
        line(&mut chart, train, c, format!("trial {} train", t.id))?;
        let val: Vec<(f64, f64)> =
            epochs.iter().filter_map(|e| e.val_loss.map(|v| (e.epoch as f64, v))).collect();
        if !val.is_empty() {
            // Every few epochs a dot, so that the validation curve reads apart from training.
            let every = (val.len() / 60).max(1);
            chart
                .draw_series(val.iter().step_by(every).map(|p| Circle::new(*p, 2, c.filled())))
                .map_err(failed)?
                .label(format!("trial {} validation", t.id))
                .legend(move |(x, y)| Circle::new((x + 9, y), 3, c.filled()));
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod portfolio_tests {
    use super::*;

    /// A portfolio's summed curve has no price: buy-and-hold splits its starting equity
    /// equally over the pairs' prices.
    #[test]
    fn buy_and_hold_of_a_portfolio_splits_over_its_pairs() {
        let bar = |t: i64, price: f64, equity: f64| crate::Bar { timestamp_ms: t, price, equity };
        let curve = vec![bar(0, f64::NAN, 100.0), bar(1, f64::NAN, 90.0)];
        let pairs = BTreeMap::from([
            ("A".to_owned(), vec![bar(0, 10.0, 50.0), bar(1, 20.0, 40.0)]),
            ("B".to_owned(), vec![bar(0, 4.0, 50.0), bar(1, 2.0, 50.0)]),
        ]);
        // 50 in A doubles, 50 in B halves.
        assert_eq!(buy_and_hold(&curve, Some(&pairs)), vec![(0.0, 100.0), (1.0, 125.0)]);
        let single = vec![bar(0, 10.0, 100.0), bar(1, 12.0, 90.0)];
        assert_eq!(buy_and_hold(&single, None), vec![(0.0, 100.0), (1.0, 120.0)]);
        assert!(buy_and_hold(&curve, None).is_empty());
    }
}
