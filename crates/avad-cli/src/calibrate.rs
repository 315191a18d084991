//! `avad calibrate`: fit a visual model's calibrations (frame error, patch and motion
//! scores) anew on normal clips, keeping its weights.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use avad_data::{open_dataset, Split};
use avad_model::burn::tensor::Device;
use avad_model::model_dir::VisualModel;
use avad_model::sequences::FrameClip;

use crate::train::{calibrate_on, load_clip};

/// Calibrate a trained visual model on normal clips, keeping its weights.
///
/// The calibrated normalisation and the label-free γ come from the errors of normal
/// clips that the model did not train on. By default those are the clips the model held
/// out when it was trained (model.json lists them), read again from DATASET, which must
/// then be the dataset it was trained on; with --clip, the clips named (normal footage of
/// a new camera, say: every frame of them must be normal). The frame error (eq. 3), the patch score and the motion score are
/// calibrated; a model calibrated before either score gains it here. Only
/// MODEL/model.json is rewritten (atomically); scores change only through the calibration.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Visual model directory.
    model: PathBuf,
    /// Dataset folder holding the normal clips.
    dataset: PathBuf,
    /// Calibrate on these training clips instead of the model's held-out ones (repeatable).
    #[arg(long = "clip")]
    clips: Vec<String>,
}

pub fn run(args: &Args) -> Result<()> {
    let device = Device::flex();
    let mut model = VisualModel::load(&args.model, &device)?;
    let dataset = open_dataset(&args.dataset)?;
    let card = &model.card;
    // The clip names the card lists are those of the dataset it was trained on.
    let same = same_dataset(&card.dataset, &args.dataset);
    let (names, calibrated_on) = if args.clips.is_empty() {
        match same {
            Some(false) => bail!(
                "{}: the model was trained on {}, which holds the clips it held out; \
                 give that dataset, or name normal clips of this one with --clip",
                args.dataset.display(),
                card.dataset
            ),
            None => eprintln!(
                "note: {} (where the model was trained) is not found from here; taking {} for it",
                card.dataset,
                args.dataset.display()
            ),
            Some(true) => {}
        }
        if card.training.validation_clips.is_empty() {
            (
                card.training.train_clips.clone(),
                "training clips (no clip was held out)".to_string(),
            )
        } else {
            let names = card.training.validation_clips.clone();
            let on = crate::count(names.len(), "held-out normal clip");
            (names, on)
        }
    } else {
        // Clips are known by name: another dataset's clip of a name the model trained on
        // is refused as well, rather than risk calibrating on training footage.
        if let Some(seen) = args
            .clips
            .iter()
            .find(|n| card.training.train_clips.contains(n))
        {
            bail!(
                "{}: clip {seen} trained the model (a clip of that name in {}); calibrate on clips it has not seen",
                args.model.display(),
                card.dataset
            );
        }
        // A clip named twice counts once.
        let mut names: Vec<String> = Vec::new();
        for n in &args.clips {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        let on = format!(
            "{} named to avad calibrate",
            crate::count(names.len(), "normal clip")
        );
        (names, on)
    };
    let mut clips = Vec::with_capacity(names.len());
    for name in &names {
        let clip = dataset
            .clips
            .iter()
            .find(|c| c.split == Split::Train && &c.name == name)
            .with_context(|| {
                format!("{}: no training clip named {name}", args.dataset.display())
            })?;
        clips.push(load_clip(clip, &card.preset)?);
    }
    let refs: Vec<&FrameClip> = clips.iter().collect();
    let (frame, patch, motion) =
        calibrate_on(&model.network, &refs, &card.preset, &calibrated_on, &device)?;
    model.card.training.calibration = frame;
    model.card.training.calibrated_on = calibrated_on.clone();
    model.card.patch = Some(patch);
    model.card.motion = Some(motion);
    model.save_card(&args.model)?;
    eprintln!(
        "{}: calibrated on {calibrated_on} ({})",
        args.model.display(),
        names.join(", ")
    );
    Ok(())
}

/// Whether `given` is the dataset a model was trained on, `recorded` as its trainer gave
/// the path; `None` when that path leads nowhere from here (moved, or relative to another
/// folder). The same data reached by another path (a copy) counts as another dataset.
fn same_dataset(recorded: &str, given: &Path) -> Option<bool> {
    let a = Path::new(recorded).canonicalize().ok()?;
    let b = given.canonicalize().ok()?;
    Some(a == b)
}
