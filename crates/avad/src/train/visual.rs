//! Training the visual autoencoder (Table 3) on a dataset's normal clips.

use std::path::Path;
use std::time::Instant;

use avad_data::{open_dataset, DatasetKind, Split};
use avad_eval::normalize::Calibration;
use avad_model::burn::module::Module;
use avad_model::burn::tensor::{Device, Tensor};
use avad_model::model_dir::{
    PatchCalibration, TrainingRecord, VisualModel, VisualModelCard, VisualPreset, FORMAT_VERSION,
};
use avad_model::score::calibrate_visual;
use avad_model::sequences::{split_clips, FrameClip, SequenceSet};
use avad_model::train::{copy_weights, seeded_init, train, Part, Samples, TrainSettings};
use avad_model::visual::VisualAutoencoder;
use avad_model::VisualAutoencoderConfig;

use super::count;
use crate::clips::load_clip;
use crate::error::{Error, Result};
use crate::models::Models;
use crate::progress::Progress;
use crate::score::{score_clips, ScoreConfig};
use crate::speed::{JointCalibration, Speed, SPEED_FILE};

/// Trains the visual autoencoder of `preset` on the training clips of the dataset at
/// `dataset` on `device`, holding whole clips out for validation, early stopping and
/// calibration, and writes the model directory `out` (a checkpoint after every epoch in
/// `out/checkpoint`, which `resume` continues). Returns the model.
pub fn train_visual(
    dataset: &Path,
    out: &Path,
    preset: &VisualPreset,
    resume: bool,
    device: &Device,
    progress: &dyn Progress,
) -> Result<VisualModel> {
    preset
        .check()
        .map_err(|reason| Error::invalid(format!("preset {}: {reason}", preset.name)))?;
    let data = open_dataset(dataset)?;
    let clips: Vec<_> = data.split(Split::Train).collect();
    if clips.is_empty() {
        let hint = if data.kind == DatasetKind::Umn {
            " (UMN's clips are all test clips: train the visual model on normal footage of \
             the scene, a folder with train/, and score UMN with it)"
        } else {
            ""
        };
        return Err(Error::invalid(format!(
            "{}: no training clips to learn normal scenes from{hint}",
            dataset.display()
        )));
    }
    progress.stage("loading frames", clips.len() as u64);
    let mut frame_clips = Vec::with_capacity(clips.len());
    for clip in &clips {
        progress.message(&format!("loading {}", clip.name));
        frame_clips.push(load_clip(clip, preset)?);
        progress.advance(1);
    }
    progress.finish();

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
        return Err(Error::invalid(format!(
            "{}: no training sequence: the {}{held} {} shorter than {} frames, one sequence of preset {}",
            dataset.display(),
            count(train_names.len(), "clip"),
            if train_names.len() == 1 { "is" } else { "are" },
            preset.steps,
            preset.name
        )));
    }
    progress.note(&format!(
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
    ));

    let started = Instant::now();
    let config = VisualAutoencoderConfig::new();
    let network = seeded_init(
        device,
        preset.train.seed,
        |d| config.init(d),
        |m, d| {
            let side = preset.size;
            m.forward(Tensor::zeros([1, preset.steps, 1, side, side], d))
                .map(|_| ())
        },
    )?;
    let trained = {
        let mut epochs = progress.training("visual");
        train(
            network,
            &set,
            &preset.train,
            device,
            &out.join("checkpoint"),
            resume,
            epochs.as_mut(),
        )?
    };

    // Calibrate as scoring scores: the saved weights' values on the plain CPU device.
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
            count(valid_idx.len(), "held-out normal clip"),
        )
    };
    let clips: Vec<&FrameClip> = calibration_clips.iter().map(|&i| &set.clips()[i]).collect();
    let (calibration, patch, motion) =
        calibrate_on(&network, &clips, preset, &calibrated_on, &plain, progress)?;

    let model = VisualModel {
        card: VisualModelCard {
            format: FORMAT_VERSION,
            kind: "visual".into(),
            avad_version: env!("CARGO_PKG_VERSION").into(),
            preset: preset.clone(),
            model: config,
            dataset: dataset.display().to_string(),
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
    model.save(out)?;
    let record = &model.card.training;
    let calibration_names = if record.validation_clips.is_empty() {
        &record.train_clips
    } else {
        &record.validation_clips
    };
    fit_speed(
        &data,
        &record.train_clips,
        calibration_names,
        &record.calibrated_on,
        out,
        progress,
    )?;
    let minutes = started.elapsed().as_secs_f64() / 60.0;
    let best = &trained.history[trained.best_epoch - 1];
    progress.note(&format!(
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
    ));
    Ok(model)
}

/// Fits the speed score beside the visual model in `model_dir` on the training clips
/// `fit`, calibrated on `calibrate`, and saves it there. When the normal clips give it
/// nothing to learn (nothing moves in them, or their speed scores do not vary) the model
/// goes on without one: a note says so, and a speed score fitted before is removed.
pub(crate) fn fit_speed(
    data: &avad_data::Dataset,
    fit: &[String],
    calibrate: &[String],
    calibrated_on: &str,
    model_dir: &Path,
    progress: &dyn Progress,
) -> Result<()> {
    let (mut speed, held_out) = match Speed::fit(data, fit, calibrate, calibrated_on, progress) {
        Ok(fitted) => fitted,
        Err(e @ (Error::Invalid(_) | Error::Calibration(_))) => {
            progress.note(&format!("no speed score: {e}"));
            let stale = model_dir.join(SPEED_FILE);
            return match std::fs::remove_file(&stale) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::Io { path: stale, error })
                }
                _ => Ok(()),
            };
        }
        Err(e) => return Err(e),
    };
    // The video error with the speed score on the same held-out clips, as scoring
    // computes it, for the model's default frame score: its label-free γ.
    let models = Models::load_with(&[model_dir.to_path_buf()], &Device::flex(), None, false)?;
    let visual = models
        .visual()
        .ok_or_else(|| Error::Models(format!("{}: not a visual model", model_dir.display())))?;
    // Speed::fit found every one of these names, so the clips line up with its scores.
    let clips: Vec<&avad_data::Clip> = calibrate
        .iter()
        .filter_map(|n| {
            data.clips
                .iter()
                .find(|c| c.split == Split::Train && &c.name == n)
        })
        .collect();
    let config = ScoreConfig {
        map_block: None,
        smooth: 0.0,
        ..ScoreConfig::default()
    };
    let scored = score_clips(&models, &clips, &config, &Device::flex(), progress)?;
    let own = visual.scoring()?.calibration.clone();
    let mut joint = Vec::new();
    for (s, raw) in scored.clips.iter().zip(&held_out) {
        joint.extend(
            s.modalities[0]
                .errors
                .iter()
                .zip(raw)
                .map(|(&e, &r)| speed.combine(&own, e, r)),
        );
    }
    // Errors that do not vary leave γ to the mean of the two (Speed::normal_gamma).
    speed.joint = Calibration::fit(&joint)
        .ok()
        .map(|calibration| JointCalibration {
            score: visual.score,
            calibration,
        });
    speed.save(model_dir)
}

