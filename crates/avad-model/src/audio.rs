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
use burn::tensor::activation::{leaky_relu, sigmoid};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use avad_features::{FeatureMatrix, Normalizer, N_FEATURES};

use crate::train::{Objective, Part, Samples};
use crate::ModelError;

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
        for (conv, norm) in self.encoder.iter().zip(&self.encoder_norms) {
            y = leaky_relu(norm.forward(conv.forward(y)), slope);
        }
        let [batch, _, steps] = y.dims();
        let (y, _) = self.lstm_enc1.forward(y.swap_dims(1, 2), None);
        let (_, state) = self.lstm_enc2.forward(y, None);
        // RepeatVector: the encoder's final hidden state at every step; the decoder LSTM
        // starts from the encoder's final (hidden, cell) state.
        let [_, hidden] = state.hidden.dims();
        let repeated = state
            .hidden
            .clone()
            .reshape([batch, 1, hidden])
            .repeat_dim(1, steps);
        let (y, _) = self
            .lstm_dec1
            .forward(repeated, Some(LstmState::new(state.cell, state.hidden)));
        let (y, _) = self.lstm_dec2.forward(y, None);
        let mut y = y.swap_dims(1, 2);
        for (deconv, norm) in self.decoder.iter().zip(&self.decoder_norms) {
            y = leaky_relu(norm.forward(deconv.forward(y)), slope);
        }
        Ok(sigmoid(self.output.forward(y)).swap_dims(1, 2))
    }
}

impl Objective for AudioAutoencoder {
    type Batch = Tensor<3>;

    fn loss(&self, batch: Tensor<3>) -> Result<Tensor<1>, ModelError> {
        let output = self.forward(batch.clone())?;
        Ok(MseLoss::new().forward(output, batch, Reduction::Mean))
    }
}

/// Maps raw feature frames into (0, 1), the range of the model's sigmoid output: the
/// per-column z-score fitted on training frames only (avad-features' [`Normalizer`], mel
/// bands in dB), then the logistic function. The paper says only that features are
/// normalised; a min-max fit would clip every sound louder than the training set to 1 and
/// hide how much louder it is, while the logistic keeps the order of any value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioScaler {
    /// The z-score.
    pub normalizer: Normalizer,
}

impl AudioScaler {
    /// Fits on `matrices` (training frames only).
    pub fn fit(matrices: &[&FeatureMatrix]) -> Result<Self, ModelError> {
        let normalizer = Normalizer::fit(matrices).map_err(|e| ModelError::Data(e.to_string()))?;
        Ok(AudioScaler { normalizer })
    }

    /// `matrix` scaled into (0, 1).
    pub fn apply(&self, matrix: &FeatureMatrix) -> Result<FeatureMatrix, ModelError> {
        let mut m = matrix.clone();
        self.normalizer
            .apply(&mut m)
            .map_err(|e| ModelError::Data(e.to_string()))?;
        for v in &mut m.data {
            *v = 1.0 / (1.0 + (-*v).exp());
        }
        Ok(m)
    }
}

/// One clip's scaled feature frames, with the frames that may be trained on.
#[derive(Debug, Clone)]
pub struct AudioClip {
    /// The clip's name.
    pub name: String,
    /// Scaled features, `frames x 160`.
    pub features: FeatureMatrix,
    /// Per feature frame: may a training window use it (a normal frame)?
    pub normal: Vec<bool>,
}

/// The start of every window of `steps` consecutive frames, one every `hop`, lying wholly
/// inside a run of `true` in `usable`.
pub fn normal_windows(usable: &[bool], steps: usize, hop: usize) -> Vec<usize> {
    let mut starts = Vec::new();
    if steps == 0 || hop == 0 {
        return starts;
    }
    let mut run_start = None;
    for i in 0..=usable.len() {
        let on = usable.get(i).copied().unwrap_or(false);
        match (on, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(s)) => {
                let mut t = s;
                while t + steps <= i {
                    starts.push(t);
                    t += hop;
                }
                run_start = None;
            }
            _ => {}
        }
    }
    starts
}

/// Training and validation windows of feature frames.
#[derive(Debug)]
pub struct AudioSequences {
    clips: Vec<AudioClip>,
    train: Vec<(usize, usize)>,
    validation: Vec<(usize, usize)>,
    steps: usize,
}

