//! The visual sequence-to-sequence autoencoder of Tariq et al. 2024, §3.2.2 and Table 3.
//!
//! ```text
//! [B, T, 1, H, W]   frames in [0, 1]
//!   Conv2D 32, 5x5 / 4, BN, LeakyReLU        (layer 1, time-distributed)
//!   Conv2D 64, 5x5 / 2, BN                   (layer 2)
//!   ConvLSTM2D 64, 32, 64 (3x3), BN after each  (layers 3-5, return sequences)
//!   Conv2DTranspose 64, 5x5 / 2, BN          (layer 6)
//!   Conv2DTranspose 32, 5x5 / 4, BN, LeakyReLU  (layer 7)
//!   Conv2D 1, 7x7, sigmoid                   (layer 8)
//! [B, T, 1, H, W]   reconstruction in (0, 1)
//! ```
//!
//! All padding is Keras 'same' (asymmetric for the strided layers), so `H` and `W` must be
//! multiples of 8 (the product of the encoder strides). Batch norm sits "between each
//! layer" (§3.2.2) where /work/shared/bench/torch_reference.py puts it; activations follow
//! Table 3's row (LeakyReLU on layers 1 and 7 only, sigmoid on 8).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor};

use crate::convlstm::{ConvLstm2d, ConvLstm2dConfig};
use crate::fast_conv::conv2d_same_fast;
use crate::host_ops::norm_leaky;
use crate::same_padding::{ConvTranspose2dSame, ConvTranspose2dSameConfig};
use crate::train::Objective;
use crate::ModelError;
use burn::nn::loss::{MseLoss, Reduction};

/// Hyper-parameters of the visual autoencoder. The defaults are the paper's (Table 3) and
/// Keras' (where the paper names a layer but not its settings).
#[derive(Config, Debug)]
pub struct VisualAutoencoderConfig {
    /// Filters of the two spatial encoder convolutions (Table 3, layers 1-2).
    #[config(default = "[32, 64]")]
    pub encoder_filters: [usize; 2],
    /// Strides of the encoder convolutions (Table 3, layers 1-2); the decoder mirrors them.
    #[config(default = "[4, 2]")]
    pub encoder_strides: [usize; 2],
    /// Kernel side of the encoder and decoder convolutions (Table 3, layers 1-2 and 6-7).
    #[config(default = 5)]
    pub spatial_kernel: usize,
    /// Filters of the three ConvLSTM layers (Table 3, layers 3-5).
    #[config(default = "[64, 32, 64]")]
    pub convlstm_filters: [usize; 3],
    /// Kernel side of the ConvLSTM layers (Table 3, layers 3-5).
    #[config(default = 3)]
    pub convlstm_kernel: usize,
    /// Filters of the two transposed convolutions (Table 3, layers 6-7).
    #[config(default = "[64, 32]")]
    pub decoder_filters: [usize; 2],
    /// Kernel side of the prediction convolution (Table 3, layer 8).
    #[config(default = 7)]
    pub output_kernel: usize,
    /// LeakyReLU negative slope. The paper names LeakyReLU without a slope; 0.3 is the
    /// Keras layer's default (the PyTorch timing reference uses 0.2 at the same cost).
    #[config(default = 0.3)]
    pub leaky_relu_slope: f64,
    /// Batch-norm epsilon (Keras `BatchNormalization` default).
    #[config(default = 1e-3)]
    pub batch_norm_epsilon: f64,
    /// Weight of the new batch in the running statistics that scoring uses. Keras'
    /// `momentum=0.99` (burn's 0.01) still holds 37 % of the initial statistics after 100
    /// training steps, and a short CPU run (the `cpu` preset takes about 260) scores with
    /// statistics that never saw the data; avad uses PyTorch's default, 0.1, instead.
    #[config(default = 0.1)]
    pub batch_norm_momentum: f64,
}

/// The visual autoencoder (Table 3). Input and output `[batch, steps, 1, height, width]`.
#[derive(Module, Debug)]
pub struct VisualAutoencoder {
    /// Layer 1: Conv2D 32, 5x5, stride 4.
    pub conv1: Conv2d,
    /// Batch norm after layer 1.
    pub norm1: BatchNorm,
    /// Layer 2: Conv2D 64, 5x5, stride 2.
    pub conv2: Conv2d,
    /// Batch norm after layer 2.
    pub norm2: BatchNorm,
    /// Layer 3: ConvLSTM2D 64.
    pub convlstm1: ConvLstm2d,
    /// Batch norm after layer 3.
    pub norm3: BatchNorm,
    /// Layer 4: ConvLSTM2D 32.
    pub convlstm2: ConvLstm2d,
    /// Batch norm after layer 4.
    pub norm4: BatchNorm,
    /// Layer 5: ConvLSTM2D 64.
    pub convlstm3: ConvLstm2d,
    /// Batch norm after layer 5.
    pub norm5: BatchNorm,
    /// Layer 6: Conv2DTranspose 64, 5x5, stride 2.
    pub deconv1: ConvTranspose2dSame,
    /// Batch norm after layer 6.
    pub norm6: BatchNorm,
    /// Layer 7: Conv2DTranspose 32, 5x5, stride 4.
    pub deconv2: ConvTranspose2dSame,
    /// Batch norm after layer 7.
    pub norm7: BatchNorm,
    /// Layer 8: Conv2D 1, 7x7, followed by a sigmoid.
    pub output: Conv2d,
    /// LeakyReLU negative slope of layers 1 and 7.
    pub leaky_relu_slope: f64,
    /// Product of the encoder strides: frame sides must be multiples of it.
    pub downsampling: usize,
}

