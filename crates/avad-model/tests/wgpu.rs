//! The three models on burn's wgpu backend (the `wgpu` feature) against the CPU, with the
//! same weights and inputs: the forward passes, the loss and its gradients, a few training
//! steps, and weights saved on one device and scored on the other. `.ci/run` runs them on
//! Mesa's lavapipe, a conformant Vulkan driver that runs on the CPU:
//!
//!     cargo test -p avad-model --features wgpu --test wgpu
//!
//! The CPU computes the visual model's ConvLSTM cell, its single-channel output layer and
//! its batch norms through `host_ops` (hand-written kernels with their own backward
//! passes); wgpu computes them with burn's operations. These tests are what says the two
//! compute the same function.
#![cfg(feature = "wgpu")]

use avad_model::fusion::FusionNetConfig;
use avad_model::score::{visual_errors, ScoreOptions};
use avad_model::sequences::FrameClip;
use avad_model::train::{load_model, save_model, Objective};
use avad_model::{AudioAutoencoderConfig, VisualAutoencoderConfig};
use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, DeviceKind, Distribution, Tensor};

/// The CPU's random generator is global to the process: each test holds this while it seeds
/// and draws, so that another test's draws do not come between.
fn rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    RNG.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn wgpu() -> Device {
    Device::wgpu(DeviceKind::DefaultDevice)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    avad_model::tensor_values(t).unwrap()
}

