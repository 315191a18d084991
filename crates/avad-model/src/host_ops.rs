//! Three parts of the visual model's training step as custom operations of burn's CPU
//! backend (flex), each with its own backward pass, through burn's backend-extension
//! mechanism (`#[backend_extension]`, with the backward written for `Autodiff<B, C>` as
//! burn's own crates write theirs, e.g. burn-signal's FFT):
//!
//! * [`norm_leaky`]: batch norm on the batch's statistics, then LeakyReLU, as one operation.
//!   burn 0.22 composes its training batch norm out of tensor operations: about twenty
//!   whole-tensor passes forward and backward, two of them transposing copies. Here the
//!   forward reads the input twice and writes once, the backward reads twice and writes once.
//! * [`lstm_cell`]: a ConvLSTM step's gate arithmetic (three logistic functions, two tanh,
//!   the cell and hidden updates), which burn records as a dozen small operations per step;
//!   the backward recomputes the activations from the saved inputs.
//! * [`conv_single_output`]: the output layer (Conv2D C → 1, K x K, 'same'), forward and
//!   backward computed on the host ([`crate::host_conv`]'s register-blocked rows for the
//!   output and for the input's gradient, a dot product per tap for the weights' gradient).
//!
//! They compute the same math as burn's layers, with other float rounding (the exponential
//! is a polynomial within a few ulp); the tests compare the values and the gradients with
//! burn's. They are used only on the CPU device with autodiff and f32 tensors, where the
//! model trains; every other device keeps burn's operations (each public function here
//! falls back to them). The loops are compiled for AVX2 + FMA where the CPU has them.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Dispatch, Flex, TensorMetadata};
use burn::nn::conv::Conv2d;
use burn::nn::BatchNorm;
use burn::tensor::activation::{leaky_relu, sigmoid, tanh};
use burn::tensor::{DType, Device, Tensor, TensorData};

use crate::host_conv;

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

    /// One ConvLSTM step's gate arithmetic: from `gates` (`[b, 4h, ...]`, the pre-activations
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
}

/// Whether the custom operations run for a tensor on `device` of `dtype`: the CPU device with
/// autodiff (training), f32.
fn trains_on_host(device: &Device, dtype: DType) -> bool {
    device.is_autodiff() && device.clone().inner() == Device::flex() && dtype == DType::F32
}

