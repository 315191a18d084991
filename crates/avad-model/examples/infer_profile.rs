//! Times each stage of the visual model's inference on one window (validation mode, the
//! plain CPU device), as `avad watch` runs it, to find where a live window's time goes.
//!
//!     cargo run --release -p avad-model --example infer_profile -- [side] [reps] [output]
//!
//! `output`: `host` (default, as the model runs: layer 7's batch norm and LeakyReLU inside
//! the output layer, `avad_model::host_conv`) or `burn` (the batch norm on its own, then
//! the output layer through burn's operations, `fast_conv`), to compare the two.

use std::time::Instant;

use avad_model::fast_conv::conv2d_same_fast;
use avad_model::host_ops::norm_leaky;
use avad_model::VisualAutoencoderConfig;
use burn::module::Module;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Distribution, Tensor};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    avad_model::device::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let side: usize = args.next().map(|a| a.parse().expect("side")).unwrap_or(96);
    let reps: usize = args.next().map(|a| a.parse().expect("reps")).unwrap_or(20);
    let host = args.next().is_none_or(|a| a != "burn");
    let device = Device::flex();
    let model = VisualAutoencoderConfig::new()
        .init(&device)
        .expect("model")
        .valid();
    let input = Tensor::<5>::random(
        [1, 10, 1, side, side],
        Distribution::Uniform(0.0, 1.0),
        &device,
    );
    let mut names = vec![
        "conv1+bn+lrelu",
        "conv2+bn",
        "convlstm1+bn",
        "convlstm2+bn",
        "convlstm3+bn",
        "deconv1+bn",
        "deconv2",
    ];
    if host {
        names.push("bn7+lrelu+output+sigmoid");
    } else {
        names.extend(["bn7+lrelu", "output+sigmoid"]);
    }
    names.push("read back");
    let mut totals = vec![0.0f64; names.len()];
    let mut whole = 0.0;
    for rep in 0..=reps {
        let mut t = Instant::now();
        let mut times = Vec::new();
        let lap = |x: &Tensor<4>, times: &mut Vec<f64>, t: &mut Instant| {
            let _ = x.clone().slice([0..1, 0..1, 0..1, 0..1]).into_data();
            times.push(t.elapsed().as_secs_f64());
            *t = Instant::now();
        };
        let start = Instant::now();
        let x = input.clone().reshape([10, 1, side, side]);
        let x = norm_leaky(&model.norm1, model.conv1.forward(x), 0.3);
        lap(&x, &mut times, &mut t);
        let x = norm_leaky(&model.norm2, model.conv2.forward(x), 1.0);
        lap(&x, &mut times, &mut t);
        let [_, c, h, w] = x.dims();
        let mut seq = x.reshape([1, 10, c, h, w]);
        for (lstm, norm) in [
            (&model.convlstm1, &model.norm3),
            (&model.convlstm2, &model.norm4),
            (&model.convlstm3, &model.norm5),
        ] {
            let y = lstm.forward(seq);
            let [_, _, c, h, w] = y.dims();
            let y = norm_leaky(norm, y.reshape([10, c, h, w]), 1.0);
            lap(&y, &mut times, &mut t);
            seq = y.reshape([1, 10, c, h, w]);
        }
        let [_, _, c, h, w] = seq.dims();
        let x = norm_leaky(
            &model.norm6,
            model.deconv1.forward(seq.reshape([10, c, h, w])),
            1.0,
        );
        lap(&x, &mut times, &mut t);
        let (x, size) = model.deconv2.forward_uncropped(x);
        lap(&x, &mut times, &mut t);
        let x = if host {
            model.head_cropped(x, size).expect("output conv")
        } else {
            let x = x.narrow(2, 0, size[0]).narrow(3, 0, size[1]);
            let x = norm_leaky(&model.norm7, x, model.leaky_relu_slope);
            lap(&x, &mut times, &mut t);
            conv2d_same_fast(&model.output, x)
        };
        let x = sigmoid(x);
        lap(&x, &mut times, &mut t);
        let _ = x.into_data();
        times.push(t.elapsed().as_secs_f64());
        if rep > 0 {
            whole += start.elapsed().as_secs_f64();
            for (a, b) in totals.iter_mut().zip(&times) {
                *a += b;
            }
        }
    }
    let output = if host { "host" } else { "burn" };
    println!("visual model inference, one window of 10 frames at {side}x{side}, mean of {reps}, output conv on {output}:");
    for (n, t) in names.iter().zip(&totals) {
        println!("  {n:>20}: {:7.2} ms", 1e3 * t / reps as f64);
    }
    println!(
        "  {:>20}: {:7.2} ms ({:.0} frames/s at one window per 10 frames)",
        "whole",
        1e3 * whole / reps as f64,
        10.0 * reps as f64 / whole
    );
}
