//! [`Models`]: trained model directories loaded for scoring, one per [`Modality`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use avad_model::burn::tensor::Device;
use avad_model::model_dir::{model_kind, AudioModel, FrameScore, VisualModel, VisualScoring};

use crate::error::{Error, Result};
use crate::speed::Speed;

/// The paper's thresholds γ for UCSD Ped2 (Table 6), on per-video min-max scores.
pub const PAPER_PED2_VIDEO_GAMMA: f64 = 0.92;
/// See [`PAPER_PED2_VIDEO_GAMMA`].
pub const PAPER_PED2_AUDIO_GAMMA: f64 = 0.85;
/// Percentile of the normal (held-out) errors that sets the label-free threshold.
pub const NORMAL_PERCENTILE: f64 = 99.0;

/// What a model watches or listens to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Video,
    Audio,
}

impl Modality {
    /// `video` or `audio`, as in file columns and tables.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Video => "video",
            Modality::Audio => "audio",
        }
    }

    /// The paper's Ped2 γ for this modality (Table 6).
    pub fn paper_gamma(self) -> f64 {
        match self {
            Modality::Video => PAPER_PED2_VIDEO_GAMMA,
            Modality::Audio => PAPER_PED2_AUDIO_GAMMA,
        }
    }
}

impl std::fmt::Display for Modality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A visual model, the frame score it scores with, and the speed score beside it.
pub struct Visual {
    pub path: PathBuf,
    pub model: VisualModel,
    pub score: FrameScore,
    /// With one, each frame's video error is the mean of the autoencoder's and the speed
    /// score's normalised errors ([`Speed::combine`]).
    pub speed: Option<Speed>,
}

impl Visual {
    /// How the model turns a window's error maps into frame errors, and their calibration.
    pub fn scoring(&self) -> Result<VisualScoring<'_>> {
        self.model
            .scoring(Some(self.score))
            .map_err(|e| Error::scoring(&self.path, e))
    }

    /// The label-free γ: s_r of the [`NORMAL_PERCENTILE`]th percentile of held-out normal
    /// errors; with a speed score, of the video errors with it ([`Speed::normal_gamma`]).
    pub fn normal_gamma(&self) -> Result<f64> {
        let own = self
            .scoring()?
            .calibration
            .threshold_from_normal(NORMAL_PERCENTILE)?;
        Ok(match &self.speed {
            Some(speed) => speed.normal_gamma(self.score, own, NORMAL_PERCENTILE)?,
            None => own,
        })
    }

    /// The calibrated regularity s_r of a frame's video error: under the model's
    /// calibration, or with a speed score `1 - error` (the error is then already the mean
    /// of two calibrated errors).
    pub fn regularity(&self, calibration: &avad_eval::normalize::Calibration, error: f64) -> f64 {
        match self.speed {
            Some(_) => 1.0 - error,
            None => calibration.regularity_score(error),
        }
    }
}

/// An audio model (one fold, or one per clip held out).
pub struct Audio {
    pub path: PathBuf,
    pub model: AudioModel,
}

impl Audio {
    /// The label-free γ: the median over the folds of s_r of the [`NORMAL_PERCENTILE`]th
    /// percentile of each fold's held-out normal errors.
    pub fn normal_gamma(&self) -> Result<f64> {
        let mut g = self
            .model
            .card
            .folds
            .iter()
            .map(|f| {
                f.training
                    .calibration
                    .threshold_from_normal(NORMAL_PERCENTILE)
            })
            .collect::<Result<Vec<f64>, _>>()?;
        g.sort_by(f64::total_cmp);
        Ok(g[g.len() / 2])
    }

    /// The fold that scores clip `clip` (`split/name`): the fold that held it out, else one
    /// that never trained on it, else (a clip no fold names) the first.
    pub fn fold_for(&self, clip: &str) -> Result<usize> {
        self.model
            .fold_for(clip)
            .map_err(|e| Error::scoring(&self.path, e))
    }
}

/// One loaded model.
#[derive(Clone)]
pub enum Model {
    Visual(Arc<Visual>),
    Audio(Arc<Audio>),
}