/// `leaky_relu(norm.forward(x), slope)` (`slope` 1: `norm.forward(x)` alone), updating the
/// running statistics as burn's `BatchNorm` does. In training on the CPU it is one custom
/// operation ([`HostOps::norm_leaky_train`]); otherwise burn's layers.
pub fn norm_leaky<const D: usize>(norm: &BatchNorm, x: Tensor<D>, slope: f64) -> Tensor<D> {
    let device = x.device();
    if !(norm.training.is_enabled() && trains_on_host(&device, x.dtype())) {
        let y = norm.forward(x);
        return if slope == 1.0 {
            y
        } else {
            leaky_relu(y, slope)
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

/// One ConvLSTM step from its gates' pre-activations `[b, 4h, H, W]` (order i, f, g, o) and
/// the previous cell state `[b, h, H, W]`: `(hidden, cell)` with `c = σ(f) c_prev + σ(i)
/// tanh(g)`, `h = σ(o) tanh(c)`. In training on the CPU one custom operation
/// ([`HostOps::lstm_cell`]); otherwise burn's operations.
pub fn lstm_cell(gates: Tensor<4>, cell: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
    let h = cell.dims()[1];
    if !trains_on_host(&gates.device(), gates.dtype()) {
        let gate = |k: usize| gates.clone().narrow(1, k * h, h);
        let (i, f, g, o) = (gate(0), gate(1), gate(2), gate(3));
        let cell = sigmoid(f) * cell + sigmoid(i) * tanh(g);
        let hidden = sigmoid(o) * tanh(cell.clone());
        return (hidden, cell);
    }
    let both = Tensor::<4>::from_dispatch(<Dispatch as HostOps>::lstm_cell(
        gates.into_dispatch(),
        cell.into_dispatch(),
    ));
    (both.clone().narrow(1, 0, h), both.narrow(1, h, h))
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

// ---- flex: the computations on the host ----

/// A contiguous f32 tensor's values, and its shape.
fn host(t: &FlexTensor) -> (&[f32], Vec<usize>) {
    let values = t
        .as_slice::<f32>()
        .expect("host_ops: a contiguous f32 tensor");
    (values, t.shape().iter().copied().collect())
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() {
        t
    } else {
        t.to_contiguous()
    }
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |t| t.get())
}

/// `f` over `items` split into one contiguous range per core, in order.
fn split<T: Send>(items: usize, f: impl Fn(std::ops::Range<usize>) -> T + Sync) -> Vec<T> {
    let t = threads().min(items).max(1);
    if t == 1 {
        return vec![f(0..items)];
    }
    let per = items.div_ceil(t);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..t)
            .map(|k| scope.spawn(move || f(k * per..((k + 1) * per).min(items))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("host_ops worker panicked"))
            .collect()
    })
}

/// `f(first_item, chunk)` over `out` cut into whole items of `item` values, one run of items
/// per core.
fn split_mut(out: &mut [f32], item: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let items = out.len().checked_div(item).unwrap_or(0);
    let t = threads().min(items).max(1);
    let per = items.div_ceil(t).max(1);
    std::thread::scope(|scope| {
        let f = &f;
        for (k, chunk) in out.chunks_mut(per * item.max(1)).enumerate() {
            scope.spawn(move || f(k * per, chunk));
        }
    });
}

/// Defines `fn $name` whose body is compiled twice, for the baseline CPU and for AVX2 + FMA,
/// and picks the second when the CPU has them (the loops here are written to vectorise).
macro_rules! simd_kernel {
    ($(#[$m:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        #[allow(clippy::too_many_arguments)]
        fn $name($($arg: $ty),*) $(-> $ret)? {
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

simd_kernel! {
/// Sums of `v - shift` and of its square: f32 in eight lanes over blocks of 1024, f64 across.
fn shifted_sums(v: &[f32], shift: f32) -> (f64, f64) {
    let (mut sum, mut squares) = (0.0f64, 0.0f64);
    for block in v.chunks(1024) {
        let (mut s, mut q) = ([0.0f32; 8], [0.0f32; 8]);
        let mut lanes = block.chunks_exact(8);
        for chunk in &mut lanes {
            for l in 0..8 {
                let d = chunk[l] - shift;
                s[l] += d;
                q[l] += d * d;
            }
        }
        for &x in lanes.remainder() {
            let d = x - shift;
            s[0] += d;
            q[0] += d * d;
        }
        sum += s.iter().map(|&x| f64::from(x)).sum::<f64>();
        squares += q.iter().map(|&x| f64::from(x)).sum::<f64>();
    }
    (sum, squares)
}
}

simd_kernel! {
/// Sums of `g` and of `g * (x - mean) * inv_std`, where `g` is `grad` through the LeakyReLU
/// of `x * a + b`.
fn grad_sums(x: &[f32], grad: &[f32], a: f32, b: f32, slope: f32, mean: f32, inv_std: f32) -> (f64, f64) {
    let (mut sum, mut projected) = (0.0f64, 0.0f64);
    for (xb, gb) in x.chunks(1024).zip(grad.chunks(1024)) {
        let (mut s, mut p) = ([0.0f32; 8], [0.0f32; 8]);
        let mut add = |lane: usize, x: f32, dy: f32| {
            let z = x * a + b;
            let g = if z > 0.0 { dy } else { dy * slope };
            s[lane] += g;
            p[lane] += g * ((x - mean) * inv_std);
        };
        let (xs, gs) = (xb.chunks_exact(8), gb.chunks_exact(8));
        let (xr, gr) = (xs.remainder(), gs.remainder());
        for (cx, cg) in xs.zip(gs) {
            for l in 0..8 {
                add(l, cx[l], cg[l]);
            }
        }
        for (&x, &dy) in xr.iter().zip(gr) {
            add(0, x, dy);
        }
        sum += s.iter().map(|&x| f64::from(x)).sum::<f64>();
        projected += p.iter().map(|&x| f64::from(x)).sum::<f64>();
    }
    (sum, projected)
}
}

simd_kernel! {
/// `dst = leaky_relu(x * a + b, slope)`.
fn normalise(dst: &mut [f32], x: &[f32], a: f32, b: f32, slope: f32) {
    for (d, &v) in dst.iter_mut().zip(x) {
        let z = v * a + b;
        *d = if z > 0.0 { z } else { z * slope };
    }
}
}

simd_kernel! {
/// The batch norm's input gradient over one plane: `a (g - mean(g) - xhat mean(g xhat))`.
fn norm_input_grad(dst: &mut [f32], x: &[f32], grad: &[f32], map: (f32, f32, f32), slope: f32, mean: f32, centre: (f32, f32)) {
    let (a, b, inv_std) = map;
    let (mean_g, mean_gx) = centre;
    for ((d, &v), &dy) in dst.iter_mut().zip(x).zip(grad) {
        let z = v * a + b;
        let g = if z > 0.0 { dy } else { dy * slope };
        *d = a * (g - mean_g - (v - mean) * inv_std * mean_gx);
    }
}
}

simd_kernel! {
/// One plane of a ConvLSTM step: the new hidden and cell states from the four gates'
/// pre-activations and the previous cell state.
fn lstm_plane(hidden: &mut [f32], cell: &mut [f32], gates: [&[f32]; 4], prev: &[f32]) {
    let [gi, gf, gg, go] = gates;
    for p in 0..hidden.len().min(cell.len()) {
        let c = logistic(gf[p]) * prev[p] + logistic(gi[p]) * fast_tanh(gg[p]);
        cell[p] = c;
        hidden[p] = logistic(go[p]) * fast_tanh(c);
    }
}
}

simd_kernel! {
/// One plane of a ConvLSTM step's backward: the gradients of the four gates' pre-activations
/// and of the previous cell state, from those of the hidden and cell outputs.
fn lstm_plane_backward(out: [&mut [f32]; 5], gates: [&[f32]; 4], prev: &[f32], dh: &[f32], dc: &[f32]) {
    let [oi, of, og, oo, oc] = out;
    let [gi, gf, gg, go] = gates;
    for p in 0..prev.len() {
        let (i, f, g, o) = (logistic(gi[p]), logistic(gf[p]), fast_tanh(gg[p]), logistic(go[p]));
        let c = f * prev[p] + i * g;
        let tc = fast_tanh(c);
        let dct = dc[p] + dh[p] * o * (1.0 - tc * tc);
        oi[p] = dct * g * i * (1.0 - i);
        of[p] = dct * prev[p] * f * (1.0 - f);
        og[p] = dct * i * (1.0 - g * g);
        oo[p] = dh[p] * tc * o * (1.0 - o);
        oc[p] = dct * f;
    }
}
}

/// Per channel of an `[n, c, plane]` tensor: (mean, biased variance), in f64.
fn channel_stats(x: &[f32], n: usize, c: usize, plane: usize) -> Vec<(f64, f64)> {
    // Sums of x - (the channel's first value), which keeps the variance exact when the
    // mean is far from zero.
    let shift: Vec<f32> = (0..c)
        .map(|ch| x.get(ch * plane).copied().unwrap_or(0.0))
        .collect();
    let sums = channel_sums(n, c, |p| {
        shifted_sums(&x[p * plane..(p + 1) * plane], shift[p % c])
    });
    let count = (n * plane) as f64;
    sums.iter()
        .enumerate()
        .map(|(ch, &(s, q))| {
            let m = s / count;
            (f64::from(shift[ch]) + m, (q / count - m * m).max(0.0))
        })
        .collect()
}

/// Per channel of `n` frames of `c` channel planes, the sums of the two values `plane(p)`
/// gives for each plane `p` (frame `p / c`, channel `p % c`), the planes split over the cores.
fn channel_sums(n: usize, c: usize, plane: impl Fn(usize) -> (f64, f64) + Sync) -> Vec<(f64, f64)> {
    let parts = split(n * c, |planes| {
        let mut sums = vec![(0.0f64, 0.0f64); c];
        for p in planes {
            let (s, q) = plane(p);
            sums[p % c].0 += s;
            sums[p % c].1 += q;
        }
        sums
    });
    (0..c)
        .map(|ch| {
            parts
                .iter()
                .fold((0.0, 0.0), |acc, p| (acc.0 + p[ch].0, acc.1 + p[ch].1))
        })
        .collect()
}

/// `[n, c, plane]` sizes of a `[n, c, ...]` shape.
fn planes(shape: &[usize]) -> (usize, usize, usize) {
    assert!(
        shape.len() >= 2,
        "host_ops: batch norm needs [batch, channels, ...], got {shape:?}"
    );
    (shape[0], shape[1], shape[2..].iter().product())
}

/// The per-channel affine map of the normalisation, `x * a + b`, and `inv_std`.
fn affine(
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
) -> Vec<(f32, f32, f32)> {
    (0..gamma.len())
        .map(|ch| {
            let inv_std = 1.0 / (f64::from(variance[ch]) + epsilon).sqrt();
            let a = f64::from(gamma[ch]) * inv_std;
            let b = f64::from(beta[ch]) - f64::from(mean[ch]) * a;
            (a as f32, b as f32, inv_std as f32)
        })
        .collect()
}

/// The weights' gradient of the single-output convolution: per channel `c` and tap `(u, v)`,
/// `sum over frames and pixels of grad[i, j] * x_c[i + u - pt, j + v - pl]`.
fn conv_weight_grad(x: &[f32], grad: &[f32], n: usize, s: &host_conv::Shape) -> Vec<f32> {
    let (c, h, w, kh, kw) = (s.c, s.h, s.w, s.kh, s.kw);
    let (pt, pl) = ((kh - 1) / 2, (kw - 1) / 2);
    let wp = w + kw - 1;
    let per_channel = split(c, |channels| {
        let mut padded = vec![0.0f32; (h + kh - 1) * wp];
        let mut out = Vec::with_capacity(channels.len() * kh * kw);
        for ch in channels {
            let mut taps = vec![0.0f64; kh * kw];
            for f in 0..n {
                let plane = &x[(f * c + ch) * h * w..(f * c + ch + 1) * h * w];
                for y in 0..h {
                    padded[(y + pt) * wp + pl..(y + pt) * wp + pl + w]
                        .copy_from_slice(&plane[y * w..(y + 1) * w]);
                }
                let g = &grad[f * h * w..(f + 1) * h * w];
                for u in 0..kh {
                    for v in 0..kw {
                        let mut acc = 0.0f32;
                        for y in 0..h {
                            acc += dot(
                                &g[y * w..(y + 1) * w],
                                &padded[(y + u) * wp + v..(y + u) * wp + v + w],
                                s.simd,
                            );
                        }
                        taps[u * kw + v] += f64::from(acc);
                    }
                }
            }
            out.extend(taps.iter().map(|&t| t as f32));
        }
        out
    });
    per_channel.concat()
}

/// The input's gradient of the single-output convolution: per channel, the gradient
/// (zero-padded) correlated with the channel's kernel turned by 180 degrees.
fn conv_input_grad(weight: &[f32], grad: &[f32], n: usize, s: &host_conv::Shape) -> Vec<f32> {
    let (c, h, w, kh, kw) = (s.c, s.h, s.w, s.kh, s.kw);
    let (pt, pl) = ((kh - 1) / 2, (kw - 1) / 2);
    let (top, left) = (kh - 1 - pt, kw - 1 - pl);
    let wp = w + kw - 1;
    // flipped[ch][u][v] = weight[ch][kh - 1 - u][kw - 1 - v]
    let flipped: Vec<f32> = (0..c * kh * kw)
        .map(|i| {
            let (ch, u, v) = (i / (kh * kw), (i / kw) % kh, i % kw);
            weight[(ch * kh + kh - 1 - u) * kw + kw - 1 - v]
        })
        .collect();
    let mut out = vec![0.0f32; n * c * h * w];
    split_mut(&mut out, c * h * w, |first, chunk| {
        let mut padded = vec![0.0f32; (h + kh - 1) * wp];
        for (k, frame) in chunk.chunks_mut(c * h * w).enumerate() {
            let g = &grad[(first + k) * h * w..(first + k + 1) * h * w];
            for y in 0..h {
                padded[(y + top) * wp + left..(y + top) * wp + left + w]
                    .copy_from_slice(&g[y * w..(y + 1) * w]);
            }
            for (ch, dst) in frame.chunks_mut(h * w).enumerate() {
                for u in 0..kh {
                    let taps = &flipped[(ch * kh + u) * kw..(ch * kh + u + 1) * kw];
                    for y in 0..h {
                        host_conv::row(
                            &mut dst[y * w..(y + 1) * w],
                            &padded[(y + u) * wp..(y + u + 1) * wp],
                            taps,
                            s.simd,
                        );
                    }
                }
            }
        }
    });
    out
}

/// `sum_k a[k] * b[k]` over `a.len()` values; `simd`: the CPU has AVX2 and FMA.
fn dot(a: &[f32], b: &[f32], simd: bool) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if simd {
            // SAFETY: `simd` is `host_conv::has_avx2_fma()`: the CPU has AVX2 and FMA.
            return unsafe { dot_avx2(a, b) };
        }
    }
    let _ = simd;
    let mut lanes = [0.0f32; 8];
    let full = a.len() - a.len() % 8;
    for (ca, cb) in a[..full].chunks_exact(8).zip(b[..full].chunks_exact(8)) {
        for l in 0..8 {
            lanes[l] += ca[l] * cb[l];
        }
    }
    let tail: f32 = a[full..].iter().zip(&b[full..]).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::{
        _mm256_add_ps, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps,
    };
    let n = a.len();
    assert!(b.len() >= n);
    let full = n - n % 16;
    let (mut acc0, mut acc1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut k = 0;
    while k < full {
        // SAFETY: k + 16 <= n <= a.len(), b.len().
        unsafe {
            acc0 = _mm256_fmadd_ps(
                _mm256_loadu_ps(a.as_ptr().add(k)),
                _mm256_loadu_ps(b.as_ptr().add(k)),
                acc0,
            );
            acc1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(a.as_ptr().add(k + 8)),
                _mm256_loadu_ps(b.as_ptr().add(k + 8)),
                acc1,
            );
        }
        k += 16;
    }
    let mut lanes = [0.0f32; 8];
    // SAFETY: `lanes` holds 8 f32.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_add_ps(acc0, acc1)) };
    let tail: f32 = a[full..].iter().zip(&b[full..n]).map(|(x, y)| x * y).sum();
    lanes.iter().sum::<f32>() + tail
}

impl HostOps for Flex {
    fn norm_leaky_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        slope: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
        let (xs, shape) = host(&x);
        let (n, c, plane) = planes(&shape);
        let stats = channel_stats(xs, n, c, plane);
        let mean: Vec<f32> = stats.iter().map(|s| s.0 as f32).collect();
        let variance: Vec<f32> = stats.iter().map(|s| s.1 as f32).collect();
        let map = affine(host(&gamma).0, host(&beta).0, &mean, &variance, epsilon);
        let slope = slope as f32;
        let mut out = vec![0.0f32; xs.len()];
        split_mut(&mut out, plane, |first, chunk| {
            for (k, dst) in chunk.chunks_mut(plane).enumerate() {
                let p = first + k;
                let (a, b, _) = map[p % c];
                normalise(dst, &xs[p * plane..(p + 1) * plane], a, b, slope);
            }
        });
        (
            tensor(out, shape),
            tensor(mean, vec![c]),
            tensor(variance, vec![c]),
        )
    }

    fn norm_leaky_train_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        slope: f64,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, grad) = (contiguous(x), contiguous(grad));
        let (gamma, beta, mean, variance) = (
            contiguous(gamma),
            contiguous(beta),
            contiguous(mean),
            contiguous(variance),
        );
        let (xs, shape) = host(&x);
        let gs = host(&grad).0;
        let (n, c, plane) = planes(&shape);
        let means = host(&mean).0;
        let map = affine(
            host(&gamma).0,
            host(&beta).0,
            means,
            host(&variance).0,
            epsilon,
        );
        let slope = slope as f32;
        let sums = channel_sums(n, c, |p| {
            let ch = p % c;
            let (a, b, inv_std) = map[ch];
            let r = p * plane..(p + 1) * plane;
            grad_sums(&xs[r.clone()], &gs[r], a, b, slope, means[ch], inv_std)
        });
        let count = (n * plane) as f64;
        // dx = a (g - mean(g) - xhat mean(g xhat)), a = gamma inv_std
        let centre: Vec<(f32, f32)> = sums
            .iter()
            .map(|&(s, q)| ((s / count) as f32, (q / count) as f32))
            .collect();
        let mut dx = vec![0.0f32; xs.len()];
        split_mut(&mut dx, plane, |first, chunk| {
            for (k, dst) in chunk.chunks_mut(plane).enumerate() {
                let p = first + k;
                let ch = p % c;
                let r = p * plane..(p + 1) * plane;
                norm_input_grad(
                    dst,
                    &xs[r.clone()],
                    &gs[r],
                    map[ch],
                    slope,
                    means[ch],
                    centre[ch],
                );
            }
        });
        let gamma_grad = sums.iter().map(|s| s.1 as f32).collect();
        let beta_grad = sums.iter().map(|s| s.0 as f32).collect();
        (
            tensor(dx, shape),
            tensor(gamma_grad, vec![c]),
            tensor(beta_grad, vec![c]),
        )
    }

    fn lstm_cell(gates: FlexTensor, cell: FlexTensor) -> FlexTensor {
        let (gates, cell) = (contiguous(gates), contiguous(cell));
        let (gs, gshape) = host(&gates);
        let (cs, cshape) = host(&cell);
        let (b, h, plane) = lstm_shape(&gshape, &cshape);
        let mut out = vec![0.0f32; b * 2 * h * plane];
        // One item per (batch, hidden channel): its hidden plane, then (h planes later) its cell plane.
        split_mut(&mut out, 2 * h * plane, |first, chunk| {
            for (k, both) in chunk.chunks_mut(2 * h * plane).enumerate() {
                let n = first + k;
                let (hid, cel) = both.split_at_mut(h * plane);
                for ch in 0..h {
                    let gate = |q: usize| {
                        &gs[((n * 4 + q) * h + ch) * plane..((n * 4 + q) * h + ch + 1) * plane]
                    };
                    let prev = &cs[(n * h + ch) * plane..(n * h + ch + 1) * plane];
                    let r = ch * plane..(ch + 1) * plane;
                    lstm_plane(
                        &mut hid[r.clone()],
                        &mut cel[r],
                        [gate(0), gate(1), gate(2), gate(3)],
                        prev,
                    );
                }
            }
        });
        let mut shape = gshape;
        shape[1] = 2 * h;
        tensor(out, shape)
    }

    fn lstm_cell_backward(
        gates: FlexTensor,
        cell: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let (gates, cell, grad) = (contiguous(gates), contiguous(cell), contiguous(grad));
        let (gs, gshape) = host(&gates);
        let (cs, cshape) = host(&cell);
        let ds = host(&grad).0;
        let (b, h, plane) = lstm_shape(&gshape, &cshape);
        // dgates and dcell of one batch item side by side, split after.
        let mut both = vec![0.0f32; b * 5 * h * plane];
        split_mut(&mut both, 5 * h * plane, |first, chunk| {
            for (k, item) in chunk.chunks_mut(5 * h * plane).enumerate() {
                let n = first + k;
                let (dgates, dcell) = item.split_at_mut(4 * h * plane);
                let (d_i, rest) = dgates.split_at_mut(h * plane);
                let (d_f, rest) = rest.split_at_mut(h * plane);
                let (d_g, d_o) = rest.split_at_mut(h * plane);
                for ch in 0..h {
                    let gate = |q: usize| {
                        &gs[((n * 4 + q) * h + ch) * plane..((n * 4 + q) * h + ch + 1) * plane]
                    };
                    let prev = &cs[(n * h + ch) * plane..(n * h + ch + 1) * plane];
                    let dh = &ds[(n * 2 * h + ch) * plane..(n * 2 * h + ch + 1) * plane];
                    let dc = &ds[(n * 2 * h + h + ch) * plane..(n * 2 * h + h + ch + 1) * plane];
                    let r = ch * plane..(ch + 1) * plane;
                    let out = [
                        &mut d_i[r.clone()],
                        &mut d_f[r.clone()],
                        &mut d_g[r.clone()],
                        &mut d_o[r.clone()],
                        &mut dcell[r],
                    ];
                    lstm_plane_backward(out, [gate(0), gate(1), gate(2), gate(3)], prev, dh, dc);
                }
            }
        });
        let mut dgates = Vec::with_capacity(b * 4 * h * plane);
        let mut dcell = Vec::with_capacity(b * h * plane);
        for item in both.chunks(5 * h * plane) {
            dgates.extend_from_slice(&item[..4 * h * plane]);
            dcell.extend_from_slice(&item[4 * h * plane..]);
        }
        (tensor(dgates, gshape), tensor(dcell, cshape))
    }

    fn conv_single_output(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let (xs, shape) = host(&x);
        let (ws, wshape) = host(&weight);
        let s = conv_shape(&shape, &wshape);
        let out = host_conv::convolve(xs, shape[0], ws, host(&bias).0[0], &s);
        tensor(out, vec![shape[0], 1, s.h, s.w])
    }

    fn conv_single_output_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, weight, grad) = (contiguous(x), contiguous(weight), contiguous(grad));
        let (xs, shape) = host(&x);
        let (ws, wshape) = host(&weight);
        let gs = host(&grad).0;
        let s = conv_shape(&shape, &wshape);
        let n = shape[0];
        let dx = conv_input_grad(ws, gs, n, &s);
        let dw = conv_weight_grad(xs, gs, n, &s);
        let db = (shifted_sums(gs, 0.0).0) as f32;
        (
            tensor(dx, shape),
            tensor(dw, wshape),
            tensor(vec![db], vec![1]),
        )
    }
}

