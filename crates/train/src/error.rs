use quantsweep_core::{EpochMetrics, Stop};

/// Everything that can end training early.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The loss stopped being a finite number.
    #[error("loss became NaN at epoch {epoch}")]
    Diverged {
        /// The 0-based epoch whose loss was not finite.
        epoch: usize,
        /// The epochs trained before it.
        epochs: Vec<EpochMetrics>,
    },
    /// An observer asked to stop (pruning, cancellation).
    #[error("stopped ({stop:?}) after {} epochs", epochs.len())]
    Stopped {
        /// Why.
        stop: Stop,
        /// The epochs trained.
        epochs: Vec<EpochMetrics>,
    },
    /// A `train:` or `model:` value is out of range.
    #[error("{key}: {message}")]
    InvalidConfig {
        /// Dotted pipeline key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The requested device is not available.
    #[error("{0}")]
    Device(String),
    /// libtorch reported an error (out of memory, a shape mismatch, ...).
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// libtorch failed inside an operation that tch reports by panicking (CUDA out of
    /// memory, ...): the first line of its message.
    #[error("libtorch: {0}")]
    Libtorch(String),
}
