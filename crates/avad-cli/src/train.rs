//! `avad train visual`: train the visual autoencoder on a dataset's normal clips and write
//! a model directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use avad_data::{open_dataset, Clip, DatasetKind, Split};
use avad_eval::normalize::Calibration;
use avad_media::FrameSize;
use avad_model::burn::module::Module;
use avad_model::burn::tensor::Device;
use avad_model::device::Accelerator;
use avad_model::model_dir::{
    PatchCalibration, TrainingRecord, VisualModel, VisualModelCard, VisualPreset, CARD_FILE,
    FORMAT_VERSION,
};
use avad_model::score::calibrate_visual;
use avad_model::sequences::{split_clips, FrameClip, SequenceSet};
use avad_model::train::{copy_weights, train, EpochRecord, Part, Progress, Samples, TrainSettings};
use avad_model::visual::VisualAutoencoder;
use avad_model::VisualAutoencoderConfig;
use indicatif::{ProgressBar, ProgressStyle};

/// Train a model on the normal clips of a dataset.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    model: Model,
}

#[derive(clap::Subcommand)]
enum Model {
    Visual(VisualArgs),
    Audio(crate::train_audio::AudioArgs),
}

/// Train the visual autoencoder (Table 3 of Tariq et al. 2024) on the training clips of
/// DATASET, holding whole clips out for validation, early stopping and calibration.
///
/// Writes OUT/model.json, OUT/weights.bpk, OUT/loss.{csv,png,svg} and OUT/checkpoint/
/// (a checkpoint after every epoch: rerun with --resume to continue a stopped run).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct VisualArgs {
    /// Dataset folder (UCSD Ped2 or a generic train/ test/ folder; UMN has no normal clips
    /// to train a visual model on).
    dataset: PathBuf,
    /// Model directory to write.
    #[arg(long, short)]
    out: PathBuf,
    /// Built-in preset (paper, cpu, cpu-240, demo) or a preset TOML file.
    #[arg(long, default_value = "cpu")]
    preset: String,
    /// Override the preset's epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the preset's frame side (a multiple of 8).
    #[arg(long)]
    size: Option<usize>,
    /// Override the preset's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Continue the checkpoint in OUT/checkpoint.
    #[arg(long)]
    resume: bool,
    /// Where to train: cpu, or cuda / wgpu when built with that feature. Scores for
    /// the calibration are computed on the CPU, as `avad score` computes them.
    #[arg(long, default_value = "cpu")]
    device: String,
}

pub fn run(args: &Args) -> Result<()> {
    match &args.model {
        Model::Visual(a) => run_visual(a),
        Model::Audio(a) => crate::train_audio::run(a),
    }
}

