//! Decoding recordings for avad: frame folders, audio files, and (with the
//! `ffmpeg` feature) video files and live streams.
//!
//! Everything leaves this crate in the two forms the rest of avad reads:
//! [`GrayFrame`] (gray, model-sized, `[0, 1]` f32) and mono audio at a known
//! sample rate ([`audio::Audio`]).

pub mod audio;
mod error;
pub mod frames;
pub mod resample;
pub mod source;
pub mod video;

pub use error::{MediaError, Result};
pub use frames::{FrameSize, GrayFrame, ParseFrameSizeError};
