//! Presets: every setting of a visual or an audio training run, built in or from a file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{dir_error, ModelDirError, MAX_SIZE};
use crate::audio::AudioError;
use crate::sequences::VisualInput;
use crate::train::TrainSettings;
use crate::SettingError;

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
    (
        "paper",
        include_str!("../../../../presets/visual-paper.toml"),
    ),
    ("cpu", include_str!("../../../../presets/visual-cpu.toml")),
    (
        "cpu-240",
        include_str!("../../../../presets/visual-cpu-240.toml"),
    ),
    ("demo", include_str!("../../../../presets/visual-demo.toml")),
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
    pub fn check(&self) -> Result<(), SettingError> {
        if self.size == 0 || !self.size.is_multiple_of(8) {
            return Err(format!("size {} must be a positive multiple of 8", self.size).into());
        }
        if self.size > MAX_SIZE {
            return Err(format!("size {} is more than {MAX_SIZE} pixels a side", self.size).into());
        }
        if self.steps == 0 || self.strides.is_empty() || self.strides.contains(&0) {
            return Err("steps and strides must be positive".into());
        }
        if self.steps < 2 {
            return Err(format!(
                "steps {} must be at least 2: the motion score compares consecutive frames",
                self.steps
            )
            .into());
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(format!(
                "validation_fraction {} must be in [0, 1)",
                self.validation_fraction
            )
            .into());
        }
        if self.score_hop == 0 || self.train.epochs == 0 || self.train.batch_size == 0 {
            return Err("score_hop, epochs and batch_size must be at least 1".into());
        }
        if !(self.train.learning_rate.is_finite() && self.train.learning_rate > 0.0) {
            return Err(format!(
                "learning_rate {} must be positive",
                self.train.learning_rate
            )
            .into());
        }
        Ok(())
    }
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

const AUDIO_BUILTIN: [(&str, &str); 1] = [(
    "paper",
    include_str!("../../../../presets/audio-paper.toml"),
)];

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
    pub fn check(&self) -> Result<(), SettingError> {
        if self.steps == 0 || !self.steps.is_multiple_of(4) {
            return Err(format!("steps {} must be a positive multiple of 4", self.steps).into());
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
            )
            .into());
        }
        if !(self.train.learning_rate.is_finite() && self.train.learning_rate > 0.0) {
            return Err(format!(
                "learning_rate {} must be positive",
                self.train.learning_rate
            )
            .into());
        }
        Ok(())
    }
}
