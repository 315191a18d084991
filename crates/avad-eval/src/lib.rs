//! Metrics (precision, recall, accuracy, F1, ROC, AUC, EER), score normalisation, plots
//! and report tables for avad. Nothing here knows how scores were made.
//!
//! Conventions: labels are `true` for anomalous frames; metric functions take *anomaly
//! scores* (higher = more anomalous, predicted anomalous when `score >= threshold`);
//! the paper's regularity score s_r = 1 − n_e runs the other way (anomalous when
//! s_r < γ), see [`metrics::confusion_regularity`] and
//! [`metrics::anomaly_from_regularity`].

pub mod metrics;
pub mod normalize;
pub mod plots;
pub mod report;
pub mod smooth;

pub use metrics::{
    anomaly_from_regularity, auc, confusion, confusion_regularity, eer, eer_score, roc_auc_score,
    roc_curve, Confusion, MetricsError, Roc,
};
pub use normalize::{
    min_max_per_video, regularity_score, regularity_scores, Calibration, CalibrationError,
};
pub use report::{markdown_table, ModalityMetrics};
pub use smooth::{gaussian_smooth, Kernel};
