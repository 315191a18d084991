//! Convolutional LSTM (Shi et al. 2015), the temporal encoder/decoder of the visual model
//! (Table 3, layers 3-5). burn has no ConvLSTM: this is the Keras `ConvLSTM2D` cell with
//! `padding="same"` and `return_sequences=True`, the formulation of
//! /work/shared/bench/torch_reference.py:
//!
//! ```text
//! gates_t = conv(x_t, W_x) + b + conv(h_{t-1}, W_h)        i, f, g, o = split(gates_t, 4)
//! c_t = σ(f) ⊙ c_{t-1} + σ(i) ⊙ tanh(g)                    h_t = σ(o) ⊙ tanh(c_t)
//! ```

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::{Device, Tensor, TensorData};

/// Configuration of a [`ConvLstm2d`].
#[derive(Config, Debug)]
pub struct ConvLstm2dConfig {
    /// Channels of each input frame.
    pub input_channels: usize,
    /// Channels of the hidden and cell states (Keras `filters`).
    pub hidden_channels: usize,
    /// Kernel of both the input-to-state and the state-to-state convolutions.
    #[config(default = "[3, 3]")]
    pub kernel_size: [usize; 2],
    /// Start the forget-gate bias at 1, as Keras' `unit_forget_bias=True` default does, so
    /// that the cell remembers by default early in training.
    #[config(default = true)]
    pub unit_forget_bias: bool,
}

/// A ConvLSTM layer run over a whole sequence.
///
/// The input-to-state convolution carries the bias; the state-to-state one has none (as in
/// Keras, where one bias vector serves both). Gates are stacked along the channel axis in
/// Keras' order: input, forget, cell candidate, output.
#[derive(Module, Debug)]
pub struct ConvLstm2d {
    /// Input-to-state convolution: `[4 * hidden, input, kh, kw]` weight and `[4 * hidden]` bias.
    pub input_conv: Conv2d,
    /// State-to-state convolution: `[4 * hidden, hidden, kh, kw]` weight, no bias.
    pub hidden_conv: Conv2d,
    /// Channels of the hidden and cell states.
    pub hidden_channels: usize,
}

/// Hidden and cell state of a [`ConvLstm2d`], each `[batch, hidden, height, width]`.
#[derive(Debug, Clone)]
pub struct ConvLstmState {
    /// `h_t`, the layer's output at the last step.
    pub hidden: Tensor<4>,
    /// `c_t`, the memory cell.
    pub cell: Tensor<4>,
}

impl ConvLstm2dConfig {
    /// Build the layer on `device`: burn's default (Kaiming-uniform) kernels, a zero bias
    /// except the forget gate's (see [`unit_forget_bias`](Self::unit_forget_bias)).
    pub fn init(&self, device: &Device) -> ConvLstm2d {
        let gates = 4 * self.hidden_channels;
        let mut input_conv = Conv2dConfig::new([self.input_channels, gates], self.kernel_size)
            .with_padding(PaddingConfig2d::Same)
            .init(device);
        let hidden_conv = Conv2dConfig::new([self.hidden_channels, gates], self.kernel_size)
            .with_padding(PaddingConfig2d::Same)
            .with_bias(false)
            .init(device);

        // Gate k / hidden == 1 is the forget gate (order i, f, g, o).
        let forget_value = if self.unit_forget_bias { 1.0 } else { 0.0 };
        let bias: Vec<f32> = (0..gates)
            .map(|k| {
                if k / self.hidden_channels == 1 {
                    forget_value
                } else {
                    0.0
                }
            })
            .collect();
        input_conv.bias = Some(Param::from_data(TensorData::new(bias, [gates]), device));

        ConvLstm2d {
            input_conv,
            hidden_conv,
            hidden_channels: self.hidden_channels,
        }
    }
}

impl ConvLstm2d {
    /// Runs the cell over `input` `[batch, steps, channels, height, width]` from zero
    /// states and returns every hidden state, `[batch, steps, hidden, height, width]`
    /// (Keras `return_sequences=True`).
    pub fn forward(&self, input: Tensor<5>) -> Tensor<5> {
        let input_gates = self.input_gates(input);
        // In training on the CPU the whole recurrence is one host operation.
        if crate::host_ops::conv_lstm_applies(&input_gates, &self.hidden_conv) {
            return crate::host_ops::conv_lstm_sequence(input_gates, &self.hidden_conv);
        }
        self.recurrence(input_gates, None).0
    }

    /// Like [`forward`](Self::forward), starting from `state` (zeros when `None`), and also
    /// returning the state after the last step.
    pub fn forward_with_state(
        &self,
        input: Tensor<5>,
        state: Option<ConvLstmState>,
    ) -> (Tensor<5>, ConvLstmState) {
        let input_gates = self.input_gates(input);
        self.recurrence(input_gates, state)
    }

    /// The input-to-state convolution and bias of every step, `[batch, steps, 4 * hidden,
    /// h, w]`: it does not depend on the recurrence, so one batched call over all steps
    /// instead of `steps` small ones.
    fn input_gates(&self, input: Tensor<5>) -> Tensor<5> {
        let [batch, steps, channels, height, width] = input.dims();
        crate::host_ops::conv_same_add(
            &self.input_conv,
            input.reshape([batch * steps, channels, height, width]),
            None,
        )
        .reshape([batch, steps, 4 * self.hidden_channels, height, width])
    }

