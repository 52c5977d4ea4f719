use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{EpochMetrics, Params};

/// A trial's number within its sweep, from 0 in the order trials were suggested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrialId(pub u64);

impl fmt::Display for TrialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What one trial runs: the swept parameters and the seed of every random choice in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialSpec {
    /// The trial's number.
    pub id: TrialId,
    /// Swept parameters by dotted pipeline key.
    pub params: Params,
    /// Seed for weight initialisation, shuffling and dropout.
    pub seed: u64,
}

/// One bar of a backtest's equity curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EquityPoint {
    /// Bar open time, milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
    /// The price the bar is marked at (its close).
    #[serde(with = "crate::nonfinite::f64")]
    pub price: f64,
    /// Units of the asset held at the end of the bar.
    #[serde(with = "crate::nonfinite::f64")]
    pub position: f64,
    /// Cash at the end of the bar.
    #[serde(with = "crate::nonfinite::f64")]
    pub cash: f64,
    /// Cash plus position marked at `price`.
    #[serde(with = "crate::nonfinite::f64")]
    pub equity: f64,
    /// The walk-forward fold whose model decided this bar (none without walk-forward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<u32>,
    /// In a portfolio of several pairs: the pair this curve is of (none on the portfolio's own
    /// curve, and in a single-pair run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
}

/// One model output for one test sample: what the trial's model predicted at the decision bar
/// and what the target turned out to be (`predictions.parquet`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The decision bar's open time, milliseconds since the Unix epoch (UTC).
    pub timestamp_ms: i64,
    /// Which of the model's outputs (0-based; the Blankly layout has 3, one per day ahead).
    pub output: u32,
    /// The model's output (a probability of "up" for up/down targets).
    #[serde(with = "crate::nonfinite::f64")]
    pub prediction: f64,
    /// The target's value (1 or 0 for up/down targets).
    #[serde(with = "crate::nonfinite::f64")]
    pub actual: f64,
    /// The walk-forward fold whose model predicted it (none without walk-forward).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fold: Option<u32>,
    /// In a portfolio of several pairs: the pair whose model predicted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
}

/// One walk-forward fold of a trial: its spans and its share of the metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldSummary {
    /// 0-based, in time order.
    pub fold: u32,
    /// Decision time of the first and last training sample, ms since the Unix epoch.
    pub train_start_ms: i64,
    /// See `train_start_ms`.
    pub train_end_ms: i64,
    /// Decision time of the first and last test sample.
    pub test_start_ms: i64,
    /// See `test_start_ms`.
    pub test_end_ms: i64,
    /// Metrics of this fold's test span (its stretch of the stitched equity curve, its
    /// predictions).
    #[serde(with = "crate::nonfinite::map")]
    pub metrics: BTreeMap<String, f64>,
}

/// One round trip of a backtest: from flat (or a reversal) to flat again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Time of the first fill, ms since the Unix epoch (UTC).
    pub entry_ms: i64,
    /// Time of the last fill (or of the last bar, for a trade still open at the end).
    pub exit_ms: i64,
    /// `long` or `short`.
    pub side: String,
    /// Units entered in total (the sum of the fills that opened or added to it).
    #[serde(with = "crate::nonfinite::f64")]
    pub size: f64,
    /// Average entry price (volume-weighted over the entering fills, slippage included).
    #[serde(with = "crate::nonfinite::f64")]
    pub entry_price: f64,
    /// Average exit price (the last close for a trade still open at the end).
    #[serde(with = "crate::nonfinite::f64")]
    pub exit_price: f64,
    /// Fees paid on its fills.
    #[serde(with = "crate::nonfinite::f64")]
    pub fees: f64,
    /// Profit or loss in cash, fees included.
    #[serde(with = "crate::nonfinite::f64")]
    pub pnl: f64,
    /// False for a trade still open at the end of the backtest (marked at the last close).
    pub closed: bool,
    /// In a portfolio of several pairs: the pair traded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
}

