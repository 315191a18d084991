//! The trainer end to end on small moving-pattern clips: the loss falls, checkpoints
//! resume to the same weights as an uninterrupted run, a saved model reloads to identical
//! scores, and scoring covers every frame; and early stopping keeps the best epoch.

use avad_model::score::{visual_errors, ScoreOptions};
use avad_model::sequences::{FrameClip, SequenceSet};
use avad_model::train::{
    load_model, model_bytes, save_model, train, Part, Samples, Silent, TrainError, TrainSettings,
};
use avad_model::VisualAutoencoderConfig;
use burn::module::Module;
use burn::tensor::Device;

const SIDE: usize = 16;
const STEPS: usize = 4;

/// A bright square gliding right at `speed` pixels per frame over a dim gradient.
fn clip(name: &str, frames: usize, speed: f32, phase: f32) -> FrameClip {
    let frames = (0..frames)
        .map(|t| {
            let x0 = (phase + speed * t as f32) % SIDE as f32;
            (0..SIDE * SIDE)
                .map(|p| {
                    let (y, x) = ((p / SIDE) as f32, (p % SIDE) as f32);
                    let inside = (x - x0).abs() < 2.5 && (y - 8.0).abs() < 2.5;
                    if inside {
                        0.9
                    } else {
                        0.1 + 0.02 * y
                    }
                })
                .collect()
        })
        .collect();
    FrameClip::new(name.into(), SIDE, SIDE, frames).unwrap()
}

fn dataset() -> SequenceSet {
    let clips = vec![
        clip("a", 24, 1.0, 0.0),
        clip("b", 24, 1.0, 5.0),
        clip("c", 24, 1.0, 9.0),
    ];
    SequenceSet::new(clips, &[2], STEPS, &[1, 2]).unwrap()
}

fn settings(epochs: usize) -> TrainSettings {
    TrainSettings {
        epochs,
        batch_size: 3,
        learning_rate: 3e-3,
        patience: 0,
        seed: 11,
    }
}

fn config() -> VisualAutoencoderConfig {
    // Table 3's layers, narrower, so that the test trains in seconds.
    VisualAutoencoderConfig::new()
        .with_encoder_filters([4, 8])
        .with_convlstm_filters([8, 4, 8])
        .with_decoder_filters([8, 4])
}

/// The device's random generator is shared by the tests running in parallel: seeding and
/// initialising under one lock keeps each model a function of its seed.
static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fresh_model(seed: u64) -> (avad_model::VisualAutoencoder, Device) {
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    device.seed(seed);
    let model = config().init(&device).unwrap();
    // Parameters are initialised lazily: draw them now, under the lock.
    model_bytes(&model).unwrap();
    (model, device)
}

