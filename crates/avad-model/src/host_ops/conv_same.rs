//! A stride-1 'same' convolution with odd kernel sides, for inference on the host: each
//! input's patches laid out as a matrix (`[c · kh · kw, h · w]`, im2col) and one `gemm`
//! product with the weights (`[o, c · kh · kw]`), added to the output where it lies.

use super::dense::{large, product, Matrix};

/// The patches of one image `x` (`[c, h, w]`) for a `kh x kw` kernel centred on each
/// pixel, zero outside the image: row `(ci · kh + ky) · kw + kx`, column `y · w + x`.
fn patches(col: &mut [f32], x: &[f32], c: usize, h: usize, w: usize, kh: usize, kw: usize) {
    let (ph, pw) = (kh / 2, kw / 2);
    let plane = h * w;
    for ci in 0..c {
        let src = &x[ci * plane..(ci + 1) * plane];
        for ky in 0..kh {
            for kx in 0..kw {
                let row = &mut col[((ci * kh + ky) * kw + kx) * plane..][..plane];
                // Output column x reads input column x + kx − pw.
                let (lo, hi) = (pw.saturating_sub(kx), (w + pw).saturating_sub(kx).min(w));
                for y in 0..h {
                    let out = &mut row[y * w..(y + 1) * w];
                    let sy = (y + ky).wrapping_sub(ph);
                    if sy >= h || lo >= hi {
                        out.fill(0.0);
                        continue;
                    }
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    let from = sy * w + lo + kx - pw;
                    out[lo..hi].copy_from_slice(&src[from..from + (hi - lo)]);
                }
            }
        }
    }
}

/// `out += conv(x, weight)` for `x` `[n, c, h, w]`, `weight` `[o, c, kh, kw]`, `out`
/// `[n, o, h, w]`: several images a run per thread, one image its output channels split
/// over the threads.
pub(super) fn conv_same_add(
    out: &mut [f32],
    x: &[f32],
    [n, c, h, w]: [usize; 4],
    weight: &[f32],
    [o, kh, kw]: [usize; 3],
) {
    let (plane, depth) = (h * w, c * kh * kw);
    let threads = rayon::current_num_threads();
    if n == 1 && threads > 1 && large(o, plane, depth) {
        // One image: its patches once, the output channels split over the threads.
        let mut col = vec![0.0f32; depth * plane];
        patches(&mut col, x, c, h, w, kh, kw);
        let col = Matrix::new(&col, depth, plane);
        let per = o.div_ceil(threads);
        rayon::scope(|scope| {
            for (k, rows) in out.chunks_mut(per * plane).enumerate() {
                let m = rows.len() / plane;
                let ws = Matrix::new(&weight[k * per * depth..(k * per + m) * depth], m, depth);
                scope.spawn(move |_| product(rows, ws, col, true));
            }
        });
        return;
    }
    let weights = Matrix::new(weight, o, depth);
    let one = |out: &mut [f32], x: &[f32]| {
        let mut col = vec![0.0f32; depth * plane];
        patches(&mut col, x, c, h, w, kh, kw);
        product(out, weights, Matrix::new(&col, depth, plane), true);
    };
    if threads == 1 || n == 1 || !large(o, plane, depth) {
        for (out, x) in out.chunks_mut(o * plane).zip(x.chunks(c * plane)) {
            one(out, x);
        }
        return;
    }
    // Several images: a run of them per thread.
    let per = n.div_ceil(threads);
    rayon::scope(|scope| {
        for (outs, xs) in out
            .chunks_mut(per * o * plane)
            .zip(x.chunks(per * c * plane))
        {
            scope.spawn(move |_| {
                for (out, x) in outs.chunks_mut(o * plane).zip(xs.chunks(c * plane)) {
                    one(out, x);
                }
            });
        }
    });
}
