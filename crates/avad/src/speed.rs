//! The speed score beside a visual model: how fast each block of the frame moves since
//! the frame before, against the normal speeds of its row ([`avad_objects::SpeedModel`]).
//! It needs no training, only normal footage; it is fitted with the visual model on the
//! clips the model trained on, calibrated on the clips it held out, and saved beside it
//! as `speed.json`.
//!
//! A visual model with a speed score scores each frame with both: the frame's video error
//! is the mean of the two normalised errors (each under its own calibration), so its
//! calibrated regularity is the mean of the two regularities. Its label-free γ comes from
//! that mean on the held-out clips ([`JointCalibration`]; the mean of the two γ for a
//! frame score it was not made with).
//!
//! The speed score reads frames of its own size (the source's shape, [`SPEED_HEIGHT`]
//! rows): block matching needs more pixels than the autoencoder's frames hold.

use std::path::Path;

use avad_data::{Clip, Dataset, Split};
use avad_eval::normalize::Calibration;
use avad_media::FrameSize;
use avad_objects::{Frame, SpeedConfig, SpeedModel, SpeedState};
use serde::{Deserialize, Serialize};

use crate::error::{Context, Error, Result};
use crate::progress::Progress;

/// The file a visual model's speed score is saved in, in the model's folder.
pub const SPEED_FILE: &str = "speed.json";

/// Rows of the frames the speed score reads (fewer when the source has fewer).
pub const SPEED_HEIGHT: u32 = 120;

/// The format of [`SPEED_FILE`].
const FORMAT: u32 = 1;

/// A scene's normal speeds and their calibration.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Speed {
    pub format: u32,
    /// The normal speeds, and the frame size they are measured at.
    pub model: SpeedModel,
    /// The clips the speeds were fitted on.
    pub fitted_on: Vec<String>,
    /// The raw speed scores of normal clips not fitted on.
    pub calibration: Calibration,
    /// What those clips are.
    pub calibrated_on: String,
    /// The video error with the speed score (the mean of the two normalised errors) on
    /// the same held-out clips, for the visual model's frame score `score`: the label-free
    /// γ of the two together, when the model scores with that frame score.
    pub joint: Option<JointCalibration>,
}

/// The calibration of a visual model's video error with its speed score, on held-out
/// normal clips, for one frame score of the model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JointCalibration {
    pub score: avad_model::model_dir::FrameScore,
    pub calibration: Calibration,
}

/// The size of the speed score's frames for a source of `native` size: its shape,
/// [`SPEED_HEIGHT`] rows (or its own, when fewer).
pub fn speed_size(native: FrameSize) -> FrameSize {
    let height = native.height.clamp(1, SPEED_HEIGHT);
    let width = (f64::from(native.width) * f64::from(height) / f64::from(native.height.max(1)))
        .round()
        .max(1.0) as u32;
    FrameSize::new(width, height)
}

impl Speed {
    /// The frame size the speed score reads.
    pub fn size(&self) -> FrameSize {
        FrameSize::new(self.model.width as u32, self.model.height as u32)
    }

    /// Fits the speed score on the training clips of `data` named in `fit` and calibrates
    /// it on those named in `calibrate` (`calibrated_on` says what they are). Returns it
    /// with the raw scores of the `calibrate` clips, clip by clip in their order.
    pub fn fit(
        data: &Dataset,
        fit: &[String],
        calibrate: &[String],
        calibrated_on: &str,
        progress: &dyn Progress,
    ) -> Result<(Self, Vec<Vec<f64>>)> {
        let clip = |name: &String| -> Result<&Clip> {
            data.clips
                .iter()
                .find(|c| c.split == Split::Train && &c.name == name)
                .with_context(|| format!("{}: no training clip named {name}", data.root.display()))
        };
        let first = clip(fit.first().context("no clip to fit the speed score on")?)?;
        let size = speed_size(first.video.native_size());
        let read = |name: &String| clip_frames(clip(name)?, size);
        progress.message(&format!(
            "speed score: normal speeds of {} clips at {size}",
            fit.len()
        ));
        let frames: Vec<Vec<Vec<f32>>> = fit.iter().map(read).collect::<Result<_>>()?;
        let views: Vec<Vec<Frame>> = frames.iter().map(|c| view(c, size)).collect();
        let model = SpeedModel::fit(&views, &SpeedConfig::default()).ok_or_else(|| {
            Error::invalid(format!(
                "{}: nothing moves in the normal clips, so the speed score has no normal speeds to learn",
                data.root.display()
            ))
        })?;
        drop(views);
        let held_out = calibrate
            .iter()
            .map(|name| Ok(model.clip_scores(&view(&read(name)?, size))))
            .collect::<Result<Vec<Vec<f64>>>>()?;
        let calibration = Calibration::fit(&held_out.concat())?;
        let speed = Speed {
            format: FORMAT,
            model,
            fitted_on: fit.to_vec(),
            calibration,
            calibrated_on: calibrated_on.to_string(),
            joint: None,
        };
        Ok((speed, held_out))
    }