impl VisualAutoencoderConfig {
    /// Build the model on `device` (e.g. `Device::flex().autodiff()` to train).
    pub fn init(&self, device: &Device) -> Result<VisualAutoencoder, ModelError> {
        let [enc1, enc2] = self.encoder_filters;
        let [s1, s2] = self.encoder_strides;
        let [lstm1, lstm2, lstm3] = self.convlstm_filters;
        let [dec1, dec2] = self.decoder_filters;
        let k = [self.spatial_kernel; 2];
        let norm = |channels: usize| {
            BatchNormConfig::new(channels)
                .with_epsilon(self.batch_norm_epsilon)
                .with_momentum(self.batch_norm_momentum)
                .init(device)
        };
        let convlstm = |input: usize, hidden: usize| {
            ConvLstm2dConfig::new(input, hidden)
                .with_kernel_size([self.convlstm_kernel; 2])
                .init(device)
        };
        Ok(VisualAutoencoder {
            conv1: Conv2dConfig::new([1, enc1], k)
                .with_stride([s1; 2])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            norm1: norm(enc1),
            conv2: Conv2dConfig::new([enc1, enc2], k)
                .with_stride([s2; 2])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            norm2: norm(enc2),
            convlstm1: convlstm(enc2, lstm1),
            norm3: norm(lstm1),
            convlstm2: convlstm(lstm1, lstm2),
            norm4: norm(lstm2),
            convlstm3: convlstm(lstm2, lstm3),
            norm5: norm(lstm3),
            deconv1: ConvTranspose2dSameConfig::new([lstm3, dec1], k, [s2; 2]).init(device)?,
            norm6: norm(dec1),
            deconv2: ConvTranspose2dSameConfig::new([dec1, dec2], k, [s1; 2]).init(device)?,
            norm7: norm(dec2),
            output: Conv2dConfig::new([dec2, 1], [self.output_kernel; 2])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            leaky_relu_slope: self.leaky_relu_slope,
            downsampling: s1 * s2,
        })
    }
}

impl VisualAutoencoder {
    /// Checks that `dims` is `[batch, steps, 1, height, width]` with every size positive and
    /// `height`, `width` multiples of the encoder's downsampling (8 for Table 3).
    pub fn check_input_dims(&self, dims: [usize; 5]) -> Result<(), ModelError> {
        let [batch, steps, channels, height, width] = dims;
        let m = self.downsampling;
        let sides_ok = height > 0 && width > 0 && height % m == 0 && width % m == 0;
        if batch == 0 || steps == 0 || channels != 1 || !sides_ok {
            return Err(ModelError::VisualInputShape { dims, multiple: m });
        }
        Ok(())
    }

    /// Reconstructs `frames` `[batch, steps, 1, height, width]`: the same shape, values in
    /// (0, 1). Batch norm uses batch statistics (and updates its running ones) on an
    /// autodiff device; call [`Module::valid`] for evaluation.
    pub fn forward(&self, frames: Tensor<5>) -> Result<Tensor<5>, ModelError> {
        let dims = frames.dims();
        self.check_input_dims(dims)?;
        let [batch, steps, _, height, width] = dims;
        let slope = self.leaky_relu_slope;
        let per_frame = |x: Tensor<5>| {
            let [b, t, c, h, w] = x.dims();
            x.reshape([b * t, c, h, w])
        };
        let per_sequence = |x: Tensor<4>| {
            let [_, c, h, w] = x.dims();
            x.reshape([batch, steps, c, h, w])
        };
        // Batch norm of a sequence normalises each channel over batch, time and space, as
        // Keras' BatchNormalization does on a 5-D tensor.
        // Each batch norm (and the LeakyReLU after it, where Table 3 has one) is one custom
        // operation in training on the CPU (host_ops.rs), burn's layers otherwise.
        let norm_sequence =
            |norm: &BatchNorm, x: Tensor<5>| per_sequence(norm_leaky(norm, per_frame(x), 1.0));

        let x = per_frame(frames);
        let x = norm_leaky(&self.norm1, self.conv1.forward(x), slope);
        let x = norm_leaky(&self.norm2, self.conv2.forward(x), 1.0);
        let x = per_sequence(x);
        let x = norm_sequence(&self.norm3, self.convlstm1.forward(x));
        let x = norm_sequence(&self.norm4, self.convlstm2.forward(x));
        let x = norm_sequence(&self.norm5, self.convlstm3.forward(x));
        let x = per_frame(x);
        let x = norm_leaky(&self.norm6, self.deconv1.forward(x), 1.0);
        let (x, size) = self.deconv2.forward_uncropped(x);
        let x = sigmoid(self.head_cropped(x, size)?);
        Ok(x.reshape([batch, steps, 1, height, width]))
    }
}

