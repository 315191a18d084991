//! Running the stages: direct-form f64 convolution.

use super::{Step, MULT32};

/// Dot product written so LLVM keeps eight independent f64 lanes (it will
/// not reassociate a single float accumulator on its own).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0f64; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `filter[q]` meets `x[first + q]`; samples outside `x` are zero.
#[inline]
fn windowed_dot(filter: &[f64], x: &[f64], first: i64) -> f64 {
    let q0 = (-first).max(0);
    let q1 = (filter.len() as i64).min(x.len() as i64 - first);
    if q1 <= q0 {
        return 0.0;
    }
    let (q0, q1) = (q0 as usize, q1 as usize);
    let xi0 = (first + q0 as i64) as usize;
    dot(&filter[q0..q1], &x[xi0..xi0 + (q1 - q0)])
}

pub(super) fn fir(x: &[f64], h: &[f64], l: usize, m: usize, n_out: usize) -> Vec<f64> {
    let centre = (h.len() / 2) as i64;
    let l_i = l as i64;
    // Polyphase split: in the l-times up-sampled signal, tap k meets index
    // u + k - centre, which holds an input sample only when that is a
    // multiple of l, so each output uses one contiguous sub-filter.
    let sub: Vec<Vec<f64>> = (0..l)
        .map(|p| h.iter().skip(p).step_by(l).copied().collect())
        .collect();
    let mut out = Vec::with_capacity(n_out);
    for j in 0..n_out as i64 {
        let u = j * m as i64;
        let p = (centre - u).rem_euclid(l_i);
        let first = (u + p - centre) / l_i;
        out.push(windowed_dot(&sub[p as usize], x, first));
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub(super) fn poly(
    x: &[f64],
    h_ext: &[f64],
    n: usize,
    phases: usize,
    order: usize,
    step: &Step,
    start: f64,
    n_out: usize,
) -> Vec<f64> {
    let preload = ((n - 1) >> 1) as i64;
    let tap = |idx: i64| -> f64 {
        if idx < 0 {
            0.0
        } else {
            h_ext.get(idx as usize).copied().unwrap_or(0.0)
        }
    };
    // Per phase and input offset jj, the coefficients of the polynomial in
    // `frac` that libsoxr's prepare_poly_fir_coefs fits through
    // neighbouring taps (order 0: the tap itself), laid out
    // [phase][power][jj] so each power is a contiguous filter.
    let width = order + 1;
    let mut table = vec![0.0f64; phases * width * n];
    for phase in 0..phases {
        for jj in 0..n {
            let base = ((n - 1 - jj) * phases + phase) as i64;
            let coefs: [f64; 4] = match order {
                0 => [tap(base), 0.0, 0.0, 0.0],
                1 => {
                    let (f0, f1) = (tap(base), tap(base + 1));
                    [f0, f1 - f0, 0.0, 0.0]
                }
                2 => {
                    let (f0, f1, f2) = (tap(base), tap(base + 1), tap(base + 2));
                    let c = 0.5 * (f2 + f0) - f1;
                    let b = f1 - c - f0;
                    [f0, b, c, 0.0]
                }
                _ => {
                    let (fm1, f0, f1, f2) =
                        (tap(base - 1), tap(base), tap(base + 1), tap(base + 2));
                    let c = 0.5 * (f1 + fm1) - f0;
                    let d = (1.0 / 6.0) * (f2 - f1 + fm1 - f0 - 4.0 * c);
                    let b = f1 - f0 - d - c;
                    [f0, b, c, d]
                }
            };
            for (pw, &c) in coefs.iter().take(width).enumerate() {
                table[(phase * width + pw) * n + jj] = c;
            }
        }
    }
    let mut out = Vec::with_capacity(n_out);
    for j in 0..n_out as u64 {
        let (div, phase, frac) = match step {
            Step::Rational { at0, l, m } => {
                let at = at0 + j * m;
                ((at / l) as i64, (at % l) as usize, 0.0)
            }
            Step::Fixed { whole } => {
                let at = (start * MULT32) as u64 + j * whole;
                let int = (at >> 32) as i64;
                let f = (at & 0xffff_ffff) as f64 / MULT32 * phases as f64;
                let ph = f as usize;
                (int, ph.min(phases - 1), f - ph as f64)
            }
        };
        let first = div - preload;
        let rows = &table[phase * width * n..(phase + 1) * width * n];
        // Horner over the per-power dot products equals summing the
        // per-tap polynomials.
        let mut acc = 0.0;
        for pw in (0..width).rev() {
            acc = acc * frac + windowed_dot(&rows[pw * n..(pw + 1) * n], x, first);
        }
        out.push(acc);
    }
    out
}
