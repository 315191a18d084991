//! A 'same' convolution (burn's and Keras' padding: the output `ceil(in / stride)`, the
//! padding split with its odd row at the end), undilated and ungrouped, of one image, for
//! inference on the host: its patches laid out as a matrix (`[c · kh · kw, oh · ow]`,
//! im2col) and one `gemm` product with the weights (`[o, c · kh · kw]`), added to the
//! output where it lies. For one image (a ConvLSTM's state-to-state convolution in
//! inference, 12x12) this is faster than burn's convolution; for a batch of ten, burn's is
//! as fast or faster (`examples/conv_probe.rs`).
//!
//! In training the same product runs over a whole batch ([`conv_same_add_batch`]: every
//! image's patches side by side), and its backward is two more products: the weights'
//! gradient (the output's gradient by the patches) and the patches' gradient (the weights
//! by the output's gradient), scattered back onto the input ([`unpatch`]).

use super::conv1d::to_rows;
use super::dense::{large, product, split_product, transposed, Matrix};

/// The shape of a convolution: input `[c, h, w]` per image, kernel `[kh, kw]`, stride, and
/// the output side and top/left padding 'same' gives.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: [usize; 2],
    pub oh: usize,
    pub ow: usize,
    pub top: usize,
    pub left: usize,
}

impl Geometry {
    /// 'same' padding as burn-nn computes it (`calculate_same_padding`).
    pub fn same(c: usize, [h, w]: [usize; 2], [kh, kw]: [usize; 2], stride: [usize; 2]) -> Self {
        let side = |size: usize, k: usize, s: usize| {
            let out = size.div_ceil(s);
            let total = if out > 0 {
                ((out - 1) * s + k).saturating_sub(size)
            } else {
                0
            };
            (out, total / 2)
        };
        let (oh, top) = side(h, kh, stride[0]);
        let (ow, left) = side(w, kw, stride[1]);
        Geometry {
            c,
            h,
            w,
            kh,
            kw,
            stride,
            oh,
            ow,
            top,
            left,
        }
    }
}

/// The patches of one image `x` (`[c, h, w]`), zero outside the image, into `col`'s rows of
/// `width` values from column `first` on: row `(ci · kh + ky) · kw + kx`, column
/// `first + y · ow + x`, the input pixel `(y · sh + ky − top, x · sw + kx − left)`.
pub(super) fn patches(col: &mut [f32], width: usize, first: usize, x: &[f32], g: &Geometry) {
    let [sh, sw] = g.stride;
    let (plane, out_plane) = (g.h * g.w, g.oh * g.ow);
    for ci in 0..g.c {
        let src = &x[ci * plane..(ci + 1) * plane];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let r = (ci * g.kh + ky) * g.kw + kx;
                let row = &mut col[r * width + first..][..out_plane];
                // The output columns that read inside the image: [lo, hi).
                let lo = g.left.saturating_sub(kx).div_ceil(sw);
                let hi = (g.w + g.left).saturating_sub(kx).div_ceil(sw).min(g.ow);
                for y in 0..g.oh {
                    let out = &mut row[y * g.ow..(y + 1) * g.ow];
                    let sy = (y * sh + ky).wrapping_sub(g.top);
                    if sy >= g.h || lo >= hi {
                        out.fill(0.0);
                        continue;
                    }
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    let first = sy * g.w + lo * sw + kx - g.left;
                    if sw == 1 {
                        out[lo..hi].copy_from_slice(&src[first..first + (hi - lo)]);
                    } else {
                        for (k, v) in out[lo..hi].iter_mut().enumerate() {
                            *v = src[first + k * sw];
                        }
                    }
                }
            }
        }
    }
}

/// `out += conv(x, weight)` for one image: `x` `[c, h, w]`, `weight` `[o, c, kh, kw]`,
/// `out` `[o, oh, ow]`; the patches once, the output channels split over the threads.
pub(super) fn conv_same_add(out: &mut [f32], x: &[f32], weight: &[f32], o: usize, g: &Geometry) {
    let (plane, depth) = (g.oh * g.ow, g.c * g.kh * g.kw);
    let mut col = vec![0.0f32; depth * plane];
    patches(&mut col, plane, 0, x, g);
    let col = Matrix::new(&col, depth, plane);
    let threads = if large(o, plane, depth) {
        rayon::current_num_threads().min(o).max(1)
    } else {
        1
    };
    if threads == 1 {
        product(out, Matrix::new(weight, o, depth), col, true);
        return;
    }
    let per = o.div_ceil(threads);
    rayon::scope(|scope| {
        for (k, rows) in out.chunks_mut(per * plane).enumerate() {
            let m = rows.len() / plane;
            let ws = Matrix::new(&weight[k * per * depth..(k * per + m) * depth], m, depth);
            scope.spawn(move |_| product(rows, ws, col, true));
        }
    });
}

