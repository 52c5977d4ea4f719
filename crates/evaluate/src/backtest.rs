use quantsweep_core::{EquityPoint, Trade};
use serde::{Deserialize, Serialize};

use crate::EvaluateError;
use crate::strategy::{Decision, ProportionalOrders, Strategy};

/// One bar of prices the backtest trades on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Open time, ms since the epoch.
    pub timestamp_ms: i64,
    /// Opening price.
    pub open: f64,
    /// Closing price.
    pub close: f64,
}

/// At which price a decision taken at a bar's close is filled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// The next bar's open: the first price after the decision (default; no look-ahead).
    #[default]
    NextOpen,
    /// The same bar's close, as the seeds' backtests fill. Optimistic: documented, opt-in.
    Close,
}

impl Fill {
    /// The price and time at which a decision taken at `decided`'s close fills.
    fn at(self, decided: &Bar, next: &Bar) -> (f64, i64) {
        match self {
            Fill::NextOpen => (next.open, next.timestamp_ms),
            Fill::Close => (decided.close, decided.timestamp_ms),
        }
    }
}

/// The pipeline's `backtest:` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BacktestConfig {
    /// Starting cash. Default: 10000.
    #[serde(default = "default_cash")]
    pub initial_cash: f64,
    /// Fee per fill, in basis points of the traded value. Default: 10 (0.1%, Binance spot).
    #[serde(default = "default_fee_bps")]
    pub fee_bps: f64,
    /// Slippage per fill in basis points: buys fill that much above the price, sells below.
    /// Default: 0.
    #[serde(default)]
    pub slippage_bps: f64,
    /// Fill price. Default: `next_open`.
    #[serde(default)]
    pub fill: Fill,
    /// Order sizes are truncated toward zero to a multiple of this many units (Blankly: 0.01).
    /// Default: none.
    #[serde(default)]
    pub lot_size: Option<f64>,
    /// Orders worth less than this (in cash) are not placed, unless they close a position.
    /// Default: 0.
    #[serde(default)]
    pub min_order: f64,
    /// Periods per year for annualised metrics. Default: a 365-day year divided by the
    /// candles' timeframe (252 for a stock market's trading days, if the data is one).
    #[serde(default)]
    pub periods_per_year: Option<f64>,
}

fn default_cash() -> f64 {
    10_000.0
}
fn default_fee_bps() -> f64 {
    10.0
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            initial_cash: default_cash(),
            fee_bps: default_fee_bps(),
            slippage_bps: 0.0,
            fill: Fill::default(),
            lot_size: None,
            min_order: 0.0,
            periods_per_year: None,
        }
    }
}

impl BacktestConfig {
    /// Checks the values, naming the key at fault.
    pub fn validate(&self) -> Result<(), EvaluateError> {
        if !(self.initial_cash.is_finite() && self.initial_cash > 0.0) {
            return Err(EvaluateError::invalid("backtest.initial_cash", "must be positive"));
        }
        for (key, bps) in
            [("backtest.fee_bps", self.fee_bps), ("backtest.slippage_bps", self.slippage_bps)]
        {
            if !(0.0..10_000.0).contains(&bps) {
                let message = format!("must be in [0, 10000) basis points (under 100%), got {bps}");
                return Err(EvaluateError::invalid(key, &message));
            }
        }
        if let Some(lot) = self.lot_size
            && !(lot.is_finite() && lot > 0.0)
        {
            return Err(EvaluateError::invalid("backtest.lot_size", "must be a positive number"));
        }
        if !(self.min_order.is_finite() && self.min_order >= 0.0) {
            return Err(EvaluateError::invalid("backtest.min_order", "must be non-negative"));
        }
        if let Some(p) = self.periods_per_year
            && !(p.is_finite() && p > 0.0)
        {
            return Err(EvaluateError::invalid("backtest.periods_per_year", "must be positive"));
        }
        Ok(())
    }
}

/// A backtest's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Backtest {
    /// Cash, position and equity at each bar's close.
    pub equity: Vec<EquityPoint>,
    /// Round trips, in order; the last may still be open (`closed: false`).
    pub trades: Vec<Trade>,
    /// Number of fills.
    pub fills: usize,
    /// Total fees paid.
    pub fees: f64,
}

/// Where a position stands, as a strategy sees it after a bar closes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Cash.
    pub cash: f64,
    /// Units held: negative when short.
    pub units: f64,
    /// Cash plus units at the bar's close.
    pub equity: f64,
    /// Average entry price of the open trade.
    pub entry_price: Option<f64>,
    /// Bars since the open trade's first fill.
    pub bars_held: usize,
}

