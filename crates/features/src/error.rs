/// Everything that can go wrong turning candles into model inputs. Messages name the pipeline
/// key or the feature entry at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// A parameter is out of range.
    #[error("{key}: {message}")]
    InvalidParameter {
        /// Dotted pipeline key (`features[1].period`).
        key: String,
        /// What is wrong.
        message: String,
    },
    /// `window.inputs` names a column no feature produces.
    #[error("window.inputs: no feature column named `{name}` (columns: {available})")]
    UnknownInput {
        /// The name asked for.
        name: String,
        /// The columns there are.
        available: String,
    },
    /// Two features produce the same column name.
    #[error(
        "features[{index}]: column `{name}` is already produced by an earlier feature; give it a `name`"
    )]
    DuplicateName {
        /// Position in the features list.
        index: usize,
        /// The clashing column.
        name: String,
    },
    /// Too little data for the windows and splits asked for.
    #[error("{0}")]
    NotEnoughData(String),
}