fn run_visual(args: &VisualArgs) -> Result<()> {
    let mut preset = VisualPreset::load(&args.preset)?;
    override_preset(&mut preset, args.epochs, args.size, args.seed);
    preset.check().map_err(|reason| {
        anyhow::anyhow!("preset {} with the options given: {reason}", preset.name)
    })?;
    crate::out_dir::refuse_inside(&args.out, &[("the dataset", args.dataset.as_path())])?;
    refuse_trained_model(&args.out, args.resume, "checkpoint", "visual")?;
    let device = args.device.parse::<Accelerator>()?.training_device()?;
    let out_dir = crate::out_dir::OutDir::create(&args.out)?;

    let dataset = open_dataset(&args.dataset)?;
    let clips: Vec<_> = dataset.split(Split::Train).collect();
    if clips.is_empty() {
        let hint = if dataset.kind == DatasetKind::Umn {
            " (UMN's clips are all test clips: train the visual model on normal footage of \
             the scene, a folder with train/, and score UMN with it)"
        } else {
            ""
        };
        bail!(
            "{}: no training clips to learn normal scenes from{hint}",
            args.dataset.display()
        );
    }
    let bar = counter_bar(clips.len() as u64, "loading frames");
    let mut frame_clips = Vec::with_capacity(clips.len());
    for clip in &clips {
        bar.set_message(format!("loading {}", clip.name));
        frame_clips.push(load_clip(clip, &preset)?);
        bar.inc(1);
    }
    bar.finish_and_clear();

    let (train_idx, valid_idx) = split_clips(
        frame_clips.len(),
        preset.validation_fraction,
        preset.train.seed,
    );
    let names = |idx: &[usize]| {
        idx.iter()
            .map(|&i| frame_clips[i].name.clone())
            .collect::<Vec<_>>()
    };
    let (train_names, valid_names) = (names(&train_idx), names(&valid_idx));
    let set = SequenceSet::new(frame_clips, &valid_idx, preset.steps, &preset.strides)?;
    if set.len(Part::Train) == 0 {
        let held = if valid_names.is_empty() {
            String::new()
        } else {
            format!(
                " left to train on, after {} held out for validation ({}),",
                valid_names.len(),
                valid_names.join(", ")
            )
        };
        bail!(
            "{}: no training sequence: {}{held} {} shorter than {} frames, one sequence of preset {}",
            args.dataset.display(),
            format!("the {}", crate::count(train_names.len(), "clip")),
            if train_names.len() == 1 { "is" } else { "are" },
            preset.steps,
            preset.name
        );
    }
    eprintln!(
        "training the visual model (preset {}: {}x{} {}, {} epochs at most) on {} clips, {} sequences; \
         validating on {} held-out clips, {} sequences",
        preset.name,
        preset.size,
        preset.size,
        preset.input.name(),
        preset.train.epochs,
        train_names.len(),
        set.len(Part::Train),
        valid_names.len(),
        set.len(Part::Validation),
    );

    let started = Instant::now();
    device.seed(preset.train.seed);
    let config = VisualAutoencoderConfig::new();
    let network = config.init(&device)?;
    let mut progress = BarProgress::new();
    let trained = train(
        network,
        &set,
        &preset.train,
        &device,
        &args.out.join("checkpoint"),
        args.resume,
        &mut progress,
    )?;
    progress.finish();

    // Calibrate as `avad score` scores: the saved weights' values on the plain CPU device.
    let plain = Device::flex();
    let network = copy_weights(&trained.model, config.init(&plain)?)?.valid();
    let (calibration_clips, calibrated_on) = if valid_idx.is_empty() {
        (
            train_idx.clone(),
            "training clips (no clip was held out)".to_string(),
        )
    } else {
        (
            valid_idx.clone(),
            crate::count(valid_idx.len(), "held-out normal clip"),
        )
    };
    let clips: Vec<&FrameClip> = calibration_clips.iter().map(|&i| &set.clips()[i]).collect();
    let (calibration, patch, motion) =
        calibrate_on(&network, &clips, &preset, &calibrated_on, &plain)?;

    let model = VisualModel {
        card: VisualModelCard {
            format: FORMAT_VERSION,
            kind: "visual".into(),
            avad_version: env!("CARGO_PKG_VERSION").into(),
            preset: preset.clone(),
            model: config,
            dataset: args.dataset.display().to_string(),
            training: TrainingRecord::new(
                &trained,
                train_names,
                valid_names,
                calibration,
                calibrated_on,
            ),
            patch: Some(patch),
            motion: Some(motion),
        },
        network,
    };
    model.save(&args.out)?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let best = &trained.history[trained.best_epoch - 1];
    eprintln!(
        "trained {} epochs{} in {minutes:.1} min; kept epoch {} (train loss {:.5}{})",
        trained.history.len(),
        if trained.stopped_early {
            " (stopped early)"
        } else {
            ""
        },
        trained.best_epoch,
        best.train_loss,
        best.validation_loss
            .map(|v| format!(", validation loss {v:.5}"))
            .unwrap_or_default(),
    );
    out_dir.keep();
    eprintln!("model written to {}", args.out.display());
    Ok(())
}

