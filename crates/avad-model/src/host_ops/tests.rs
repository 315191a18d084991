use super::lstm::{exp_reduced, fast_exp, EXP_SHIFT};
use super::*;
use burn::module::{Module, Param};
use burn::nn::conv::Conv2dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Distribution, Gradients};

fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * scale,
            "{what}[{i}]: {g} vs {w} (scale {scale})"
        );
    }
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    crate::tensor_values(t).unwrap()
}

/// Output, gradients (input, gamma, beta) and running statistics equal burn's batch
/// norm followed by LeakyReLU, for LeakyReLU and for batch norm alone, on 4-D and 5-D input.
#[test]
fn norm_leaky_equals_burns_layers() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(3);
    let (gammas, betas) = ([1.5f32, 0.5, 1.25, 0.75], [-0.2f32, 0.1, 0.0, 0.3]);
    for (shape, slope) in [(vec![3, 4, 5, 7], 0.3), (vec![2, 3, 2, 4, 9], 1.0)] {
        let c = shape[1];
        let make = || {
            let mut norm = BatchNormConfig::new(c).with_epsilon(1e-3).init(&device);
            // Other than 1 and 0, so that their gradients and use are checked.
            norm.gamma = Param::from_tensor(Tensor::from_floats(&gammas[..c], &device));
            norm.beta = Param::from_tensor(Tensor::from_floats(&betas[..c], &device));
            norm
        };
        let (ours, theirs) = (make(), make());
        let data = Tensor::<1>::random(
            [shape.iter().product::<usize>()],
            Distribution::Uniform(-2.0, 3.0),
            &device,
        );
        let weights = Tensor::<1>::random(
            [shape.iter().product::<usize>()],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        macro_rules! run {
            ($d:literal) => {{
                let dims: [usize; $d] = shape.clone().try_into().unwrap();
                let r = weights.clone().reshape(dims);
                let x1 = data.clone().reshape(dims).detach().require_grad();
                let x2 = data.clone().reshape(dims).detach().require_grad();
                let y1 = norm_leaky(&ours, x1.clone(), slope);
                let y2 = if slope == 1.0 {
                    theirs.forward(x2.clone())
                } else {
                    leaky_relu(theirs.forward(x2.clone()), slope)
                };
                close(&values(y1.clone()), &values(y2.clone()), 1e-5, "output");
                let g1 = (y1 * r.clone()).sum().backward();
                let g2 = (y2 * r).sum().backward();
                close(
                    &values(x1.grad(&g1).unwrap()),
                    &values(x2.grad(&g2).unwrap()),
                    1e-4,
                    "x grad",
                );
                close(
                    &values(ours.gamma.val().grad(&g1).unwrap()),
                    &values(theirs.gamma.val().grad(&g2).unwrap()),
                    1e-4,
                    "gamma grad",
                );
                close(
                    &values(ours.beta.val().grad(&g1).unwrap()),
                    &values(theirs.beta.val().grad(&g2).unwrap()),
                    1e-5,
                    "beta grad",
                );
            }};
        }
        if shape.len() == 4 {
            run!(4)
        } else {
            run!(5)
        }
        close(
            &values(ours.running_mean.value()),
            &values(theirs.running_mean.value()),
            1e-6,
            "running mean",
        );
        close(
            &values(ours.running_var.value()),
            &values(theirs.running_var.value()),
            1e-6,
            "running var",
        );
    }
}

/// Output and gradients (input, weight, bias) equal burn's convolution, with a width
/// that leaves a scalar tail after the SIMD blocks, and several kernels.
#[test]
fn conv_single_output_equals_burns_layer() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(4);
    for (n, c, h, w, k) in [(3, 5, 6, 21, 7), (2, 3, 9, 8, 3), (1, 2, 4, 5, 1)] {
        let conv = Conv2dConfig::new([c, 1], [k, k])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        let data = Tensor::<4>::random([n, c, h, w], Distribution::Uniform(-1.0, 1.0), &device);
        same_as_burns_layer(
            &format!("{n}x{c}x{h}x{w} k{k}"),
            data,
            |x| {
                assert!(conv_applies(&conv, &x));
                conv_single_output(&conv, x)
            },
            |x| conv.forward(x),
            conv.weight.val(),
            Some(conv.bias.as_ref().expect("a bias").val()),
        );
    }
}

