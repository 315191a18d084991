//! `avad score`: per-frame scores of trained models (video, audio or both) on a dataset's
//! clips, with frame- and pixel-level metrics where the dataset has labels and masks.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use avad_data::{open_dataset, Clip, Dataset, Split};
use avad_eval::metrics::{
    anomaly_from_regularity, confusion, confusion_regularity, eer, roc_curve, Confusion, Roc,
};
use avad_eval::normalize::min_max_per_video;
use avad_eval::plots::{write_roc, write_score_curve, RocPlot, RocSeries, ScoreCurve, Series};
use avad_eval::{gaussian_smooth, markdown_table, ModalityMetrics};
use avad_features::{FeatureConfig, FeatureExtractor};
use avad_media::frames::GrayResizer;
use avad_media::{write_atomic, FrameSize};
use avad_model::audio::audio_errors;
use avad_model::burn::tensor::Device;
use avad_model::device::Accelerator;
use avad_model::model_dir::{model_kind, AudioModel, FrameScore, VisualModel, VisualScoring};
use avad_model::score::{visual_errors, ScoreOptions};
use indicatif::ProgressBar;
use serde::Serialize;

use crate::train::{counter_bar, load_clip};
use crate::train_audio::{clip_features, timing};

/// The paper's thresholds γ for UCSD Ped2 (Table 6), on per-video min-max scores.
pub const PAPER_PED2_VIDEO_GAMMA: f64 = 0.92;
/// See [`PAPER_PED2_VIDEO_GAMMA`].
pub const PAPER_PED2_AUDIO_GAMMA: f64 = 0.85;
/// Percentile of the normal (held-out) errors that sets the label-free threshold.
pub const NORMAL_PERCENTILE: f64 = 99.0;

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
    /// Which clips: test, train or all.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Only these clips (repeatable): NAME, or SPLIT/NAME (test/clip01) for a name that
    /// both splits hold. Clips that share a name are reported as SPLIT/NAME.
    #[arg(long = "clip")]
    pub clips: Vec<String>,
    /// Frames between visual window starts, at most the window's 10 (default: the model's
    /// preset).
    #[arg(long, value_parser = at_least_one)]
    pub hop: Option<usize>,
    /// Side of the pixel blocks of the visual error maps used for pixel-level AUC; it must
    /// divide the model's frame side (0: no maps).
    #[arg(long, default_value_t = 4)]
    pub map_block: usize,
    /// Where to score: cpu, or cuda / wgpu when built with that feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// The visual frame error: motion (the largest excess over normal of any patch of the
    /// residual's change from the frame before, the default when the model has it), patch
    /// (the same of the residual itself) or paper (eq. 3, the whole frame).
    #[arg(long)]
    pub video_score: Option<FrameScore>,
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
    #[arg(long, default_value_t = DEFAULT_SMOOTH, value_name = "FRAMES", value_parser = smoothing_frames)]
    pub smooth: f64,
}

/// `--smooth`'s default standard deviation, in frames.
pub const DEFAULT_SMOOTH: f64 = 5.0;

/// What the tables say about the smoothing behind them.
pub fn smoothing_sentence(sigma: f64) -> String {
    if sigma > 0.0 {
        format!("Regularity scores smoothed over time within each clip (Gaussian, σ = {sigma} frames, `--smooth`).")
    } else {
        "Regularity scores not smoothed over time.".to_string()
    }
}

/// `text` as a `T` that `ok` accepts, else `expected {expected}, not "text"`: the shape of
/// every numeric option check below.
fn checked<T: std::str::FromStr>(
    text: &str,
    ok: impl Fn(&T) -> bool,
    expected: &str,
) -> std::result::Result<T, String> {
    match text.parse::<T>() {
        Ok(v) if ok(&v) => Ok(v),
        _ => Err(format!("expected {expected}, not {text:?}")),
    }
}

pub fn smoothing_frames(text: &str) -> std::result::Result<f64, String> {
    checked(
        text,
        |v| (0.0..=MAX_SMOOTH).contains(v),
        &format!("a number of frames from 0 to {MAX_SMOOTH}"),
    )
}

/// The widest `--smooth` taken: 40 s at 25 fps, past which the Gaussian is flat over any
/// clip (and its kernel, 8σ + 1 values, would only cost memory).
pub const MAX_SMOOTH: f64 = 1000.0;

