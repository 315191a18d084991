//! Evaluation: audio, video and joint results of scored clips against their labels, the
//! Table 4 fusion net trained leave-one-clip-out beside the label-free mean
//! ([`evaluate`]), and the files that report them ([`Evaluation::write`]).

use std::ops::Range;
use std::path::Path;

use avad_eval::markdown_table;
use avad_eval::metrics::Roc;
use avad_model::burn::module::Module;
use avad_model::burn::tensor::Device;
use avad_model::fusion::{fit_fusion, FusionNetConfig, FusionSamples};
use avad_model::train::{copy_weights, Silent, TrainSettings};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::metrics::{modality_rows, pooled_labels, pooled_regularity, MetricsRow};
use crate::models::{Modality, Model, Models};
use crate::output::{plot_clips, write_file, write_rocs, write_scores};
use crate::progress::Progress;
use crate::report::{html_report, Figure};
use crate::score::{smoothing_sentence, ClipScores};

/// How [`evaluate`] fuses the two modalities.
#[derive(Clone, Debug)]
pub struct FusionConfig {
    /// Epochs of each leave-one-clip-out fusion net.
    pub epochs: usize,
    /// The seeds of the nets averaged per fold (one net each).
    pub seeds: Range<u64>,
}

impl Default for FusionConfig {
    fn default() -> Self {
        FusionConfig {
            epochs: 20,
            seeds: 1..6,
        }
    }
}

/// What [`evaluate`] found.
pub struct Evaluation {
    /// The labelled clips' scores.
    pub clips: Vec<ClipScores>,
    /// Their labels, clip after clip.
    pub labels: Vec<bool>,
    /// Every row (each modality and fusion, each normalisation) with its ROC curve.
    pub rows: Vec<(MetricsRow, Roc)>,
    /// The fused regularity scores of every frame, named as `scores.csv`'s columns.
    pub joint_columns: Vec<(String, Vec<f64>)>,
    /// The joint curve of each clip's plot (1 − P(anomalous), calibrated).
    pub joint_curves: Vec<(String, Vec<Vec<f64>>)>,
}

/// The paper's UCSD Ped2 results (Table 7: precision, recall, accuracy, F1; Table 8: AUC
/// and EER, given for the joint model only).
#[derive(Serialize, Clone, Copy)]
pub struct PaperRow {
    pub modality: &'static str,
    pub precision: f64,
    pub recall: f64,
    pub accuracy: f64,
    pub f1: f64,
    pub auc: Option<f64>,
    pub eer: Option<f64>,
}

pub const PAPER_PED2_ROWS: [PaperRow; 3] = [
    PaperRow {
        modality: "audio",
        precision: 0.9436,
        recall: 0.9502,
        accuracy: 0.9128,
        f1: 0.9469,
        auc: None,
        eer: None,
    },
    PaperRow {
        modality: "video",
        precision: 0.9061,
        recall: 0.8128,
        accuracy: 0.7861,
        f1: 0.8569,
        auc: None,
        eer: None,
    },
    PaperRow {
        modality: "joint",
        precision: 0.9666,
        recall: 0.9546,
        accuracy: 0.9259,
        f1: 0.9605,
        auc: Some(0.931),
        eer: Some(0.081),
    },
];

#[derive(Serialize)]
struct ResultsFile<'a> {
    dataset: String,
    frames: usize,
    anomalous_frames: usize,
    clips: usize,
    models: Vec<String>,
    protocol: &'static str,
    /// `--smooth`: the Gaussian's standard deviation over each clip's regularity scores, in frames (0: none).
    smoothing_frames: f64,
    /// The Table 4 net: nets averaged per fold, their first seed, epochs.
    fusion_seeds: u64,
    fusion_seed: u64,
    fusion_epochs: usize,
    rows: &'a [MetricsRow],
    paper_ucsd_ped2: &'a [PaperRow],
}