/// `ours` and `theirs` on copies of `data` that need gradients: their outputs, and after
/// the same random linear loss the gradients of the input, agree within 1e-5 of their
/// scale. Returns each pass's gradients, for the parameters the two passes share.
fn same_outputs_and_input_grads<const D: usize>(
    what: &str,
    data: Tensor<D>,
    ours: impl FnOnce(Tensor<D>) -> Tensor<D>,
    theirs: impl FnOnce(Tensor<D>) -> Tensor<D>,
) -> (Gradients, Gradients) {
    let x1 = data.clone().detach().require_grad();
    let x2 = data.detach().require_grad();
    let (y1, y2) = (ours(x1.clone()), theirs(x2.clone()));
    assert_eq!(y1.dims(), y2.dims(), "{what}: output shape");
    let r = Tensor::<D>::random(y2.dims(), Distribution::Uniform(-1.0, 1.0), &y2.device());
    let g1 = (y1.clone() * r.clone()).sum().backward();
    let g2 = (y2.clone() * r).sum().backward();
    close(&values(y1), &values(y2), 1e-5, &format!("{what} output"));
    close(
        &values(x1.grad(&g1).unwrap()),
        &values(x2.grad(&g2).unwrap()),
        1e-5,
        &format!("{what} x grad"),
    );
    (g1, g2)
}

/// The gradient of the shared parameter `p` in the two passes' gradients agrees within
/// 1e-5 of its scale.
fn same_grad<const D: usize>(what: &str, p: &Tensor<D>, g1: &Gradients, g2: &Gradients) {
    close(
        &values(p.grad(g1).unwrap()),
        &values(p.grad(g2).unwrap()),
        1e-5,
        &format!("{what} grad"),
    );
}

/// `ours` and `theirs` (burn's layer) give the same outputs and gradients of the input,
/// of the layer's `weight` and of its `bias` (where it has one), within 1e-5 of their
/// scale ([`same_outputs_and_input_grads`]).
fn same_as_burns_layer<const D: usize, const W: usize>(
    what: &str,
    data: Tensor<D>,
    ours: impl FnOnce(Tensor<D>) -> Tensor<D>,
    theirs: impl FnOnce(Tensor<D>) -> Tensor<D>,
    weight: Tensor<W>,
    bias: Option<Tensor<1>>,
) {
    let (g1, g2) = same_outputs_and_input_grads(what, data, ours, theirs);
    same_grad(&format!("{what} weight"), &weight, &g1, &g2);
    if let Some(bias) = bias {
        same_grad(&format!("{what} bias"), &bias, &g1, &g2);
    }
}

/// The 1-D convolution and transposed convolution in one product per batch give burn's
/// layers' outputs and gradients (input, weight, bias): the audio model's strides and
/// 'same' paddings, an even kernel with asymmetric padding, no padding, a bias-free layer.
#[test]
fn conv1d_batched_equals_burns_layers() {
    use burn::nn::conv::{Conv1dConfig, ConvTranspose1dConfig};
    use burn::nn::PaddingConfig1d;
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(6);
    // (batch, c_in, c_out, length, kernel, stride, padding, bias)
    let cases = [
        (3, 7, 5, 16, 5, 2, PaddingConfig1d::Same, true),
        (2, 6, 9, 13, 5, 1, PaddingConfig1d::Same, true),
        (2, 4, 3, 11, 4, 3, PaddingConfig1d::Same, false),
        (1, 3, 2, 9, 3, 1, PaddingConfig1d::Valid, true),
        (2, 5, 4, 10, 9, 1, PaddingConfig1d::Explicit(3, 1), true),
        (2, 3, 2, 3, 9, 1, PaddingConfig1d::Same, true),
        (1, 2, 3, 2, 5, 2, PaddingConfig1d::Same, true),
    ];
    for (n, ci, co, len, k, stride, padding, bias) in cases {
        let conv = Conv1dConfig::new(ci, co, k)
            .with_stride(stride)
            .with_padding(padding.clone())
            .with_bias(bias)
            .init(&device);
        let data = Tensor::<3>::random([n, ci, len], Distribution::Uniform(-1.0, 1.0), &device);
        same_as_burns_layer(
            &format!("conv1d {n}x{ci}x{len} -> {co}, k{k} s{stride} {padding:?}"),
            data,
            |x| {
                assert!(conv1d_applies(&x, conv.dilation, conv.groups));
                conv1d(&conv, x)
            },
            |x| conv.forward(x),
            conv.weight.val(),
            conv.bias.as_ref().map(|b| b.val()),
        );

        // The transposed layer as the audio decoder builds it: padding (k - 1) / 2, output
        // padding stride - 1, so the length is multiplied by the stride.
        let deconv = ConvTranspose1dConfig::new([ci, co], k)
            .with_stride(stride)
            .with_padding((k - 1) / 2)
            .with_padding_out(stride - 1)
            .with_bias(bias)
            .init(&device);
        let data = Tensor::<3>::random([n, ci, len], Distribution::Uniform(-1.0, 1.0), &device);
        same_as_burns_layer(
            &format!("conv_transpose1d {n}x{ci}x{len} -> {co}, k{k} s{stride}"),
            data,
            |x| {
                assert!(conv1d_applies(&x, deconv.dilation, deconv.groups));
                conv_transpose1d(&deconv, x)
            },
            |x| deconv.forward(x),
            deconv.weight.val(),
            deconv.bias.as_ref().map(|b| b.val()),
        );
    }
}

