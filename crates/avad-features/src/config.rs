use serde::{Deserialize, Serialize};

use crate::error::{FeatureError, Result};
use crate::N_CONTRAST;

/// The feature parameters. `Default` is librosa 0.11.0's defaults at 22050 Hz, which is
/// what the paper used. The number of mel bands (128), MFCCs (20) and contrast bands (6)
/// are fixed by the 160-column layout and are not configurable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FeatureConfig {
    /// Rate of the samples given to `extract`, Hz (librosa `sr`).
    pub sample_rate: u32,
    /// FFT size (even), also the window length and the zero-crossing frame length.
    pub n_fft: usize,
    /// Samples between frames.
    pub hop_length: usize,
    /// Lowest mel filter edge, Hz.
    pub mel_fmin: f64,
    /// Highest mel filter edge, Hz; `None` is `sample_rate / 2`.
    pub mel_fmax: Option<f64>,
    /// Floor of spectral flatness and of every `power_to_db`.
    pub amin: f64,
    /// `power_to_db` clamps at the clip's maximum minus this (dB); `None` disables it.
    pub top_db: Option<f64>,
    /// Fraction of the magnitude the roll-off frequency lies above.
    pub roll_percent: f64,
    /// Upper edge of the first contrast band, Hz.
    pub contrast_fmin: f64,
    /// Fraction of each contrast band averaged into its peak and valley.
    pub contrast_quantile: f64,
    /// Samples with `|y| <= zcr_threshold` count as zero for the zero-crossing rate.
    pub zcr_threshold: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            sample_rate: 22050,
            n_fft: 2048,
            hop_length: 512,
            mel_fmin: 0.0,
            mel_fmax: None,
            amin: 1e-10,
            top_db: Some(80.0),
            roll_percent: 0.85,
            contrast_fmin: 200.0,
            contrast_quantile: 0.02,
            zcr_threshold: 1e-10,
        }
    }
}

impl FeatureConfig {
    /// `mel_fmax`, or the Nyquist frequency when it is unset (librosa's `fmax=None`).
    pub fn mel_fmax(&self) -> f64 {
        self.mel_fmax.unwrap_or(f64::from(self.sample_rate) / 2.0)
    }

    /// Frames librosa produces for `n_samples` with centred frames: `1 + n / hop`.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        1 + n_samples / self.hop_length.max(1)
    }

    /// Rejects the parameter values librosa rejects (and a few it would only warn about
    /// and then produce empty filters for).
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(FeatureError::Config(msg));
        let nyquist = f64::from(self.sample_rate) / 2.0;
        if self.sample_rate == 0 {
            return bad("sample_rate must be positive".into());
        }
        // Odd sizes change librosa's frame count to 1 + (n - 1) / hop; the paper's
        // layout (and every librosa default) uses an even size.
        if self.n_fft < 2 || self.n_fft & 1 == 1 {
            return bad(format!(
                "n_fft = {} must be an even number of at least 2",
                self.n_fft
            ));
        }
        if self.hop_length == 0 {
            return bad("hop_length must be positive".into());
        }
        let fmax = self.mel_fmax();
        if !(self.mel_fmin.is_finite() && self.mel_fmin >= 0.0 && fmax.is_finite())
            || fmax <= self.mel_fmin
        {
            return bad(format!(
                "mel band [{}, {}] Hz must satisfy 0 <= fmin < fmax",
                self.mel_fmin, fmax
            ));
        }
        if !(self.amin > 0.0 && self.amin.is_finite()) {
            return bad(format!("amin = {} must be positive", self.amin));
        }
        if let Some(t) = self.top_db {
            if t.is_nan() || t < 0.0 {
                return bad(format!("top_db = {t} must be non-negative"));
            }
        }
        if !(self.roll_percent > 0.0 && self.roll_percent < 1.0) {
            return bad(format!(
                "roll_percent = {} must lie in (0, 1)",
                self.roll_percent
            ));
        }
        if !(self.contrast_quantile > 0.0 && self.contrast_quantile < 1.0) {
            return bad(format!(
                "contrast_quantile = {} must lie in (0, 1)",
                self.contrast_quantile
            ));
        }
        // librosa: every lower band edge, fmin * 2^k for k < n_bands, lies below Nyquist.
        let top_edge = self.contrast_fmin * 2f64.powi(N_CONTRAST as i32 - 2);
        if self.contrast_fmin.is_nan()
            || self.contrast_fmin <= 0.0
            || top_edge.is_nan()
            || top_edge >= nyquist
        {
            return bad(format!(
                "contrast_fmin = {} Hz puts a contrast band above Nyquist ({nyquist} Hz)",
                self.contrast_fmin
            ));
        }
        if self.zcr_threshold.is_nan() || self.zcr_threshold < 0.0 {
            return bad(format!(
                "zcr_threshold = {} must be non-negative",
                self.zcr_threshold
            ));
        }
        Ok(())
    }
}