/// A finite number (clap's `f64` parser takes NaN and infinities).
pub fn finite_number(text: &str) -> std::result::Result<f64, String> {
    checked(text, |v: &f64| v.is_finite(), "a finite number")
}

/// A whole number, 1 or more.
pub fn at_least_one(text: &str) -> std::result::Result<usize, String> {
    checked(text, |v| *v >= 1, "a whole number, 1 or more")
}

/// A time span in seconds: more than 0 and at most a day.
pub fn seconds(text: &str) -> std::result::Result<f64, String> {
    checked(
        text,
        |v| *v > 0.0 && *v <= 86_400.0,
        "seconds, more than 0 and at most 86400",
    )
}

/// `--sound-timeout`: seconds, at least 1 (below a second it would take the sound's
/// ordinary lag, audio packets interleaved in chunks and the scorer's 0.9 s window, for a
/// loss) and at most a day.
pub fn sound_timeout(text: &str) -> std::result::Result<f64, String> {
    checked(
        text,
        |v| (1.0..=86_400.0).contains(v),
        "seconds, at least 1 and at most 86400",
    )
}

/// A frame rate: more than 0 and at most 1000 frames a second.
pub fn frame_rate(text: &str) -> std::result::Result<f64, String> {
    checked(
        text,
        |v| *v > 0.0 && *v <= 1000.0,
        "frames per second, more than 0 and at most 1000",
    )
}

/// One modality's scores of one clip, per video frame.
#[derive(Serialize, Clone)]
pub struct ModalityScores {
    /// `video` or `audio`.
    pub modality: String,
    /// Reconstruction error, as the model gives it.
    pub errors: Vec<f64>,
    /// s_r under per-video min-max, smoothed over time by `--smooth`.
    pub regularity_minmax: Vec<f64>,
    /// s_r under the model's calibration, smoothed over time by `--smooth`.
    pub regularity_calibrated: Vec<f64>,
}

/// Every modality's scores of one clip.
#[derive(Serialize, Clone)]
pub struct ClipScores {
    /// The clip's name, or `split/name` where the clips scored share its name.
    pub name: String,
    pub labels: Option<Vec<bool>>,
    pub modalities: Vec<ModalityScores>,
}

impl ClipScores {
    /// The name its plot files take: `test/clip01` becomes `test-clip01`.
    pub fn file_stem(&self) -> String {
        self.name.replace(['/', '\\'], "-")
    }
}

/// A loaded model and how it scores.
pub enum Loaded {
    Visual {
        path: PathBuf,
        model: VisualModel,
        score: FrameScore,
    },
    Audio {
        path: PathBuf,
        model: AudioModel,
    },
}

impl Loaded {
    pub fn modality(&self) -> &'static str {
        match self {
            Loaded::Visual { .. } => "video",
            Loaded::Audio { .. } => "audio",
        }
    }

    /// The paper's Ped2 γ for this modality (Table 6).
    pub fn paper_gamma(&self) -> f64 {
        match self {
            Loaded::Visual { .. } => PAPER_PED2_VIDEO_GAMMA,
            Loaded::Audio { .. } => PAPER_PED2_AUDIO_GAMMA,
        }
    }

    /// The label-free γ: s_r of the [`NORMAL_PERCENTILE`]th percentile of held-out normal
    /// errors (for a leave-one-clip-out audio model, the median over its folds).
    pub fn normal_gamma(&self) -> Result<f64> {
        Ok(match self {
            Loaded::Visual { model, score, .. } => model
                .scoring(Some(*score))
                .map_err(anyhow::Error::msg)?
                .calibration
                .threshold_from_normal(NORMAL_PERCENTILE)?,
            Loaded::Audio { model, .. } => {
                let mut g = model
                    .card
                    .folds
                    .iter()
                    .map(|f| {
                        f.training
                            .calibration
                            .threshold_from_normal(NORMAL_PERCENTILE)
                    })
                    .collect::<Result<Vec<f64>, _>>()?;
                g.sort_by(f64::total_cmp);
                g[g.len() / 2]
            }
        })
    }

    pub fn describe(&self) -> String {
        match self {
            Loaded::Visual { path, model, score } => {
                format!(
                    "video: {} (preset {}, {} in, {} score)",
                    path.display(),
                    model.card.preset.name,
                    model.card.preset.input.name(),
                    score.name()
                )
            }
            Loaded::Audio { path, model, .. } => {
                format!("audio: {} ({})", path.display(), model.card.protocol)
            }
        }
    }
}