/// Trades `strategy` bar by bar. After bar `i` closes the strategy decides with what it knows
/// then (its prediction for bar `i` and the position); the order fills at bar `i + 1`'s open
/// (or at bar `i`'s close with `fill: close`), with slippage, fees and lot-size truncation,
/// never beyond the equity (no leverage: a long costs at most the cash, a short is at most the
/// equity's worth). The last bar's decision is never acted on.
pub fn backtest(
    bars: &[Bar],
    strategy: &mut dyn Strategy,
    cfg: &BacktestConfig,
) -> Result<Backtest, EvaluateError> {
    cfg.validate()?;
    if bars.len() < 2 {
        return Err(EvaluateError::EmptySpan(format!(
            "the backtest needs at least 2 bars, got {}",
            bars.len()
        )));
    }
    if let Some(bad) = bars.iter().find(|b| !(b.open > 0.0 && b.close > 0.0)) {
        return Err(EvaluateError::EmptySpan(format!(
            "the bar at {} ms has no positive price (open {}, close {})",
            bad.timestamp_ms, bad.open, bad.close
        )));
    }
    if let Some(orders) = strategy.proportional() {
        return Ok(backtest_proportional(bars, orders, cfg));
    }
    let mut book = Book::new(cfg);
    let mut equity = Vec::with_capacity(bars.len());
    equity.push(book.mark(&bars[0]));
    for i in 1..bars.len() {
        let position = book.position(bars[i - 1].close);
        let decision = strategy.decide(i - 1, &bars[i - 1], &position);
        let (price, at) = cfg.fill.at(&bars[i - 1], &bars[i]);
        if let Some(decision) = decision {
            book.execute(decision, price, at);
        }
        book.bars_held += usize::from(book.holding.units != 0.0);
        equity.push(book.mark(&bars[i]));
    }
    Ok(book.finish(equity, bars))
}

/// [`backtest`] for Blankly's sizing ([`ProportionalOrders`]), which orders on nearly every
/// bar, each order sized by the cash the previous one left: the cash and units from bar to
/// bar are chains of dependent operations, and their length bounds the speed. The general
/// loop's chain (target position, both leverage bounds, delta, fee, flow, the dust test) is
/// about fifteen operations; here, the position being long or flat, the order is
/// `cash · min(b, what a unit of cash buys)` units bought or `units · s` sold, with `b` and `s`
/// from the bar alone, and the cash after it two multiplications and two additions away.
/// Buying and selling are both worked out, one of them zero, rather than branched on (a
/// prediction's side is a coin toss to a branch predictor), and nothing is tested on the
/// units (see `sell`). Lot sizes, minimum orders, slippage, fees and round trips as in the
/// general loop; the numbers agree with it to rounding (a test compares them).
fn backtest_proportional(
    bars: &[Bar],
    orders: ProportionalOrders,
    cfg: &BacktestConfig,
) -> Backtest {
    let fee = cfg.fee_bps / 10_000.0;
    let slip = cfg.slippage_bps / 10_000.0;
    let mut book = Book::new(cfg);
    let mut equity = Vec::with_capacity(bars.len());
    equity.push(book.mark(&bars[0]));
    // The account and the round trip in progress, as locals; `book` gets them back at the
    // end.
    let (mut cash, mut units, mut fees, mut fills) = (book.cash, book.holding.units, 0.0, 0);
    // The round trip's units and value in and out, its start, its last fill, and the fees
    // paid before it (its own are what was paid since).
    let mut trip = [0.0; 4];
    let (mut open, mut entry_ms, mut last_ms, mut fees_before) = (false, 0, 0, 0.0);
    let trade = |trip: [f64; 4], entry_ms, exit_ms, fees: f64| OpenTrade {
        entry_ms,
        exit_ms,
        long: true,
        entered_units: trip[0],
        entered_value: trip[1],
        exited_units: trip[2],
        exited_value: trip[3],
        fees,
        cash_flow: trip[3] - trip[1] - fees,
    };
    for i in 1..bars.len() {
        let (decided, next) = (&bars[i - 1], &bars[i]);
        let (price, at) = cfg.fill.at(decided, next);
        if let Some(&p) = orders.values.get(i - 1)
            && p.is_finite()
        {
            let (buy_price, sell_price) = (price * (1.0 + slip), price * (1.0 - slip));
            // Units per unit of cash, at most what a unit of cash buys: tested with a product,
            // and divided only when it binds (a second division a bar is slow).
            let cost = buy_price * (1.0 + fee);
            let mut buy = (orders.scale * (p - 1.0) / decided.close).max(0.0);
            if buy * cost > 1.0 {
                buy = 1.0 / cost;
            }
            // Selling all but a billionth is selling all: the position then ends at exactly
            // zero, with no rounding dust to test for (the general loop's test on the units,
            // compiled to a select on their chain from bar to bar, cost a quarter of this
            // loop's speed).
            let sell = (orders.scale * (1.0 - p)).clamp(0.0, 1.0);
            let sell = if sell > 1.0 - 1e-9 { 1.0 } else { sell };
            let mut bought = cash.max(0.0) * buy;
            let mut sold = units * sell;
            // Selling everything closes the trade, whatever the lot size and minimum order.
            let closes = sell == 1.0;
            if let Some(lot) = cfg.lot_size
                && !closes
            {
                bought = (bought / lot).trunc() * lot;
                sold = (sold / lot).trunc() * lot;
            }
            let delta = bought - sold;
            let placed = delta != 0.0
                && delta.is_finite()
                && (closes || delta.abs() * price >= cfg.min_order);
            if placed {
                let after_sale = cash + sold * (sell_price * (1.0 - fee));
                cash = after_sale - bought * (buy_price * (1.0 + fee));
                units = units - sold + bought;
                if !open {
                    (open, entry_ms, fees_before, trip) = (true, at, fees, [0.0; 4]);
                }
                let (spent, received) = (bought * buy_price, sold * sell_price);
                fees += (spent + received) * fee;
                fills += 1;
                trip = [trip[0] + bought, trip[1] + spent, trip[2] + sold, trip[3] + received];
                last_ms = at;
                if units == 0.0 {
                    book.holding
                        .trades
                        .push(trade(trip, entry_ms, at, fees - fees_before).closed());
                    open = false;
                }
            }
        }
        equity.push(EquityPoint {
            timestamp_ms: next.timestamp_ms,
            price: next.close,
            position: units,
            cash,
            equity: cash + units * next.close,
            fold: None,
            pair: None,
        });
    }
    (book.cash, book.holding.units, book.fees, book.fills) = (cash, units, fees, fills);
    book.holding.open = open.then(|| trade(trip, entry_ms, last_ms, fees - fees_before));
    book.finish(equity, bars)
}

