//! The batch norm + LeakyReLU operation's host loops and per-channel statistics.

use super::parallel::split;
use crate::host_conv;

simd_kernel! {
/// In place, `((x − mean) / std) · gamma + beta`, then LeakyReLU where `leaky`: burn's inference
/// batch norm and `leaky_relu`, operation for operation (Rust never fuses a multiply and an
/// add, so every value is burn's to the bit).
pub(crate) fn normalise_infer(values: &mut [f32], channel: [f32; 4], slope: f32, leaky: bool) {
    let [mean, std, gamma, beta] = channel;
    for d in values.iter_mut() {
        let y = (*d - mean) / std * gamma + beta;
        // burn's leaky_relu: `if y >= 0 { y } else { slope * y }`.
        *d = if leaky && !(y >= 0.0) { slope * y } else { y };
    }
}
}

/// Sums of `v - shift` and of its square: f32 in eight lanes over blocks of 1024, f64 across.
pub(super) fn shifted_sums(v: &[f32], shift: f32) -> (f64, f64) {
    let (mut sum, mut squares) = (0.0f64, 0.0f64);
    for block in v.chunks(1024) {
        let full = block.len() - block.len() % 8;
        let (mut s, mut q) = shifted_lanes(&block[..full], shift);
        for &x in &block[full..] {
            let d = x - shift;
            s[0] += d;
            q[0] += d * d;
        }
        sum += s.iter().map(|&x| f64::from(x)).sum::<f64>();
        squares += q.iter().map(|&x| f64::from(x)).sum::<f64>();
    }
    (sum, squares)
}

