//! Whether K streams' visual windows are scored faster as one batched forward pass than as
//! K single-window passes on K threads (what K detectors in one worker do), at the
//! default `cpu` preset's frame size.
//!
//!     cargo run --release -p avad-model --example window_batch -- [side] [windows] [rounds]
//!
//! For K = 1, 2, 4 it prints windows per second both ways, the median of `rounds`
//! alternating rounds, each scoring `windows` windows per stream.

use std::time::Instant;

use avad_model::VisualAutoencoderConfig;
use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    avad_model::device::keep_freed_memory();
    let mut args = std::env::args().skip(1);
    let side: usize = args.next().map_or(96, |a| a.parse().expect("side"));
    let windows: usize = args.next().map_or(20, |a| a.parse().expect("windows"));
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("rounds"));
    let device = Device::flex();
    let model = VisualAutoencoderConfig::new()
        .init(&device)
        .expect("model")
        .valid();
    let window = |b: usize| {
        Tensor::<5>::random(
            [b, 10, 1, side, side],
            Distribution::Uniform(0.0, 1.0),
            &device,
        )
    };
    let forward = |x: Tensor<5>| {
        let _ = model
            .forward(x)
            .expect("forward")
            .sum()
            .into_scalar::<f32>();
    };
    forward(window(1)); // warm-up
    println!("windows/s at {side}x{side}, {windows} windows per stream, median of {rounds} alternating rounds");
    println!(
        "| streams K | K threads, one window each | one pass of K windows | batched / threads |"
    );
    println!("|---:|---:|---:|---:|");
    for k in [1usize, 2, 4] {
        let (mut threads, mut batched) = (Vec::new(), Vec::new());
        let (one, many) = (window(1), window(k));
        for _ in 0..rounds {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..k {
                    s.spawn(|| {
                        for _ in 0..windows {
                            forward(one.clone());
                        }
                    });
                }
            });
            threads.push((k * windows) as f64 / start.elapsed().as_secs_f64());
            let start = Instant::now();
            for _ in 0..windows {
                forward(many.clone());
            }
            batched.push((k * windows) as f64 / start.elapsed().as_secs_f64());
        }
        let (t, b) = (median(threads), median(batched));
        println!("| {k} | {t:.1} | {b:.1} | {:.2}x |", b / t);
    }
}
