//! [`AudioScaler`]: feature frames into the model's (0, 1).

use avad_features::{FeatureMatrix, Normalizer};
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Maps raw feature frames into (0, 1), the range of the model's sigmoid output: the
/// per-column z-score fitted on training frames only (avad-features' [`Normalizer`], mel
/// bands in dB), then the logistic function. The paper says only that features are
/// normalised; a min-max fit would clip every sound louder than the training set to 1 and
/// hide how much louder it is, while the logistic keeps the order of any value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioScaler {
    /// The z-score.
    pub normalizer: Normalizer,
}

impl AudioScaler {
    /// Fits on `matrices` (training frames only).
    pub fn fit(matrices: &[&FeatureMatrix]) -> Result<Self, ModelError> {
        let normalizer = Normalizer::fit(matrices).map_err(|e| ModelError::Data(e.to_string()))?;
        Ok(AudioScaler { normalizer })
    }

    /// `matrix` scaled into (0, 1).
    pub fn apply(&self, matrix: &FeatureMatrix) -> Result<FeatureMatrix, ModelError> {
        let mut m = matrix.clone();
        self.normalizer
            .apply(&mut m)
            .map_err(|e| ModelError::Data(e.to_string()))?;
        for v in &mut m.data {
            *v = 1.0 / (1.0 + (-*v).exp());
        }
        Ok(m)
    }
}