/// The adjoint of [`patches`]: `dx[ci][y · sh + ky − top][x · sw + kx − left] +=
/// col[(ci · kh + ky) · kw + kx][first + y · ow + x]` inside the image, for one image `dx`
/// (`[c, h, w]`).
pub(super) fn unpatch(dx: &mut [f32], col: &[f32], width: usize, first: usize, g: &Geometry) {
    let [sh, sw] = g.stride;
    let (plane, out_plane) = (g.h * g.w, g.oh * g.ow);
    for ci in 0..g.c {
        let dst = &mut dx[ci * plane..(ci + 1) * plane];
        for ky in 0..g.kh {
            for kx in 0..g.kw {
                let r = (ci * g.kh + ky) * g.kw + kx;
                let row = &col[r * width + first..][..out_plane];
                let lo = g.left.saturating_sub(kx).div_ceil(sw);
                let hi = (g.w + g.left).saturating_sub(kx).div_ceil(sw).min(g.ow);
                if lo >= hi {
                    continue;
                }
                for y in 0..g.oh {
                    let sy = (y * sh + ky).wrapping_sub(g.top);
                    if sy >= g.h {
                        continue;
                    }
                    let src = &row[y * g.ow + lo..y * g.ow + hi];
                    let start = sy * g.w + lo * sw + kx - g.left;
                    if sw == 1 {
                        for (d, &v) in dst[start..start + src.len()].iter_mut().zip(src) {
                            *d += v;
                        }
                    } else {
                        for (k, &v) in src.iter().enumerate() {
                            dst[start + k * sw] += v;
                        }
                    }
                }
            }
        }
    }
}

/// The patches of `n` images `x` (`[n, c, h, w]`) side by side: `[c · kh · kw, n · oh ·
/// ow]`, image `i`'s columns from `i · oh · ow` on.
fn batch_patches(x: &[f32], n: usize, g: &Geometry) -> Vec<f32> {
    let (image, plane) = (g.c * g.h * g.w, g.oh * g.ow);
    let width = n * plane;
    let mut col = vec![0.0f32; g.c * g.kh * g.kw * width];
    for i in 0..n {
        patches(
            &mut col,
            width,
            i * plane,
            &x[i * image..(i + 1) * image],
            g,
        );
    }
    col
}

/// `out += conv(x, weight)` for a batch in training: `x` `[n, c, h, w]`, `weight` `[o, c,
/// kh, kw]`, `out` `[n, o, oh, ow]`; every image's patches side by side and one product
/// with the weights, its output channels split over the cores.
pub(super) fn conv_same_add_batch(
    out: &mut [f32],
    x: &[f32],
    weight: &[f32],
    n: usize,
    o: usize,
    g: &Geometry,
) {
    let (plane, depth) = (g.oh * g.ow, g.c * g.kh * g.kw);
    let width = n * plane;
    let col = batch_patches(x, n, g);
    let mut rows = vec![0.0f32; o * width];
    split_product(
        &mut rows,
        weight,
        depth,
        Matrix::new(&col, depth, width),
        false,
    );
    for i in 0..n {
        for oc in 0..o {
            let src = &rows[oc * width + i * plane..][..plane];
            let dst = &mut out[(i * o + oc) * plane..][..plane];
            for (d, &v) in dst.iter_mut().zip(src) {
                *d += v;
            }
        }
    }
}

/// The gradients of [`conv_same_add_batch`] from the output's `grad` (`[n, o, oh, ow]`):
/// the input's (where `input_grad`) and the weight's; the base's is `grad` itself.
pub(super) fn conv_same_add_batch_backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    n: usize,
    o: usize,
    g: &Geometry,
    input_grad: bool,
) -> (Option<Vec<f32>>, Vec<f32>) {
    let (plane, depth) = (g.oh * g.ow, g.c * g.kh * g.kw);
    let width = n * plane;
    // The output's gradient as `[o, n · oh · ow]`, the columns of `batch_patches`.
    let gr = to_rows(grad, n, o, plane);
    let col = batch_patches(x, n, g);
    let mut dw = vec![0.0f32; o * depth];
    split_product(
        &mut dw,
        &gr,
        width,
        Matrix::new(&col, depth, width).t(),
        false,
    );
    drop(col);
    let dx = input_grad.then(|| {
        // The weights transposed, `[depth, o]`, so each core's rows lie together.
        let wt = transposed(weight, o, depth);
        let mut dcol = vec![0.0f32; depth * width];
        split_product(&mut dcol, &wt, o, Matrix::new(&gr, o, width), false);
        let image = g.c * g.h * g.w;
        let mut dx = vec![0.0f32; n * image];
        for (i, dxi) in dx.chunks_exact_mut(image).enumerate() {
            unpatch(dxi, &dcol, width, i * plane, g);
        }
        dx
    });
    (dx, dw)
}
