//! The single-output convolution's gradients on the host.

use super::parallel::{split, split_mut};
use crate::host_conv;

/// The weights' gradient of the single-output convolution: per channel `c` and tap `(u, v)`,
/// `sum over frames and pixels of grad[i, j] * x_c[i + u - pt, j + v - pl]`.
pub(super) fn conv_weight_grad(
    x: &[f32],
    grad: &[f32],
    n: usize,
    s: &host_conv::Shape,
) -> Vec<f32> {
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
                                s.simd.avx2(),
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
pub(super) fn conv_input_grad(
    weight: &[f32],
    grad: &[f32],
    n: usize,
    s: &host_conv::Shape,
) -> Vec<f32> {
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
            let planes = host_conv::Planes {
                data: &padded,
                count: 1,
                wp,
                plane_len: (h + kh - 1) * wp,
            };
            for (ch, dst) in frame.chunks_mut(h * w).enumerate() {
                let taps = &flipped[ch * kh * kw..(ch + 1) * kh * kw];
                for y in 0..h {
                    host_conv::accumulate_row(&mut dst[y * w..(y + 1) * w], &planes, y, taps, s);
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

pub(super) fn conv_shape(x: &[usize], weight: &[usize]) -> host_conv::Shape {
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
        simd: host_conv::Simd::detect(),
    }
}
