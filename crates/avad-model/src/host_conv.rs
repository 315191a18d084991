//! The visual model's output layer (Conv2D 32 → 1, 7x7, 'same') for inference on the CPU,
//! computed on the host from the tensor's values instead of through burn's operations.
//!
//! With one output channel, burn's convolution (and the matmul form of
//! [`crate::fast_conv`]) spends most of its time moving the 49 per-tap products through
//! memory. Here each output row is accumulated in registers over a kernel row's taps
//! (AVX2 + FMA when the CPU has them, detected at run time), frames split over the cores.
//! Same math, other float rounding: tested against burn's layer. Used only where nothing
//! needs gradients (a device without autodiff) and the tensor lives on the plain CPU
//! device; training and GPUs keep burn's path.

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::{Device, Tensor, TensorData};

use crate::ModelError;

/// Whether [`conv2d_single_output`] computes `conv` on `x`: a stride-1, undilated,
/// ungrouped 'same' convolution with one output channel and an odd kernel, on the plain
/// CPU device without autodiff.
pub fn applies(conv: &Conv2d, x: &Tensor<4>) -> bool {
    let device = x.device();
    single_output_same(conv) && !device.is_autodiff() && device == Device::flex()
}

/// Whether `conv` is a stride-1, undilated, ungrouped 'same' convolution with one output
/// channel and odd kernel sides: the layer this module's kernels compute (for inference
/// here, for training in [`crate::host_ops`]).
pub(crate) fn single_output_same(conv: &Conv2d) -> bool {
    let [c_out, _, kh, kw] = conv.weight.dims();
    c_out == 1
        && kh % 2 == 1
        && kw % 2 == 1
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && conv.padding == PaddingConfig2d::Same
}

/// `conv.forward(x)` for the layers [`applies`] accepts, on the host.
pub fn conv2d_single_output(conv: &Conv2d, x: Tensor<4>) -> Result<Tensor<4>, ModelError> {
    let [n, c, h, w] = x.dims();
    let device = x.device();
    let weight = crate::tensor_values(conv.weight.val())?;
    let [_, c_in, kh, kw] = conv.weight.dims();
    if c_in != c {
        return Err(ModelError::Data(format!(
            "output conv expects {c_in} channels, got {c}"
        )));
    }
    let bias = match &conv.bias {
        Some(b) => crate::tensor_values(b.val())?[0],
        None => 0.0,
    };
    let input = crate::tensor_values(x)?;
    let shape = Shape {
        c,
        h,
        w,
        kh,
        kw,
        simd: has_avx2_fma(),
    };
    let out = convolve(&input, n, &weight, bias, &shape);
    Ok(Tensor::from_data(
        TensorData::new(out, [n, 1, h, w]),
        &device,
    ))
}

/// `n` frames of `input` (`[n, c, h, w]`) convolved with `weight` (`[1, c, kh, kw]`), plus
/// `bias`: `[n, 1, h, w]`, frames split over the cores.
pub(crate) fn convolve(
    input: &[f32],
    n: usize,
    weight: &[f32],
    bias: f32,
    shape: &Shape,
) -> Vec<f32> {
    let (c, h, w, kh, kw) = (shape.c, shape.h, shape.w, shape.kh, shape.kw);
    let mut out = vec![bias; n * h * w];
    if n == 0 || h * w == 0 {
        return out;
    }
    let threads = crate::host_ops::parallel::threads().min(n).max(1);
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        for (k, chunk) in out.chunks_mut(per * h * w).enumerate() {
            let input = &input[k * per * c * h * w..];
            scope.spawn(move || {
                let mut padded = vec![0.0f32; (h + kh - 1) * (w + kw - 1)];
                for (f, frame_out) in chunk.chunks_mut(h * w).enumerate() {
                    frame(
                        &input[f * c * h * w..(f + 1) * c * h * w],
                        weight,
                        shape,
                        &mut padded,
                        frame_out,
                    );
                }
            });
        }
    });
    out
}

/// A convolution's sizes: `c` input channels of `h` x `w`, a `kh` x `kw` kernel.
pub(crate) struct Shape {
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    /// The CPU has AVX2 and FMA ([`has_avx2_fma`], asked once per call).
    pub(crate) simd: bool,
}

pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One frame: `out` (holding the bias) += the convolution of its `c` channel planes.
pub(crate) fn frame(input: &[f32], weight: &[f32], s: &Shape, padded: &mut [f32], out: &mut [f32]) {
    let (pt, pl) = ((s.kh - 1) / 2, (s.kw - 1) / 2);
    let wp = s.w + s.kw - 1;
    for ch in 0..s.c {
        let plane = &input[ch * s.h * s.w..(ch + 1) * s.h * s.w];
        for y in 0..s.h {
            padded[(y + pt) * wp + pl..(y + pt) * wp + pl + s.w]
                .copy_from_slice(&plane[y * s.w..(y + 1) * s.w]);
        }
        for dy in 0..s.kh {
            let taps = &weight[(ch * s.kh + dy) * s.kw..(ch * s.kh + dy + 1) * s.kw];
            for y in 0..s.h {
                let src = &padded[(y + dy) * wp..(y + dy + 1) * wp];
                row(&mut out[y * s.w..(y + 1) * s.w], src, taps, s.simd);
            }
        }
    }
}

/// `dst[x] += Σ_k taps[k] · src[x + k]`; `simd`: the CPU has AVX2 and FMA.
pub(crate) fn row(dst: &mut [f32], src: &[f32], taps: &[f32], simd: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        if simd {
            // SAFETY: `simd` is `has_avx2_fma()`: the CPU has AVX2 and FMA.
            unsafe { row_avx2(dst, src, taps) };
            return;
        }
    }
    let _ = simd;
    row_scalar(dst, src, taps, 0);
}

fn row_scalar(dst: &mut [f32], src: &[f32], taps: &[f32], from: usize) {
    for x in from..dst.len() {
        let mut acc = dst[x];
        for (k, &t) in taps.iter().enumerate() {
            acc += t * src[x + k];
        }
        dst[x] = acc;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn row_avx2(dst: &mut [f32], src: &[f32], taps: &[f32]) {
    use std::arch::x86_64::{_mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_storeu_ps};
    let n = dst.len();
    let full = n - n % 8;
    debug_assert!(src.len() >= n + taps.len() - 1);
    let mut x = 0;
    while x < full {
        // SAFETY: x + 8 <= n <= dst.len(), and x + k + 8 <= n + taps.len() - 1 <= src.len().
        unsafe {
            let mut acc = _mm256_loadu_ps(dst.as_ptr().add(x));
            for (k, &t) in taps.iter().enumerate() {
                acc = _mm256_fmadd_ps(
                    _mm256_set1_ps(t),
                    _mm256_loadu_ps(src.as_ptr().add(x + k)),
                    acc,
                );
            }
            _mm256_storeu_ps(dst.as_mut_ptr().add(x), acc);
        }
        x += 8;
    }
    row_scalar(dst, src, taps, full);
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    #[test]
    fn host_conv_equals_burns_layer() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        // 13 wide: one AVX2 block and a scalar tail per row; 3 frames over the threads.
        for (c, h, w, k) in [(32, 12, 13, 7), (3, 5, 8, 3), (1, 9, 17, 1)] {
            let conv = Conv2dConfig::new([c, 1], [k, k])
                .with_padding(PaddingConfig2d::Same)
                .init(&device);
            let x = Tensor::<4>::random([3, c, h, w], Distribution::Uniform(-1.0, 1.0), &device);
            assert!(applies(&conv, &x));
            let want = crate::tensor_values(conv.forward(x.clone())).unwrap();
            let got = crate::tensor_values(conv2d_single_output(&conv, x).unwrap()).unwrap();
            assert_eq!(got.len(), want.len());
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - e).abs() <= 1e-5 * (1.0 + e.abs()),
                    "{c}x{h}x{w} k{k} [{i}]: {g} vs {e}"
                );
            }
        }
    }

    #[test]
    fn training_and_other_layers_keep_burns_path() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        let conv = Conv2dConfig::new([4, 1], [3, 3])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        let x = Tensor::<4>::zeros([1, 4, 6, 6], &device);
        assert!(applies(&conv, &x));
        let autodiff = Tensor::<4>::zeros([1, 4, 6, 6], &Device::flex().autodiff());
        assert!(!applies(&conv, &autodiff), "autodiff needs burn's layer");
        let two = Conv2dConfig::new([4, 2], [3, 3])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        assert!(!applies(&two, &x), "two output channels");
        let valid = Conv2dConfig::new([4, 1], [3, 3]).init(&device);
        assert!(!applies(&valid, &x), "no padding");
    }
}