/// The logistic function and its gradient equal burn's sigmoid within the exponential's
/// few ulp, from far negative to far positive, on both sides of the threads' split.
#[test]
fn logistic_equals_burns_sigmoid() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(8);
    for n in [37usize, 100_000] {
        let data = Tensor::<1>::random([n], Distribution::Uniform(-30.0, 30.0), &device);
        let r = Tensor::<1>::random([n], Distribution::Uniform(-1.0, 1.0), &device);
        let x1 = data.clone().detach().require_grad();
        let x2 = data.detach().require_grad();
        let (y1, y2) = (logistic(x1.clone()), sigmoid(x2.clone()));
        let g1 = (y1.clone() * r.clone()).sum().backward();
        let g2 = (y2.clone() * r).sum().backward();
        close(&values(y1), &values(y2), 1e-6, &format!("{n} values"));
        close(
            &values(x1.grad(&g1).unwrap()),
            &values(x2.grad(&g2).unwrap()),
            1e-6,
            &format!("{n} values' gradient"),
        );
    }
}

/// The exponent 2^n comes from the rounding sum's bits: the same number, to the bit, as the
/// float-to-int cast it replaced, over the whole clamped range and beyond it; NaN stays NaN.
#[test]
fn fast_exp_scale_from_bits_equals_the_cast() {
    // The same reduction and polynomial; 2^n by the cast the bits replaced.
    fn by_cast(x: f32) -> f32 {
        let (e, shifted) = exp_reduced(x);
        let n = shifted - EXP_SHIFT;
        e * f32::from_bits(((n as i32 + 127) as u32) << 23)
    }
    let mut x = -120.0f32;
    while x < 120.0 {
        assert_eq!(fast_exp(x).to_bits(), by_cast(x).to_bits(), "exp({x})");
        x += 0.001_37;
    }
    assert!(fast_exp(f32::NAN).is_nan());
}

