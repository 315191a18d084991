//! The acoustic sequence-to-sequence autoencoder of Tariq et al. 2024, §3.1.2 and Table 2,
//! its training sequences and its per-frame reconstruction errors.
//!
//! ```text
//! [B, T, 160]   feature frames, scaled to (0, 1) (see `AudioScaler`)
//!   Conv1D 32, k5 / 2, BN, LeakyReLU                      (L1)
//!   Conv1D 64, k5 / 2, BN, LeakyReLU                      (L2)
//!   Conv1D 128, k5 / 1, BN, LeakyReLU                     (L3)
//!   LSTM 128 → LSTM 64 (final state h, c)                 (L4-L5)
//!   RepeatVector(h) → LSTM 64 from (h, c) → LSTM 128      (L6-L7)
//!   Conv1DTranspose 128 / 1, 64 / 2, 32 / 2, k5, BN, LeakyReLU  (L8-L10)
//!   Conv1D 160, k9, sigmoid                               (L11)
//! [B, T, 160]   reconstruction in (0, 1)
//! ```
//!
//! Table 2's stride row is garbled ("2 5 – … – 5 2"): the text says "strides of 2" and that
//! the encoder builds "smaller feature maps of longer sequences". avad reads it as stride 2
//! on the first two encoder convolutions and on the last two decoder ones, 1 elsewhere (the
//! 5s being the kernel row spilling over), mirrored so the output has the input's length.
//! This is the reading of /work/shared/bench/torch_reference.py too, so the speed
//! comparison is like for like. `T` must be a multiple of 4.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig, ConvTranspose1d, ConvTranspose1dConfig};
use burn::nn::loss::{MseLoss, Reduction};
use burn::nn::{BatchNorm, BatchNormConfig, Lstm, LstmConfig, LstmState, PaddingConfig1d};
use burn::tensor::{Device, Tensor};

use crate::host_ops::{conv1d, conv_transpose1d, logistic, norm_leaky};
use crate::train::Objective;
use crate::ModelError;
use lstm::lstm_forward;

mod errors;
mod lstm;
mod scaler;
mod sequences;
#[cfg(test)]
mod tests;

pub use errors::{audio_errors, AudioError};
pub use scaler::AudioScaler;
pub use sequences::{normal_windows, AudioClip, AudioSequences};

/// Hyper-parameters of the audio autoencoder; the defaults are Table 2's.
#[derive(Config, Debug)]
pub struct AudioAutoencoderConfig {
    /// Values per feature frame (the paper's eight features: 160).
    #[config(default = 160)]
    pub features: usize,
    /// Filters of the encoder convolutions (L1-L3).
    #[config(default = "[32, 64, 128]")]
    pub encoder_filters: [usize; 3],
    /// Strides of the encoder convolutions; the decoder mirrors them (see the module docs).
    #[config(default = "[2, 2, 1]")]
    pub encoder_strides: [usize; 3],
    /// Kernel of the encoder and decoder convolutions.
    #[config(default = 5)]
    pub kernel: usize,
    /// Units of the two encoder LSTMs (L4-L5).
    #[config(default = "[128, 64]")]
    pub lstm_encoder: [usize; 2],
    /// Units of the two decoder LSTMs (L6-L7); the first starts from the encoder's final
    /// state, so it has as many units as the last encoder LSTM.
    #[config(default = "[64, 128]")]
    pub lstm_decoder: [usize; 2],
    /// Filters of the transposed convolutions (L8-L10).
    #[config(default = "[128, 64, 32]")]
    pub decoder_filters: [usize; 3],
    /// Kernel of the prediction convolution (L11).
    #[config(default = 9)]
    pub output_kernel: usize,
    /// LeakyReLU slope (Keras' default; the paper gives none).
    #[config(default = 0.3)]
    pub leaky_relu_slope: f64,
    /// Batch-norm epsilon (Keras' default).
    #[config(default = 1e-3)]
    pub batch_norm_epsilon: f64,
    /// Batch-norm running-statistics momentum (PyTorch's default, as for the visual model).
    #[config(default = 0.1)]
    pub batch_norm_momentum: f64,
}

/// The audio autoencoder (Table 2). Input and output `[batch, steps, features]`.
#[derive(Module, Debug)]
pub struct AudioAutoencoder {
    /// L1-L3.
    pub encoder: Vec<Conv1d>,
    /// Batch norm after each encoder convolution.
    pub encoder_norms: Vec<BatchNorm>,
    /// L4.
    pub lstm_enc1: Lstm,
    /// L5.
    pub lstm_enc2: Lstm,
    /// L6, started from L5's final state.
    pub lstm_dec1: Lstm,
    /// L7.
    pub lstm_dec2: Lstm,
    /// L8-L10.
    pub decoder: Vec<ConvTranspose1d>,
    /// Batch norm after each transposed convolution.
    pub decoder_norms: Vec<BatchNorm>,
    /// L11, followed by a sigmoid.
    pub output: Conv1d,
    /// LeakyReLU slope.
    pub leaky_relu_slope: f64,
    /// Product of the encoder strides: sequence lengths must be multiples of it.
    pub downsampling: usize,
    /// Values per frame.
    pub features: usize,
}

