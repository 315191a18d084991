//! Parts of the models' training step and inference as custom operations of burn's CPU
//! backend (flex), those that train with their own backward pass, through burn's
//! backend-extension mechanism (`#[backend_extension]`, with the backward written for
//! `Autodiff<B, C>` as burn's own crates write theirs, e.g. burn-signal's FFT):
//!
//! * [`norm_leaky`]: batch norm, then LeakyReLU, as one operation. In training, on the
//!   batch's statistics: burn 0.22 composes its training batch norm out of tensor
//!   operations, about twenty whole-tensor passes forward and backward, two of them
//!   transposing copies; here the forward reads the input twice and writes once, the
//!   backward reads twice and writes once. In inference, on the running statistics: one
//!   pass with burn's own f32 operations in burn's order, so its output is burn's to the bit.
//! * [`lstm_cell`]: an LSTM or ConvLSTM step's gate arithmetic (three logistic functions,
//!   two tanh, the cell and hidden updates), which burn runs as a dozen small operations
//!   per step, in training and in inference; the backward recomputes the activations from
//!   the saved inputs.
//! * [`conv_single_output`]: the output layer (Conv2D C → 1, K x K, 'same') in training,
//!   forward and backward computed on the host ([`crate::host_conv`]'s register-blocked
//!   rows for the output and for the input's gradient, a dot product per tap for the
//!   weights' gradient).
//! * [`dense_block`]: the fusion net's block (dense layer, LeakyReLU, batch norm) in
//!   training and in inference, its matrix products through `gemm` on the tensors as they
//!   lie, the input's and the weights' gradients on a thread each.
//! * [`lstm_sequence`]: an LSTM's whole recurrence (every step's product of the hidden
//!   state and its gate arithmetic) in training and in inference; its backward runs the
//!   steps in reverse and takes the recurrent weights' gradient as one product.
//! * [`conv_same_add`]: a 'same' convolution added to a base: in inference of one image (a
//!   ConvLSTM step's state-to-state convolution in a live window, added to the step's
//!   gates), in training of a batch (a ConvLSTM's input-to-state convolution over all
//!   steps), forward and backward as matrix products over the whole batch;
//!   [`conv_lstm_sequence`]: a ConvLSTM's whole recurrence in training (every step's
//!   state-to-state convolution as such a product, and its gate arithmetic), its backward
//!   running the steps in reverse.
//! * [`conv1d`] and [`conv_transpose1d`]: the audio model's convolutions in training, the
//!   whole batch's (position, tap) matrix by the weights in one product, forward and
//!   backward; [`logistic`]: its output's sigmoid in training.
//! * [`conv_transpose2d`]: the visual decoder's transposed convolutions in training, each
//!   image's product with the weights scattered onto the output, and the backward's two
//!   products per image.
//! * [`HostOps::adam_update`]: one Adam step of a parameter in one pass, for
//!   [`crate::optim::HostAdam`]; burn's values to the bit.
//!
//! The training operations, [`dense_block`], [`conv_same_add`] and [`lstm_cell`] compute
//! the same math as burn's layers, with other float rounding (the exponential is a
//! polynomial within a few ulp; the sums run in another order); the tests compare the
//! values and the gradients with burn's. [`lstm_sequence`]'s forward adds each step's
//! product to its gates as burn's ops did, so its output is the per-step path's. They run
//! on the CPU device with f32 tensors; every other device keeps burn's operations (each
//! public function here falls back to them). The loops are compiled for AVX2 + FMA where
//! the CPU has them.

use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch};
use burn::nn::conv::{Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d};
use burn::nn::{BatchNorm, Linear, PaddingConfig1d};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{DType, Device, Tensor};

use crate::host_conv;