    /// The speed score saved in `model_dir`, `None` when it has none.
    pub fn load(model_dir: &Path) -> Result<Option<Self>> {
        let path = model_dir.join(SPEED_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(Error::Io { path, error }),
        };
        let speed: Speed = serde_json::from_str(&text).context(path.display().to_string())?;
        if speed.format != FORMAT {
            return Err(Error::invalid(format!(
                "{}: format {}, where this avad reads {FORMAT}",
                path.display(),
                speed.format
            )));
        }
        let m = &speed.model;
        let c = &m.config;
        let wrong = if c.block == 0 || c.block > m.width.min(m.height) {
            Some(format!(
                "blocks of {} for {}x{} frames",
                c.block, m.width, m.height
            ))
        } else if c.search > 64 || c.top == 0 || !(c.blur >= 0.0 && c.blur <= 16.0) {
            Some(format!(
                "a search of {}, the {} fastest blocks, a blur of {}",
                c.search, c.top, c.blur
            ))
        } else if m.row_speed.len() != m.height / c.block
            || m.row_speed.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            Some(format!(
                "{} rows of normal speeds (each above 0) for {} rows of blocks",
                m.row_speed.len(),
                m.height / c.block
            ))
        } else {
            None
        };
        match wrong {
            Some(what) => Err(Error::invalid(format!("{}: {what}", path.display()))),
            None => Ok(Some(speed)),
        }
    }

    /// Writes `speed.json` into `model_dir`, whole or not at all.
    pub fn save(&self, model_dir: &Path) -> Result<()> {
        let path = model_dir.join(SPEED_FILE);
        let json = serde_json::to_string_pretty(self)?;
        avad_atomic::write_atomic(&path, json.as_bytes()).map_err(|error| Error::Io { path, error })
    }

    /// A clip's frames at [`Self::size`].
    pub fn frames(&self, clip: &Clip) -> Result<Vec<Vec<f32>>> {
        clip_frames(clip, self.size())
    }

    /// The raw speed scores of a clip's frames (`frames` at [`Self::size`]); the first
    /// frame scores 0.
    pub fn clip_errors(&self, frames: &[Vec<f32>]) -> Vec<f64> {
        self.model.clip_scores(&view(frames, self.size()))
    }

    /// The label-free γ of the video error with the speed score, for a model scoring with
    /// `score` whose own γ is `own`: s_r of the `percentile`th percentile of the held-out
    /// normal clips' video errors with the speed score, where they were calibrated for
    /// `score`; else the mean of `own` and the speed score's own γ.
    pub fn normal_gamma(
        &self,
        score: avad_model::model_dir::FrameScore,
        own: f64,
        percentile: f64,
    ) -> Result<f64> {
        Ok(match &self.joint {
            Some(j) if j.score == score => 1.0 - j.calibration.error_at_percentile(percentile)?,
            _ => 0.5 * (own + self.calibration.threshold_from_normal(percentile)?),
        })
    }

    /// A frame's video error from its autoencoder error (under `calibration`) and its raw
    /// speed score: the mean of the two normalised errors.
    pub fn combine(&self, calibration: &Calibration, error: f64, speed: f64) -> f64 {
        0.5 * (calibration.normalized_error(error) + self.calibration.normalized_error(speed))
    }

    /// The next frame's raw speed score (`pixels` at [`Self::size`]); a stream's first
    /// frame scores 0.
    pub fn next(&self, state: &mut SpeedState, pixels: &[f32]) -> Result<f64> {
        let size = self.size();
        let frame =
            Frame::new(size.width as usize, size.height as usize, pixels).with_context(|| {
                format!(
                    "a speed frame of {} values; the speed score reads {size} = {}",
                    pixels.len(),
                    size.pixels()
                )
            })?;
        Ok(self.model.next(state, frame))
    }
}

/// `clip`'s frames at `size`, gray in [0, 1].
fn clip_frames(clip: &Clip, size: FrameSize) -> Result<Vec<Vec<f32>>> {
    Ok(clip
        .video
        .read_frames(size)
        .with_context(|| format!("reading clip {}", clip.name))?
        .into_iter()
        .map(|f| f.data)
        .collect())
}

fn view(frames: &[Vec<f32>], size: FrameSize) -> Vec<Frame<'_>> {
    frames
        .iter()
        .filter_map(|f| Frame::new(size.width as usize, size.height as usize, f))
        .collect()
}