/// Loads each model directory in `paths` (at most one per modality); a visual model scores
/// with `video_score` (by default, its motion score when it has one, else its patch score).
pub fn load_models(
    paths: &[PathBuf],
    device: &Device,
    video_score: Option<FrameScore>,
) -> Result<Vec<Loaded>> {
    let mut loaded: Vec<Loaded> = Vec::new();
    for path in paths {
        let kind = model_kind(path)?;
        let model = match kind.as_str() {
            "visual" => {
                let model = VisualModel::load(path, device)?;
                let score = model
                    .scoring(video_score)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                    .kind;
                Loaded::Visual {
                    path: path.clone(),
                    model,
                    score,
                }
            }
            "audio" => Loaded::Audio {
                path: path.clone(),
                model: AudioModel::load(path, device)?,
            },
            other => bail!(
                "{}: a {other} model cannot score frames",
                path.join("model.json").display()
            ),
        };
        if loaded.iter().any(|l| l.modality() == model.modality()) {
            bail!(
                "{}: a second {} model; give at most one per modality",
                path.display(),
                model.modality()
            );
        }
        loaded.push(model);
    }
    Ok(loaded)
}

/// The clips of `dataset` that `select` names.
pub fn select_clips<'a>(
    dataset: &'a Dataset,
    select: &Selection,
    dataset_path: &Path,
) -> Result<Vec<&'a Clip>> {
    let split = match select.split.as_str() {
        "test" => Some(Split::Test),
        "train" => Some(Split::Train),
        "all" => None,
        other => bail!("--split {other}: expected test, train or all"),
    };
    // A clip is named by its name or, where a name is in both splits, by split/name.
    let named = |c: &Clip, n: &String| c.name == *n || c.id() == *n;
    if let Some(missing) = select
        .clips
        .iter()
        .find(|n| !dataset.clips.iter().any(|c| named(c, n)))
    {
        bail!("{}: no clip named {missing}", dataset_path.display());
    }
    let clips: Vec<&Clip> = dataset
        .clips
        .iter()
        .filter(|c| split.is_none_or(|s| c.split == s))
        .filter(|c| select.clips.is_empty() || select.clips.iter().any(|n| named(c, n)))
        .collect();
    if clips.is_empty() {
        bail!(
            "{}: no {} clips to score",
            dataset_path.display(),
            select.split
        );
    }
    Ok(clips)
}

/// Pixel-level scores and labels gathered while scoring.
#[derive(Default)]
pub struct PixelScores {
    pub scores: Vec<f64>,
    pub labels: Vec<bool>,
    pub blocks: Option<String>,
}

/// Scores `clips` with every model in `models`.
pub fn score_clips(
    clips: &[&Clip],
    models: &[Loaded],
    select: &Selection,
    device: &Device,
) -> Result<(Vec<ClipScores>, PixelScores)> {
    let block = (select.map_block > 0).then_some(select.map_block);
    for m in models {
        if let (Loaded::Visual { model, .. }, Some(hop)) = (m, select.hop) {
            let steps = model.card.preset.steps;
            if hop > steps {
                bail!("--hop {hop}: must be between 1 and the window's {steps} frames (a larger hop leaves frames unscored)");
            }
        }
        if let (Loaded::Visual { model, .. }, Some(b)) = (m, block) {
            let side = model.card.preset.size;
            if side % b != 0 {
                bail!("--map-block {b} does not divide the model's {side}x{side} frames");
            }
        }
    }
    let feature_config = FeatureConfig::default();
    let mut extractor = FeatureExtractor::new(&feature_config)?;
    let total_frames: usize = clips.iter().map(|c| c.frames()).sum::<usize>() * models.len();
    let bar = counter_bar(total_frames as u64, "scoring");
    let mut results = Vec::new();
    let mut pixels = PixelScores::default();
    for clip in clips {
        let mut modalities = Vec::new();
        for m in models {
            bar.set_message(format!("{} of {}", m.modality(), clip.name));
            let (errors, calibration) = match m {
                Loaded::Visual { model, score, .. } => {
                    let scoring = model.scoring(Some(*score)).map_err(anyhow::Error::msg)?;
                    (
                        score_visual(
                            model,
                            &scoring,
                            clip,
                            select,
                            block,
                            device,
                            &bar,
                            &mut pixels,
                        )?,
                        scoring.calibration,
                    )
                }
                Loaded::Audio { model, .. } => {
                    let fold = model.fold_for(&clip.id()).map_err(anyhow::Error::msg)?;
                    let no_sound =
                        || format!("clip {} has no sound for the audio model", clip.name);
                    let card = &model.card;
                    let errors = if select.causal {
                        crate::live_audio::clip_errors_causal(model, fold, clip, device)?
                            .with_context(no_sound)?
                    } else {
                        let features =
                            clip_features(clip, &mut extractor)?.with_context(no_sound)?;
                        let scaled = card.folds[fold].scaler.apply(&features)?;
                        let e = audio_errors(
                            &model.networks[fold],
                            &scaled,
                            card.preset.steps,
                            card.preset.score_hop,
                            16,
                            card.preset.error,
                            device,
                        )?;
                        timing(&feature_config).to_video_frames(&e, clip.fps, clip.frames())
                    };
                    bar.inc(clip.frames() as u64);
                    (errors, &card.folds[fold].training.calibration)
                }
            };
            let minmax: Vec<f64> = min_max_per_video(&errors).iter().map(|e| 1.0 - e).collect();
            let sigma = select.smooth;
            modalities.push(ModalityScores {
                modality: m.modality().to_string(),
                regularity_minmax: gaussian_smooth(&minmax, sigma),
                regularity_calibrated: gaussian_smooth(
                    &calibration.regularity_scores(&errors),
                    sigma,
                ),
                errors,
            });
        }
        results.push(ClipScores {
            name: if clips.iter().filter(|c| c.name == clip.name).count() > 1 {
                clip.id()
            } else {
                clip.name.clone()
            },
            labels: clip.labels.clone(),
            modalities,
        });
    }
    bar.finish_and_clear();
    Ok((results, pixels))
}

