//! Fitting a visual model's calibrations (frame error, patch and motion scores) anew on
//! normal clips, keeping its weights, and its speed score.

use std::path::Path;

use avad_data::{open_dataset, Split};
use avad_model::burn::tensor::Device;
use avad_model::model_dir::VisualModel;
use avad_model::sequences::FrameClip;

use super::{calibrate_on, count};
use crate::clips::load_clip;
use crate::error::{Context, Error, Result};
use crate::progress::Progress;

/// What [`calibrate`] calibrated on.
#[derive(Clone, Debug)]
pub struct Calibrated {
    /// The clips, by name.
    pub clips: Vec<String>,
    /// What they are, as the model card says it.
    pub on: String,
}

/// Fits the calibrations of the visual model in `model_dir` (the frame error of eq. 3,
/// the patch score and the motion score) on normal clips of the dataset at `dataset` and
/// rewrites its `model.json` (atomically; the weights stay); fits its speed score on the
/// clips it trained on, calibrated on the same normal clips (`speed.json`). With no `clips` named, on
/// the clips the model held out when it was trained, which `dataset` must then be the
/// dataset it was trained on; else on the training clips named, every frame of them
/// normal, none a clip the model trained on.
pub fn calibrate(
    model_dir: &Path,
    dataset: &Path,
    clips: &[String],
    progress: &dyn Progress,
) -> Result<Calibrated> {
    let device = Device::flex();
    let mut model = VisualModel::load(model_dir, &device)?;
    let data = open_dataset(dataset)?;
    let card = &model.card;
    // The clip names the card lists are those of the dataset it was trained on.
    let same = same_dataset(&card.dataset, dataset);
    let (names, calibrated_on) = if clips.is_empty() {
        match same {
            Some(false) => {
                return Err(Error::invalid(format!(
                    "{}: the model was trained on {}, which holds the clips it held out; \
                     give that dataset, or name normal clips of this one",
                    dataset.display(),
                    card.dataset
                )))
            }
            None => progress.note(&format!(
                "note: {} (where the model was trained) is not found from here; taking {} for it",
                card.dataset,
                dataset.display()
            )),
            Some(true) => {}
        }
        if card.training.validation_clips.is_empty() {
            (
                card.training.train_clips.clone(),
                "training clips (no clip was held out)".to_string(),
            )
        } else {
            let names = card.training.validation_clips.clone();
            let on = count(names.len(), "held-out normal clip");
            (names, on)
        }
    } else {
        // Clips are known by name: another dataset's clip of a name the model trained on
        // is refused as well, rather than risk calibrating on training footage.
        if let Some(seen) = clips.iter().find(|n| card.training.train_clips.contains(n)) {
            return Err(Error::Fold {
                model: model_dir.to_path_buf(),
                reason: format!(
                    "clip {seen} trained the model (a clip of that name in {}); calibrate on clips it has not seen",
                    card.dataset
                ),
            });
        }
        // A clip named twice counts once.
        let mut names: Vec<String> = Vec::new();
        for n in clips {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let on = format!(
            "{} named to avad calibrate",
            count(names.len(), "normal clip")
        );
        (names, on)
    };
    let mut frames = Vec::with_capacity(names.len());
    for name in &names {
        let clip = data
            .clips
            .iter()
            .find(|c| c.split == Split::Train && &c.name == name)
            .with_context(|| format!("{}: no training clip named {name}", dataset.display()))?;
        frames.push(load_clip(clip, &card.preset)?);
    }
    let refs: Vec<&FrameClip> = frames.iter().collect();
    let (frame, patch, motion) = calibrate_on(
        &model.network,
        &refs,
        &card.preset,
        &calibrated_on,
        &device,
        progress,
    )?;
    model.card.training.calibration = frame;
    model.card.training.calibrated_on = calibrated_on.clone();
    model.card.patch = Some(patch);
    model.card.motion = Some(motion);
    model.save_card(model_dir)?;
    super::visual::fit_speed(
        &data,
        &model.card.training.train_clips,
        &names,
        &calibrated_on,
        model_dir,
        progress,
    )?;
    Ok(Calibrated {
        clips: names,
        on: calibrated_on,
    })
}

/// Whether `given` is the dataset a model was trained on, `recorded` as its trainer gave
/// the path; `None` when that path leads nowhere from here (moved, or relative to another
/// folder). The same data reached by another path (a copy) counts as another dataset.
fn same_dataset(recorded: &str, given: &Path) -> Option<bool> {
    let a = Path::new(recorded).canonicalize().ok()?;
    let b = given.canonicalize().ok()?;
    Some(a == b)
}
