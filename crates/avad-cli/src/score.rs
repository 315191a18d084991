//! `avad score`: per-frame scores of trained models (video, audio or both) on a dataset's
//! clips, with frame- and pixel-level metrics where the dataset has labels and masks.

use std::path::PathBuf;

use anyhow::Result;
use avad::avad_data::open_dataset;
use avad::avad_eval::metrics::roc_curve;
use avad::clips::select_clips;
use avad::metrics::{modality_rows, pooled_labels};
use avad::output::{plot_clips, write_scores, MetricsReport};
use avad::{score_clips, ClipScores};

use crate::args::{with_advice, Selection};
use avad::out_dir::refuse_out_inside_inputs;

use crate::progress::Bars;
use avad::out_dir::OutDir;

/// Score the clips of a dataset with trained models.
///
/// Give --model once per model: a visual model (`avad train visual`), an audio model
/// (`avad train audio`), or one of each for both modalities. For every frame and model:
/// the reconstruction error e (Euclidean, eq. 3; audio errors are mapped from audio
/// feature frames to video frames) and the regularity score s_r = 1 − n_e (eq. 4) under two
/// normalisations: per-video min-max (the published Ped2 convention; needs the whole clip)
/// and calibrated (statistics of held-out normal data saved with the model; usable live).
///
/// Writes OUT/scores.csv, OUT/scores.json and a score plot per clip in OUT/plots/; with
/// labels, also OUT/metrics.{json,md} (frame-level AUC, EER, precision, recall, accuracy
/// and F1 for each modality and normalisation, pixel-level AUC against the masks when the
/// dataset has them) and OUT/roc.{png,svg}.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder (UCSD Ped2, UMN or a generic train/ test/ folder).
    dataset: PathBuf,
    /// Model directory (repeat for a visual and an audio model).
    #[arg(long = "model", short, required = true)]
    models: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    select: Selection,
}

/// The files `avad score` may write into its folder (besides `plots/`): all of them go
/// before a run writes, so that a run without labels leaves no metrics of an earlier one.
const OUTPUT_FILES: [&str; 6] = [
    "scores.csv",
    "scores.json",
    "metrics.md",
    "metrics.json",
    "roc.png",
    "roc.svg",
];

pub fn run(args: &Args) -> Result<()> {
    refuse_out_inside_inputs(&args.out, &args.dataset, &args.models)?;
    let (models, device) = args.select.load_models(&args.models)?;
    let dataset = open_dataset(&args.dataset)?;
    let clips = select_clips(&dataset, &args.select.clips(), &args.dataset)?;
    let out_dir = OutDir::create(&args.out)?;
    let bars = Bars::default();
    let scored =
        score_clips(&models, &clips, &args.select.config(), &device, &bars).map_err(with_advice)?;
    let (results, pixels) = (scored.clips, scored.pixels);
    // Everything that can fail is computed before anything is written.
    let labels = pooled_labels(&results, &bars);
    let rows = match &labels {
        Some(labels) => modality_rows(&results, &models, labels)?,
        None => Vec::new(),
    };
    let pixel_auc = if pixels.scores.is_empty() || labels.is_none() {
        None
    } else if pixels.labels.iter().all(|&l| l) || pixels.labels.iter().all(|&l| !l) {
        eprintln!("every mask block scored is of one class: no pixel-level AUC");
        None
    } else {
        Some(roc_curve(&pixels.scores, &pixels.labels)?.auc())
    };
    let names: Vec<String> = results.iter().map(ClipScores::file_stem).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    out_dir.remove_stale(&OUTPUT_FILES, &names)?;
    write_scores(&args.out, &models, &results, &[])?;
    plot_clips(&args.out.join("plots"), &results, &[])?;
    let Some(labels) = labels else {
        out_dir.keep();
        eprintln!("scores written to {}", args.out.display());
        return Ok(());
    };
    let report = MetricsReport {
        labels: &labels,
        models: &models,
        smoothing_frames: args.select.smooth,
        rows: &rows,
        pixel_auc,
        pixel_blocks: pixels.blocks.as_deref(),
    };
    let md = report.write(&args.out)?;
    out_dir.keep();
    println!("{md}");
    eprintln!(
        "scores, metrics and plots written to {}",
        args.out.display()
    );
    Ok(())
}