#[test]
fn training_lowers_the_loss_and_resume_matches_an_uninterrupted_run() {
    let set = dataset();
    assert_eq!(
        set.len(Part::Train),
        2 * (6 + 3),
        "clips a, b: 6 windows at stride 1, 3 at 2"
    );
    assert_eq!(set.len(Part::Validation), 9);

    let straight = tempfile::tempdir().unwrap();
    let (model, device) = fresh_model(5);
    let full = train(
        model,
        &set,
        &settings(4),
        &device,
        straight.path(),
        false,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(full.history.len(), 4);
    let first = full.history[0].train_loss;
    let last = full.history[3].train_loss;
    assert!(
        last < 0.8 * first,
        "training loss did not fall: {:?}",
        full.history
    );
    assert!(full
        .history
        .iter()
        .all(|r| r.validation_loss.is_some_and(f64::is_finite)));

    // The same run killed after epoch 2 and resumed.
    let split = tempfile::tempdir().unwrap();
    let (model, device) = fresh_model(5);
    train(
        model,
        &set,
        &settings(2),
        &device,
        split.path(),
        false,
        &mut Silent,
    )
    .unwrap();
    let (model, device) = fresh_model(99); // resumed weights replace these
    let resumed = train(
        model,
        &set,
        &settings(4),
        &device,
        split.path(),
        true,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(resumed.history.len(), 4);
    for (a, b) in full.history.iter().zip(&resumed.history) {
        assert_eq!(a.train_loss, b.train_loss, "epoch {}", a.epoch);
        assert_eq!(a.validation_loss, b.validation_loss, "epoch {}", a.epoch);
    }
    assert_eq!(full.best_epoch, resumed.best_epoch);
    // Same weights: the same errors, to the bit, on a clip neither saw.
    let options = ScoreOptions {
        steps: STEPS,
        hop: 1,
        batch: 4,
        map_block: None,
        patch_block: None,
        causal: false,
    };
    let test = clip("t", 12, 2.0, 3.0);
    let a = visual_errors(&full.model, &test, &options, &device, &mut |_, _| {}).unwrap();
    let b = visual_errors(&resumed.model, &test, &options, &device, &mut |_, _| {}).unwrap();
    assert_eq!(a, b);

    // Without --resume an existing checkpoint is refused, not overwritten.
    let (model, device) = fresh_model(5);
    let err = train(
        model,
        &set,
        &settings(4),
        &device,
        split.path(),
        false,
        &mut Silent,
    )
    .unwrap_err();
    assert!(matches!(err, TrainError::CheckpointExists { .. }), "{err}");
}

#[test]
fn saved_model_reloads_to_identical_scores_on_every_frame() {
    let set = dataset();
    let dir = tempfile::tempdir().unwrap();
    let (model, device) = fresh_model(3);
    let trained = train(
        model,
        &set,
        &settings(1),
        &device,
        &dir.path().join("ckpt"),
        false,
        &mut Silent,
    )
    .unwrap();
    let path = dir.path().join("weights.bpk");
    save_model(&trained.model, &path).unwrap();

    let plain = Device::flex();
    let reloaded = load_model(config().init(&plain).unwrap(), &path)
        .unwrap()
        .valid();
    let test = clip("t", 17, 2.0, 3.0);
    let options = ScoreOptions {
        steps: STEPS,
        hop: 3,
        batch: 2,
        map_block: Some(4),
        patch_block: Some(2),
        causal: false,
    };
    let a = visual_errors(&reloaded, &test, &options, &plain, &mut |_, _| {}).unwrap();
    let again = load_model(config().init(&plain).unwrap(), &path)
        .unwrap()
        .valid();
    let b = visual_errors(&again, &test, &options, &plain, &mut |_, _| {}).unwrap();
    assert_eq!(a, b, "two loads of one model scored differently");
    let c = visual_errors(&trained.model, &test, &options, &device, &mut |_, _| {}).unwrap();
    for (x, y) in a.errors.iter().zip(&c.errors) {
        assert!(
            (x - y).abs() <= 1e-5 * y.abs(),
            "reloaded {x} vs trained {y}"
        );
    }
    assert_eq!(a.errors.len(), 17);
    assert!(a.errors.iter().all(|e| e.is_finite() && *e > 0.0));
    let maps = a.maps.unwrap();
    assert_eq!(
        (maps.height, maps.width, maps.values.len()),
        (4, 4, 17 * 16)
    );
    // Each frame's error is the root of its summed squared error; the 4x4-block map holds
    // means of 16 pixels each, so sum(map) * 16 equals that sum when the frame is covered
    // by one window (frame 0 is: windows start at 0, 3, 6, ...; frame 0 only in the first).
    let sum0: f32 = maps.frame(0).iter().sum::<f32>() * 16.0;
    assert!(
        (f64::from(sum0).sqrt() - a.errors[0]).abs() < 1e-4 * a.errors[0],
        "{sum0} vs {}",
        a.errors[0]
    );
    // The patch maps pool the same squared errors over 2x2 blocks: each 4x4 block's mean
    // is the mean of the four 2x2 blocks inside it, on every frame.
    let fine = a.patch_maps.as_ref().unwrap();
    assert_eq!(
        (fine.height, fine.width, fine.values.len()),
        (8, 8, 17 * 64)
    );
    for f in 0..17 {
        for (y, x) in (0..4).flat_map(|y| (0..4).map(move |x| (y, x))) {
            let quad: f32 = (0..4)
                .map(|k| fine.frame(f)[(2 * y + k / 2) * 8 + 2 * x + k % 2])
                .sum::<f32>()
                / 4.0;
            let coarse = maps.frame(f)[y * 4 + x];
            assert!(
                (quad - coarse).abs() <= 1e-5 * coarse.abs().max(1e-6),
                "frame {f} block {y},{x}: {quad} vs {coarse}"
            );
        }
    }

    // A clip shorter than one window is refused with its name.
    let short = clip("short", 3, 1.0, 0.0);
    let err = visual_errors(&reloaded, &short, &options, &plain, &mut |_, _| {}).unwrap_err();
    assert!(err.to_string().contains("clip short has 3 frames"), "{err}");
}

#[test]
fn motion_maps_and_frame_errors_come_from_the_windows_covering_each_frame() {
    let set = dataset();
    let dir = tempfile::tempdir().unwrap();
    let (model, device) = fresh_model(4);
    let trained = train(
        model,
        &set,
        &settings(1),
        &device,
        dir.path(),
        false,
        &mut Silent,
    )
    .unwrap();
    let model = trained.model.valid();
    let plain = Device::flex();
    // Windows at 0, 4, 8 and one ending on frame 13 (start 10): frames 10 and 11 are
    // covered twice, the rest once.
    let test = clip("t", 14, 2.0, 3.0);
    let options = ScoreOptions {
        steps: STEPS,
        hop: STEPS,
        batch: 3,
        map_block: None,
        patch_block: Some(1),
        causal: false,
    };
    let scored = visual_errors(&model, &test, &options, &plain, &mut |_, _| {}).unwrap();
    let motion = scored.motion_maps.unwrap();
    assert_eq!(
        (motion.height, motion.width, motion.values.len()),
        (SIDE, SIDE, 14 * SIDE * SIDE)
    );
    let plane = SIDE * SIDE;
    let mut expected = vec![0.0f32; 14 * plane];
    let mut counts = [0.0f32; 14];
    // Eq. 3 per frame and window: the mean over the covering windows, or (causal) the
    // first window's alone.
    let mut eq3_sum = [0.0f64; 14];
    let mut eq3_first: [Option<f64>; 14] = [None; 14];
    for s in [0usize, 4, 8, 10] {
        let input: Vec<f32> = (s..s + STEPS)
            .flat_map(|f| test.frame(f).to_vec())
            .collect();
        let x = burn::tensor::Tensor::<5>::from_data(
            burn::tensor::TensorData::new(input.clone(), [1, STEPS, 1, SIDE, SIDE]),
            &plain,
        );
        let out = model
            .forward(x)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let residual: Vec<f32> = out.iter().zip(&input).map(|(o, i)| o - i).collect();
        for i in 0..STEPS {
            let k = i.max(1); // position 0 takes position 1's change
            for p in 0..plane {
                let change = residual[k * plane + p] - residual[(k - 1) * plane + p];
                expected[(s + i) * plane + p] += change * change;
            }
            counts[s + i] += 1.0;
            let e = residual[i * plane..(i + 1) * plane]
                .iter()
                .map(|r| f64::from(r * r))
                .sum::<f64>()
                .sqrt();
            eq3_sum[s + i] += e;
            eq3_first[s + i].get_or_insert(e);
        }
    }
    let causal = visual_errors(
        &model,
        &test,
        &ScoreOptions {
            causal: true,
            ..options
        },
        &plain,
        &mut |_, _| {},
    )
    .unwrap();
    for f in 0..14 {
        let mean = eq3_sum[f] / f64::from(counts[f]);
        let first = eq3_first[f].unwrap();
        assert!((scored.errors[f] - mean).abs() <= 1e-5 * mean, "frame {f}");
        assert!(
            (causal.errors[f] - first).abs() <= 1e-5 * first,
            "frame {f}, causal"
        );
    }
    assert_ne!(
        scored.errors[10], causal.errors[10],
        "frame 10, covered twice, is the mean offline and its first window's live"
    );
    for (f, &c) in counts.iter().enumerate() {
        for p in 0..plane {
            let e = expected[f * plane + p] / c;
            let got = motion.frame(f)[p];
            assert!(
                (e - got).abs() <= 1e-5 * e.max(1e-4),
                "frame {f} pixel {p}: {got} vs {e}"
            );
        }
    }
    // Position 0 of the first window repeats position 1: frames 0 and 1 share a map.
    assert_eq!(motion.frame(0), motion.frame(1));
    assert!(motion.values.iter().any(|&v| v > 0.0));
}

/// A one-weight model whose training samples pull its weight towards 10 and whose
/// validation samples sit at 1: the validation loss falls, then rises, and training
/// must stop `patience` epochs after its lowest point and return that epoch's weight.
#[derive(Module, Debug)]
struct OneWeight {
    w: burn::module::Param<burn::tensor::Tensor<1>>,
}

impl avad_model::train::Objective for OneWeight {
    type Batch = burn::tensor::Tensor<1>;
    fn loss(
        &self,
        targets: burn::tensor::Tensor<1>,
    ) -> Result<burn::tensor::Tensor<1>, avad_model::ModelError> {
        let n = targets.dims()[0];
        let d = self.w.val().expand([n]) - targets;
        Ok((d.clone() * d).mean())
    }
}

struct Targets;

impl Samples for Targets {
    type Batch = burn::tensor::Tensor<1>;
    fn len(&self, _: Part) -> usize {
        4
    }
    fn batch(
        &self,
        part: Part,
        indices: &[usize],
        device: &Device,
    ) -> Result<Self::Batch, avad_model::ModelError> {
        let v = if part == Part::Train { 10.0 } else { 1.0 };
        Ok(burn::tensor::Tensor::from_floats(
            vec![v; indices.len()].as_slice(),
            device,
        ))
    }
}

#[test]
fn early_stopping_returns_the_best_epoch_after_patience_runs_out() {
    let device = Device::flex().autodiff();
    let model = OneWeight {
        w: burn::module::Param::from_tensor(burn::tensor::Tensor::zeros([1], &device)),
    };
    let settings = TrainSettings {
        epochs: 50,
        batch_size: 4,
        learning_rate: 0.3,
        patience: 2,
        seed: 1,
    };
    let dir = tempfile::tempdir().unwrap();
    let trained = train(
        model,
        &Targets,
        &settings,
        &device,
        dir.path(),
        false,
        &mut Silent,
    )
    .unwrap();
    let losses: Vec<f64> = trained
        .history
        .iter()
        .map(|r| r.validation_loss.unwrap())
        .collect();
    let best = trained.best_epoch;
    assert!(trained.stopped_early, "{losses:?}");
    assert_eq!(
        trained.history.len(),
        best + 2,
        "two epochs past the best: {losses:?}"
    );
    assert!(best > 1, "the loss fell first: {losses:?}");
    let lowest = losses.iter().cloned().fold(f64::INFINITY, f64::min);
    assert_eq!(losses[best - 1], lowest, "{losses:?}");
    assert!(
        losses[best] > lowest && losses[best + 1] > lowest,
        "{losses:?}"
    );
    // The model returned is that epoch's, not the last one's.
    let again = avad_model::train::mean_loss(
        &trained.model,
        &Targets,
        Part::Validation,
        4,
        &Device::flex(),
    )
    .unwrap()
    .unwrap();
    assert!(
        (again - lowest).abs() < 1e-6 * lowest.max(1e-6),
        "{again} against {lowest}"
    );
}