/// Hidden and cell states, and the gradients for the gates and the previous cell
/// (through both outputs), equal burn's operations; the fast exp against the exact one.
#[test]
fn lstm_cell_equals_burns_operations() {
    let _rng = crate::fixtures::rng_lock();
    // Below -87.3 it saturates at e^-87.3 (a normal float, about 1e-38).
    assert!(fast_exp(-100.0) > 0.0 && fast_exp(-100.0) <= 1.01 * (-87.3f32).exp());
    for x in [-87.0f32, -20.0, -3.3, -0.5, 0.0, 1e-3, 0.7, 5.0, 30.0, 87.0] {
        let (got, want) = (fast_exp(x), x.exp());
        assert!(
            (got - want).abs() <= 4.0 * f32::EPSILON * want,
            "exp({x}): {got} vs {want}"
        );
    }
    let device = Device::flex().autodiff();
    device.seed(5);
    let (b, h, side) = (2, 3, 5);
    let gates = Tensor::<4>::random(
        [b, 4 * h, side, side + 1],
        Distribution::Uniform(-4.0, 4.0),
        &device,
    );
    let cell = Tensor::<4>::random(
        [b, h, side, side + 1],
        Distribution::Uniform(-2.0, 2.0),
        &device,
    );
    let rh = Tensor::<4>::random(
        [b, h, side, side + 1],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let rc = Tensor::<4>::random(
        [b, h, side, side + 1],
        Distribution::Uniform(-1.0, 1.0),
        &device,
    );
    let run = |fused: bool| {
        let (g, c) = (
            gates.clone().detach().require_grad(),
            cell.clone().detach().require_grad(),
        );
        let (hidden, next) = if fused {
            lstm_cell(g.clone(), c.clone())
        } else {
            let gate = |k: usize| g.clone().narrow(1, k * h, h);
            let next = sigmoid(gate(1)) * c.clone() + sigmoid(gate(0)) * tanh(gate(2));
            (sigmoid(gate(3)) * tanh(next.clone()), next)
        };
        let grads = (hidden.clone() * rh.clone() + next.clone() * rc.clone())
            .sum()
            .backward();
        (
            values(hidden),
            values(next),
            values(g.grad(&grads).unwrap()),
            values(c.grad(&grads).unwrap()),
        )
    };
    let (ours, theirs) = (run(true), run(false));
    close(&ours.0, &theirs.0, 1e-5, "hidden");
    close(&ours.1, &theirs.1, 1e-5, "cell");
    close(&ours.2, &theirs.2, 1e-5, "gates grad");
    close(&ours.3, &theirs.3, 1e-5, "cell grad");
}

/// Without autodiff (scoring) both functions are burn's layers, bit for bit.
#[test]
fn inference_keeps_burns_layers() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex();
    let conv = Conv2dConfig::new([3, 1], [3, 3])
        .with_padding(PaddingConfig2d::Same)
        .init(&device);
    let x = Tensor::<4>::random([2, 3, 5, 6], Distribution::Uniform(-1.0, 1.0), &device);
    assert!(!conv_applies(&conv, &x));
    assert_eq!(
        values(conv_single_output(&conv, x.clone())),
        values(conv.forward(x.clone()))
    );
    let norm = BatchNormConfig::new(3).init(&device);
    assert_eq!(
        values(norm_leaky(&norm, x.clone(), 0.3)),
        values(leaky_relu(norm.forward(x), 0.3))
    );
}

/// In inference on the CPU, the one-pass batch norm (and LeakyReLU) gives burn's layers'
/// output to the bit: trained running statistics, gamma and beta, with and without the
/// LeakyReLU, 3-, 4- and 5-D input, planes large enough for the host pass.
#[test]
fn inference_norm_leaky_is_burns_to_the_bit() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex();
    device.seed(5);
    for (shape, slope) in [
        (vec![2, 3, 80], 0.3),
        (vec![3, 4, 9, 11], 1.0),
        (vec![3, 4, 9, 11], 0.3),
        (vec![2, 3, 2, 8, 9], 0.01),
    ] {
        let c = shape[1];
        let mut norm = BatchNormConfig::new(c).with_epsilon(1e-3).init(&device);
        let channel =
            |lo: f64, hi: f64| Tensor::<1>::random([c], Distribution::Uniform(lo, hi), &device);
        norm.gamma = Param::from_tensor(channel(0.5, 1.5));
        norm.beta = Param::from_tensor(channel(-0.3, 0.3));
        norm.running_mean = burn::module::RunningState::new(channel(-0.5, 0.5));
        norm.running_var = burn::module::RunningState::new(channel(0.01, 2.0));
        let n: usize = shape.iter().product();
        let data = Tensor::<1>::random([n], Distribution::Uniform(-2.0, 3.0), &device);
        macro_rules! run {
            ($d:literal) => {{
                let dims: [usize; $d] = shape.clone().try_into().unwrap();
                let x = data.clone().reshape(dims);
                assert!(infers_on_host(&device, &x));
                let ours = values(norm_leaky(&norm, x.clone(), slope));
                let theirs = norm.forward(x);
                let theirs = values(if slope == 1.0 {
                    theirs
                } else {
                    leaky_relu(theirs, slope)
                });
                (ours, theirs)
            }};
        }
        let (ours, theirs) = match shape.len() {
            3 => run!(3),
            4 => run!(4),
            _ => run!(5),
        };
        assert_eq!(ours.len(), theirs.len());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{shape:?} slope {slope}, value {i}: {a} vs {b}"
            );
        }
    }
}

