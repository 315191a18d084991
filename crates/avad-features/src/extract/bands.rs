//! The sub-bands of spectral contrast.

use crate::config::FeatureConfig;
use crate::error::{FeatureError, Result};
use crate::N_CONTRAST;

/// librosa's `spectral_contrast` band `k`: the bins `[start, start + len)` of the
/// sub-band it sorts, and how many of the lowest and highest it averages.
#[derive(Debug, Clone, Copy)]
pub(super) struct ContrastBand {
    pub(super) start: usize,
    pub(super) len: usize,
    pub(super) n_avg: usize,
}

/// The sub-bands of `librosa.feature.spectral_contrast`: octave band `k` spans
/// `[fmin * 2^(k-1), fmin * 2^k]` (band 0 starts at 0 Hz), takes one extra bin below
/// (k > 0), drops its top bin (all but the last band), and the last band runs to
/// Nyquist. `n_avg = max(1, rint(quantile * bins in the band before the drop))`.
pub(super) fn contrast_bands(freqs: &[f64], cfg: &FeatureConfig) -> Result<Vec<ContrastBand>> {
    let n_bands = N_CONTRAST - 1;
    let mut octa = vec![0.0; n_bands + 2];
    for (k, o) in octa.iter_mut().skip(1).enumerate() {
        *o = cfg.contrast_fmin * 2f64.powi(k as i32);
    }
    let mut bands = Vec::with_capacity(N_CONTRAST);
    for k in 0..=n_bands {
        let (lo, hi) = (octa[k], octa[k + 1]);
        let first = freqs.iter().position(|&f| f >= lo && f <= hi);
        let last = freqs.iter().rposition(|&f| f >= lo && f <= hi);
        let (Some(mut a), Some(mut b)) = (first, last) else {
            return Err(FeatureError::Config(format!(
                "spectral contrast band {k} ({lo} - {hi} Hz) holds no FFT bin; \
                 raise n_fft or contrast_fmin"
            )));
        };
        if k > 0 {
            a = a.saturating_sub(1);
        }
        if k == n_bands {
            b = freqs.len() - 1;
        }
        let count = b - a + 1;
        let len = if k < n_bands { count - 1 } else { count };
        let n_avg = ((cfg.contrast_quantile * count as f64).round_ties_even() as usize).max(1);
        if len < n_avg {
            return Err(FeatureError::Config(format!(
                "spectral contrast band {k} ({lo} - {hi} Hz) is narrower than one FFT bin; \
                 raise n_fft or contrast_fmin"
            )));
        }
        bands.push(ContrastBand {
            start: a,
            len,
            n_avg,
        });
    }
    Ok(bands)
}
