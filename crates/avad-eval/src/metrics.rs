//! Frame-level detection metrics, matching scikit-learn.
//!
//! Conventions, used everywhere in this crate:
//! - `labels[i]` is `true` when frame `i` is anomalous (the positive class).
//! - Scores are *anomaly scores*: higher means more anomalous, and a frame is predicted
//!   anomalous when `score >= threshold` (scikit-learn's `roc_curve` convention).
//!   The paper's regularity score s_r runs the other way (a frame is anomalous when
//!   s_r < γ, Tariq et al. 2024 §3.4.2): use [`confusion_regularity`] for decisions
//!   and [`anomaly_from_regularity`] (1 − s_r) before [`roc_curve`].
//! - 0/0 in precision, recall and F1 is 0 (scikit-learn's `zero_division=0`).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum MetricsError {
    #[error("{scores} scores but {labels} labels: there must be one label per scored frame")]
    LengthMismatch { scores: usize, labels: usize },
    #[error("no frames to evaluate: scores and labels are empty")]
    Empty,
    #[error(
        "all {n} frames are labelled {}: ROC, AUC and EER need both normal and anomalous frames",
        if *.anomalous { "anomalous" } else { "normal" }
    )]
    OneClass { n: usize, anomalous: bool },
    #[error("score {index} is {value}: scores must be finite numbers")]
    NonFiniteScore { index: usize, value: f64 },
    #[error("threshold is NaN")]
    NanThreshold,
}

/// Counts of a binary decision against frame labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Confusion {
    pub tp: u64,
    pub fp: u64,
    pub tn: u64,
    pub fn_: u64,
}

impl Confusion {
    pub fn total(&self) -> u64 {
        self.tp + self.fp + self.tn + self.fn_
    }

    /// tp / (tp + fp); 0 when nothing is predicted anomalous.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// tp / (tp + fn); 0 when no frame is anomalous.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// (tp + tn) / total; 0 for an empty confusion.
    pub fn accuracy(&self) -> f64 {
        ratio(self.tp + self.tn, self.total())
    }

    /// 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall written the
    /// way scikit-learn (>= 1.3) computes it, so 0/0 is 0 and no precision/recall
    /// rounding leaks in.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }

    /// fp / (fp + tn); 0 when no frame is normal.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(self.fp, self.fp + self.tn)
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn check_inputs(scores: &[f64], labels: &[bool]) -> Result<(), MetricsError> {
    if scores.len() != labels.len() {
        return Err(MetricsError::LengthMismatch {
            scores: scores.len(),
            labels: labels.len(),
        });
    }
    if scores.is_empty() {
        return Err(MetricsError::Empty);
    }
    // scikit-learn rejects infinities as well as NaN (assert_all_finite).
    if let Some((index, &value)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(MetricsError::NonFiniteScore { index, value });
    }
    Ok(())
}

fn count(labels: &[bool], predicted: impl Iterator<Item = bool>) -> Confusion {
    let mut c = Confusion::default();
    for (&actual, predicted) in labels.iter().zip(predicted) {
        match (predicted, actual) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, false) => c.tn += 1,
            (false, true) => c.fn_ += 1,
        }
    }
    c
}

/// Confusion counts when a frame is predicted anomalous iff `anomaly_score >= threshold`.
pub fn confusion(
    scores: &[f64],
    labels: &[bool],
    threshold: f64,
) -> Result<Confusion, MetricsError> {
    check_inputs(scores, labels)?;
    if threshold.is_nan() {
        return Err(MetricsError::NanThreshold);
    }
    Ok(count(labels, scores.iter().map(|&s| s >= threshold)))
}

/// Confusion counts for regularity scores: a frame is predicted anomalous iff
/// `s_r < gamma` (paper §3.4.2). Compared directly rather than through 1 − s_r so
/// that rounding in the subtraction cannot flip a frame that sits on γ.
pub fn confusion_regularity(
    regularity: &[f64],
    labels: &[bool],
    gamma: f64,
) -> Result<Confusion, MetricsError> {
    check_inputs(regularity, labels)?;
    if gamma.is_nan() {
        return Err(MetricsError::NanThreshold);
    }
    Ok(count(labels, regularity.iter().map(|&s| s < gamma)))
}

/// Anomaly scores 1 − s_r from regularity scores, for [`roc_curve`] and friends.
/// (The ROC of 1 − s_r is the ROC of s_r read the other way round.)
pub fn anomaly_from_regularity(regularity: &[f64]) -> Vec<f64> {
    regularity.iter().map(|&s| 1.0 - s).collect()
}

/// A receiver operating characteristic curve, one point per distinct score plus the
/// origin. `thresholds[0]` is +∞ (nothing predicted anomalous) and the rest are the
/// distinct scores in decreasing order; point `i` is the rate pair for
/// `score >= thresholds[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Roc {
    pub fpr: Vec<f64>,
    pub tpr: Vec<f64>,
    pub thresholds: Vec<f64>,
}

/// scikit-learn's `roc_curve(labels, scores, drop_intermediate=False)`: tied scores
/// form one point, so a tie between classes is a diagonal segment, not a staircase.
pub fn roc_curve(scores: &[f64], labels: &[bool]) -> Result<Roc, MetricsError> {
    check_inputs(scores, labels)?;
    let positives = labels.iter().filter(|&&l| l).count() as u64;
    let negatives = labels.len() as u64 - positives;
    if positives == 0 || negatives == 0 {
        return Err(MetricsError::OneClass {
            n: labels.len(),
            anomalous: positives > 0,
        });
    }

    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Scores are finite (checked above), so total_cmp orders them as `<` does, except
    // that it separates -0.0 from 0.0; the tie test below uses `==`, which does not.
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));

    let mut fpr = vec![0.0];
    let mut tpr = vec![0.0];
    let mut thresholds = vec![f64::INFINITY];
    let (mut tp, mut fp) = (0u64, 0u64);
    for (k, &i) in order.iter().enumerate() {
        if labels.get(i).copied().unwrap_or(false) {
            tp += 1;
        } else {
            fp += 1;
        }
        let score = scores.get(i).copied().unwrap_or(f64::NAN);
        let next = order.get(k + 1).and_then(|&j| scores.get(j));
        if next.is_none_or(|&n| n != score) {
            fpr.push(fp as f64 / negatives as f64);
            tpr.push(tp as f64 / positives as f64);
            thresholds.push(score);
        }
    }
    Ok(Roc {
        fpr,
        tpr,
        thresholds,
    })
}