/// The calibrations of `network` (frame error, patch score and motion score) on the normal
/// `clips`; `calibrated_on` says what the clips are.
pub fn calibrate_on(
    network: &VisualAutoencoder,
    clips: &[&FrameClip],
    preset: &VisualPreset,
    calibrated_on: &str,
    device: &Device,
    progress: &dyn Progress,
) -> Result<(Calibration, PatchCalibration, PatchCalibration)> {
    progress.stage("calibrating", clips.len() as u64);
    progress.message(&format!("calibrating on {} clips", clips.len()));
    let c = calibrate_visual(
        network,
        clips,
        preset.steps,
        preset.score_hop,
        device,
        &mut |_| progress.advance(1),
    )?;
    progress.finish();
    let card = |(scorer, calibration)| PatchCalibration {
        scorer,
        calibration,
        calibrated_on: calibrated_on.to_string(),
    };
    Ok((c.frame, card(c.patch), card(c.motion)))
}

/// Applies overrides of the epochs, the frame side and the seed to `preset` and says so in
/// its description, which the model card keeps: a card must not describe a 96x96 model
/// when it holds a 240x240 one.
pub fn override_visual_preset(
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
pub fn override_training(
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
pub fn note_overrides(description: &mut String, changed: &[String]) {
    if !changed.is_empty() {
        *description = format!("{description}; trained with {} instead", changed.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_the_preset_and_say_so_in_its_description() {
        let cpu = VisualPreset::load("cpu").unwrap();
        let mut p = cpu.clone();
        override_visual_preset(&mut p, Some(3), Some(240), Some(cpu.train.seed));
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
        override_visual_preset(&mut q, None, Some(cpu.size), None);
        assert_eq!(q, cpu);
    }
}
