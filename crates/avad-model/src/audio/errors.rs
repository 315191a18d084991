//! Per-frame reconstruction errors of a clip's feature frames.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use avad_features::{FeatureMatrix, N_FEATURES};

use super::AudioAutoencoder;
use crate::ModelError;

/// How the error of a reconstructed feature frame adds up its 160 values (an audio
/// preset's `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioError {
    /// The Euclidean distance over the 160 values, eq. 3's form: the 128 mel bands make
    /// up four fifths of it. Models whose preset predates `error` score this way.
    #[default]
    Values,
    /// The root of the sum, over the paper's eight features, of each feature's mean
    /// squared error: spectral flatness counts as much as the 128 mel bands together.
    Features,
}

impl AudioError {
    /// The weight of each column's squared error, `None` for [`AudioError::Values`]
    /// (all ones).
    pub fn weights(self) -> Option<[f32; N_FEATURES]> {
        match self {
            AudioError::Values => None,
            AudioError::Features => {
                use avad_features::columns::{MEL, MFCC, SPECTRAL_CONTRAST};
                let mut w = [1.0f32; N_FEATURES];
                for group in [MFCC, MEL, SPECTRAL_CONTRAST] {
                    let share = 1.0 / group.len() as f32;
                    w[group].fill(share);
                }
                Some(w)
            }
        }
    }
}

/// Reconstruction error of every feature frame of `features` (scaled): windows of `steps`
/// frames every `hop` (plus one ending on the last frame); a frame's error is the distance
/// between it and its reconstruction that `error` says, averaged over the windows that
/// cover it (the audio analogue of eq. 3). A clip shorter than one window is padded by
/// repeating its last frame, and only its own frames are scored.
pub fn audio_errors(
    model: &AudioAutoencoder,
    features: &FeatureMatrix,
    steps: usize,
    hop: usize,
    batch: usize,
    error: AudioError,
    device: &Device,
) -> Result<Vec<f64>, ModelError> {
    if hop == 0 || batch == 0 || steps == 0 {
        return Err(ModelError::Data(
            "steps, hop and batch must be at least 1".into(),
        ));
    }
    let frames = features.frames;
    if frames == 0 {
        return Ok(Vec::new());
    }
    let mut data = features.data.clone();
    let padded = frames.max(steps);
    let last = data[(frames - 1) * N_FEATURES..].to_vec();
    for _ in frames..padded {
        data.extend_from_slice(&last);
    }
    let windows = avad_data::windows::scoring_windows(padded, steps, hop);
    let weights = error.weights().map(|w| {
        Tensor::<1>::from_data(TensorData::new(w.to_vec(), [N_FEATURES]), device)
            .reshape([1, 1, N_FEATURES])
    });
    let mut sums = vec![0.0f64; padded];
    let mut counts = vec![0u32; padded];
    for chunk in windows.chunks(batch) {
        let mut values = Vec::with_capacity(chunk.len() * steps * N_FEATURES);
        for w in chunk {
            values
                .extend_from_slice(&data[w.first() * N_FEATURES..(w.first() + steps) * N_FEATURES]);
        }
        let b = chunk.len();
        let input = Tensor::<3>::from_data(TensorData::new(values, [b, steps, N_FEATURES]), device);
        let output = model.forward(input.clone())?;
        let squared = (output - input).powi_scalar(2);
        let squared = match &weights {
            Some(w) => squared * w.clone(),
            None => squared,
        };
        let per_frame = crate::tensor_values(squared.sum_dim(2).reshape([b * steps]))?;
        for (k, w) in chunk.iter().enumerate() {
            for (i, frame) in w.frames().enumerate() {
                sums[frame] += f64::from(per_frame[k * steps + i]).sqrt();
                counts[frame] += 1;
            }
        }
    }
    Ok(sums[..frames]
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / f64::from(c.max(1)))
        .collect())
}
