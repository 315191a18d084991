//! Reductions over the bins and lanes, written so that they vectorise.

use super::{Lanes, HALF, LANES};

/// The index of the first NaN or infinity in `y`: blocks checked with a reduction the
/// compiler vectorises (a search stopping at the first hit does not), then the block
/// holding one searched.
pub(crate) fn first_non_finite(y: &[f32]) -> Option<usize> {
    const BLOCK: usize = 256;
    y.chunks(BLOCK).enumerate().find_map(|(b, chunk)| {
        if chunk.iter().fold(true, |ok, v| ok & v.is_finite()) {
            None
        } else {
            chunk
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| b * BLOCK + i)
        }
    })
}

/// `(sum f(m, x).0, sum f(m, x).1)` over the bins, for each lane in `lanes` (HALF of
/// them), in four interleaved f64 accumulators (so the additions pipeline; the order
/// differs from a plain loop only at the 1e-16 level).
#[inline(always)]
pub(super) fn sum4_lanes(
    m: &[Lanes],
    x: &[f64],
    lanes: std::ops::Range<usize>,
    f: impl Fn([f64; HALF], f64) -> ([f64; HALF], [f64; HALF]),
) -> ([f64; HALF], [f64; HALF]) {
    let first = lanes.start;
    let take = |row: &Lanes| -> [f64; HALF] { std::array::from_fn(|l| f64::from(row[first + l])) };
    let mut a = [[0f64; HALF]; 4];
    let mut b = [[0f64; HALF]; 4];
    let mut mc = m.chunks_exact(4);
    let mut xc = x.chunks_exact(4);
    for (mm, xx) in (&mut mc).zip(&mut xc) {
        for i in 0..4 {
            let (p, q) = f(take(&mm[i]), xx[i]);
            for l in 0..HALF {
                a[i][l] += p[l];
                b[i][l] += q[l];
            }
        }
    }
    let mut sa: [f64; HALF] = std::array::from_fn(|l| (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]));
    let mut sb: [f64; HALF] = std::array::from_fn(|l| (b[0][l] + b[1][l]) + (b[2][l] + b[3][l]));
    for (mm, &xx) in mc.remainder().iter().zip(xc.remainder()) {
        let (p, q) = f(take(mm), xx);
        for l in 0..HALF {
            sa[l] += p[l];
            sb[l] += q[l];
        }
    }
    (sa, sb)
}

/// Per lane, the means of the `k` smallest and the `k` largest values of `rows`
/// (spectral contrast's valley and peak), each summed in f64 from the most extreme
/// value inwards (the order of the sorted sets).
#[inline(always)]
pub(super) fn extreme_means_lanes(
    rows: &[Lanes],
    k: usize,
    select: &mut Vec<f32>,
) -> ([f64; LANES], [f64; LANES]) {
    macro_rules! by_k {
        ($($n:literal)*) => {
            match k {
                $($n => return (smallest_mean::<$n>(rows), largest_mean::<$n>(rows)),)*
                _ => {}
            }
        };
    }
    by_k!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    // A large quantile: selection, lane by lane.
    let mean = |s: &[f32]| s.iter().map(|&x| f64::from(x)).sum::<f64>() / s.len().max(1) as f64;
    let mut lo = [0.0; LANES];
    let mut hi = [0.0; LANES];
    for l in 0..LANES {
        select.clear();
        select.extend(rows.iter().map(|r| r[l]));
        let n = select.len();
        if n == 0 {
            continue;
        }
        select.select_nth_unstable_by(k - 1, f32::total_cmp);
        lo[l] = mean(&select[..k]);
        select.select_nth_unstable_by(n - k, f32::total_cmp);
        hi[l] = mean(&select[n - k..]);
    }
    (lo, hi)
}

/// Per lane, the mean of the `K` smallest values of `rows` (at least `K` of them):
/// `set[0] <= .. <= set[K - 1]` holds the smallest so far and each value is inserted by
/// compare-exchange down the set (branch-free, every lane at once; the set starts at
/// +inf, pushed out by the first `K` values).
#[inline(always)]
fn smallest_mean<const K: usize>(rows: &[Lanes]) -> [f64; LANES] {
    let mut set = [[f32::INFINITY; LANES]; K];
    for row in rows {
        let mut x = *row;
        for s in set.iter_mut() {
            // Written as two independent selects (not one swap on one condition), the
            // form LLVM turns into vminps / vmaxps on registers; equal values make both
            // sides equal, so the multiset is kept either way.
            let (mut lo, mut hi) = ([0f32; LANES], [0f32; LANES]);
            for l in 0..LANES {
                lo[l] = if x[l] < s[l] { x[l] } else { s[l] };
                hi[l] = if s[l] < x[l] { x[l] } else { s[l] };
            }
            *s = lo;
            x = hi;
        }
    }
    std::array::from_fn(|l| set.iter().map(|s| f64::from(s[l])).sum::<f64>() / K as f64)
}

/// Per lane, the mean of the `K` largest values of `rows`; as [`smallest_mean`], with
/// `set[0] >= .. >= set[K - 1]`.
#[inline(always)]
fn largest_mean<const K: usize>(rows: &[Lanes]) -> [f64; LANES] {
    let mut set = [[f32::NEG_INFINITY; LANES]; K];
    for row in rows {
        let mut x = *row;
        for s in set.iter_mut() {
            let (mut lo, mut hi) = ([0f32; LANES], [0f32; LANES]);
            for l in 0..LANES {
                hi[l] = if x[l] > s[l] { x[l] } else { s[l] };
                lo[l] = if s[l] > x[l] { x[l] } else { s[l] };
            }
            *s = hi;
            x = lo;
        }
    }
    std::array::from_fn(|l| set.iter().map(|s| f64::from(s[l])).sum::<f64>() / K as f64)
}

/// The largest of `v` (-inf if empty), in eight running maxima so the loop vectorises
/// (a single running `max` is one serial chain). Powers are never NaN.
pub(super) fn max_f32(v: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    chunks
        .remainder()
        .iter()
        .chain(&m)
        .fold(f32::NEG_INFINITY, |a, &x| a.max(x))
}

/// [`max_f32`] for f64 values.
pub(super) fn max_f64(v: &[f64]) -> f64 {
    let mut m = [f64::NEG_INFINITY; 4];
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    chunks
        .remainder()
        .iter()
        .chain(&m)
        .fold(f64::NEG_INFINITY, |a, &x| a.max(x))
}
