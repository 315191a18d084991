//! `avad score`: per-frame scores of trained models (video, audio or both) on a dataset's
//! clips, with frame- and pixel-level metrics where the dataset has labels and masks.

use std::path::PathBuf;

use anyhow::Result;
use avad::avad_data::open_dataset;
use avad::avad_eval::metrics::roc_curve;
use avad::clips::select_clips;
use avad::metrics::{modality_rows, pooled_labels};
use avad::output::{plot_clips, write_scores, MetricsReport};
use avad::score::DEFAULT_SMOOTH;
use avad::{score_clips, ClipScores, ClipSelection, Models, ScoreConfig};

use crate::args::{self, DeviceArg, SplitArg, VideoScore};
use avad::out_dir::refuse_out_inside_inputs;

use crate::interrupt::out_dir;
use crate::progress::Bars;

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

/// Which clips, how, and where.
#[derive(clap::Args, Clone)]
pub struct Selection {
    /// Which clips.
    #[arg(long, value_enum, default_value_t = SplitArg::Test)]
    pub split: SplitArg,
    /// Only these clips (repeatable): NAME, or SPLIT/NAME (test/clip01) for a name that
    /// both splits hold. Clips that share a name are reported as SPLIT/NAME.
    #[arg(long = "clip")]
    pub clips: Vec<String>,
    /// Frames between visual window starts, at most the window's 10 (default: the model's
    /// preset).
    #[arg(long, value_parser = args::at_least_one)]
    pub hop: Option<usize>,
    /// Side of the pixel blocks of the visual error maps used for pixel-level AUC; it must
    /// divide the model's frame side (0: no maps).
    #[arg(long, default_value_t = 4)]
    pub map_block: usize,
    /// Where to score (cuda and wgpu need avad built with that feature).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
    /// The visual frame error: motion (the largest excess over normal of any patch of the
    /// residual's change from the frame before, the default when the model has it), patch
    /// (the same of the residual itself) or paper (eq. 3, the whole frame).
    #[arg(long, value_enum)]
    pub video_score: Option<VideoScore>,
    /// Score as `avad watch` does live. Video: each frame's error comes from the first
    /// window that covers it (no look-ahead), not the mean over all its windows. Audio:
    /// resampled in blocks, with the features' dB floors following the running maximum
    /// rather than the whole clip's (see `live_audio`).
    #[arg(long)]
    pub causal: bool,
    /// Smooth each clip's regularity scores over time with a centred Gaussian of this
    /// standard deviation, in frames (0: off), after either normalisation (the errors in
    /// scores.csv stay as the model gives them). An event lasts many frames, a one-frame
    /// jump in the error does not. It looks four deviations ahead: `avad watch` smooths
    /// the same way and decides each frame that many frames late. The default 5 (the best
    /// joint AUC on three harder synthetic scenes), and smoothing after the normalisation
    /// rather than before, were chosen on synthetic scenes, never on a benchmark's clips.
    #[arg(long, default_value_t = DEFAULT_SMOOTH, value_name = "FRAMES", value_parser = args::smoothing_frames)]
    pub smooth: f64,
}

impl Selection {
    pub fn clips(&self) -> ClipSelection {
        ClipSelection {
            split: self.split.split(),
            names: self.clips.clone(),
        }
    }

    /// How to score; the flags' names are in the messages of what they set wrong.
    pub fn config(&self) -> ScoreConfig {
        ScoreConfig {
            hop: self.hop,
            map_block: (self.map_block > 0).then_some(self.map_block),
            causal: self.causal,
            smooth: self.smooth,
        }
    }

    pub fn load_models(
        &self,
        paths: &[PathBuf],
    ) -> Result<(Models, avad::avad_model::burn::tensor::Device)> {
        let device = self.device.inference()?;
        let models = Models::load(
            paths,
            &device,
            self.video_score.map(VideoScore::frame_score),
        )
        .map_err(with_advice)?;
        Ok((models, device))
    }
}

/// A library error with the command line's advice where it has some.
pub fn with_advice(e: avad::Error) -> anyhow::Error {
    match e.root() {
        avad::Error::NoSuchScore { .. } => anyhow::anyhow!(
            "{e}: run `avad calibrate MODEL DATASET` to add it, or choose another --video-score"
        ),
        avad::Error::Invalid(r) if r.starts_with("hop ") => anyhow::anyhow!("--{r}"),
        avad::Error::Invalid(r) if r.starts_with("map block ") => {
            anyhow::anyhow!("--map-block {}", &r["map block ".len()..])
        }
        _ => e.into(),
    }
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
    let out_dir = out_dir(&args.out)?;
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
