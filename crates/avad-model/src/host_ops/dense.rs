//! Matrix products through `gemm` on the host's slices as they lie, a transpose read in
//! place rather than copied ([`product`], for the dense block, the LSTM recurrence and the
//! 'same' convolution), and the dense block's (`batch_norm(leaky_relu(x W + b))` on `[n,
//! c]` rows) per-column statistics and passes.

use super::parallel::split_mut;
use crate::host_conv;

/// Whether a product of `m x k` by `k x n` is worth more than one thread: burn-flex's
/// threshold for its own matrix products.
pub(super) fn large(m: usize, n: usize, k: usize) -> bool {
    m.saturating_mul(n).saturating_mul(k) >= 192 * 192 * 192
}

/// A row-major matrix's values, or its transpose (read in place).
#[derive(Clone, Copy)]
pub(super) struct Matrix<'a> {
    pub values: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
}

impl<'a> Matrix<'a> {
    pub fn new(values: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(
            values.len(),
            rows * cols,
            "host_ops: a {rows}x{cols} matrix"
        );
        Matrix {
            values,
            rows,
            cols,
            transposed: false,
        }
    }

    pub fn t(self) -> Self {
        Matrix {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows and columns as read.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// (column stride, row stride) as read.
    fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (self.cols as isize, 1)
        } else {
            (1, self.cols as isize)
        }
    }
}

/// `dst = a · b` (`dst` row-major, `a`'s rows by `b`'s columns), added to `dst` where
/// `accumulate`, on the calling thread.
pub(super) fn product(dst: &mut [f32], a: Matrix, b: Matrix, accumulate: bool) {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "host_ops: inner sizes of a product");
    assert_eq!(dst.len(), m * n, "host_ops: a product's output");
    if m == 0 || n == 0 {
        return;
    }
    let (a_cs, a_rs) = a.strides();
    let (b_cs, b_rs) = b.strides();
    // SAFETY: every pointer and stride addresses inside its slice (sizes checked above), and
    // `dst` does not overlap the inputs (it is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.values.as_ptr(),
            a_cs,
            a_rs,
            b.values.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// [`product`] with `dst`'s rows split over the cores ([`split_mut`]): `a` is row-major,
/// `[m, k]`, each core multiplying its own rows of `a` by the whole of `b`.
pub(super) fn split_product(dst: &mut [f32], a: &[f32], k: usize, b: Matrix, accumulate: bool) {
    let n = b.shape().1;
    split_mut(dst, n, |first, chunk| {
        let m = chunk.len() / n;
        let rows = Matrix::new(&a[first * k..(first + m) * k], m, k);
        product(chunk, rows, b, accumulate);
    });
}

/// `values` (`[rows, cols]`, row-major) transposed: `[cols, rows]`.
pub(super) fn transposed(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0f32; values.len()];
    for (r, row) in values.chunks_exact(cols).take(rows).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            out[c * rows + r] = v;
        }
    }
    out
}