/// One pair of a portfolio: its bars (on the portfolio's common time index) and strategy.
pub struct Leg<'a> {
    /// The pair's name (`BTC/USDT`), for errors and tables.
    pub pair: String,
    /// Its bars.
    pub bars: &'a [Bar],
    /// Its strategy, acting on its own predictions.
    pub strategy: Box<dyn Strategy>,
}

/// A portfolio backtest: the summed curve and each pair's own.
#[derive(Debug, Clone, PartialEq)]
pub struct Portfolio {
    /// Cash and equity summed over the pairs at each bar; `position` is the gross value held
    /// (Σ |units · close|) and `price` NaN, as there is no single asset.
    pub equity: Vec<EquityPoint>,
    /// Each pair's backtest, with its share of the cash; its equity points and trades carry
    /// the pair's name.
    pub legs: Vec<(String, Backtest)>,
}

/// Trades several pairs side by side with equal allocation: each gets `initial_cash / n`
/// and runs its own strategy; the portfolio's curve is their sum. The pairs' bars must share
/// one time index (load them aligned).
pub fn backtest_portfolio(
    legs: Vec<Leg>,
    cfg: &BacktestConfig,
) -> Result<Portfolio, EvaluateError> {
    cfg.validate()?;
    let Some(first) = legs.first() else {
        return Err(EvaluateError::invalid("data.pairs", "a portfolio needs at least one pair"));
    };
    let index: Vec<i64> = first.bars.iter().map(|b| b.timestamp_ms).collect();
    for leg in &legs {
        if leg.bars.is_empty() {
            let message = format!("pair `{}` has no prices in the backtest span", leg.pair);
            return Err(EvaluateError::invalid("data.pairs", &message));
        }
        if leg.bars.len() != index.len()
            || leg.bars.iter().zip(&index).any(|(b, t)| b.timestamp_ms != *t)
        {
            let message = format!(
                "pair `{}`'s {} bars do not line up with pair `{}`'s {}: load the pairs aligned",
                leg.pair,
                leg.bars.len(),
                first.pair,
                index.len()
            );
            return Err(EvaluateError::invalid("data.pairs", &message));
        }
    }
    let share =
        BacktestConfig { initial_cash: cfg.initial_cash / legs.len() as f64, ..cfg.clone() };
    let mut runs = Vec::with_capacity(legs.len());
    for mut leg in legs {
        let run = backtest(leg.bars, leg.strategy.as_mut(), &share)?;
        runs.push((leg.pair, run));
    }
    let equity = (0..index.len())
        .map(|i| {
            let points = runs.iter().map(|(_, r)| &r.equity[i]);
            let (mut cash, mut equity, mut gross) = (0.0, 0.0, 0.0);
            for p in points {
                cash += p.cash;
                equity += p.equity;
                gross += (p.position * p.price).abs();
            }
            EquityPoint {
                timestamp_ms: index[i],
                price: f64::NAN,
                position: gross,
                cash,
                equity,
                fold: None,
                pair: None,
            }
        })
        .collect();
    // Each pair's own curve and trades say which pair they are.
    for (pair, run) in &mut runs {
        for p in &mut run.equity {
            p.pair = Some(pair.clone());
        }
        for t in &mut run.trades {
            t.pair = Some(pair.clone());
        }
    }
    Ok(Portfolio { equity, legs: runs })
}