impl VisualAutoencoder {
    /// Layer 7's batch norm and LeakyReLU, then the output layer (before its sigmoid). For
    /// inference on the CPU the three are one pass on the host
    /// ([`crate::host_conv::norm_leaky_conv2d_single_output`], the same values to the bit);
    /// otherwise [`norm_leaky`] and then [`VisualAutoencoder::output_conv`].
    pub fn head(&self, x: Tensor<4>) -> Result<Tensor<4>, ModelError> {
        if crate::host_conv::applies(&self.output, &x) {
            return crate::host_conv::norm_leaky_conv2d_single_output(
                &self.norm7,
                self.leaky_relu_slope,
                &self.output,
                x,
            );
        }
        self.output_conv(norm_leaky(&self.norm7, x, self.leaky_relu_slope))
    }

    /// [`VisualAutoencoder::head`] of the top-left `[height, width]` of `x`'s planes (the
    /// stride-4 transposed convolution's crop): on the host the planes are read where they
    /// lie, the same values to the bit as `head` of `x` narrowed, without copying the view.
    pub fn head_cropped(&self, x: Tensor<4>, [h, w]: [usize; 2]) -> Result<Tensor<4>, ModelError> {
        if crate::host_conv::applies(&self.output, &x) {
            return crate::host_conv::norm_leaky_conv2d_single_output_cropped(
                &self.norm7,
                self.leaky_relu_slope,
                &self.output,
                x,
                [h, w],
            );
        }
        let [_, _, full_h, full_w] = x.dims();
        let x = if full_h > h { x.narrow(2, 0, h) } else { x };
        let x = if full_w > w { x.narrow(3, 0, w) } else { x };
        self.head(x)
    }

    /// The output layer (before its sigmoid): on the host on the CPU, for inference
    /// (host_conv.rs, about half the time there) and in training (a custom operation with its
    /// own backward, host_ops.rs); through burn's operations otherwise.
    pub fn output_conv(&self, x: Tensor<4>) -> Result<Tensor<4>, ModelError> {
        if crate::host_conv::applies(&self.output, &x) {
            crate::host_conv::conv2d_single_output(&self.output, x)
        } else if crate::host_ops::conv_applies(&self.output, &x) {
            Ok(crate::host_ops::conv_single_output(&self.output, x))
        } else {
            Ok(conv2d_same_fast(&self.output, x))
        }
    }
}

impl Objective for VisualAutoencoder {
    type Batch = Tensor<5>;

