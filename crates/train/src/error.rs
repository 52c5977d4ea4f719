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
    /// libtorch reported an error (out of memory, a shape mismatch, ...), as an error or
    /// through a tch panic: its message, without the C++ backtrace ([`torch_message`]).
    #[error("libtorch: {0}")]
    Libtorch(String),
}

impl From<tch::TchError> for TrainError {
    fn from(e: tch::TchError) -> Self {
        TrainError::Libtorch(torch_message(&e.to_string()))
    }
}

/// What a libtorch error says, in one line: its first line, without what wraps it (a tch
/// panic's "called `Result::unwrap()` on an `Err` value: Torch(\"…\")", with the C++
/// backtrace as escaped newlines) and without the "[enforce fail at alloc_cpu.cpp:127] err
/// == 0." location of a failed check. "DefaultCPUAllocator: can't allocate memory: you
/// tried to allocate 144000000000000 bytes. Error code 12 (Cannot allocate memory)".
pub(crate) fn torch_message(text: &str) -> String {
    let text = text.strip_prefix("called `Result::unwrap()` on an `Err` value: ").unwrap_or(text);
    let text = text.strip_prefix("Torch(\"").unwrap_or(text);
    let end = [text.find('\n'), text.find("\\n")].into_iter().flatten().min();
    let mut line = text[..end.unwrap_or(text.len())].trim_end_matches("\")").trim();
    if line.starts_with("[enforce fail at ")
        && let Some((_, rest)) = line.split_once("] ")
    {
        line = rest.trim_start_matches("err == 0. ");
    }
    line.to_owned()
}
