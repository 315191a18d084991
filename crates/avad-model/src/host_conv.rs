//! The visual model's output layer (Conv2D 32 → 1, 7x7, 'same') for inference on the CPU,
//! computed on the host from the tensor's values instead of through burn's operations.
//!
//! With one output channel, burn's convolution (and the matmul form of
//! [`crate::fast_conv`]) spends most of its time moving the 49 per-tap products through
//! memory. Here each output row is accumulated in registers: with AVX-512, up to 8
//! blocks of 16 outputs over every channel's kernel rows and taps; with AVX2 and FMA,
//! 8 outputs over one kernel row's taps (detected at run time). Frames are split over
//! the cores.
//! Same math, other float rounding: tested against burn's layer. Used only where nothing
//! needs gradients (a device without autodiff) and the tensor lives on the plain CPU
//! device; training and GPUs keep burn's path.
//!
//! The batch norm and LeakyReLU before the layer (Table 3's layer 7) can run inside it
//! ([`norm_leaky_conv2d_single_output`]): each input row is normalised as it is copied
//! into the padded plane, so the 32 full-size planes are read once instead of three times.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
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
    let [_, _, h, w] = x.dims();
    convolve_tensor(conv, x, None, [h, w])
}

/// `conv.forward(norm_leaky(norm, x, slope))` (see [`crate::host_ops::norm_leaky`]) for the
/// layers [`applies`] accepts, in one pass over `x`: the batch norm's inference arithmetic
/// is [`crate::host_ops::norm_leaky`]'s, so the result is that of the two calls to the bit.
pub fn norm_leaky_conv2d_single_output(
    norm: &BatchNorm,
    slope: f64,
    conv: &Conv2d,
    x: Tensor<4>,
) -> Result<Tensor<4>, ModelError> {
    let [_, _, h, w] = x.dims();
    norm_leaky_conv2d_single_output_cropped(norm, slope, conv, x, [h, w])
}

/// [`norm_leaky_conv2d_single_output`] of the top-left `[height, width]` of `x`'s planes,
/// read where they lie: the same values to the bit as on `x` narrowed to that size,
/// without the copy that a narrowed view costs.
pub fn norm_leaky_conv2d_single_output_cropped(
    norm: &BatchNorm,
    slope: f64,
    conv: &Conv2d,
    x: Tensor<4>,
    crop: [usize; 2],
) -> Result<Tensor<4>, ModelError> {
    let values = |t: Tensor<1>| crate::tensor_values(t);
    let (gamma, beta) = (values(norm.gamma.val())?, values(norm.beta.val())?);
    let (mean, variance) = (
        values(norm.running_mean.value())?,
        values(norm.running_var.value())?,
    );
    let c = x.dims()[1];
    if [&gamma, &beta, &mean, &variance]
        .iter()
        .any(|v| v.len() != c)
    {
        return Err(ModelError::Data(format!(
            "batch norm of {} channels before a convolution of {c}",
            gamma.len()
        )));
    }
    // As `norm_leaky`'s inference: sqrt(variance + epsilon), epsilon cast to f32 first.
    let eps = norm.epsilon as f32;
    let channels = (0..c)
        .map(|ch| [mean[ch], (variance[ch] + eps).sqrt(), gamma[ch], beta[ch]])
        .collect();
    let prologue = Prologue {
        channels,
        slope: slope as f32,
        leaky: slope != 1.0,
    };
    convolve_tensor(conv, x, Some(&prologue), crop)
}

/// A batch norm in inference and a LeakyReLU, applied to each input channel as it is read:
/// per channel `[mean, std, gamma, beta]` (see `host_ops::norm::normalise_infer`).
pub(crate) struct Prologue {
    channels: Vec<[f32; 4]>,
    slope: f32,
    leaky: bool,
}

