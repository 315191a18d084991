//! `avad score`: per-frame scores of a trained model on a dataset's clips, with frame- and
//! pixel-level metrics where the dataset has labels and masks.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use avad_data::{open_dataset, Clip, Split};
use avad_eval::metrics::roc_curve;
use avad_eval::normalize::min_max_per_video;
use avad_eval::plots::{write_roc, write_score_curve, RocPlot, RocSeries, ScoreCurve, Series};
use avad_eval::{markdown_table, ModalityMetrics};
use avad_media::frames::GrayResizer;
use avad_media::{write_atomic, FrameSize};
use avad_model::device::Accelerator;
use avad_model::model_dir::VisualModel;
use avad_model::score::{visual_errors, ScoreOptions};
use serde::Serialize;

use crate::train::{counter_bar, load_clip};

/// The paper's video threshold γ for UCSD Ped2 (Table 6), on per-video min-max scores.
const PAPER_PED2_VIDEO_GAMMA: f64 = 0.92;
/// Percentile of the normal (held-out) errors that sets the label-free threshold.
const NORMAL_PERCENTILE: f64 = 99.0;

/// Score the clips of a dataset with a trained model.
///
/// For every frame: the reconstruction error e (Euclidean, eq. 3) and the regularity score
/// s_r = 1 − n_e (eq. 4) under two normalisations: per-video min-max (the published Ped2
/// convention; needs the whole clip) and calibrated (statistics of held-out normal clips
/// saved with the model; usable live). Each score belongs to its own frame.
///
/// Writes OUT/scores.csv and OUT/scores.json; with labels, OUT/metrics.{json,md}, frame-level
/// AUC/EER for both normalisations, pixel-level AUC against the masks when the dataset has
/// them, OUT/roc.{png,svg} and a score plot per clip in OUT/plots/.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder (UCSD Ped2, UMN or a generic train/ test/ folder).
    dataset: PathBuf,
    /// Model directory written by `avad train visual`.
    #[arg(long, short)]
    model: PathBuf,
    /// Output folder.
    #[arg(long, short)]
    out: PathBuf,
    /// Which clips: test, train or all.
    #[arg(long, default_value = "test")]
    split: String,
    /// Only these clips (repeatable).
    #[arg(long = "clip")]
    clips: Vec<String>,
    /// Frames between window starts (default: the model's preset).
    #[arg(long)]
    hop: Option<usize>,
    /// Side of the pixel blocks of the error maps used for pixel-level AUC (0: no maps).
    #[arg(long, default_value_t = 4)]
    map_block: usize,
    /// Where to score: cpu, or cuda / wgpu when built with that feature.
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Serialize)]
struct ClipScores {
    name: String,
    errors: Vec<f64>,
    regularity_minmax: Vec<f64>,
    regularity_calibrated: Vec<f64>,
    labels: Option<Vec<bool>>,
}

#[derive(Serialize)]
struct ScoresFile<'a> {
    model: String,
    preset: &'a str,
    hop: usize,
    score_frame: &'static str,
    clips: &'a [ClipScores],
}

#[derive(Serialize)]
struct MetricsRow {
    normalisation: &'static str,
    threshold_gamma: f64,
    threshold_source: String,
    auc: f64,
    eer: f64,
    precision: f64,
    recall: f64,
    accuracy: f64,
    f1: f64,
}

#[derive(Serialize)]
struct MetricsFile {
    frames: usize,
    anomalous_frames: usize,
    frame_level: Vec<MetricsRow>,
    pixel_level_auc: Option<f64>,
    pixel_blocks: Option<String>,
    paper: &'static str,
}

