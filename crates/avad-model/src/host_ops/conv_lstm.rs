//! A ConvLSTM's whole recurrence in training, from zero states, forward and backward on the
//! host: every step's state-to-state convolution (a 'same' convolution, stride 1, no bias)
//! as one product over the batch's patches, and its gate arithmetic by the step's loops
//! ([`super::lstm`]).
//!
//! As burn's operations, each step would slice its gates out of the sequence's, and each
//! slice's backward writes a zero tensor the size of the whole sequence; here the steps
//! read and write the sequence's tensors where they lie.

use super::conv_same::{patches, unpatch, Geometry};
use super::dense::{split_product, transposed, Matrix};
use super::lstm::{lstm_plane, lstm_plane_backward};

/// The sizes of one sequence: batch, steps, hidden channels, and the state-to-state
/// convolution's geometry (`c` the hidden channels, stride 1).
pub(super) struct Sizes {
    pub batch: usize,
    pub steps: usize,
    pub hidden: usize,
    pub g: Geometry,
}

impl Sizes {
    /// From the input gates' shape `[batch, steps, 4h, y, x]` and the weight's `[4h, h, k,
    /// k]`.
    pub fn new(gates: &[usize], weight: &[usize]) -> Sizes {
        assert!(
            gates.len() == 5
                && weight.len() == 4
                && gates[2] == weight[0]
                && weight[0] == 4 * weight[1],
            "host_ops: ConvLSTM gates {gates:?} and weight {weight:?}"
        );
        let hidden = weight[1];
        Sizes {
            batch: gates[0],
            steps: gates[1],
            hidden,
            g: Geometry::same(hidden, [gates[3], gates[4]], [weight[2], weight[3]], [1, 1]),
        }
    }

    fn plane(&self) -> usize {
        self.g.h * self.g.w
    }

    /// The values of one hidden state `[h, y, x]` (one batch item, one step).
    fn state(&self) -> usize {
        self.hidden * self.plane()
    }

    /// The columns of a step's product: every batch item's plane side by side.
    fn width(&self) -> usize {
        self.batch * self.plane()
    }

    fn depth(&self) -> usize {
        self.hidden * self.g.kh * self.g.kw
    }
}

/// The patches of every batch item's hidden state after step `t`, read from the output
/// `[batch, steps, h, y, x]`, into `col` (`[depth, width]`).
fn state_patches(col: &mut [f32], out: &[f32], t: usize, s: &Sizes) {
    let (state, plane, width) = (s.state(), s.plane(), s.width());
    for b in 0..s.batch {
        let image = &out[(b * s.steps + t) * state..][..state];
        patches(col, width, b * plane, image, &s.g);
    }
}

