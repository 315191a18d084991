//! Times the visual autoencoder (Table 3) on the flex CPU backend: one training step
//! (forward, MSE, backward, Adam) on a batch of 2 x 10 x 240x240, and one inference
//! forward of a single sequence, the same work as
//! `python3 /work/shared/bench/torch_reference.py --model visual` (see compare_torch.sh).
//!
//!     cargo bench -p avad-model --bench visual_step -- [--steps N] [--size S] [--batch B]
//!
//! Prints one JSON line last, with the keys of the PyTorch reference: median seconds after
//! one warm-up step.

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use avad_model::{VisualAutoencoder, VisualAutoencoderConfig};
use burn::module::Module;
use burn::nn::loss::{MseLoss, Reduction};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};

struct Args {
    steps: usize,
    size: usize,
    batch: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        steps: 4,
        size: 240,
        batch: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let target = match flag.as_str() {
            "--steps" => &mut args.steps,
            "--size" => &mut args.size,
            "--batch" => &mut args.batch,
            // cargo bench passes --bench to harness=false targets.
            "--bench" => continue,
            other => return Err(format!("unknown argument {other}")),
        };
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        *target = value.parse().map_err(|e| format!("{flag} {value}: {e}"))?;
    }
    if args.steps == 0 || args.batch == 0 || args.size == 0 || args.size % 8 != 0 {
        return Err("--steps and --batch must be positive, --size a positive multiple of 8".into());
    }
    Ok(args)
}

/// Median of `times` (seconds).
fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    let mid = times.len() / 2;
    match times.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => times[mid],
        _ => (times[mid - 1] + times[mid]) / 2.0,
    }
}

fn run(args: &Args) -> Result<String, String> {
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut model: VisualAutoencoder = VisualAutoencoderConfig::new()
        .init(&device)
        .map_err(|e| e.to_string())?;
    let params = model.num_params();
    let mut optim = AdamConfig::new().init();
    let dims = [args.batch, 10, 1, args.size, args.size];
    let batch = Tensor::<5>::random(dims, Distribution::Uniform(0.0, 1.0), &device);

    // Step 0 is a warm-up (allocations, thread pool), as in the PyTorch reference.
    let mut train_times = Vec::with_capacity(args.steps);
    for step in 0..=args.steps {
        let start = Instant::now();
        let output = model.forward(batch.clone()).map_err(|e| e.to_string())?;
        let loss = MseLoss::new().forward(output, batch.clone(), Reduction::Mean);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        if step > 0 {
            train_times.push(start.elapsed().as_secs_f64());
        }
    }

    let inference = model.valid();
    let plain = Device::flex();
    let sequence = Tensor::<5>::random(
        [1, 10, 1, args.size, args.size],
        Distribution::Uniform(0.0, 1.0),
        &plain,
    );
    let mut infer_times = Vec::with_capacity(args.steps);
    for step in 0..=args.steps {
        let start = Instant::now();
        let output = inference
            .forward(sequence.clone())
            .map_err(|e| e.to_string())?;
        // Reading a value back makes sure the whole forward ran.
        let _ = output.sum().into_scalar::<f32>();
        if step > 0 {
            infer_times.push(start.elapsed().as_secs_f64());
        }
    }

    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    Ok(format!(
        "{{\"peer\": \"burn-flex\", \"version\": \"0.22.1\", \"threads\": \"{threads}\", \
         \"model\": \"visual\", \"batch\": {}, \"input\": {:?}, \"params\": {params}, \
         \"train_step_median_s\": {:.4}, \"infer_median_s\": {:.4}, \
         \"infer_input\": [1, 10, 1, {}, {}]}}",
        args.batch,
        dims,
        median(train_times),
        median(infer_times),
        args.size,
        args.size
    ))
}

fn main() {
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(line) => println!("{line}"),
        Err(message) => {
            eprintln!("visual_step: {message}");
            std::process::exit(1);
        }
    }
}
