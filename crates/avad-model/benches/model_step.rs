//! Times a model of the paper on the flex CPU backend: one training step (forward, loss,
//! backward, Adam) and one inference forward, the same work as
//! `python3 /work/shared/bench/torch_reference.py --model MODEL` (see compare_torch.sh):
//!
//! - `visual` (Table 3): a batch of 2 x 10 x 240x240, inference of one sequence;
//! - `audio` (Table 2): a batch of 10 x 64 frames x 160, inference of one sequence;
//! - `fusion` (Table 4): a batch of 256 score pairs, inference of 256.
//!
//! ```text
//! cargo bench -p avad-model --bench model_step -- [--model M] [--steps N] [--size S]
//!     [--batch B] [--frames F]
//! ```
//!
//! Prints one JSON line last, with the keys of the PyTorch reference: median seconds after
//! one warm-up step.

use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use avad_model::fusion::FusionNetConfig;
use avad_model::train::Objective;
use avad_model::{AudioAutoencoderConfig, VisualAutoencoder, VisualAutoencoderConfig};
use burn::module::Module;
use burn::nn::loss::{MseLoss, Reduction};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor};

struct Args {
    model: String,
    steps: usize,
    size: usize,
    batch: usize,
    frames: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        model: "visual".into(),
        steps: 4,
        size: 240,
        batch: 0,
        frames: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--model" {
            args.model = it.next().ok_or("--model needs a value")?;
            continue;
        }
        let target = match flag.as_str() {
            "--frames" => &mut args.frames,
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
    if args.batch == 0 {
        args.batch = match args.model.as_str() {
            "visual" => 2,
            "audio" => 10,
            _ => 256,
        };
    }
    if args.steps == 0
        || args.size == 0
        || !args.size.is_multiple_of(8)
        || !args.frames.is_multiple_of(4)
    {
        return Err("--steps must be positive, --size a multiple of 8, --frames of 4".into());
    }
    if !["visual", "audio", "fusion"].contains(&args.model.as_str()) {
        return Err(format!(
            "--model {}: expected visual, audio or fusion",
            args.model
        ));
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
    if args.model != "visual" {
        return run_small(args);
    }
    let device = Device::flex().autodiff();
    device.seed(0);
    let mut model: VisualAutoencoder = VisualAutoencoderConfig::new()
        .init(&device)
        .map_err(|e| e.to_string())?;
    let params = model.num_params();
    let mut optim = avad_model::train::adam();
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

/// The audio (Table 2) or fusion (Table 4) model: a training step on a random batch,
/// inference on one sequence (audio) or one batch (fusion).
fn run_small(args: &Args) -> Result<String, String> {
    let device = Device::flex().autodiff();
    device.seed(0);
    let plain = Device::flex();
    let uniform = Distribution::Uniform(0.0, 1.0);
    let mut optim = avad_model::train::adam();
    let mut train_times = Vec::new();
    let mut infer_times = Vec::new();
    let (params, input, infer_input);
    if args.model == "audio" {
        let mut model = AudioAutoencoderConfig::new()
            .init(&device)
            .map_err(|e| e.to_string())?;
        params = model.num_params();
        let dims = [args.batch, args.frames, 160];
        let x = Tensor::<3>::random(dims, uniform, &device);
        for step in 0..=args.steps {
            let start = Instant::now();
            let loss = model.loss(x.clone()).map_err(|e| e.to_string())?;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
            if step > 0 {
                train_times.push(start.elapsed().as_secs_f64());
            }
        }
        let inference = model.valid();
        let xi = Tensor::<3>::random([1, args.frames, 160], uniform, &plain);
        for step in 0..=args.steps {
            let start = Instant::now();
            let _ = inference
                .forward(xi.clone())
                .map_err(|e| e.to_string())?
                .sum()
                .into_scalar::<f32>();
            if step > 0 {
                infer_times.push(start.elapsed().as_secs_f64());
            }
        }
        input = dims.to_vec();
        infer_input = vec![1, args.frames, 160];
    } else {
        let mut model = FusionNetConfig::new().init(&device);
        params = model.num_params();
        let x = Tensor::<2>::random([args.batch, 2], uniform, &device);
        let y = x.clone().sum_dim(1).greater_elem(1.0).float();
        for step in 0..=args.steps {
            let start = Instant::now();
            let loss = model
                .loss((x.clone(), y.clone()))
                .map_err(|e| e.to_string())?;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(1e-3, model, grads);
            if step > 0 {
                train_times.push(start.elapsed().as_secs_f64());
            }
        }
        let inference = model.valid();
        let xi = Tensor::<2>::random([args.batch, 2], uniform, &plain);
        for step in 0..=args.steps {
            let start = Instant::now();
            let _ = inference.forward(xi.clone()).sum().into_scalar::<f32>();
            if step > 0 {
                infer_times.push(start.elapsed().as_secs_f64());
            }
        }
        input = vec![args.batch, 2];
        infer_input = vec![args.batch, 2];
    }
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "default".into());
    Ok(format!(
        "{{\"peer\": \"burn-flex\", \"version\": \"0.22.1\", \"threads\": \"{threads}\", \
         \"model\": \"{}\", \"batch\": {}, \"input\": {input:?}, \"params\": {params}, \
         \"train_step_median_s\": {:.5}, \"infer_median_s\": {:.5}, \"infer_input\": {infer_input:?}}}",
        args.model,
        args.batch,
        median(train_times),
        median(infer_times),
    ))
}

fn main() {
    avad_model::device::keep_freed_memory();
    let result = parse_args().and_then(|args| run(&args));
    match result {
        Ok(line) => println!("{line}"),
        Err(message) => {
            eprintln!("model_step: {message}");
            std::process::exit(1);
        }
    }
}
