//! Times forward + backward of single layers of the visual model on flex, to find where
//! a training step goes.
//!
//!     cargo run --release -p avad-model --example layer_profile -- [frames] [side]

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
    println!("{name:>40}: {:.3} s", start.elapsed().as_secs_f64() / reps as f64);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let frames: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(20);
    let side: usize = args.next().map(|a| a.parse().unwrap()).unwrap_or(240);
    let device = Device::flex().autodiff();
    let x = Tensor::<4>::random([frames, 32, side, side], Distribution::Uniform(0.0, 1.0), &device).require_grad();
    let conv = Conv2dConfig::new([32, 1], [7, 7]).with_padding(PaddingConfig2d::Same).init(&device);
    time("output conv 32->1 7x7 fwd", || {
        let _ = conv.forward(x.clone()).sum().into_scalar::<f32>();
    });
    time("output conv 32->1 7x7 fwd+bwd (all grads)", || {
        let _ = conv.forward(x.clone()).sum().backward();
    });
    time("fast output conv fwd", || {
        let _ = fast_conv::conv2d_same_fast(&conv, x.clone()).sum().into_scalar::<f32>();
    });
    time("fast output conv fwd+bwd", || {
        let _ = fast_conv::conv2d_same_fast(&conv, x.clone()).sum().backward();
    });
    time("skew output conv fwd", || {
        let _ = fast_conv::conv2d_same_skew(&conv, x.clone()).sum().into_scalar::<f32>();
    });
    time("skew output conv fwd+bwd", || {
        let _ = fast_conv::conv2d_same_skew(&conv, x.clone()).sum().backward();
    });
    if std::env::var("ONLY_SKEW").is_ok() { return; }
    for block in [2, 4, 8] {
        if side % block == 0 {
            time(&format!("blocked b{block} output conv fwd+bwd"), || {
                let _ = fast_conv::conv2d_same_blocked(&conv, x.clone(), block).sum().backward();
            });
        }
    }
    let conv = conv.clone().no_grad();
    let xg = x.clone().require_grad();
    time("output conv 32->1 7x7 fwd+bwd (x grad only)", || {
        let _ = conv.forward(xg.clone()).sum().backward();
    });
    let x = Tensor::<4>::random([frames, 64, side / 4, side / 4], Distribution::Uniform(0.0, 1.0), &device).require_grad();
    let deconv = avad_model::ConvTranspose2dSameConfig::new([64, 32], [5, 5], [4, 4]).init(&device).unwrap();
    time("deconv 64->32 5x5 s4 fwd+bwd", || {
        let _ = deconv.forward(x.clone()).sum().backward();
    });
    time("fast deconv 64->32 5x5 s4 fwd+bwd", || {
        let _ = fast_conv::conv_transpose_same_fast(&deconv, x.clone()).sum().backward();
    });
    let x = Tensor::<4>::random([frames, 64, side / 8, side / 8], Distribution::Uniform(0.0, 1.0), &device).require_grad();
    let deconv = avad_model::ConvTranspose2dSameConfig::new([64, 64], [5, 5], [2, 2]).init(&device).unwrap();
    time("deconv1 64->64 5x5 s2 fwd+bwd", || {
        let _ = deconv.forward(x.clone()).sum().backward();
    });
    time("fast deconv1 64->64 5x5 s2 fwd+bwd", || {
        let _ = fast_conv::conv_transpose_same_fast(&deconv, x.clone()).sum().backward();
    });
}