/// The account: cash, units, fills, and the round trip in progress.
struct Book<'a> {
    cfg: &'a BacktestConfig,
    cash: f64,
    fills: usize,
    fees: f64,
    bars_held: usize,
    holding: Holding,
}

/// A round trip in progress.
pub(crate) struct OpenTrade {
    entry_ms: i64,
    exit_ms: i64,
    long: bool,
    entered_units: f64,
    entered_value: f64,
    exited_units: f64,
    exited_value: f64,
    fees: f64,
    /// Cash in minus cash out so far, fees included.
    cash_flow: f64,
}

impl OpenTrade {
    fn new(at: i64, long: bool) -> Self {
        OpenTrade {
            entry_ms: at,
            exit_ms: at,
            long,
            entered_units: 0.0,
            entered_value: 0.0,
            exited_units: 0.0,
            exited_value: 0.0,
            fees: 0.0,
            cash_flow: 0.0,
        }
    }

    fn entry_price(&self) -> f64 {
        self.entered_value / self.entered_units
    }

    fn closed(self) -> Trade {
        Trade {
            entry_ms: self.entry_ms,
            exit_ms: self.exit_ms,
            side: if self.long { "long" } else { "short" }.into(),
            size: self.entered_units,
            entry_price: self.entry_price(),
            exit_price: self.exited_value / self.exited_units,
            fees: self.fees,
            pnl: self.cash_flow,
            closed: true,
            pair: None,
        }
    }

    /// Still open at the end: the remaining `units` valued at the last close.
    fn marked(mut self, close: f64, at: i64, units: f64) -> Trade {
        self.exited_value += units.abs() * close;
        self.exited_units += units.abs();
        self.cash_flow += units * close;
        self.exit_ms = at;
        Trade { closed: false, ..self.closed() }
    }
}

impl<'a> Book<'a> {
    fn new(cfg: &'a BacktestConfig) -> Self {
        Book {
            cfg,
            cash: cfg.initial_cash,
            fills: 0,
            fees: 0.0,
            bars_held: 0,
            holding: Holding::default(),
        }
    }

    fn mark(&self, bar: &Bar) -> EquityPoint {
        EquityPoint {
            timestamp_ms: bar.timestamp_ms,
            price: bar.close,
            position: self.holding.units,
            cash: self.cash,
            equity: self.cash + self.holding.units * bar.close,
            fold: None,
            pair: None,
        }
    }

    fn position(&self, close: f64) -> Position {
        Position {
            cash: self.cash,
            units: self.holding.units,
            equity: self.cash + self.holding.units * close,
            entry_price: self.holding.open.as_ref().map(OpenTrade::entry_price),
            bars_held: self.bars_held,
        }
    }

