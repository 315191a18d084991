//! `avad eval`: audio, video and joint results on a labelled dataset, beside the paper's.

use std::path::PathBuf;

use anyhow::{Context, Result};
use avad::avad_data::open_dataset;
use avad::clips::select_clips;
use avad::evaluate::EvaluationContext;
use avad::{evaluate, score_clips, ClipScores, FusionConfig};

use avad::out_dir::refuse_out_inside_inputs;

use crate::args::{self, with_advice, Selection};
use crate::progress::Bars;
use avad::out_dir::OutDir;

/// Evaluate trained models on a labelled dataset: audio alone, video alone and both fused.
///
/// Scores every selected clip with each --model (one visual, one audio), then fuses the two
/// scores of each frame two ways:
///   joint (Table 4 net)   the paper's dense fusion net on (audio, video) anomaly scores,
///                         trained by leave-one-clip-out: the net that decides a clip never
///                         saw that clip's labels; P(anomalous) is the mean of
///                         --fusion-seeds nets (default 5), each from its own seed;
///   joint (mean)          the mean of the two normalised errors, which needs no labels.
/// Each under per-video min-max (the published convention) and calibrated (usable live)
/// normalisation; precision, recall, accuracy and F1 at the paper's γ (Table 6) and at a
/// γ set from normal data alone; AUC and EER; the paper's numbers beside ours.
///
/// Writes OUT/results.{md,json}, OUT/report.html (tables and plots in one file),
/// OUT/scores.{csv,json}, OUT/roc.{png,svg} and OUT/plots/<clip>.{png,svg}.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder with labels (UCSD Ped2, UMN or a generic folder with labels.csv).
    dataset: PathBuf,
    /// Model directory (repeat: one visual and one audio model).
    #[arg(long = "model", short, required = true)]
    models: Vec<PathBuf>,
    /// Output folder.
    #[arg(long, short)]
    out: PathBuf,
    #[command(flatten)]
    select: Selection,
    /// Epochs of each leave-one-clip-out fusion net.
    #[arg(long, default_value_t = 20, value_parser = args::at_least_one)]
    fusion_epochs: usize,
    /// Fusion nets per fold, seeded --fusion-seed, --fusion-seed + 1, …: a frame's
    /// P(anomalous) is their mean (one net's result moves with its seed and the build;
    /// each seed adds about 0.7 min to a Ped2 evaluation on 2 cores, 1 is the fastest).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    fusion_seeds: u64,
    /// The first fusion net's seed.
    #[arg(long, default_value_t = 1)]
    fusion_seed: u64,
}

pub fn run(args: &Args) -> Result<()> {
    refuse_out_inside_inputs(&args.out, &args.dataset, &args.models)?;
    let fusion = FusionConfig {
        epochs: args.fusion_epochs,
        seeds: args.fusion_seed
            ..args
                .fusion_seed
                .checked_add(args.fusion_seeds)
                .context("--fusion-seed plus --fusion-seeds is past the largest seed")?,
    };
    let (models, device) = args.select.load_models(&args.models)?;
    let dataset = open_dataset(&args.dataset)?;
    let clips = select_clips(&dataset, &args.select.clips(), &args.dataset)?;
    if clips.iter().all(|c| c.labels.is_none()) {
        anyhow::bail!(
            "{}: the selected clips have no labels to evaluate against",
            args.dataset.display()
        );
    }
    let out_dir = OutDir::create(&args.out)?;
    let bars = Bars::default();
    let scored =
        score_clips(&models, &clips, &args.select.config(), &device, &bars).map_err(with_advice)?;
    let evaluation = evaluate(scored.clips, &models, &fusion, &bars)
        .with_context(|| args.dataset.display().to_string())?;
    let names: Vec<String> = evaluation.clips.iter().map(ClipScores::file_stem).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    out_dir.remove_stale(&[], &names)?;
    let md = evaluation.write(
        &args.out,
        &EvaluationContext {
            dataset: &args.dataset,
            models: &models,
            smoothing_frames: args.select.smooth,
            fusion: &fusion,
        },
    )?;
    out_dir.keep();
    println!("{md}");
    eprintln!(
        "results, report.html, scores and plots written to {}",
        args.out.display()
    );
    Ok(())
}