    /// The recurrence over every step from `input_gates`, one step at a time.
    fn recurrence(
        &self,
        input_gates: Tensor<5>,
        state: Option<ConvLstmState>,
    ) -> (Tensor<5>, ConvLstmState) {
        let [batch, steps, gates, height, width] = input_gates.dims();
        let device = input_gates.device();

        // From zero states the first step's state-to-state convolution adds exactly zero:
        // it is skipped, and the cell starts at zero.
        let mut state = state;
        let mut outputs = Vec::with_capacity(steps);
        for step in 0..steps {
            let step_gates = input_gates
                .clone()
                .narrow(1, step, 1)
                .reshape([batch, gates, height, width]);
            let next = self.step(step_gates, state.take(), &device);
            outputs.push(next.hidden.clone());
            state = Some(next);
        }
        let state = state.unwrap_or_else(|| {
            let zeros = Tensor::<4>::zeros([batch, self.hidden_channels, height, width], &device);
            ConvLstmState {
                hidden: zeros.clone(),
                cell: zeros,
            }
        });
        (Tensor::stack(outputs, 1), state)
    }

    /// One recurrence step: `input_gates` is `conv(x_t, W_x) + b`, `[batch, 4 * hidden, h, w]`;
    /// no `state` is the zero state.
    fn step(
        &self,
        input_gates: Tensor<4>,
        state: Option<ConvLstmState>,
        device: &Device,
    ) -> ConvLstmState {
        let (gates, cell) = match state {
            Some(state) => (
                crate::host_ops::conv_same_add(&self.hidden_conv, state.hidden, Some(input_gates)),
                state.cell,
            ),
            None => {
                let [batch, _, height, width] = input_gates.dims();
                let zeros = [batch, self.hidden_channels, height, width];
                (input_gates, Tensor::zeros(zeros, device))
            }
        };
        // The gate arithmetic; one custom operation on the CPU (host_ops.rs).
        let (hidden, cell) = crate::host_ops::lstm_cell(gates, cell);
        ConvLstmState { hidden, cell }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{assert_close, floats, load, shape, tensor, values};

    /// A layer whose weights are those of fixtures/convlstm_reference.json.
    fn reference_layer(fixture: &serde_json::Value, device: &Device) -> ConvLstm2d {
        let input_channels = fixture["input_channels"].as_u64().unwrap() as usize;
        let hidden_channels = fixture["hidden_channels"].as_u64().unwrap() as usize;
        let mut layer = ConvLstm2dConfig::new(input_channels, hidden_channels).init(device);
        layer.input_conv.weight = Param::from_tensor(tensor(
            fixture,
            "input_weight",
            "input_weight_shape",
            device,
        ));
        let bias = floats(fixture, "input_bias");
        let gates = bias.len();
        layer.input_conv.bias = Some(Param::from_data(TensorData::new(bias, [gates]), device));
        layer.hidden_conv.weight = Param::from_tensor(tensor(
            fixture,
            "hidden_weight",
            "hidden_weight_shape",
            device,
        ));
        layer
    }

    #[test]
    fn sequence_matches_numpy_reference() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        let fixture = load("convlstm_reference.json");
        let layer = reference_layer(&fixture, &device);
        let input: Tensor<5> = tensor(&fixture, "input", "input_shape", &device);
        let (output, state) = layer.forward_with_state(input, None);
        assert_eq!(output.dims(), shape::<5>(&fixture, "output_shape"));
        assert_close(
            &values(output),
            &floats(&fixture, "output"),
            1e-5,
            "hidden sequence",
        );
        assert_close(
            &values(state.cell),
            &floats(&fixture, "final_cell"),
            1e-5,
            "final cell",
        );
    }

    #[test]
    fn one_step_matches_first_step_of_reference() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        let fixture = load("convlstm_reference.json");
        let layer = reference_layer(&fixture, &device);
        let [b, _, _, h, w] = shape::<5>(&fixture, "input_shape");
        let input: Tensor<5> = tensor(&fixture, "input", "input_shape", &device);
        let first = layer.forward(input.narrow(1, 0, 1));
        let hidden = layer.hidden_channels;
        assert_eq!(first.dims(), [b, 1, hidden, h, w]);
        let expected = floats(&fixture, "output");
        assert_close(
            &values(first),
            &expected[..b * hidden * h * w],
            1e-5,
            "step 1",
        );
    }

    #[test]
    fn carried_state_continues_the_sequence() {
        let _rng = crate::fixtures::rng_lock();
        // Running steps 1-2 and then step 3 from the returned state equals one 3-step run.
        let device = Device::flex();
        let fixture = load("convlstm_reference.json");
        let layer = reference_layer(&fixture, &device);
        let input: Tensor<5> = tensor(&fixture, "input", "input_shape", &device);
        let (_, state) = layer.forward_with_state(input.clone().narrow(1, 0, 2), None);
        let (last, _) = layer.forward_with_state(input.narrow(1, 2, 1), Some(state));
        let expected = floats(&fixture, "output");
        let per_step = expected.len() / 3;
        assert_close(&values(last), &expected[2 * per_step..], 1e-5, "step 3");
    }

    #[test]
    fn init_sets_keras_forget_bias() {
        let _rng = crate::fixtures::rng_lock();
        let device = Device::flex();
        let layer = ConvLstm2dConfig::new(2, 3).init(&device);
        let bias = values(layer.input_conv.bias.as_ref().unwrap().val());
        assert_eq!(bias, [0., 0., 0., 1., 1., 1., 0., 0., 0., 0., 0., 0.]);
        assert!(layer.hidden_conv.bias.is_none());
    }
}
