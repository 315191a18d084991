//! autodiff: the backward passes.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend};

use super::{Conv1dGeometry, ConvTranspose2dGeometry, HostOps};

/// A backend's float tensor, as the backward passes keep it.
type Primitive<B> = <B as burn::backend::BackendTypes>::FloatTensorPrimitive;

/// Registers each parent's gradient, `values[k]` for parent `k`, where the parent is
/// tracked (has a node id); the values of untracked parents are dropped.
fn register<B: Backend, const K: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; K],
    values: [Primitive<B>; K],
) {
    for (id, value) in parents.into_iter().zip(values) {
        if let Some(id) = id {
            grads.register::<B>(id, value);
        }
    }
}

impl<B: Backend + HostOps, C: CheckpointStrategy> HostOps for Autodiff<B, C> {
    fn norm_leaky_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct NormLeaky;

        impl<B: Backend + HostOps> Backward<B, 3> for NormLeaky {
            type State = (
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                f64,
                f64,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let parents = ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (x, gamma, beta, mean, variance, epsilon, slope) = ops.state;
                let (dx, dgamma, dbeta) = B::norm_leaky_train_backward(
                    x, gamma, beta, mean, variance, epsilon, slope, grad,
                );
                register::<B, _>(grads, parents, [dx, dgamma, dbeta]);
            }
        }

