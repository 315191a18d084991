//! What the commands share on their command lines: the closed sets of values (devices,
//! splits, frame scores) and the checks of numeric options.

use avad::avad_data::Split;
use avad::avad_model::burn::tensor::Device;
use avad::avad_model::device::Accelerator;
use avad::avad_model::model_dir::FrameScore;

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