#[allow(clippy::too_many_arguments)]
fn score_visual(
    model: &VisualModel,
    scoring: &VisualScoring,
    clip: &Clip,
    select: &Selection,
    block: Option<usize>,
    device: &Device,
    bar: &ProgressBar,
    pixels: &mut PixelScores,
) -> Result<Vec<f64>> {
    let preset = &model.card.preset;
    let side = preset.size;
    let options = ScoreOptions {
        steps: preset.steps,
        hop: select.hop.unwrap_or(preset.score_hop),
        batch: 4,
        map_block: block.filter(|_| clip.masks.is_some()),
        patch_block: scoring.patch_block(),
        causal: select.causal,
    };
    let frame_clip = load_clip(clip, preset)?;
    let before = bar.position();
    let n = frame_clip.frames();
    let errors = visual_errors(
        &model.network,
        &frame_clip,
        &options,
        device,
        &mut |done, all| {
            bar.set_position(before + (n * done / all.max(1)) as u64);
        },
    )?;
    bar.set_position(before + n as u64);
    if let (Some(maps), Some(masks), Some(b)) = (&errors.maps, &clip.masks, block) {
        let map_size = FrameSize::new((side / b) as u32, (side / b) as u32);
        let mut resizer = GrayResizer::default();
        for f in 0..n {
            pixels.labels.extend(masks.read(f, map_size, &mut resizer)?);
            pixels
                .scores
                .extend(maps.frame(f).iter().map(|&v| f64::from(v)));
        }
        pixels.blocks = Some(format!("{b}x{b} pixel blocks of the {side}x{side} frames"));
    }
    Ok(scoring.frame_errors(&errors)?)
}

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
        }
    }
}

