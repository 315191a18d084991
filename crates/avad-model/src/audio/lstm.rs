//! burn's `Lstm` run as PyTorch runs its LSTM: the four gates' weights side by side, so
//! that the input's share of every step is one matrix product over the whole sequence and
//! each step is one matrix product of the hidden state, then the gate arithmetic as one
//! operation ([`crate::host_ops::lstm_cell`]).
//!
//! burn 0.22's `Lstm::forward` computes each gate as its own pair of products, step by step,
//! and writes each step's output into the sequence with a `slice_assign`, whose backward
//! copies the whole sequence's gradient again at every step. The weights are the module's
//! own, so saved models load unchanged; the sums are the same with another float rounding.

use burn::nn::{Lstm, LstmState};
use burn::tensor::Tensor;

use crate::host_ops::{lstm_cell, lstm_sequence};

/// `lstm.forward(x, state)` for a batch-first, forward, unclipped LSTM with a forget gate
/// and biases (the audio model's four): `x` `[batch, steps, input]`, returns every step's
/// hidden state `[batch, steps, hidden]` and the last `(cell, hidden)` state. Any other
/// configuration runs burn's own forward.
pub(crate) fn lstm_forward(
    lstm: &Lstm,
    x: Tensor<3>,
    state: Option<LstmState<2>>,
) -> (Tensor<3>, LstmState<2>) {
    let Some(forget) = lstm.forget_gate.as_ref() else {
        return lstm.forward(x, state);
    };
    // In the order of burn's forward: i, f, o, g.
    let gates = [&lstm.input_gate, forget, &lstm.output_gate, &lstm.cell_gate];
    let biased = gates
        .iter()
        .all(|g| g.input_transform.bias.is_some() && g.hidden_transform.bias.is_some());
    if !lstm.batch_first || lstm.reverse || lstm.clip.is_some() || lstm.input_forget || !biased {
        return lstm.forward(x, state);
    }
    let [batch, steps, input] = x.dims();
    let hidden = lstm.d_hidden;
    let device = x.device();
    // A parameter is drawn when it is first read, so they are read in the order of burn's
    // forward (gates i, f, o, g; each the input's weight and bias, then the hidden state's):
    // a seed gives the model the same starting weights either way.
    let read = |g: &burn::nn::GateController| {
        let bias = |l: &burn::nn::Linear| l.bias.as_ref().expect("checked").val();
        let (input, hidden) = (&g.input_transform, &g.hidden_transform);
        let w_input = input.weight.val();
        let b_input = bias(input);
        let w_hidden = hidden.weight.val();
        let b_hidden = bias(hidden);
        (w_input, w_hidden, b_input + b_hidden)
    };
    let [i, f, o, g] = gates.map(read);
    // [input, 4h], [h, 4h] and [4h], the gates in the order i, f, g, o of `lstm_cell`.
    let w_input = Tensor::cat(vec![i.0, f.0, g.0, o.0], 1);
    let w_hidden = Tensor::cat(vec![i.1, f.1, g.1, o.1], 1);
    let bias = Tensor::cat(vec![i.2, f.2, g.2, o.2], 0);
    // The input's share of every step's gates, step-major: [steps, batch, 4h].
    let from_input = x
        .swap_dims(0, 1)
        .reshape([steps * batch, input])
        .matmul(w_input)
        .add(bias.unsqueeze_dim(0))
        .reshape([steps, batch, 4 * hidden]);
    let (mut cell, mut hidden_state) = match state {
        Some(state) => (state.cell, Some(state.hidden)),
        None => (Tensor::zeros([batch, hidden], &device), None),
    };
    // On the CPU the recurrence is one host operation.
    let on_host = if steps > 0 {
        lstm_sequence(
            from_input.clone(),
            w_hidden.clone(),
            hidden_state.clone(),
            cell.clone(),
        )
    } else {
        None
    };
    if let Some((outputs, cell)) = on_host {
        let last = outputs
            .clone()
            .narrow(0, steps - 1, 1)
            .reshape([batch, hidden]);
        return (outputs.swap_dims(0, 1), LstmState::new(cell, last));
    }
    let mut outputs = Vec::with_capacity(steps);
    for step_input in from_input.split(1, 0) {
        let mut step_gates = step_input.reshape([batch, 4 * hidden]);
        if let Some(h) = hidden_state.take() {
            step_gates = step_gates + h.matmul(w_hidden.clone());
        }
        let (h, c) = lstm_cell(step_gates, cell);
        cell = c;
        outputs.push(h.clone());
        hidden_state = Some(h);
    }
    let hidden_state = hidden_state.unwrap_or_else(|| Tensor::zeros([batch, hidden], &device));
    (
        Tensor::stack(outputs, 1),
        LstmState::new(cell, hidden_state),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::values;
    use burn::nn::LstmConfig;
    use burn::tensor::{Device, Distribution};

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    type Run = (Tensor<3>, LstmState<2>, Vec<Tensor<3>>);

    /// A fresh LSTM, input and (with `with_state`) starting state drawn from one seed, run by
    /// `fused` or by burn's forward; the parameters and inputs to take gradients of.
    fn run(device: &Device, with_state: bool, fused: bool) -> (Run, Lstm) {
        device.seed(7);
        let lstm = LstmConfig::new(12, 16, true).init(device);
        let tracked = |t: Tensor<3>| {
            if device.is_autodiff() {
                t.require_grad()
            } else {
                t
            }
        };
        let x = tracked(Tensor::random(
            [3, 5, 12],
            Distribution::Uniform(-1.0, 1.0),
            device,
        ));
        let c = tracked(Tensor::random(
            [1, 3, 16],
            Distribution::Uniform(-0.5, 0.5),
            device,
        ));
        let h = tracked(Tensor::random(
            [1, 3, 16],
            Distribution::Uniform(-0.5, 0.5),
            device,
        ));
        let state =
            with_state.then(|| LstmState::new(c.clone().squeeze_dim(0), h.clone().squeeze_dim(0)));
        let (out, last) = if fused {
            lstm_forward(&lstm, x.clone(), state)
        } else {
            lstm.forward(x.clone(), state)
        };
        let mut leaves = vec![x];
        if with_state {
            leaves.extend([c, h]);
        }
        ((out, last, leaves), lstm)
    }

    /// The fused forward gives burn's outputs and final state, from no state and from a
    /// given one, in inference and in training, and the same gradients for the input, the
    /// starting state and every weight.
    #[test]
    fn equals_burns_lstm_and_its_gradients() {
        let _rng = crate::fixtures::rng_lock();
        for device in [Device::flex(), Device::flex().autodiff()] {
            for with_state in [false, true] {
                let ((ours, our_state, our_leaves), our_lstm) = run(&device, with_state, true);
                let ((theirs, their_state, their_leaves), their_lstm) =
                    run(&device, with_state, false);
                let ((again, _, _), _) = run(&device, with_state, false);
                let d = max_diff(&values(again), &values(theirs.clone()));
                assert!(d == 0.0, "the seed does not repeat the run: {d}");
                let d = max_diff(&values(ours.clone()), &values(theirs.clone()));
                assert!(d < 1e-5, "outputs differ by {d}");
                for (a, b) in [
                    (our_state.cell.clone(), their_state.cell.clone()),
                    (our_state.hidden.clone(), their_state.hidden.clone()),
                ] {
                    let d = max_diff(&values(a), &values(b));
                    assert!(d < 1e-5, "final states differ by {d}");
                }
                if !device.is_autodiff() {
                    continue;
                }
                // A loss that weighs every step and the final cell state differently.
                let w: Vec<f32> = (0..3 * 5 * 16)
                    .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
                    .collect();
                let w =
                    Tensor::<3>::from_data(burn::tensor::TensorData::new(w, [3, 5, 16]), &device);
                let loss = |out: Tensor<3>, cell: Tensor<2>| {
                    (out * w.clone()).sum() + cell.powf_scalar(2.0).sum()
                };
                let g_ours = loss(ours, our_state.cell).backward();
                let g_theirs = loss(theirs, their_state.cell).backward();
                let compare = |a: Option<Tensor<3>>, b: Option<Tensor<3>>| {
                    let (a, b) = (a.expect("gradient"), b.expect("gradient"));
                    let d = max_diff(&values(a), &values(b));
                    assert!(d < 1e-4, "gradients differ by {d}");
                };
                for (a, b) in our_leaves.iter().zip(&their_leaves) {
                    compare(a.grad(&g_ours), b.grad(&g_theirs));
                }
                let weights = |l: &Lstm| {
                    [
                        l.input_gate.input_transform.weight.val(),
                        l.forget_gate
                            .as_ref()
                            .unwrap()
                            .hidden_transform
                            .weight
                            .val(),
                        l.cell_gate.input_transform.weight.val(),
                        l.output_gate.hidden_transform.weight.val(),
                    ]
                };
                for (a, b) in weights(&our_lstm).into_iter().zip(weights(&their_lstm)) {
                    compare(
                        a.grad(&g_ours).map(|g| g.unsqueeze_dim(0)),
                        b.grad(&g_theirs).map(|g| g.unsqueeze_dim(0)),
                    );
                }
                let bias = |l: &Lstm| {
                    l.forget_gate
                        .as_ref()
                        .unwrap()
                        .input_transform
                        .bias
                        .as_ref()
                        .unwrap()
                        .val()
                };
                compare(
                    bias(&our_lstm).grad(&g_ours).map(|g| g.reshape([1, 1, 16])),
                    bias(&their_lstm)
                        .grad(&g_theirs)
                        .map(|g| g.reshape([1, 1, 16])),
                );
            }
        }
    }
}
