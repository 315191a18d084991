use super::lstm::fast_exp;
use super::*;
use burn::module::Param;
use burn::nn::conv::Conv2dConfig;
use burn::nn::{BatchNormConfig, PaddingConfig2d};
use burn::tensor::Distribution;

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
        let r = Tensor::<4>::random([n, 1, h, w], Distribution::Uniform(-1.0, 1.0), &device);
        let x1 = data.clone().detach().require_grad();
        assert!(conv_applies(&conv, &x1));
        let y1 = conv_single_output(&conv, x1.clone());
        let g1 = (y1.clone() * r.clone()).sum().backward();
        let x2 = data.detach().require_grad();
        let y2 = conv.forward(x2.clone());
        let g2 = (y2.clone() * r).sum().backward();
        let what = format!("{n}x{c}x{h}x{w} k{k}");
        close(&values(y1), &values(y2), 1e-5, &format!("{what} output"));
        close(
            &values(x1.grad(&g1).unwrap()),
            &values(x2.grad(&g2).unwrap()),
            1e-5,
            &format!("{what} x grad"),
        );
        // The two passes share the layer's parameters: their gradients sit in g1 and g2.
        close(
            &values(conv.weight.val().grad(&g1).unwrap()),
            &values(conv.weight.val().grad(&g2).unwrap()),
            1e-5,
            &format!("{what} weight grad"),
        );
        let bias = conv.bias.as_ref().unwrap().val();
        close(
            &values(bias.grad(&g1).unwrap()),
            &values(bias.grad(&g2).unwrap()),
            1e-5,
            &format!("{what} bias grad"),
        );
    }
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

/// In training on the CPU the LeakyReLU operation gives burn's values and gradients to the
/// bit, for negative, zero and positive values.
#[test]
fn leaky_relu_is_burns_to_the_bit_with_its_gradient() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(9);
    // Large enough to be split over the cores.
    let n = 40_000;
    let mut data = values(Tensor::<1>::random(
        [n],
        Distribution::Uniform(-3.0, 3.0),
        &device,
    ));
    data[0] = 0.0;
    data[1] = -0.0;
    let weights = Tensor::<1>::random([n], Distribution::Uniform(-1.0, 1.0), &device);
    let run = |ours: bool| {
        let x = Tensor::<1>::from_floats(data.as_slice(), &device).require_grad();
        let y = if ours {
            leaky_relu(x.clone(), 0.3)
        } else {
            burn::tensor::activation::leaky_relu(x.clone(), 0.3)
        };
        let grads = (y.clone() * weights.clone()).sum().backward();
        (values(y), values(x.grad(&grads).expect("gradient")))
    };
    let (ours, theirs) = (run(true), run(false));
    for (what, a, b) in [
        ("value", &ours.0, &theirs.0),
        ("gradient", &ours.1, &theirs.1),
    ] {
        for (i, (p, q)) in a.iter().zip(b.iter()).enumerate() {
            assert_eq!(p.to_bits(), q.to_bits(), "{what} {i}: {p} vs {q}");
        }
    }
}