    /// Fills `decision` at `price` (before slippage) at time `at`.
    fn execute(&mut self, decision: Decision, price: f64, at: i64) {
        let fee = self.cfg.fee_bps / 10_000.0;
        let slip = self.cfg.slippage_bps / 10_000.0;
        let (buy_price, sell_price) = (price * (1.0 + slip), price * (1.0 - slip));
        let equity = self.cash + self.holding.units * price;
        // No leverage: the largest long the cash buys, the largest short the equity covers
        // (each worked out only when the order goes that way).
        // Units per unit of cash, worked out apart from the cash: the divisions stay off the
        // bar-to-bar chain of cash updates, which bounds the speed of a backtest.
        let (per_cash_long, per_cash_short) =
            (1.0 / (buy_price * (1.0 + fee)), 1.0 / (sell_price * (1.0 + fee)));
        let max_long = || {
            let budget = if self.holding.units >= 0.0 { self.cash } else { equity };
            self.holding.units.max(0.0) + budget.max(0.0) * per_cash_long
        };
        let max_short = || equity.max(0.0) * per_cash_short;
        let target = match decision {
            Decision::Fraction(f) if f >= 0.0 => f.min(1.0) * max_long(),
            Decision::Fraction(f) => f.max(-1.0) * max_short(),
            // Both bounds, without a branch on the order's side.
            Decision::Units(u) => u.min(max_long()).max(-max_short()),
        };
        let mut delta = target - self.holding.units;
        let closes = target == 0.0;
        if let Some(lot) = self.cfg.lot_size
            && !closes
        {
            delta = (delta / lot).trunc() * lot;
        }
        let value = delta.abs() * price;
        if delta == 0.0 || !delta.is_finite() || (value < self.cfg.min_order && !closes) {
            return;
        }
        self.fill(delta, if delta > 0.0 { buy_price } else { sell_price }, fee, at);
    }

    /// The backtest's outcome: the trade still open at the end marked at the last close.
    fn finish(self, equity: Vec<EquityPoint>, bars: &[Bar]) -> Backtest {
        let last = bars[bars.len() - 1];
        let trades = self.holding.finish(last.close, last.timestamp_ms);
        Backtest { equity, trades, fills: self.fills, fees: self.fees }
    }

    /// Applies a fill of `delta` units at `price` (see [`Holding::fill`]).
    fn fill(&mut self, delta: f64, price: f64, fee_rate: f64, at: i64) {
        if self.holding.fill(delta, price, fee_rate, at, &mut self.cash, &mut self.fees) {
            self.bars_held = 0;
        }
        self.fills += 1;
    }
}

/// One asset's units and its round trips: the open one and those done.
#[derive(Default)]
pub(crate) struct Holding {
    pub(crate) units: f64,
    pub(crate) open: Option<OpenTrade>,
    pub(crate) trades: Vec<Trade>,
}

impl Holding {
    /// Applies a fill of `delta` units at `price` at time `at`, paying `fee_rate` of its value
    /// from `cash` (and adding it to `fees`), splitting it at a reversal so that each round
    /// trip gets its share of the fill and its fee. True when it opened a position from flat.
    pub(crate) fn fill(
        &mut self,
        delta: f64,
        price: f64,
        fee_rate: f64,
        at: i64,
        cash: &mut f64,
        fees: &mut f64,
    ) -> bool {
        let crosses = self.units != 0.0
            && (self.units + delta).signum() != self.units.signum()
            && self.units + delta != 0.0;
        let parts = if crosses { [-self.units, self.units + delta] } else { [delta, 0.0] };
        let mut opened = false;
        for part in parts.into_iter().filter(|p| *p != 0.0) {
            let fee = part.abs() * price * fee_rate;
            let flow = -part * price - fee;
            *cash += flow;
            *fees += fee;
            let before = self.units;
            self.units += part;
            if self.units.abs() < 1e-12 * part.abs().max(1.0) {
                self.units = 0.0;
            }
            if before == 0.0 {
                opened = true;
                self.open = Some(OpenTrade::new(at, part > 0.0));
            }
            if let Some(trade) = self.open.as_mut() {
                let adds = (part > 0.0) == trade.long;
                if adds {
                    trade.entered_units += part.abs();
                    trade.entered_value += part.abs() * price;
                } else {
                    trade.exited_units += part.abs();
                    trade.exited_value += part.abs() * price;
                }
                trade.fees += fee;
                trade.cash_flow += flow;
                trade.exit_ms = at;
            }
            if self.units == 0.0
                && let Some(trade) = self.open.take()
            {
                self.trades.push(trade.closed());
            }
        }
        opened
    }

    /// Its trades, the one still open marked at `close` at time `at`.
    pub(crate) fn finish(mut self, close: f64, at: i64) -> Vec<Trade> {
        if let Some(open) = self.open.take() {
            self.trades.push(open.marked(close, at, self.units));
        }
        self.trades
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::{Fixed, StrategyConfig};

    fn bars(closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar {
                timestamp_ms: i as i64,
                open: if i == 0 { c } else { closes[i - 1] },
                close: c,
            })
            .collect()
    }

