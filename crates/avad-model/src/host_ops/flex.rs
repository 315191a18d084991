//! flex: the computations on the host.

use burn::backend::flex::FlexTensor;
use burn::backend::{Flex, TensorMetadata};
use burn::tensor::TensorData;

use super::conv::{conv_input_grad, conv_shape, conv_weight_grad};
use super::dense::{
    affine_rows, column_stats, column_sums, few_rows_product, large, leaky_affine, leaky_rows,
    norm_grad_sums, norm_leaky_input_grad, product, Matrix,
};
use super::lstm::{logistic_grad, logistic_in_place, lstm_plane, lstm_plane_backward, lstm_shape};
use super::norm::{
    affine, channel_stats, channel_sums, grad_sums, norm_input_grad, normalise, normalise_infer,
    planes, shifted_sums,
};
use super::parallel::{split3, split_mut};
use super::{conv1d, Conv1dGeometry, HostOps};
use crate::host_conv;

/// A contiguous f32 tensor's values, and its shape.
fn host(t: &FlexTensor) -> (&[f32], Vec<usize>) {
    let values = t
        .as_slice::<f32>()
        .expect("host_ops: a contiguous f32 tensor");
    (values, t.shape().iter().copied().collect())
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.is_contiguous() {
        t
    } else {
        t.to_contiguous()
    }
}

fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl HostOps for Flex {
    fn norm_leaky_train(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        slope: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
        let (xs, shape) = host(&x);
        let (n, c, plane) = planes(&shape);
        let stats = channel_stats(xs, n, c, plane);
        let mean: Vec<f32> = stats.iter().map(|s| s.0 as f32).collect();
        let variance: Vec<f32> = stats.iter().map(|s| s.1 as f32).collect();
        let map = affine(host(&gamma).0, host(&beta).0, &mean, &variance, epsilon);
        let slope = slope as f32;
        let mut out = vec![0.0f32; xs.len()];
        split_mut(&mut out, plane, |first, chunk| {
            for (k, dst) in chunk.chunks_mut(plane).enumerate() {
                let p = first + k;
                let (a, b, _) = map[p % c];
                normalise(dst, &xs[p * plane..(p + 1) * plane], a, b, slope);
            }
        });
        (
            tensor(out, shape),
            tensor(mean, vec![c]),
            tensor(variance, vec![c]),
        )
    }

    fn norm_leaky_train_backward(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        slope: f64,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, grad) = (contiguous(x), contiguous(grad));
        let (gamma, beta, mean, variance) = (
            contiguous(gamma),
            contiguous(beta),
            contiguous(mean),
            contiguous(variance),
        );
        let (xs, shape) = host(&x);
        let gs = host(&grad).0;
        let (n, c, plane) = planes(&shape);
        let means = host(&mean).0;
        let map = affine(
            host(&gamma).0,
            host(&beta).0,
            means,
            host(&variance).0,
            epsilon,
        );
        let slope = slope as f32;
        let sums = channel_sums(n, c, |p| {
            let ch = p % c;
            let (a, b, inv_std) = map[ch];
            let r = p * plane..(p + 1) * plane;
            grad_sums(&xs[r.clone()], &gs[r], a, b, slope, means[ch], inv_std)
        });
        let count = (n * plane) as f64;
        // dx = a (g - mean(g) - xhat mean(g xhat)), a = gamma inv_std
        let centre: Vec<(f32, f32)> = sums
            .iter()
            .map(|&(s, q)| ((s / count) as f32, (q / count) as f32))
            .collect();
        let mut dx = vec![0.0f32; xs.len()];
        split_mut(&mut dx, plane, |first, chunk| {
            for (k, dst) in chunk.chunks_mut(plane).enumerate() {
                let p = first + k;
                let ch = p % c;
                let r = p * plane..(p + 1) * plane;
                norm_input_grad(
                    dst,
                    &xs[r.clone()],
                    &gs[r],
                    map[ch],
                    slope,
                    means[ch],
                    centre[ch],
                );
            }
        });
        let gamma_grad = sums.iter().map(|s| s.1 as f32).collect();
        let beta_grad = sums.iter().map(|s| s.0 as f32).collect();
        (
            tensor(dx, shape),
            tensor(gamma_grad, vec![c]),
            tensor(beta_grad, vec![c]),
        )
    }

    fn norm_leaky_infer(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        slope: f64,
    ) -> FlexTensor {
        // In place where nothing else holds `x` (a fresh buffer of a large layer costs its
        // page faults again).
        let mut x = owned(x);
        let [gamma, beta, mean, variance] = [gamma, beta, mean, variance].map(contiguous);
        let shape = x.shape().to_vec();
        let (_, c, plane) = planes(&shape);
        let (g, b, m) = (host(&gamma).0, host(&beta).0, host(&mean).0);
        // burn: sqrt(variance + epsilon), the scalar cast to f32 first.
        let eps = epsilon as f32;
        let std: Vec<f32> = host(&variance)
            .0
            .iter()
            .map(|&v| (v + eps).sqrt())
            .collect();
        let (slope, leaky) = (slope as f32, slope != 1.0);
        split_mut(x.storage_mut::<f32>(), plane, |first, chunk| {
            for (k, values) in chunk.chunks_mut(plane).enumerate() {
                let ch = (first + k) % c;
                normalise_infer(values, [m[ch], std[ch], g[ch], b[ch]], slope, leaky);
            }
        });
        x
    }

    fn lstm_cell(gates: FlexTensor, cell: FlexTensor) -> FlexTensor {
        let (gates, cell) = (contiguous(gates), contiguous(cell));
        let (gs, gshape) = host(&gates);
        let (cs, cshape) = host(&cell);
        let (b, h, plane) = lstm_shape(&gshape, &cshape);
        let mut out = vec![0.0f32; b * 2 * h * plane];
        // One item per batch entry: its hidden planes, then its cell planes. Each gate's
        // planes are contiguous, so one call covers all h channels of an item.
        let n_h = h * plane;
        split_mut(&mut out, 2 * n_h, |first, chunk| {
            for (k, both) in chunk.chunks_mut(2 * n_h).enumerate() {
                let n = first + k;
                let (hid, cel) = both.split_at_mut(n_h);
                let gate = |q: usize| &gs[(n * 4 + q) * n_h..(n * 4 + q + 1) * n_h];
                let prev = &cs[n * n_h..(n + 1) * n_h];
                lstm_plane(hid, cel, [gate(0), gate(1), gate(2), gate(3)], prev);
            }
        });
        let mut shape = gshape;
        shape[1] = 2 * h;
        tensor(out, shape)
    }

    fn lstm_cell_backward(
        gates: FlexTensor,
        cell: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let (gates, cell, grad) = (contiguous(gates), contiguous(cell), contiguous(grad));
        let (gs, gshape) = host(&gates);
        let (cs, cshape) = host(&cell);
        let ds = host(&grad).0;
        let (b, h, plane) = lstm_shape(&gshape, &cshape);
        // dgates and dcell of one batch item side by side, split after.
        let mut both = vec![0.0f32; b * 5 * h * plane];
        let n_h = h * plane;
        split_mut(&mut both, 5 * n_h, |first, chunk| {
            for (k, item) in chunk.chunks_mut(5 * n_h).enumerate() {
                let n = first + k;
                let (dgates, dcell) = item.split_at_mut(4 * n_h);
                let (d_i, rest) = dgates.split_at_mut(n_h);
                let (d_f, rest) = rest.split_at_mut(n_h);
                let (d_g, d_o) = rest.split_at_mut(n_h);
                let gate = |q: usize| &gs[(n * 4 + q) * n_h..(n * 4 + q + 1) * n_h];
                let prev = &cs[n * n_h..(n + 1) * n_h];
                let dh = &ds[n * 2 * n_h..(n * 2 + 1) * n_h];
                let dc = &ds[(n * 2 + 1) * n_h..(n * 2 + 2) * n_h];
                let out = [d_i, d_f, d_g, d_o, dcell];
                lstm_plane_backward(out, [gate(0), gate(1), gate(2), gate(3)], prev, dh, dc);
            }
        });
        let mut dgates = Vec::with_capacity(b * 4 * h * plane);
        let mut dcell = Vec::with_capacity(b * h * plane);
        for item in both.chunks(5 * h * plane) {
            dgates.extend_from_slice(&item[..4 * h * plane]);
            dcell.extend_from_slice(&item[4 * h * plane..]);
        }
        (tensor(dgates, gshape), tensor(dcell, cshape))
    }

    fn lstm_sequence(
        from_input: FlexTensor,
        w_hidden: FlexTensor,
        hidden: FlexTensor,
        cell: FlexTensor,
        has_hidden: bool,
    ) -> (FlexTensor, FlexTensor) {
        let [from_input, w_hidden, hidden, cell] =
            [from_input, w_hidden, hidden, cell].map(contiguous);
        let (xs, shape) = host(&from_input);
        let (steps, batch, h) = (shape[0], shape[1], shape[2] / 4);
        let w = host(&w_hidden).0;
        let (h0, c0) = (host(&hidden).0, host(&cell).0);
        let (row, state) = (batch * 4 * h, batch * h);
        // The record: every step's gates, then the cell state before each step.
        let mut gates = Vec::with_capacity(steps * (row + state));
        gates.extend_from_slice(xs);
        // Rows 0..steps: the hidden states; row `steps`: the cell state, carried along.
        let mut out = vec![0.0f32; (steps + 1) * state];
        let mut cell_now = c0.to_vec();
        let mut cells = Vec::with_capacity(steps * state);
        for t in 0..steps {
            cells.extend_from_slice(&cell_now);
            let g = &mut gates[t * row..(t + 1) * row];
            let (done, rest) = out.split_at_mut(t * state);
            let previous = if t > 0 {
                Some(&done[(t - 1) * state..])
            } else {
                has_hidden.then_some(h0)
            };
            if let Some(previous) = previous {
                few_rows_product(g, previous, w, batch, h, 4 * h);
            }
            let g: &[f32] = g;
            let hid = &mut rest[..state];
            let mut next = vec![0.0f32; state];
            for n in 0..batch {
                let q = |k: usize| &g[n * 4 * h + k * h..n * 4 * h + (k + 1) * h];
                lstm_plane(
                    &mut hid[n * h..(n + 1) * h],
                    &mut next[n * h..(n + 1) * h],
                    [q(0), q(1), q(2), q(3)],
                    &cell_now[n * h..(n + 1) * h],
                );
            }
            cell_now = next;
        }
        out[steps * state..].copy_from_slice(&cell_now);
        gates.extend_from_slice(&cells);
        (
            tensor(out, vec![steps + 1, batch, h]),
            tensor(gates, vec![steps, batch, 5 * h]),
        )
    }

    fn lstm_sequence_backward(
        w_hidden: FlexTensor,
        hidden: FlexTensor,
        has_hidden: bool,
        output: FlexTensor,
        record: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor, FlexTensor) {
        let [w_hidden, hidden, output, record, grad] =
            [w_hidden, hidden, output, record, grad].map(contiguous);
        let (record, shape) = host(&record);
        let (steps, batch, h) = (shape[0], shape[1], shape[2] / 5);
        let (wv, wshape) = host(&w_hidden);
        let h0 = host(&hidden).0;
        let (outs, ds) = (host(&output).0, host(&grad).0);
        let (row, state) = (batch * 4 * h, batch * h);
        // Every step's gates, and the cell state before each step, as the forward recorded
        // them.
        let (gs, cells) = record.split_at(steps * row);
        // The recurrent weights transposed, `[4h, h]`, for each step's product.
        let w_t = super::dense::transposed(wv, h, 4 * h);
        let mut d_gates = vec![0.0f32; steps * row];
        // The gradient reaching the hidden and cell states after step t.
        let mut dh = vec![0.0f32; state];
        let mut dc = ds[steps * state..].to_vec();
        let mut d_prev_cell = vec![0.0f32; state];
        for t in (0..steps).rev() {
            for (d, &o) in dh.iter_mut().zip(&ds[t * state..(t + 1) * state]) {
                *d += o;
            }
            let g = &gs[t * row..(t + 1) * row];
            let dg = &mut d_gates[t * row..(t + 1) * row];
            let prev = &cells[t * state..(t + 1) * state];
            for n in 0..batch {
                let q = |k: usize| &g[n * 4 * h + k * h..n * 4 * h + (k + 1) * h];
                let item = &mut dg[n * 4 * h..(n + 1) * 4 * h];
                let (d_i, rest) = item.split_at_mut(h);
                let (d_f, rest) = rest.split_at_mut(h);
                let (d_g, d_o) = rest.split_at_mut(h);
                let r = n * h..(n + 1) * h;
                lstm_plane_backward(
                    [d_i, d_f, d_g, d_o, &mut d_prev_cell[r.clone()]],
                    [q(0), q(1), q(2), q(3)],
                    &prev[r.clone()],
                    &dh[r.clone()],
                    &dc[r],
                );
            }
            std::mem::swap(&mut dc, &mut d_prev_cell);
            // The hidden state before step t: step t − 1's, or the starting one.
            if t > 0 || has_hidden {
                dh.fill(0.0);
                few_rows_product(&mut dh, dg, &w_t, batch, 4 * h, h);
            } else {
                dh.fill(0.0);
            }
        }
        // The recurrent weights' gradient over all steps at once: (hidden before each
        // step)ᵀ · (its gates' gradient).
        let mut before = vec![0.0f32; steps * state];
        if has_hidden {
            before[..state].copy_from_slice(h0);
        }
        if steps > 1 {
            before[state..].copy_from_slice(&outs[..(steps - 1) * state]);
        }
        let mut dw = vec![0.0f32; h * 4 * h];
        product(
            &mut dw,
            Matrix::new(&before, steps * batch, h).t(),
            Matrix::new(&d_gates, steps * batch, 4 * h),
            false,
        );
        let dh0 = if has_hidden { dh } else { vec![0.0f32; state] };
        (
            tensor(d_gates, vec![steps, batch, 4 * h]),
            tensor(dw, wshape),
            tensor(dh0, vec![batch, h]),
            tensor(dc, vec![batch, h]),
        )
    }

    fn logistic(x: FlexTensor) -> FlexTensor {
        let x = contiguous(x);
        let (xs, shape) = host(&x);
        let mut out = xs.to_vec();
        split_mut(&mut out, 1, |_, chunk| logistic_in_place(chunk));
        tensor(out, shape)
    }

    fn logistic_backward(y: FlexTensor, grad: FlexTensor) -> FlexTensor {
        let (y, grad) = (contiguous(y), contiguous(grad));
        let (ys, shape) = host(&y);
        let mut out = host(&grad).0.to_vec();
        split_mut(&mut out, 1, |first, chunk| {
            logistic_grad(chunk, &ys[first..first + chunk.len()]);
        });
        tensor(out, shape)
    }

    fn conv1d_batched(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        geometry: Conv1dGeometry,
    ) -> FlexTensor {
        let [x, weight, bias] = [x, weight, bias].map(contiguous);
        let ((xs, shape), (ws, wshape)) = (host(&x), host(&weight));
        let sizes = conv1d::Sizes::new(&shape, &wshape, &geometry);
        let y = conv1d::forward(xs, ws, host(&bias).0, &sizes, &geometry);
        tensor(y, vec![sizes.batch, sizes.c_out, sizes.len_out])
    }

    fn conv1d_batched_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        geometry: Conv1dGeometry,
        input_grad: bool,
    ) -> (Option<FlexTensor>, FlexTensor, FlexTensor) {
        let [x, weight, grad] = [x, weight, grad].map(contiguous);
        let ((xs, shape), (ws, wshape)) = (host(&x), host(&weight));
        let sizes = conv1d::Sizes::new(&shape, &wshape, &geometry);
        let (dx, dw, db) = conv1d::backward(xs, ws, host(&grad).0, &sizes, &geometry, input_grad);
        let c_out = sizes.c_out;
        (
            dx.map(|dx| tensor(dx, shape)),
            tensor(dw, wshape),
            tensor(db, vec![c_out]),
        )
    }

    fn conv_single_output(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let (xs, shape) = host(&x);
        let (ws, wshape) = host(&weight);
        let s = conv_shape(&shape, &wshape);
        let out = host_conv::convolve(xs, shape[0], [s.h, s.w], ws, host(&bias).0[0], &s, None);
        tensor(out, vec![shape[0], 1, s.h, s.w])
    }

    fn conv_single_output_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (x, weight, grad) = (contiguous(x), contiguous(weight), contiguous(grad));
        let (xs, shape) = host(&x);
        let (ws, wshape) = host(&weight);
        let gs = host(&grad).0;
        let s = conv_shape(&shape, &wshape);
        let n = shape[0];
        let dx = conv_input_grad(ws, gs, n, &s);
        let dw = conv_weight_grad(xs, gs, n, &s);
        let db = (shifted_sums(gs, 0.0).0) as f32;
        (
            tensor(dx, shape),
            tensor(dw, wshape),
            tensor(vec![db], vec![1]),
        )
    }

    fn dense_block_train(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        slope: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor, FlexTensor) {
        let [x, weight, bias, gamma, beta] = [x, weight, bias, gamma, beta].map(contiguous);
        let (xs, shape) = host(&x);
        let n = shape[0];
        let o = host(&bias).0.len();
        let z = affine_rows(xs, n, host(&weight).0, host(&bias).0);
        let slope = slope as f32;
        let mut out = vec![0.0f32; z.len()];
        leaky_rows(&mut out, &z, slope);
        let (mean, variance) = column_stats(&out, o);
        let (scale, shift) = scale_shift(host(&gamma).0, host(&beta).0, &mean, &variance, epsilon);
        // `out` holds the LeakyReLU's output: the affine map alone (slope 1) finishes it.
        leaky_affine(&mut out, &scale, &shift, 1.0);
        (
            tensor(out, vec![n, o]),
            tensor(z, vec![n, o]),
            tensor(mean, vec![o]),
            tensor(variance, vec![o]),
        )
    }

    fn dense_block_train_backward(
        x: FlexTensor,
        weight: FlexTensor,
        gamma: FlexTensor,
        z: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        slope: f64,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor, FlexTensor, FlexTensor, FlexTensor) {
        let [x, weight, gamma, z, mean, variance, grad] =
            [x, weight, gamma, z, mean, variance, grad].map(contiguous);
        let (xs, xshape) = host(&x);
        let (ws, wshape) = host(&weight);
        let (n, i, o) = (xshape[0], xshape[1], wshape[1]);
        let (zs, means) = (host(&z).0, host(&mean).0);
        let inv_std: Vec<f32> = host(&variance)
            .0
            .iter()
            .map(|&v| 1.0 / (v + epsilon as f32).sqrt())
            .collect();
        let scale: Vec<f32> = host(&gamma)
            .0
            .iter()
            .zip(&inv_std)
            .map(|(g, s)| g * s)
            .collect();
        let slope = slope as f32;
        // The output's gradient becomes z's, in place where nothing else holds it.
        let mut grad = owned(grad);
        let dz = grad.storage_mut::<f32>();
        let (beta_grad, gamma_grad) = norm_grad_sums(zs, dz, means, &inv_std, slope);
        let count = n.max(1) as f64;
        let centre: Vec<f32> = beta_grad.iter().map(|s| (s / count) as f32).collect();
        let spread: Vec<f32> = gamma_grad.iter().map(|s| (s / count) as f32).collect();
        norm_leaky_input_grad(dz, zs, means, &inv_std, &scale, &centre, &spread, slope);
        let dz: &[f32] = dz;
        // The two products have the same cost: one per thread where they are large.
        let (mut dx, mut dw) = (vec![0.0f32; n * i], vec![0.0f32; i * o]);
        let input_grad =
            |dx: &mut [f32]| product(dx, Matrix::new(dz, n, o), Matrix::new(ws, i, o).t(), false);
        let weight_grad =
            |dw: &mut [f32]| product(dw, Matrix::new(xs, n, i).t(), Matrix::new(dz, n, o), false);
        if large(n, i, o) {
            rayon::join(|| input_grad(&mut dx), || weight_grad(&mut dw));
        } else {
            input_grad(&mut dx);
            weight_grad(&mut dw);
        }
        let db = column_sums(dz, o);
        let to_f32 = |v: Vec<f64>| v.into_iter().map(|s| s as f32).collect::<Vec<f32>>();
        (
            tensor(dx, xshape),
            tensor(dw, wshape),
            tensor(db, vec![o]),
            tensor(to_f32(gamma_grad), vec![o]),
            tensor(to_f32(beta_grad), vec![o]),
        )
    }

    fn dense_block_infer(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
        slope: f64,
    ) -> FlexTensor {
        let [x, weight, bias, gamma, beta, mean, variance] =
            [x, weight, bias, gamma, beta, mean, variance].map(contiguous);
        let (xs, shape) = host(&x);
        let n = shape[0];
        let o = host(&bias).0.len();
        let mut out = affine_rows(xs, n, host(&weight).0, host(&bias).0);
        let (scale, shift) = scale_shift(
            host(&gamma).0,
            host(&beta).0,
            host(&mean).0,
            host(&variance).0,
            epsilon,
        );
        leaky_affine(&mut out, &scale, &shift, slope as f32);
        tensor(out, vec![n, o])
    }

    fn conv_same_add(
        x: FlexTensor,
        weight: FlexTensor,
        base: FlexTensor,
        stride: [usize; 2],
    ) -> FlexTensor {
        let [x, weight] = [x, weight].map(contiguous);
        let (xs, shape) = host(&x);
        let (ws, wshape) = host(&weight);
        let mut out = owned(base);
        let out_shape = out.shape().to_vec();
        let n = shape[0];
        let o = wshape[0];
        let g = super::conv_same::Geometry::same(
            shape[1],
            [shape[2], shape[3]],
            [wshape[2], wshape[3]],
            stride,
        );
        assert!(
            wshape[1] == g.c && out_shape == [n, o, g.oh, g.ow],
            "host_ops: a 'same' convolution of {shape:?} by {wshape:?} onto {out_shape:?}"
        );
        if n == 1 {
            super::conv_same::conv_same_add(out.storage_mut::<f32>(), xs, ws, o, &g);
        } else {
            super::conv_same::conv_same_add_batch(out.storage_mut::<f32>(), xs, ws, n, o, &g);
        }
        out
    }

    fn conv_lstm_sequence(
        input_gates: FlexTensor,
        w_hidden: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let [input_gates, w_hidden] = [input_gates, w_hidden].map(contiguous);
        let ((gs, shape), (ws, wshape)) = (host(&input_gates), host(&w_hidden));
        let sizes = super::conv_lstm::Sizes::new(&shape, &wshape);
        let (out, record) = super::conv_lstm::forward(gs, ws, &sizes);
        let mut out_shape = shape;
        out_shape[2] = sizes.hidden;
        let len = record.len();
        (tensor(out, out_shape), tensor(record, vec![len]))
    }

    fn conv_lstm_sequence_backward(
        w_hidden: FlexTensor,
        output: FlexTensor,
        record: FlexTensor,
        grad: FlexTensor,
    ) -> (FlexTensor, FlexTensor) {
        let [w_hidden, output, record, grad] = [w_hidden, output, record, grad].map(contiguous);
        let ((ws, wshape), (outs, oshape)) = (host(&w_hidden), host(&output));
        let mut shape = oshape;
        shape[2] = wshape[0];
        let sizes = super::conv_lstm::Sizes::new(&shape, &wshape);
        let (d_gates, dw) =
            super::conv_lstm::backward(ws, outs, host(&record).0, host(&grad).0, &sizes);
        (tensor(d_gates, shape), tensor(dw, wshape))
    }

    fn transposed_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        geometry: super::ConvTranspose2dGeometry,
    ) -> FlexTensor {
        let [x, weight, bias] = [x, weight, bias].map(contiguous);
        let ((xs, shape), (ws, wshape)) = (host(&x), host(&weight));
        let g = geometry;
        let sizes =
            super::conv_transpose::Sizes::new(&shape, &wshape, g.stride, g.padding, g.padding_out);
        let y = super::conv_transpose::forward(xs, ws, Some(host(&bias).0), &sizes);
        tensor(y, sizes.out_shape())
    }

    fn transposed_conv2d_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        geometry: super::ConvTranspose2dGeometry,
        input_grad: bool,
    ) -> (Option<FlexTensor>, FlexTensor, FlexTensor) {
        let [x, weight, grad] = [x, weight, grad].map(contiguous);
        let ((xs, shape), (ws, wshape)) = (host(&x), host(&weight));
        let g = geometry;
        let sizes =
            super::conv_transpose::Sizes::new(&shape, &wshape, g.stride, g.padding, g.padding_out);
        let (dx, dw, db) =
            super::conv_transpose::backward(xs, ws, host(&grad).0, &sizes, input_grad);
        let o = wshape[1];
        (
            dx.map(|dx| tensor(dx, shape)),
            tensor(dw, wshape),
            tensor(db, vec![o]),
        )
    }

    fn conv_same_add_backward(
        x: FlexTensor,
        weight: FlexTensor,
        grad: FlexTensor,
        stride: [usize; 2],
        input_grad: bool,
    ) -> (Option<FlexTensor>, FlexTensor) {
        let [x, weight, grad] = [x, weight, grad].map(contiguous);
        let ((xs, shape), (ws, wshape)) = (host(&x), host(&weight));
        let g = super::conv_same::Geometry::same(
            shape[1],
            [shape[2], shape[3]],
            [wshape[2], wshape[3]],
            stride,
        );
        let (dx, dw) = super::conv_same::conv_same_add_batch_backward(
            xs,
            ws,
            host(&grad).0,
            shape[0],
            wshape[0],
            &g,
            input_grad,
        );
        (dx.map(|dx| tensor(dx, shape)), tensor(dw, wshape))
    }

    fn adam_update(
        param: FlexTensor,
        grad: FlexTensor,
        moment_1: FlexTensor,
        moment_2: FlexTensor,
        factors: super::AdamFactors,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        // The parameter and the moments are updated where they lie when nothing else holds
        // them (burn's optimizer hands them over), else copied first.
        let grad = contiguous(grad);
        let gs = host(&grad).0;
        let mut param = owned(param);
        let (mut moment_1, mut moment_2) = if factors.first {
            let zeros = || tensor(vec![0.0; gs.len()], param.shape().to_vec());
            (zeros(), zeros())
        } else {
            (owned(moment_1), owned(moment_2))
        };
        let ps = param.storage_mut::<f32>();
        let (ms, vs) = (moment_1.storage_mut::<f32>(), moment_2.storage_mut::<f32>());
        assert!(
            ps.len() == gs.len() && ms.len() == gs.len() && vs.len() == gs.len(),
            "host_ops: Adam's tensors differ in size"
        );
        split3(ps, ms, vs, |first, p, m, v| {
            adam_block(p, m, v, &gs[first..first + p.len()], factors);
        });
        (param, moment_1, moment_2)
    }
}

