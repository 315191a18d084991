use std::path::PathBuf;

/// Everything that can go wrong extracting, normalising or storing features.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("audio signal is empty: there are no samples to extract features from")]
    Empty,
    #[error("audio sample {index} is not finite (NaN or infinite): re-decode or clean the input")]
    NonFinite { index: usize },
    #[error("invalid feature configuration: {0}")]
    Config(String),
    // The OS error is in the message, so it is not also a `source()`: `{:#}` would print
    // it twice.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: not a readable .npy array: {reason}", path.display())]
    Npy { path: PathBuf, reason: String },
    #[error("feature normaliser: {0}")]
    Normalizer(String),
}

pub type Result<T> = std::result::Result<T, FeatureError>;

impl FeatureError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        FeatureError::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }
}