/// The convolution of the top-left `[h, w]` of `x`'s planes.
fn convolve_tensor(
    conv: &Conv2d,
    x: Tensor<4>,
    prologue: Option<&Prologue>,
    [h, w]: [usize; 2],
) -> Result<Tensor<4>, ModelError> {
    let [n, c, src_h, src_w] = x.dims();
    if h > src_h || w > src_w {
        return Err(ModelError::Data(format!(
            "a crop of {h}x{w} from planes of {src_h}x{src_w}"
        )));
    }
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
        simd: Simd::detect(),
    };
    let out = convolve(&input, n, [src_h, src_w], &weight, bias, &shape, prologue);
    Ok(Tensor::from_data(
        TensorData::new(out, [n, 1, h, w]),
        &device,
    ))
}

/// `n` frames of `input` (`[n, c, src_h, src_w]`), the top-left `h` x `w` of each channel
/// through `prologue` where there is one, convolved with `weight` (`[1, c, kh, kw]`), plus
/// `bias`: `[n, 1, h, w]`, frames split over the cores.
pub(crate) fn convolve(
    input: &[f32],
    n: usize,
    [src_h, src_w]: [usize; 2],
    weight: &[f32],
    bias: f32,
    shape: &Shape,
    prologue: Option<&Prologue>,
) -> Vec<f32> {
    let (c, h, w, kh, kw) = (shape.c, shape.h, shape.w, shape.kh, shape.kw);
    let mut out = vec![bias; n * h * w];
    if n == 0 || h * w == 0 {
        return out;
    }
    crate::host_ops::parallel::split_mut(&mut out, h * w, |first, chunk| {
        let input = &input[first * c * src_h * src_w..];
        let layout = [c, h, w, kh, kw];
        let mut padded = PaddedPool::take(layout);
        for (f, frame_out) in chunk.chunks_mut(h * w).enumerate() {
            frame(
                &input[f * c * src_h * src_w..(f + 1) * c * src_h * src_w],
                src_w,
                weight,
                shape,
                &mut padded,
                frame_out,
                prologue,
            );
        }
        PaddedPool::give_back(layout, padded);
    });
    out
}

/// Buffers for [`frame`]'s zero-padded planes, kept between calls. A fresh buffer of
/// 32 planes (1.3 MB at 96x96) costs the kernel's zeroing of its pages at every call;
/// a kept one is reused as it is, since [`frame`] writes only the planes' interiors and
/// the padding around them stays zero.
struct PaddedPool;

impl PaddedPool {
    /// At most this many buffers are kept (one per core in `avad watch`'s two scorers).
    const KEEP: usize = 4;

    fn pool() -> &'static std::sync::Mutex<Vec<([usize; 5], Vec<f32>)>> {
        static POOL: std::sync::Mutex<Vec<([usize; 5], Vec<f32>)>> =
            std::sync::Mutex::new(Vec::new());
        &POOL
    }

    /// A buffer for `layout` (`[planes, rows, columns, kernel rows, kernel columns]`: the
    /// interior and the padding around it) whose padding is zero.
    fn take(layout: [usize; 5]) -> Vec<f32> {
        let [c, h, w, kh, kw] = layout;
        let kept = {
            let mut pool = Self::pool().lock().unwrap_or_else(|e| e.into_inner());
            pool.iter()
                .position(|(l, _)| *l == layout)
                .map(|i| pool.swap_remove(i).1)
        };
        kept.unwrap_or_else(|| vec![0.0; c * (h + kh - 1) * (w + kw - 1)])
    }

    fn give_back(layout: [usize; 5], buffer: Vec<f32>) {
        let mut pool = Self::pool().lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() >= Self::KEEP {
            pool.remove(0);
        }
        pool.push((layout, buffer));
    }
}

/// A convolution's sizes: `c` input channels of `h` x `w`, a `kh` x `kw` kernel.
pub(crate) struct Shape {
    pub(crate) c: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    /// The vector instructions the CPU has ([`Simd::detect`], asked once per call).
    pub(crate) simd: Simd,
}

