//! Times forward + backward of single layers of the visual model on flex, to find where
//! a training step goes, beside the reformulations of `avad_model::fast_conv`.
//!
//!     cargo run --release -p avad-model --example layer_profile -- [frames] [side] [which]
//!
//! `which`: `all` (default), `output` (the 32 → 1 7x7 layer) or `deconv` (the transposed
//! convolutions). "fwd+bwd" runs backward from the output's sum with gradients for the
//! input and every parameter, as in training.

use std::time::Instant;

use avad_model::fast_conv;
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
    println!("{name:>45}: {:.3} s", start.elapsed().as_secs_f64() / reps as f64);
}

fn main() {
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
            let _ = fast_conv::conv2d_same_fast(&conv, x.clone()).sum().into_scalar::<f32>();
        });
        time("output conv 32->1 7x7 fwd+bwd", || {
            let _ = conv.forward(x.clone()).sum().backward();
        });
        time("fast output conv fwd+bwd", || {
            let _ = fast_conv::conv2d_same_fast(&conv, x.clone()).sum().backward();
        });
        for block in [2, 4] {
            if side % block == 0 {
                time(&format!("blocked b{block} output conv fwd+bwd"), || {
                    let _ = fast_conv::conv2d_same_blocked(&conv, x.clone(), block).sum().backward();
                });
            }
        }
        let conv = conv.clone().no_grad();
        time("output conv fwd+bwd (x grad only)", || {
            let _ = conv.forward(x.clone()).sum().backward();
        });
    }

    if which == "pieces" {
        let dev = Device::flex();
        let x = Tensor::<4>::random([frames, 64, side / 4, side / 4], Distribution::Uniform(0.0, 1.0), &dev);
        let h = side / 4;
        let taps = Tensor::<3>::random([1, 800, 64], Distribution::Uniform(0.0, 1.0), &dev);
        time("matmul [1,800,64]x[n,64,hw]", || {
            let _ = taps.clone().matmul(x.clone().reshape([frames, 64, h * h])).sum().into_scalar::<f32>();
        });
        let z = taps.clone().matmul(x.clone().reshape([frames, 64, h * h])).reshape([frames * 32, 5, 5, h, h]);
        time("narrow u 0..4 + sum", || {
            let _ = z.clone().narrow(1, 0, 4).sum().into_scalar::<f32>();
        });
        time("narrow u 4 + pad r", || {
            let _ = z.clone().narrow(1, 4, 1).pad([(0, 0), (0, 3), (0, 0), (0, 0), (0, 0)], burn::tensor::ops::PadMode::Constant(0.0)).sum().into_scalar::<f32>();
        });
        let a = z.clone().narrow(1, 0, 4);
        time("add narrowed + narrowed", || {
            let _ = (a.clone() + a.clone()).sum().into_scalar::<f32>();
        });
        time("contiguous narrowed (a*1)", || {
            let _ = (a.clone() * 1.0).sum().into_scalar::<f32>();
        });
        time("sum z", || {
            let _ = z.clone().sum().into_scalar::<f32>();
        });
        time("shift I: narrow+pad", || {
            let _ = a.clone().narrow(3, 0, h - 1).pad([(0, 0), (0, 0), (0, 0), (1, 0), (0, 0)], burn::tensor::ops::PadMode::Constant(0.0)).sum().into_scalar::<f32>();
        });
        let y = Tensor::<4>::random([frames, 32 * 16, h, h], Distribution::Uniform(0.0, 1.0), &dev);
        time("depth_to_space permute", || {
            let _ = y.clone().reshape([frames, 32, 4, 4, h, h]).permute([0, 1, 4, 2, 5, 3]).reshape([frames, 32, h * 4, h * 4]).sum().into_scalar::<f32>();
        });
    }

    if which == "all" || which == "deconv" {
        for (name, c, scale, stride) in [("deconv2 64->32 5x5 s4", 32, 4, 4), ("deconv1 64->64 5x5 s2", 64, 8, 2)] {
            let x = input([frames, 64, side / scale, side / scale]);
            let deconv = avad_model::ConvTranspose2dSameConfig::new([64, c], [5, 5], [stride; 2])
                .init(&device)
                .unwrap();
            time(&format!("{name} fwd+bwd"), || {
                let _ = deconv.forward(x.clone()).sum().backward();
            });
            time(&format!("fast {name} fwd+bwd"), || {
                let _ = fast_conv::conv_transpose_same_fast(&deconv, x.clone()).sum().backward();
            });
            time(&format!("subpixel {name} fwd+bwd"), || {
                let _ = fast_conv::conv_transpose_same_subpixel(&deconv, x.clone()).sum().backward();
            });
        }
    }
}