/// What a trial that ran to the end reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// Final metrics by name (`sharpe`, `val_loss`, ...).
    #[serde(with = "crate::nonfinite::map")]
    pub metrics: BTreeMap<String, f64>,
    /// One entry per epoch trained.
    pub epochs: Vec<EpochMetrics>,
    /// The backtest's equity curve, when the trial has one.
    pub equity: Vec<EquityPoint>,
    /// The backtest's round trips.
    #[serde(default)]
    pub trades: Vec<Trade>,
    /// Walk-forward folds (empty without walk-forward).
    #[serde(default)]
    pub folds: Vec<FoldSummary>,
    /// The model's outputs on the test span(s), beside the targets.
    #[serde(default)]
    pub predictions: Vec<Prediction>,
    /// The device the trial trained on (`cpu`, `cuda:0`).
    pub device: String,
    /// The validation samples overlapped the training windows (`split.kind: shuffled`): its
    /// validation metrics are optimistic.
    #[serde(default)]
    pub leaky: bool,
}

/// Why a trial did not complete. Recorded with the trial; never a program error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrialError {
    /// The trial could not run or went wrong (bad parameters, NaN loss, out of memory, ...).
    Failed {
        /// The reason, for a person.
        reason: String,
        /// Epochs trained before it failed, with their metrics.
        epochs: Vec<EpochMetrics>,
    },
    /// A pruner stopped it after the given number of epochs.
    Pruned {
        /// Epochs trained before it was stopped, with their metrics.
        epochs: Vec<EpochMetrics>,
    },
}

impl TrialError {
    /// A failure with a reason and no learning curve.
    pub fn failed(reason: impl Into<String>) -> Self {
        TrialError::Failed { reason: reason.into(), epochs: Vec::new() }
    }
}

impl fmt::Display for TrialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrialError::Failed { reason, .. } => f.write_str(reason),
            TrialError::Pruned { epochs } => write!(f, "pruned after {} epochs", epochs.len()),
        }
    }
}

impl std::error::Error for TrialError {}

/// A trial's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    /// Ran to the end; its metrics are valid.
    Complete,
    /// Went wrong; `error` says why.
    Failed,
    /// Stopped early by a pruner.
    Pruned,
}

impl TrialStatus {
    /// The name used in tables (`complete`, `failed`, `pruned`).
    pub fn as_str(self) -> &'static str {
        match self {
            TrialStatus::Complete => "complete",
            TrialStatus::Failed => "failed",
            TrialStatus::Pruned => "pruned",
        }
    }
}

/// Everything the sweep stores about one trial: one line of the journal, one row of
/// `trials.parquet` plus its rows in `epochs.parquet` and `equity.parquet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    /// What ran.
    pub spec: TrialSpec,
    /// How it ended.
    pub status: TrialStatus,
    /// Why it failed, for failed trials.
    pub error: Option<String>,
    /// Final metrics (empty unless complete).
    #[serde(with = "crate::nonfinite::map")]
    pub metrics: BTreeMap<String, f64>,
    /// The learning curve, also for failed and pruned trials.
    pub epochs: Vec<EpochMetrics>,
    /// The backtest's equity curve (empty unless complete).
    pub equity: Vec<EquityPoint>,
    /// The backtest's round trips (empty unless complete).
    #[serde(default)]
    pub trades: Vec<Trade>,
    /// Walk-forward folds (empty unless complete and walk-forward).
    #[serde(default)]
    pub folds: Vec<FoldSummary>,
    /// Test-span predictions beside their targets (empty unless complete).
    #[serde(default)]
    pub predictions: Vec<Prediction>,
    /// Start time, milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// End time, milliseconds since the Unix epoch.
    pub finished_at_ms: i64,
    /// Wall-clock duration in seconds.
    #[serde(with = "crate::nonfinite::f64")]
    pub duration_s: f64,
    /// Index of the timely worker that ran it.
    pub worker: u64,
    /// Device it trained on.
    pub device: String,
    /// Trained on a leaky split (see [`TrialResult::leaky`]).
    #[serde(default)]
    pub leaky: bool,
    /// How many times it ran: 1, or more where `sweep.retries` ran it again after a failure
    /// (with the same seed).
    #[serde(default = "one")]
    pub attempts: u32,
    /// Why each earlier attempt failed, in order (empty unless it was retried).
    #[serde(default)]
    pub attempt_errors: Vec<String>,
}

fn one() -> u32 {
    1
}