/// The calibrations of `network` (frame error, patch score and motion score) on the normal
/// `clips`, with a progress bar; `calibrated_on` says what the clips are.
pub fn calibrate_on(
    network: &VisualAutoencoder,
    clips: &[&FrameClip],
    preset: &VisualPreset,
    calibrated_on: &str,
    device: &Device,
) -> Result<(Calibration, PatchCalibration, PatchCalibration)> {
    let bar = counter_bar(clips.len() as u64, "calibrating");
    bar.set_message(format!("calibrating on {} clips", clips.len()));
    let c = calibrate_visual(
        network,
        clips,
        preset.steps,
        preset.score_hop,
        device,
        &mut |_| bar.inc(1),
    )?;
    bar.finish_and_clear();
    let card = |(scorer, calibration)| PatchCalibration {
        scorer,
        calibration,
        calibrated_on: calibrated_on.to_string(),
    };
    Ok((c.frame, card(c.patch), card(c.motion)))
}

/// Refuses to train a `kind` model into `out` when it already holds a trained model, unless
/// `resume` continues its `checkpoints` (which must be there, and of the same kind), so a
/// finished model is never overwritten by accident.
pub fn refuse_trained_model(out: &Path, resume: bool, checkpoints: &str, kind: &str) -> Result<()> {
    let card = out.join(CARD_FILE);
    // A run stopped before its card was written leaves only checkpoints: a visual run's
    // `checkpoint/checkpoint.json`, an audio run's `checkpoint/FOLD/checkpoint.json` (FOLD
    // `all`, or a clip such as `test/Test001`).
    let checkpoint = out.join("checkpoint");
    let visual_checkpoint = checkpoint.join("checkpoint.json").is_file();
    fn below(dir: &Path, depth: usize) -> bool {
        depth > 0
            && std::fs::read_dir(dir).is_ok_and(|entries| {
                entries.flatten().any(|e| {
                    let p = e.path();
                    p.is_dir() && (p.join("checkpoint.json").is_file() || below(&p, depth - 1))
                })
            })
    }
    let audio_checkpoint = below(&checkpoint, 2);
    let other = match kind {
        "visual" if audio_checkpoint && !visual_checkpoint => Some("audio"),
        "audio" if visual_checkpoint => Some("visual"),
        _ => None,
    };
    if let Some(other) = other {
        bail!(
            "{}: holds the checkpoints of {} training run; choose another --out",
            out.display(),
            avad_model::model_dir::article(other)
        );
    }
    if !card.exists() {
        return Ok(());
    }
    if !resume {
        bail!(
            "{}: already holds a trained model; choose another --out (or --resume to continue its {checkpoints})",
            out.display()
        );
    }
    let held = std::fs::read_to_string(&card)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["kind"].as_str().map(str::to_string));
    if let Some(held) = held.filter(|h| h != kind) {
        bail!(
            "{}: holds {} model: no {kind} training to resume; choose another --out",
            out.display(),
            avad_model::model_dir::article(&held)
        );
    }
    if !out.join("checkpoint").is_dir() {
        bail!(
            "{}: holds a trained model and no checkpoint to resume; choose another --out",
            out.display()
        );
    }
    Ok(())
}

/// Applies the command line's overrides to `preset` and says so in its description, which
/// the model card keeps: a card must not describe a 96x96 model when it holds a 240x240 one.
fn override_preset(
    preset: &mut VisualPreset,
    epochs: Option<usize>,
    size: Option<usize>,
    seed: Option<u64>,
) {
    let mut changed = override_training(&mut preset.train, epochs, seed);
    if let Some(s) = size.filter(|&s| s != preset.size) {
        preset.size = s;
        changed.push(format!("{s}x{s} frames"));
    }
    note_overrides(&mut preset.description, &changed);
}

