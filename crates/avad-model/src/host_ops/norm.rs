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

simd_kernel! {
/// Sums of `v - shift` and of its square: f32 in eight lanes over blocks of 1024, f64 across.
pub(super) fn shifted_sums(v: &[f32], shift: f32) -> (f64, f64) {
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
pub(super) fn grad_sums(x: &[f32], grad: &[f32], a: f32, b: f32, slope: f32, mean: f32, inv_std: f32) -> (f64, f64) {
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
