//! Audio models: the card with its folds, and the directory loaded and saved.

use std::path::{Path, PathBuf};

use avad_atomic::write_atomic;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::card::read_card;
use super::{
    dir_error, weights_error, write_history, AudioPreset, ModelDirError, TrainingRecord, CARD_FILE,
};
use crate::audio::{AudioAutoencoder, AudioAutoencoderConfig, AudioScaler};
use crate::train::{load_model, save_model};
use crate::ScoringError;

/// One set of audio weights and what they were fitted on. A leave-one-clip-out model has
/// one fold per clip; a model of normal recordings has one fold that scores any clip.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudioFold {
    /// The one clip these weights score (leave-one-clip-out), or `None`: any clip that is
    /// not among `train_clips` and `validation_clips`.
    pub held_out: Option<String>,
    /// The weights' file in the model directory.
    pub weights: String,
    /// Feature scaling fitted on this fold's training frames.
    pub scaler: AudioScaler,
    /// How the weights were trained (on the normal frames of `train_clips`) and calibrated
    /// (its fields sit in the fold's object).
    #[serde(flatten)]
    pub training: TrainingRecord,
}

/// `model.json` of an audio model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AudioModelCard {
    /// [`FORMAT_VERSION`](super::FORMAT_VERSION).
    pub format: u32,
    /// Always `"audio"`.
    pub kind: String,
    /// The avad version that trained it.
    pub avad_version: String,
    /// The settings of the run.
    pub preset: AudioPreset,
    /// The autoencoder's hyper-parameters.
    pub model: AudioAutoencoderConfig,
    /// Where the normal sound came from, in words.
    pub protocol: String,
    /// The dataset or folder it was trained on.
    pub source: String,
    /// The weights.
    pub folds: Vec<AudioFold>,
}

/// A loaded audio model, ready to score.
#[derive(Debug)]
pub struct AudioModel {
    /// Its card.
    pub card: AudioModelCard,
    /// One network per fold, in validation mode.
    pub networks: Vec<AudioAutoencoder>,
}

impl AudioModel {
    /// Loads `dir` onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self, ModelDirError> {
        let (card_path, card): (PathBuf, AudioModelCard) = read_card(dir, "audio", "an audio")?;
        card.preset
            .check()
            .map_err(|reason| dir_error(&card_path, reason))?;
        if card.folds.is_empty() {
            return Err(dir_error(&card_path, "lists no weights (folds)"));
        }
        let mut networks = Vec::new();
        for fold in &card.folds {
            let network = card
                .model
                .init(device)
                .map_err(|e| dir_error(&card_path, e))?;
            let weights = dir.join(&fold.weights);
            let network = load_model(network, &weights).map_err(|e| weights_error(&weights, e))?;
            networks.push(burn::module::Module::valid(&network));
        }
        Ok(AudioModel { card, networks })
    }

    /// The fold that may score `clip`: the one that held it out, else one whose training
    /// never saw it, else (a clip no fold names: another dataset's, say) the first. A clip
    /// is known by its name (`test/Test001`), so another dataset's clip of a name some fold
    /// trained on is refused too: scoring a clip with weights fitted on it is never done.
    pub fn fold_for(&self, clip: &str) -> Result<usize, ScoringError> {
        let folds = &self.card.folds;
        if let Some(i) = folds
            .iter()
            .position(|f| f.held_out.as_deref() == Some(clip))
        {
            return Ok(i);
        }
        let named = folds.iter().any(|f| {
            f.training
                .train_clips
                .iter()
                .chain(&f.training.validation_clips)
                .any(|c| c == clip)
        });
        if !named && !folds.is_empty() {
            return Ok(0);
        }
        folds
            .iter()
            .position(|f| {
                f.held_out.is_none()
                    && !f.training.train_clips.iter().any(|c| c == clip)
                    && !f.training.validation_clips.iter().any(|c| c == clip)
            })
            .ok_or_else(|| ScoringError::TrainedOn(clip.to_string()))
    }

    /// Writes the card, every fold's weights and the loss curves into `dir`.
    pub fn save(&self, dir: &Path) -> Result<(), ModelDirError> {
        std::fs::create_dir_all(dir).map_err(|e| dir_error(dir, e))?;
        for (fold, network) in self.card.folds.iter().zip(&self.networks) {
            let weights = dir.join(&fold.weights);
            if let Some(parent) = weights.parent() {
                std::fs::create_dir_all(parent).map_err(|e| dir_error(parent, e))?;
            }
            save_model(network, &weights).map_err(|e| weights_error(&weights, e))?;
        }
        // The loss curve of the first fold (of the only one, for normal recordings); every
        // fold's history is in the card.
        let first = &self.card.folds[0];
        let title = match &first.held_out {
            Some(c) => format!("audio model, fold without {c}"),
            None => "audio model".to_string(),
        };
        write_history(dir, &first.training.history, &title)?;
        let card_path = dir.join(CARD_FILE);
        let text =
            serde_json::to_string_pretty(&self.card).map_err(|e| dir_error(&card_path, e))?;
        write_atomic(&card_path, text.as_bytes()).map_err(|e| dir_error(&card_path, e))
    }
}
