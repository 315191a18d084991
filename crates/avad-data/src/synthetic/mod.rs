//! A synthetic audio-visual scene that stands in for UCSD Ped2 with sound: a fixed
//! camera over a pedestrian walkway, people walking along it, and the things Ped2
//! calls anomalous (bicycles, carts, skaters) plus sound-only events (a bang, a shout).
//!
//! Everything is a pure function of [`SceneConfig`], so a seed names a clip on every
//! platform: the random numbers come from our own SplitMix64, not a crate whose stream
//! may change between versions. It is the embedded default for `avad demo` and for tests.

mod config;
mod picture;
mod rng;
mod sound;
mod write;

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::wav::WavError;

pub use config::SceneConfig;
use rng::{Rng, Stream};
pub use write::{
    write_clip, write_dataset, write_dataset_reporting, write_dataset_with, SceneLook, WrittenClip,
};

/// Something that does not happen on a normal day on the walkway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnomalyKind {
    /// A cyclist, 4.5-6 px/frame at 160 px width (people walk 1-1.5); chain whir and a bell.
    Bicycle,
    /// A small cart, a large box on wheels at 2.2-3 px/frame; rumble and rattle.
    Cart,
    /// A skateboarder gliding at 3-4 px/frame without the bob of walking; rolling wheels.
    Skater,
    /// Sound only: an impulsive broadband bang with a decaying tail (0.6 s).
    Bang,
    /// Sound only: a voiced shout, 300-600 Hz with formant-shaped partials (0.5-1 s).
    Shout,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 5] = [
        Self::Bicycle,
        Self::Cart,
        Self::Skater,
        Self::Bang,
        Self::Shout,
    ];

    /// Whether the anomaly can be seen (and so has pixel masks); the others are sound only.
    pub fn is_visual(self) -> bool {
        matches!(self, Self::Bicycle | Self::Cart | Self::Skater)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Bicycle => "bicycle",
            Self::Cart => "cart",
            Self::Skater => "skater",
            Self::Bang => "bang",
            Self::Shout => "shout",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One anomaly to put in a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledAnomaly {
    pub kind: AnomalyKind,
    /// 0-based frame at which a visual anomaly enters at the edge of the view, or a sound
    /// starts. Its direction, lane, speed and loudness are drawn from the scene's seed.
    pub start_frame: usize,
}

/// One staged anomaly as it played out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: AnomalyKind,
    /// First 0-based frame in which it is seen (visual) or heard (sound only).
    pub start_frame: usize,
    /// One past its last frame: the event covers `start_frame..end_frame`.
    pub end_frame: usize,
}

/// What a tracked object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectKind {
    Pedestrian,
    Anomaly(AnomalyKind),
}

/// Ground-truth path of one moving object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectTrack {
    pub kind: ObjectKind,
    /// 0-based frame of `feet[0]`.
    pub first_frame: usize,
    /// Ground contact point (x, y) in pixels in each frame from `first_frame` on, while the
    /// object is in the scene (it may be just outside the view while entering or leaving).
    pub feet: Vec<[f32; 2]>,
}

/// A generated clip with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub config: SceneConfig,
    /// 8-bit gray frames, row-major, `width * height` bytes each.
    pub frames: Vec<Vec<u8>>,
    /// Mono audio at `config.sample_rate`, in [-1, 1], `config.audio_len()` samples.
    pub audio: Vec<f32>,
    /// Per frame: anomalous if any anomaly, visual or sound, is active.
    pub labels: Vec<bool>,
    /// Per frame: a visual anomaly covers at least one pixel (exactly where `masks` is non-empty).
    pub visual_labels: Vec<bool>,
    /// Per frame: an anomaly is audible (visual anomalies sound while they are in view).
    pub audio_labels: Vec<bool>,
    /// Per frame, `width * height` row-major: pixels covered by a visual anomaly.
    pub masks: Vec<Vec<bool>>,
    /// The staged anomalies that appeared in the clip, by start frame.
    pub events: Vec<Event>,
    /// Paths of every pedestrian and visual anomaly.
    pub tracks: Vec<ObjectTrack>,
}

impl Scene {
    /// Whether any frame has a non-empty anomaly mask.
    pub fn has_masks(&self) -> bool {
        self.visual_labels.iter().any(|&v| v)
    }
}

/// Why a scene could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("invalid synthetic scene config: {0}")]
    InvalidConfig(String),
    #[error("{}: already exists; remove it or choose another directory", path.display())]
    Exists { path: PathBuf },
    #[error("{}: not a directory path a clip can be written to", path.display())]
    BadPath { path: PathBuf },
    // The error is in the message, so it is not also a `source()`: `{:#}` would print it
    // twice.
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error("{}: cannot write PNG: {error}", path.display())]
    Png {
        path: PathBuf,
        error: image::ImageError,
    },
    #[error("{}: frame has {got} bytes, but {width}x{height} needs {}", path.display(), width * height)]
    FrameSize {
        path: PathBuf,
        width: usize,
        height: usize,
        got: usize,
    },
    #[error(transparent)]
    Wav(#[from] WavError),
}

/// Generates the scene `config` describes.
pub fn generate(config: &SceneConfig) -> Result<Scene, SceneError> {
    config.validate()?;
    let video = picture::render(config);
    let (audio, audible) = sound::render(config, &video);

    let mut events = Vec::new();
    let mut audio_labels = vec![false; config.frames];
    for (anomaly, heard) in config.anomalies.iter().zip(&audible) {
        if let Some(span) = heard {
            events.push(Event {
                kind: anomaly.kind,
                start_frame: span.start,
                end_frame: span.end,
            });
            audio_labels[span.clone()]
                .iter_mut()
                .for_each(|l| *l = true);
        }
    }
    events.sort_by_key(|e| (e.start_frame, e.end_frame));
    let labels = video
        .visual_labels
        .iter()
        .zip(&audio_labels)
        .map(|(&v, &a)| v || a)
        .collect();

    Ok(Scene {
        config: config.clone(),
        frames: video.frames,
        audio,
        labels,
        visual_labels: video.visual_labels,
        audio_labels,
        masks: video.masks,
        events,
        tracks: video.tracks,
    })
}
