//! Times burn's convolution against the host 'same' convolution
//! (`avad_model::host_ops::conv_same_add`) on the visual model's shapes at 96x96, one
//! image (the host path's only use) and a batch of ten (burn's path either way: the
//! wrapper falls back), the median of 100 alternating calls each.
//!
//!     cargo run --release -p avad-model --example conv_probe

use std::time::Instant;

use burn::nn::conv::Conv2dConfig;
use burn::nn::PaddingConfig2d;
use burn::tensor::{Device, Distribution, Tensor};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    avad_model::device::keep_freed_memory();
    let device = Device::flex();
    // (images, input channels, output channels, side, stride, kernel)
    let shapes = [
        (1usize, 1usize, 32usize, 96usize, 4usize, 5usize),
        (1, 32, 64, 24, 2, 5),
        (1, 64, 256, 12, 1, 3),
        (1, 32, 128, 12, 1, 3),
        (1, 64, 128, 12, 1, 3),
        (10, 64, 256, 12, 1, 3),
    ];
    for (n, c, o, side, s, k) in shapes {
        let conv = Conv2dConfig::new([c, o], [k, k])
            .with_stride([s, s])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        let x = Tensor::<4>::random(
            [n, c, side, side],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let (mut burn, mut host) = (Vec::new(), Vec::new());
        for _ in 0..100 {
            let t = Instant::now();
            std::hint::black_box(conv.forward(x.clone()).into_data());
            burn.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let y = avad_model::host_ops::conv_same_add(&conv, x.clone(), None);
            std::hint::black_box(y.into_data());
            host.push(t.elapsed().as_secs_f64());
        }
        burn.sort_by(f64::total_cmp);
        host.sort_by(f64::total_cmp);
        println!(
            "{n} x {c} x {side}x{side} -> {o}, {k}x{k} stride {s}: burn {:.3} ms, host {:.3} ms",
            burn[50] * 1e3,
            host[50] * 1e3
        );
    }
}
