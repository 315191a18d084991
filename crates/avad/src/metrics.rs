//! Frame-level metrics of scored clips: [`MetricsRow`] per modality and normalisation.

use avad_eval::metrics::{
    anomaly_from_regularity, confusion, confusion_regularity, eer, roc_curve, Confusion, Roc,
};
use avad_eval::ModalityMetrics;
use serde::Serialize;

use crate::error::Result;
use crate::models::{Model, Models, NORMAL_PERCENTILE};
use crate::progress::Progress;
use crate::score::ClipScores;

/// The paper's Ped2 numbers (Tables 7 and 8), quoted beside ours.
pub const PAPER_PED2: &str = "Tariq et al. 2024, UCSD Ped2: joint AUC 93.1, EER 8.1 (Table 8); \
    audio P 94.4 R 95.0 A 91.3 F1 94.7 (Table 7)";

/// One row of `metrics.json`.
#[derive(Serialize, Clone)]
pub struct MetricsRow {
    pub modality: String,
    pub normalisation: String,
    pub threshold_gamma: f64,
    pub threshold_source: String,
    pub auc: f64,
    pub eer: f64,
    pub precision: f64,
    pub recall: f64,
    pub accuracy: f64,
    pub f1: f64,
    /// The share of normal frames decided anomalous.
    pub false_alarms: f64,
}

impl MetricsRow {
    /// Every metric of the regularity scores `regularity` against `labels`: the ROC of
    /// 1 − s_r, and the decision s_r < γ (what `avad watch` decides), made on s_r itself so
    /// that no rounding in 1 − s_r moves a frame across γ.
    pub fn from_regularity(
        modality: &str,
        normalisation: &str,
        regularity: &[f64],
        labels: &[bool],
        gamma: f64,
        source: &str,
    ) -> Result<(Self, Roc)> {
        let roc = roc_curve(&anomaly_from_regularity(regularity), labels)?;
        let c = confusion_regularity(regularity, labels, gamma)?;
        Ok(Self::new(modality, normalisation, gamma, source, roc, c))
    }

    /// Every metric of the fusion net's P(anomalous) against `labels`, deciding P ≥ 0.5
    /// (the net's sigmoid trained with BCE on 0/1 labels).
    pub fn from_probability(
        modality: &str,
        normalisation: &str,
        probability: &[f64],
        labels: &[bool],
    ) -> Result<(Self, Roc)> {
        let roc = roc_curve(probability, labels)?;
        let c = confusion(probability, labels, 0.5)?;
        Ok(Self::new(
            modality,
            normalisation,
            0.5,
            "P(anomalous) ≥ 0.5",
            roc,
            c,
        ))
    }

    fn new(
        modality: &str,
        normalisation: &str,
        gamma: f64,
        source: &str,
        roc: Roc,
        c: Confusion,
    ) -> (Self, Roc) {
        (
            MetricsRow {
                modality: modality.to_string(),
                normalisation: normalisation.to_string(),
                threshold_gamma: gamma,
                threshold_source: source.to_string(),
                auc: roc.auc(),
                eer: eer(&roc),
                precision: c.precision(),
                recall: c.recall(),
                accuracy: c.accuracy(),
                f1: c.f1(),
                false_alarms: c.false_positive_rate(),
            },
            roc,
        )
    }

    pub fn table_row(&self) -> ModalityMetrics {
        ModalityMetrics {
            modality: format!("{}, {}", self.modality, self.normalisation),
            auc: self.auc,
            eer: self.eer,
            precision: self.precision,
            recall: self.recall,
            accuracy: self.accuracy,
            f1: self.f1,
            false_alarms: self.false_alarms,
        }
    }
}

/// The labels of the labelled clips of `results`, concatenated, or `None` (with a note on
/// `progress`) when they cannot give AUC and EER.
pub fn pooled_labels(results: &[ClipScores], progress: &dyn Progress) -> Option<Vec<bool>> {
    let labelled = results.iter().filter(|c| c.labels.is_some()).count();
    if labelled < results.len() {
        progress.note(&format!(
            "{} of {} clips have no labels: metrics use the labelled ones only",
            results.len() - labelled,
            results.len()
        ));
    }
    let labels: Vec<bool> = results
        .iter()
        .filter_map(|c| c.labels.clone())
        .flatten()
        .collect();
    if labels.is_empty() {
        return None;
    }
    if labels.iter().all(|&l| l) || labels.iter().all(|&l| !l) {
        progress.note("all labelled frames are of one class: AUC and EER are undefined");
        return None;
    }
    Some(labels)
}