/// The vector instructions the kernels here use: none, AVX2 with FMA, or AVX-512 too.
/// [`row`] gives the same values to the bit with either set (the same fused multiply-adds
/// in the same order, on 8 or 16 lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Simd {
    Scalar,
    Avx2,
    Avx512,
}

impl Simd {
    /// What this CPU has.
    pub(crate) fn detect() -> Simd {
        if !has_avx2_fma() {
            return Simd::Scalar;
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            return Simd::Avx512;
        }
        Simd::Avx2
    }

    /// AVX2 and FMA at least.
    pub(crate) fn avx2(self) -> bool {
        self != Simd::Scalar
    }
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

/// One frame: `out` (holding the bias) += the convolution of the top-left `h` x `w` of its
/// `c` channel planes (rows `src_w` wide), each through `prologue` where there is one (the
/// zero padding stays zero). `padded` holds the `c` zero-padded planes.
pub(crate) fn frame(
    input: &[f32],
    src_w: usize,
    weight: &[f32],
    s: &Shape,
    padded: &mut [f32],
    out: &mut [f32],
    prologue: Option<&Prologue>,
) {
    let (pt, pl) = ((s.kh - 1) / 2, (s.kw - 1) / 2);
    let wp = s.w + s.kw - 1;
    let plane_len = (s.h + s.kh - 1) * wp;
    let src_plane = input.len() / s.c.max(1);
    for ch in 0..s.c {
        let plane = &input[ch * src_plane..(ch + 1) * src_plane];
        let dst = &mut padded[ch * plane_len..(ch + 1) * plane_len];
        for y in 0..s.h {
            let row = &mut dst[(y + pt) * wp + pl..(y + pt) * wp + pl + s.w];
            row.copy_from_slice(&plane[y * src_w..y * src_w + s.w]);
            if let Some(p) = prologue {
                crate::host_ops::normalise_infer(row, p.channels[ch], p.slope, p.leaky);
            }
        }
    }
    let planes = Planes {
        data: padded,
        count: s.c,
        wp,
        plane_len,
    };
    for y in 0..s.h {
        accumulate_row(&mut out[y * s.w..(y + 1) * s.w], &planes, y, weight, s);
    }
}

/// Zero-padded planes of one size, one after another: `count` planes of `plane_len`
/// values, rows `wp` wide.
pub(crate) struct Planes<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) count: usize,
    pub(crate) wp: usize,
    pub(crate) plane_len: usize,
}

/// Output row `y` of a convolution over `planes`:
/// `dst[x] += Σ_p Σ_dy Σ_k taps[(p kh + dy) kw + k] · plane_p[(y + dy) wp + x + k]`,
/// summed in that order (plane, kernel row, tap) for every `x`: the fused multiply-adds
/// of [`row`] called plane by plane and kernel row by kernel row, so the same values to
/// the bit. With AVX-512 the row's 16-lane blocks stay in registers over all the planes
/// and kernel rows, up to 8 blocks at a time, where [`row`] reads and writes `dst` once
/// per kernel row.
pub(crate) fn accumulate_row(dst: &mut [f32], planes: &Planes, y: usize, taps: &[f32], s: &Shape) {
    let (kh, kw, wp) = (s.kh, s.kw, planes.wp);
    let src = |p: usize, dy: usize| {
        let at = p * planes.plane_len + (y + dy) * wp;
        &planes.data[at..at + wp]
    };
    let mut from = 0;
    #[cfg(target_arch = "x86_64")]
    if s.simd == Simd::Avx512 {
        let full = dst.len() - dst.len() % 16;
        assert!(planes.data.len() >= planes.count * planes.plane_len);
        assert!(taps.len() >= planes.count * kh * kw && (y + kh) * wp <= planes.plane_len);
        assert!(full + kw - 1 <= wp);
        while from < full {
            let blocks = ((full - from) / 16).min(8);
            let block = Block {
                dst: &mut dst[from..from + 16 * blocks],
                first: y * wp + from,
                planes,
                taps,
                kh,
                kw,
            };
            // SAFETY: `Simd::detect` found AVX-512F on this CPU; the asserts above keep
            // every read inside `planes` and `taps`.
            unsafe {
                match blocks {
                    1 => block.run::<1>(),
                    2 => block.run::<2>(),
                    3 => block.run::<3>(),
                    4 => block.run::<4>(),
                    5 => block.run::<5>(),
                    6 => block.run::<6>(),
                    7 => block.run::<7>(),
                    _ => block.run::<8>(),
                }
            }
            from += 16 * blocks;
        }
    }
    if from == dst.len() {
        return;
    }
    // The rest as `row` computes it: 8 lanes, then one at a time (with AVX-512, what
    // `row_avx512` leaves to `row_avx2`).
    let simd = if s.simd == Simd::Avx512 {
        Simd::Avx2
    } else {
        s.simd
    };
    for p in 0..planes.count {
        for dy in 0..kh {
            let t = &taps[(p * kh + dy) * kw..(p * kh + dy + 1) * kw];
            row(&mut dst[from..], &src(p, dy)[from..], t, simd);
        }
    }
}