/// Area under a curve by the trapezoid rule (scikit-learn's `auc`); `x` must be
/// monotonic, as ROC false positive rates are.
pub fn auc(x: &[f64], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(xs, ys)| match (xs, ys) {
            ([x0, x1], [y0, y1]) => (x1 - x0) * (y0 + y1) / 2.0,
            _ => 0.0,
        })
        .sum()
}

impl Roc {
    /// Area under this curve (trapezoid rule).
    pub fn auc(&self) -> f64 {
        auc(&self.fpr, &self.tpr)
    }
}

/// scikit-learn's `roc_auc_score` for binary labels. Because tied scores form one
/// diagonal ROC segment, this equals the Mann–Whitney probability
/// P(score of an anomalous frame > score of a normal frame) with ties counted 1/2.
pub fn roc_auc_score(scores: &[f64], labels: &[bool]) -> Result<f64, MetricsError> {
    Ok(roc_curve(scores, labels)?.auc())
}

/// Equal error rate: where the ROC curve, drawn as straight segments between its
/// points, meets the line FPR = 1 − TPR (false positive rate = false negative rate).
/// Returns that FPR. This is the exact root that the common anomaly-detection recipe
/// `brentq(lambda x: 1 - x - interp1d(fpr, tpr)(x), 0, 1)` (scipy) approximates;
/// the fixture test checks both. The crossing is unique: along the curve
/// FPR + TPR − 1 rises from −1 at (0, 0) to +1 at (1, 1).
pub fn eer(roc: &Roc) -> f64 {
    let mut prev: Option<(f64, f64)> = None;
    for (&f, &t) in roc.fpr.iter().zip(&roc.tpr) {
        let g = f + t - 1.0;
        if g == 0.0 {
            return f;
        }
        if let Some((f0, g0)) = prev {
            if g0 < 0.0 && g > 0.0 {
                return f0 + (-g0 / (g - g0)) * (f - f0);
            }
        }
        prev = Some((f, g));
    }
    // Only reachable for a curve not built by roc_curve (which ends at (1, 1)).
    f64::NAN
}

/// EER straight from scores and labels (see [`eer`]).
pub fn eer_score(scores: &[f64], labels: &[bool]) -> Result<f64, MetricsError> {
    Ok(eer(&roc_curve(scores, labels)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_reported() {
        assert_eq!(
            roc_curve(&[0.1], &[true, false]),
            Err(MetricsError::LengthMismatch {
                scores: 1,
                labels: 2
            })
        );
        assert_eq!(roc_curve(&[], &[]), Err(MetricsError::Empty));
        assert_eq!(confusion(&[], &[], 0.5), Err(MetricsError::Empty));
        assert_eq!(
            roc_auc_score(&[0.1, 0.2], &[true, true]),
            Err(MetricsError::OneClass {
                n: 2,
                anomalous: true
            })
        );
        assert!(matches!(
            roc_curve(&[0.1, f64::NAN], &[true, false]),
            Err(MetricsError::NonFiniteScore { index: 1, .. })
        ));
        assert_eq!(
            confusion(&[0.1], &[true], f64::NAN),
            Err(MetricsError::NanThreshold)
        );
        let msg = MetricsError::OneClass {
            n: 5,
            anomalous: false,
        }
        .to_string();
        assert!(msg.contains("all 5 frames are labelled normal"), "{msg}");
    }

    #[test]
    fn regularity_decision_is_strictly_below_gamma() {
        let s_r = [0.2, 0.5, 0.9];
        let labels = [true, true, false];
        let c = confusion_regularity(&s_r, &labels, 0.5).unwrap();
        // 0.5 is not < 0.5, so only the first frame is flagged.
        assert_eq!(
            c,
            Confusion {
                tp: 1,
                fp: 0,
                tn: 1,
                fn_: 1
            }
        );
        assert_eq!(anomaly_from_regularity(&s_r), vec![0.8, 0.5, 1.0 - 0.9]);
    }

    #[test]
    fn eer_on_hand_made_curves() {
        let roc = |fpr: Vec<f64>, tpr: Vec<f64>| Roc {
            thresholds: vec![0.0; fpr.len()],
            fpr,
            tpr,
        };
        // Chance diagonal crosses FPR = 1 - TPR at 0.5.
        assert_eq!(eer(&roc(vec![0.0, 1.0], vec![0.0, 1.0])), 0.5);
        // Vertical segment at FPR 0.2 from TPR 0.5 to 0.9: crossing at FPR 0.2.
        let r = roc(vec![0.0, 0.2, 0.2, 1.0], vec![0.0, 0.5, 0.9, 1.0]);
        assert!((eer(&r) - 0.2).abs() < 1e-15);
        // Horizontal segment at TPR 0.7 from FPR 0.1 to 0.6: crossing at FPR 0.3.
        let r = roc(vec![0.0, 0.1, 0.6, 1.0], vec![0.0, 0.7, 0.7, 1.0]);
        assert!((eer(&r) - 0.3).abs() < 1e-15);
    }
}
