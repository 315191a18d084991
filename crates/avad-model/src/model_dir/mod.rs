//! Presets and the trained-model directory.
//!
//! A preset (a TOML file; the built-in ones live in the repository's `presets/` folder)
//! fixes every setting of a training run. A trained model is a directory:
//!
//! ```text
//! model.json     kind, preset, model hyper-parameters, clips used, training history,
//!                calibration of the error distribution on held-out normal clips
//! weights.bpk    the weights (burnpack) of the best epoch
//! loss.csv       epoch, train_loss, validation_loss, seconds
//! loss.png/svg   the same as a plot
//! checkpoint/    the trainer's checkpoint (a resumed run continues from it)
//! ```
//!
//! Every file is written through a temporary file and a rename.

use std::path::{Path, PathBuf};

use avad_atomic::write_atomic;
use avad_eval::plots::{write_loss_curve, LossCurve};

use crate::train::EpochRecord;

mod audio;
mod card;
mod preset;
mod scoring;
#[cfg(test)]
mod tests;
mod visual;

pub use audio::{AudioFold, AudioModel, AudioModelCard};
pub use card::{article, model_kind, TrainingRecord};
pub use preset::{AudioPreset, VisualPreset};
pub use scoring::{FrameScore, VisualScoring};
pub use visual::{PatchCalibration, VisualModel, VisualModelCard};

/// `model.json`'s format version.
pub const FORMAT_VERSION: u32 = 1;
/// The model card's file name.
pub const CARD_FILE: &str = "model.json";
/// The weights' file name.
pub const WEIGHTS_FILE: &str = "weights.bpk";
/// The largest frame side a visual preset may ask for: four times Ped2's 240, far past
/// what trains on a CPU, and small enough that a typo fails here rather than in an
/// allocation.
pub const MAX_SIZE: usize = 1024;

/// Errors of presets and model directories; each names its file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ModelDirError {
    /// The file concerned.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

fn dir_error(path: &Path, reason: impl ToString) -> ModelDirError {
    ModelDirError {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// A weights file's error: a checkpoint error already names the file.
fn weights_error(path: &Path, error: crate::train::TrainError) -> ModelDirError {
    match error {
        crate::train::TrainError::Checkpoint { path, reason } => ModelDirError { path, reason },
        other => dir_error(path, other),
    }
}

/// Writes `loss.csv`, `loss.png` and `loss.svg` for `history` into `dir`.
pub fn write_history(
    dir: &Path,
    history: &[EpochRecord],
    title: &str,
) -> Result<(), ModelDirError> {
    let csv_path = dir.join("loss.csv");
    let mut csv = String::from("epoch,train_loss,validation_loss,seconds\n");
    for r in history {
        let valid = r.validation_loss.map(|v| v.to_string()).unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{:.1}\n",
            r.epoch, r.train_loss, valid, r.seconds
        ));
    }
    write_atomic(&csv_path, csv.as_bytes()).map_err(|e| dir_error(&csv_path, e))?;
    let train: Vec<f64> = history.iter().map(|r| r.train_loss).collect();
    let validation: Vec<f64> = history.iter().filter_map(|r| r.validation_loss).collect();
    let validation = if validation.len() == train.len() {
        validation
    } else {
        Vec::new()
    };
    let curve = LossCurve {
        title,
        train: &train,
        validation: &validation,
    };
    for ext in ["png", "svg"] {
        let path = dir.join(format!("loss.{ext}"));
        write_loss_curve(&curve, &path, (800, 500)).map_err(|e| dir_error(&path, e))?;
    }
    Ok(())
}