impl Model {
    pub fn modality(&self) -> Modality {
        match self {
            Model::Visual(_) => Modality::Video,
            Model::Audio(_) => Modality::Audio,
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Model::Visual(v) => &v.path,
            Model::Audio(a) => &a.path,
        }
    }

    /// The paper's Ped2 γ for this modality (Table 6).
    pub fn paper_gamma(&self) -> f64 {
        self.modality().paper_gamma()
    }

    /// The label-free γ from normal data alone.
    pub fn normal_gamma(&self) -> Result<f64> {
        match self {
            Model::Visual(v) => v.normal_gamma(),
            Model::Audio(a) => a.normal_gamma(),
        }
    }

    /// One line: the modality, the folder, the preset and the score.
    pub fn describe(&self) -> String {
        match self {
            Model::Visual(v) => format!(
                "video: {} (preset {}, {} in, {} score{})",
                v.path.display(),
                v.model.card.preset.name,
                v.model.card.preset.input.name(),
                v.score.name(),
                if v.speed.is_some() {
                    " with the speed score"
                } else {
                    ""
                }
            ),
            Model::Audio(a) => format!("audio: {} ({})", a.path.display(), a.model.card.protocol),
        }
    }
}

/// The models to score with, at most one per modality, in the order given (the order of
/// the columns of `scores.csv`). Cloning is cheap: the weights are shared.
#[derive(Clone)]
pub struct Models {
    list: Vec<Model>,
}

impl Models {
    /// Loads each model directory in `paths` onto `device`; a visual model scores with
    /// `video_score` (by default its motion score when it has one, else its patch score),
    /// and with its speed score when it has one.
    pub fn load(
        paths: &[PathBuf],
        device: &Device,
        video_score: Option<FrameScore>,
    ) -> Result<Self> {
        Self::load_with(paths, device, video_score, true)
    }

    /// [`Self::load`], with a visual model's speed score only when `speed`.
    pub fn load_with(
        paths: &[PathBuf],
        device: &Device,
        video_score: Option<FrameScore>,
        speed: bool,
    ) -> Result<Self> {
        let mut list: Vec<Model> = Vec::new();
        for path in paths {
            let kind = model_kind(path)?;
            let model = match kind.as_str() {
                "visual" => {
                    let model = VisualModel::load(path, device)?;
                    let score = model
                        .scoring(video_score)
                        .map_err(|e| Error::scoring(path, e))?
                        .kind;
                    let speed = if speed { Speed::load(path)? } else { None };
                    Model::Visual(Arc::new(Visual {
                        path: path.clone(),
                        model,
                        score,
                        speed,
                    }))
                }
                "audio" => Model::Audio(Arc::new(Audio {
                    path: path.clone(),
                    model: AudioModel::load(path, device)?,
                })),
                other => {
                    return Err(Error::Models(format!(
                        "{}: a {other} model cannot score frames",
                        path.join("model.json").display()
                    )))
                }
            };
            if list.iter().any(|l| l.modality() == model.modality()) {
                return Err(Error::Models(format!(
                    "{}: a second {} model; give at most one per modality",
                    path.display(),
                    model.modality()
                )));
            }
            list.push(model);
        }
        Ok(Models { list })
    }

    /// The models, in the order given.
    pub fn iter(&self) -> std::slice::Iter<'_, Model> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The position of `modality`'s model in the order given.
    pub fn position(&self, modality: Modality) -> Option<usize> {
        self.list.iter().position(|m| m.modality() == modality)
    }

    pub fn visual(&self) -> Option<&Arc<Visual>> {
        self.list.iter().find_map(|m| match m {
            Model::Visual(v) => Some(v),
            Model::Audio(_) => None,
        })
    }

    pub fn audio(&self) -> Option<&Arc<Audio>> {
        self.list.iter().find_map(|m| match m {
            Model::Audio(a) => Some(a),
            Model::Visual(_) => None,
        })
    }
}

impl<'a> IntoIterator for &'a Models {
    type Item = &'a Model;
    type IntoIter = std::slice::Iter<'a, Model>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