/// `(batch, hidden channels, plane)` of a ConvLSTM step's gates and cell shapes.
fn lstm_shape(gates: &[usize], cell: &[usize]) -> (usize, usize, usize) {
    assert!(
        gates.len() >= 2
            && gates.len() == cell.len()
            && gates[0] == cell[0]
            && gates[1] == 4 * cell[1]
            && gates[2..] == cell[2..],
        "host_ops: ConvLSTM gates {gates:?} and cell {cell:?}"
    );
    (cell[0], cell[1], cell[2..].iter().product())
}

/// `e^x` to about 2 ulp (Cephes' `expf`: `x = n ln 2 + r`, a degree-6 polynomial in `r`),
/// branch-free so that loops of it vectorise; saturates beyond ±88.
#[inline(always)]
// The polynomial's coefficients as Cephes gives them (the last rounds to 0.5 in f32).
#[allow(clippy::excessive_precision)]
fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.3, 88.0);
    // round(x / ln 2) by the 1.5 * 2^23 trick (no rounding instruction needed)
    let n = (x * std::f32::consts::LOG2_E + 12_582_912.0) - 12_582_912.0;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// The logistic function `1 / (1 + e^-x)`.
#[inline(always)]
fn logistic(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// `tanh x = 2 σ(2x) − 1`.
#[inline(always)]
fn fast_tanh(x: f32) -> f32 {
    2.0 * logistic(2.0 * x) - 1.0
}

fn conv_shape(x: &[usize], weight: &[usize]) -> host_conv::Shape {
    assert!(
        x.len() == 4
            && weight.len() == 4
            && weight[0] == 1
            && weight[1] == x[1]
            && weight[2] % 2 == 1
            && weight[3] % 2 == 1,
        "host_ops: single-output conv of {x:?} with weight {weight:?}"
    );
    host_conv::Shape {
        c: x[1],
        h: x[2],
        w: x[3],
        kh: weight[2],
        kw: weight[3],
        simd: host_conv::has_avx2_fma(),
    }
}

// ---- autodiff: the backward passes ----

/// A backend's float tensor, as the backward passes keep it.
type Primitive<B> = <B as burn::backend::BackendTypes>::FloatTensorPrimitive;

impl<B: Backend + HostOps, C: CheckpointStrategy> HostOps for Autodiff<B, C> {
    fn norm_leaky_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct NormLeaky;

        impl<B: Backend + HostOps> Backward<B, 3> for NormLeaky {
            type State = (
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                f64,
                f64,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, gamma, beta, mean, variance, epsilon, slope) = ops.state;
                let (dx, dgamma, dbeta) = B::norm_leaky_train_backward(
                    x, gamma, beta, mean, variance, epsilon, slope, grad,
                );
                for (node, value) in [(node_x, dx), (node_gamma, dgamma), (node_beta, dbeta)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, value);
                    }
                }
            }
        }

        let nodes = [x.node(), gamma.node(), beta.node()];
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        let (out, mean, variance) =
            B::norm_leaky_train(x.clone(), gamma.clone(), beta.clone(), epsilon, slope);
        let out = match NormLeaky.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(
                (
                    x,
                    gamma,
                    beta,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                    slope,
                ),
                out,
            ),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (
            out,
            FloatTensor::<Self>::new(mean),
            FloatTensor::<Self>::new(variance),
        )
    }

    fn norm_leaky_train_backward(
        _x: FloatTensor<Self>,
        _gamma: FloatTensor<Self>,
        _beta: FloatTensor<Self>,
        _mean: FloatTensor<Self>,
        _variance: FloatTensor<Self>,
        _epsilon: f64,
        _slope: f64,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: the batch norm's backward is not differentiable again");
    }

    fn lstm_cell(gates: FloatTensor<Self>, cell: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LstmCell;

        impl<B: Backend + HostOps> Backward<B, 2> for LstmCell {
            type State = (Primitive<B>, Primitive<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_gates, node_cell] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (gates, cell) = ops.state;
                let (dgates, dcell) = B::lstm_cell_backward(gates, cell, grad);
                for (node, value) in [(node_gates, dgates), (node_cell, dcell)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, value);
                    }
                }
            }
        }

        let nodes = [gates.node(), cell.node()];
        let (gates, cell) = (gates.into_primitive(), cell.into_primitive());
        let out = B::lstm_cell(gates.clone(), cell.clone());
        match LstmCell.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((gates, cell), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn lstm_cell_backward(
        _gates: FloatTensor<Self>,
        _cell: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: the ConvLSTM step's backward is not differentiable again");
    }

    fn conv_single_output(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ConvSingle;

        impl<B: Backend + HostOps> Backward<B, 3> for ConvSingle {
            type State = (Primitive<B>, Primitive<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight) = ops.state;
                let (dx, dw, db) = B::conv_single_output_backward(x, weight, grad);
                for (node, value) in [(node_x, dx), (node_weight, dw), (node_bias, db)] {
                    if let Some(node) = node {
                        grads.register::<B>(node.id, value);
                    }
                }
            }
        }

        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        let out = B::conv_single_output(x.clone(), weight.clone(), bias);
        match ConvSingle.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((x, weight), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn conv_single_output_backward(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: the convolution's backward is not differentiable again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::{BatchNormConfig, PaddingConfig2d};
    use burn::tensor::Distribution;

    fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= tol * scale,
                "{what}[{i}]: {g} vs {w} (scale {scale})"
            );
        }
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        crate::tensor_values(t).unwrap()
    }

    /// Output, gradients (input, gamma, beta) and running statistics equal burn's batch
    /// norm followed by LeakyReLU, for LeakyReLU and for batch norm alone, on 4-D and 5-D input.
    #[test]
    fn norm_leaky_equals_burns_layers() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex().autodiff();
        device.seed(3);
        let (gammas, betas) = ([1.5f32, 0.5, 1.25, 0.75], [-0.2f32, 0.1, 0.0, 0.3]);
        for (shape, slope) in [(vec![3, 4, 5, 7], 0.3), (vec![2, 3, 2, 4, 9], 1.0)] {
            let c = shape[1];
            let make = || {
                let mut norm = BatchNormConfig::new(c).with_epsilon(1e-3).init(&device);
                // Other than 1 and 0, so that their gradients and use are checked.
                norm.gamma = Param::from_tensor(Tensor::from_floats(&gammas[..c], &device));
                norm.beta = Param::from_tensor(Tensor::from_floats(&betas[..c], &device));
                norm
            };
            let (ours, theirs) = (make(), make());
            let data = Tensor::<1>::random(
                [shape.iter().product::<usize>()],
                Distribution::Uniform(-2.0, 3.0),
                &device,
            );
            let weights = Tensor::<1>::random(
                [shape.iter().product::<usize>()],
                Distribution::Uniform(-1.0, 1.0),
                &device,
            );
            macro_rules! run {
                ($d:literal) => {{
                    let dims: [usize; $d] = shape.clone().try_into().unwrap();
                    let r = weights.clone().reshape(dims);
                    let x1 = data.clone().reshape(dims).detach().require_grad();
                    let x2 = data.clone().reshape(dims).detach().require_grad();
                    let y1 = norm_leaky(&ours, x1.clone(), slope);
                    let y2 = if slope == 1.0 {
                        theirs.forward(x2.clone())
                    } else {
                        leaky_relu(theirs.forward(x2.clone()), slope)
                    };
                    close(&values(y1.clone()), &values(y2.clone()), 1e-5, "output");
                    let g1 = (y1 * r.clone()).sum().backward();
                    let g2 = (y2 * r).sum().backward();
                    close(
                        &values(x1.grad(&g1).unwrap()),
                        &values(x2.grad(&g2).unwrap()),
                        1e-4,
                        "x grad",
                    );
                    close(
                        &values(ours.gamma.val().grad(&g1).unwrap()),
                        &values(theirs.gamma.val().grad(&g2).unwrap()),
                        1e-4,
                        "gamma grad",
                    );
                    close(
                        &values(ours.beta.val().grad(&g1).unwrap()),
                        &values(theirs.beta.val().grad(&g2).unwrap()),
                        1e-5,
                        "beta grad",
                    );
                }};
            }
            if shape.len() == 4 {
                run!(4)
            } else {
                run!(5)
            }
            close(
                &values(ours.running_mean.value()),
                &values(theirs.running_mean.value()),
                1e-6,
                "running mean",
            );
            close(
                &values(ours.running_var.value()),
                &values(theirs.running_var.value()),
                1e-6,
                "running var",
            );
        }
    }

    /// Output and gradients (input, weight, bias) equal burn's convolution, with a width
    /// that leaves a scalar tail after the SIMD blocks, and several kernels.
    #[test]
    fn conv_single_output_equals_burns_layer() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex().autodiff();
        device.seed(4);
        for (n, c, h, w, k) in [(3, 5, 6, 21, 7), (2, 3, 9, 8, 3), (1, 2, 4, 5, 1)] {
            let conv = Conv2dConfig::new([c, 1], [k, k])
                .with_padding(PaddingConfig2d::Same)
                .init(&device);
            let data = Tensor::<4>::random([n, c, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let r = Tensor::<4>::random([n, 1, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            let x1 = data.clone().detach().require_grad();
            assert!(conv_applies(&conv, &x1));
            let y1 = conv_single_output(&conv, x1.clone());
            let g1 = (y1.clone() * r.clone()).sum().backward();
            let x2 = data.detach().require_grad();
            let y2 = conv.forward(x2.clone());
            let g2 = (y2.clone() * r).sum().backward();
            let what = format!("{n}x{c}x{h}x{w} k{k}");
            close(&values(y1), &values(y2), 1e-5, &format!("{what} output"));
            close(
                &values(x1.grad(&g1).unwrap()),
                &values(x2.grad(&g2).unwrap()),
                1e-5,
                &format!("{what} x grad"),
            );
            // The two passes share the layer's parameters: their gradients sit in g1 and g2.
            close(
                &values(conv.weight.val().grad(&g1).unwrap()),
                &values(conv.weight.val().grad(&g2).unwrap()),
                1e-5,
                &format!("{what} weight grad"),
            );
            let bias = conv.bias.as_ref().unwrap().val();
            close(
                &values(bias.grad(&g1).unwrap()),
                &values(bias.grad(&g2).unwrap()),
                1e-5,
                &format!("{what} bias grad"),
            );
        }
    }

    /// Hidden and cell states, and the gradients for the gates and the previous cell
    /// (through both outputs), equal burn's operations; the fast exp against the exact one.
    #[test]
    fn lstm_cell_equals_burns_operations() {
        let _rng = crate::fixtures::rng_lock();
        // Below -87.3 it saturates at e^-87.3 (a normal float, about 1e-38).
        assert!(fast_exp(-100.0) > 0.0 && fast_exp(-100.0) <= 1.01 * (-87.3f32).exp());
        for x in [-87.0f32, -20.0, -3.3, -0.5, 0.0, 1e-3, 0.7, 5.0, 30.0, 87.0] {
            let (got, want) = (fast_exp(x), x.exp());
            assert!(
                (got - want).abs() <= 4.0 * f32::EPSILON * want,
                "exp({x}): {got} vs {want}"
            );
        }
        let device = Device::flex().autodiff();
        device.seed(5);
        let (b, h, side) = (2, 3, 5);
        let gates = Tensor::<4>::random(
            [b, 4 * h, side, side + 1],
            Distribution::Uniform(-4.0, 4.0),
            &device,
        );
        let cell = Tensor::<4>::random(
            [b, h, side, side + 1],
            Distribution::Uniform(-2.0, 2.0),
            &device,
        );
        let rh = Tensor::<4>::random(
            [b, h, side, side + 1],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let rc = Tensor::<4>::random(
            [b, h, side, side + 1],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let run = |fused: bool| {
            let (g, c) = (
                gates.clone().detach().require_grad(),
                cell.clone().detach().require_grad(),
            );
            let (hidden, next) = if fused {
                lstm_cell(g.clone(), c.clone())
            } else {
                let gate = |k: usize| g.clone().narrow(1, k * h, h);
                let next = sigmoid(gate(1)) * c.clone() + sigmoid(gate(0)) * tanh(gate(2));
                (sigmoid(gate(3)) * tanh(next.clone()), next)
            };
            let grads = (hidden.clone() * rh.clone() + next.clone() * rc.clone())
                .sum()
                .backward();
            (
                values(hidden),
                values(next),
                values(g.grad(&grads).unwrap()),
                values(c.grad(&grads).unwrap()),
            )
        };
        let (ours, theirs) = (run(true), run(false));
        close(&ours.0, &theirs.0, 1e-5, "hidden");
        close(&ours.1, &theirs.1, 1e-5, "cell");
        close(&ours.2, &theirs.2, 1e-5, "gates grad");
        close(&ours.3, &theirs.3, 1e-5, "cell grad");
    }

    /// Without autodiff (scoring) both functions are burn's layers, bit for bit.
    #[test]
    fn inference_keeps_burns_layers() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        let conv = Conv2dConfig::new([3, 1], [3, 3])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        let x = Tensor::<4>::random([2, 3, 5, 6], Distribution::Uniform(-1.0, 1.0), &device);
        assert!(!conv_applies(&conv, &x));
        assert_eq!(
            values(conv_single_output(&conv, x.clone())),
            values(conv.forward(x.clone()))
        );
        let norm = BatchNormConfig::new(3).init(&device);
        assert_eq!(
            values(norm_leaky(&norm, x.clone(), 0.3)),
            values(leaky_relu(norm.forward(x), 0.3))
        );
    }
}
