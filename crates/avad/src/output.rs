//! The files scoring and evaluation write: `scores.csv`, `scores.json`, `metrics.*`, ROC
//! curves and a score plot per clip. Every file is written whole or not at all.

use std::path::Path;

use avad_atomic::write_atomic;
use avad_eval::markdown_table;
use avad_eval::metrics::Roc;
use avad_eval::plots::{write_roc, write_score_curve, RocPlot, RocSeries, ScoreCurve, Series};
use serde::Serialize;

use crate::error::{Context, Error, Result};
use crate::metrics::{MetricsRow, PAPER_PED2};
use crate::models::{Model, Models};
use crate::score::{smoothing_sentence, ClipScores};

/// Writes `bytes` to `dir/name` atomically, naming the file when it fails.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    write_atomic(&dir.join(name), bytes).with_context(|| format!("writing {name}"))
}

#[derive(Serialize)]
struct MetricsFile<'a> {
    frames: usize,
    anomalous_frames: usize,
    models: Vec<String>,
    /// `--smooth`: the Gaussian's standard deviation over each clip's regularity scores, in frames (0: none).
    smoothing_frames: f64,
    frame_level: Vec<MetricsRow>,
    pixel_level_auc: Option<f64>,
    pixel_blocks: Option<&'a str>,
    paper: &'static str,
}

/// The frame-level (and pixel-level) metrics of scored clips, as `metrics.md` says them.
pub struct MetricsReport<'a> {
    pub labels: &'a [bool],
    pub models: &'a Models,
    pub smoothing_frames: f64,
    pub rows: &'a [(MetricsRow, Roc)],
    pub pixel_auc: Option<f64>,
    pub pixel_blocks: Option<&'a str>,
}

impl MetricsReport<'_> {
    /// `metrics.md`'s text.
    pub fn markdown(&self) -> String {
        let anomalous = self.labels.iter().filter(|&&l| l).count();
        let models: Vec<String> = self.models.iter().map(Model::describe).collect();
        let mut md = format!(
            "Frame-level results on {} frames ({anomalous} anomalous); precision, recall, accuracy and F1 at each row's γ. {}\n\
             Models: {}.\n\n",
            self.labels.len(),
            smoothing_sentence(self.smoothing_frames),
            models.join("; ")
        );
        md.push_str(&markdown_table(
            &self
                .rows
                .iter()
                .map(|(r, _)| r.table_row())
                .collect::<Vec<_>>(),
        ));
        if let Some(p) = self.pixel_auc {
            md.push_str(&format!(
                "\nPixel-level AUC: {:.1} % ({}).\n",
                100.0 * p,
                self.pixel_blocks.unwrap_or("")
            ));
        }
        md.push_str(&format!("\nPaper: {PAPER_PED2}.\n"));
        md
    }

    /// Writes `metrics.md`, `metrics.json` and `roc.{png,svg}` into `out`; returns the
    /// Markdown.
    pub fn write(&self, out: &Path) -> Result<String> {
        let metrics = MetricsFile {
            frames: self.labels.len(),
            anomalous_frames: self.labels.iter().filter(|&&l| l).count(),
            models: self.models.iter().map(Model::describe).collect(),
            smoothing_frames: self.smoothing_frames,
            frame_level: self.rows.iter().map(|(r, _)| r.clone()).collect(),
            pixel_level_auc: self.pixel_auc,
            pixel_blocks: self.pixel_blocks,
            paper: PAPER_PED2,
        };
        let md = self.markdown();
        write_file(out, "metrics.md", md.as_bytes())?;
        let json = serde_json::to_string_pretty(&metrics)?;
        write_file(out, "metrics.json", json.as_bytes())?;
        write_rocs(
            out,
            &self
                .rows
                .iter()
                .map(|(r, roc)| (format!("{}, {}", r.modality, r.normalisation), roc.clone()))
                .collect::<Vec<_>>(),
        )?;
        Ok(md)
    }
}

/// `roc.png` and `roc.svg` with one curve per named series.
pub fn write_rocs(out: &Path, rocs: &[(String, Roc)]) -> Result<()> {
    let series: Vec<RocSeries> = rocs
        .iter()
        .map(|(n, r)| RocSeries { name: n, roc: r })
        .collect();
    for ext in ["png", "svg"] {
        write_roc(
            &RocPlot {
                title: "frame-level ROC",
                series: &series,
            },
            &out.join(format!("roc.{ext}")),
            (700, 600),
        )?;
    }
    Ok(())
}