/// The dense block equals burn's dense layer, LeakyReLU and batch norm: in training its
/// output, the gradients of the input and of all five parameters, and the running
/// statistics; in inference its output. Shapes on both sides of the threads' threshold.
#[test]
fn dense_block_equals_burns_layers() {
    use burn::nn::LinearConfig;
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(11);
    for (n, i, o) in [(7, 3, 5), (256, 256, 512)] {
        let linear = LinearConfig::new(i, o).init(&device);
        let make_norm = || {
            let mut norm = BatchNormConfig::new(o).with_epsilon(1e-3).init(&device);
            let g = Tensor::<1>::random([o], Distribution::Uniform(0.5, 1.5), &device);
            let b = Tensor::<1>::random([o], Distribution::Uniform(-0.5, 0.5), &device);
            norm.gamma = Param::from_tensor(g);
            norm.beta = Param::from_tensor(b);
            norm
        };
        let norm = make_norm();
        let theirs_norm = norm.clone();
        let data = Tensor::<2>::random([n, i], Distribution::Uniform(-2.0, 3.0), &device);
        let r = Tensor::<2>::random([n, o], Distribution::Uniform(-1.0, 1.0), &device);
        let x1 = data.clone().detach().require_grad();
        let y1 = dense_block(&linear, &norm, x1.clone(), 0.3);
        let g1 = (y1.clone() * r.clone()).sum().backward();
        let x2 = data.clone().detach().require_grad();
        let y2 = theirs_norm.forward(leaky_relu(linear.forward(x2.clone()), 0.3));
        let g2 = (y2.clone() * r).sum().backward();
        let what = format!("{n}x{i}->{o}");
        close(&values(y1), &values(y2), 1e-5, &format!("{what} output"));
        close(
            &values(x1.grad(&g1).unwrap()),
            &values(x2.grad(&g2).unwrap()),
            1e-4,
            &format!("{what} x grad"),
        );
        let grad_of = |t: Tensor<1>, g| values(t.grad(g).unwrap());
        let weight = linear.weight.val();
        close(
            &values(weight.grad(&g1).unwrap()),
            &values(weight.grad(&g2).unwrap()),
            1e-4,
            &format!("{what} weight grad"),
        );
        let bias = linear.bias.as_ref().unwrap().val();
        for (ours, theirs, name) in [
            (bias.clone(), bias, "bias"),
            (norm.gamma.val(), theirs_norm.gamma.val(), "gamma"),
            (norm.beta.val(), theirs_norm.beta.val(), "beta"),
        ] {
            close(
                &grad_of(ours, &g1),
                &grad_of(theirs, &g2),
                1e-4,
                &format!("{what} {name} grad"),
            );
        }
        close(
            &values(norm.running_mean.value()),
            &values(theirs_norm.running_mean.value()),
            1e-6,
            &format!("{what} running mean"),
        );
        close(
            &values(norm.running_var.value()),
            &values(theirs_norm.running_var.value()),
            1e-6,
            &format!("{what} running var"),
        );
        // Inference, on the plain device, with the running statistics just updated.
        let plain = Device::flex();
        let (linear, norm) = (linear.valid(), norm.valid());
        let x = data.inner();
        let ours = dense_block(&linear, &norm, x.clone(), 0.3);
        let theirs = norm.forward(leaky_relu(linear.forward(x), 0.3));
        assert_eq!(ours.device(), plain);
        close(
            &values(ours),
            &values(theirs),
            1e-5,
            &format!("{what} inference"),
        );
    }
}