/// Defines `fn $name` whose body is compiled twice, for the baseline CPU and for AVX2 + FMA,
/// and picks the second when the CPU has them (the loops here are written to vectorise).
macro_rules! simd_kernel {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? { body($($arg),*) }
                if host_conv::has_avx2_fma() {
                    // SAFETY: the CPU has AVX2 and FMA.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}

mod autodiff;
mod conv;
mod conv1d;
mod conv_lstm;
mod conv_same;
mod conv_transpose;
mod dense;
mod flex;
mod lstm;
mod norm;
pub(crate) mod parallel;
pub(crate) use norm::normalise_infer;
#[cfg(test)]
mod tests;

/// The custom operations, implemented for flex and for autodiff over it.
#[backend_extension(Flex, Autodiff)]
pub trait HostOps: Backend {
    /// `leaky_relu(batch_norm(x), slope)` with the statistics of `x` (`[n, c, ...]`) over all
    /// but its channel axis; returns the output, the batch mean and the biased variance.
    fn norm_leaky_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// The gradients of [`HostOps::norm_leaky_train`] for `x`, `gamma` and `beta`, given
    /// its output's gradient and the statistics it returned.
    #[allow(clippy::too_many_arguments)]
    fn norm_leaky_train_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// Batch norm with the given statistics (inference), then LeakyReLU unless `slope` is 1:
    /// the f32 operations of burn's `batch_norm` and `leaky_relu`, in the same order, in one
    /// pass, so the output is burn's to the bit.
    #[allow(clippy::too_many_arguments)]
    fn norm_leaky_infer(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> FloatTensor<Self>;

    /// One LSTM or ConvLSTM step's gate arithmetic: from `gates` (`[b, 4h, ...]`, the pre-activations
    /// of the input, forget, cell and output gates in that order) and the previous cell
    /// state `cell` (`[b, h, ...]`), the new hidden and cell states side by side, `[b, 2h, ...]`.
    fn lstm_cell(gates: FloatTensor<Self>, cell: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The gradients of [`HostOps::lstm_cell`] for `gates` and `cell`.
    fn lstm_cell_backward(
        gates: FloatTensor<Self>,
        cell: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// A whole LSTM sequence from the input's share of its gates: `from_input` `[steps,
    /// batch, 4h]` (gates i, f, g, o), `w_hidden` `[h, 4h]`, the starting state `hidden` and
    /// `cell` `[batch, h]` (`hidden` not read unless `has_hidden`: a zero state). Returns
    /// `[steps + 1, batch, h]` (every step's hidden state, then the last cell state) and
    /// the record its backward reads, `[steps, batch, 5h]` laid out as every step's gates
    /// before their activations (`[steps, batch, 4h]`), then the cell state before each
    /// step (`[steps, batch, h]`).
    fn lstm_sequence(
        from_input: FloatTensor<Self>,
        w_hidden: FloatTensor<Self>,
        hidden: FloatTensor<Self>,
        cell: FloatTensor<Self>,
        has_hidden: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// The gradients of [`HostOps::lstm_sequence`] for `from_input`, `w_hidden`, `hidden`
    /// and `cell`, from the output and record it returned and the output's gradient.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn lstm_sequence_backward(
        w_hidden: FloatTensor<Self>,
        hidden: FloatTensor<Self>,
        has_hidden: bool,
        output: FloatTensor<Self>,
        record: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );

    /// A stride-1 'same' convolution of `x` (`[n, c, h, w]`) with one output channel:
    /// `weight` `[1, c, kh, kw]` (odd sides), `bias` `[1]`; returns `[n, 1, h, w]`.
    fn conv_single_output(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self>;

    /// The gradients of [`HostOps::conv_single_output`] for `x`, `weight` and `bias`.
    fn conv_single_output_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// A dense block in training: `z = x W + b` (`x` `[n, i]`, `weight` `[i, o]`, `bias`
    /// `[o]`), LeakyReLU, then batch norm on the batch's statistics (`gamma`, `beta` `[o]`).
    /// Returns the output, `z`, and the batch mean and biased variance of the LeakyReLU's
    /// output.
    #[allow(clippy::type_complexity)]
    fn dense_block_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );

    /// The gradients of [`HostOps::dense_block_train`] for `x`, `weight`, `bias`, `gamma` and
    /// `beta`, given its output's gradient and the `z` and statistics it returned.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn dense_block_train_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        z: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
        grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );

    /// A dense block in inference: `z = x W + b`, LeakyReLU, then batch norm with the given
    /// (running) statistics.
    #[allow(clippy::too_many_arguments)]
    fn dense_block_infer(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> FloatTensor<Self>;

    /// A 1-D convolution, or transposed convolution, in training: `x` `[n, c_in, len]`,
    /// `weight` `[c_out, c_in, k]` (transposed: `[c_in, c_out, k]`), `bias` `[c_out]`;
    /// returns `[n, c_out, geometry.out_len]`.
    fn conv1d_batched(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: Conv1dGeometry,
    ) -> FloatTensor<Self>;

    /// The gradients of [`HostOps::conv1d_batched`] for `x` (where `input_grad`; else
    /// `None`: the model's input needs none), `weight` and `bias`.
    #[allow(clippy::type_complexity)]
    fn conv1d_batched_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: Conv1dGeometry,
        input_grad: bool,
    ) -> (
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );

    /// The logistic function `1 / (1 + e^-x)` of every value, in training (its exponential
    /// the LSTM cell's polynomial, within a few ulp of `exp`).
    fn logistic(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// The gradient of [`HostOps::logistic`] from its output `y` and the output's
    /// gradient: `grad · y (1 − y)`.
    fn logistic_backward(y: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `base + conv(x, weight)` for an undilated, ungrouped 'same' convolution (burn's
    /// padding) with this stride: `x` `[n, c, h, w]`, `weight` `[o, c, kh, kw]`, `base` `[n,
    /// o, ceil(h / stride), ceil(w / stride)]` (the bias, or what the convolution adds to).
    /// In inference, of one image; in training, of any batch.
    fn conv_same_add(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        base: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self>;

    /// The gradients of [`HostOps::conv_same_add`] for `x` (where `input_grad`) and
    /// `weight`, from the output's gradient (which is also the base's).
    fn conv_same_add_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        stride: [usize; 2],
        input_grad: bool,
    ) -> (Option<FloatTensor<Self>>, FloatTensor<Self>);

    /// A ConvLSTM's whole recurrence in training, from zero states: `input_gates` `[batch,
    /// steps, 4h, y, x]` (every step's input-to-state convolution and bias; gates i, f, g,
    /// o), `w_hidden` `[4h, h, k, k]` (the state-to-state convolution: 'same', stride 1, no
    /// bias). Returns every step's hidden state, `[batch, steps, h, y, x]`, and the record
    /// its backward reads: every step's gates before their activations, then the cell
    /// state before each step.
    fn conv_lstm_sequence(
        input_gates: FloatTensor<Self>,
        w_hidden: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// The gradients of [`HostOps::conv_lstm_sequence`] for `input_gates` and `w_hidden`,
    /// from the output and record it returned and the output's gradient.
    fn conv_lstm_sequence_backward(
        w_hidden: FloatTensor<Self>,
        output: FloatTensor<Self>,
        record: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>);

    /// A 2-D transposed convolution in training: `x` `[n, c, h, w]`, `weight` `[c, o, kh,
    /// kw]`, `bias` `[o]`; returns `[n, o, (h − 1) · stride + kh + padding_out − 2 ·
    /// padding, …]`, burn's `ConvTranspose2d` (undilated, ungrouped). (Named apart from
    /// burn's own `conv_transpose2d` operation, which every backend has.)
    fn transposed_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvTranspose2dGeometry,
    ) -> FloatTensor<Self>;

    /// The gradients of [`HostOps::transposed_conv2d`] for `x` (where `input_grad`),
    /// `weight` and `bias`.
    #[allow(clippy::type_complexity)]
    fn transposed_conv2d_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        geometry: ConvTranspose2dGeometry,
        input_grad: bool,
    ) -> (
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    );

    /// One Adam update of `param` from `grad` and the two moments (not read on the first
    /// step, `factors.first`), in one pass: burn's `Adam` operation for operation, so every
    /// value is burn's to the bit. Returns the parameter and the two moments.
    fn adam_update(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        factors: AdamFactors,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// Where a [`HostOps::conv1d_batched`] reads: output position `i`, tap `k` of a convolution reads
/// input `i · stride + k − pad`; input position `i`, tap `k` of a transposed convolution
/// adds to output `i · stride + k − pad`. Undilated, ungrouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv1dGeometry {
    /// The stride.
    pub stride: usize,
    /// Zeros before the input (a convolution), or values cut off the front of the output
    /// (a transposed convolution).
    pub pad: usize,
    /// The output's length.
    pub out_len: usize,
    /// A transposed convolution.
    pub transposed: bool,
}

/// A [`HostOps::transposed_conv2d`]'s stride, padding (cut off both ends of the output) and
/// extra output rows and columns, as burn's `ConvTranspose2d` holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTranspose2dGeometry {
    /// The stride.
    pub stride: [usize; 2],
    /// The padding.
    pub padding: [usize; 2],
    /// The output padding.
    pub padding_out: [usize; 2],
}

/// The scalars of one Adam step, each computed as burn's `Adam` computes it (in f32).
#[derive(Debug, Clone, Copy)]
pub struct AdamFactors {
    /// The first step: the moments start from the gradient alone.
    pub first: bool,
    /// β1 and `1 − β1`.
    pub beta_1: (f32, f32),
    /// β2 and `1 − β2`.
    pub beta_2: (f32, f32),
    /// `sqrt(1 − β2^t) / (1 − β1^t)`.
    pub combined: f32,
    /// `ε · sqrt(1 − β2^t)`.
    pub epsilon: f32,
    /// The learning rate.
    pub learning_rate: f32,
}

/// Whether a tensor on `device` of `dtype` is an f32 tensor of the CPU device (flex), with or
/// without autodiff: where the host operations can run.
pub(crate) fn on_host(device: &Device, dtype: DType) -> bool {
    device.clone().inner() == Device::flex() && dtype == DType::F32
}

/// Whether the custom training operations run for a tensor on `device` of `dtype`: the CPU
/// device with autodiff (training), f32.
fn trains_on_host(device: &Device, dtype: DType) -> bool {
    device.is_autodiff() && on_host(device, dtype)
}

/// Whether [`norm_leaky`] runs `x` in inference as [`HostOps::norm_leaky_infer`]: the plain
/// CPU device, f32, and planes large enough that one pass beats burn's several (its result
/// is burn's either way).
fn infers_on_host<const D: usize>(device: &Device, x: &Tensor<D>) -> bool {
    let plane: usize = x.dims()[2..].iter().product();
    !device.is_autodiff() && on_host(device, x.dtype()) && plane >= 64
}

/// A whole LSTM sequence on the CPU as one host operation ([`HostOps::lstm_sequence`]):
/// `from_input` `[steps, batch, 4h]` (the input's share of every step's gates, i, f, g, o),
/// `w_hidden` `[h, 4h]`, the starting `(hidden, cell)` `[batch, h]` (`None` for the zero
/// hidden state). Returns every step's hidden state `[steps, batch, h]` and the last cell
/// state, or `None` off the CPU (the caller runs its steps).
pub fn lstm_sequence(
    from_input: Tensor<3>,
    w_hidden: Tensor<2>,
    hidden: Option<Tensor<2>>,
    cell: Tensor<2>,
) -> Option<(Tensor<3>, Tensor<2>)> {
    if !on_host(&from_input.device(), from_input.dtype()) {
        return None;
    }
    let [steps, batch, _] = from_input.dims();
    let h = w_hidden.dims()[0];
    let has_hidden = hidden.is_some();
    let hidden = hidden.unwrap_or_else(|| cell.zeros_like());
    let (out, _record) = <Dispatch as HostOps>::lstm_sequence(
        from_input.into_dispatch(),
        w_hidden.into_dispatch(),
        hidden.into_dispatch(),
        cell.into_dispatch(),
        has_hidden,
    );
    let out = Tensor::<3>::from_dispatch(out);
    let cell = out.clone().narrow(0, steps, 1).reshape([batch, h]);
    Some((out.narrow(0, 0, steps), cell))
}

/// `leaky_relu(norm.forward(x), slope)` (`slope` 1: `norm.forward(x)` alone), updating the
/// running statistics in training as burn's `BatchNorm` does. On the CPU it is one custom
/// operation: [`HostOps::norm_leaky_train`] in training, [`HostOps::norm_leaky_infer`] in
/// inference (burn's output to the bit); otherwise burn's layers.
pub fn norm_leaky<const D: usize>(norm: &BatchNorm, x: Tensor<D>, slope: f64) -> Tensor<D> {
    let device = x.device();
    // burn's batch norm takes its inference path on any device without autodiff.
    if infers_on_host(&device, &x) {
        let [mean, variance] = running_stats(norm, &device);
        return Tensor::from_dispatch(<Dispatch as HostOps>::norm_leaky_infer(
            x.into_dispatch(),
            norm.gamma.val().into_dispatch(),
            norm.beta.val().into_dispatch(),
            mean,
            variance,
            norm.epsilon,
            slope,
        ));
    }
    if !(norm.training.is_enabled() && trains_on_host(&device, x.dtype())) {
        let y = norm.forward(x);
        return if slope == 1.0 {
            y
        } else {
            burn::tensor::activation::leaky_relu(y, slope)
        };
    }
    let (y, mean, variance) = <Dispatch as HostOps>::norm_leaky_train(
        x.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        norm.epsilon,
        slope,
    );
    update_running(norm, mean, variance, &device);
    Tensor::from_dispatch(y)
}

/// `norm`'s running mean and variance on `device`, for an inference operation.
fn running_stats(norm: &BatchNorm, device: &Device) -> [FloatTensor<Dispatch>; 2] {
    [&norm.running_mean, &norm.running_var].map(|s| s.value().to_device(device).into_dispatch())
}

/// Moves `norm`'s running statistics towards a training batch's `mean` and biased
/// `variance`, as burn-nn's `BatchNorm::forward_train` does.
fn update_running(
    norm: &BatchNorm,
    mean: FloatTensor<Dispatch>,
    variance: FloatTensor<Dispatch>,
    device: &Device,
) {
    let (mean, variance) = (
        Tensor::<1>::from_dispatch(mean),
        Tensor::<1>::from_dispatch(variance),
    );
    let running_mean = norm.running_mean.value_sync().to_device(device);
    let running_var = norm.running_var.value_sync().to_device(device);
    let running_mean = running_mean
        .mul_scalar(1.0 - norm.momentum)
        .add(mean.detach().mul_scalar(norm.momentum));
    let running_var = running_var
        .mul_scalar(1.0 - norm.momentum)
        .add(variance.detach().mul_scalar(norm.momentum));
    norm.running_mean.update(running_mean.detach());
    norm.running_var.update(running_var.detach());
}

/// `norm.forward(leaky_relu(linear.forward(x), slope))` for `x` `[n, i]`, updating the
/// running statistics in training as burn's `BatchNorm` does. On the CPU it is one custom
/// operation ([`HostOps::dense_block_train`] in training, [`HostOps::dense_block_infer`] in
/// inference): the matrix products read the weights and the inputs where they lie, where
/// burn's backward copies their transposes, and the LeakyReLU and the batch norm are two
/// passes forward and three backward. Otherwise burn's layers.
pub fn dense_block(linear: &Linear, norm: &BatchNorm, x: Tensor<2>, slope: f64) -> Tensor<2> {
    let device = x.device();
    let host = on_host(&device, x.dtype());
    let training = device.is_autodiff() && norm.training.is_enabled();
    if !host || (device.is_autodiff() && !training) {
        let y = burn::tensor::activation::leaky_relu(linear.forward(x), slope);
        return norm.forward(y);
    }
    let bias = match &linear.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([linear.weight.dims()[1]], &device),
    };
    if !training {
        let [mean, variance] = running_stats(norm, &device);
        return Tensor::from_dispatch(<Dispatch as HostOps>::dense_block_infer(
            x.into_dispatch(),
            linear.weight.val().into_dispatch(),
            bias.into_dispatch(),
            norm.gamma.val().into_dispatch(),
            norm.beta.val().into_dispatch(),
            mean,
            variance,
            norm.epsilon,
            slope,
        ));
    }
    let (y, _z, mean, variance) = <Dispatch as HostOps>::dense_block_train(
        x.into_dispatch(),
        linear.weight.val().into_dispatch(),
        bias.into_dispatch(),
        norm.gamma.val().into_dispatch(),
        norm.beta.val().into_dispatch(),
        norm.epsilon,
        slope,
    );
    update_running(norm, mean, variance, &device);
    Tensor::from_dispatch(y)
}

/// One LSTM or ConvLSTM step from its gates' pre-activations `[b, 4h, ...]` (order i, f, g,
/// o) and the previous cell state `[b, h, ...]`: `(hidden, cell)` with `c = σ(f) c_prev +
/// σ(i) tanh(g)`, `h = σ(o) tanh(c)`. On the CPU, in training and in inference, one custom
/// operation ([`HostOps::lstm_cell`], whose exponential is a polynomial within a few ulp);
/// on other devices burn's operations.
pub fn lstm_cell<const D: usize>(gates: Tensor<D>, cell: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
    let host = on_host(&gates.device(), gates.dtype());
    let h = cell.dims()[1];
    if !host {
        let gate = |k: usize| gates.clone().narrow(1, k * h, h);
        let (i, f, g, o) = (gate(0), gate(1), gate(2), gate(3));
        let cell = sigmoid(f) * cell + sigmoid(i) * tanh(g);
        let hidden = sigmoid(o) * tanh(cell.clone());
        return (hidden, cell);
    }
    let both = Tensor::<D>::from_dispatch(<Dispatch as HostOps>::lstm_cell(
        gates.into_dispatch(),
        cell.into_dispatch(),
    ));
    (both.clone().narrow(1, 0, h), both.narrow(1, h, h))
}

/// `conv.forward(x)`, plus `base` where given. On the CPU, for an undilated, ungrouped
/// convolution with 'same' padding, one host operation ([`HostOps::conv_same_add`]: the
/// images' patches as a matrix and one `gemm` product, added to `base` where it lies): in
/// inference for one image (a ConvLSTM's state-to-state convolution in `watch`), in
/// training for any batch (a ConvLSTM's input-to-state convolution over all steps), with
/// its own backward.
/// Otherwise burn's. The sums run in another order than burn's, so the output differs in
/// its last bits.
pub fn conv_same_add(conv: &Conv2d, x: Tensor<4>, base: Option<Tensor<4>>) -> Tensor<4> {
    let device = x.device();
    let one_image = !device.is_autodiff() && on_host(&device, x.dtype()) && x.dims()[0] == 1;
    let applies = (one_image || trains_on_host(&device, x.dtype()))
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && conv.padding == burn::nn::PaddingConfig2d::Same;
    if !applies {
        let y = conv.forward(x);
        return match base {
            Some(base) => base + y,
            None => y,
        };
    }
    let [n, _, h, w] = x.dims();
    let o = conv.weight.dims()[0];
    let [sh, sw] = conv.stride;
    let (oh, ow) = (h.div_ceil(sh), w.div_ceil(sw));
    let base = match (base, &conv.bias) {
        (Some(base), None) => base,
        (Some(base), Some(bias)) => base + bias.val().reshape([1, o, 1, 1]),
        (None, Some(bias)) => bias.val().reshape([1, o, 1, 1]).expand([n, o, oh, ow]),
        (None, None) => Tensor::zeros([n, o, oh, ow], &device),
    };
    Tensor::from_dispatch(<Dispatch as HostOps>::conv_same_add(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        base.into_dispatch(),
        conv.stride,
    ))
}

/// Whether [`conv_lstm_sequence`] applies: in training on the CPU, with a state-to-state
/// convolution that is 'same', stride 1, undilated, ungrouped and without a bias.
pub fn conv_lstm_applies(input_gates: &Tensor<5>, hidden_conv: &Conv2d) -> bool {
    trains_on_host(&input_gates.device(), input_gates.dtype())
        && hidden_conv.stride == [1, 1]
        && hidden_conv.dilation == [1, 1]
        && hidden_conv.groups == 1
        && hidden_conv.bias.is_none()
        && hidden_conv.padding == burn::nn::PaddingConfig2d::Same
}

/// A ConvLSTM's whole recurrence from zero states, as one host operation
/// ([`HostOps::conv_lstm_sequence`]) where [`conv_lstm_applies`]: `input_gates` `[batch,
/// steps, 4h, y, x]` (every step's input-to-state convolution and bias), `hidden_conv` the
/// state-to-state convolution. Returns every step's hidden state `[batch, steps, h, y, x]`.
pub fn conv_lstm_sequence(input_gates: Tensor<5>, hidden_conv: &Conv2d) -> Tensor<5> {
    assert!(
        conv_lstm_applies(&input_gates, hidden_conv),
        "host_ops: the ConvLSTM sequence runs in training on the CPU only"
    );
    let (out, _record) = <Dispatch as HostOps>::conv_lstm_sequence(
        input_gates.into_dispatch(),
        hidden_conv.weight.val().into_dispatch(),
    );
    Tensor::from_dispatch(out)
}

/// `conv.forward(x)`, as one host operation in training on the CPU for an undilated,
/// ungrouped layer ([`HostOps::transposed_conv2d`]: each image's product with the weights,
/// scattered onto the output, and the backward's two products per image); otherwise burn's.
pub fn conv_transpose2d(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let applies = conv.dilation == [1, 1]
        && conv.groups == 1
        && h > 0
        && w > 0
        && (0..2).all(|d| {
            (x.dims()[2 + d] - 1) * conv.stride[d] + conv.kernel_size[d] + conv.padding_out[d]
                > 2 * conv.padding[d]
        })
        && trains_on_host(&x.device(), x.dtype());
    if !applies {
        return conv.forward(x);
    }
    let geometry = ConvTranspose2dGeometry {
        stride: conv.stride,
        padding: conv.padding,
        padding_out: conv.padding_out,
    };
    let bias = match &conv.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([conv.weight.dims()[1]], &x.device()),
    };
    Tensor::from_dispatch(<Dispatch as HostOps>::transposed_conv2d(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        bias.into_dispatch(),
        geometry,
    ))
}

/// Whether [`conv_single_output`] runs `conv` on `x` as the custom operation: a stride-1,
/// undilated, ungrouped 'same' convolution with one output channel and odd kernel sides, in
/// training on the CPU.
pub fn conv_applies(conv: &Conv2d, x: &Tensor<4>) -> bool {
    host_conv::single_output_same(conv) && trains_on_host(&x.device(), x.dtype())
}

/// `conv.forward(x)` as [`HostOps::conv_single_output`] where [`conv_applies`], else
/// `conv.forward(x)`.
pub fn conv_single_output(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if !conv_applies(conv, &x) {
        return conv.forward(x);
    }
    let bias = match &conv.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([1], &x.device()),
    };
    Tensor::from_dispatch(<Dispatch as HostOps>::conv_single_output(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// Whether [`conv1d`] and [`conv_transpose1d`] run `x` as [`HostOps::conv1d_batched`]: in training
/// on the CPU, an undilated, ungrouped layer.
fn conv1d_applies(x: &Tensor<3>, dilation: usize, groups: usize) -> bool {
    dilation == 1 && groups == 1 && trains_on_host(&x.device(), x.dtype())
}

/// `conv.forward(x)`, as one host operation in training on the CPU ([`HostOps::conv1d_batched`]:
/// the whole batch's product at once), else burn's layer.
pub fn conv1d(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    if !conv1d_applies(&x, conv.dilation, conv.groups) {
        return conv.forward(x);
    }
    let [_, _, len] = x.dims();
    let k = conv.kernel_size;
    // burn-nn's padding for each kind, `PaddingConfig1d::calculate_padding_1d_pair`.
    let (left, right) = match &conv.padding {
        PaddingConfig1d::Valid => (0, 0),
        PaddingConfig1d::Explicit(left, right) => (*left, *right),
        PaddingConfig1d::Same => {
            let out = len.div_ceil(conv.stride);
            let total = if out > 0 {
                ((out - 1) * conv.stride + k).saturating_sub(len)
            } else {
                0
            };
            (total / 2, total - total / 2)
        }
    };
    if len + left + right < k {
        return conv.forward(x);
    }
    let geometry = Conv1dGeometry {
        stride: conv.stride,
        pad: left,
        out_len: (len + left + right - k) / conv.stride + 1,
        transposed: false,
    };
    host_conv1d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        geometry,
    )
}

/// `conv.forward(x)` for a transposed convolution, as [`conv1d`] does.
pub fn conv_transpose1d(conv: &ConvTranspose1d, x: Tensor<3>) -> Tensor<3> {
    if !conv1d_applies(&x, conv.dilation, conv.groups) {
        return conv.forward(x);
    }
    let [_, _, len] = x.dims();
    let full = (len.max(1) - 1) * conv.stride + conv.kernel_size + conv.padding_out;
    if len == 0 || full <= 2 * conv.padding {
        return conv.forward(x);
    }
    let geometry = Conv1dGeometry {
        stride: conv.stride,
        pad: conv.padding,
        out_len: full - 2 * conv.padding,
        transposed: true,
    };
    host_conv1d(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        geometry,
    )
}

fn host_conv1d(
    x: Tensor<3>,
    weight: Tensor<3>,
    bias: Option<Tensor<1>>,
    geometry: Conv1dGeometry,
) -> Tensor<3> {
    let c_out = if geometry.transposed {
        weight.dims()[1]
    } else {
        weight.dims()[0]
    };
    let bias = bias.unwrap_or_else(|| Tensor::zeros([c_out], &x.device()));
    Tensor::from_dispatch(<Dispatch as HostOps>::conv1d_batched(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        geometry,
    ))
}

/// `sigmoid(x)`: in training on the CPU one host operation forward and one backward
/// ([`HostOps::logistic`]; burn's is a scalar `exp` per value and several passes back),
/// else burn's.
pub fn logistic<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !trains_on_host(&x.device(), x.dtype()) {
        return sigmoid(x);
    }
    Tensor::from_dispatch(<Dispatch as HostOps>::logistic(x.into_dispatch()))
}