impl AudioSequences {
    /// Windows of `steps` normal frames every `hop` frames; the clips listed in
    /// `validation_clips` give the validation windows.
    pub fn new(
        clips: Vec<AudioClip>,
        validation_clips: &[usize],
        steps: usize,
        hop: usize,
    ) -> Result<Self, ModelError> {
        let mut train = Vec::new();
        let mut validation = Vec::new();
        for (i, clip) in clips.iter().enumerate() {
            if clip.normal.len() != clip.features.frames {
                return Err(ModelError::Data(format!(
                    "clip {}: {} normal flags for {} feature frames",
                    clip.name,
                    clip.normal.len(),
                    clip.features.frames
                )));
            }
            let target = if validation_clips.contains(&i) {
                &mut validation
            } else {
                &mut train
            };
            target.extend(
                normal_windows(&clip.normal, steps, hop)
                    .into_iter()
                    .map(|s| (i, s)),
            );
        }
        Ok(AudioSequences {
            clips,
            train,
            validation,
            steps,
        })
    }

    /// The clips.
    pub fn clips(&self) -> &[AudioClip] {
        &self.clips
    }

    fn windows(&self, part: Part) -> &[(usize, usize)] {
        match part {
            Part::Train => &self.train,
            Part::Validation => &self.validation,
        }
    }
}

impl Samples for AudioSequences {
    type Batch = Tensor<3>;

    fn len(&self, part: Part) -> usize {
        self.windows(part).len()
    }