    /// Bars that open at their close: fills at the next open happen at the previous close.
    fn flat_bars(closes: &[f64]) -> Vec<Bar> {
        closes
            .iter()
            .enumerate()
            .map(|(i, &c)| Bar { timestamp_ms: i as i64, open: c, close: c })
            .collect()
    }

    fn no_fees() -> BacktestConfig {
        BacktestConfig { fee_bps: 0.0, ..BacktestConfig::default() }
    }

    fn long_flat(signals: &[bool]) -> Fixed {
        Fixed(signals.iter().map(|&s| Some(Decision::Fraction(f64::from(u8::from(s))))).collect())
    }

    #[test]
    fn always_long_without_fees_is_buy_and_hold() {
        let b = bars(&[100.0, 110.0, 99.0, 120.0]);
        let mut s = StrategyConfig::BuyAndHold.strategy(&[0.0; 4]).expect("strategy");
        let r = backtest(&b, s.as_mut(), &no_fees()).expect("valid backtest");
        let last = r.equity.last().expect("bars");
        assert!((last.equity - 12_000.0).abs() < 1e-9);
        assert_eq!(r.fills, 1);
        assert_eq!(r.trades.len(), 1);
        assert!(!r.trades[0].closed && (r.trades[0].pnl - 2_000.0).abs() < 1e-9);
    }

    #[test]
    fn decisions_fill_at_the_next_open_not_the_past() {
        // The signal after bar 0 fills at bar 1's open (=100, bar 0's close here): the gain
        // of bar 1 is earned, the move inside bar 0 is not.
        let b = vec![
            Bar { timestamp_ms: 0, open: 50.0, close: 100.0 },
            Bar { timestamp_ms: 1, open: 100.0, close: 150.0 },
        ];
        let r = backtest(&b, &mut long_flat(&[true, false]), &no_fees()).expect("valid");
        assert!((r.equity[1].equity - 15_000.0).abs() < 1e-9);
    }

    #[test]
    fn fees_and_slippage_are_charged_on_each_fill() {
        let b = bars(&[100.0, 100.0, 100.0]);
        let cfg = BacktestConfig { fee_bps: 100.0, ..BacktestConfig::default() };
        let r = backtest(&b, &mut long_flat(&[true, false, false]), &cfg).expect("valid");
        assert_eq!(r.fills, 2);
        let end = r.equity.last().expect("bars").equity;
        assert!((end - 10_000.0 / 1.01 * 0.99).abs() < 1e-6, "{end}");
        let t = &r.trades[0];
        assert!(
            t.closed && (t.pnl - (end - 10_000.0)).abs() < 1e-6 && (t.fees - r.fees).abs() < 1e-9
        );

        let slip = BacktestConfig { fee_bps: 0.0, slippage_bps: 50.0, ..BacktestConfig::default() };
        let r = backtest(&b, &mut long_flat(&[true, false, false]), &slip).expect("valid");
        let t = &r.trades[0];
        assert!((t.entry_price - 100.5).abs() < 1e-9 && (t.exit_price - 99.5).abs() < 1e-9);
    }

    /// A long, a reversal to short in one order, and back to flat: two round trips whose
    /// profits add up to the equity's change; the short gains when the price falls.
    #[test]
    fn shorts_and_reversals_split_into_round_trips() {
        let b = flat_bars(&[100.0, 100.0, 110.0, 88.0, 88.0]);
        let mut s = Fixed(vec![
            Some(Decision::Fraction(1.0)),
            Some(Decision::Fraction(-1.0)),
            Some(Decision::Fraction(0.0)),
            None,
            None,
        ]);
        let r = backtest(&b, &mut s, &no_fees()).expect("valid");
        assert_eq!(r.trades.len(), 2);
        let (long, short) = (&r.trades[0], &r.trades[1]);
        assert_eq!((long.side.as_str(), short.side.as_str()), ("long", "short"));
        assert!((long.pnl - 1_000.0).abs() < 1e-6, "{}", long.pnl);
        // 11,000 of equity shorted at 110 (100 units), covered at 88.
        assert!((short.pnl - 2_200.0).abs() < 1e-6, "{}", short.pnl);
        let end = r.equity.last().expect("bars").equity;
        assert!((end - 13_200.0).abs() < 1e-6);
        assert_eq!(r.equity[2].position, -100.0);
    }