/// `dst += a · b` for a product of few rows (an LSTM step's batch by its recurrent
/// weights): `a` `[m, k]`, `b` `[k, n]`, `dst` `[m, n]`, all row-major. Each output sums its
/// `k` products in order from zero in one fused multiply-add chain, then adds to `dst`, as
/// `gemm`'s kernels do for 2 rows or more and a `k` that fits one of their blocks, so the
/// two agree to the bit (tested); without `gemm`'s packing of `b` at every call, which
/// costs about as much as the product at these sizes. AVX-512 for such sizes with `n` a
/// multiple of 16, else [`product`].
pub(super) fn few_rows_product(
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
) {
    assert!(
        dst.len() == m * n && a.len() == m * k && b.len() == k * n,
        "host_ops: a {m}x{k} by {k}x{n} product"
    );
    #[cfg(target_arch = "x86_64")]
    if m >= 2
        && k <= 512
        && n.is_multiple_of(16)
        && host_conv::Simd::detect() == host_conv::Simd::Avx512
    {
        // SAFETY: the CPU has AVX-512F; the sizes are checked above.
        unsafe { few_rows_avx512(dst, a, b, m, k, n) };
        return;
    }
    product(dst, Matrix::new(a, m, k), Matrix::new(b, k, n), true);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn few_rows_avx512(dst: &mut [f32], a: &[f32], b: &[f32], m: usize, k: usize, n: usize) {
    let vectors = n / 16;
    let mut first = 0;
    while first < vectors {
        let take = (vectors - first).min(8);
        // SAFETY: the caller's CPU has AVX-512F; columns first·16 .. (first + take)·16 lie
        // inside each row.
        unsafe {
            match take {
                8 => few_rows_block::<8>(dst, a, b, m, k, n, first * 16),
                7 => few_rows_block::<7>(dst, a, b, m, k, n, first * 16),
                6 => few_rows_block::<6>(dst, a, b, m, k, n, first * 16),
                5 => few_rows_block::<5>(dst, a, b, m, k, n, first * 16),
                4 => few_rows_block::<4>(dst, a, b, m, k, n, first * 16),
                3 => few_rows_block::<3>(dst, a, b, m, k, n, first * 16),
                2 => few_rows_block::<2>(dst, a, b, m, k, n, first * 16),
                _ => few_rows_block::<1>(dst, a, b, m, k, n, first * 16),
            }
        }
        first += take;
    }
}

/// Columns `col .. col + 16 V` of [`few_rows_product`], two rows at a time: each row of `b`
/// is loaded once for both.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn few_rows_block<const V: usize>(
    dst: &mut [f32],
    a: &[f32],
    b: &[f32],
    m: usize,
    k: usize,
    n: usize,
    col: usize,
) {
    use std::arch::x86_64::*;
    let mut row = 0;
    while row < m {
        let pair = row + 1 < m;
        let mut acc0 = [_mm512_setzero_ps(); V];
        let mut acc1 = [_mm512_setzero_ps(); V];
        for kk in 0..k {
            let x0 = _mm512_set1_ps(a[row * k + kk]);
            let x1 = _mm512_set1_ps(if pair { a[(row + 1) * k + kk] } else { 0.0 });
            let from = kk * n + col;
            for v in 0..V {
                // SAFETY: from + 16 v + 16 <= kk n + n <= b.len() (col + 16 V <= n).
                let w = unsafe { _mm512_loadu_ps(b.as_ptr().add(from + 16 * v)) };
                acc0[v] = _mm512_fmadd_ps(x0, w, acc0[v]);
                acc1[v] = _mm512_fmadd_ps(x1, w, acc1[v]);
            }
        }
        for (r, acc) in [(row, &acc0), (row + 1, &acc1)] {
            if r >= m {
                break;
            }
            for (v, &sum) in acc.iter().enumerate() {
                let at = r * n + col + 16 * v;
                // SAFETY: at + 16 <= r n + n <= dst.len().
                unsafe {
                    let p = dst.as_mut_ptr().add(at);
                    _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), sum));
                }
            }
        }
        row += 2;
    }
}

simd_kernel! {
/// Each column's mean and biased variance over the rows of `x` (`[rows, c]`), accumulated in
/// f64 (the mean first, then the squared deviations from it).
pub(super) fn column_stats(x: &[f32], c: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = x.len() / c.max(1);
    let mut sum = vec![0.0f64; c];
    for row in x.chunks_exact(c) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / rows as f64).collect();
    let mut squares = vec![0.0f64; c];
    for row in x.chunks_exact(c) {
        for ((q, &v), &m) in squares.iter_mut().zip(row).zip(&mean) {
            let d = f64::from(v) - m;
            *q += d * d;
        }
    }
    (
        mean.iter().map(|&m| m as f32).collect(),
        squares.iter().map(|&q| (q / rows as f64) as f32).collect(),
    )
}
}

simd_kernel! {
/// In place over `z` (`[rows, c]`): `z · scale + shift` per column after LeakyReLU.
pub(super) fn leaky_affine(z: &mut [f32], scale: &[f32], shift: &[f32], slope: f32) {
    let c = scale.len();
    for row in z.chunks_exact_mut(c) {
        for ((v, &a), &b) in row.iter_mut().zip(scale).zip(shift) {
            let l = if *v < 0.0 { *v * slope } else { *v };
            *v = l * a + b;
        }
    }
}
}

simd_kernel! {
/// LeakyReLU of `z` into `out`.
pub(super) fn leaky_rows(out: &mut [f32], z: &[f32], slope: f32) {
    for (o, &v) in out.iter_mut().zip(z) {
        *o = if v < 0.0 { v * slope } else { v };
    }
}
}