/// The largest difference between `a` and `b`, relative to `b`'s largest magnitude.
fn relative_gap(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
    let gap = a
        .iter()
        .zip(b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    gap / scale
}

fn assert_close<const D: usize>(on_wgpu: Tensor<D>, on_cpu: Tensor<D>, tolerance: f32, what: &str) {
    let (a, b) = (values(on_wgpu), values(on_cpu));
    let gap = relative_gap(&a, &b);
    assert!(
        gap <= tolerance,
        "{what}: wgpu differs from the CPU by {gap:.2e} of the largest value (tolerance {tolerance:.0e})"
    );
    eprintln!("{what}: wgpu within {gap:.2e} of the CPU");
}

/// `t`'s values on `device`.
fn moved<const D: usize>(t: &Tensor<D>, device: &Device) -> Tensor<D> {
    Tensor::from_data(t.to_data(), device)
}

/// Table 3's layers, narrower and on 16x16 frames, so that lavapipe runs them in seconds.
fn visual_config() -> VisualAutoencoderConfig {
    VisualAutoencoderConfig::new()
        .with_encoder_filters([4, 8])
        .with_convlstm_filters([8, 4, 8])
        .with_decoder_filters([8, 4])
}

const FORWARD: f32 = 1e-4;
const GRADIENT: f32 = 1e-3;

#[test]
fn the_visual_model_computes_on_wgpu_what_it_computes_on_the_cpu() {
    let _rng = rng_lock();
    visual_parity(visual_config(), 16, 2, Distribution::Uniform(0.0, 1.0));
}

/// Table 3's full widths, on 32x32 frame differences in batches of 4: what
/// `tiny_preset` in the CLI's tests trains.
#[test]
fn the_full_visual_model_computes_on_wgpu_what_it_computes_on_the_cpu() {
    let _rng = rng_lock();
    visual_parity(
        VisualAutoencoderConfig::new(),
        32,
        4,
        Distribution::Uniform(-0.5, 0.5),
    );
}

fn visual_parity(config: VisualAutoencoderConfig, side: usize, batch: usize, values: Distribution) {
    let cpu = Device::flex().autodiff();
    cpu.seed(3);
    let model = config.init(&cpu).unwrap();
    let gpu = wgpu().autodiff();
    let on_gpu = model.clone().fork(&gpu);
    let x = Tensor::<5>::random([batch, 10, 1, side, side], values, &cpu);
    let xg = moved(&x, &gpu);

    // Training mode: the forward pass, the loss, and the gradients of the first, a
    // ConvLSTM's and the last layer's weights.
    assert_close(
        on_gpu.forward(xg.clone()).unwrap(),
        model.forward(x.clone()).unwrap(),
        FORWARD,
        "visual forward (training)",
    );
    let (loss, loss_g) = (
        model.loss(x.clone()).unwrap(),
        on_gpu.loss(xg.clone()).unwrap(),
    );
    assert_close(loss_g.clone(), loss.clone(), FORWARD, "visual loss");
    let (grads, grads_g) = (loss.backward(), loss_g.backward());
    assert_close(
        on_gpu.conv1.weight.val().grad(&grads_g).unwrap(),
        model.conv1.weight.val().grad(&grads).unwrap(),
        GRADIENT,
        "visual d conv1",
    );
    assert_close(
        on_gpu
            .convlstm2
            .hidden_conv
            .weight
            .val()
            .grad(&grads_g)
            .unwrap(),
        model
            .convlstm2
            .hidden_conv
            .weight
            .val()
            .grad(&grads)
            .unwrap(),
        GRADIENT,
        "visual d convlstm2 hidden",
    );
    assert_close(
        on_gpu.deconv1.conv.weight.val().grad(&grads_g).unwrap(),
        model.deconv1.conv.weight.val().grad(&grads).unwrap(),
        GRADIENT,
        "visual d deconv1",
    );
    assert_close(
        on_gpu.output.weight.val().grad(&grads_g).unwrap(),
        model.output.weight.val().grad(&grads).unwrap(),
        GRADIENT,
        "visual d output",
    );

    // Validation mode, as `score` and `watch` run it: one window.
    let one = Tensor::<5>::random(
        [1, 10, 1, 16, 16],
        Distribution::Uniform(0.0, 1.0),
        &Device::flex(),
    );
    assert_close(
        on_gpu.valid().forward(moved(&one, &wgpu())).unwrap(),
        model.valid().forward(one).unwrap(),
        FORWARD,
        "visual forward (validation)",
    );
}

#[test]
fn the_audio_model_computes_on_wgpu_what_it_computes_on_the_cpu() {
    let _rng = rng_lock();
    let cpu = Device::flex().autodiff();
    cpu.seed(4);
    let model = AudioAutoencoderConfig::new().init(&cpu).unwrap();
    let gpu = wgpu().autodiff();
    let on_gpu = model.clone().fork(&gpu);
    let x = Tensor::<3>::random([3, 16, 160], Distribution::Uniform(0.0, 1.0), &cpu);
    let xg = moved(&x, &gpu);
    assert_close(
        on_gpu.forward(xg.clone()).unwrap(),
        model.forward(x.clone()).unwrap(),
        FORWARD,
        "audio forward",
    );
    let (loss, loss_g) = (model.loss(x).unwrap(), on_gpu.loss(xg).unwrap());
    assert_close(loss_g.clone(), loss.clone(), FORWARD, "audio loss");
    let (grads, grads_g) = (loss.backward(), loss_g.backward());
    assert_close(
        on_gpu.encoder[0].weight.val().grad(&grads_g).unwrap(),
        model.encoder[0].weight.val().grad(&grads).unwrap(),
        GRADIENT,
        "audio d encoder conv",
    );
    assert_close(
        on_gpu
            .lstm_enc1
            .input_gate
            .input_transform
            .weight
            .val()
            .grad(&grads_g)
            .unwrap(),
        model
            .lstm_enc1
            .input_gate
            .input_transform
            .weight
            .val()
            .grad(&grads)
            .unwrap(),
        GRADIENT,
        "audio d encoder LSTM",
    );
    assert_close(
        on_gpu.output.weight.val().grad(&grads_g).unwrap(),
        model.output.weight.val().grad(&grads).unwrap(),
        GRADIENT,
        "audio d output",
    );
}

#[test]
fn the_fusion_net_computes_on_wgpu_what_it_computes_on_the_cpu() {
    let _rng = rng_lock();
    let cpu = Device::flex();
    cpu.seed(5);
    let net = FusionNetConfig::new().init(&cpu);
    let on_gpu = net.clone().to_device(&wgpu());
    let x = Tensor::<2>::random([256, 2], Distribution::Uniform(0.0, 1.0), &cpu);
    assert_close(
        on_gpu.forward(moved(&x, &wgpu())),
        net.forward(x),
        FORWARD,
        "fusion forward",
    );
}

/// Adam steps on wgpu lower the loss as on the CPU, step for step.
#[test]
fn training_steps_on_wgpu_follow_the_cpu() {
    let _rng = rng_lock();
    let cpu = Device::flex().autodiff();
    cpu.seed(6);
    let mut model = visual_config().init(&cpu).unwrap();
    let gpu = wgpu().autodiff();
    let mut on_gpu = model.clone().fork(&gpu);
    let x = Tensor::<5>::random([2, 10, 1, 16, 16], Distribution::Uniform(0.0, 1.0), &cpu);
    let xg = moved(&x, &gpu);
    let (mut optim, mut optim_g) = (avad_model::train::adam(), avad_model::train::adam());
    let (mut losses, mut losses_g) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        let loss = model.loss(x.clone()).unwrap();
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
        let loss = on_gpu.loss(xg.clone()).unwrap();
        losses_g.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &on_gpu);
        on_gpu = optim_g.step(3e-3, on_gpu, grads);
    }
    eprintln!("losses: CPU {losses:?}, wgpu {losses_g:?}");
    assert!(
        losses_g[4] < losses_g[0],
        "the loss did not fall on wgpu: {losses_g:?}"
    );
    let gap = relative_gap(&losses_g, &losses);
    assert!(
        gap < 1e-3,
        "wgpu's losses left the CPU's by {gap:.2e}: {losses_g:?} against {losses:?}"
    );
}

/// Frames of a bright square gliding over a dim gradient, 16x16.
fn clip(frames: usize) -> FrameClip {
    let frames = (0..frames)
        .map(|t| {
            (0..16 * 16)
                .map(|p| {
                    let (y, x) = ((p / 16) as f32, (p % 16) as f32);
                    let x0 = (1.5 * t as f32) % 16.0;
                    if (x - x0).abs() < 2.5 && (y - 8.0).abs() < 2.5 {
                        0.9
                    } else {
                        0.1 + 0.02 * y
                    }
                })
                .collect()
        })
        .collect();
    FrameClip::new("glide".into(), 16, 16, frames).unwrap()
}