/// Up to 8 blocks of 16 outputs of [`accumulate_row`], starting at `first` in each plane.
#[cfg(target_arch = "x86_64")]
struct Block<'a, 'b> {
    dst: &'a mut [f32],
    first: usize,
    planes: &'a Planes<'b>,
    taps: &'a [f32],
    kh: usize,
    kw: usize,
}

#[cfg(target_arch = "x86_64")]
impl Block<'_, '_> {
    /// # Safety
    /// The CPU must have AVX-512F; `dst` holds `16 B` values, and every plane holds
    /// `first + (kh − 1) wp + kw − 1 + 16 B` values, `taps` `count kh kw`.
    #[target_feature(enable = "avx512f")]
    unsafe fn run<const B: usize>(self) {
        use std::arch::x86_64::{
            _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
        };
        let (kh, kw, wp) = (self.kh, self.kw, self.planes.wp);
        let mut acc = [_mm512_setzero_ps(); B];
        for (b, a) in acc.iter_mut().enumerate() {
            // SAFETY: dst holds 16 B values.
            *a = unsafe { _mm512_loadu_ps(self.dst.as_ptr().add(16 * b)) };
        }
        for p in 0..self.planes.count {
            for dy in 0..kh {
                let at = p * self.planes.plane_len + self.first + dy * wp;
                let src = self.planes.data[at..].as_ptr();
                let taps = &self.taps[(p * kh + dy) * kw..(p * kh + dy + 1) * kw];
                for (k, &t) in taps.iter().enumerate() {
                    let t = _mm512_set1_ps(t);
                    for (b, a) in acc.iter_mut().enumerate() {
                        // SAFETY: the plane holds first + dy wp + k + 16 B values (caller).
                        *a =
                            unsafe { _mm512_fmadd_ps(t, _mm512_loadu_ps(src.add(k + 16 * b)), *a) };
                    }
                }
            }
        }
        for (b, a) in acc.iter().enumerate() {
            // SAFETY: dst holds 16 B values.
            unsafe { _mm512_storeu_ps(self.dst.as_mut_ptr().add(16 * b), *a) };
        }
    }
}

