//! How a visual model scores: which frame error, and its calibration.

use avad_eval::normalize::Calibration;
use serde::{Deserialize, Serialize};

use super::VisualModel;
use crate::score::{ClipErrors, PatchScorer};
use crate::{ScoringError, SettingError};

/// Which frame error a visual model scores with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FrameScore {
    /// Eq. 3: the Euclidean error over the whole frame.
    Paper,
    /// The patch score ([`PatchScorer`]).
    Patch,
    /// The motion score: the patch score of the residual's change from frame to frame.
    Motion,
}

impl FrameScore {
    /// `paper`, `patch` or `motion`.
    pub fn name(self) -> &'static str {
        match self {
            FrameScore::Paper => "paper",
            FrameScore::Patch => "patch",
            FrameScore::Motion => "motion",
        }
    }
}

impl std::str::FromStr for FrameScore {
    type Err = SettingError;
    fn from_str(s: &str) -> Result<Self, SettingError> {
        match s {
            "paper" => Ok(FrameScore::Paper),
            "patch" => Ok(FrameScore::Patch),
            "motion" => Ok(FrameScore::Motion),
            other => Err(SettingError(format!(
                "{other}: expected paper (eq. 3, the whole frame), patch or motion"
            ))),
        }
    }
}

/// How a visual model turns its reconstructions into frame errors, and their calibration.
#[derive(Debug, Clone, Copy)]
pub struct VisualScoring<'a> {
    /// Which frame error.
    pub kind: FrameScore,
    /// Its calibration on held-out normal clips.
    pub calibration: &'a Calibration,
    /// The patch scorer, for [`FrameScore::Patch`] and [`FrameScore::Motion`].
    pub scorer: Option<&'a PatchScorer>,
}

impl VisualScoring<'_> {
    /// The block of the error maps [`crate::score::visual_errors`] must pool for this score
    /// ([`crate::score::ScoreOptions::patch_block`]).
    pub fn patch_block(&self) -> Option<usize> {
        self.scorer.map(|s| s.block)
    }

    /// The frame errors of a scored clip (scored with [`VisualScoring::patch_block`]).
    pub fn frame_errors(&self, errors: &ClipErrors) -> Result<Vec<f64>, crate::ModelError> {
        match self.scorer {
            None => Ok(errors.errors.clone()),
            Some(scorer) => {
                let maps = match self.kind {
                    FrameScore::Motion => errors.motion_maps.as_ref(),
                    _ => errors.patch_maps.as_ref(),
                };
                let maps = maps.ok_or_else(|| {
                    crate::ModelError::Data(format!(
                        "the {} score needs error maps pooled at its block",
                        self.kind.name()
                    ))
                })?;
                scorer.scores(maps)
            }
        }
    }
}

impl VisualModel {
    /// The frame score `asked`, or by default the motion score when the card has one, else
    /// the patch score, else eq. 3's, with its calibration.
    pub fn scoring(&self, asked: Option<FrameScore>) -> Result<VisualScoring<'_>, ScoringError> {
        let card = &self.card;
        let kind = asked.unwrap_or(if card.motion.is_some() {
            FrameScore::Motion
        } else if card.patch.is_some() {
            FrameScore::Patch
        } else {
            FrameScore::Paper
        });
        let fitted = match kind {
            FrameScore::Paper => {
                return Ok(VisualScoring {
                    kind,
                    calibration: &card.training.calibration,
                    scorer: None,
                });
            }
            FrameScore::Patch => card.patch.as_ref(),
            FrameScore::Motion => card.motion.as_ref(),
        };
        match fitted {
            Some(p) => Ok(VisualScoring {
                kind,
                calibration: &p.calibration,
                scorer: Some(&p.scorer),
            }),
            None => Err(ScoringError::NoSuchScore(kind)),
        }
    }
}