/// The protocol `results.md` states.
const PROTOCOL: &str = "Frame-level, pooled over all test frames. Audio models never score a clip they were \
trained on (leave-one-clip-out on Ped2); the fusion net is trained leave-one-clip-out on the other clips' labels; \
calibrated scores use only normal data held out at training time.";

/// Audio, video and joint results of `scored` (the clips `models` scored; those without
/// labels are left out) against their labels: each modality, the label-free mean of the
/// two regularity scores at the mean of their γ, and with two or more clips the Table 4
/// fusion net trained leave-one-clip-out, each under both normalisations.
pub fn evaluate(
    scored: Vec<ClipScores>,
    models: &Models,
    fusion: &FusionConfig,
    progress: &dyn Progress,
) -> Result<Evaluation> {
    let results: Vec<ClipScores> = scored.into_iter().filter(|c| c.labels.is_some()).collect();
    if results.is_empty() {
        return Err(Error::invalid(
            "the clips have no labels to evaluate against",
        ));
    }
    let Some(labels) = pooled_labels(&results, progress) else {
        return Err(Error::invalid(
            "the labelled frames are all of one class; AUC and EER are undefined",
        ));
    };
    let mut rows = modality_rows(&results, models, &labels)?;
    let mut joint_curves: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    let mut joint_columns: Vec<(String, Vec<f64>)> = Vec::new();
    let pair = models
        .position(Modality::Audio)
        .zip(models.position(Modality::Video));
    if pair.is_some() && results.len() < 2 {
        progress.note("one labelled clip: the fusion net, trained leave-one-clip-out, needs two or more; only the label-free fusion is reported");
    }
    if let Some((audio, video)) = pair {
        let list: Vec<&Model> = models.iter().collect();
        for calibrated in [false, true] {
            let norm = if calibrated {
                "calibrated"
            } else {
                "per-video min-max"
            };
            let gamma = |m: &Model| -> Result<f64> {
                if calibrated {
                    m.normal_gamma()
                } else {
                    Ok(m.paper_gamma())
                }
            };
            let (ga, gv) = (gamma(list[audio])?, gamma(list[video])?);
            // Label-free: the mean of the two regularity scores, at the mean of the two γ
            // (what the live detector decides with).
            let a = pooled_regularity(&results, audio, calibrated);
            let v = pooled_regularity(&results, video, calibrated);
            let mean: Vec<f64> = a.iter().zip(&v).map(|(x, y)| 0.5 * (x + y)).collect();
            let g = 0.5 * (ga + gv);
            rows.push(MetricsRow::from_regularity(
                "joint (mean)",
                norm,
                &mean,
                &labels,
                g,
                "the mean of the audio and video γ",
            )?);
            let column = if calibrated { "calibrated" } else { "minmax" };
            joint_columns.push((format!("joint_mean_regularity_{column}"), mean));
            if results.len() < 2 {
                continue;
            }
            let p = fuse_leave_one_clip_out(
                &results,
                (audio, video),
                calibrated,
                fusion.epochs,
                fusion.seeds.clone(),
                progress,
            )?;
            rows.push(MetricsRow::from_probability(
                "joint (Table 4 net)",
                norm,
                &p,
                &labels,
            )?);
            let regularity: Vec<f64> = p.iter().map(|x| 1.0 - x).collect();
            if calibrated {
                // Figure 5's joint curve: 1 − P(anomalous), per clip.
                let mut per_clip = Vec::new();
                let mut at = 0;
                for c in &results {
                    let n = c.modalities[0].errors.len();
                    per_clip.push(regularity[at..at + n].to_vec());
                    at += n;
                }
                joint_curves.push(("joint, 1 − P(anomalous)".to_string(), per_clip));
            }
            joint_columns.push((format!("joint_net_regularity_{column}"), regularity));
        }
    }
    Ok(Evaluation {
        clips: results,
        labels,
        rows,
        joint_columns,
        joint_curves,
    })
}