    /// Mean squared error between the frames and their reconstruction (the paper's loss).
    fn loss(&self, frames: Tensor<5>) -> Result<Tensor<1>, ModelError> {
        let output = self.forward(frames.clone())?;
        Ok(MseLoss::new().forward(output, frames, Reduction::Mean))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::values;
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::TensorData;

    /// Smooth moving blobs in [0.1, 0.9]: deterministic, different in every frame.
    fn moving_pattern(dims: [usize; 5], device: &Device) -> Tensor<5> {
        let [b, t, _, h, w] = dims;
        let mut data = Vec::with_capacity(b * t * h * w);
        for bi in 0..b {
            for ti in 0..t {
                for y in 0..h {
                    for x in 0..w {
                        let phase = 0.4 * ti as f32 + 1.3 * bi as f32;
                        let v = (0.21 * x as f32 + phase).sin() * (0.17 * y as f32 - phase).cos();
                        data.push(0.5 + 0.4 * v);
                    }
                }
            }
        }
        Tensor::from_data(TensorData::new(data, dims), device)
    }

    fn assert_reconstruction_shape(side: usize) {
        let device = Device::flex();
        device.seed(1);
        let model = VisualAutoencoderConfig::new().init(&device).unwrap();
        let dims = [1, 10, 1, side, side];
        let output = model.forward(moving_pattern(dims, &device)).unwrap();
        assert_eq!(output.dims(), dims);
        let out = values(output);
        assert!(
            out.iter().all(|v| *v > 0.0 && *v < 1.0),
            "{side}: sigmoid output outside (0, 1)"
        );
        let spread = out.iter().cloned().fold(f32::MIN, f32::max)
            - out.iter().cloned().fold(f32::MAX, f32::min);
        assert!(spread > 1e-4, "{side}: constant output {spread}");
    }

    /// Table 3's layers, counted by hand as Keras' `model.summary()` counts them ("Total
    /// params", batch norm's moving statistics included).
    #[test]
    fn has_the_parameters_of_table_3() {
        use burn::module::Module;
        let m = VisualAutoencoderConfig::new()
            .init(&Device::flex())
            .unwrap();
        // ConvLSTM2D: input and recurrent 3x3 kernels to 4 gates, one bias per gate unit.
        let convlstm =
            |input: usize, filters: usize| 9 * (input + filters) * 4 * filters + 4 * filters;
        let expected = [
            ("conv1", m.conv1.num_params(), 5 * 5 * 32 + 32),
            ("conv2", m.conv2.num_params(), 5 * 5 * 32 * 64 + 64),
            ("convlstm1", m.convlstm1.num_params(), convlstm(64, 64)),
            ("convlstm2", m.convlstm2.num_params(), convlstm(64, 32)),
            ("convlstm3", m.convlstm3.num_params(), convlstm(32, 64)),
            ("deconv1", m.deconv1.num_params(), 5 * 5 * 64 * 64 + 64),
            ("deconv2", m.deconv2.num_params(), 5 * 5 * 64 * 32 + 32),
            ("output", m.output.num_params(), 7 * 7 * 32 + 1),
        ];
        for (name, got, want) in expected {
            assert_eq!(got, want, "{name}");
        }
        // Seven batch norms (32, 64, 64, 32, 64, 64, 32 channels): a scale, a shift, a
        // running mean and variance per channel.
        assert_eq!(m.num_params(), 834_689 + 4 * 352);
    }

    #[test]
    fn reconstructs_paper_size_240() {
        let _rng = crate::fixtures::rng_lock();
        assert_reconstruction_shape(240);
    }

    #[test]
    fn reconstructs_cpu_size_120() {
        let _rng = crate::fixtures::rng_lock();
        assert_reconstruction_shape(120);
    }

    #[test]
    fn refuses_sides_not_multiple_of_8_and_colour_frames() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        let model = VisualAutoencoderConfig::new().init(&device).unwrap();
        for dims in [
            [1, 10, 1, 100, 96],
            [1, 10, 3, 96, 96],
            [0, 10, 1, 96, 96],
            [1, 10, 1, 0, 0],
        ] {
            let frames = Tensor::<5>::zeros(dims, &device);
            let err = model.forward(frames).unwrap_err();
            assert!(
                matches!(err, ModelError::VisualInputShape { multiple: 8, .. }),
                "{dims:?}"
            );
        }
        assert!(model.check_input_dims([2, 10, 1, 96, 128]).is_ok());
    }

    /// Adam + MSE on one fixed batch: the loss falls, and every layer's weights move (a
    /// layer cut off from the gradient, e.g. a ConvLSTM's recurrent convolution, would not).
    #[test]
    fn adam_steps_reduce_mse_and_reach_every_layer() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex().autodiff();
        device.seed(3);
        let mut model = VisualAutoencoderConfig::new().init(&device).unwrap();
        let mut optim = AdamConfig::new().init();
        let batch = moving_pattern([2, 4, 1, 32, 32], &device);
        let watched = |m: &VisualAutoencoder| {
            vec![
                values(m.conv1.weight.val()),
                values(m.convlstm1.input_conv.weight.val()),
                values(m.convlstm2.hidden_conv.weight.val()),
                values(m.convlstm3.hidden_conv.weight.val()),
                values(m.deconv1.conv.weight.val()),
                values(m.deconv2.conv.weight.val()),
                values(m.output.weight.val()),
                values(m.norm5.gamma.val()),
            ]
        };
        let before = watched(&model);
        let mut losses = Vec::new();
        for _ in 0..6 {
            let output = model.forward(batch.clone()).unwrap();
            let loss = MseLoss::new().forward(output, batch.clone(), Reduction::Mean);
            losses.push(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
        }
        eprintln!("MSE per step: {losses:?}");
        assert!(losses.iter().all(|l| l.is_finite()));
        assert!(losses[5] < 0.8 * losses[0], "loss did not fall: {losses:?}");
        for (k, (a, b)) in before.iter().zip(watched(&model)).enumerate() {
            let moved = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(
                moved > 1e-5,
                "watched parameter {k} did not change ({moved})"
            );
        }
    }
}
