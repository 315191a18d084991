//! Times forward + backward of single layers of the visual model on flex, to find where
//! a training step goes, beside the reformulations of `avad_model::fast_conv`.
//!
//!     cargo run --release -p avad-model --example layer_profile -- [frames] [side] [which]
//!
//! `which`: `all` (default), `output` (the 32 → 1 7x7 layer), `deconv` (the transposed
//! convolutions) or `rest` (the encoder convolutions, the ConvLSTMs, the batch norm and
//! LeakyReLU at full size, the sigmoid and the loss), each beside the custom operations of
//! `avad_model::host_ops` that the model trains with. "fwd+bwd" runs backward from the
//! output's sum with gradients for the input and every parameter, as in training.

use std::time::Instant;

use avad_model::{fast_conv, host_ops};
use burn::module::Module;
use burn::nn::conv::Conv2dConfig;
use burn::nn::PaddingConfig2d;
use burn::tensor::{Device, Distribution, Tensor};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn time<F: FnMut()>(name: &str, mut f: F) {
    f();
    let start = Instant::now();
    let reps = 2;
    for _ in 0..reps {
        f();
    }
    println!(
        "{name:>45}: {:.3} s",
        start.elapsed().as_secs_f64() / reps as f64
    );
}

fn main() {
    avad_model::device::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let frames: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(20);
    let side: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(240);
    let which = args.next().unwrap_or_else(|| "all".into());
    let device = Device::flex().autodiff();
    let input = |shape: [usize; 4]| {
        Tensor::<4>::random(shape, Distribution::Uniform(0.0, 1.0), &device).require_grad()
    };

    if which == "all" || which == "output" {
        let x = input([frames, 32, side, side]);
        let conv = Conv2dConfig::new([32, 1], [7, 7])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        time("output conv 32->1 7x7 fwd", || {
            let _ = conv.forward(x.clone()).sum().into_scalar::<f32>();
        });
        time("fast output conv fwd", || {
            let _ = fast_conv::conv2d_same_fast(&conv, x.clone())
                .sum()
                .into_scalar::<f32>();
        });
        time("output conv 32->1 7x7 fwd+bwd", || {
            let _ = conv.forward(x.clone()).sum().backward();
        });
        time("fast output conv fwd+bwd", || {
            let _ = fast_conv::conv2d_same_fast(&conv, x.clone())
                .sum()
                .backward();
        });
        time("host_ops output conv fwd+bwd", || {
            let _ = host_ops::conv_single_output(&conv, x.clone())
                .sum()
                .backward();
        });
        let conv = conv.clone().no_grad();
        time("output conv fwd+bwd (x grad only)", || {
            let _ = conv.forward(x.clone()).sum().backward();
        });
    }

    if which == "all" || which == "deconv" {
        for (name, c, scale, stride) in [
            ("deconv2 64->32 5x5 s4", 32, 4, 4),
            ("deconv1 64->64 5x5 s2", 64, 8, 2),
        ] {
            let x = input([frames, 64, side / scale, side / scale]);
            let deconv = avad_model::ConvTranspose2dSameConfig::new([64, c], [5, 5], [stride; 2])
                .init(&device)
                .unwrap();
            time(&format!("{name} fwd+bwd"), || {
                let _ = deconv.forward(x.clone()).sum().backward();
            });
        }
    }

    if which == "all" || which == "rest" {
        let x = input([frames, 1, side, side]);
        let conv1 = Conv2dConfig::new([1, 32], [5, 5])
            .with_stride([4, 4])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        time("conv1 1->32 5x5 s4 fwd+bwd", || {
            let _ = conv1.forward(x.clone()).sum().backward();
        });
        let x = input([frames, 32, side / 4, side / 4]);
        let conv2 = Conv2dConfig::new([32, 64], [5, 5])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        time("conv2 32->64 5x5 s2 fwd+bwd", || {
            let _ = conv2.forward(x.clone()).sum().backward();
        });
        let seq = |c: usize| {
            Tensor::<5>::random(
                [frames / 10, 10, c, side / 8, side / 8],
                Distribution::Uniform(0.0, 1.0),
                &device,
            )
            .require_grad()
        };
        for (cin, cout) in [(64, 64), (64, 32), (32, 64)] {
            let lstm = avad_model::ConvLstm2dConfig::new(cin, cout).init(&device);
            let x = seq(cin);
            time(&format!("convlstm {cin}->{cout} 3x3 fwd+bwd"), || {
                let _ = lstm.forward(x.clone()).sum().backward();
            });
        }
        let x = input([frames, 32, side, side]);
        let norm = burn::nn::BatchNormConfig::new(32).init(&device);
        // Backward from a weighted sum, so that the gradient arriving is a dense tensor as in
        // the model (the gradient of a plain sum is one broadcast value).
        let r = Tensor::<4>::random(
            [frames, 32, side, side],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        time("batch norm 32 ch full size fwd+bwd", || {
            let _ = (norm.forward(x.clone()) * r.clone()).sum().backward();
        });
        time("batch norm + leaky relu fwd+bwd", || {
            let y = burn::tensor::activation::leaky_relu(norm.forward(x.clone()), 0.3);
            let _ = (y * r.clone()).sum().backward();
        });
        time("host_ops batch norm + leaky relu fwd", || {
            let _ = host_ops::norm_leaky(&norm, x.clone(), 0.3)
                .sum()
                .into_scalar::<f32>();
        });
        time("host_ops batch norm + leaky relu fwd+bwd", || {
            let _ = (host_ops::norm_leaky(&norm, x.clone(), 0.3) * r.clone())
                .sum()
                .backward();
        });
        time("the weighted sum alone fwd+bwd", || {
            let _ = (x.clone() * r.clone()).sum().backward();
        });
        let x = input([frames, 1, side, side]);
        time("sigmoid + mse, 1 ch fwd+bwd", || {
            let y = burn::tensor::activation::sigmoid(x.clone());
            let _ = (y - x.clone().detach()).powi_scalar(2).mean().backward();
        });
    }
}