/// What `results.md` and `results.json` say besides the rows.
pub struct EvaluationContext<'a> {
    /// The dataset's path, as given.
    pub dataset: &'a Path,
    pub models: &'a Models,
    pub smoothing_frames: f64,
    pub fusion: &'a FusionConfig,
}

impl Evaluation {
    /// Writes `results.{md,json}`, `report.html`, `scores.{csv,json}`, `roc.{png,svg}` and
    /// `plots/` into `out`; returns the Markdown.
    pub fn write(&self, out: &Path, context: &EvaluationContext) -> Result<String> {
        let models = context.models;
        let results = &self.clips;
        write_scores(out, models, results, &self.joint_columns)?;
        plot_clips(&out.join("plots"), results, &self.joint_curves)?;
        let rocs: Vec<(String, Roc)> = self
            .rows
            .iter()
            .map(|(r, roc)| (format!("{}, {}", r.modality, r.normalisation), roc.clone()))
            .collect();
        write_rocs(out, &rocs)?;
        let metric_rows: Vec<MetricsRow> = self.rows.iter().map(|(r, _)| r.clone()).collect();
        let labels = &self.labels;
        let anomalous = labels.iter().filter(|&&l| l).count();
        let described: Vec<String> = models.iter().map(Model::describe).collect();
        let mut md = format!(
            "# avad evaluation: {}\n\n{} frames of {} clips, {anomalous} anomalous. {PROTOCOL} {}\n\nModels: {}.\n\n",
            context.dataset.display(),
            labels.len(),
            results.len(),
            smoothing_sentence(context.smoothing_frames),
            described.join("; ")
        );
        if let Some(live) = live_row(&metric_rows) {
            md.push_str(&format!(
                "**The live decision** ({}, calibrated: label-free, what `avad watch` decides on): AUC {:.1} %, EER {:.1} %; at its γ it flags {:.1} % of the anomalous frames and {:.1} % of the normal ones.\n\n",
                live.modality,
                100.0 * live.auc,
                100.0 * live.eer,
                100.0 * live.recall,
                100.0 * live.false_alarms
            ));
        }
        md.push_str(&markdown_table(
            &metric_rows
                .iter()
                .map(MetricsRow::table_row)
                .collect::<Vec<_>>(),
        ));
        md.push_str("\nThresholds γ (a frame is anomalous when s_r < γ):\n\n");
        for r in &metric_rows {
            md.push_str(&format!(
                "- {}, {}: γ = {:.3}, {}\n",
                r.modality, r.normalisation, r.threshold_gamma, r.threshold_source
            ));
        }
        md.push_str("\nThe paper on UCSD Ped2 (Tables 7 and 8; AUC and EER given for the joint model only):\n\n");
        md.push_str(&paper_table());
        let seeds = &context.fusion.seeds;
        let results_json = ResultsFile {
            dataset: context.dataset.display().to_string(),
            frames: labels.len(),
            anomalous_frames: anomalous,
            clips: results.len(),
            models: described,
            protocol: PROTOCOL,
            smoothing_frames: context.smoothing_frames,
            fusion_seeds: seeds.end - seeds.start,
            fusion_seed: seeds.start,
            fusion_epochs: context.fusion.epochs,
            rows: &metric_rows,
            paper_ucsd_ped2: &PAPER_PED2_ROWS,
        };
        write_file(out, "results.md", md.as_bytes())?;
        write_file(
            out,
            "results.json",
            serde_json::to_string_pretty(&results_json)?.as_bytes(),
        )?;
        let mut figures = vec![Figure {
            title: "Frame-level ROC".into(),
            png: out.join("roc.png"),
        }];
        for c in results {
            figures.push(Figure {
                title: format!("{}: regularity scores, ground truth shaded", c.name),
                png: out.join("plots").join(format!("{}.png", c.file_stem())),
            });
        }
        let html = html_report("avad evaluation", &md, &figures)?;
        write_file(out, "report.html", html.as_bytes())?;
        Ok(md)
    }
}

