use std::path::{Path, PathBuf};

/// Every failure names the file (or URL) it concerns, so that a one-line
/// message is enough for a user to act on.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The OS error is part of the message and deliberately not a `source()`:
    /// a chain printer (anyhow's `{:#}`) would print it twice.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The file exists but its content is not what it should be
    /// (truncated, not audio, NaN samples, mixed frame sizes…).
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    /// A video file or stream was given to a build without FFmpeg.
    #[error("{}: {what} needs avad built with the `ffmpeg` feature: install the FFmpeg development libraries (apt-get install pkg-config libclang-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev) and build with `cargo build --release -p avad-cli --features ffmpeg`", path.display())]
    NeedsFfmpeg { path: PathBuf, what: String },
}

impl MediaError {
    pub fn io(path: &Path, error: std::io::Error) -> Self {
        MediaError::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    pub fn invalid(path: &Path, reason: impl Into<String>) -> Self {
        MediaError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = MediaError> = std::result::Result<T, E>;
