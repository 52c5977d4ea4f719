use std::collections::BTreeMap;
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

/// What one epoch of training reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Mean loss over the training span in this epoch.
    #[serde(with = "crate::nonfinite::f64")]
    pub train_loss: f64,
    /// Loss on the validation span after this epoch, when there is one.
    #[serde(with = "crate::nonfinite::option")]
    pub val_loss: Option<f64>,
    /// Further per-epoch scalars (learning rate, validation accuracy, ...), by name.
    #[serde(with = "crate::nonfinite::map")]
    pub extra: BTreeMap<String, f64>,
}

impl EpochMetrics {
    /// Metrics with only a training loss.
    pub fn new(train_loss: f64) -> Self {
        Self { train_loss, val_loss: None, extra: BTreeMap::new() }
    }
}

/// Why an observer asks training to stop early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stop {
    /// A pruner judged the trial unpromising: it ends as `pruned`.
    Pruned,
    /// The run is being cancelled (Ctrl-C, shutdown): the trial is not recorded as finished.
    Cancelled,
}

/// Receives each epoch's metrics while a model trains, and may stop it.
///
/// `train` calls it; the sweep's trial (pruning), the TensorBoard writer and progress bars
/// implement it, so that `train` never names them.
pub trait Observer {
    /// Called after every epoch (0-based). `Break` stops training after this epoch.
    fn on_epoch(&mut self, epoch: usize, metrics: &EpochMetrics) -> ControlFlow<Stop>;
}

/// An observer that watches nothing and never stops training.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    fn on_epoch(&mut self, _: usize, _: &EpochMetrics) -> ControlFlow<Stop> {
        ControlFlow::Continue(())
    }
}

/// Forwards each epoch to two observers; stops when either asks to (the first one's reason wins).
pub struct TeeObserver<'a> {
    first: &'a mut dyn Observer,
    second: &'a mut dyn Observer,
}

impl<'a> TeeObserver<'a> {
    /// Both observers see every epoch, `first` before `second`.
    pub fn new(first: &'a mut dyn Observer, second: &'a mut dyn Observer) -> Self {
        Self { first, second }
    }
}

impl Observer for TeeObserver<'_> {
    fn on_epoch(&mut self, epoch: usize, metrics: &EpochMetrics) -> ControlFlow<Stop> {
        let a = self.first.on_epoch(epoch, metrics);
        let b = self.second.on_epoch(epoch, metrics);
        match (a, b) {
            (ControlFlow::Break(s), _) | (_, ControlFlow::Break(s)) => ControlFlow::Break(s),
            _ => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Count(usize, Option<usize>);
    impl Observer for Count {
        fn on_epoch(&mut self, epoch: usize, _: &EpochMetrics) -> ControlFlow<Stop> {
            self.0 += 1;
            match self.1 {
                Some(e) if e == epoch => ControlFlow::Break(Stop::Pruned),
                _ => ControlFlow::Continue(()),
            }
        }
    }

    #[test]
    fn tee_forwards_to_both_and_stops_when_either_stops() {
        let (mut a, mut b) = (Count(0, None), Count(0, Some(1)));
        let mut tee = TeeObserver::new(&mut a, &mut b);
        let m = EpochMetrics::new(1.0);
        assert!(tee.on_epoch(0, &m).is_continue());
        assert_eq!(tee.on_epoch(1, &m), ControlFlow::Break(Stop::Pruned));
        assert_eq!((a.0, b.0), (2, 2));
    }
}
