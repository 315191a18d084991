//! From reconstruction errors to normalised errors n_e and regularity scores
//! s_r = 1 − n_e (Tariq et al. 2024, eq. 4), under two protocols (DESIGN.md,
//! "Evaluation protocol"):
//!
//! - *per-video min-max* ([`min_max_per_video`]): the convention behind published Ped2
//!   numbers. It needs the whole test video, so it cannot run live, and it is not
//!   neutral: a clip that is anomalous from first to last frame still gets some
//!   scores stretched down to 0.
//! - *calibrated* ([`Calibration`]): statistics of errors on normal training data only,
//!   saved with the model, so a live system maps each new error on its own.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum CalibrationError {
    #[error("no normal training errors to calibrate on")]
    Empty,
    #[error("normal training error {index} is {value}: errors must be finite numbers")]
    NonFiniteError { index: usize, value: f64 },
    #[error("percentile {0} is outside 0..=100")]
    PercentileOutOfRange(f64),
    #[error("calibration percentiles must satisfy low < high, got low {low} and high {high}")]
    PercentileOrder { low: f64, high: f64 },
    #[error(
        "normal training errors have no spread between the {low_percentile} and \
         {high_percentile} percentiles (both {value}): cannot normalise; use more \
         (or more varied) normal data or wider percentiles"
    )]
    NoSpread {
        low_percentile: f64,
        high_percentile: f64,
        value: f64,
    },
    #[error("calibration has {0} quantiles, expected {QUANTILE_COUNT} (one per 0.1 percentile)")]
    QuantileCount(usize),
    #[error("calibration quantiles must be finite and non-decreasing")]
    QuantilesUnsorted,
}

/// Per-video min-max: e ↦ (e − min) / (max − min) over one video's scores, so the
/// video's least and most anomalous frames map to 0 and 1. A constant video (max =
/// min) maps to all zeros: nothing in it stands out. NaN inputs are ignored when
/// finding min and max and stay NaN.
pub fn min_max_per_video(scores: &[f64]) -> Vec<f64> {
    let (lo, hi) = scores
        .iter()
        .filter(|s| !s.is_nan())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &s| {
            (lo.min(s), hi.max(s))
        });
    let range = hi - lo;
    if !(range.is_finite() && range > 0.0) {
        return scores
            .iter()
            .map(|&s| if s.is_nan() { s } else { 0.0 })
            .collect();
    }
    scores.iter().map(|&s| (s - lo) / range).collect()
}

/// Regularity score s_r = 1 − n_e (eq. 4): 1 is perfectly regular; a frame is
/// anomalous when s_r < γ.
pub fn regularity_score(normalized_error: f64) -> f64 {
    1.0 - normalized_error
}

/// [`regularity_score`] of each normalised error.
pub fn regularity_scores(normalized_errors: &[f64]) -> Vec<f64> {
    normalized_errors
        .iter()
        .map(|&n| regularity_score(n))
        .collect()
}

/// Number of stored quantiles: percentiles 0.0, 0.1, …, 100.0.
pub const QUANTILE_COUNT: usize = 1001;

/// What the calibrated normalisation maps to 0 and 1 by default: the smallest and
/// largest normal training error, which makes n_e the training-set analogue of the
/// paper's min-max. A single outlier in the training errors moves the top end; pass
/// e.g. 99.0 to [`Calibration::fit_with_percentiles`] when that matters.
pub const DEFAULT_LOW_PERCENTILE: f64 = 0.0;
pub const DEFAULT_HIGH_PERCENTILE: f64 = 100.0;

/// The distribution of reconstruction errors on *normal training data only*, saved
/// with a model so that scores can be normalised live:
/// n_e = (e − p_low) / (p_high − p_low), s_r = 1 − n_e.
///
/// n_e is not clamped: errors beyond the normal range give n_e > 1 (s_r < 0) and
/// errors below it n_e < 0. Clamping would tie every strongly anomalous frame at
/// s_r = 0 and throw away their ranking, which ROC/AUC and the fusion net need.
///
/// Percentiles use numpy's default (linear) method. Deserialising validates the
/// fields, so a loaded calibration is always usable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CalibrationFields", into = "CalibrationFields")]
pub struct Calibration {
    fields: CalibrationFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CalibrationFields {
    count: usize,
    mean: f64,
    /// Population standard deviation (ddof = 0).
    std: f64,
    low_percentile: f64,
    high_percentile: f64,
    low: f64,
    high: f64,
    /// Error at percentiles 0.0, 0.1, …, 100.0.
    quantiles: Vec<f64>,
}

impl TryFrom<CalibrationFields> for Calibration {
    type Error = CalibrationError;
    fn try_from(fields: CalibrationFields) -> Result<Self, CalibrationError> {
        check_percentile(fields.low_percentile)?;
        check_percentile(fields.high_percentile)?;
        if fields.low_percentile >= fields.high_percentile {
            return Err(CalibrationError::PercentileOrder {
                low: fields.low_percentile,
                high: fields.high_percentile,
            });
        }
        if fields.quantiles.len() != QUANTILE_COUNT {
            return Err(CalibrationError::QuantileCount(fields.quantiles.len()));
        }
        let sorted = fields
            .quantiles
            .windows(2)
            .all(|w| matches!(w, [a, b] if a <= b));
        if !sorted || fields.quantiles.iter().any(|q| !q.is_finite()) {
            return Err(CalibrationError::QuantilesUnsorted);
        }
        let spread = fields.high - fields.low;
        if !(spread.is_finite() && spread > 0.0) {
            return Err(CalibrationError::NoSpread {
                low_percentile: fields.low_percentile,
                high_percentile: fields.high_percentile,
                value: fields.low,
            });
        }
        Ok(Calibration { fields })
    }
}

impl From<Calibration> for CalibrationFields {
    fn from(c: Calibration) -> Self {
        c.fields
    }
}

fn check_percentile(p: f64) -> Result<(), CalibrationError> {
    if (0.0..=100.0).contains(&p) {
        Ok(())
    } else {
        Err(CalibrationError::PercentileOutOfRange(p))
    }
}

/// numpy.percentile(sorted, p) with the default 'linear' method; `sorted` non-empty.
fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    let h = (p / 100.0) * last as f64;
    let lo = (h.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    let (a, b) = (
        sorted.get(lo).copied().unwrap_or(f64::NAN),
        sorted.get(hi).copied().unwrap_or(f64::NAN),
    );
    let frac = h - lo as f64;
    // numpy's _lerp: exact at both ends, monotone in frac.
    if frac >= 0.5 {
        b - (b - a) * (1.0 - frac)
    } else {
        a + (b - a) * frac
    }
}

impl Calibration {
    /// Fit on normal training errors with the default percentiles (min and max).
    pub fn fit(normal_errors: &[f64]) -> Result<Self, CalibrationError> {
        Self::fit_with_percentiles(
            normal_errors,
            DEFAULT_LOW_PERCENTILE,
            DEFAULT_HIGH_PERCENTILE,
        )
    }

