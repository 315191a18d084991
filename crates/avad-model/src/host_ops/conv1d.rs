//! The audio model's 1-D convolutions and transposed convolutions (`[batch, channels,
//! length]`), forward and backward, as matrix products over the whole batch.
//!
//! Both kinds relate a long signal (length `a`) and a short one (`t` positions) by the
//! index map `j = i · stride + tap − pad`: a convolution reads its input (long) at the
//! output's positions (short); a transposed convolution scatters its input (short) into its
//! output (long). So both come down to [`gather`] (the long signal's values at every
//! position and tap: a `[channels · taps, batch · t]` matrix), [`scatter`] (its adjoint)
//! and one product with the weights, whatever the batch.

use super::dense::{product, Matrix};
use super::Conv1dGeometry;

/// Sizes of one call: the batch, the input's and the output's channels and lengths, the
/// taps.
pub(super) struct Sizes {
    pub batch: usize,
    pub c_in: usize,
    pub len_in: usize,
    pub c_out: usize,
    pub len_out: usize,
    pub taps: usize,
}

impl Sizes {
    /// From the input's shape `[batch, c_in, len_in]` and the weight's: `[c_out, c_in,
    /// taps]` for a convolution, `[c_in, c_out, taps]` for a transposed one.
    pub fn new(x: &[usize], weight: &[usize], g: &Conv1dGeometry) -> Sizes {
        assert!(
            x.len() == 3 && weight.len() == 3 && g.stride > 0,
            "host_ops: 1-D convolution of {x:?} with weight {weight:?}"
        );
        let (c_in, c_out) = if g.transposed {
            (weight[0], weight[1])
        } else {
            (weight[1], weight[0])
        };
        assert_eq!(x[1], c_in, "host_ops: 1-D convolution's input channels");
        Sizes {
            batch: x[0],
            c_in,
            len_in: x[2],
            c_out,
            len_out: g.out_len,
            taps: weight[2],
        }
    }

    /// (long length, short length): the input's and the output's, in the map's roles.
    fn long_short(&self, g: &Conv1dGeometry) -> (usize, usize) {
        if g.transposed {
            (self.len_out, self.len_in)
        } else {
            (self.len_in, self.len_out)
        }
    }
}

/// The positions `i` in `0..t` whose index `i · stride + k − pad` lies in `0..a`, and the
/// index of the first.
fn inside(a: usize, t: usize, k: usize, g: &Conv1dGeometry) -> (std::ops::Range<usize>, usize) {
    let s = g.stride;
    // i · s + k ≥ pad, and i · s + k − pad ≤ a − 1.
    let first = g.pad.saturating_sub(k).div_ceil(s);
    let end = if a + g.pad > k {
        ((a + g.pad - k - 1) / s + 1).min(t)
    } else {
        0
    };
    let first = first.min(end);
    (first..end, (first * s + k).saturating_sub(g.pad))
}

/// `cols[c · taps + k][b · t + i] = long[b][c][i · stride + k − pad]`, zero outside the
/// signal: `long` is `[batch, channels, a]`.
fn gather(
    long: &[f32],
    channels: usize,
    a: usize,
    t: usize,
    taps: usize,
    g: &Conv1dGeometry,
) -> Vec<f32> {
    let batch = long.len() / (channels * a).max(1);
    let row = batch * t;
    let mut cols = vec![0.0f32; channels * taps * row];
    for k in 0..taps {
        let (range, j0) = inside(a, t, k, g);
        if range.is_empty() {
            continue;
        }
        for c in 0..channels {
            let dst = &mut cols[(c * taps + k) * row..(c * taps + k + 1) * row];
            for b in 0..batch {
                let src = &long[(b * channels + c) * a + j0..(b * channels + c + 1) * a];
                let out = &mut dst[b * t + range.start..b * t + range.end];
                if g.stride == 1 {
                    out.copy_from_slice(&src[..out.len()]);
                } else {
                    for (o, &v) in out.iter_mut().zip(src.iter().step_by(g.stride)) {
                        *o = v;
                    }
                }
            }
        }
    }
    cols
}

/// The adjoint of [`gather`]: `long[b][c][i · stride + k − pad] += cols[c · taps + k][b · t
/// + i]` inside the signal; returns `[batch, channels, a]`.
fn scatter(
    cols: &[f32],
    batch: usize,
    channels: usize,
    a: usize,
    t: usize,
    taps: usize,
    g: &Conv1dGeometry,
) -> Vec<f32> {
    let row = batch * t;
    let mut long = vec![0.0f32; batch * channels * a];
    for c in 0..channels {
        for k in 0..taps {
            let (range, j0) = inside(a, t, k, g);
            if range.is_empty() {
                continue;
            }
            let src = &cols[(c * taps + k) * row..(c * taps + k + 1) * row];
            for b in 0..batch {
                let dst = &mut long[(b * channels + c) * a + j0..(b * channels + c + 1) * a];
                let values = &src[b * t + range.start..b * t + range.end];
                for (d, &v) in dst.iter_mut().step_by(g.stride).zip(values) {
                    *d += v;
                }
            }
        }
    }
    long
}

