use serde::{Deserialize, Serialize};

use crate::error::{FeatureError, Result};
use crate::matrix::{columns, FeatureMatrix};
use crate::N_FEATURES;

/// How the 128 mel columns enter the z-score.
///
/// The paper says only that the features "are normalized". Mel power spans ten orders
/// of magnitude within one clip (1e-10 to ~40 on Ped2), so a z-score of the raw power
/// leaves almost every frame near one value with rare huge outliers; `Db` takes
/// `10 log10(max(x, 1e-10))` first (librosa's `power_to_db` with ref 1, without the
/// clip-dependent `top_db`, so it is the same for a clip and for a live stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum MelScale {
    /// Raw power, as in the feature matrix.
    Power,
    /// Decibels, then the z-score (the default).
    #[default]
    Db,
}

/// Per-column z-score `(x - mean) / std`, fitted on training clips only and saved with
/// a model (serde). A constant column gets `std = 1`, so it maps to 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    pub mel_scale: MelScale,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// Below this a column is treated as constant.
const MIN_STD: f64 = 1e-12;
const MEL_DB_AMIN: f64 = 1e-10;

impl Normalizer {
    /// Fits with the default [`MelScale::Db`].
    pub fn fit(matrices: &[&FeatureMatrix]) -> Result<Self> {
        Self::fit_with(matrices, MelScale::default())
    }

    /// Mean and population standard deviation (f64, two passes) of every column over
    /// all frames of `matrices`.
    pub fn fit_with(matrices: &[&FeatureMatrix], mel_scale: MelScale) -> Result<Self> {
        for m in matrices {
            check_shape(m)?;
        }
        let n: usize = matrices.iter().map(|m| m.frames).sum();
        if n == 0 {
            return Err(FeatureError::Normalizer("no frames to fit on".into()));
        }
        let rows = || matrices.iter().flat_map(|m| m.rows());
        let mut mean = [0f64; N_FEATURES];
        for row in rows() {
            for (c, (acc, &v)) in mean.iter_mut().zip(row).enumerate() {
                *acc += scaled(mel_scale, c, v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        let mut var = [0f64; N_FEATURES];
        for row in rows() {
            for (c, ((acc, &v), &mu)) in var.iter_mut().zip(row).zip(&mean).enumerate() {
                let d = scaled(mel_scale, c, v) - mu;
                *acc += d * d;
            }
        }
        let std = var.map(|v| {
            let s = (v / n as f64).sqrt();
            if s < MIN_STD {
                1.0
            } else {
                s as f32
            }
        });
        Ok(Normalizer {
            mel_scale,
            mean: mean.iter().map(|&m| m as f32).collect(),
            std: std.to_vec(),
        })
    }

    /// Normalises `matrix` in place.
    pub fn apply(&self, matrix: &mut FeatureMatrix) -> Result<()> {
        check_shape(matrix)?;
        if self.mean.len() != N_FEATURES || self.std.len() != N_FEATURES {
            return Err(FeatureError::Normalizer(format!(
                "statistics hold {} means and {} deviations, expected {N_FEATURES} of each",
                self.mean.len(),
                self.std.len()
            )));
        }
        for row in matrix.data.chunks_exact_mut(N_FEATURES) {
            for (c, ((v, &mu), &sd)) in row.iter_mut().zip(&self.mean).zip(&self.std).enumerate() {
                *v = ((scaled(self.mel_scale, c, *v) - f64::from(mu)) / f64::from(sd)) as f32;
            }
        }
        Ok(())
    }
}

fn scaled(mel_scale: MelScale, column: usize, v: f32) -> f64 {
    let v = f64::from(v);
    if mel_scale == MelScale::Db && columns::MEL.contains(&column) {
        10.0 * v.max(MEL_DB_AMIN).log10()
    } else {
        v
    }
}

fn check_shape(m: &FeatureMatrix) -> Result<()> {
    if m.data.len() != m.frames * N_FEATURES {
        return Err(FeatureError::Normalizer(format!(
            "feature matrix of {} frames holds {} values, expected {}",
            m.frames,
            m.data.len(),
            m.frames * N_FEATURES
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(frames: usize, f: impl Fn(usize, usize) -> f32) -> FeatureMatrix {
        let data = (0..frames)
            .flat_map(|t| (0..N_FEATURES).map(move |c| (t, c)))
            .map(|(t, c)| f(t, c))
            .collect();
        FeatureMatrix { frames, data }
    }

    #[test]
    fn fitted_columns_have_zero_mean_unit_std_and_survive_json() {
        let a = matrix(7, |t, c| (t * c) as f32 * 0.5 + 1.0 + c as f32);
        let b = matrix(5, |t, c| (t as f32 - 2.0) * (c % 5) as f32 + 1e-3);
        let norm = Normalizer::fit(&[&a, &b]).unwrap();
        let json = serde_json::to_string(&norm).unwrap();
        let back: Normalizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back, norm);

        let (mut a2, mut b2) = (a.clone(), b.clone());
        back.apply(&mut a2).unwrap();
        back.apply(&mut b2).unwrap();
        for c in 0..N_FEATURES {
            let col: Vec<f64> = a2
                .column(c)
                .into_iter()
                .chain(b2.column(c))
                .map(f64::from)
                .collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / col.len() as f64;
            assert!(mean.abs() < 1e-5, "column {c}: mean {mean}");
            // No column is constant across the two matrices (at c = 0, `a` is 1 and `b` is
            // 1e-3), so each must come out with unit variance.
            assert!((var - 1.0).abs() < 1e-4, "column {c}: var {var}");
        }
    }

    #[test]
    fn mel_columns_are_taken_in_db() {
        let m = matrix(2, |t, _| if t == 0 { 1e-3 } else { 1e-1 });
        let n = Normalizer::fit(&[&m]).unwrap();
        let mel = columns::MEL.start;
        assert!((n.mean[mel] - -20.0).abs() < 1e-4, "{}", n.mean[mel]);
        assert!((n.std[mel] - 10.0).abs() < 1e-4);
        assert!((n.mean[0] - 0.0505).abs() < 1e-6);
        let raw = Normalizer::fit_with(&[&m], MelScale::Power).unwrap();
        assert!((raw.mean[mel] - 0.0505).abs() < 1e-6);
    }

    #[test]
    fn refuses_empty_and_misshaped_input() {
        assert!(Normalizer::fit(&[]).is_err());
        let bad = FeatureMatrix {
            frames: 2,
            data: vec![0.0; 3],
        };
        assert!(Normalizer::fit(&[&bad])
            .unwrap_err()
            .to_string()
            .contains("2 frames"));
    }
}