impl TrialRecord {
    /// Builds the record of a trial from its outcome.
    pub fn from_outcome(
        spec: TrialSpec,
        outcome: Result<TrialResult, TrialError>,
        worker: u64,
        started_at_ms: i64,
        finished_at_ms: i64,
        duration_s: f64,
    ) -> Self {
        let leaky = outcome.as_ref().is_ok_and(|r| r.leaky);
        let (folds, predictions) = match &outcome {
            Ok(r) => (r.folds.clone(), r.predictions.clone()),
            Err(_) => Default::default(),
        };
        let (status, error, metrics, epochs, equity, trades, device) = match outcome {
            Ok(r) => {
                (TrialStatus::Complete, None, r.metrics, r.epochs, r.equity, r.trades, r.device)
            }
            Err(TrialError::Failed { reason, epochs }) => (
                TrialStatus::Failed,
                Some(reason),
                BTreeMap::new(),
                epochs,
                Vec::new(),
                Vec::new(),
                String::new(),
            ),
            Err(TrialError::Pruned { epochs }) => (
                TrialStatus::Pruned,
                None,
                BTreeMap::new(),
                epochs,
                Vec::new(),
                Vec::new(),
                String::new(),
            ),
        };
        Self {
            spec,
            status,
            error,
            metrics,
            epochs,
            equity,
            trades,
            folds,
            predictions,
            started_at_ms,
            finished_at_ms,
            duration_s,
            worker,
            device,
            leaky,
            attempts: 1,
            attempt_errors: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_outcome_keeps_reason_and_curve() {
        let spec = TrialSpec { id: TrialId(3), params: Params::new(), seed: 7 };
        let err = TrialError::Failed {
            reason: "loss became NaN at epoch 2".into(),
            epochs: vec![EpochMetrics::new(1.0), EpochMetrics::new(2.0)],
        };
        let r = TrialRecord::from_outcome(spec, Err(err), 1, 0, 10, 0.01);
        assert_eq!(r.status, TrialStatus::Failed);
        assert_eq!(r.error.as_deref(), Some("loss became NaN at epoch 2"));
        assert_eq!(r.epochs.len(), 2);
        assert!(r.metrics.is_empty());
    }

    /// #23: a portfolio's own curve has no price (NaN): a record with NaN or infinite
    /// numbers in its curve and trades reads back from the journal's JSON, bit for bit, and a
    /// journal written before (NaN as `null`) still reads.
    #[test]
    fn records_with_non_finite_curves_and_trades_read_back() {
        let spec = TrialSpec { id: TrialId(1), params: Params::new(), seed: 0 };
        let mut r = TrialRecord::from_outcome(spec, Ok(TrialResult::default()), 0, 0, 0, 0.0);
        let point = EquityPoint {
            timestamp_ms: 1,
            price: f64::NAN,
            position: f64::INFINITY,
            cash: -0.0,
            equity: 1e300,
            fold: Some(0),
            pair: None,
        };
        r.equity = vec![point];
        r.trades = vec![Trade {
            entry_ms: 0,
            exit_ms: 1,
            side: "long".into(),
            size: f64::NAN,
            entry_price: 1.0,
            exit_price: f64::NEG_INFINITY,
            fees: 0.0,
            pnl: f64::NAN,
            closed: false,
            pair: None,
        }];
        let text = serde_json::to_string(&r).expect("serialize");
        let back: TrialRecord = serde_json::from_str(&text).expect("a NaN price reads back");
        assert!(back.equity[0].price.is_nan() && back.equity[0].position == f64::INFINITY);
        assert_eq!(back.equity[0].equity.to_bits(), 1e300f64.to_bits());
        assert!(back.trades[0].pnl.is_nan() && back.trades[0].exit_price == f64::NEG_INFINITY);
        let old = text.replace("\"NaN\"", "null");
        let back: TrialRecord = serde_json::from_str(&old).expect("null reads as NaN");
        assert!(back.equity[0].price.is_nan());
    }

    #[test]
    fn status_names_are_the_table_names() {
        let json = serde_json::to_string(&TrialStatus::Pruned).expect("serialize status");
        assert_eq!(json, "\"pruned\"");
        assert_eq!(TrialStatus::Complete.as_str(), "complete");
    }
}
