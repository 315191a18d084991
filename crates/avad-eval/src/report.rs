//! Metric tables for reports.

use crate::metrics::{confusion, eer, roc_curve, MetricsError, Roc};

/// One row of the results table: a modality (audio, video, joint …) evaluated on the
/// same frames. Rates are fractions in [0, 1]; the table prints them as percentages,
/// as the paper's Tables 7 and 8 do.
#[derive(Debug, Clone, PartialEq)]
pub struct ModalityMetrics {
    pub modality: String,
    pub auc: f64,
    pub eer: f64,
    pub precision: f64,
    pub recall: f64,
    pub accuracy: f64,
    pub f1: f64,
    /// The share of normal frames decided anomalous (the false-positive rate at the
    /// threshold).
    pub false_alarms: f64,
}

impl ModalityMetrics {
    /// Every metric from anomaly scores (higher = more anomalous), frame labels and
    /// the decision threshold for precision/recall/accuracy/F1 (`score >= threshold`).
    pub fn compute(
        modality: &str,
        scores: &[f64],
        labels: &[bool],
        threshold: f64,
    ) -> Result<Self, MetricsError> {
        Self::with_roc(
            modality,
            &roc_curve(scores, labels)?,
            scores,
            labels,
            threshold,
        )
    }

    /// [`compute`](Self::compute) for a caller that already holds the ROC curve of
    /// `scores` against `labels` (and keeps it, e.g. to plot).
    pub fn with_roc(
        modality: &str,
        roc: &Roc,
        scores: &[f64],
        labels: &[bool],
        threshold: f64,
    ) -> Result<Self, MetricsError> {
        let c = confusion(scores, labels, threshold)?;
        Ok(ModalityMetrics {
            modality: modality.to_string(),
            auc: roc.auc(),
            eer: eer(roc),
            precision: c.precision(),
            recall: c.recall(),
            accuracy: c.accuracy(),
            f1: c.f1(),
            false_alarms: c.false_positive_rate(),
        })
    }
}

/// A GitHub-flavoured Markdown table, one row per modality, values in percent with
/// one decimal.
pub fn markdown_table(rows: &[ModalityMetrics]) -> String {
    let mut out = String::from(
        "| modality | AUC (%) | EER (%) | precision (%) | recall (%) | accuracy (%) | F1 (%) | normal frames flagged (%) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let cells = [
            r.auc,
            r.eer,
            r.precision,
            r.recall,
            r.accuracy,
            r.f1,
            r.false_alarms,
        ]
        .map(|v| format!("{:.1}", 100.0 * v));
        out.push_str(&format!(
            "| {} | {} |\n",
            escape_cell(&r.modality),
            cells.join(" | ")
        ));
    }
    out
}

fn escape_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_header_and_percentages() {
        let scores = [0.1, 0.4, 0.35, 0.8];
        let labels = [false, false, true, true];
        let row = ModalityMetrics::compute("audio|video", &scores, &labels, 0.5).unwrap();
        // sklearn: roc_auc_score([0,0,1,1], [0.1,0.4,0.35,0.8]) = 0.75
        assert!((row.auc - 0.75).abs() < 1e-12);
        // At 0.5 only 0.8 is flagged: precision 1, recall 0.5, accuracy 0.75, F1 2/3, and
        // neither normal frame.
        let table = markdown_table(&[row]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("| modality | AUC (%) | EER (%)"));
        assert_eq!(
            lines[2],
            "| audio\\|video | 75.0 | 50.0 | 100.0 | 50.0 | 75.0 | 66.7 | 0.0 |"
        );
        // At 0.3, 0.35, 0.4 and 0.8 are flagged: every anomalous frame, one normal of two.
        let lower = ModalityMetrics::compute("v", &scores, &labels, 0.3).unwrap();
        assert_eq!((lower.recall, lower.false_alarms), (1.0, 0.5));
    }
}
