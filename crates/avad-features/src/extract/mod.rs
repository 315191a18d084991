//! Offline extraction: [`FeatureExtractor`] and its tables, [`compute`] and [`extract`].

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::RealToComplex;

use crate::config::FeatureConfig;
use crate::error::Result;
use crate::filters::SparseMel;
use crate::matrix::FeatureMatrix;
use crate::{N_CONTRAST, N_FEATURES, N_MELS, N_MFCC};

mod bands;
mod block;
mod extractor;
mod logarithm;
mod pairwise;
mod raw;
mod reduce;
#[cfg(test)]
mod tests;

use bands::ContrastBand;
use pairwise::PairOp;
pub use raw::DbMaxima;
pub(crate) use reduce::first_non_finite;

/// The eight features of one clip, one entry per frame, in librosa's units.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub frames: usize,
    /// `spectral_flatness` (power spectrum, `amin` floor), in [0, 1].
    pub flatness: Vec<f64>,
    /// `zero_crossing_rate`, crossings per sample.
    pub zero_crossing_rate: Vec<f64>,
    /// `spectral_centroid`, Hz.
    pub centroid: Vec<f64>,
    /// `spectral_bandwidth` (p = 2, normalised magnitude), Hz.
    pub bandwidth: Vec<f64>,
    /// `mfcc`: orthonormal DCT-II of the clip's `power_to_db(melspectrogram)`.
    pub mfcc: Vec<[f64; N_MFCC]>,
    /// `melspectrogram`: power, not dB (a float32 value, widened).
    pub mel: Vec<[f64; N_MELS]>,
    /// `spectral_rolloff`, Hz (an FFT bin frequency).
    pub rolloff: Vec<f64>,
    /// `spectral_contrast`, dB, bands from low to high.
    pub contrast: Vec<[f64; N_CONTRAST]>,
}

impl Features {
    /// The paper's 160-column layout (see [`crate::column_names`]), as f32.
    pub fn to_matrix(&self) -> FeatureMatrix {
        let mut data = Vec::with_capacity(self.frames * N_FEATURES);
        for t in 0..self.frames {
            let scalar = |v: &Vec<f64>| v.get(t).copied().unwrap_or(0.0) as f32;
            data.push(scalar(&self.flatness));
            data.push(scalar(&self.zero_crossing_rate));
            data.push(scalar(&self.centroid));
            data.push(scalar(&self.bandwidth));
            let mfcc = self.mfcc.get(t).copied().unwrap_or([0.0; N_MFCC]);
            data.extend(mfcc.iter().map(|&v| v as f32));
            let mel = self.mel.get(t).copied().unwrap_or([0.0; N_MELS]);
            data.extend(mel.iter().map(|&v| v as f32));
            data.push(scalar(&self.rolloff));
            let contrast = self.contrast.get(t).copied().unwrap_or([0.0; N_CONTRAST]);
            data.extend(contrast.iter().map(|&v| v as f32));
        }
        FeatureMatrix {
            frames: self.frames,
            data,
        }
    }
}

/// The tables and buffers of one configuration, built once and reused for every clip
/// (the FFT plan, window, mel basis, DCT, contrast bands).
pub struct FeatureExtractor {
    config: FeatureConfig,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    freqs: Vec<f64>,
    mel_basis: SparseMel,
    /// The orthonormal DCT-II, band-major: `[band * N_MFCC + k]`.
    dct_by_band: Vec<f64>,
    contrast_bands: Vec<ContrastBand>,
    /// numpy's pairwise summation order over the `1 + n_fft / 2` bins.
    pairwise: Vec<PairOp>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    /// A block of [`LANES`] frames side by side, bin-major: `mag[bin][lane]` is the
    /// magnitude of bin `bin` in frame `first + lane` (the float32 power is its float32
    /// square, computed where it is used); `work` scratch.
    mag: Vec<Lanes>,
    work: Vec<Lanes>,
    /// Scratch for the selection of large contrast quantiles.
    select: Vec<f32>,
    /// Never take the AVX2/FMA path (tests compare the two).
    portable: bool,
}

/// Frames computed side by side (one AVX2 register of f32).
const LANES: usize = 8;
/// Lanes per f64 pass (one AVX2 register of f64).
const HALF: usize = 4;
/// One value per lane.
type Lanes = [f32; LANES];

/// All eight features of `y` with `config` (builds the tables; reuse a
/// [`FeatureExtractor`] to process many clips).
pub fn compute(y: &[f32], config: &FeatureConfig) -> Result<Features> {
    FeatureExtractor::new(config)?.compute(y)
}

/// The 160-column feature matrix of `y` (mono, at `config.sample_rate`).
pub fn extract(y: &[f32], config: &FeatureConfig) -> Result<FeatureMatrix> {
    FeatureExtractor::new(config)?.extract(y)
}