/// `scores.csv` (one row per frame, three columns per modality, then one per `extra`
/// column: a name and a value for every frame of `results`, clip after clip) and
/// `scores.json`.
pub fn write_scores(
    out: &Path,
    models: &Models,
    results: &[ClipScores],
    extra: &[(String, Vec<f64>)],
) -> Result<()> {
    let total: usize = results
        .iter()
        .map(|c| c.modalities.first().map_or(0, |m| m.errors.len()))
        .sum();
    if let Some((name, _)) = extra.iter().find(|(_, v)| v.len() != total) {
        return Err(Error::invalid(format!(
            "scores.csv: column {name} does not have one value for each of the {total} frames"
        )));
    }
    let mut csv = String::from("clip,frame,label");
    for m in models {
        let p = m.modality();
        csv.push_str(&format!(
            ",{p}_error,{p}_regularity_minmax,{p}_regularity_calibrated"
        ));
    }
    // Each scorer a modality combines, alone (a visual model's autoencoder and speed score).
    let parts: Vec<(usize, usize)> = results.first().map_or(Vec::new(), |c| {
        c.modalities
            .iter()
            .enumerate()
            .flat_map(|(i, m)| (0..m.parts.len()).map(move |k| (i, k)))
            .collect()
    });
    for &(i, k) in &parts {
        let m = &results[0].modalities[i];
        let p = format!("{}_{}", m.modality, m.parts[k].name);
        csv.push_str(&format!(
            ",{p}_error,{p}_regularity_minmax,{p}_regularity_calibrated"
        ));
    }
    for (name, _) in extra {
        csv.push_str(&format!(",{name}"));
    }
    csv.push('\n');
    let mut row = 0;
    for c in results {
        let frames = c.modalities.first().map_or(0, |m| m.errors.len());
        for i in 0..frames {
            let label = c
                .labels
                .as_ref()
                .map(|l| u8::from(l[i]).to_string())
                .unwrap_or_default();
            csv.push_str(&format!("{},{},{label}", c.name, i + 1));
            for m in &c.modalities {
                csv.push_str(&format!(
                    ",{},{},{}",
                    m.errors[i], m.regularity_minmax[i], m.regularity_calibrated[i]
                ));
            }
            for &(m, k) in &parts {
                match c.modalities.get(m).and_then(|m| m.parts.get(k)) {
                    Some(p) => csv.push_str(&format!(
                        ",{},{},{}",
                        p.errors[i], p.regularity_minmax[i], p.regularity_calibrated[i]
                    )),
                    None => csv.push_str(",,,"),
                }
            }
            for (_, values) in extra {
                csv.push_str(&format!(",{}", values[row]));
            }
            csv.push('\n');
            row += 1;
        }
    }
    write_atomic(&out.join("scores.csv"), csv.as_bytes()).context("writing scores.csv")?;
    #[derive(Serialize)]
    struct ScoresFile<'a> {
        models: Vec<String>,
        score_frame: &'static str,
        clips: &'a [ClipScores],
    }
    let file = ScoresFile {
        models: models.iter().map(Model::describe).collect(),
        score_frame: "each frame's own error, averaged over the windows that cover it (audio: over the feature frames centred in it)",
        clips: results,
    };
    write_atomic(
        &out.join("scores.json"),
        serde_json::to_string(&file)?.as_bytes(),
    )
    .context("writing scores.json")?;
    Ok(())
}

/// A Figure 5-style plot per clip: every modality's s_r (and `extra` series, e.g. the
/// joint score, per clip) with the ground truth shaded.
pub fn plot_clips(
    dir: &Path,
    results: &[ClipScores],
    extra: &[(String, Vec<Vec<f64>>)],
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (k, c) in results.iter().enumerate() {
        let names: Vec<(String, String)> = c
            .modalities
            .iter()
            .map(|m| {
                (
                    format!("{}, per-video min-max", m.modality),
                    format!("{}, calibrated", m.modality),
                )
            })
            .collect();
        let mut series = Vec::new();
        for (m, (a, b)) in c.modalities.iter().zip(&names) {
            series.push(Series {
                name: a,
                values: &m.regularity_minmax,
            });
            series.push(Series {
                name: b,
                values: &m.regularity_calibrated,
            });
        }
        for (name, per_clip) in extra {
            series.push(Series {
                name,
                values: &per_clip[k],
            });
        }
        let plot = ScoreCurve {
            title: &c.name,
            y_label: "regularity score s_r",
            first_frame: 1,
            series: &series,
            anomalous: c.labels.as_deref().unwrap_or(&[]),
            threshold: None,
        };
        for ext in ["png", "svg"] {
            write_score_curve(
                &plot,
                &dir.join(format!("{}.{ext}", c.file_stem())),
                (900, 400),
            )?;
        }
    }
    Ok(())
}
