//! burn modules of the models of Tariq et al. 2024: the ConvLSTM layer and the visual
//! sequence autoencoder (Table 3).
//!
//! Modules take and return `burn::tensor::Tensor`s; the backend is chosen by the
//! `Device` they are built on: `Device::flex()` for CPU inference,
//! `Device::flex().autodiff()` to train (batch norm only uses batch statistics there).

pub mod audio;
pub mod convlstm;
pub mod device;
pub mod fast_conv;
pub mod fusion;
pub mod host_conv;
pub mod host_ops;
pub mod model_dir;
pub mod optim;
pub mod same_padding;
pub mod score;
pub mod sequences;
pub mod train;
pub mod visual;

#[cfg(test)]
mod fixtures;

pub use audio::{AudioAutoencoder, AudioAutoencoderConfig};
pub use convlstm::{ConvLstm2d, ConvLstm2dConfig, ConvLstmState};
pub use same_padding::{ConvTranspose2dSame, ConvTranspose2dSameConfig};
pub use visual::{VisualAutoencoder, VisualAutoencoderConfig};

use burn::tensor::Tensor;

/// burn, at the version these modules are built with (so callers need not pin it again).
pub use burn;

/// The values of an f32 tensor, row-major.
pub fn tensor_values<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    tensor
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| ModelError::Data(format!("expected an f32 tensor ({e:?})")))
}

/// A setting out of its range, or settings that disagree with each other, described.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SettingError(pub String);

impl From<String> for SettingError {
    fn from(reason: String) -> Self {
        SettingError(reason)
    }
}

impl From<&str> for SettingError {
    fn from(reason: &str) -> Self {
        SettingError(reason.to_string())
    }
}

/// Why a loaded model cannot score what it was asked to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScoringError {
    /// The visual model's card has no calibration of this frame score.
    #[error("the model has no {} score (it was calibrated before avad had one)", .0.name())]
    NoSuchScore(model_dir::FrameScore),
    /// Every fold of the audio model was trained on this clip.
    #[error("clip {0}: every audio fold of this model was trained on it (scoring it would flatter the model)")]
    TrainedOn(String),
}

/// Errors of model construction and of inputs handed to a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Data that a model or its trainer cannot use, described.
    #[error("{0}")]
    Data(String),
    /// A visual input tensor of the wrong shape.
    #[error(
        "visual model input has shape {dims:?}: expected [batch, steps, 1, height, width], \
         all positive, with height and width multiples of {multiple} (resize the frames)"
    )]
    VisualInputShape {
        /// The shape received.
        dims: [usize; 5],
        /// The multiple the frame sides must have.
        multiple: usize,
    },
    /// A 'same' transposed convolution whose kernel is smaller than its stride.
    #[error(
        "transposed convolution with kernel {kernel:?} smaller than its stride {stride:?}: \
         'same' padding needs kernel >= stride"
    )]
    KernelSmallerThanStride {
        /// Kernel size.
        kernel: [usize; 2],
        /// Stride.
        stride: [usize; 2],
    },
}
