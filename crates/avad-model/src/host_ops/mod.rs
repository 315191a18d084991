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
//!
//! The training operations and [`lstm_cell`] compute the same math as burn's layers, with
//! other float rounding (the exponential is a polynomial within a few ulp); the tests
//! compare the values and the gradients with burn's. They run on the CPU device with f32
//! tensors; every other device keeps burn's operations (each public function here falls
//! back to them). The loops are compiled for AVX2 + FMA where the CPU has them.

use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch};
use burn::nn::conv::Conv2d;
use burn::nn::BatchNorm;
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
mod flex;
mod lstm;
mod norm;
mod parallel;
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

    /// LeakyReLU, `x < 0 ? x · slope : x`, as burn's autodiff composes it (a mask and a
    /// select), in one pass.
    fn leaky_relu_train(x: FloatTensor<Self>, slope: f64) -> FloatTensor<Self>;

    /// The gradient of [`HostOps::leaky_relu_train`] for `x`: `x < 0 ? grad · slope : grad`.
    fn leaky_relu_train_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        slope: f64,
    ) -> FloatTensor<Self>;
}

/// Whether a tensor on `device` of `dtype` is an f32 tensor of the CPU device (flex), with or
/// without autodiff: where the host operations can run.
fn on_host(device: &Device, dtype: DType) -> bool {
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

/// `leaky_relu(norm.forward(x), slope)` (`slope` 1: `norm.forward(x)` alone), updating the
/// running statistics in training as burn's `BatchNorm` does. On the CPU it is one custom
/// operation: [`HostOps::norm_leaky_train`] in training, [`HostOps::norm_leaky_infer`] in
/// inference (burn's output to the bit); otherwise burn's layers.
pub fn norm_leaky<const D: usize>(norm: &BatchNorm, x: Tensor<D>, slope: f64) -> Tensor<D> {
    let device = x.device();
    // burn's batch norm takes its inference path on any device without autodiff.
    if infers_on_host(&device, &x) {
        let running = |s: &burn::module::RunningState<Tensor<1>>| s.value().to_device(&device);
        return Tensor::from_dispatch(<Dispatch as HostOps>::norm_leaky_infer(
            x.into_dispatch(),
            norm.gamma.val().into_dispatch(),
            norm.beta.val().into_dispatch(),
            running(&norm.running_mean).into_dispatch(),
            running(&norm.running_var).into_dispatch(),
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
    let (mean, variance) = (
        Tensor::<1>::from_dispatch(mean),
        Tensor::<1>::from_dispatch(variance),
    );
    // As burn-nn's `BatchNorm::forward_train`.
    let running_mean = norm.running_mean.value_sync().to_device(&device);
    let running_var = norm.running_var.value_sync().to_device(&device);
    let running_mean = running_mean
        .mul_scalar(1.0 - norm.momentum)
        .add(mean.detach().mul_scalar(norm.momentum));
    let running_var = running_var
        .mul_scalar(1.0 - norm.momentum)
        .add(variance.detach().mul_scalar(norm.momentum));
    norm.running_mean.update(running_mean.detach());
    norm.running_var.update(running_var.detach());
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

/// `leaky_relu(x, slope)`: in training on the CPU one custom operation
/// ([`HostOps::leaky_relu_train`]; burn's autodiff composes it from a mask and a select,
/// whose CPU kernel is slow), with burn's values and gradients to the bit; otherwise burn's.
pub fn leaky_relu<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    if !trains_on_host(&x.device(), x.dtype()) {
        return burn::tensor::activation::leaky_relu(x, slope);
    }
    Tensor::from_dispatch(<Dispatch as HostOps>::leaky_relu_train(
        x.into_dispatch(),
        slope,
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