/// The regularity scores s_r of `modality` over the labelled clips, in the order of
/// [`pooled_labels`].
pub fn pooled_regularity(results: &[ClipScores], index: usize, calibrated: bool) -> Vec<f64> {
    results
        .iter()
        .filter(|c| c.labels.is_some())
        .flat_map(|c| {
            let m = &c.modalities[index];
            if calibrated {
                m.regularity_calibrated.iter().copied()
            } else {
                m.regularity_minmax.iter().copied()
            }
        })
        .collect()
}

/// The metric rows and ROC curves of every modality in `models` under both normalisations.
pub fn modality_rows(
    results: &[ClipScores],
    models: &Models,
    labels: &[bool],
) -> Result<Vec<(MetricsRow, Roc)>> {
    let mut rows = Vec::new();
    for (i, m) in models.iter().enumerate() {
        let minmax = pooled_regularity(results, i, false);
        let calibrated = pooled_regularity(results, i, true);
        rows.push(MetricsRow::from_regularity(
            m.modality().name(),
            "per-video min-max",
            &minmax,
            labels,
            m.paper_gamma(),
            &format!("the paper's Ped2 {} γ (Table 6)", m.modality()),
        )?);
        rows.push(MetricsRow::from_regularity(
            m.modality().name(),
            "calibrated",
            &calibrated,
            labels,
            m.normal_gamma()?,
            &format!("s_r of the {NORMAL_PERCENTILE}th percentile of held-out normal errors"),
        )?);
        rows.extend(part_rows(results, i, m, labels)?);
    }
    Ok(rows)
}

/// The rows of each scorer a modality's score combines, alone ([`ClipScores`]' parts): a
/// visual model's autoencoder and speed score, each calibrated on its own and decided at
/// its own label-free γ.
fn part_rows(
    results: &[ClipScores],
    index: usize,
    model: &Model,
    labels: &[bool],
) -> Result<Vec<(MetricsRow, Roc)>> {
    let Model::Visual(v) = model else {
        return Ok(Vec::new());
    };
    let labelled: Vec<&ClipScores> = results.iter().filter(|c| c.labels.is_some()).collect();
    let (Some(speed), Some(first)) = (&v.speed, labelled.first()) else {
        return Ok(Vec::new());
    };
    let parts = first.modalities[index].parts.len();
    if labelled
        .iter()
        .any(|c| c.modalities[index].parts.len() != parts)
    {
        return Ok(Vec::new());
    }
    let source =
        format!("s_r of the {NORMAL_PERCENTILE}th percentile of its held-out normal errors");
    let mut rows = Vec::new();
    for (k, part) in first.modalities[index].parts.iter().enumerate() {
        let calibration = match part.name {
            "speed" => &speed.calibration,
            _ => v.scoring()?.calibration,
        };
        let pooled = |calibrated: bool| -> Vec<f64> {
            labelled
                .iter()
                .flat_map(|c| {
                    let p = &c.modalities[index].parts[k];
                    if calibrated {
                        p.regularity_calibrated.iter().copied()
                    } else {
                        p.regularity_minmax.iter().copied()
                    }
                })
                .collect()
        };
        let name = format!("{} alone: {}", model.modality(), part.name);
        rows.push(MetricsRow::from_regularity(
            &name,
            "per-video min-max",
            &pooled(false),
            labels,
            model.paper_gamma(),
            &format!("the paper's Ped2 {} γ (Table 6)", model.modality()),
        )?);
        rows.push(MetricsRow::from_regularity(
            &name,
            "calibrated",
            &pooled(true),
            labels,
            calibration.threshold_from_normal(NORMAL_PERCENTILE)?,
            &source,
        )?);
    }
    Ok(rows)
}