/// Applies `--epochs` and `--seed` to a preset's training settings (visual and audio
/// alike) and says, in words, which of them changed a value.
pub(crate) fn override_training(
    train: &mut TrainSettings,
    epochs: Option<usize>,
    seed: Option<u64>,
) -> Vec<String> {
    let mut changed = Vec::new();
    if let Some(e) = epochs.filter(|&e| e != train.epochs) {
        train.epochs = e;
        changed.push(format!("{e} epoch{}", if e == 1 { "" } else { "s" }));
    }
    if let Some(s) = seed.filter(|&s| s != train.seed) {
        train.seed = s;
        changed.push(format!("seed {s}"));
    }
    changed
}

/// Appends the settings a run changed (`changed`, each said as it was set) to a preset's
/// `description`.
pub(crate) fn note_overrides(description: &mut String, changed: &[String]) {
    if !changed.is_empty() {
        *description = format!("{description}; trained with {} instead", changed.join(", "));
    }
}

/// The frames of `clip` as the model of `preset` sees them: gray `size x size` images (or
/// their differences, the preset's `input`), in memory.
pub fn load_clip(clip: &Clip, preset: &VisualPreset) -> Result<FrameClip> {
    let side = preset.size;
    let size = FrameSize::new(side as u32, side as u32);
    let frames = clip
        .video
        .read_frames(size)
        .with_context(|| format!("reading clip {}", clip.name))?;
    Ok(FrameClip::new(
        clip.name.clone(),
        side,
        side,
        frames.into_iter().map(|f| f.data).collect(),
    )?
    .with_input(preset.input))
}

/// A bar counting `total` items.
pub fn counter_bar(total: u64, message: &str) -> ProgressBar {
    let bar = crate::progress::bar(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:30} [{bar:30}] {pos}/{len} {elapsed_precise}, {eta} left",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

/// Draws training progress: a bar per epoch with the running loss and the time left.
struct BarProgress {
    bar: Option<ProgressBar>,
    epoch: usize,
    epochs: usize,
    loss_sum: f64,
}

impl BarProgress {
    fn new() -> Self {
        BarProgress {
            bar: None,
            epoch: 0,
            epochs: 0,
            loss_sum: 0.0,
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Progress for BarProgress {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.finish();
        let bar = crate::progress::bar(batches as u64);
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} batches, {msg}, {elapsed_precise}, {eta} left")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{epoch}/{epochs}"));
        bar.set_message("loss -");
        self.bar = Some(bar);
        self.epoch = epoch;
        self.epochs = epochs;
        self.loss_sum = 0.0;
    }

    fn batch_done(&mut self, batch: usize, loss: f64) {
        self.loss_sum += loss;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("loss {:.5}", self.loss_sum / batch as f64));
            bar.inc(1);
        }
    }

    fn epoch_done(&mut self, r: &EpochRecord, best: bool) {
        self.finish();
        let left = (self.epochs - r.epoch) as f64 * r.seconds / 60.0;
        eprintln!(
            "epoch {}/{}: train loss {:.5}{}{} in {:.0} s (at most {left:.0} min left)",
            r.epoch,
            self.epochs,
            r.train_loss,
            r.validation_loss
                .map(|v| format!(", validation loss {v:.5}"))
                .unwrap_or_default(),
            if best { " (best)" } else { "" },
            r.seconds,
        );
    }

    fn resumed(&mut self, epoch: usize) {
        eprintln!("resuming after epoch {epoch}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_the_preset_and_say_so_in_its_description() {
        let cpu = VisualPreset::load("cpu").unwrap();
        let mut p = cpu.clone();
        override_preset(&mut p, Some(3), Some(240), Some(cpu.train.seed));
        assert_eq!(
            (p.train.epochs, p.size, p.train.seed),
            (3, 240, cpu.train.seed)
        );
        assert_eq!(
            p.description,
            format!(
                "{}; trained with 3 epochs, 240x240 frames instead",
                cpu.description
            )
        );
        // Nothing overridden, or overridden with the preset's own values: unchanged.
        let mut q = cpu.clone();
        override_preset(&mut q, None, Some(cpu.size), None);
        assert_eq!(q, cpu);
    }
}
