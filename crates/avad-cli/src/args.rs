//! What the commands share on their command lines: the closed sets of values (devices,
//! splits, frame scores) and the checks of numeric options.

use std::path::PathBuf;

use avad::avad_data::Split;
use avad::avad_model::burn::tensor::Device;
use avad::avad_model::device::Accelerator;
use avad::avad_model::model_dir::FrameScore;
use avad::avad_model::train::TrainError;
use avad::score::DEFAULT_SMOOTH;
use avad::{ClipSelection, Models, ScoreConfig};

/// Where to compute.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceArg {
    #[default]
    Cpu,
    /// Needs the `cuda` feature.
    Cuda,
    /// Needs the `wgpu` feature.
    Wgpu,
}

impl DeviceArg {
    fn accelerator(self) -> Accelerator {
        match self {
            DeviceArg::Cpu => Accelerator::Cpu,
            DeviceArg::Cuda => Accelerator::Cuda,
            DeviceArg::Wgpu => Accelerator::Wgpu,
        }
    }

    /// The device to score on.
    pub fn inference(self) -> anyhow::Result<Device> {
        Ok(self.accelerator().inference_device()?)
    }

    /// The device to train on.
    pub fn training(self) -> anyhow::Result<Device> {
        Ok(self.accelerator().training_device()?)
    }
}

/// Which clips of a dataset.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SplitArg {
    #[default]
    Test,
    Train,
    All,
}

impl SplitArg {
    pub fn split(self) -> Option<Split> {
        match self {
            SplitArg::Test => Some(Split::Test),
            SplitArg::Train => Some(Split::Train),
            SplitArg::All => None,
        }
    }
}

/// The visual frame error.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoScore {
    /// The largest excess over normal of any patch of the residual's change from the frame
    /// before (the default when the model has it).
    Motion,
    /// The same of the residual itself.
    Patch,
    /// Eq. 3: the whole frame.
    Paper,
}

impl VideoScore {
    pub fn frame_score(self) -> FrameScore {
        match self {
            VideoScore::Motion => FrameScore::Motion,
            VideoScore::Patch => FrameScore::Patch,
            VideoScore::Paper => FrameScore::Paper,
        }
    }
}

/// `text` as a `T` that `ok` accepts, else `expected {expected}, not "text"`: the shape of
/// every numeric option check below.
fn checked<T: std::str::FromStr>(
    text: &str,
    ok: impl Fn(&T) -> bool,
    expected: &str,
) -> Result<T, String> {
    match text.parse::<T>() {
        Ok(v) if ok(&v) => Ok(v),
        _ => Err(format!("expected {expected}, not {text:?}")),
    }
}

/// `--smooth`: frames, from 0 to [`avad::score::MAX_SMOOTH`].
pub(crate) fn smoothing_frames(text: &str) -> Result<f64, String> {
    let max = avad::score::MAX_SMOOTH;
    checked(
        text,
        |v| (0.0..=max).contains(v),
        &format!("a number of frames from 0 to {max}"),
    )
}

/// A finite number (clap's `f64` parser takes NaN and infinities).
pub(crate) fn finite_number(text: &str) -> Result<f64, String> {
    checked(text, |v: &f64| v.is_finite(), "a finite number")
}

/// A whole number, 1 or more.
pub(crate) fn at_least_one(text: &str) -> Result<usize, String> {
    checked(text, |v| *v >= 1, "a whole number, 1 or more")
}

/// A time span in seconds: more than 0 and at most a day.
pub(crate) fn seconds(text: &str) -> Result<f64, String> {
    checked(
        text,
        |v| *v > 0.0 && *v <= 86_400.0,
        "seconds, more than 0 and at most 86400",
    )
}

/// `--sound-timeout`: seconds, at least 1 (below a second it would take the sound's
/// ordinary lag, audio packets interleaved in chunks and the scorer's 0.9 s window, for a
/// loss) and at most a day.
pub(crate) fn sound_timeout(text: &str) -> Result<f64, String> {
    checked(
        text,
        |v| (1.0..=86_400.0).contains(v),
        "seconds, at least 1 and at most 86400",
    )
}