/// [`shifted_sums`]'s eight lanes over `v` (a multiple of 8 long): lane `l` sums the values
/// at `l`, `l + 8`, ... The compiler pairs `s[l]` with `q[l]` instead of vectorising the
/// lanes, so x86-64 with AVX2 has it written in vector instructions (the same operations,
/// so the same values).
fn shifted_lanes(v: &[f32], shift: f32) -> ([f32; 8], [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    if host_conv::has_avx2_fma() {
        // SAFETY: the CPU has AVX2.
        return unsafe { shifted_lanes_avx2(v, shift) };
    }
    shifted_lanes_portable(v, shift)
}

fn shifted_lanes_portable(v: &[f32], shift: f32) -> ([f32; 8], [f32; 8]) {
    let (mut s, mut q) = ([0.0f32; 8], [0.0f32; 8]);
    for chunk in v.chunks_exact(8) {
        for l in 0..8 {
            let d = chunk[l] - shift;
            s[l] += d;
            q[l] += d * d;
        }
    }
    (s, q)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn shifted_lanes_avx2(v: &[f32], shift: f32) -> ([f32; 8], [f32; 8]) {
    use std::arch::x86_64::*;
    let (mut s, mut q) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let shift = _mm256_set1_ps(shift);
    for chunk in v.chunks_exact(8) {
        // SAFETY: the chunk holds 8 values.
        let d = _mm256_sub_ps(unsafe { _mm256_loadu_ps(chunk.as_ptr()) }, shift);
        s = _mm256_add_ps(s, d);
        q = _mm256_add_ps(q, _mm256_mul_ps(d, d));
    }
    (to_array(s), to_array(q))
}

/// Sums of `g` and of `g * (x - mean) * inv_std`, where `g` is `grad` through the LeakyReLU
/// of `x * a + b`: f32 in eight lanes over blocks of 1024, f64 across.
pub(super) fn grad_sums(
    x: &[f32],
    grad: &[f32],
    a: f32,
    b: f32,
    slope: f32,
    mean: f32,
    inv_std: f32,
) -> (f64, f64) {
    let (mut sum, mut projected) = (0.0f64, 0.0f64);
    let map = [a, b, slope, mean, inv_std];
    for (xb, gb) in x.chunks(1024).zip(grad.chunks(1024)) {
        let n = xb.len().min(gb.len());
        let full = n - n % 8;
        let (mut s, mut p) = grad_lanes(&xb[..full], &gb[..full], map);
        for (&x, &dy) in xb[full..n].iter().zip(&gb[full..n]) {
            let z = x * a + b;
            let g = if z > 0.0 { dy } else { dy * slope };
            s[0] += g;
            p[0] += g * ((x - mean) * inv_std);
        }
        sum += s.iter().map(|&x| f64::from(x)).sum::<f64>();
        projected += p.iter().map(|&x| f64::from(x)).sum::<f64>();
    }
    (sum, projected)
}

/// [`grad_sums`]'s eight lanes over `x` and `grad` (a multiple of 8 long, `map` its
/// `[a, b, slope, mean, inv_std]`), in vector instructions on x86-64 with AVX2 as in
/// [`shifted_lanes`].
fn grad_lanes(x: &[f32], grad: &[f32], map: [f32; 5]) -> ([f32; 8], [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    if host_conv::has_avx2_fma() {
        // SAFETY: the CPU has AVX2.
        return unsafe { grad_lanes_avx2(x, grad, map) };
    }
    grad_lanes_portable(x, grad, map)
}

fn grad_lanes_portable(x: &[f32], grad: &[f32], map: [f32; 5]) -> ([f32; 8], [f32; 8]) {
    let [a, b, slope, mean, inv_std] = map;
    let (mut s, mut p) = ([0.0f32; 8], [0.0f32; 8]);
    for (cx, cg) in x.chunks_exact(8).zip(grad.chunks_exact(8)) {
        for l in 0..8 {
            let z = cx[l] * a + b;
            let g = if z > 0.0 { cg[l] } else { cg[l] * slope };
            s[l] += g;
            p[l] += g * ((cx[l] - mean) * inv_std);
        }
    }
    (s, p)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn grad_lanes_avx2(x: &[f32], grad: &[f32], map: [f32; 5]) -> ([f32; 8], [f32; 8]) {
    use std::arch::x86_64::*;
    let [a, b, slope, mean, inv_std] = map.map(|v| _mm256_set1_ps(v));
    let (mut s, mut p) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let zero = _mm256_setzero_ps();
    for (cx, cg) in x.chunks_exact(8).zip(grad.chunks_exact(8)) {
        // SAFETY: each chunk holds 8 values.
        let (vx, dy) = unsafe { (_mm256_loadu_ps(cx.as_ptr()), _mm256_loadu_ps(cg.as_ptr())) };
        let z = _mm256_add_ps(_mm256_mul_ps(vx, a), b);
        // `if z > 0 { dy } else { dy * slope }`: ordered, so NaN takes the slope.
        let positive = _mm256_cmp_ps::<_CMP_GT_OQ>(z, zero);
        let g = _mm256_blendv_ps(_mm256_mul_ps(dy, slope), dy, positive);
        s = _mm256_add_ps(s, g);
        let centred = _mm256_mul_ps(_mm256_sub_ps(vx, mean), inv_std);
        p = _mm256_add_ps(p, _mm256_mul_ps(g, centred));
    }
    (to_array(s), to_array(p))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn to_array(v: std::arch::x86_64::__m256) -> [f32; 8] {
    let mut out = [0.0f32; 8];
    // SAFETY: `out` holds 8 f32.
    unsafe { std::arch::x86_64::_mm256_storeu_ps(out.as_mut_ptr(), v) };
    out
}

simd_kernel! {
/// `dst = leaky_relu(x * a + b, slope)`.
pub(super) fn normalise(dst: &mut [f32], x: &[f32], a: f32, b: f32, slope: f32) {
    for (d, &v) in dst.iter_mut().zip(x) {
        let z = v * a + b;
        *d = if z > 0.0 { z } else { z * slope };
    }
}
}

simd_kernel! {
/// The batch norm's input gradient over one plane: `a (g - mean(g) - xhat mean(g xhat))`.
pub(super) fn norm_input_grad(dst: &mut [f32], x: &[f32], grad: &[f32], map: (f32, f32, f32), slope: f32, mean: f32, centre: (f32, f32)) {
    let (a, b, inv_std) = map;
    let (mean_g, mean_gx) = centre;
    for ((d, &v), &dy) in dst.iter_mut().zip(x).zip(grad) {
        let z = v * a + b;
        let g = if z > 0.0 { dy } else { dy * slope };
        *d = a * (g - mean_g - (v - mean) * inv_std * mean_gx);
    }
}
}

/// Per channel of an `[n, c, plane]` tensor: (mean, biased variance), in f64.
pub(super) fn channel_stats(x: &[f32], n: usize, c: usize, plane: usize) -> Vec<(f64, f64)> {
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
pub(super) fn channel_sums(
    n: usize,
    c: usize,
    plane: impl Fn(usize) -> (f64, f64) + Sync,
) -> Vec<(f64, f64)> {
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
pub(super) fn planes(shape: &[usize]) -> (usize, usize, usize) {
    assert!(
        shape.len() >= 2,
        "host_ops: batch norm needs [batch, channels, ...], got {shape:?}"
    );
    (shape[0], shape[1], shape[2..].iter().product())
}

/// The per-channel affine map of the normalisation, `x * a + b`, and `inv_std`.
pub(super) fn affine(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 lanes hold the portable loops' sums to the bit, NaN and signed zeros
    /// included.
    #[test]
    fn vector_lanes_equal_the_portable_loops() {
        if !host_conv::has_avx2_fma() {
            eprintln!("skipped: this CPU has no AVX2");
            return;
        }
        let x: Vec<f32> = (0..1024)
            .map(|i| ((i * 7919 % 1013) as f32 - 500.0) / 97.0)
            .chain([f32::NAN, -0.0, 0.0, 1e-30, -1e-30, 3.0, -3.0, 0.5])
            .collect();
        let grad: Vec<f32> = (0..x.len())
            .map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 311.0)
            .collect();
        let bits = |(s, q): ([f32; 8], [f32; 8])| (s.map(f32::to_bits), q.map(f32::to_bits));
        for shift in [0.0f32, 0.37, -2.5] {
            // SAFETY: the CPU has AVX2 (checked above).
            let wide = unsafe { shifted_lanes_avx2(&x, shift) };
            assert_eq!(
                bits(wide),
                bits(shifted_lanes_portable(&x, shift)),
                "shift {shift}"
            );
        }
        for map in [[1.3f32, -0.2, 0.3, 0.1, 2.0], [0.7, 0.4, 1.0, -0.5, 0.9]] {
            // SAFETY: as above.
            let wide = unsafe { grad_lanes_avx2(&x, &grad, map) };
            assert_eq!(
                bits(wide),
                bits(grad_lanes_portable(&x, &grad, map)),
                "{map:?}"
            );
        }
    }
}