/// `t` contiguous, starting at its storage's start and filling it, so that its storage is
/// its values (copied where it is a view).
fn owned(t: FlexTensor) -> FlexTensor {
    let whole = t.layout().contiguous_offsets() == Some((0, t.storage::<f32>().len()));
    if whole {
        t
    } else {
        t.to_contiguous()
    }
}

/// A batch norm's per-channel `(scale, shift)`: `y = x · scale + shift` with `scale = gamma /
/// sqrt(variance + epsilon)` and `shift = beta − mean · scale`.
fn scale_shift(
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f64,
) -> (Vec<f32>, Vec<f32>) {
    let scale: Vec<f32> = gamma
        .iter()
        .zip(variance)
        .map(|(&g, &v)| g / (v + epsilon as f32).sqrt())
        .collect();
    let shift = beta
        .iter()
        .zip(mean)
        .zip(&scale)
        .map(|((&b, &m), &a)| b - m * a)
        .collect();
    (scale, shift)
}

simd_kernel! {
/// Adam on a run of elements, in place: the parameters `p` and the moments `m` and `v`
/// (not read on the first step) from the gradients `g`. burn's operations in burn's order,
/// so each value is burn's to the bit.
fn adam_block(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], f: super::AdamFactors) {
    let ((b1, f1), (b2, f2)) = (f.beta_1, f.beta_2);
    let n = p.len();
    let (m, v, g) = (&mut m[..n], &mut v[..n], &g[..n]);
    if f.first {
        for k in 0..n {
            m[k] = g[k] * f1;
            v[k] = g[k] * g[k] * f2;
        }
    } else {
        for k in 0..n {
            m[k] = m[k] * b1 + g[k] * f1;
            v[k] = v[k] * b2 + g[k] * g[k] * f2;
        }
    }
    for k in 0..n {
        let update = m[k] * f.combined / (v[k].sqrt() + f.epsilon);
        p[k] -= update * f.learning_rate;
    }
}
}