/// The forward pass from `input_gates` (`[batch, steps, 4h, y, x]`, the input-to-state
/// convolution and bias of every step) and `weight` (`[4h, h, k, k]`). Returns every hidden
/// state, `[batch, steps, h, y, x]`, and the record the backward reads: every step's gates
/// before their activations (`[steps, batch, 4h, y, x]`), then the cell state before each
/// step (`[steps, batch, h, y, x]`).
pub(super) fn forward(input_gates: &[f32], weight: &[f32], s: &Sizes) -> (Vec<f32>, Vec<f32>) {
    let (state, plane, width, depth) = (s.state(), s.plane(), s.width(), s.depth());
    let (batch, steps) = (s.batch, s.steps);
    let gates = 4 * state;
    let mut out = vec![0.0f32; batch * steps * state];
    let mut record = vec![0.0f32; steps * batch * 5 * state];
    let (all_gates, all_cells) = record.split_at_mut(steps * batch * gates);
    let mut cell = vec![0.0f32; batch * state];
    let mut col = vec![0.0f32; depth * width];
    let mut rows = vec![0.0f32; 4 * s.hidden * width];
    for t in 0..steps {
        let step_gates = &mut all_gates[t * batch * gates..][..batch * gates];
        for b in 0..batch {
            step_gates[b * gates..][..gates]
                .copy_from_slice(&input_gates[(b * steps + t) * gates..][..gates]);
        }
        // From the zero state the first step's state-to-state convolution adds zero.
        if t > 0 {
            state_patches(&mut col, &out, t - 1, s);
            split_product(
                &mut rows,
                weight,
                depth,
                Matrix::new(&col, depth, width),
                false,
            );
            for b in 0..batch {
                for q in 0..4 * s.hidden {
                    let src = &rows[q * width + b * plane..][..plane];
                    let dst = &mut step_gates[b * gates + q * plane..][..plane];
                    for (d, &v) in dst.iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
        }
        let prev = &mut all_cells[t * batch * state..][..batch * state];
        prev.copy_from_slice(&cell);
        for b in 0..batch {
            let g = &step_gates[b * gates..][..gates];
            let gate = |q: usize| &g[q * state..(q + 1) * state];
            lstm_plane(
                &mut out[(b * steps + t) * state..][..state],
                &mut cell[b * state..][..state],
                [gate(0), gate(1), gate(2), gate(3)],
                &prev[b * state..][..state],
            );
        }
    }
    (out, record)
}

/// The backward pass from the output's gradient `grad` (`[batch, steps, h, y, x]`): the
/// gradients of the input gates (`[batch, steps, 4h, y, x]`) and of the weight.
pub(super) fn backward(
    weight: &[f32],
    out: &[f32],
    record: &[f32],
    grad: &[f32],
    s: &Sizes,
) -> (Vec<f32>, Vec<f32>) {
    let (state, plane, width, depth) = (s.state(), s.plane(), s.width(), s.depth());
    let (batch, steps, four) = (s.batch, s.steps, 4 * s.hidden);
    let gates = 4 * state;
    let (all_gates, all_cells) = record.split_at(steps * batch * gates);
    // The weights transposed, `[depth, 4h]`, so each core's rows of a product lie together.
    let wt = transposed(weight, four, depth);
    let mut d_in = vec![0.0f32; batch * steps * gates];
    let mut dw = vec![0.0f32; four * depth];
    // The gradients reaching the hidden state after step t through step t + 1's
    // convolution, and the cell state after step t.
    let mut dh = vec![0.0f32; batch * state];
    let mut dc = vec![0.0f32; batch * state];
    let mut dc_prev = vec![0.0f32; batch * state];
    let mut dh_total = vec![0.0f32; state];
    let mut rows = vec![0.0f32; four * width];
    let mut col = vec![0.0f32; depth * width];
    let mut dcol = vec![0.0f32; depth * width];
    for t in (0..steps).rev() {
        let step_gates = &all_gates[t * batch * gates..][..batch * gates];
        let prev = &all_cells[t * batch * state..][..batch * state];
        for b in 0..batch {
            let at = (b * steps + t) * state;
            for ((d, &g), &h) in dh_total
                .iter_mut()
                .zip(&grad[at..at + state])
                .zip(&dh[b * state..][..state])
            {
                *d = g + h;
            }
            let g = &step_gates[b * gates..][..gates];
            let gate = |q: usize| &g[q * state..(q + 1) * state];
            let dg = &mut d_in[(b * steps + t) * gates..][..gates];
            let (d_i, rest) = dg.split_at_mut(state);
            let (d_f, rest) = rest.split_at_mut(state);
            let (d_g, d_o) = rest.split_at_mut(state);
            lstm_plane_backward(
                [d_i, d_f, d_g, d_o, &mut dc_prev[b * state..][..state]],
                [gate(0), gate(1), gate(2), gate(3)],
                &prev[b * state..][..state],
                &dh_total,
                &dc[b * state..][..state],
            );
        }
        std::mem::swap(&mut dc, &mut dc_prev);
        if t == 0 {
            break;
        }
        // Step t's gates as `[4h, width]`, the columns of its product.
        for b in 0..batch {
            let dg = &d_in[(b * steps + t) * gates..][..gates];
            for q in 0..four {
                rows[q * width + b * plane..][..plane].copy_from_slice(&dg[q * plane..][..plane]);
            }
        }
        // The weight's gradient: the gates' gradient by the previous state's patches.
        state_patches(&mut col, out, t - 1, s);
        split_product(
            &mut dw,
            &rows,
            width,
            Matrix::new(&col, depth, width).t(),
            true,
        );
        // The previous state's gradient: the weights by the gates' gradient, scattered
        // back from the patches.
        split_product(&mut dcol, &wt, four, Matrix::new(&rows, four, width), false);
        dh.fill(0.0);
        for (b, dhb) in dh.chunks_exact_mut(state).enumerate() {
            unpatch(dhb, &dcol, width, b * plane, &s.g);
        }
    }
    (d_in, dw)
}