/// The row `avad watch` decides with: the calibrated mean of the two modalities, or the
/// one modality's calibrated row.
fn live_row(rows: &[MetricsRow]) -> Option<&MetricsRow> {
    let calibrated = |name: &str| {
        rows.iter()
            .find(|r| r.modality == name && r.normalisation == "calibrated")
    };
    calibrated("joint (mean)")
        .or_else(|| calibrated(Modality::Video.name()))
        .or_else(|| calibrated(Modality::Audio.name()))
}

/// The paper's Ped2 rows as a Markdown table.
pub fn paper_table() -> String {
    let mut t = String::from("| modality | AUC (%) | EER (%) | precision (%) | recall (%) | accuracy (%) | F1 (%) |\n|---|---:|---:|---:|---:|---:|---:|\n");
    let pct = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{:.1}", 100.0 * v));
    for r in PAPER_PED2_ROWS {
        t.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.modality,
            pct(r.auc),
            pct(r.eer),
            100.0 * r.precision,
            100.0 * r.recall,
            100.0 * r.accuracy,
            100.0 * r.f1
        ));
    }
    t
}

/// P(anomalous) of every labelled frame (in [`pooled_labels`] order) from fusion nets
/// trained leave-one-clip-out: clip k's frames are decided by nets fitted on the other
/// clips' frames only, one per seed, whose P are averaged.
fn fuse_leave_one_clip_out(
    results: &[ClipScores],
    (audio, video): (usize, usize),
    calibrated: bool,
    epochs: usize,
    seeds: Range<u64>,
    progress: &dyn Progress,
) -> Result<Vec<f64>> {
    let rows_of = |c: &ClipScores| -> Vec<(Vec<f64>, bool)> {
        let pick = |i: usize| {
            let m = &c.modalities[i];
            if calibrated {
                &m.regularity_calibrated
            } else {
                &m.regularity_minmax
            }
        };
        let (a, v) = (pick(audio), pick(video));
        let labels = c.labels.as_deref().unwrap_or(&[]);
        a.iter()
            .zip(v)
            .zip(labels)
            .map(|((x, y), &l)| (vec![1.0 - x, 1.0 - y], l))
            .collect()
    };
    let per_clip: Vec<Vec<(Vec<f64>, bool)>> = results.iter().map(rows_of).collect();
    if per_clip.len() < 2 {
        return Err(Error::invalid(
            "leave-one-clip-out fusion needs at least two labelled clips",
        ));
    }
    let seeds: Vec<u64> = seeds.collect();
    progress.stage("fusion nets", (per_clip.len() * seeds.len()) as u64);
    progress.message(&format!(
        "fusion ({})",
        if calibrated { "calibrated" } else { "min-max" }
    ));
    // One net per (held-out clip, seed), fitted on as many threads as there are cores: a
    // net is too small to keep two cores busy alone. Each net's P is the same as when
    // fitted alone (`fit_fusion`), and they are summed below in seed order, so the result
    // does not depend on the threads.
    let jobs: Vec<(usize, u64)> = (0..per_clip.len())
        .flat_map(|k| seeds.iter().map(move |&s| (k, s)))
        .collect();
    // Each fold's training rows (every clip but the held-out one), built once for its seeds.
    let folds: Vec<FusionSamples> = (0..per_clip.len())
        .map(|k| FusionSamples {
            train: per_clip
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != k)
                .flat_map(|(_, r)| r.clone())
                .collect(),
            validation: Vec::new(),
        })
        .collect();
    let fit = |(k, seed): (usize, u64)| -> Result<Vec<f64>> {
        let settings = TrainSettings {
            epochs,
            batch_size: 256,
            learning_rate: 1e-3,
            patience: 0,
            seed,
        };
        let plain = Device::flex();
        let net = fit_fusion(
            &folds[k],
            &settings,
            &Device::flex().autodiff(),
            &mut Silent,
        )?;
        let net = copy_weights(&net, FusionNetConfig::new().init(&plain))?.valid();
        let x: Vec<Vec<f64>> = per_clip[k].iter().map(|r| r.0.clone()).collect();
        Ok(net.predict(&x, &plain)?)
    };
    // One worker per thread of the rayon pool, each on it: a net's own parallel products
    // (host_ops) then run on the worker's thread while the other worker is busy, instead of
    // being handed to the pool while the worker waits.
    let workers = rayon::current_num_threads().min(jobs.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let finished = std::sync::Mutex::new(Vec::with_capacity(jobs.len()));
    // Each worker takes the next job until none is left or one fails, and records what it
    // fitted, by job number.
    rayon::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(&job) = jobs.get(i) else { break };
                let result = fit(job);
                let failed = result.is_err();
                finished
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, result));
                progress.advance(1);
                if failed {
                    // The others stop at their next job.
                    next.store(jobs.len(), std::sync::atomic::Ordering::SeqCst);
                    break;
                }
            });
        }
    });
    let mut finished: Vec<(usize, Result<Vec<f64>>)> =
        finished.into_inner().unwrap_or_else(|e| e.into_inner());
    progress.finish();
    finished.sort_by_key(|(i, _)| *i);
    // A failure is reported as itself, not as the nets it kept from being fitted.
    let mut per_job = Vec::with_capacity(jobs.len());
    for (_, result) in finished {
        per_job.push(result?);
    }
    if per_job.len() < jobs.len() {
        return Err(Error::invalid("a fusion net was not fitted"));
    }
    let mut p = Vec::new();
    for (k, held_out) in per_clip.iter().enumerate() {
        let mut sum = vec![0.0; held_out.len()];
        for q in &per_job[k * seeds.len()..(k + 1) * seeds.len()] {
            for (s, q) in sum.iter_mut().zip(q) {
                *s += q;
            }
        }
        p.extend(sum.iter().map(|s| s / seeds.len() as f64));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::ModalityScores;

    fn clip(name: &str, seed: u64, frames: usize) -> ClipScores {
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let labels: Vec<bool> = (0..frames).map(|f| f >= frames / 2).collect();
        let scores = |modality: Modality, next: &mut dyn FnMut() -> f64| {
            let r: Vec<f64> = labels
                .iter()
                .map(|&l| if l { 0.3 } else { 0.7 } + 0.4 * (next() - 0.5))
                .collect();
            ModalityScores {
                modality,
                errors: r.iter().map(|v| 1.0 - v).collect(),
                regularity_minmax: r.clone(),
                regularity_calibrated: r,
                parts: Vec::new(),
            }
        };
        let modalities = vec![
            scores(Modality::Audio, &mut next),
            scores(Modality::Video, &mut next),
        ];
        ClipScores {
            name: name.into(),
            labels: Some(labels),
            modalities,
        }
    }

    /// Each clip's P comes from a net that never saw its labels: flipping one clip's
    /// labels leaves its own P as it was and changes the others'.
    #[test]
    fn a_clips_fusion_never_sees_its_own_labels() {
        let mut clips = vec![clip("a", 1, 30), clip("b", 2, 30), clip("c", 3, 30)];
        let before =
            fuse_leave_one_clip_out(&clips, (0, 1), true, 3, 1..2, &crate::Silent).unwrap();
        assert_eq!(before.len(), 90);
        for l in clips[0].labels.as_mut().unwrap() {
            *l = !*l;
        }
        let after = fuse_leave_one_clip_out(&clips, (0, 1), true, 3, 1..2, &crate::Silent).unwrap();
        assert_eq!(
            before[..30],
            after[..30],
            "clip a's own labels reached its net"
        );
        assert_ne!(before[30..60], after[30..60]);
        assert_ne!(before[60..], after[60..]);
    }
}