        let nodes = [x.node(), gamma.node(), beta.node()];
        let (x, gamma, beta) = (
            x.into_primitive(),
            gamma.into_primitive(),
            beta.into_primitive(),
        );
        let (out, mean, variance) =
            B::norm_leaky_train(x.clone(), gamma.clone(), beta.clone(), epsilon, slope);
        let out = match NormLeaky.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(
                (
                    x,
                    gamma,
                    beta,
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                    slope,
                ),
                out,
            ),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (
            out,
            FloatTensor::<Self>::new(mean),
            FloatTensor::<Self>::new(variance),
        )
    }

    fn norm_leaky_train_backward(
        _x: FloatTensor<Self>,
        _gamma: FloatTensor<Self>,
        _beta: FloatTensor<Self>,
        _mean: FloatTensor<Self>,
        _variance: FloatTensor<Self>,
        _epsilon: f64,
        _slope: f64,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: the batch norm's backward is not differentiable again");
    }

    fn lstm_cell(gates: FloatTensor<Self>, cell: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct LstmCell;

        impl<B: Backend + HostOps> Backward<B, 2> for LstmCell {
            type State = (Primitive<B>, Primitive<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let parents = ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (gates, cell) = ops.state;
                let (dgates, dcell) = B::lstm_cell_backward(gates, cell, grad);
                register::<B, _>(grads, parents, [dgates, dcell]);
            }
        }

        let nodes = [gates.node(), cell.node()];
        let (gates, cell) = (gates.into_primitive(), cell.into_primitive());
        let out = B::lstm_cell(gates.clone(), cell.clone());
        match LstmCell.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((gates, cell), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn norm_leaky_infer(
        _x: FloatTensor<Self>,
        _gamma: FloatTensor<Self>,
        _beta: FloatTensor<Self>,
        _mean: FloatTensor<Self>,
        _variance: FloatTensor<Self>,
        _epsilon: f64,
        _slope: f64,
    ) -> FloatTensor<Self> {
        panic!("host_ops: the inference batch norm runs on the plain CPU device only");
    }

    fn lstm_cell_backward(
        _gates: FloatTensor<Self>,
        _cell: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: the ConvLSTM step's backward is not differentiable again");
    }

    fn lstm_sequence(
        from_input: FloatTensor<Self>,
        w_hidden: FloatTensor<Self>,
        hidden: FloatTensor<Self>,
        cell: FloatTensor<Self>,
        has_hidden: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct LstmSequence;

        impl<B: Backend + HostOps> Backward<B, 4> for LstmSequence {
            type State = (Primitive<B>, Primitive<B>, bool, Primitive<B>, Primitive<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 4>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let parents = ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (w_hidden, hidden, has_hidden, output, record) = ops.state;
                let (d_input, d_w, d_hidden, d_cell) =
                    B::lstm_sequence_backward(w_hidden, hidden, has_hidden, output, record, grad);
                register::<B, _>(grads, parents, [d_input, d_w, d_hidden, d_cell]);
            }
        }

        let nodes = [
            from_input.node(),
            w_hidden.node(),
            hidden.node(),
            cell.node(),
        ];
        let [from_input, w_hidden, hidden, cell] =
            [from_input, w_hidden, hidden, cell].map(|t| t.into_primitive());
        let (out, record) = B::lstm_sequence(
            from_input,
            w_hidden.clone(),
            hidden.clone(),
            cell,
            has_hidden,
        );
        let out_tracked = match LstmSequence.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(
                (w_hidden, hidden, has_hidden, out.clone(), record.clone()),
                out,
            ),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (out_tracked, FloatTensor::<Self>::new(record))
    }

    fn lstm_sequence_backward(
        _w_hidden: FloatTensor<Self>,
        _hidden: FloatTensor<Self>,
        _has_hidden: bool,
        _output: FloatTensor<Self>,
        _record: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        panic!("host_ops: the LSTM sequence's backward is not differentiable again");
    }

    fn conv_single_output(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ConvSingle;

        impl<B: Backend + HostOps> Backward<B, 3> for ConvSingle {
            type State = (Primitive<B>, Primitive<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let parents = ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight) = ops.state;
                let (dx, dw, db) = B::conv_single_output_backward(x, weight, grad);
                register::<B, _>(grads, parents, [dx, dw, db]);
            }
        }

        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        let out = B::conv_single_output(x.clone(), weight.clone(), bias);
        match ConvSingle.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((x, weight), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn conv_single_output_backward(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: the convolution's backward is not differentiable again");
    }

    fn logistic(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Logistic;

        impl<B: Backend + HostOps> Backward<B, 1> for Logistic {
            type State = Primitive<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::logistic_backward(ops.state, grad));
                }
            }
        }

        let nodes = [x.node()];
        let out = B::logistic(x.into_primitive());
        match Logistic.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(out.clone(), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn logistic_backward(_y: FloatTensor<Self>, _grad: FloatTensor<Self>) -> FloatTensor<Self> {
        panic!("host_ops: the logistic function's backward is not differentiable again");
    }

    fn conv1d_batched(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: Conv1dGeometry,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Conv1dOp;

        impl<B: Backend + HostOps> Backward<B, 3> for Conv1dOp {
            type State = (Primitive<B>, Primitive<B>, Conv1dGeometry);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] =
                    ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight, geometry) = ops.state;
                let input_grad = node_x.is_some();
                let (dx, dw, db) =
                    B::conv1d_batched_backward(x, weight, grad, geometry, input_grad);
                if let (Some(id), Some(dx)) = (node_x, dx) {
                    grads.register::<B>(id, dx);
                }
                register::<B, _>(grads, [node_weight, node_bias], [dw, db]);
            }
        }

        let nodes = [x.node(), weight.node(), bias.node()];
        let (x, weight, bias) = (
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
        );
        let out = B::conv1d_batched(x.clone(), weight.clone(), bias, geometry);
        match Conv1dOp.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((x, weight, geometry), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn conv1d_batched_backward(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
        _geometry: Conv1dGeometry,
        _input_grad: bool,
    ) -> (
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        panic!("host_ops: the 1-D convolution's backward is not differentiable again");
    }

    fn dense_block_train(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        slope: f64,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        #[derive(Debug)]
        struct DenseBlock;

        impl<B: Backend + HostOps> Backward<B, 5> for DenseBlock {
            type State = (
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                Primitive<B>,
                f64,
                f64,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 5>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let parents = ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight, gamma, z, mean, variance, epsilon, slope) = ops.state;
                let (dx, dw, db, dgamma, dbeta) = B::dense_block_train_backward(
                    x, weight, gamma, z, mean, variance, epsilon, slope, grad,
                );
                register::<B, _>(grads, parents, [dx, dw, db, dgamma, dbeta]);
            }
        }

        let nodes = [
            x.node(),
            weight.node(),
            bias.node(),
            gamma.node(),
            beta.node(),
        ];
        let [x, weight, bias, gamma, beta] =
            [x, weight, bias, gamma, beta].map(|t| t.into_primitive());
        let (out, z, mean, variance) = B::dense_block_train(
            x.clone(),
            weight.clone(),
            bias,
            gamma.clone(),
            beta,
            epsilon,
            slope,
        );
        let out = match DenseBlock.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(
                (
                    x,
                    weight,
                    gamma,
                    z.clone(),
                    mean.clone(),
                    variance.clone(),
                    epsilon,
                    slope,
                ),
                out,
            ),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (
            out,
            FloatTensor::<Self>::new(z),
            FloatTensor::<Self>::new(mean),
            FloatTensor::<Self>::new(variance),
        )
    }

    fn dense_block_train_backward(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _gamma: FloatTensor<Self>,
        _z: FloatTensor<Self>,
        _mean: FloatTensor<Self>,
        _variance: FloatTensor<Self>,
        _epsilon: f64,
        _slope: f64,
        _grad: FloatTensor<Self>,
    ) -> (
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        panic!("host_ops: the dense block's backward is not differentiable again");
    }

    fn dense_block_infer(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _bias: FloatTensor<Self>,
        _gamma: FloatTensor<Self>,
        _beta: FloatTensor<Self>,
        _mean: FloatTensor<Self>,
        _variance: FloatTensor<Self>,
        _epsilon: f64,
        _slope: f64,
    ) -> FloatTensor<Self> {
        panic!("host_ops: the inference dense block runs on the plain CPU device only");
    }

    fn conv_same_add(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        base: FloatTensor<Self>,
        stride: [usize; 2],
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ConvSameAdd;

        impl<B: Backend + HostOps> Backward<B, 3> for ConvSameAdd {
            type State = (Primitive<B>, Primitive<B>, [usize; 2]);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_base] =
                    ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight, stride) = ops.state;
                let (dx, dw) =
                    B::conv_same_add_backward(x, weight, grad.clone(), stride, node_x.is_some());
                if let (Some(id), Some(dx)) = (node_x, dx) {
                    grads.register::<B>(id, dx);
                }
                register::<B, _>(grads, [node_weight, node_base], [dw, grad]);
            }
        }

        let nodes = [x.node(), weight.node(), base.node()];
        let (x, weight) = (x.into_primitive(), weight.into_primitive());
        let out = B::conv_same_add(x.clone(), weight.clone(), base.into_primitive(), stride);
        match ConvSameAdd.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish((x, weight, stride), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn conv_lstm_sequence(
        input_gates: FloatTensor<Self>,
        w_hidden: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct ConvLstmSequence;

        impl<B: Backend + HostOps> Backward<B, 2> for ConvLstmSequence {
            type State = (Primitive<B>, Primitive<B>, Primitive<B>);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let parents = ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (w_hidden, output, record) = ops.state;
                let (d_gates, d_w) = B::conv_lstm_sequence_backward(w_hidden, output, record, grad);
                register::<B, _>(grads, parents, [d_gates, d_w]);
            }
        }

        let nodes = [input_gates.node(), w_hidden.node()];
        let [input_gates, w_hidden] = [input_gates, w_hidden].map(|t| t.into_primitive());
        let (out, record) = B::conv_lstm_sequence(input_gates, w_hidden.clone());
        let out_tracked = match ConvLstmSequence
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((w_hidden, out.clone(), record.clone()), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        };
        (out_tracked, FloatTensor::<Self>::new(record))
    }

    fn conv_lstm_sequence_backward(
        _w_hidden: FloatTensor<Self>,
        _output: FloatTensor<Self>,
        _record: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: the ConvLSTM sequence's backward is not differentiable again");
    }

    fn transposed_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        geometry: ConvTranspose2dGeometry,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ConvTranspose2dOp;

        impl<B: Backend + HostOps> Backward<B, 3> for ConvTranspose2dOp {
            type State = (Primitive<B>, Primitive<B>, ConvTranspose2dGeometry);

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_weight, node_bias] =
                    ops.parents.map(|parent| parent.map(|node| node.id));
                let grad = grads.consume::<B>(&ops.node);
                let (x, weight, geometry) = ops.state;
                let (dx, dw, db) =
                    B::transposed_conv2d_backward(x, weight, grad, geometry, node_x.is_some());
                if let (Some(id), Some(dx)) = (node_x, dx) {
                    grads.register::<B>(id, dx);
                }
                register::<B, _>(grads, [node_weight, node_bias], [dw, db]);
            }
        }

        let nodes = [x.node(), weight.node(), bias.node()];
        let [x, weight, bias] = [x, weight, bias].map(|t| t.into_primitive());
        let out = B::transposed_conv2d(x.clone(), weight.clone(), bias, geometry);
        match ConvTranspose2dOp
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((x, weight, geometry), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn transposed_conv2d_backward(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
        _geometry: ConvTranspose2dGeometry,
        _input_grad: bool,
    ) -> (
        Option<FloatTensor<Self>>,
        FloatTensor<Self>,
        FloatTensor<Self>,
    ) {
        panic!("host_ops: the transposed convolution's backward is not differentiable again");
    }

    fn conv_same_add_backward(
        _x: FloatTensor<Self>,
        _weight: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
        _stride: [usize; 2],
        _input_grad: bool,
    ) -> (Option<FloatTensor<Self>>, FloatTensor<Self>) {
        panic!("host_ops: the 'same' convolution's backward is not differentiable again");
    }

    fn adam_update(
        _param: FloatTensor<Self>,
        _grad: FloatTensor<Self>,
        _moment_1: FloatTensor<Self>,
        _moment_2: FloatTensor<Self>,
        _factors: super::AdamFactors,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        panic!("host_ops: Adam updates the plain CPU device's tensors only");
    }
}
