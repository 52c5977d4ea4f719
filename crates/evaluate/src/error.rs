/// Everything that can go wrong evaluating a trial. Messages name the pipeline key at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluateError {
    /// A `strategy:` or `backtest:` value is out of range.
    #[error("{key}: {message}")]
    InvalidConfig {
        /// Dotted pipeline key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The span to backtest is empty or mismatched.
    #[error("{0}")]
    EmptySpan(String),
}

impl EvaluateError {
    pub(crate) fn invalid(key: &str, message: &str) -> Self {
        EvaluateError::InvalidConfig { key: key.into(), message: message.into() }
    }
}