/// The inference 'same' convolution equals burn's layer plus the base: one image large
/// enough to split its output channels over the threads, small ones on the calling thread,
/// a batch (burn's path); square, oblong and even kernels, strides 1, 2 and 4 on sides
/// they divide and do not, with and without a bias, a base and a view of a larger tensor
/// as the base.
#[test]
fn conv_same_add_equals_burns_layer() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex();
    device.seed(12);
    let cases = [
        (1, 64, 256, [12, 12], [3, 3], 1, true, true),
        (10, 64, 256, [12, 12], [3, 3], 1, true, false),
        (1, 5, 7, [6, 9], [3, 5], 1, false, true),
        (1, 4, 6, [5, 4], [1, 3], 1, true, true),
        (1, 3, 4, [2, 3], [5, 5], 1, false, false),
        (1, 1, 32, [96, 96], [5, 5], 4, true, false),
        (1, 32, 64, [24, 24], [5, 5], 2, true, false),
        (1, 3, 5, [11, 7], [5, 3], 2, true, true),
        (1, 2, 3, [9, 10], [4, 2], 4, true, false),
    ];
    for (n, c, o, [h, w], k, s, bias, base) in cases {
        let conv = Conv2dConfig::new([c, o], k)
            .with_stride([s, s])
            .with_padding(PaddingConfig2d::Same)
            .with_bias(bias)
            .init(&device);
        let x = Tensor::<4>::random([n, c, h, w], Distribution::Uniform(-1.0, 1.0), &device);
        let (oh, ow) = (h.div_ceil(s), w.div_ceil(s));
        // A base that is a view: one step of a longer sequence, as the ConvLSTM passes it.
        let base = base.then(|| {
            Tensor::<5>::random([n, 3, o, oh, ow], Distribution::Uniform(-1.0, 1.0), &device)
                .narrow(1, 1, 1)
                .reshape([n, o, oh, ow])
        });
        let ours = conv_same_add(&conv, x.clone(), base.clone());
        let theirs = match base {
            Some(b) => b + conv.forward(x),
            None => conv.forward(x),
        };
        let what = format!("{n}x{c}x{h}x{w} -> {o}, kernel {k:?}, stride {s}");
        assert_eq!(ours.dims(), theirs.dims(), "{what}");
        close(&values(ours), &values(theirs), 1e-5, &what);
    }
}

/// In training the 'same' convolution added to a base gives burn's layer plus the base,
/// and their gradients (input, weight, bias): the ConvLSTMs' 3x3 convolutions over a batch
/// of steps and over one step, with and without a bias, and oblong, even and strided
/// kernels on sides they divide and do not.
#[test]
fn conv_same_add_trains_as_burns_layer() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(13);
    // (batch, c, o, [h, w], kernel, stride, bias, base)
    let cases = [
        (
            20usize,
            64usize,
            256usize,
            [12usize, 12],
            [3, 3],
            1usize,
            true,
            false,
        ),
        (2, 64, 256, [12, 12], [3, 3], 1, false, true),
        (2, 32, 128, [12, 12], [3, 3], 1, false, true),
        (3, 5, 7, [6, 9], [3, 5], 1, true, true),
        (2, 4, 6, [5, 4], [1, 3], 1, false, false),
        (2, 3, 4, [2, 3], [5, 5], 1, true, false),
        (2, 3, 5, [11, 7], [5, 3], 2, true, true),
        (3, 2, 3, [9, 10], [4, 2], 4, true, false),
    ];
    for (n, c, o, [h, w], k, s, bias, base) in cases {
        let conv = Conv2dConfig::new([c, o], k)
            .with_stride([s, s])
            .with_padding(PaddingConfig2d::Same)
            .with_bias(bias)
            .init(&device);
        let (oh, ow) = (h.div_ceil(s), w.div_ceil(s));
        let base = base.then(|| {
            Tensor::<4>::random([n, o, oh, ow], Distribution::Uniform(-1.0, 1.0), &device)
                .require_grad()
        });
        let data = Tensor::<4>::random([n, c, h, w], Distribution::Uniform(-1.0, 1.0), &device);
        let what = format!("{n}x{c}x{h}x{w} -> {o}, kernel {k:?}, stride {s}");
        let (b1, b2) = (base.clone(), base.clone());
        same_as_burns_layer(
            &what,
            data,
            |x| conv_same_add(&conv, x, b1),
            |x| match b2 {
                Some(b) => b + conv.forward(x),
                None => conv.forward(x),
            },
            conv.weight.val(),
            conv.bias.as_ref().map(|b| b.val()),
        );
        // The base's gradient is the output's.
        if let Some(base) = base {
            let r = Tensor::<4>::random([n, o, oh, ow], Distribution::Uniform(-1.0, 1.0), &device);
            let y = conv_same_add(
                &conv,
                Tensor::zeros([n, c, h, w], &device),
                Some(base.clone()),
            );
            let g = (y * r.clone()).sum().backward();
            close(
                &values(base.grad(&g).unwrap()),
                &values(r),
                0.0,
                &format!("{what} base grad"),
            );
        }
    }
}

