//! The paper's 160 audio features of a recording, as `avad features` writes them.

use std::path::Path;

use avad_features::{extract, npy, write_csv, FeatureConfig, FeatureMatrix, N_FEATURES};
use avad_media::video::{is_stream_url, is_video_path};

use crate::error::{Context, Error, Result};

/// A recording's features, and how long its sound lasts.
#[derive(Clone, Debug)]
pub struct RecordingFeatures {
    pub matrix: FeatureMatrix,
    /// Seconds of sound the features were taken from.
    pub seconds: f64,
}

/// The features of the sound of `path`: an audio file, or a video's or stream's audio
/// track, decoded to mono at `config`'s rate.
pub fn recording_features(path: &Path, config: &FeatureConfig) -> Result<RecordingFeatures> {
    let video_track = is_video_path(path) || is_stream_url(&path.to_string_lossy());
    let samples = crate::clips::decode_mono(path, video_track, config.sample_rate)?;
    let matrix = extract(&samples, config).with_context(|| path.display().to_string())?;
    Ok(RecordingFeatures {
        matrix,
        seconds: samples.len() as f64 / f64::from(config.sample_rate),
    })
}

/// Writes `matrix` to `out`: a NumPy array (`.npy`, frames x 160, float32) or a CSV file
/// with a header of the column names (`.csv`), whole or not at all.
pub fn write_features(out: &Path, matrix: &FeatureMatrix) -> Result<()> {
    let extension = out.extension().and_then(|e| e.to_str());
    match extension.map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => npy::write_f32_2d(out, matrix.frames, N_FEATURES, &matrix.data)?,
        Some("csv") => write_csv(out, matrix)?,
        _ => {
            return Err(Error::Unsupported {
                path: out.to_path_buf(),
                reason: "the output must end in .npy or .csv".into(),
            })
        }
    }
    Ok(())
}