impl AudioAutoencoderConfig {
    /// Builds the model on `device`.
    pub fn init(&self, device: &Device) -> Result<AudioAutoencoder, ModelError> {
        if self.lstm_decoder[0] != self.lstm_encoder[1] {
            return Err(ModelError::Data(format!(
                "the first decoder LSTM ({} units) starts from the last encoder LSTM's state ({} units): they must match",
                self.lstm_decoder[0], self.lstm_encoder[1]
            )));
        }
        if self.kernel.is_multiple_of(2)
            || self.output_kernel.is_multiple_of(2)
            || self.encoder_strides.contains(&0)
        {
            return Err(ModelError::Data(
                "kernels must be odd and strides positive".into(),
            ));
        }
        let norm = |channels: usize| {
            BatchNormConfig::new(channels)
                .with_epsilon(self.batch_norm_epsilon)
                .with_momentum(self.batch_norm_momentum)
                .init(device)
        };
        let lstm = |input: usize, hidden: usize| LstmConfig::new(input, hidden, true).init(device);
        let mut encoder = Vec::new();
        let mut channels = self.features;
        for (&filters, &stride) in self.encoder_filters.iter().zip(&self.encoder_strides) {
            encoder.push(
                Conv1dConfig::new(channels, filters, self.kernel)
                    .with_stride(stride)
                    .with_padding(PaddingConfig1d::Same)
                    .init(device),
            );
            channels = filters;
        }
        let [e1, e2] = self.lstm_encoder;
        let [d1, d2] = self.lstm_decoder;
        let mut decoder = Vec::new();
        let mut channels_in = d2;
        // The decoder mirrors the encoder's strides: [2, 2, 1] → [1, 2, 2]. A 'same'
        // transposed convolution of an odd kernel: padding (k-1)/2, output padding s-1,
        // so the length is multiplied by the stride exactly.
        let strides: Vec<usize> = self.encoder_strides.iter().rev().copied().collect();
        for (&filters, &stride) in self.decoder_filters.iter().zip(&strides) {
            decoder.push(
                ConvTranspose1dConfig::new([channels_in, filters], self.kernel)
                    .with_stride(stride)
                    .with_padding((self.kernel - 1) / 2)
                    .with_padding_out(stride - 1)
                    .init(device),
            );
            channels_in = filters;
        }
        Ok(AudioAutoencoder {
            encoder_norms: self.encoder_filters.iter().map(|&f| norm(f)).collect(),
            encoder,
            lstm_enc1: lstm(channels, e1),
            lstm_enc2: lstm(e1, e2),
            lstm_dec1: lstm(e2, d1),
            lstm_dec2: lstm(d1, d2),
            decoder_norms: self.decoder_filters.iter().map(|&f| norm(f)).collect(),
            decoder,
            output: Conv1dConfig::new(channels_in, self.features, self.output_kernel)
                .with_padding(PaddingConfig1d::Same)
                .init(device),
            leaky_relu_slope: self.leaky_relu_slope,
            downsampling: self.encoder_strides.iter().product(),
            features: self.features,
        })
    }
}

impl AudioAutoencoder {
    /// Checks `[batch, steps, features]`: all positive, `steps` a multiple of the
    /// encoder's downsampling, `features` the model's.
    pub fn check_input_dims(&self, dims: [usize; 3]) -> Result<(), ModelError> {
        let [batch, steps, features] = dims;
        if batch == 0 || steps == 0 || steps % self.downsampling != 0 || features != self.features {
            return Err(ModelError::Data(format!(
                "audio model input has shape {dims:?}: expected [batch, steps, {}] with steps a positive multiple of {}",
                self.features, self.downsampling
            )));
        }
        Ok(())
    }

    /// Reconstructs `x` `[batch, steps, features]`.
    pub fn forward(&self, x: Tensor<3>) -> Result<Tensor<3>, ModelError> {
        self.check_input_dims(x.dims())?;
        let slope = self.leaky_relu_slope;
        let mut y = x.swap_dims(1, 2);
        // In training on the CPU each convolution is one product over the batch
        // (`host_ops::conv1d`); burn's layers otherwise.
        for (conv, norm) in self.encoder.iter().zip(&self.encoder_norms) {
            y = norm_leaky(norm, conv1d(conv, y), slope);
        }
        let [batch, _, steps] = y.dims();
        let (y, _) = lstm_forward(&self.lstm_enc1, y.swap_dims(1, 2), None);
        let (_, state) = lstm_forward(&self.lstm_enc2, y, None);
        // RepeatVector: the encoder's final hidden state at every step; the decoder LSTM
        // starts from the encoder's final (hidden, cell) state.
        let [_, hidden] = state.hidden.dims();
        let repeated = state
            .hidden
            .clone()
            .reshape([batch, 1, hidden])
            .repeat_dim(1, steps);
        let (y, _) = lstm_forward(
            &self.lstm_dec1,
            repeated,
            Some(LstmState::new(state.cell, state.hidden)),
        );
        let (y, _) = lstm_forward(&self.lstm_dec2, y, None);
        let mut y = y.swap_dims(1, 2);
        for (deconv, norm) in self.decoder.iter().zip(&self.decoder_norms) {
            y = norm_leaky(norm, conv_transpose1d(deconv, y), slope);
        }
        Ok(logistic(conv1d(&self.output, y)).swap_dims(1, 2))
    }
}

impl Objective for AudioAutoencoder {
    type Batch = Tensor<3>;

    fn loss(&self, batch: Tensor<3>) -> Result<Tensor<1>, ModelError> {
        let output = self.forward(batch.clone())?;
        Ok(MseLoss::new().forward(output, batch, Reduction::Mean))
    }
}
