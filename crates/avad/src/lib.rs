//! avad's pipeline as a library: the paper's models (Tariq et al., CMC 2024) loaded from
//! their directories ([`Models`]), offline scoring of a dataset's clips ([`score_clips`])
//! and evaluation against its labels ([`evaluate()`]), training ([`train_visual`],
//! [`train_audio`], [`calibrate`]), and live detection one frame at a time ([`Detector`],
//! its [`Event`]s and [`EventSink`]s, and [`watch`], which feeds it a frame source).
//!
//! The `avad` command line is one front end of this crate; nothing here parses arguments
//! or prints. Long work reports through [`Progress`]; every failure is an [`Error`] whose
//! message is one line naming the file or model concerned.
//!
//! Scoring a dataset offline:
//!
//! ```no_run
//! use avad::{score_clips, ClipSelection, Models, ScoreConfig, Silent};
//! # fn main() -> avad::Result<()> {
//! let device = avad::cpu();
//! let models = Models::load(&["visual-model".into(), "audio-model".into()], &device, None)?;
//! let dataset = avad::avad_data::open_dataset("ucsd-ped2".as_ref())?;
//! let clips = avad::clips::select_clips(&dataset, &ClipSelection::default(), "ucsd-ped2".as_ref())?;
//! let scored = score_clips(&models, &clips, &ScoreConfig::default(), &device, &Silent)?;
//! for clip in &scored.clips {
//!     println!("{}: {} frames", clip.name, clip.modalities[0].errors.len());
//! }
//! # Ok(()) }
//! ```

pub mod clips;
pub mod error;
pub mod evaluate;
pub mod features;
pub mod inspect;
pub mod live;
pub mod metrics;
pub mod models;
pub mod out_dir;
pub mod output;
pub mod progress;
pub mod report;
pub mod score;
pub mod speed;
pub mod train;

pub use avad_atomic;
pub use avad_data;
pub use avad_eval;
pub use avad_features;
pub use avad_media;
pub use avad_model;

pub use clips::ClipSelection;
pub use error::{Context, Error, Result, SoundMismatch};
pub use evaluate::{evaluate, Evaluation, FusionConfig};
pub use live::{
    watch, Decision, Detector, DetectorConfig, Event, EventSink, Evidence, JsonLines, StretchEnd,
    Summary, WatchOptions,
};
pub use models::{Modality, Model, Models};
pub use progress::{Progress, Silent};
pub use score::{score_clips, ClipScores, ScoreConfig, Scored};
pub use speed::Speed;
pub use train::{calibrate, train_audio, train_visual, NormalSound};

/// The CPU device every command scores on unless told otherwise.
pub fn cpu() -> avad_model::burn::tensor::Device {
    avad_model::burn::tensor::Device::flex()
}