pub fn run(args: &Args) -> Result<()> {
    let device = args.device.parse::<Accelerator>()?.inference_device()?;
    let model = VisualModel::load(&args.model, &device)?;
    let preset = &model.card.preset;
    let hop = args.hop.unwrap_or(preset.score_hop);
    let split = match args.split.as_str() {
        "test" => Some(Split::Test),
        "train" => Some(Split::Train),
        "all" => None,
        other => bail!("--split {other}: expected test, train or all"),
    };
    let dataset = open_dataset(&args.dataset)?;
    let clips: Vec<&Clip> = dataset
        .clips
        .iter()
        .filter(|c| split.is_none_or(|s| c.split == s))
        .filter(|c| args.clips.is_empty() || args.clips.contains(&c.name))
        .collect();
    if let Some(missing) = args.clips.iter().find(|n| dataset.clip(n).is_none()) {
        bail!("{}: no clip named {missing}", args.dataset.display());
    }
    if clips.is_empty() {
        bail!("{}: no {} clips to score", args.dataset.display(), args.split);
    }
    let side = preset.size;
    let block = (args.map_block > 0).then_some(args.map_block);
    if let Some(b) = block {
        if side % b != 0 {
            bail!("--map-block {b} does not divide the model's {side}x{side} frames");
        }
    }
    let options = ScoreOptions {
        steps: preset.steps,
        hop,
        batch: 4,
        map_block: block,
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;

    let total_frames: usize = clips.iter().map(|c| c.frames()).sum();
    let bar = counter_bar(total_frames as u64, "scoring");
    let mut results = Vec::new();
    let mut pixel_scores = Vec::new();
    let mut pixel_labels = Vec::new();
    let calibration = &model.card.calibration;
    for clip in &clips {
        bar.set_message(format!("scoring {}", clip.name));
        let frame_clip = load_clip(clip, side)?;
        let before = bar.position();
        let n = frame_clip.frames();
        let errors = visual_errors(&model.network, &frame_clip, &options, &device, &mut |done, all| {
            bar.set_position(before + (n * done / all.max(1)) as u64);
        })?;
        bar.set_position(before + n as u64);
        if let (Some(maps), Some(masks), Some(b)) = (&errors.maps, &clip.masks, block) {
            let map_size = FrameSize::new((side / b) as u32, (side / b) as u32);
            let mut resizer = GrayResizer::default();
            for f in 0..n {
                let mask = masks.read(f, map_size, &mut resizer)?;
                pixel_labels.extend(mask);
                pixel_scores.extend(maps.frame(f).iter().map(|&v| f64::from(v)));
            }
        }
        let regularity_minmax = min_max_per_video(&errors.errors).iter().map(|e| 1.0 - e).collect();
        let regularity_calibrated = calibration.regularity_scores(&errors.errors);
        results.push(ClipScores {
            name: clip.name.clone(),
            errors: errors.errors,
            regularity_minmax,
            regularity_calibrated,
            labels: clip.labels.clone(),
        });
    }
    bar.finish_and_clear();

    write_scores(&args.out, &args.model, preset.name.as_str(), hop, &results)?;
    plot_clips(&args.out.join("plots"), &results)?;
    let labelled: Vec<&ClipScores> = results.iter().filter(|c| c.labels.is_some()).collect();
    if labelled.len() < results.len() {
        eprintln!(
            "{} of {} clips have no labels: metrics use the labelled ones only",
            results.len() - labelled.len(),
            results.len()
        );
    }
    if labelled.is_empty() {
        eprintln!("scores written to {}", args.out.display());
        return Ok(());
    }
    let labels: Vec<bool> = labelled.iter().flat_map(|c| c.labels.clone().unwrap_or_default()).collect();
    let anomaly = |f: fn(&ClipScores) -> &Vec<f64>| -> Vec<f64> {
        labelled.iter().flat_map(|c| f(c).iter().map(|s| 1.0 - s)).collect()
    };
    let minmax = anomaly(|c| &c.regularity_minmax);
    let calibrated = anomaly(|c| &c.regularity_calibrated);
    if labels.iter().all(|&l| l) || labels.iter().all(|&l| !l) {
        eprintln!("all labelled frames are of one class: AUC and EER are undefined; scores written to {}", args.out.display());
        return Ok(());
    }
    let gamma_normal = calibration.threshold_from_normal(NORMAL_PERCENTILE)?;
    let rows = [
        (
            "per-video min-max",
            &minmax,
            PAPER_PED2_VIDEO_GAMMA,
            "the paper's Ped2 video γ (Table 6)".to_string(),
        ),
        (
            "calibrated",
            &calibrated,
            gamma_normal,
            format!("s_r of the {NORMAL_PERCENTILE}th percentile of held-out normal errors"),
        ),
    ];
    let mut metrics_rows = Vec::new();
    let mut table_rows = Vec::new();
    let mut rocs = Vec::new();
    for (name, scores, gamma, source) in &rows {
        // s_r < γ is anomalous: anomaly score 1 − s_r > 1 − γ.
        let m = ModalityMetrics::compute(&format!("video, {name}"), scores, &labels, 1.0 - gamma)?;
        rocs.push((format!("video, {name}"), roc_curve(scores, &labels)?));
        metrics_rows.push(MetricsRow {
            normalisation: name,
            threshold_gamma: *gamma,
            threshold_source: source.clone(),
            auc: m.auc,
            eer: m.eer,
            precision: m.precision,
            recall: m.recall,
            accuracy: m.accuracy,
            f1: m.f1,
        });
        table_rows.push(m);
    }
    let pixel_auc = if pixel_scores.is_empty() {
        None
    } else {
        Some(roc_curve(&pixel_scores, &pixel_labels)?.auc())
    };
    let metrics = MetricsFile {
        frames: labels.len(),
        anomalous_frames: labels.iter().filter(|&&l| l).count(),
        frame_level: metrics_rows,
        pixel_level_auc: pixel_auc,
        pixel_blocks: block.map(|b| format!("{b}x{b} pixel blocks of the {side}x{side} frames")),
        paper: "Tariq et al. 2024, Ped2 joint audio-visual model: AUC 93.1, EER 8.1",
    };
    let mut md = format!(
        "Frame-level results on {} frames ({} anomalous), model {}; precision, recall, accuracy and F1 at each row's γ.\n\n",
        metrics.frames,
        metrics.anomalous_frames,
        args.model.display()
    );
    md.push_str(&markdown_table(&table_rows));
    if let Some(p) = pixel_auc {
        md.push_str(&format!("\nPixel-level AUC: {:.1} % ({}).\n", 100.0 * p, metrics.pixel_blocks.as_deref().unwrap_or("")));
    }
    md.push_str("\nPaper (joint audio-visual, Ped2): AUC 93.1 %, EER 8.1 %.\n");
    write_atomic(&args.out.join("metrics.md"), md.as_bytes()).context("writing metrics.md")?;
    let json = serde_json::to_string_pretty(&metrics)?;
    write_atomic(&args.out.join("metrics.json"), json.as_bytes()).context("writing metrics.json")?;
    let roc_series: Vec<RocSeries> = rocs.iter().map(|(n, r)| RocSeries { name: n, roc: r }).collect();
    for ext in ["png", "svg"] {
        write_roc(&RocPlot { title: "frame-level ROC", series: &roc_series }, &args.out.join(format!("roc.{ext}")), (700, 600))?;
    }
    println!("{md}");
    eprintln!("scores, metrics and plots written to {}", args.out.display());
    Ok(())
}

fn write_scores(out: &Path, model: &Path, preset: &str, hop: usize, results: &[ClipScores]) -> Result<()> {
    let mut csv = String::from("clip,frame,error,regularity_minmax,regularity_calibrated,label\n");
    for c in results {
        for (i, e) in c.errors.iter().enumerate() {
            let label = c.labels.as_ref().map(|l| u8::from(l[i]).to_string()).unwrap_or_default();
            csv.push_str(&format!(
                "{},{},{e},{},{},{label}\n",
                c.name,
                i + 1,
                c.regularity_minmax[i],
                c.regularity_calibrated[i]
            ));
        }
    }
    write_atomic(&out.join("scores.csv"), csv.as_bytes()).context("writing scores.csv")?;
    let file = ScoresFile {
        model: model.display().to_string(),
        preset,
        hop,
        score_frame: "each frame's own error, averaged over the windows that cover it",
        clips: results,
    };
    let json = serde_json::to_string(&file)?;
    write_atomic(&out.join("scores.json"), json.as_bytes()).context("writing scores.json")?;
    Ok(())
}

fn plot_clips(dir: &Path, results: &[ClipScores]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for c in results {
        let series = [
            Series { name: "video, per-video min-max", values: &c.regularity_minmax },
            Series { name: "video, calibrated", values: &c.regularity_calibrated },
        ];
        let plot = ScoreCurve {
            title: &c.name,
            y_label: "regularity score s_r",
            first_frame: 1,
            series: &series,
            anomalous: c.labels.as_deref().unwrap_or(&[]),
            threshold: None,
        };
        write_score_curve(&plot, &dir.join(format!("{}.png", c.name)), (900, 400))?;
    }
    Ok(())
}
