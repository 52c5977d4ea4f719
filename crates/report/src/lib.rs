//! A sweep's results read back from its Parquet tables: the top trials as a terminal table
//! ([`table`]) and a self-contained HTML page ([`html`]) whose plots are SVG drawn by
//! plotters — the best trials' equity against buy-and-hold, each parameter against the
//! metric, the metric's distribution over the trials, learning curves, and for classifiers
//! the predictions' histograms per true class — with the deflated
//! Sharpe ratio and the probability of backtest overfitting at the top.
//!
//! The crate reads bytes, not paths: `quantsweep report` fetches them from a folder or an
//! object store.
//!
//! ```no_run
//! use quantsweep_report::{Sweep, TableBytes, html, table};
//! let read = |name: &str| std::fs::read(format!("results/quickstart/{name}")).ok();
//! let trials = read("trials.parquet").expect("a sweep's trials");
//! let sweep = Sweep::from_tables(TableBytes {
//!     trials,
//!     epochs: read("epochs.parquet"),
//!     equity: read("equity.parquet"),
//!     predictions: read("predictions.parquet"),
//!     summary: read("summary.json"),
//! })?;
//! print!("{}", table(&sweep, 10));
//! std::fs::write("report.html", html(&sweep, "quickstart", 20))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod page;
mod plots;
mod tables;
mod text;

pub use page::html;
pub use tables::{Bar, Cell, Epoch, Predicted, Sweep, TableBytes, Trial};
pub use text::{luck_line, table};

/// What can go wrong reading a sweep's tables.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A table is unreadable or lacks a column quantsweep writes.
    #[error("{name}: {message}")]
    Table {
        /// The file, e.g. `trials.parquet`.
        name: String,
        /// What is wrong with it.
        message: String,
    },
}

/// A number with four significant digits, without exponent where that stays short.
pub(crate) fn number(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.fract() == 0.0 && (10.0..1e9).contains(&x.abs()) {
        return format!("{x:.0}");
    }
    let magnitude = if x == 0.0 { 0 } else { x.abs().log10().floor() as i32 };
    if (-4..6).contains(&magnitude) {
        let decimals = (3 - magnitude).max(0) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_keep_four_significant_digits() {
        assert_eq!(number(1.23456), "1.235");
        assert_eq!(number(-0.0123456), "-0.01235");
        assert_eq!(number(12345.6), "12346");
        assert_eq!(number(0.0), "0.000");
        assert_eq!(number(1.0), "1.000");
        assert_eq!(number(70.0), "70");
        assert_eq!(number(1.5e-7), "1.500e-7");
        assert_eq!(number(f64::NAN), "NaN");
    }
}