/// `dst[x] += Σ_k taps[k] · src[x + k]`, with the vector instructions `simd` says the CPU
/// has.
pub(crate) fn row(dst: &mut [f32], src: &[f32], taps: &[f32], simd: Simd) {
    #[cfg(target_arch = "x86_64")]
    match simd {
        // SAFETY: `Simd::detect` found AVX-512F (and AVX2 and FMA) on this CPU.
        Simd::Avx512 => return unsafe { row_avx512(dst, src, taps) },
        // SAFETY: `Simd::detect` found AVX2 and FMA on this CPU.
        Simd::Avx2 => return unsafe { row_avx2(dst, src, taps) },
        Simd::Scalar => {}
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

/// [`row_avx2`] on 16 lanes, the last `dst.len() % 16` values by [`row_avx2`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn row_avx512(dst: &mut [f32], src: &[f32], taps: &[f32]) {
    use std::arch::x86_64::{_mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_storeu_ps};
    let n = dst.len();
    let full = n - n % 16;
    debug_assert!(src.len() >= n + taps.len() - 1);
    let mut x = 0;
    while x < full {
        // SAFETY: x + 16 <= n <= dst.len(), and x + k + 16 <= n + taps.len() - 1 <= src.len().
        unsafe {
            let mut acc = _mm512_loadu_ps(dst.as_ptr().add(x));
            for (k, &t) in taps.iter().enumerate() {
                acc = _mm512_fmadd_ps(
                    _mm512_set1_ps(t),
                    _mm512_loadu_ps(src.as_ptr().add(x + k)),
                    acc,
                );
            }
            _mm512_storeu_ps(dst.as_mut_ptr().add(x), acc);
        }
        x += 16;
    }
    // SAFETY: the caller's CPU has AVX2 and FMA (this function's features).
    unsafe { row_avx2(&mut dst[full..], &src[full..], taps) };
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

    /// The batch norm and LeakyReLU inside the convolution give the two separate calls'
    /// values to the bit: planes on the host's norm and on burn's (below 64 pixels), an
    /// AVX2 tail, with and without the LeakyReLU.
    #[test]
    fn norm_inside_the_conv_equals_the_two_calls() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        device.seed(9);
        for (c, h, w, k, slope) in [(32, 12, 13, 7, 0.3), (3, 5, 8, 3, 1.0), (4, 9, 17, 5, 0.3)] {
            let conv = Conv2dConfig::new([c, 1], [k, k])
                .with_padding(PaddingConfig2d::Same)
                .init(&device);
            let channel =
                |lo: f64, hi: f64| Tensor::<1>::random([c], Distribution::Uniform(lo, hi), &device);
            let mut norm = burn::nn::BatchNormConfig::new(c)
                .with_epsilon(1e-3)
                .init(&device);
            norm.gamma = burn::module::Param::from_tensor(channel(0.5, 1.5));
            norm.beta = burn::module::Param::from_tensor(channel(-0.3, 0.3));
            norm.running_mean = burn::module::RunningState::new(channel(-0.5, 0.5));
            norm.running_var = burn::module::RunningState::new(channel(0.01, 2.0));
            let x = Tensor::<4>::random([3, c, h, w], Distribution::Uniform(-2.0, 3.0), &device);
            let two = crate::host_ops::norm_leaky(&norm, x.clone(), slope);
            let want = crate::tensor_values(conv2d_single_output(&conv, two).unwrap()).unwrap();
            let got = norm_leaky_conv2d_single_output(&norm, slope, &conv, x).unwrap();
            let got = crate::tensor_values(got).unwrap();
            assert_eq!(got.len(), want.len());
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    e.to_bits(),
                    "{c}x{h}x{w} k{k} [{i}]: {g} vs {e}"
                );
            }
        }
    }

    /// The cropped form reads the planes where they lie and gives, to the bit, what the
    /// same layer gives on the narrowed view: a crop of one row and column (the stride-4
    /// transposed convolution's) and of three.
    #[test]
    fn cropped_planes_equal_the_narrowed_view() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        device.seed(11);
        for (c, h, w, k, cut) in [(32, 12, 40, 7, 1), (4, 9, 17, 5, 3)] {
            let conv = Conv2dConfig::new([c, 1], [k, k])
                .with_padding(PaddingConfig2d::Same)
                .init(&device);
            let norm = burn::nn::BatchNormConfig::new(c)
                .with_epsilon(1e-3)
                .init(&device);
            let x = Tensor::<4>::random(
                [2, c, h + cut, w + cut],
                Distribution::Uniform(-2.0, 3.0),
                &device,
            );
            let narrowed = x.clone().narrow(2, 0, h).narrow(3, 0, w);
            let want = norm_leaky_conv2d_single_output(&norm, 0.3, &conv, narrowed).unwrap();
            let got = norm_leaky_conv2d_single_output_cropped(&norm, 0.3, &conv, x, [h, w]);
            let got = got.unwrap();
            assert_eq!(got.dims(), [2, 1, h, w]);
            let (got, want) = (
                crate::tensor_values(got).unwrap(),
                crate::tensor_values(want).unwrap(),
            );
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g.to_bits(), e.to_bits(), "{c}x{h}x{w} [{i}]: {g} vs {e}");
            }
        }
    }

    /// The 16-lane row gives the 8-lane row's values to the bit, and both the plain sum's
    /// within float rounding: full blocks of 16, a block of 8 and a scalar tail.
    #[test]
    fn row_is_the_same_on_every_instruction_set() {
        let simd = Simd::detect();
        if simd == Simd::Scalar {
            eprintln!("skipped: this CPU has no AVX2 and FMA");
            return;
        }
        let taps = [0.3f32, -1.25, 0.7, 2.0, -0.1, 0.05, 1.5];
        for n in [96usize, 45, 16, 7] {
            let src: Vec<f32> = (0..n + taps.len() - 1)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let start: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 3.0).collect();
            let run = |simd: Simd| {
                let mut dst = start.clone();
                row(&mut dst, &src, &taps, simd);
                dst
            };
            let (scalar, avx2) = (run(Simd::Scalar), run(Simd::Avx2));
            for (a, b) in scalar.iter().zip(&avx2) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                    "width {n}: {a} vs {b}"
                );
            }
            if simd == Simd::Avx512 {
                let wide = run(Simd::Avx512);
                for (i, (a, b)) in avx2.iter().zip(&wide).enumerate() {
                    assert_eq!(a.to_bits(), b.to_bits(), "width {n} [{i}]: {a} vs {b}");
                }
            } else {
                eprintln!("skipped the AVX-512 row: this CPU has no AVX-512F");
            }
        }
    }

    /// A frame gives, to the bit, what `row` gives called channel by channel and kernel row
    /// by kernel row over the whole frame: widths of whole 16-lane blocks (one pass of 8
    /// and more), with an 8-lane and a scalar tail, and narrower than one block.
    #[test]
    fn frame_equals_row_by_row() {
        let simd = Simd::detect();
        for (c, h, w, k) in [
            (32, 6, 96, 7),
            (1, 5, 96, 7),
            (3, 4, 240, 7),
            (5, 5, 45, 3),
            (2, 3, 13, 5),
        ] {
            let s = Shape {
                c,
                h,
                w,
                kh: k,
                kw: k,
                simd,
            };
            let input: Vec<f32> = (0..c * h * w)
                .map(|i| ((i * 7919 % 1013) as f32 - 506.0) / 97.0)
                .collect();
            let weight: Vec<f32> = (0..c * k * k)
                .map(|i| ((i * 104_729 % 211) as f32 - 105.0) / 301.0)
                .collect();
            let got = convolve(&input, 1, [h, w], &weight, 0.125, &s, None);
            let (p, wp) = ((k - 1) / 2, w + k - 1);
            let mut want = vec![0.125f32; h * w];
            let mut padded = vec![0.0f32; (h + k - 1) * wp];
            for ch in 0..c {
                for y in 0..h {
                    padded[(y + p) * wp + p..(y + p) * wp + p + w]
                        .copy_from_slice(&input[(ch * h + y) * w..(ch * h + y + 1) * w]);
                }
                for dy in 0..k {
                    for y in 0..h {
                        row(
                            &mut want[y * w..(y + 1) * w],
                            &padded[(y + dy) * wp..(y + dy + 1) * wp],
                            &weight[(ch * k + dy) * k..(ch * k + dy + 1) * k],
                            simd,
                        );
                    }
                }
            }
            for (i, (g, e)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g.to_bits(),
                    e.to_bits(),
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
