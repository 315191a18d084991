use std::path::{Path, PathBuf};

use avad_media::MediaError;

/// Errors name the file they concern and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

impl DataError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn invalid(path: &Path, reason: impl Into<String>) -> Self {
        DataError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;

pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|_| DataError::invalid(path, "not a UTF-8 text file"))
}