/// A ConvLSTM's recurrence as one training operation gives the step-by-step path's
/// hidden states and gradients (input, both convolutions' weights, the bias): the visual
/// model's three layers at 12x12, and small odd shapes with one and two steps.
#[test]
fn conv_lstm_sequence_equals_the_steps() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(14);
    // (batch, steps, input channels, hidden channels, [y, x])
    let cases = [
        (2usize, 10usize, 64usize, 64usize, [12usize, 12]),
        (2, 10, 64, 32, [12, 12]),
        (2, 10, 32, 64, [12, 12]),
        (3, 4, 5, 3, [5, 7]),
        (1, 2, 2, 4, [3, 2]),
        (2, 1, 3, 2, [4, 4]),
    ];
    for (n, steps, c, h, [y, x]) in cases {
        let layer = crate::ConvLstm2dConfig::new(c, h).init(&device);
        let data = Tensor::<5>::random(
            [n, steps, c, y, x],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let what = format!("ConvLSTM {n}x{steps}x{c}x{y}x{x} -> {h}");
        let (g1, g2) = same_outputs_and_input_grads(
            &what,
            data,
            |x| layer.forward(x),
            |x| layer.forward_with_state(x, None).0,
        );
        let params = [
            ("input weight", layer.input_conv.weight.val()),
            ("hidden weight", layer.hidden_conv.weight.val()),
        ];
        for (name, p) in params {
            // With one step the state-to-state convolution is never used: the step path
            // gives it no gradient, the sequence a zero one.
            let want = p
                .grad(&g2)
                .map_or_else(|| vec![0.0; p.dims().iter().product()], values);
            close(
                &values(p.grad(&g1).unwrap()),
                &want,
                1e-5,
                &format!("{what} {name} grad"),
            );
        }
        let bias = layer.input_conv.bias.as_ref().unwrap().val();
        same_grad(&format!("{what} bias"), &bias, &g1, &g2);
    }
}

/// The transposed convolution in training gives burn's layer's output and gradients
/// (input, weight, bias): the visual decoder's two layers (5x5, stride 2 padded by 1 and
/// stride 4 unpadded) at 96x96's sizes, and small odd ones: an oblong kernel, an output
/// padding, a kernel smaller than its stride, no bias.
#[test]
fn conv_transpose2d_equals_burns_layer() {
    use burn::nn::conv::ConvTranspose2dConfig;
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(15);
    // (batch, c, o, [h, w], kernel, stride, padding, padding_out, bias)
    type Case = (
        usize,
        usize,
        usize,
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        [usize; 2],
        bool,
    );
    let cases: [Case; 5] = [
        (4, 64, 64, [12, 12], [5, 5], [2, 2], [1, 1], [0, 0], true),
        (3, 64, 32, [24, 24], [5, 5], [4, 4], [0, 0], [0, 0], true),
        (2, 3, 5, [4, 7], [3, 5], [2, 3], [1, 2], [1, 0], true),
        (2, 2, 3, [3, 3], [2, 2], [3, 3], [0, 0], [0, 0], false),
        (1, 4, 2, [5, 1], [3, 3], [1, 1], [1, 1], [0, 0], true),
    ];
    for (n, c, o, [h, w], k, stride, padding, padding_out, bias) in cases {
        let conv = ConvTranspose2dConfig::new([c, o], k)
            .with_stride(stride)
            .with_padding(padding)
            .with_padding_out(padding_out)
            .with_bias(bias)
            .init(&device);
        let data = Tensor::<4>::random([n, c, h, w], Distribution::Uniform(-1.0, 1.0), &device);
        same_as_burns_layer(
            &format!("conv_transpose2d {n}x{c}x{h}x{w} -> {o}, k{k:?} s{stride:?} p{padding:?}"),
            data,
            |x| conv_transpose2d(&conv, x),
            |x| conv.forward(x),
            conv.weight.val(),
            conv.bias.as_ref().map(|b| b.val()),
        );
    }
}
