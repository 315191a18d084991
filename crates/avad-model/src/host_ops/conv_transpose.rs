//! A 2-D transposed convolution (burn's `ConvTranspose2d`: undilated, ungrouped, symmetric
//! padding) in training, forward and backward, one image at a time on each core: the
//! image's product with the weights gives every (output channel, tap) row of its
//! contributions, scattered onto the output ([`unpatch`]); the backward reads the output's
//! gradient at the same places ([`patches`]) for the input's and the weights' gradients.
//!
//! A transposed convolution is the adjoint of a convolution from its output back to its
//! input, so the 'same' convolution's patch geometry serves both: here its "input" is the
//! transposed convolution's output and its "output" the transposed convolution's input.

use super::conv_same::{patches, unpatch, Geometry};
use super::dense::{product, Matrix};
use super::parallel::{split, split_mut};

/// The sizes of one call.
pub(super) struct Sizes {
    /// Images.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Output channels.
    pub o: usize,
    /// The patch geometry: `c` the output channels, `h`/`w` the output's sides, `oh`/`ow`
    /// the input's, `top`/`left` the padding.
    pub g: Geometry,
}

impl Sizes {
    /// From the input's shape `[n, c, h, w]`, the weight's `[c, o, kh, kw]`, the stride,
    /// the padding and the extra output rows and columns (`padding_out`).
    pub fn new(
        x: &[usize],
        weight: &[usize],
        stride: [usize; 2],
        pad: [usize; 2],
        pad_out: [usize; 2],
    ) -> Sizes {
        assert!(
            x.len() == 4 && weight.len() == 4 && x[1] == weight[0] && stride.iter().all(|&s| s > 0),
            "host_ops: transposed convolution of {x:?} with weight {weight:?}"
        );
        let side = |i: usize, k: usize, s: usize, p: usize, q: usize| {
            ((i.max(1) - 1) * s + k + q).saturating_sub(2 * p)
        };
        let (kh, kw) = (weight[2], weight[3]);
        Sizes {
            n: x[0],
            c: x[1],
            o: weight[1],
            g: Geometry {
                c: weight[1],
                h: side(x[2], kh, stride[0], pad[0], pad_out[0]),
                w: side(x[3], kw, stride[1], pad[1], pad_out[1]),
                kh,
                kw,
                stride,
                oh: x[2],
                ow: x[3],
                top: pad[0],
                left: pad[1],
            },
        }
    }

    /// The output's shape, `[n, o, h, w]`.
    pub fn out_shape(&self) -> Vec<usize> {
        vec![self.n, self.o, self.g.h, self.g.w]
    }

    fn image_in(&self) -> usize {
        self.c * self.g.oh * self.g.ow
    }

    fn image_out(&self) -> usize {
        self.o * self.g.h * self.g.w
    }

    fn rows(&self) -> usize {
        self.o * self.g.kh * self.g.kw
    }
}

/// The forward pass: `[n, o, h, w]`.
pub(super) fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, s: &Sizes) -> Vec<f32> {
    let (plane_in, rows) = (s.g.oh * s.g.ow, s.rows());
    let (image_in, image_out) = (s.image_in(), s.image_out());
    let w = Matrix::new(weight, s.c, rows).t();
    let mut out = vec![0.0f32; s.n * image_out];
    // Each core's run of whole images, written where they lie in the output.
    split_mut(&mut out, image_out, |first, images| {
        let mut cols = vec![0.0f32; rows * plane_in];
        for (k, oi) in images.chunks_exact_mut(image_out).enumerate() {
            let i = first + k;
            let xi = Matrix::new(&x[i * image_in..(i + 1) * image_in], s.c, plane_in);
            product(&mut cols, w, xi, false);
            unpatch(oi, &cols, plane_in, 0, &s.g);
            if let Some(bias) = bias {
                let plane = s.g.h * s.g.w;
                for (channel, &b) in oi.chunks_exact_mut(plane).zip(bias) {
                    channel.iter_mut().for_each(|v| *v += b);
                }
            }
        }
    });
    out
}

/// The backward pass from the output's `grad` (`[n, o, h, w]`): the gradients of the input
/// (where `input_grad`), the weight and the bias.
pub(super) fn backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    s: &Sizes,
    input_grad: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let (plane_in, rows) = (s.g.oh * s.g.ow, s.rows());
    let (image_in, image_out) = (s.image_in(), s.image_out());
    let plane_out = s.g.h * s.g.w;
    let w = Matrix::new(weight, s.c, rows);
    let parts = split(s.n, |images| {
        let mut dx = vec![
            0.0f32;
            if input_grad {
                images.len() * image_in
            } else {
                0
            }
        ];
        let mut dw = vec![0.0f32; s.c * rows];
        let mut db = vec![0.0f64; s.o];
        let mut cols = vec![0.0f32; rows * plane_in];
        for (k, i) in images.enumerate() {
            let gi = &grad[i * image_out..(i + 1) * image_out];
            for (sum, channel) in db.iter_mut().zip(gi.chunks_exact(plane_out)) {
                *sum += channel.iter().map(|&v| f64::from(v)).sum::<f64>();
            }
            // The output's gradient at every place each input pixel's taps reached.
            patches(&mut cols, plane_in, 0, gi, &s.g);
            let cm = Matrix::new(&cols, rows, plane_in);
            let xi = Matrix::new(&x[i * image_in..(i + 1) * image_in], s.c, plane_in);
            product(&mut dw, xi, cm.t(), k > 0);
            if input_grad {
                product(&mut dx[k * image_in..(k + 1) * image_in], w, cm, false);
            }
        }
        (dx, dw, db)
    });
    let mut dx = Vec::with_capacity(if input_grad { s.n * image_in } else { 0 });
    let mut dw = vec![0.0f32; s.c * rows];
    let mut db = vec![0.0f64; s.o];
    for (part_dx, part_dw, part_db) in parts {
        dx.extend_from_slice(&part_dx);
        dw.iter_mut().zip(&part_dw).for_each(|(a, &b)| *a += b);
        db.iter_mut().zip(&part_db).for_each(|(a, &b)| *a += b);
    }
    (
        input_grad.then_some(dx),
        dw,
        db.into_iter().map(|v| v as f32).collect(),
    )
}
