//! [`Error`]: every failure of the pipeline, as a variant a caller can match. Each message
//! is one line that names the file or the model it concerns; none names a command-line
//! option (front ends add their own advice).

use std::path::{Path, PathBuf};

use avad_data::DataError;
use avad_eval::metrics::MetricsError;
use avad_eval::normalize::CalibrationError;
use avad_eval::plots::PlotError;
use avad_features::FeatureError;
use avad_media::MediaError;
use avad_model::model_dir::FrameScore;
use avad_model::model_dir::ModelDirError;
use avad_model::train::TrainError;
use avad_model::{ModelError, ScoringError};

/// A failure of the pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder that is not there.
    #[error("{}: no such file or folder", path.display())]
    Missing { path: PathBuf },
    /// A file or folder that could not be read or written (the OS error in the message).
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    /// A recording, a frame, an audio file or a stream that cannot be decoded, or a
    /// video given to a build without FFmpeg ([`Error::needs_ffmpeg`]).
    #[error(transparent)]
    Media(#[from] MediaError),
    /// A dataset whose layout, labels or clip settings are wrong.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Audio features that cannot be computed.
    #[error(transparent)]
    Features(#[from] FeatureError),
    /// A model directory that cannot be read or written, or a preset that is wrong.
    #[error(transparent)]
    ModelDir(#[from] ModelDirError),
    /// Inputs a model refuses.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Training that cannot go on (a checkpoint, a diverging loss).
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A calibration that cannot be fitted (no normal errors).
    #[error(transparent)]
    Calibration(#[from] CalibrationError),
    /// Metrics that cannot be computed (labels and scores of other lengths).
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// A plot that cannot be drawn or written.
    #[error(transparent)]
    Plot(#[from] PlotError),
    /// A path that is neither a frame folder, nor a video file, nor a stream URL, or a
    /// dataset given where one clip is wanted.
    #[error("{}: {reason}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    /// A source and a sound file that do not go together (see [`SoundMismatch`]).
    #[error("{}: {mismatch}", path.display())]
    Sound {
        path: PathBuf,
        mismatch: SoundMismatch,
    },
    /// A visual model asked for a score it was not calibrated for.
    #[error("{}: {}", model.display(), ScoringError::NoSuchScore(*score))]
    NoSuchScore { model: PathBuf, score: FrameScore },
    /// An audio model's fold asked to score a clip it was trained on, or a fold no clip
    /// names.
    #[error("{}: {reason}", model.display())]
    Fold { model: PathBuf, reason: String },
    /// Models that do not go together (two of a modality, none visual where one is
    /// needed, an audio model without sound to score).
    #[error("{0}")]
    Models(String),
    /// A setting out of its range, or data too small for what was asked (no training
    /// clip, no window, no labels).
    #[error("{0}")]
    Invalid(String),
    /// An OS error, inside an [`Error::Context`] that names its file.
    #[error("{0}")]
    Os(#[from] std::io::Error),
    /// JSON that cannot be written or read, inside an [`Error::Context`] that names its file.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A failure with what was being done when it happened.
    #[error("{context}: {error}")]
    Context { context: String, error: Box<Error> },
}

impl Error {
    /// A model at `model` that cannot score what it was asked to.
    pub(crate) fn scoring(model: &Path, e: ScoringError) -> Error {
        match e {
            ScoringError::NoSuchScore(score) => Error::NoSuchScore {
                model: model.to_path_buf(),
                score,
            },
            ScoringError::TrainedOn(_) => Error::Fold {
                model: model.to_path_buf(),
                reason: e.to_string(),
            },
        }
    }

    pub fn io(path: &Path, error: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            error,
        }
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        Error::Invalid(reason.into())
    }

    /// Whether this is a video file or a stream given to a build without FFmpeg: no retry
    /// mends it.
    pub fn needs_ffmpeg(&self) -> bool {
        match self {
            Error::Media(MediaError::NeedsFfmpeg { .. })
            | Error::Data(DataError::Media(MediaError::NeedsFfmpeg { .. })) => true,
            Error::Context { error, .. } => error.needs_ffmpeg(),
            _ => false,
        }
    }

    /// The error without the [`Error::Context`] around it.
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { error, .. } => error.root(),
            e => e,
        }
    }
}

/// How a source and its sound file fail to go together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SoundMismatch {
    /// A frame folder with an audio model but no sound file.
    #[error("a frame folder has no sound of its own: the audio model needs its sound file")]
    FolderWithoutSound,
    /// A sound file but no audio model (the path is the sound file's).
    #[error("a sound file needs an audio model to score it")]
    SoundWithoutAudioModel,
    /// A sound file for a video or a stream.
    #[error("a video or a stream has its own sound; a separate sound file is for frame folders")]
    SoundForVideo,
}

/// What [`Result`]'s errors are.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `.context(…)` for the pipeline's results: the error, with what was being done.
pub trait Context<T> {
    fn context(self, context: impl Into<String>) -> Result<T>;
    fn with_context<S: Into<String>>(self, context: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context.into(),
            error: Box::new(e.into()),
        })
    }

    fn with_context<S: Into<String>>(self, context: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context().into(),
            error: Box::new(e.into()),
        })
    }
}

/// An absent value as an [`Error::Invalid`] that says what is missing.
impl<T> Context<T> for Option<T> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(context.into()))
    }

    fn with_context<S: Into<String>>(self, context: impl FnOnce() -> S) -> Result<T> {
        self.ok_or_else(|| Error::Invalid(context().into()))
    }
}