    /// Fit on normal training errors; errors at `low_percentile` and `high_percentile`
    /// map to n_e = 0 and 1.
    pub fn fit_with_percentiles(
        normal_errors: &[f64],
        low_percentile: f64,
        high_percentile: f64,
    ) -> Result<Self, CalibrationError> {
        if normal_errors.is_empty() {
            return Err(CalibrationError::Empty);
        }
        if let Some((index, &value)) = normal_errors
            .iter()
            .enumerate()
            .find(|(_, e)| !e.is_finite())
        {
            return Err(CalibrationError::NonFiniteError { index, value });
        }
        check_percentile(low_percentile)?;
        check_percentile(high_percentile)?;
        let mut sorted = normal_errors.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let mean = sorted.iter().sum::<f64>() / n;
        let std = (sorted.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>() / n).sqrt();
        let quantiles = (0..QUANTILE_COUNT)
            .map(|k| percentile_sorted(&sorted, k as f64 / 10.0))
            .collect();
        Calibration::try_from(CalibrationFields {
            count: sorted.len(),
            mean,
            std,
            low_percentile,
            high_percentile,
            low: percentile_sorted(&sorted, low_percentile),
            high: percentile_sorted(&sorted, high_percentile),
            quantiles,
        })
    }

    /// Number of normal errors fitted on.
    pub fn count(&self) -> usize {
        self.fields.count
    }
    pub fn mean(&self) -> f64 {
        self.fields.mean
    }
    /// Population standard deviation of the normal errors.
    pub fn std(&self) -> f64 {
        self.fields.std
    }
    /// The errors that map to n_e = 0 and n_e = 1.
    pub fn range(&self) -> (f64, f64) {
        (self.fields.low, self.fields.high)
    }
    /// The percentiles those errors sit at.
    pub fn percentiles(&self) -> (f64, f64) {
        (self.fields.low_percentile, self.fields.high_percentile)
    }

    /// Calibrated normalised error n_e = (e − p_low) / (p_high − p_low), not clamped.
    pub fn normalized_error(&self, error: f64) -> f64 {
        (error - self.fields.low) / (self.fields.high - self.fields.low)
    }

    /// Calibrated regularity score s_r = 1 − n_e (eq. 4).
    pub fn regularity_score(&self, error: f64) -> f64 {
        regularity_score(self.normalized_error(error))
    }

    /// [`Calibration::regularity_score`] of each error.
    pub fn regularity_scores(&self, errors: &[f64]) -> Vec<f64> {
        errors.iter().map(|&e| self.regularity_score(e)).collect()
    }

    /// The normal training error at `percentile` (0..=100): exact (numpy 'linear') at
    /// multiples of 0.1, linear between the stored quantiles otherwise.
    pub fn error_at_percentile(&self, percentile: f64) -> Result<f64, CalibrationError> {
        check_percentile(percentile)?;
        Ok(percentile_sorted(&self.fields.quantiles, percentile))
    }

    /// A label-free threshold γ on the regularity score: the s_r of the normal
    /// training error at `percentile`. With `percentile = 99`, about 1 % of normal
    /// training frames have s_r < γ and are flagged anomalous; nothing about the test
    /// labels is used.
    pub fn threshold_from_normal(&self, percentile: f64) -> Result<f64, CalibrationError> {
        Ok(self.regularity_score(self.error_at_percentile(percentile)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_matches_numpy() {
        // numpy.percentile([1, 2, 4, 8], [0, 10, 50, 90, 100]) = [1, 1.3, 3, 6.8, 8]
        let s = [1.0, 2.0, 4.0, 8.0];
        let got: Vec<f64> = [0.0, 10.0, 50.0, 90.0, 100.0]
            .iter()
            .map(|&p| percentile_sorted(&s, p))
            .collect();
        let want = [1.0, 1.3, 3.0, 6.8, 8.0];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?}");
        }
    }
}
