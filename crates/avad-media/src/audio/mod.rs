//! Audio files: decode (symphonia), mono downmix, resampling to the feature rate.
//!
//! [`load_audio`] is `librosa.load(path, sr=rate, mono=True)`: libsndfile-style
//! f32 samples, the mean of the channels, soxr "HQ" resampling
//! ([`crate::resample`]), `ceil(n * rate / native)` samples.
//!
//! A WAV whose header declares more frames than the file holds (a recording
//! cut short, a copy that did not finish) is an error, not a shorter clip:
//! its length would silently disagree with the video it belongs to.
//!
//! Sample rates outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] are refused: such a
//! rate is a corrupt header, and believing it would resample 1 Hz audio to 22 050 Hz
//! (gigabytes). A WAV header is checked before symphonia reads it, since symphonia
//! panics on a sample rate of 0; so are the track time scales of an MP4/M4A, since
//! it panics on a time scale of 0.
use std::path::Path;

use crate::{MediaError, Result};

mod decode;
mod headers;
mod open;

pub use decode::{decode_audio, AudioStream};
pub use open::probe_audio;

/// The largest sample magnitude taken (full scale is 1): a float file past it is corrupt,
/// and its squares would overflow the features' power spectra to infinity.
pub const MAX_ABS_SAMPLE: f32 = 1.0e6;
/// Decoded audio at its native rate and channel count.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    pub sample_rate: u32,
    pub channels: u16,
    /// Interleaved, f32 in [-1, 1] as libsndfile/soundfile gives them: integer
    /// PCM scaled by `1 / 2^(bits-1)`.
    pub samples: Vec<f32>,
}

impl DecodedAudio {
    /// Samples per channel.
    pub fn frames(&self) -> usize {
        if self.channels == 0 {
            0
        } else {
            self.samples.len() / self.channels as usize
        }
    }

    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.frames() as f64 / self.sample_rate as f64
        }
    }
}

/// What a file's header says about its audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub frames: u64,
    pub duration_s: f64,
    /// symphonia's short codec name (`pcm_s16le`, `flac`, `mp3`, `vorbis`, `aac`…).
    pub codec: String,
    pub bits_per_sample: Option<u32>,
}

/// Mono audio at a known rate: what the feature extractors read.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub sample_rate: u32,
    pub samples: Vec<f32>,
}

/// The lowest sample rate avad reads, Hz. Telephone audio is 8000 Hz and nothing
/// recorded is sampled below 1000 Hz; a lower rate is a corrupt header.
pub const MIN_SAMPLE_RATE: u32 = 1000;
/// The highest sample rate avad reads, Hz: above the 384 and 768 kHz of the fastest
/// audio and ultrasound recorders; a higher rate is a corrupt header.
pub const MAX_SAMPLE_RATE: u32 = 1_000_000;

/// Mean of the channels, frame by frame, as `librosa.to_mono` (numpy's f32
/// mean: the channels summed in f32, then divided by their count).
pub fn downmix_mono(audio: &DecodedAudio) -> Vec<f32> {
    let ch = audio.channels as usize;
    if ch <= 1 {
        return audio.samples.clone();
    }
    let count = ch as f32;
    audio
        .samples
        .chunks_exact(ch)
        .map(|frame| frame.iter().fold(0.0f32, |acc, &s| acc + s) / count)
        .collect()
}

/// `librosa.load(path, sr=target_rate, mono=True)`: decode, average the
/// channels, resample with soxr "HQ" to `ceil(n * target_rate / native)` samples.
pub fn load_audio(path: &Path, target_rate: u32) -> Result<Audio> {
    if target_rate == 0 {
        return Err(MediaError::invalid(path, "cannot resample to 0 Hz"));
    }
    let decoded = decode_audio(path)?;
    let mono = downmix_mono(&decoded);
    let samples = crate::resample::resample(&mono, decoded.sample_rate, target_rate);
    Ok(Audio {
        sample_rate: target_rate,
        samples,
    })
}
