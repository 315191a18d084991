//! What every model card shares: its header, its training record, reading it back.

use std::path::{Path, PathBuf};

use avad_eval::normalize::Calibration;
use serde::{Deserialize, Serialize};

use super::{dir_error, ModelDirError, CARD_FILE, FORMAT_VERSION};
use crate::train::{EpochRecord, Trained};

/// How one set of weights was trained and calibrated: the part of a model card that every
/// model has (a visual card holds one, an audio card one per fold).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// Clips (recordings) the weights were fitted on.
    pub train_clips: Vec<String>,
    /// Clips held out for validation and calibration.
    pub validation_clips: Vec<String>,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// The epoch whose weights were kept.
    pub best_epoch: usize,
    /// Whether early stopping ended training.
    pub stopped_early: bool,
    /// Errors on held-out normal data (the training data when none is held out), for the
    /// calibrated normalisation.
    pub calibration: Calibration,
    /// What the calibration was fitted on.
    pub calibrated_on: String,
}

impl TrainingRecord {
    /// The record of `trained`, fitted on `train_clips`, validated on `validation_clips`,
    /// calibrated as `calibration` on what `calibrated_on` says.
    pub fn new<M>(
        trained: &Trained<M>,
        train_clips: Vec<String>,
        validation_clips: Vec<String>,
        calibration: Calibration,
        calibrated_on: String,
    ) -> Self {
        TrainingRecord {
            train_clips,
            validation_clips,
            history: trained.history.clone(),
            best_epoch: trained.best_epoch,
            stopped_early: trained.stopped_early,
            calibration,
            calibrated_on,
        }
    }
}

/// The format and kind every model card starts with.
#[derive(Deserialize)]
struct CardHeader {
    format: u32,
    kind: String,
}

/// `dir/model.json`'s path, text and header; a card of another format is refused.
fn read_header(dir: &Path) -> Result<(PathBuf, String, CardHeader), ModelDirError> {
    let card_path = dir.join(CARD_FILE);
    if !dir.exists() {
        return Err(dir_error(dir, "no such model folder"));
    }
    if dir.is_dir() && !card_path.exists() {
        return Err(dir_error(
            dir,
            format!("not a model folder (no {CARD_FILE}; training writes one)"),
        ));
    }
    if !dir.is_dir() {
        return Err(dir_error(dir, "is a file, not a model folder"));
    }
    let text = std::fs::read_to_string(&card_path).map_err(|e| dir_error(&card_path, e))?;
    let header: CardHeader = serde_json::from_str(&text)
        .map_err(|e| dir_error(&card_path, format!("not an avad model card ({e})")))?;
    if header.format != FORMAT_VERSION {
        return Err(dir_error(
            &card_path,
            format!("model format {} is not {FORMAT_VERSION}", header.format),
        ));
    }
    Ok((card_path, text, header))
}

/// "an audio", "a visual": `kind` with its indefinite article.
pub fn article(kind: &str) -> String {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {kind}")
    } else {
        format!("a {kind}")
    }
}

/// `dir/model.json` as the card of a `kind` model (`"an audio"`, `"a visual"` name it in
/// errors). The kind is checked before the rest, so a card of another kind is named as such.
pub(super) fn read_card<C: serde::de::DeserializeOwned>(
    dir: &Path,
    kind: &str,
    a_kind: &str,
) -> Result<(PathBuf, C), ModelDirError> {
    let (card_path, text, header) = read_header(dir)?;
    if header.kind != kind {
        return Err(dir_error(
            &card_path,
            format!(
                "is {} model, expected {a_kind} model",
                article(&header.kind)
            ),
        ));
    }
    let card = serde_json::from_str(&text)
        .map_err(|e| dir_error(&card_path, format!("not an avad {kind} model card ({e})")))?;
    Ok((card_path, card))
}

/// The `kind` of the model in `dir` (`"visual"`, `"audio"`, ...), read from its card.
pub fn model_kind(dir: &Path) -> Result<String, ModelDirError> {
    Ok(read_header(dir)?.2.kind)
}