/// A model trained a few steps on one device, saved, loaded on the other: the frame errors
/// `avad score` computes from it are the same on both, either way round.
#[test]
fn weights_saved_on_one_device_score_the_same_on_the_other() {
    let _rng = rng_lock();
    let dir = tempfile::tempdir().unwrap();
    let options = ScoreOptions {
        steps: 10,
        hop: 2,
        batch: 4,
        map_block: None,
        patch_block: None,
        causal: false,
    };
    let clip = clip(24);
    let x = Tensor::<5>::random(
        [2, 10, 1, 16, 16],
        Distribution::Uniform(0.0, 1.0),
        &Device::flex(),
    );
    for (from, to) in [(Device::flex(), wgpu()), (wgpu(), Device::flex())] {
        let train = from.clone().autodiff();
        train.seed(7);
        let mut model = visual_config().init(&train).unwrap();
        let mut optim = avad_model::train::adam();
        let xt = moved(&x, &train);
        for _ in 0..3 {
            let loss = model.loss(xt.clone()).unwrap();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(3e-3, model, grads);
        }
        let path = dir.path().join("weights.bpk");
        save_model(&model.valid(), &path).unwrap();
        let score = |device: &Device| {
            let fresh = visual_config().init(device).unwrap();
            let loaded = load_model(fresh, &path).unwrap();
            visual_errors(&loaded, &clip, &options, device, &mut |_, _| {})
                .unwrap()
                .errors
                .into_iter()
                .map(|e| e as f32)
                .collect::<Vec<_>>()
        };
        let (here, there) = (score(&from), score(&to));
        let gap = relative_gap(&there, &here);
        eprintln!("saved on {from:?}, scored on {to:?}: within {gap:.2e}");
        assert!(
            gap < FORWARD,
            "saved on {from:?}, scored on {to:?}: {gap:.2e} apart"
        );
    }
}

/// Table 3's full model, 40 Adam steps on batches of four 32x32 windows of difference-like
/// frames (mostly still at 0.5, a few pixels changing): wgpu's loss stays with the CPU's,
/// step for step.
#[test]
fn forty_training_steps_of_the_full_model_stay_with_the_cpu() {
    let _rng = rng_lock();
    let cpu = Device::flex().autodiff();
    cpu.seed(6);
    let mut model = VisualAutoencoderConfig::new().init(&cpu).unwrap();
    let gpu = wgpu().autodiff();
    let mut on_gpu = model.clone().fork(&gpu);
    let (mut optim, mut optim_g) = (avad_model::train::adam(), avad_model::train::adam());
    let mut worst = 0.0f32;
    for step in 0..40 {
        cpu.seed(100 + step);
        let noise = Tensor::<5>::random([4, 10, 1, 32, 32], Distribution::Uniform(0.0, 1.0), &cpu);
        let mask = noise.clone().greater_elem(0.97).float();
        let x = mask.clone() * noise + (mask.ones_like() - mask) * 0.5;
        let xg = moved(&x, &gpu);
        let loss = model.loss(x).unwrap();
        let a = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-3, model, grads);
        let loss = on_gpu.loss(xg).unwrap();
        let b = loss.clone().into_scalar::<f32>();
        let grads = GradientsParams::from_grads(loss.backward(), &on_gpu);
        on_gpu = optim_g.step(1e-3, on_gpu, grads);
        worst = worst.max((a - b).abs() / a);
    }
    eprintln!("40 steps: wgpu's losses within {worst:.1e} of the CPU's");
    assert!(worst < 2e-3, "wgpu's losses left the CPU's by {worst:.1e}");
}

/// `seeded_init` gives a model on wgpu the starting weights that training on the CPU
/// starts from with the same seed (drawn when its first forward pass uses them): the two
/// compute the same output.
#[test]
fn a_seed_draws_the_same_starting_weights_on_every_device() {
    let _rng = rng_lock();
    let init = |device: &Device| {
        avad_model::train::seeded_init(
            device,
            9,
            |d| visual_config().init(d),
            |m, d| m.forward(Tensor::zeros([1, 10, 1, 16, 16], d)).map(|_| ()),
        )
        .unwrap()
    };
    let (cpu, gpu) = (Device::flex().autodiff(), wgpu().autodiff());
    let x = Tensor::<5>::random([2, 10, 1, 16, 16], Distribution::Uniform(0.0, 1.0), &cpu);
    // As training on the CPU does: seeded, initialised, and the first forward pass.
    let on_cpu = init(&cpu);
    let expected = on_cpu.forward(x.clone()).unwrap();
    let on_gpu = init(&gpu);
    assert_close(
        on_gpu.forward(moved(&x, &gpu)).unwrap(),
        expected,
        FORWARD,
        "seeded_init's model",
    );
}
