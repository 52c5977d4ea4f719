use std::path::{Path, PathBuf};

/// Everything that can stop a sweep (as opposed to failing one trial, which is recorded).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// A `sweep:` value is invalid.
    #[error("{key}: {message}")]
    Config {
        /// Dotted pipeline key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing under the output folder failed.
    #[error("{path}: {error}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
    /// An object store refused a read or write under the output URL.
    #[error("{location}: {message}")]
    Store {
        /// The object's URL.
        location: String,
        /// What the store said.
        message: String,
    },
    /// An object store stayed unreachable past the retries: the journal's records that
    /// could not be put wait in a local file, which the next run puts there first.
    #[error(
        "{cause}; the trials finished meanwhile are kept in {} and go to the store when the \
         same command runs again",
        local.display()
    )]
    KeptLocally {
        /// The store's last error.
        cause: Box<SweepError>,
        /// The local journal file.
        local: PathBuf,
    },
    /// A journal line could not be read.
    #[error("{path}:{line}: unreadable journal entry: {message}")]
    Journal {
        /// The journal.
        path: PathBuf,
        /// Line number.
        line: usize,
        /// What the JSON parser said.
        message: String,
    },
    /// Building a results table failed.
    #[error("building a results table: {0}")]
    Table(String),
    /// Timely could not start or a worker died.
    #[error("timely: {0}")]
    Timely(String),
}

impl SweepError {
    pub(crate) fn config(key: &str, message: &str) -> Self {
        SweepError::Config { key: key.into(), message: message.into() }
    }

    pub(crate) fn io(path: &Path, error: std::io::Error) -> Self {
        SweepError::Io { path: path.into(), error }
    }
}

impl From<arrow::error::ArrowError> for SweepError {
    fn from(e: arrow::error::ArrowError) -> Self {
        SweepError::Table(e.to_string())
    }
}
