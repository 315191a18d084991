//! A 'same' convolution (burn's and Keras' padding: the output `ceil(in / stride)`, the
//! padding split with its odd row at the end), undilated and ungrouped, of one image, for
//! inference on the host: its patches laid out as a matrix (`[c · kh · kw, oh · ow]`,
//! im2col) and one `gemm` product with the weights (`[o, c · kh · kw]`), added to the
//! output where it lies. For one image (a ConvLSTM's state-to-state convolution in
//! inference, 12x12) this is faster than burn's convolution; for a batch of ten, burn's is
//! as fast or faster (`examples/conv_probe.rs`).

use super::dense::{large, product, Matrix};

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
fn patches(col: &mut [f32], width: usize, first: usize, x: &[f32], g: &Geometry) {
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