    /// Lot sizes truncate toward zero, orders below the minimum are skipped, and no order
    /// buys more than the cash.
    #[test]
    fn lots_minimums_and_no_leverage() {
        let b = bars(&[3.0, 3.0, 3.0, 3.0]);
        let cfg = BacktestConfig { lot_size: Some(0.01), min_order: 3.0, ..no_fees() };
        let mut s = Fixed(vec![
            Some(Decision::Units(1.234_567)),
            Some(Decision::Units(1.235)),
            Some(Decision::Units(1e9)),
            None,
        ]);
        let r = backtest(&b, &mut s, &cfg).expect("valid");
        assert!((r.equity[1].position - 1.23).abs() < 1e-12);
        // 0.005 more is below a lot; then as much as the cash buys, in whole lots.
        assert!((r.equity[2].position - 1.23).abs() < 1e-12);
        assert!((r.equity[3].position - 3333.33).abs() < 1e-6, "{}", r.equity[3].position);
        assert!(r.equity.iter().all(|p| p.cash >= -1e-9));
        // An order worth less than the minimum is skipped.
        let small = BacktestConfig { min_order: 5.0, ..cfg };
        let r =
            backtest(&b, &mut Fixed(vec![Some(Decision::Units(1.0)), None, None, None]), &small)
                .expect("valid");
        assert_eq!(r.fills, 0);
    }

    /// Equal allocation: each pair trades half the cash; the portfolio is their sum. Pairs
    /// off the common time index, or without prices, are refused by name.
    #[test]
    fn portfolios_split_the_cash_and_sum_the_pairs() {
        let (a, b) = (bars(&[100.0, 110.0, 121.0]), bars(&[50.0, 45.0, 40.0]));
        let leg = |pair: &str, bars, signals: &[bool]| Leg {
            pair: pair.into(),
            bars,
            strategy: Box::new(long_flat(signals)),
        };
        let p = backtest_portfolio(
            vec![leg("A", &a, &[true, true, true]), leg("B", &b, &[true, true, true])],
            &no_fees(),
        )
        .expect("valid");
        let half = BacktestConfig { initial_cash: 5_000.0, ..no_fees() };
        let mut alone = backtest(&a, &mut long_flat(&[true, true, true]), &half).expect("valid");
        // The same run as alone, its points and trades tagged with the pair.
        alone.equity.iter_mut().for_each(|e| e.pair = Some("A".into()));
        alone.trades.iter_mut().for_each(|t| t.pair = Some("A".into()));
        assert!(!alone.trades.is_empty());
        assert_eq!(p.legs[0].1, alone);
        assert!(p.equity.iter().all(|e| e.pair.is_none() && e.price.is_nan()));
        let end = p.equity.last().expect("bars");
        let sum: f64 = p.legs.iter().map(|(_, r)| r.equity.last().expect("bars").equity).sum();
        assert!((end.equity - sum).abs() < 1e-9 && end.position > 0.0);

        let mut shifted = b.clone();
        shifted[1].timestamp_ms += 1;
        let err = backtest_portfolio(
            vec![leg("A", &a, &[true; 3]), leg("B", &shifted, &[true; 3])],
            &no_fees(),
        )
        .expect_err("misaligned");
        assert!(err.to_string().starts_with("data.pairs: pair `B`"), "{err}");
        let err =
            backtest_portfolio(vec![leg("A", &a, &[true; 3]), leg("C", &[], &[])], &no_fees())
                .expect_err("no prices");
        assert!(err.to_string().contains("pair `C` has no prices"), "{err}");
    }

    /// A strategy with its `proportional()` hidden: the backtest takes the general loop.
    struct General(Box<dyn Strategy>);

    impl Strategy for General {
        fn decide(&mut self, i: usize, bar: &Bar, position: &Position) -> Option<Decision> {
            self.0.decide(i, bar, position)
        }
    }

