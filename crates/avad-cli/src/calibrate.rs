//! `avad calibrate`: fit a visual model's calibrations (frame error, patch and motion
//! scores) anew on normal clips, keeping its weights.

use std::path::PathBuf;

use anyhow::Result;

use crate::progress::Bars;

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
    let done = avad::calibrate(&args.model, &args.dataset, &args.clips, &Bars::default()).map_err(
        |e| match e {
            avad::Error::Invalid(r) if r.ends_with("or name normal clips of this one") => {
                anyhow::anyhow!("{r} with --clip")
            }
            e => e.into(),
        },
    )?;
    eprintln!(
        "{}: calibrated on {} ({})",
        args.model.display(),
        done.on,
        done.clips.join(", ")
    );
    Ok(())
}