    fn batch(
        &self,
        part: Part,
        indices: &[usize],
        device: &Device,
    ) -> Result<Tensor<3>, ModelError> {
        let windows = self.windows(part);
        let mut values = Vec::with_capacity(indices.len() * self.steps * N_FEATURES);
        for &i in indices {
            let &(clip, start) = windows
                .get(i)
                .ok_or_else(|| ModelError::Data(format!("sample {i} out of range")))?;
            let data = &self.clips[clip].features.data;
            values.extend_from_slice(&data[start * N_FEATURES..(start + self.steps) * N_FEATURES]);
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [indices.len(), self.steps, N_FEATURES]),
            device,
        ))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::values;
    use burn::optim::GradientsParams;

    fn pattern(b: usize, t: usize, device: &Device) -> Tensor<3> {
        let data: Vec<f32> = (0..b * t * N_FEATURES)
            .map(|i| {
                let (bi, rest) = (i / (t * N_FEATURES), i % (t * N_FEATURES));
                let (ti, f) = (rest / N_FEATURES, rest % N_FEATURES);
                0.5 + 0.4 * ((0.3 * ti as f32 + 0.7 * bi as f32).sin() * (0.05 * f as f32).cos())
            })
            .collect();
        Tensor::from_data(TensorData::new(data, [b, t, N_FEATURES]), device)
    }

    /// Table 2's layers, counted by hand. burn's LSTM keeps PyTorch's two biases per gate
    /// unit (input and recurrent), where Keras keeps one: 4u more per LSTM than
    /// `model.summary()`, and the same function.
    #[test]
    fn has_the_parameters_of_table_2() {
        use burn::module::Module;
        let m = AudioAutoencoderConfig::new().init(&Device::flex()).unwrap();
        let lstm = |input: usize, units: usize| 4 * (input * units + units * units + 2 * units);
        let conv = |input: usize, output: usize, k: usize| k * input * output + output;
        let params = |layers: &[Conv1d]| layers.iter().map(|l| l.num_params()).sum::<usize>();
        assert_eq!(
            params(&m.encoder),
            conv(160, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5)
        );
        assert_eq!(m.lstm_enc1.num_params(), lstm(128, 128));
        assert_eq!(m.lstm_enc2.num_params(), lstm(128, 64));
        assert_eq!(m.lstm_dec1.num_params(), lstm(64, 64));
        assert_eq!(m.lstm_dec2.num_params(), lstm(64, 128));
        let decoder: usize = m.decoder.iter().map(|l| l.num_params()).sum();
        assert_eq!(
            decoder,
            conv(128, 128, 5) + conv(128, 64, 5) + conv(64, 32, 5)
        );
        assert_eq!(m.output.num_params(), conv(32, 160, 9));
        // Six batch norms (32, 64, 128 and 128, 64, 32 channels): a scale, a shift, a
        // running mean and variance per channel.
        let norms: usize = m
            .encoder_norms
            .iter()
            .chain(&m.decoder_norms)
            .map(|n| n.num_params())
            .sum();
        assert_eq!(norms, 4 * 448);
    }

    #[test]
    fn output_has_the_input_shape_in_unit_range() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        device.seed(1);
        let model = AudioAutoencoderConfig::new().init(&device).unwrap();
        let out = model.forward(pattern(3, 32, &device)).unwrap();
        assert_eq!(out.dims(), [3, 32, 160]);
        let v = values(out);
        assert!(v.iter().all(|&x| x > 0.0 && x < 1.0));
        assert!(
            model.forward(pattern(1, 30, &device)).is_err(),
            "30 is not a multiple of 4"
        );
        let bad = AudioAutoencoderConfig::new()
            .with_lstm_decoder([32, 128])
            .init(&device);
        assert!(bad.unwrap_err().to_string().contains("must match"));
    }

    /// Adam steps lower the loss and move every layer, including the decoder LSTM that
    /// only sees the encoder through its initial state and the repeated vector.
    #[test]
    fn training_steps_reach_every_layer() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex().autodiff();
        device.seed(2);
        let mut model = AudioAutoencoderConfig::new().init(&device).unwrap();
        let mut optim = crate::train::adam();
        let batch = pattern(4, 16, &device);
        let watched = |m: &AudioAutoencoder| {
            vec![
                values(m.encoder[0].weight.val()),
                values(m.lstm_enc1.input_gate.input_transform.weight.val()),
                values(m.lstm_enc2.cell_gate.hidden_transform.weight.val()),
                values(m.lstm_dec1.output_gate.hidden_transform.weight.val()),
                values(m.lstm_dec2.input_gate.input_transform.weight.val()),
                values(m.decoder[2].weight.val()),
                values(m.output.weight.val()),
            ]
        };
        let before = watched(&model);
        let mut losses = Vec::new();
        for _ in 0..8 {
            let loss = model.loss(batch.clone()).unwrap();
            losses.push(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(3e-3, model, grads);
        }
        assert!(losses[7] < 0.8 * losses[0], "loss did not fall: {losses:?}");
        for (k, (a, b)) in before.iter().zip(watched(&model)).enumerate() {
            let moved = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(moved > 1e-6, "watched parameter {k} did not move");
        }
    }

    #[test]
    fn windows_stay_inside_normal_runs() {
        let mut usable = vec![true; 10];
        usable.extend([false; 3]);
        usable.extend([true; 5]);
        assert_eq!(normal_windows(&usable, 4, 2), vec![0, 2, 4, 6, 13]);
        assert_eq!(normal_windows(&usable, 6, 3), vec![0, 3]);
        assert!(normal_windows(&[false; 8], 4, 1).is_empty());
    }

    #[test]
    fn scaler_maps_into_unit_range_and_keeps_order() {
        let m = FeatureMatrix {
            frames: 3,
            data: (0..3 * N_FEATURES).map(|i| (i % 7) as f32 + 0.5).collect(),
        };
        let scaler = AudioScaler::fit(&[&m]).unwrap();
        let louder = FeatureMatrix {
            frames: 1,
            data: vec![100.0; N_FEATURES],
        };
        let s = scaler.apply(&louder).unwrap();
        let base = scaler.apply(&m).unwrap();
        assert!(s.data.iter().all(|&v| v > 0.0 && v <= 1.0));
        assert!(s.data[0] > base.data[0], "a larger value stays larger");
        // A column that is not in dB: the logistic of the z-score over the fitted frames.
        let c = avad_features::columns::SPECTRAL_CENTROID;
        let column: Vec<f64> = (0..3)
            .map(|t| f64::from(m.data[t * N_FEATURES + c]))
            .collect();
        let mean = column.iter().sum::<f64>() / 3.0;
        let std = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        assert!(std > 0.0);
        for t in 0..3 {
            let want = 1.0 / (1.0 + (-(column[t] - mean) / std).exp());
            let got = f64::from(base.data[t * N_FEATURES + c]);
            assert!((got - want).abs() < 1e-6, "frame {t}: {got} against {want}");
        }
        let at_mean = FeatureMatrix {
            frames: 1,
            data: vec![mean as f32; N_FEATURES],
        };
        let half = scaler.apply(&at_mean).unwrap().data[c];
        assert!((half - 0.5).abs() < 1e-6, "the mean maps to {half}");
    }

    /// One window: each frame's error is, by hand from the reconstruction, the root of
    /// the sum of squares over the 160 values, or of the sum over the eight features of
    /// each one's mean square.
    #[test]
    fn errors_add_up_the_values_or_the_eight_features() {
        use avad_features::columns::{
            MEL, MFCC, SPECTRAL_BANDWIDTH, SPECTRAL_CENTROID, SPECTRAL_CONTRAST, SPECTRAL_FLATNESS,
            SPECTRAL_ROLLOFF, ZERO_CROSSING_RATE,
        };
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        device.seed(5);
        let model = AudioAutoencoderConfig::new().init(&device).unwrap();
        let input = pattern(1, 16, &device);
        let x = crate::tensor_values(input.clone().reshape([16 * N_FEATURES])).unwrap();
        let y =
            crate::tensor_values(model.forward(input).unwrap().reshape([16 * N_FEATURES])).unwrap();
        let m = FeatureMatrix {
            frames: 16,
            data: x.clone(),
        };
        let values = audio_errors(&model, &m, 16, 16, 1, AudioError::Values, &device).unwrap();
        let features = audio_errors(&model, &m, 16, 16, 1, AudioError::Features, &device).unwrap();
        let groups = [
            SPECTRAL_FLATNESS..SPECTRAL_FLATNESS + 1,
            ZERO_CROSSING_RATE..ZERO_CROSSING_RATE + 1,
            SPECTRAL_CENTROID..SPECTRAL_CENTROID + 1,
            SPECTRAL_BANDWIDTH..SPECTRAL_BANDWIDTH + 1,
            MFCC,
            MEL,
            SPECTRAL_ROLLOFF..SPECTRAL_ROLLOFF + 1,
            SPECTRAL_CONTRAST,
        ];
        assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), N_FEATURES);
        for t in 0..16 {
            let sq = |i: usize| f64::from(x[t * N_FEATURES + i] - y[t * N_FEATURES + i]).powi(2);
            let all: f64 = (0..N_FEATURES).map(sq).sum();
            let per_feature: f64 = groups
                .iter()
                .map(|g| g.clone().map(sq).sum::<f64>() / g.len() as f64)
                .sum();
            assert!(
                (values[t] - all.sqrt()).abs() < 1e-5 * all.sqrt(),
                "frame {t}"
            );
            assert!(
                (features[t] - per_feature.sqrt()).abs() < 1e-5 * per_feature.sqrt(),
                "frame {t}"
            );
            assert!(features[t] < values[t], "the weights are at most 1");
        }
    }

    #[test]
    fn errors_cover_every_frame_even_of_short_clips() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        device.seed(4);
        let model = AudioAutoencoderConfig::new().init(&device).unwrap();
        let m = FeatureMatrix {
            frames: 37,
            data: (0..37 * N_FEATURES)
                .map(|i| ((i * 31) % 97) as f32 / 97.0)
                .collect(),
        };
        let e = audio_errors(&model, &m, 16, 4, 8, AudioError::Values, &device).unwrap();
        assert_eq!(e.len(), 37);
        assert!(e.iter().all(|v| v.is_finite() && *v > 0.0));
        // Batched as it may be, each window is scored on its own.
        let one_by_one = audio_errors(&model, &m, 16, 4, 1, AudioError::Values, &device).unwrap();
        for (a, b) in e.iter().zip(&one_by_one) {
            assert!((a - b).abs() <= 1e-5 * b, "{a} batched, {b} alone");
        }
        // A frame's error is the mean of its errors in the windows that cover it, each
        // window scored here as a clip of its own.
        let starts = avad_data::windows::scoring_windows(37, 16, 4);
        let alone: Vec<Vec<f64>> = starts
            .iter()
            .map(|w| {
                let window = FeatureMatrix {
                    frames: 16,
                    data: m.data[w.start * N_FEATURES..(w.start + 16) * N_FEATURES].to_vec(),
                };
                audio_errors(&model, &window, 16, 16, 1, AudioError::Values, &device).unwrap()
            })
            .collect();
        for (f, got) in e.iter().enumerate() {
            let covering: Vec<f64> = starts
                .iter()
                .zip(&alone)
                .filter(|(w, _)| (w.start..w.start + 16).contains(&f))
                .map(|(w, errs)| errs[f - w.start])
                .collect();
            assert!(!covering.is_empty(), "frame {f} covered");
            let want = covering.iter().sum::<f64>() / covering.len() as f64;
            assert!(
                (got - want).abs() <= 1e-5 * want,
                "frame {f}: {got} against {want}"
            );
        }
        let short = FeatureMatrix {
            frames: 5,
            data: m.data[..5 * N_FEATURES].to_vec(),
        };
        assert_eq!(
            audio_errors(&model, &short, 16, 4, 8, AudioError::Features, &device)
                .unwrap()
                .len(),
            5
        );
    }
}