    fn close_enough(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    /// Runs Blankly's sizing through both loops and requires the same fills and trades, and
    /// the same curve to rounding.
    fn both_loops_agree(b: &[Bar], values: &[f64], scale: f64, cfg: &BacktestConfig) {
        let config = StrategyConfig::BlanklyProportional { scale, average: false };
        let mut fast = config.strategy(values).expect("strategy");
        assert!(fast.proportional().is_some());
        let mut general = General(config.strategy(values).expect("strategy"));
        let f = backtest(b, fast.as_mut(), cfg).expect("backtest");
        let g = backtest(b, &mut general, cfg).expect("backtest");
        assert_eq!(f.fills, g.fills, "{cfg:?}");
        assert!(close_enough(f.fees, g.fees), "{} {}", f.fees, g.fees);
        for (x, y) in f.equity.iter().zip(&g.equity) {
            assert_eq!(x.timestamp_ms, y.timestamp_ms);
            for (a, b) in [(x.cash, y.cash), (x.position, y.position), (x.equity, y.equity)] {
                assert!(close_enough(a, b), "{x:?} {y:?} {cfg:?}");
            }
        }
        assert_eq!(f.trades.len(), g.trades.len());
        for (x, y) in f.trades.iter().zip(&g.trades) {
            assert_eq!(
                (x.entry_ms, x.exit_ms, &x.side, x.closed),
                (y.entry_ms, y.exit_ms, &y.side, y.closed)
            );
            for (a, b) in
                [(x.size, y.size), (x.entry_price, y.entry_price), (x.pnl, y.pnl), (x.fees, y.fees)]
            {
                assert!(close_enough(a, b), "{x:?} {y:?}");
            }
        }
    }

    proptest::proptest! {
        /// Blankly's own loop gives what the general loop gives for the same orders: with fees,
        /// slippage, both fill prices, lot sizes, minimum orders, predictions that sell
        /// everything, and missing (NaN) ones.
        #[test]
        fn the_proportional_loop_agrees_with_the_general_one(
            moves in proptest::collection::vec(-0.03..0.03f64, 2..80),
            values in proptest::collection::vec(
                proptest::prop_oneof![8 => 0.85..1.15f64, 1 => proptest::strategy::Just(0.3), 1 => proptest::strategy::Just(f64::NAN)],
                0..80,
            ),
            scale in 0.5..2.0f64,
            fee_bps in 0.0..50.0f64,
            slippage_bps in 0.0..20.0f64,
            close_fill in proptest::bool::ANY,
            lot in proptest::sample::select(vec![None, Some(0.01), Some(0.5)]),
            min_order in proptest::sample::select(vec![0.0, 25.0]),
        ) {
            let mut close = 100.0f64;
            let b: Vec<Bar> = moves
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let open = close * (1.0 + m / 3.0);
                    close *= 1.0 + m;
                    Bar { timestamp_ms: i as i64, open, close }
                })
                .collect();
            let cfg = BacktestConfig {
                fee_bps,
                slippage_bps,
                fill: if close_fill { Fill::Close } else { Fill::NextOpen },
                lot_size: lot,
                min_order,
                ..BacktestConfig::default()
            };
            both_loops_agree(&b, &values, scale, &cfg);
        }
    }

    /// All in (the cash bound binds) and all out, through Blankly's loop.
    #[test]
    fn the_proportional_loop_buys_what_the_cash_pays_for() {
        let b = flat_bars(&[100.0, 100.0, 100.0, 100.0]);
        let cfg = BacktestConfig { fee_bps: 10.0, ..BacktestConfig::default() };
        let mut s = StrategyConfig::BlanklyProportional { scale: 2.0, average: false }
            .strategy(&[3.0, 1.0, 0.2, 1.0])
            .expect("strategy");
        let r = backtest(&b, s.as_mut(), &cfg).expect("backtest");
        // 10,000 buys 10,000 / (100 · 1.001) units, fee included; then everything is sold.
        let units = 10_000.0 / 100.1;
        assert!((r.equity[1].position - units).abs() < 1e-9, "{:?}", r.equity[1]);
        assert!(r.equity[1].cash.abs() < 1e-9);
        assert_eq!(r.equity[3].position, 0.0);
        assert!((r.equity[3].cash - units * 100.0 * 0.999).abs() < 1e-9);
        assert_eq!((r.fills, r.trades.len()), (2, 1));
        assert!(r.trades[0].closed);
    }

    #[test]
    fn bad_values_name_the_key() {
        for (cfg, key) in [
            (BacktestConfig { fee_bps: 10_000.0, ..BacktestConfig::default() }, "backtest.fee_bps"),
            (
                BacktestConfig { slippage_bps: -1.0, ..BacktestConfig::default() },
                "backtest.slippage_bps",
            ),
            (
                BacktestConfig { lot_size: Some(0.0), ..BacktestConfig::default() },
                "backtest.lot_size",
            ),
        ] {
            let err = backtest(&bars(&[1.0, 2.0]), &mut long_flat(&[true, true]), &cfg)
                .expect_err("invalid");
            assert!(err.to_string().starts_with(key), "{err}");
        }
    }
}