/// A frame rate: more than 0 and at most 1000 frames a second.
pub(crate) fn frame_rate(text: &str) -> Result<f64, String> {
    checked(
        text,
        |v| *v > 0.0 && *v <= 1000.0,
        "frames per second, more than 0 and at most 1000",
    )
}

/// Which clips, how, and where.
#[derive(clap::Args, Clone)]
pub struct Selection {
    /// Which clips.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Only these clips (repeatable): NAME, or SPLIT/NAME (test/clip01) for a name that
    /// both splits hold. Clips that share a name are reported as SPLIT/NAME.
    #[arg(long = "clip")]
    pub clips: Vec<String>,
    /// Frames between visual window starts, at most the window's 10 (default: the model's
    /// preset).
    #[arg(long, value_parser = at_least_one)]
    pub hop: Option<usize>,
    /// Side of the pixel blocks of the visual error maps used for pixel-level AUC; it must
    /// divide the model's frame side (0: no maps).
    #[arg(long, default_value_t = 4)]
    pub map_block: usize,
    /// Where to score (cuda and wgpu need avad built with that feature).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// The visual frame error: motion (the largest excess over normal of any patch of the
    /// residual's change from the frame before, the default when the model has it), patch
    /// (the same of the residual itself) or paper (eq. 3, the whole frame).
    #[arg(long, value_enum)]
    pub video_score: Option<VideoScore>,
    /// Score video with the autoencoder alone, leaving out the visual model's speed score
    /// (`speed.json` in its folder, fitted by `avad train visual` and `avad calibrate`: how
    /// fast each part of the frame moves against the normal speeds of its row, averaged
    /// with the autoencoder's score).
    #[arg(long)]
    pub no_speed: bool,
    /// Score as `avad watch` does live. Video: each frame's error comes from the first
    /// window that covers it (no look-ahead), not the mean over all its windows. Audio:
    /// resampled in blocks, with the features' dB floors following the running maximum
    /// rather than the whole clip's (see `live_audio`).
    #[arg(long)]
    pub causal: bool,
    /// Smooth each clip's regularity scores over time with a centred Gaussian of this
    /// standard deviation, in frames (0: off), after either normalisation (the errors in
    /// scores.csv stay as the model gives them). An event lasts many frames, a one-frame
    /// jump in the error does not. It looks four deviations ahead: `avad watch` smooths
    /// the same way and decides each frame that many frames late. The default 5 (the best
    /// joint AUC on three harder synthetic scenes), and smoothing after the normalisation
    /// rather than before, were chosen on synthetic scenes, never on a benchmark's clips.
    #[arg(long, default_value_t = DEFAULT_SMOOTH, value_name = "FRAMES", value_parser = smoothing_frames)]
    pub smooth: f64,
}

impl Selection {
    pub fn clips(&self) -> ClipSelection {
        ClipSelection {
            split: self.split.split(),
            names: self.clips.clone(),
        }
    }

    /// How to score; the flags' names are in the messages of what they set wrong.
    pub fn config(&self) -> ScoreConfig {
        ScoreConfig {
            hop: self.hop,
            map_block: (self.map_block > 0).then_some(self.map_block),
            causal: self.causal,
            smooth: self.smooth,
        }
    }

    pub fn load_models(&self, paths: &[PathBuf]) -> anyhow::Result<(Models, Device)> {
        let device = self.device.inference()?;
        let models = Models::load_with(
            paths,
            &device,
            self.video_score.map(VideoScore::frame_score),
            !self.no_speed,
        )
        .map_err(with_advice)?;
        Ok((models, device))
    }
}

/// A library error with the command line's advice where it has some.
pub fn with_advice(e: avad::Error) -> anyhow::Error {
    match e.root() {
        avad::Error::NoSuchScore { .. } => anyhow::anyhow!(
            "{e}: run `avad calibrate MODEL DATASET` to add it, or choose another --video-score"
        ),
        avad::Error::Train(TrainError::CheckpointExists { .. }) => {
            anyhow::anyhow!("{e} (--resume continues it)")
        }
        avad::Error::Invalid(r) if r.starts_with("hop ") => anyhow::anyhow!("--{r}"),
        avad::Error::Invalid(r) if r.starts_with("map block ") => {
            anyhow::anyhow!("--map-block {}", &r["map block ".len()..])
        }
        _ => e.into(),
    }
}