/// The labels of the labelled clips of `results`, concatenated, or `None` (with a note on
/// stderr) when they cannot give AUC and EER.
pub fn pooled_labels(results: &[ClipScores]) -> Option<Vec<bool>> {
    let labelled = results.iter().filter(|c| c.labels.is_some()).count();
    if labelled < results.len() {
        eprintln!(
            "{} of {} clips have no labels: metrics use the labelled ones only",
            results.len() - labelled,
            results.len()
        );
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
        eprintln!("all labelled frames are of one class: AUC and EER are undefined");
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
    models: &[Loaded],
    labels: &[bool],
) -> Result<Vec<(MetricsRow, Roc)>> {
    let mut rows = Vec::new();
    for (i, m) in models.iter().enumerate() {
        let minmax = pooled_regularity(results, i, false);
        let calibrated = pooled_regularity(results, i, true);
        rows.push(MetricsRow::from_regularity(
            m.modality(),
            "per-video min-max",
            &minmax,
            labels,
            m.paper_gamma(),
            &format!("the paper's Ped2 {} γ (Table 6)", m.modality()),
        )?);
        rows.push(MetricsRow::from_regularity(
            m.modality(),
            "calibrated",
            &calibrated,
            labels,
            m.normal_gamma()?,
            &format!("s_r of the {NORMAL_PERCENTILE}th percentile of held-out normal errors"),
        )?);
    }
    Ok(rows)
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

/// The paper's Ped2 numbers (Tables 7 and 8), quoted beside ours.
pub const PAPER_PED2: &str = "Tariq et al. 2024, UCSD Ped2: joint AUC 93.1, EER 8.1 (Table 8); \
    audio P 94.4 R 95.0 A 91.3 F1 94.7 (Table 7)";

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

/// `out` may not lie inside the dataset or a model folder.
pub fn refuse_out_inside_inputs(out: &Path, dataset: &Path, models: &[PathBuf]) -> Result<()> {
    let mut inputs = vec![("the dataset", dataset)];
    inputs.extend(models.iter().map(|m| ("the model", m.as_path())));
    crate::out_dir::refuse_inside(out, &inputs)
}

pub fn run(args: &Args) -> Result<()> {
    refuse_out_inside_inputs(&args.out, &args.dataset, &args.models)?;
    let device = args
        .select
        .device
        .parse::<Accelerator>()?
        .inference_device()?;
    let models = load_models(&args.models, &device, args.select.video_score)?;
    let dataset = open_dataset(&args.dataset)?;
    let clips = select_clips(&dataset, &args.select, &args.dataset)?;
    let out_dir = crate::out_dir::OutDir::create(&args.out)?;
    let (results, pixels) = score_clips(&clips, &models, &args.select, &device)?;
    // Everything that can fail is computed before anything is written.
    let labels = pooled_labels(&results);
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
    let metrics = MetricsFile {
        frames: labels.len(),
        anomalous_frames: labels.iter().filter(|&&l| l).count(),
        models: models.iter().map(Loaded::describe).collect(),
        smoothing_frames: args.select.smooth,
        frame_level: rows.iter().map(|(r, _)| r.clone()).collect(),
        pixel_level_auc: pixel_auc,
        pixel_blocks: pixels.blocks.as_deref(),
        paper: PAPER_PED2,
    };
    let mut md = format!(
        "Frame-level results on {} frames ({} anomalous); precision, recall, accuracy and F1 at each row's γ. {}\n\
         Models: {}.\n\n",
        metrics.frames,
        metrics.anomalous_frames,
        smoothing_sentence(metrics.smoothing_frames),
        metrics.models.join("; ")
    );
    md.push_str(&markdown_table(
        &rows.iter().map(|(r, _)| r.table_row()).collect::<Vec<_>>(),
    ));
    if let Some(p) = pixel_auc {
        md.push_str(&format!(
            "\nPixel-level AUC: {:.1} % ({}).\n",
            100.0 * p,
            metrics.pixel_blocks.unwrap_or("")
        ));
    }
    md.push_str(&format!("\nPaper: {PAPER_PED2}.\n"));
    write_atomic(&args.out.join("metrics.md"), md.as_bytes()).context("writing metrics.md")?;
    let json = serde_json::to_string_pretty(&metrics)?;
    write_atomic(&args.out.join("metrics.json"), json.as_bytes())
        .context("writing metrics.json")?;
    write_rocs(
        &args.out,
        &rows
            .iter()
            .map(|(r, roc)| (format!("{}, {}", r.modality, r.normalisation), roc.clone()))
            .collect::<Vec<_>>(),
    )?;
    out_dir.keep();
    println!("{md}");
    eprintln!(
        "scores, metrics and plots written to {}",
        args.out.display()
    );
    Ok(())
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
    models: &[Loaded],
    results: &[ClipScores],
    extra: &[(String, Vec<f64>)],
) -> Result<()> {
    let total: usize = results
        .iter()
        .map(|c| c.modalities.first().map_or(0, |m| m.errors.len()))
        .sum();
    if let Some((name, _)) = extra.iter().find(|(_, v)| v.len() != total) {
        bail!("scores.csv: column {name} does not have one value for each of the {total} frames");
    }
    let mut csv = String::from("clip,frame,label");
    for m in models {
        let p = m.modality();
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
        models: models.iter().map(Loaded::describe).collect(),
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
