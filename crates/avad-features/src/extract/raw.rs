//! The per-frame values before the dB conversions, and the maxima those are floored from.

use super::logarithm::to_db;
use super::reduce::{max_f32, max_f64};
use crate::{N_CONTRAST, N_MELS};

/// The per-frame values of a signal before the dB conversions.
pub(super) struct RawFeatures {
    pub(super) frames: usize,
    pub(super) flatness: Vec<f64>,
    pub(super) zero_crossing_rate: Vec<f64>,
    pub(super) centroid: Vec<f64>,
    pub(super) bandwidth: Vec<f64>,
    pub(super) rolloff: Vec<f64>,
    /// `melspectrogram`, float32 as librosa's.
    pub(super) mel: Vec<[f32; N_MELS]>,
    pub(super) peaks: Vec<[f64; N_CONTRAST]>,
    pub(super) valleys: Vec<[f64; N_CONTRAST]>,
}

impl RawFeatures {
    pub(super) fn keep(&mut self, keep: std::ops::Range<usize>) {
        self.frames = keep.len();
        for v in [
            &mut self.flatness,
            &mut self.zero_crossing_rate,
            &mut self.centroid,
            &mut self.bandwidth,
            &mut self.rolloff,
        ] {
            *v = v[keep.clone()].to_vec();
        }
        self.mel = self.mel[keep.clone()].to_vec();
        self.peaks = self.peaks[keep.clone()].to_vec();
        self.valleys = self.valleys[keep].to_vec();
    }
}

/// The maxima, in dB, that `power_to_db`'s `top_db` floors are measured from: of the
/// mel spectrogram (for the MFCC), and of spectral contrast's peaks and valleys.
/// Offline they are the whole clip's; a stream keeps the running maxima of what it
/// has seen so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbMaxima {
    pub mel: f64,
    pub peak: f64,
    pub valley: f64,
}

impl Default for DbMaxima {
    fn default() -> Self {
        DbMaxima {
            mel: f64::NEG_INFINITY,
            peak: f64::NEG_INFINITY,
            valley: f64::NEG_INFINITY,
        }
    }
}

impl DbMaxima {
    pub(super) fn include(
        self,
        raw: &RawFeatures,
        frames: std::ops::Range<usize>,
        amin: f64,
    ) -> Self {
        // dB is increasing in the power: the maximum's dB is the maximum dB.
        let mel = to_db(
            f64::from(max_f32(raw.mel[frames.clone()].as_flattened())),
            amin,
        );
        DbMaxima {
            mel: self.mel.max(mel),
            peak: self.peak.max(to_db(
                max_f64(raw.peaks[frames.clone()].as_flattened()),
                amin,
            )),
            valley: self
                .valley
                .max(to_db(max_f64(raw.valleys[frames].as_flattened()), amin)),
        }
    }
}