/// `[batch, channels, len]` → `[channels, batch · len]`.
pub(super) fn to_rows(x: &[f32], batch: usize, channels: usize, len: usize) -> Vec<f32> {
    let mut rows = vec![0.0f32; x.len()];
    for b in 0..batch {
        for c in 0..channels {
            rows[c * batch * len + b * len..c * batch * len + (b + 1) * len]
                .copy_from_slice(&x[(b * channels + c) * len..(b * channels + c + 1) * len]);
        }
    }
    rows
}

/// `[channels, batch · len]` → `[batch, channels, len]`, plus `bias[c]` where given.
fn from_rows(
    rows: &[f32],
    batch: usize,
    channels: usize,
    len: usize,
    bias: Option<&[f32]>,
) -> Vec<f32> {
    let mut x = vec![0.0f32; rows.len()];
    for b in 0..batch {
        for c in 0..channels {
            let src = &rows[c * batch * len + b * len..c * batch * len + (b + 1) * len];
            let dst = &mut x[(b * channels + c) * len..(b * channels + c + 1) * len];
            match bias {
                Some(bias) => {
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d = v + bias[c];
                    }
                }
                None => dst.copy_from_slice(src),
            }
        }
    }
    x
}

/// The forward pass: `[batch, c_out, len_out]`.
pub(super) fn forward(
    x: &[f32],
    weight: &[f32],
    bias: &[f32],
    s: &Sizes,
    g: &Conv1dGeometry,
) -> Vec<f32> {
    let (a, t) = s.long_short(g);
    let k = s.taps;
    if g.transposed {
        // cols[(o, k)][(b, i)] = Σ_c w[c][(o, k)] x[b][c][i], scattered onto the output.
        let xr = to_rows(x, s.batch, s.c_in, s.len_in);
        let mut cols = vec![0.0f32; s.c_out * k * s.batch * t];
        product(
            &mut cols,
            Matrix::new(weight, s.c_in, s.c_out * k).t(),
            Matrix::new(&xr, s.c_in, s.batch * t),
            false,
        );
        let mut y = scatter(&cols, s.batch, s.c_out, a, t, k, g);
        for (i, v) in y.iter_mut().enumerate() {
            *v += bias[(i / s.len_out) % s.c_out];
        }
        y
    } else {
        let cols = gather(x, s.c_in, a, t, k, g);
        let mut rows = vec![0.0f32; s.c_out * s.batch * t];
        product(
            &mut rows,
            Matrix::new(weight, s.c_out, s.c_in * k),
            Matrix::new(&cols, s.c_in * k, s.batch * t),
            false,
        );
        from_rows(&rows, s.batch, s.c_out, t, Some(bias))
    }
}

/// The backward pass: the gradients of the input (where `input_grad`), the weight and the
/// bias from the output's `grad`.
pub(super) fn backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    s: &Sizes,
    g: &Conv1dGeometry,
    input_grad: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let (a, t) = s.long_short(g);
    let k = s.taps;
    let gr = to_rows(grad, s.batch, s.c_out, s.len_out);
    let db: Vec<f32> = gr
        .chunks(s.batch * s.len_out)
        .map(|row| row.iter().map(|&v| f64::from(v)).sum::<f64>() as f32)
        .collect();
    let mut dw = vec![0.0f32; weight.len()];
    if g.transposed {
        // The output's gradient read at every (position, tap) of the input.
        let cols = gather(grad, s.c_out, a, t, k, g);
        let cols = Matrix::new(&cols, s.c_out * k, s.batch * t);
        let xr = to_rows(x, s.batch, s.c_in, s.len_in);
        product(
            &mut dw,
            Matrix::new(&xr, s.c_in, s.batch * t),
            cols.t(),
            false,
        );
        let dx = input_grad.then(|| {
            let mut dxr = vec![0.0f32; s.c_in * s.batch * t];
            let w = Matrix::new(weight, s.c_in, s.c_out * k);
            product(&mut dxr, w, cols, false);
            from_rows(&dxr, s.batch, s.c_in, t, None)
        });
        (dx, dw, db)
    } else {
        let cols = gather(x, s.c_in, a, t, k, g);
        let cols = Matrix::new(&cols, s.c_in * k, s.batch * t);
        let gm = Matrix::new(&gr, s.c_out, s.batch * t);
        product(&mut dw, gm, cols.t(), false);
        let dx = input_grad.then(|| {
            let mut dcols = vec![0.0f32; s.c_in * k * s.batch * t];
            let w = Matrix::new(weight, s.c_out, s.c_in * k);
            product(&mut dcols, w.t(), gm, false);
            scatter(&dcols, s.batch, s.c_in, a, t, k, g)
        });
        (dx, dw, db)
    }
}
