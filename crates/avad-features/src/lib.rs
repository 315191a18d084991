//! The eight audio features of Tariq et al. (2024), computed the way librosa 0.11.0
//! computes them with its defaults: spectral flatness, zero-crossing rate, spectral
//! centroid, spectral bandwidth, 20 MFCCs, the 128-band mel spectrogram, spectral
//! roll-off and the 7-band spectral contrast, 160 numbers per frame.
//!
//! The short-time Fourier transform is taken once per frame and shared by every
//! spectral feature (librosa recomputes it for each feature). The port follows
//! librosa's dtypes where they decide the result: the STFT is rounded to complex64
//! and its magnitude to float32 before any feature sees it, the mel basis is float32,
//! the roll-off accumulates in float32, and `power_to_db`'s `top_db` is measured from
//! the whole clip's maximum. Everything else accumulates in f64.
//!
//! ```no_run
//! use avad_features::{extract, FeatureConfig};
//! let y = vec![0.0f32; 22050];
//! let m = extract(&y, &FeatureConfig::default()).unwrap();
//! assert_eq!(m.frames, 1 + 22050 / 512);
//! ```

/// Where a write of `path` is staged before its rename (for a caller that removes it when
/// interrupted).
mod config;
mod error;
mod extract;
pub mod filters;
mod matrix;
mod normalize;
pub mod npy;
mod streaming;
mod zcr;

pub use config::FeatureConfig;
pub use error::{FeatureError, Result};
pub use extract::{compute, extract, DbMaxima, FeatureExtractor, Features};
pub use matrix::{column_names, columns, write_csv, FeatureMatrix};
pub use normalize::{MelScale, Normalizer};
pub use streaming::{StreamingFeatures, BLOCK};

/// Mel bands of librosa's `melspectrogram` default.
pub const N_MELS: usize = 128;
/// Coefficients of librosa's `mfcc` default.
pub const N_MFCC: usize = 20;
/// Rows of librosa's `spectral_contrast` default (`n_bands` 6, plus one).
pub const N_CONTRAST: usize = 7;
/// Columns of a feature matrix: flatness, ZCR, centroid, bandwidth, MFCC, mel,
/// roll-off, contrast.
pub const N_FEATURES: usize = 4 + N_MFCC + N_MELS + 1 + N_CONTRAST;
