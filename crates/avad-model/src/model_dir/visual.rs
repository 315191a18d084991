//! Visual models: the card, and the directory loaded and saved.

use std::path::{Path, PathBuf};

use avad_atomic::write_atomic;
use avad_eval::normalize::Calibration;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::card::read_card;
use super::{
    dir_error, weights_error, write_history, ModelDirError, TrainingRecord, VisualPreset,
    CARD_FILE, WEIGHTS_FILE,
};
use crate::score::PatchScorer;
use crate::train::{load_model, save_model};
use crate::visual::{VisualAutoencoder, VisualAutoencoderConfig};

/// `model.json` of a visual model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisualModelCard {
    /// [`FORMAT_VERSION`](super::FORMAT_VERSION).
    pub format: u32,
    /// Always `"visual"`.
    pub kind: String,
    /// The avad version that trained it.
    pub avad_version: String,
    /// The settings of the run.
    pub preset: VisualPreset,
    /// The autoencoder's hyper-parameters.
    pub model: VisualAutoencoderConfig,
    /// The dataset it was trained on.
    pub dataset: String,
    /// How the weights were trained and calibrated (its fields sit at the card's top level).
    #[serde(flatten)]
    pub training: TrainingRecord,
    /// The patch score (avad's frame error, [`PatchScorer`]) and its calibration; absent
    /// from models trained before it (`avad calibrate` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<PatchCalibration>,
    /// The motion score (the patch score of the residual's change from frame to frame, see
    /// [`crate::score::ClipErrors::motion_maps`]) and its calibration; absent from models
    /// calibrated before it (`avad calibrate` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion: Option<PatchCalibration>,
}

/// The patch scorer of a visual model, fitted on held-out normal clips, and the
/// calibration of its scores on the same clips (cross-fitted: see
/// [`crate::score::fit_patch_scorer`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatchCalibration {
    /// Block and patch sides and the normal baseline.
    #[serde(flatten)]
    pub scorer: PatchScorer,
    /// The patch scores of the normal frames.
    pub calibration: Calibration,
    /// What both were fitted on.
    pub calibrated_on: String,
}

/// A loaded visual model, ready to score.
#[derive(Debug)]
pub struct VisualModel {
    /// Its card.
    pub card: VisualModelCard,
    /// The network, in validation mode.
    pub network: VisualAutoencoder,
}

impl VisualModel {
    /// Loads `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, ModelDirError> {
        let (card_path, card): (PathBuf, VisualModelCard) = read_card(dir, "visual", "a visual")?;
        card.preset
            .check()
            .map_err(|reason| dir_error(&card_path, reason))?;
        for p in card.patch.iter().chain(&card.motion) {
            p.scorer
                .check(card.preset.size)
                .map_err(|reason| dir_error(&card_path, reason))?;
        }
        let network = card
            .model
            .init(device)
            .map_err(|e| dir_error(&card_path, e))?;
        let weights = dir.join(WEIGHTS_FILE);
        let network = load_model(network, &weights).map_err(|e| weights_error(&weights, e))?;
        Ok(VisualModel {
            card,
            network: burn::module::Module::valid(&network),
        })
    }

    /// Writes the card, the weights and the loss curve into `dir` (created if needed).
    pub fn save(&self, dir: &Path) -> Result<(), ModelDirError> {
        std::fs::create_dir_all(dir).map_err(|e| dir_error(dir, e))?;
        let weights = dir.join(WEIGHTS_FILE);
        save_model(&self.network, &weights).map_err(|e| weights_error(&weights, e))?;
        write_history(
            dir,
            &self.card.training.history,
            &format!("visual model, preset {}", self.card.preset.name),
        )?;
        self.save_card(dir)
    }

    /// Writes only the card into `dir` (after a new calibration: the weights are unchanged).
    pub fn save_card(&self, dir: &Path) -> Result<(), ModelDirError> {
        let card_path = dir.join(CARD_FILE);
        let text =
            serde_json::to_string_pretty(&self.card).map_err(|e| dir_error(&card_path, e))?;
        write_atomic(&card_path, text.as_bytes()).map_err(|e| dir_error(&card_path, e))
    }
}
