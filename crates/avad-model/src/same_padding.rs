//! Keras `Conv2DTranspose(padding="same")`, which burn's `ConvTranspose2d` (symmetric
//! padding only) cannot express on its own.
//!
//! TensorFlow computes a 'same' transposed convolution as the gradient of a 'same'
//! convolution from the `in * stride` output back to the input: it scatters the full
//! `(in - 1) * stride + kernel` result and keeps `in * stride` rows starting at the forward
//! convolution's top padding, `(kernel - stride) / 2` (floor; the odd row is cut at the
//! end). burn's symmetric `padding = p` crops `p` from both ends, so this layer pads by the
//! top amount and then narrows the surplus off the bottom/right. For 5x5 with stride 2 that
//! crops rows (1, 2); with stride 4, (0, 1). A symmetric crop, as in the PyTorch
//! reference's `padding=2, output_padding=s-1`, shifts the picture by a pixel.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::{Device, Tensor};

use crate::ModelError;

/// Configuration of a [`ConvTranspose2dSame`].
#[derive(Config, Debug)]
pub struct ConvTranspose2dSameConfig {
    /// `[input, output]` channels.
    pub channels: [usize; 2],
    /// Kernel size.
    pub kernel_size: [usize; 2],
    /// Stride: the output is `input * stride` in each spatial dimension.
    pub stride: [usize; 2],
}

/// Transposed 2-D convolution with Keras/TensorFlow 'same' padding:
/// `[batch, in, h, w]` → `[batch, out, h * stride, w * stride]`.
#[derive(Module, Debug)]
pub struct ConvTranspose2dSame {
    /// The underlying transposed convolution, padded by the top/left crop.
    pub conv: ConvTranspose2d,
    /// Stride, kept to size the output.
    pub stride: [usize; 2],
}

impl ConvTranspose2dSameConfig {
    /// Build the layer on `device` with burn's default initialisation.
    ///
    /// A kernel smaller than its stride is refused: its full result is shorter than
    /// `in * stride`, a case Keras fills with bias-only rows and no layer of Table 3 has.
    pub fn init(&self, device: &Device) -> Result<ConvTranspose2dSame, ModelError> {
        if self.kernel_size[0] < self.stride[0] || self.kernel_size[1] < self.stride[1] {
            return Err(ModelError::KernelSmallerThanStride {
                kernel: self.kernel_size,
                stride: self.stride,
            });
        }
        let leading = |k: usize, s: usize| k.saturating_sub(s) / 2;
        let conv = ConvTranspose2dConfig::new(self.channels, self.kernel_size)
            .with_stride(self.stride)
            .with_padding([
                leading(self.kernel_size[0], self.stride[0]),
                leading(self.kernel_size[1], self.stride[1]),
            ])
            .init(device);
        Ok(ConvTranspose2dSame {
            conv,
            stride: self.stride,
        })
    }
}

impl ConvTranspose2dSame {
    /// The transposed convolution before its crop, with the `[height, width]` that
    /// [`ConvTranspose2dSame::forward`] keeps of it (the top-left part). A caller that
    /// reads the planes itself can skip the copy a narrowed view costs.
    pub fn forward_uncropped(&self, input: Tensor<4>) -> (Tensor<4>, [usize; 2]) {
        let [_, _, height, width] = input.dims();
        let size = [height * self.stride[0], width * self.stride[1]];
        (crate::host_ops::conv_transpose2d(&self.conv, input), size)
    }

    /// Applies the layer to `[batch, channels_in, height, width]`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let (output, [out_h, out_w]) = self.forward_uncropped(input);
        // init() refused kernels smaller than the stride, so full >= in * stride here.
        let [_, _, full_h, full_w] = output.dims();
        let output = if full_h > out_h {
            output.narrow(2, 0, out_h)
        } else {
            output
        };
        if full_w > out_w {
            output.narrow(3, 0, out_w)
        } else {
            output
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{assert_close, floats, load, shape, tensor, values};
    use burn::module::Param;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::TensorData;

    fn bias(case: &serde_json::Value, device: &Device) -> Param<Tensor<1>> {
        let b = floats(case, "bias");
        let n = b.len();
        Param::from_data(TensorData::new(b, [n]), device)
    }

    /// Both strided layer kinds of Table 3 against numpy's TensorFlow-'same' reference:
    /// Conv2D 5x5/4 with asymmetric padding, Conv2DTranspose 5x5 with stride 2 and 4.
    #[test]
    fn strided_same_layers_match_tensorflow_padding() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        let fixture = load("keras_same_reference.json");
        let cases = fixture["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let stride = case["stride"].as_u64().unwrap() as usize;
            let kernel = case["kernel"].as_u64().unwrap() as usize;
            let [cin, cout] = {
                let [a, b, _, _] = shape::<4>(case, "weight_shape");
                if case["kind"] == "conv" {
                    [b, a]
                } else {
                    [a, b]
                }
            };
            let input: Tensor<4> = tensor(case, "input", "input_shape", &device);
            let weight: Tensor<4> = tensor(case, "weight", "weight_shape", &device);
            let output = if case["kind"] == "conv" {
                let mut conv = Conv2dConfig::new([cin, cout], [kernel; 2])
                    .with_stride([stride; 2])
                    .with_padding(PaddingConfig2d::Same)
                    .init(&device);
                conv.weight = Param::from_tensor(weight);
                conv.bias = Some(bias(case, &device));
                conv.forward(input)
            } else {
                let mut layer =
                    ConvTranspose2dSameConfig::new([cin, cout], [kernel; 2], [stride; 2])
                        .init(&device)
                        .unwrap();
                layer.conv.weight = Param::from_tensor(weight);
                layer.conv.bias = Some(bias(case, &device));
                layer.forward(input)
            };
            let what = format!("{} stride {stride}", case["kind"]);
            assert_eq!(output.dims(), shape::<4>(case, "output_shape"), "{what}");
            assert_close(&values(output), &floats(case, "output"), 1e-5, &what);
        }
    }

    #[test]
    fn kernel_smaller_than_stride_is_refused() {
        let _rng = crate::fixtures::rng_lock();
        let result = ConvTranspose2dSameConfig::new([1, 1], [3, 3], [4, 4]).init(&Device::flex());
        assert!(matches!(
            result,
            Err(ModelError::KernelSmallerThanStride { .. })
        ));
    }
}