simd_kernel! {
/// Per column, the sums of `grad` and of `grad · x̂` (`x̂ = (leaky(z) − mean) · inv_std`),
/// in f64: the batch norm's `beta` and `gamma` gradients.
pub(super) fn norm_grad_sums(z: &[f32], grad: &[f32], mean: &[f32], inv_std: &[f32], slope: f32) -> (Vec<f64>, Vec<f64>) {
    let c = mean.len();
    let mut sum = vec![0.0f64; c];
    let mut dot = vec![0.0f64; c];
    for (zr, gr) in z.chunks_exact(c).zip(grad.chunks_exact(c)) {
        for k in 0..c {
            let l = if zr[k] < 0.0 { zr[k] * slope } else { zr[k] };
            let xhat = (l - mean[k]) * inv_std[k];
            sum[k] += f64::from(gr[k]);
            dot[k] += f64::from(gr[k] * xhat);
        }
    }
    (sum, dot)
}
}

simd_kernel! {
/// The gradient for `z` through the batch norm and the LeakyReLU, written over `grad`:
/// `dl = scale · (g − Σg/n − x̂ · Σ(g x̂)/n)`, then `dz = z < 0 ? dl · slope : dl`.
#[allow(clippy::too_many_arguments)]
pub(super) fn norm_leaky_input_grad(grad: &mut [f32], z: &[f32], mean: &[f32], inv_std: &[f32], scale: &[f32], centre: &[f32], spread: &[f32], slope: f32) {
    let c = mean.len();
    for (gr, zr) in grad.chunks_exact_mut(c).zip(z.chunks_exact(c)) {
        for k in 0..c {
            let l = if zr[k] < 0.0 { zr[k] * slope } else { zr[k] };
            let xhat = (l - mean[k]) * inv_std[k];
            let dl = scale[k] * (gr[k] - centre[k] - xhat * spread[k]);
            gr[k] = if zr[k] < 0.0 { dl * slope } else { dl };
        }
    }
}
}

simd_kernel! {
/// Per column, the sum of `x`'s rows (`[rows, c]`).
pub(super) fn column_sums(x: &[f32], c: usize) -> Vec<f32> {
    let mut sum = vec![0.0f32; c];
    for row in x.chunks_exact(c) {
        for (s, &v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    }
    sum
}
}

/// `z = x W + b` for `x` `[n, i]`, `W` `[i, o]`, `b` `[o]`; a large product's rows split
/// over the rayon pool's threads, each product on one thread (`gemm`'s own split of these
/// shapes keeps two cores less busy).
pub(super) fn affine_rows(x: &[f32], n: usize, w: &[f32], b: &[f32]) -> Vec<f32> {
    let o = b.len();
    let i = x.len().checked_div(n).unwrap_or(0);
    let mut z = Vec::with_capacity(n * o);
    for _ in 0..n {
        z.extend_from_slice(b);
    }
    let w = Matrix::new(w, i, o);
    let threads = if large(n, o, i) {
        rayon::current_num_threads().min(n).max(1)
    } else {
        1
    };
    if threads == 1 {
        product(&mut z, Matrix::new(x, n, i), w, true);
        return z;
    }
    let per = n.div_ceil(threads);
    rayon::scope(|scope| {
        for (k, rows) in z.chunks_mut(per * o).enumerate() {
            let m = rows.len() / o;
            let xs = &x[k * per * i..(k * per + m) * i];
            scope.spawn(move |_| product(rows, Matrix::new(xs, m, i), w, true));
        }
    });
    z
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The few-rows product gives `gemm`'s sums to the bit on the LSTMs' shapes (the audio
    /// model's batch of 10, hidden sizes 128 and 64, forward and backward), an odd row
    /// count, a width that is not a whole block of 128, and the shapes left to `gemm` (one
    /// row, which `gemm` sums in another order; more than 512 terms, which it sums in
    /// blocks).
    #[test]
    fn few_rows_product_equals_gemm() {
        if host_conv::Simd::detect() != host_conv::Simd::Avx512 {
            eprintln!("skipped the comparison: this CPU has no AVX-512F (gemm runs both)");
        }
        let values = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 - 1001.0) / 977.0)
                .collect()
        };
        for (m, k, n) in [
            (10, 128, 512),
            (10, 64, 256),
            (10, 512, 128),
            (3, 256, 64),
            (2, 40, 48),
            (1, 128, 512),
            (10, 1024, 32),
        ] {
            let (a, b, start) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
            let mut ours = start.clone();
            few_rows_product(&mut ours, &a, &b, m, k, n);
            let mut theirs = start;
            product(
                &mut theirs,
                Matrix::new(&a, m, k),
                Matrix::new(&b, k, n),
                true,
            );
            for (i, (x, y)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(x.to_bits(), y.to_bits(), "{m}x{k}x{n} [{i}]: {x} vs {y}");
            }
        }
    }
}
