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
//! checkpoint/    the trainer's checkpoint (resume with --resume)
//! ```
//!
//! Every file is written through a temporary file and a rename.

use std::path::{Path, PathBuf};

use avad_eval::normalize::Calibration;
use avad_eval::plots::{write_loss_curve, LossCurve};
use avad_media::write_atomic;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::audio::{AudioAutoencoder, AudioAutoencoderConfig, AudioError, AudioScaler};
use crate::score::{ClipErrors, PatchScorer};
use crate::sequences::VisualInput;
use crate::train::{load_model, save_model, EpochRecord, TrainSettings, Trained};
use crate::visual::{VisualAutoencoder, VisualAutoencoderConfig};

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

/// The text of a built-in preset (by name, from `builtin`) or of a preset file (by path),
/// with the path that names it in errors. `label` says what kind of preset it is in the
/// error for a name that is neither.
fn preset_text(
    name_or_path: &str,
    builtin: &[(&str, &'static str)],
    folder_prefix: &str,
    label: &str,
) -> Result<(String, PathBuf), ModelDirError> {
    if let Some((name, text)) = builtin.iter().find(|(n, _)| *n == name_or_path) {
        return Ok((
            text.to_string(),
            PathBuf::from(format!("presets/{folder_prefix}-{name}.toml")),
        ));
    }
    let path = Path::new(name_or_path);
    if !path.exists() {
        let names: Vec<&str> = builtin.iter().map(|(n, _)| *n).collect();
        return Err(dir_error(
            path,
            format!(
                "no such preset file, and not a built-in {label} ({})",
                names.join(", ")
            ),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| dir_error(path, e))?;
    Ok((text, path.to_path_buf()))
}

/// Every setting of a visual training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisualPreset {
    /// Short name (`paper`, `cpu`, ...).
    pub name: String,
    /// One line saying what it is.
    pub description: String,
    /// Side of the square gray frames the model sees (a multiple of 8, at most
    /// [`MAX_SIZE`]).
    pub size: usize,
    /// Frames per sequence.
    pub steps: usize,
    /// Frame strides of the training windows.
    pub strides: Vec<usize>,
    /// Fraction of the training clips held out (whole) for validation and calibration.
    pub validation_fraction: f64,
    /// Frames between the starts of scoring windows.
    pub score_hop: usize,
    /// What the model sees of each frame: `frames` (the paper's, and the default for
    /// presets and models that do not say) or `differences` (each frame's change from the
    /// one before).
    #[serde(default)]
    pub input: VisualInput,
    /// Optimisation.
    pub train: TrainSettings,
}

const BUILTIN: [(&str, &str); 4] = [
    ("paper", include_str!("../../../presets/visual-paper.toml")),
    ("cpu", include_str!("../../../presets/visual-cpu.toml")),
    (
        "cpu-240",
        include_str!("../../../presets/visual-cpu-240.toml"),
    ),
    ("demo", include_str!("../../../presets/visual-demo.toml")),
];

impl VisualPreset {
    /// A built-in preset by name, or a preset file by path.
    pub fn load(name_or_path: &str) -> Result<Self, ModelDirError> {
        let (text, origin) = preset_text(name_or_path, &BUILTIN, "visual", "preset")?;
        Self::from_toml(&text, &origin)
    }

    /// Parses and checks a preset; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ModelDirError> {
        let preset: VisualPreset = toml::from_str(text)
            .map_err(|e| dir_error(origin, avad_data::toml_reason(text, &e)))?;
        preset.check().map_err(|reason| dir_error(origin, reason))?;
        Ok(preset)
    }

    /// Checks that the settings can train.
    pub fn check(&self) -> Result<(), String> {
        if self.size == 0 || !self.size.is_multiple_of(8) {
            return Err(format!(
                "size {} must be a positive multiple of 8",
                self.size
            ));
        }
        if self.size > MAX_SIZE {
            return Err(format!(
                "size {} is more than {MAX_SIZE} pixels a side",
                self.size
            ));
        }
        if self.steps == 0 || self.strides.is_empty() || self.strides.contains(&0) {
            return Err("steps and strides must be positive".into());
        }
        if self.steps < 2 {
            return Err(format!(
                "steps {} must be at least 2: the motion score compares consecutive frames",
                self.steps
            ));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(format!(
                "validation_fraction {} must be in [0, 1)",
                self.validation_fraction
            ));
        }
        if self.score_hop == 0 || self.train.epochs == 0 || self.train.batch_size == 0 {
            return Err("score_hop, epochs and batch_size must be at least 1".into());
        }
        if !(self.train.learning_rate.is_finite() && self.train.learning_rate > 0.0) {
            return Err(format!(
                "learning_rate {} must be positive",
                self.train.learning_rate
            ));
        }
        Ok(())
    }
}

/// `model.json` of a visual model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VisualModelCard {
    /// [`FORMAT_VERSION`].
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
            format!("not a model folder (no {CARD_FILE}; `avad train` writes one)"),
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
fn read_card<C: serde::de::DeserializeOwned>(
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

/// Every setting of an audio training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioPreset {
    /// Short name.
    pub name: String,
    /// One line saying what it is.
    pub description: String,
    /// Feature frames per sequence (a multiple of 4, the encoder's downsampling).
    pub steps: usize,
    /// Frames between the starts of training windows.
    pub train_hop: usize,
    /// Frames between the starts of scoring windows.
    pub score_hop: usize,
    /// Fraction of the training recordings held out (whole) for validation and calibration.
    pub validation_fraction: f64,
    /// How a frame's reconstruction error adds up its values: `values` (the Euclidean
    /// distance over all 160, the default for presets and models that do not say) or
    /// `features` (each of the eight features weighs the same).
    #[serde(default)]
    pub error: AudioError,
    /// Optimisation.
    pub train: TrainSettings,
}

const AUDIO_BUILTIN: [(&str, &str); 1] =
    [("paper", include_str!("../../../presets/audio-paper.toml"))];

impl AudioPreset {
    /// A built-in preset by name (`paper`), or a preset file by path.
    pub fn load(name_or_path: &str) -> Result<Self, ModelDirError> {
        let (text, origin) = preset_text(name_or_path, &AUDIO_BUILTIN, "audio", "audio preset")?;
        Self::from_toml(&text, &origin)
    }

    /// Parses and checks a preset; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, ModelDirError> {
        let preset: AudioPreset = toml::from_str(text)
            .map_err(|e| dir_error(origin, avad_data::toml_reason(text, &e)))?;
        preset.check().map_err(|reason| dir_error(origin, reason))?;
        Ok(preset)
    }

    /// Checks that the settings can train.
    pub fn check(&self) -> Result<(), String> {
        if self.steps == 0 || !self.steps.is_multiple_of(4) {
            return Err(format!(
                "steps {} must be a positive multiple of 4",
                self.steps
            ));
        }
        if self.train_hop == 0
            || self.score_hop == 0
            || self.train.epochs == 0
            || self.train.batch_size == 0
        {
            return Err("train_hop, score_hop, epochs and batch_size must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(format!(
                "validation_fraction {} must be in [0, 1)",
                self.validation_fraction
            ));
        }
        if !(self.train.learning_rate.is_finite() && self.train.learning_rate > 0.0) {
            return Err(format!(
                "learning_rate {} must be positive",
                self.train.learning_rate
            ));
        }
        Ok(())
    }
}

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
    /// [`FORMAT_VERSION`].
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
    pub fn fold_for(&self, clip: &str) -> Result<usize, String> {
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
            .ok_or_else(|| {
                format!("clip {clip}: every audio fold of this model was trained on it (scoring it would flatter the model)")
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_presets_parse_and_cite_the_paper() {
        let paper = VisualPreset::load("paper").unwrap();
        assert_eq!(
            (
                paper.size,
                paper.steps,
                paper.train.epochs,
                paper.train.batch_size
            ),
            (240, 10, 300, 10)
        );
        assert_eq!(paper.strides, vec![1, 2, 3]);
        assert_eq!(paper.input, VisualInput::Frames, "the paper feeds frames");
        let cpu = VisualPreset::load("cpu").unwrap();
        assert!(cpu.size < paper.size && cpu.train.epochs < paper.train.epochs);
        assert_eq!(cpu.input, VisualInput::Differences);
        // cpu-240 is the cpu preset at the paper's frame size, and nothing else.
        let full = VisualPreset::load("cpu-240").unwrap();
        assert_eq!(full.size, paper.size);
        assert_eq!(
            VisualPreset {
                name: cpu.name.clone(),
                description: cpu.description.clone(),
                size: cpu.size,
                ..full
            },
            cpu
        );
        assert_eq!(
            VisualPreset::load("demo").unwrap().input,
            VisualInput::Differences
        );
        // A preset (or a model card's) without `input` is one from before it: frames.
        let older =
            include_str!("../../../presets/visual-cpu.toml").replace("input = \"differences\"", "");
        assert_eq!(
            VisualPreset::from_toml(&older, Path::new("v.toml"))
                .unwrap()
                .input,
            VisualInput::Frames
        );
        let wrong =
            include_str!("../../../presets/visual-cpu.toml").replace("\"differences\"", "\"flow\"");
        let err = VisualPreset::from_toml(&wrong, Path::new("v.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("v.toml: line ") && err.contains(": unknown variant `flow`"),
            "{err}"
        );
        let err = VisualPreset::load("no-such-preset")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not a built-in preset (paper, cpu, cpu-240, demo)"),
            "{err}"
        );
    }

    #[test]
    fn audio_preset_is_table_6s_ped2_run() {
        let p = AudioPreset::load("paper").unwrap();
        assert_eq!((p.steps, p.train.epochs, p.train.batch_size), (32, 50, 10));
        assert_eq!(p.error, AudioError::Features);
        // A preset (or a model card's) without `error` is one from before it: eq. 3's form.
        let older =
            include_str!("../../../presets/audio-paper.toml").replace("error = \"features\"", "");
        assert_eq!(
            AudioPreset::from_toml(&older, Path::new("a.toml"))
                .unwrap()
                .error,
            AudioError::Values
        );
        let wrong =
            include_str!("../../../presets/audio-paper.toml").replace("\"features\"", "\"bands\"");
        let err = AudioPreset::from_toml(&wrong, Path::new("a.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a.toml: line ") && err.contains(": unknown variant `bands`"),
            "{err}"
        );
        let text =
            include_str!("../../../presets/audio-paper.toml").replace("steps = 32", "steps = 30");
        let err = AudioPreset::from_toml(&text, Path::new("a.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a.toml: steps 30 must be a positive multiple of 4"),
            "{err}"
        );
    }

    fn fold(held_out: Option<&str>, train: &[&str]) -> AudioFold {
        let m = avad_features::FeatureMatrix {
            frames: 2,
            data: (0..320).map(|i| i as f32).collect(),
        };
        AudioFold {
            held_out: held_out.map(str::to_string),
            weights: "w.bpk".into(),
            scaler: AudioScaler::fit(&[&m]).unwrap(),
            training: TrainingRecord {
                train_clips: train.iter().map(|s| s.to_string()).collect(),
                validation_clips: vec![],
                history: vec![],
                best_epoch: 1,
                stopped_early: false,
                calibration: Calibration::fit(&[1.0, 2.0, 3.0]).unwrap(),
                calibrated_on: String::new(),
            },
        }
    }

    #[test]
    fn audio_folds_never_score_their_own_training_clips() {
        let card = |folds| AudioModelCard {
            format: FORMAT_VERSION,
            kind: "audio".into(),
            avad_version: String::new(),
            preset: AudioPreset::load("paper").unwrap(),
            model: AudioAutoencoderConfig::new(),
            protocol: String::new(),
            source: String::new(),
            folds,
        };
        let loco = AudioModel {
            card: card(vec![
                fold(Some("a"), &["b", "c"]),
                fold(Some("b"), &["a", "c"]),
            ]),
            networks: vec![],
        };
        assert_eq!(loco.fold_for("a"), Ok(0));
        assert_eq!(loco.fold_for("b"), Ok(1));
        let err = loco.fold_for("c").unwrap_err();
        assert!(
            err.contains("every audio fold of this model was trained on it"),
            "{err}"
        );
        // A clip no fold names (another dataset's, say): no fold saw it, the first scores it.
        assert_eq!(loco.fold_for("nope"), Ok(0));
        let normal = AudioModel {
            card: card(vec![fold(None, &["n1", "n2"])]),
            networks: vec![],
        };
        assert_eq!(normal.fold_for("test1"), Ok(0));
        assert!(normal.fold_for("n2").is_err());
    }

    #[test]
    fn bad_presets_name_the_file_and_the_field() {
        let text =
            include_str!("../../../presets/visual-cpu.toml").replace("size = 96", "size = 100");
        let err = VisualPreset::from_toml(&text, Path::new("my.toml"))
            .unwrap_err()
            .to_string();
        let huge = VisualPreset::from_toml(
            &text.replace("size = 100", "size = 4000000000"),
            Path::new("my.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            huge.starts_with("my.toml: size 4000000000 is more than 1024 pixels a side"),
            "{huge}"
        );
        assert!(
            err.starts_with("my.toml: size 100 must be a positive multiple of 8"),
            "{err}"
        );
        let text =
            include_str!("../../../presets/visual-cpu.toml").replace("steps = 10", "steps = 1");
        let err = VisualPreset::from_toml(&text, Path::new("my.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("my.toml: steps 1 must be at least 2"),
            "{err}"
        );
        let text =
            include_str!("../../../presets/visual-cpu.toml").replace("steps = 10", "stepz = 10");
        let err = VisualPreset::from_toml(&text, Path::new("my.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("stepz"), "{err}");
    }
}

/// Which frame error a visual model scores with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameScore {
    /// Eq. 3: the Euclidean error over the whole frame.
    Paper,
    /// The patch score ([`PatchScorer`]).
    Patch,
    /// The motion score: the patch score of the residual's change from frame to frame.
    Motion,
}

impl FrameScore {
    /// `paper`, `patch` or `motion`.
    pub fn name(self) -> &'static str {
        match self {
            FrameScore::Paper => "paper",
            FrameScore::Patch => "patch",
            FrameScore::Motion => "motion",
        }
    }
}

impl std::str::FromStr for FrameScore {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "paper" => Ok(FrameScore::Paper),
            "patch" => Ok(FrameScore::Patch),
            "motion" => Ok(FrameScore::Motion),
            other => Err(format!(
                "{other}: expected paper (eq. 3, the whole frame), patch or motion"
            )),
        }
    }
}

/// How a visual model turns its reconstructions into frame errors, and their calibration.
#[derive(Debug, Clone, Copy)]
pub struct VisualScoring<'a> {
    /// Which frame error.
    pub kind: FrameScore,
    /// Its calibration on held-out normal clips.
    pub calibration: &'a Calibration,
    /// The patch scorer, for [`FrameScore::Patch`] and [`FrameScore::Motion`].
    pub scorer: Option<&'a PatchScorer>,
}

impl VisualScoring<'_> {
    /// The block of the error maps [`crate::score::visual_errors`] must pool for this score
    /// ([`crate::score::ScoreOptions::patch_block`]).
    pub fn patch_block(&self) -> Option<usize> {
        self.scorer.map(|s| s.block)
    }

    /// The frame errors of a scored clip (scored with [`VisualScoring::patch_block`]).
    pub fn frame_errors(&self, errors: &ClipErrors) -> Result<Vec<f64>, crate::ModelError> {
        match self.scorer {
            None => Ok(errors.errors.clone()),
            Some(scorer) => {
                let maps = match self.kind {
                    FrameScore::Motion => errors.motion_maps.as_ref(),
                    _ => errors.patch_maps.as_ref(),
                };
                let maps = maps.ok_or_else(|| {
                    crate::ModelError::Data(format!(
                        "the {} score needs error maps pooled at its block",
                        self.kind.name()
                    ))
                })?;
                scorer.scores(maps)
            }
        }
    }
}

impl VisualModel {
    /// The frame score `asked`, or by default the motion score when the card has one, else
    /// the patch score, else eq. 3's, with its calibration.
    pub fn scoring(&self, asked: Option<FrameScore>) -> Result<VisualScoring<'_>, String> {
        let card = &self.card;
        let kind = asked.unwrap_or(if card.motion.is_some() {
            FrameScore::Motion
        } else if card.patch.is_some() {
            FrameScore::Patch
        } else {
            FrameScore::Paper
        });
        let fitted = match kind {
            FrameScore::Paper => {
                return Ok(VisualScoring {
                    kind,
                    calibration: &card.training.calibration,
                    scorer: None,
                });
            }
            FrameScore::Patch => card.patch.as_ref(),
            FrameScore::Motion => card.motion.as_ref(),
        };
        match fitted {
            Some(p) => Ok(VisualScoring { kind, calibration: &p.calibration, scorer: Some(&p.scorer) }),
            None => Err(format!(
                "the model has no {} score (it was calibrated before avad had one): run `avad calibrate MODEL DATASET` to add it",
                kind.name()
            )),
        }
    }
}
