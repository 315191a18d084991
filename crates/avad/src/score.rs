//! Offline scoring: every frame of a dataset's clips scored by each model, under both
//! normalisations ([`score_clips`]).

use avad_data::Clip;
use avad_eval::gaussian_smooth;
use avad_eval::normalize::min_max_per_video;
use avad_features::{FeatureConfig, FeatureExtractor};
use avad_media::frames::GrayResizer;
use avad_media::FrameSize;
use avad_model::audio::audio_errors;
use avad_model::burn::tensor::Device;
use avad_model::score::{visual_errors, ScoreOptions};
use serde::Serialize;

use crate::clips::{clip_features, clip_sound, load_clip, timing};
use crate::error::{Context, Error, Result};
use crate::live::{clip_errors_causal, Detector, DetectorConfig, StretchEnd};
use crate::models::{Audio, Modality, Model, Models, Visual};
use crate::progress::Progress;

/// The default standard deviation, in frames, of the smoothing over time.
pub const DEFAULT_SMOOTH: f64 = 5.0;

/// The widest smoothing taken: 40 s at 25 fps, past which the Gaussian is flat over any
/// clip (and its kernel, 8σ + 1 values, would only cost memory).
pub const MAX_SMOOTH: f64 = 1000.0;

/// How [`score_clips`] scores.
#[derive(Clone, Debug)]
pub struct ScoreConfig {
    /// Frames between visual window starts (`None`: the model's preset), at most the
    /// window's length.
    pub hop: Option<usize>,
    /// Side of the pixel blocks of the visual error maps kept for pixel-level AUC (`None`:
    /// no maps); it must divide the model's frame side.
    pub map_block: Option<usize>,
    /// Score as the live [`Detector`] does (it scores each clip): a frame's video error
    /// from the first window that covers it, the sound resampled in blocks with running
    /// dB floors. Otherwise each frame's error is the mean over its windows.
    pub causal: bool,
    /// The standard deviation, in frames, of the centred Gaussian that smooths each clip's
    /// regularity scores after either normalisation (0: none).
    pub smooth: f64,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        ScoreConfig {
            hop: None,
            map_block: Some(4),
            causal: false,
            smooth: DEFAULT_SMOOTH,
        }
    }
}

/// What the tables say about the smoothing behind them.
pub fn smoothing_sentence(sigma: f64) -> String {
    if sigma > 0.0 {
        format!("Regularity scores smoothed over time within each clip (Gaussian, σ = {sigma} frames, `--smooth`).")
    } else {
        "Regularity scores not smoothed over time.".to_string()
    }
}

/// One modality's scores of one clip, per video frame.
#[derive(Serialize, Clone, Debug)]
pub struct ModalityScores {
    pub modality: Modality,
    /// Reconstruction error, as the model gives it.
    pub errors: Vec<f64>,
    /// s_r under per-video min-max, smoothed over time.
    pub regularity_minmax: Vec<f64>,
    /// s_r under the model's calibration, smoothed over time.
    pub regularity_calibrated: Vec<f64>,
    /// The scorers this modality's score is the mean of, each alone: a visual model's
    /// autoencoder and speed score, when it has a speed score (else none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<PartScores>,
}

/// One scorer's scores of one clip, per video frame, where a modality's score combines
/// several ([`ModalityScores::parts`]).
#[derive(Serialize, Clone, Debug)]
pub struct PartScores {
    /// `autoencoder` or `speed`.
    pub name: &'static str,
    /// Its raw error.
    pub errors: Vec<f64>,
    /// s_r under per-video min-max, smoothed over time.
    pub regularity_minmax: Vec<f64>,
    /// s_r under its own calibration, smoothed over time.
    pub regularity_calibrated: Vec<f64>,
}

impl PartScores {
    /// A scorer's scores from its raw `errors` and their calibrated s_r, both
    /// normalisations smoothed at `sigma` as [`score_clips`] smooths.
    fn new(name: &'static str, errors: Vec<f64>, calibrated: Vec<f64>, sigma: f64) -> Self {
        let minmax: Vec<f64> = min_max_per_video(&errors).iter().map(|e| 1.0 - e).collect();
        PartScores {
            name,
            regularity_minmax: gaussian_smooth(&minmax, sigma),
            regularity_calibrated: gaussian_smooth(&calibrated, sigma),
            errors,
        }
    }
}

/// Every modality's scores of one clip, in the models' order.
#[derive(Serialize, Clone, Debug)]
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

/// Pixel-level scores and labels gathered while scoring.
#[derive(Default, Debug)]
pub struct PixelScores {
    pub scores: Vec<f64>,
    pub labels: Vec<bool>,
    pub blocks: Option<String>,
}

/// The scores of every clip, and the pixel-level scores of those with masks.
#[derive(Debug)]
pub struct Scored {
    pub clips: Vec<ClipScores>,
    pub pixels: PixelScores,
}

/// Scores `clips` with every model of `models` on `device`.
pub fn score_clips(
    models: &Models,
    clips: &[&Clip],
    config: &ScoreConfig,
    device: &Device,
    progress: &dyn Progress,
) -> Result<Scored> {
    for m in models {
        let Model::Visual(v) = m else { continue };
        let preset = &v.model.card.preset;
        if let Some(hop) = config.hop.filter(|&h| h == 0 || h > preset.steps) {
            return Err(Error::invalid(format!(
                "hop {hop}: must be between 1 and the window's {} frames (a larger hop leaves frames unscored)",
                preset.steps
            )));
        }
        if let Some(b) = config.map_block.filter(|b| *b == 0 || preset.size % b != 0) {
            return Err(Error::invalid(format!(
                "map block {b} does not divide the model's {0}x{0} frames",
                preset.size
            )));
        }
    }
    let feature_config = FeatureConfig::default();
    let mut extractor = FeatureExtractor::new(&feature_config)?;
    let total_frames: usize = clips.iter().map(|c| c.frames()).sum::<usize>() * models.len();
    progress.stage("scoring", total_frames as u64);
    let mut done = 0u64;
    let mut results = Vec::new();
    let mut pixels = PixelScores::default();
    for clip in clips {
        let causal = if config.causal && models.visual().is_some() {
            progress.message(&format!("live detector on {}", clip.name));
            Some(causal_errors(models, clip, config, device)?)
        } else if config.causal {
            Some(CausalErrors {
                video: Vec::new(),
                video_parts: None,
                audio: None,
            })
        } else {
            None
        };
        let mut modalities = Vec::new();
        for m in models {
            progress.message(&format!("{} of {}", m.modality(), clip.name));
            let mut parts = Vec::new();
            let (errors, calibrated) = match m {
                Model::Visual(v) => {
                    let scoring = v.scoring()?;
                    // The autoencoder's and the speed score's raw errors, with a speed score.
                    let (errors, split) = match &causal {
                        // The live detector combines the speed score itself.
                        Some(c) => (c.video.clone(), c.video_parts.clone()),
                        None => {
                            let e =
                                score_visual(v, clip, config, device, progress, done, &mut pixels)?;
                            match &v.speed {
                                Some(speed) => {
                                    let s = speed.clip_errors(&speed.frames(clip)?);
                                    let combined = e
                                        .iter()
                                        .zip(&s)
                                        .map(|(&e, &s)| speed.combine(scoring.calibration, e, s))
                                        .collect();
                                    (combined, Some((e, s)))
                                }
                                None => (e, None),
                            }
                        }
                    };
                    if let (Some(speed), Some((e, s))) = (&v.speed, split) {
                        let sigma = config.smooth;
                        let ce = scoring.calibration.regularity_scores(&e);
                        let cs = speed.calibration.regularity_scores(&s);
                        parts.push(PartScores::new("autoencoder", e, ce, sigma));
                        parts.push(PartScores::new("speed", s, cs, sigma));
                    }
                    let calibrated = errors
                        .iter()
                        .map(|&e| v.regularity(scoring.calibration, e))
                        .collect();
                    (errors, calibrated)
                }
                Model::Audio(a) => {
                    let fold = a.fold_for(&clip.id())?;
                    let errors = match &causal {
                        Some(CausalErrors { audio: Some(e), .. }) => e.clone(),
                        // No visual model: the live detector's audio scorer alone.
                        Some(_) => {
                            let (mono, rate) = clip_sound(clip)?.ok_or_else(|| no_sound(clip))?;
                            clip_errors_causal(
                                a.clone(),
                                fold,
                                (&mono, rate),
                                (clip.frames(), clip.fps),
                                device,
                            )?
                        }
                        None => {
                            score_audio(a, fold, clip, &mut extractor, &feature_config, device)?
                        }
                    };
                    let calibrated = a.model.card.folds[fold]
                        .training
                        .calibration
                        .regularity_scores(&errors);
                    (errors, calibrated)
                }
            };
            done += clip.frames() as u64;
            progress.set_done(done);
            let minmax: Vec<f64> = min_max_per_video(&errors).iter().map(|e| 1.0 - e).collect();
            let sigma = config.smooth;
            modalities.push(ModalityScores {
                modality: m.modality(),
                regularity_minmax: gaussian_smooth(&minmax, sigma),
                regularity_calibrated: gaussian_smooth(&calibrated, sigma),
                errors,
                parts,
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
    progress.finish();
    Ok(Scored {
        clips: results,
        pixels,
    })
}

fn no_sound(clip: &Clip) -> Error {
    Error::invalid(format!(
        "clip {} has no sound for the audio model",
        clip.name
    ))
}

/// A clip's audio errors per video frame, offline: each frame's the mean over the windows
/// covering it.
fn score_audio(
    audio: &Audio,
    fold: usize,
    clip: &Clip,
    extractor: &mut FeatureExtractor,
    feature_config: &FeatureConfig,
    device: &Device,
) -> Result<Vec<f64>> {
    let card = &audio.model.card;
    let features = clip_features(clip, extractor)?.ok_or_else(|| no_sound(clip))?;
    let scaled = card.folds[fold].scaler.apply(&features)?;
    let e = audio_errors(
        &audio.model.networks[fold],
        &scaled,
        card.preset.steps,
        card.preset.score_hop,
        16,
        card.preset.error,
        device,
    )?;
    Ok(timing(feature_config).to_video_frames(&e, clip.fps, clip.frames()))
}

/// A clip's visual errors per frame, offline: each frame's the mean over the windows
/// covering it; error maps pooled for pixel-level AUC where the clip has masks.
fn score_visual(
    visual: &Visual,
    clip: &Clip,
    config: &ScoreConfig,
    device: &Device,
    progress: &dyn Progress,
    before: u64,
    pixels: &mut PixelScores,
) -> Result<Vec<f64>> {
    let scoring = visual.scoring()?;
    let preset = &visual.model.card.preset;
    let side = preset.size;
    let block = config.map_block;
    let options = ScoreOptions {
        steps: preset.steps,
        hop: config.hop.unwrap_or(preset.score_hop),
        batch: 4,
        map_block: block.filter(|_| clip.masks.is_some()),
        patch_block: scoring.patch_block(),
        causal: false,
    };
    let frame_clip = load_clip(clip, preset)?;
    let n = frame_clip.frames();
    let errors = visual_errors(
        &visual.model.network,
        &frame_clip,
        &options,
        device,
        &mut |done, all| progress.set_done(before + (n * done / all.max(1)) as u64),
    )?;
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

/// A clip's errors as the live detector gives them.
struct CausalErrors {
    video: Vec<f64>,
    /// The autoencoder's and the speed score's raw errors, with a speed score.
    video_parts: Option<(Vec<f64>, Vec<f64>)>,
    audio: Option<Vec<f64>>,
}

/// Runs a [`Detector`] over a whole clip, its sound first (none is lost, whatever the
/// lag), unsmoothed: the errors `avad watch` gives for the same frames.
fn causal_errors(
    models: &Models,
    clip: &Clip,
    config: &ScoreConfig,
    device: &Device,
) -> Result<CausalErrors> {
    let detector_config = DetectorConfig {
        hop: config.hop,
        gamma: None,
        smooth: 0.0,
        workers: 0,
        sound_timeout: f64::INFINITY,
        audio_fold: models.audio().map(|_| clip.id()),
        keep_evidence: false,
    };
    let mut detector = Detector::new(models, detector_config, device)?;
    let sound = match models.audio() {
        Some(_) => Some(clip_sound(clip)?.ok_or_else(|| no_sound(clip))?),
        None => None,
    };
    detector.begin(clip.fps, sound.as_ref().map(|s| s.1))?;
    if let Some((mono, _)) = &sound {
        detector.push_sound(mono)?;
    }
    let size = detector.frame_size();
    let frames = clip
        .video
        .read_frames(size)
        .with_context(|| format!("reading clip {}", clip.name))?;
    let mut speed_frames = match models.visual().and_then(|v| v.speed.as_ref()) {
        Some(speed) => speed.frames(clip)?,
        None => Vec::new(),
    }
    .into_iter();
    let mut video = Vec::with_capacity(frames.len());
    let mut audio = Vec::with_capacity(frames.len());
    let (mut autoencoder, mut speed) = (Vec::new(), Vec::new());
    let mut take = |detector: &mut Detector| {
        for d in detector.decisions() {
            video.push(d.video.error);
            audio.extend(d.audio.map(|a| a.error));
            if let Some(p) = d.video_parts {
                autoencoder.push(p.autoencoder);
                speed.push(p.speed);
            }
        }
    };
    for (i, f) in frames.into_iter().enumerate() {
        detector.push_frames(f.data, speed_frames.next(), i as f64 / clip.fps)?;
        take(&mut detector);
    }
    detector.end(StretchEnd::Complete)?;
    take(&mut detector);
    if video.len() != clip.frames() {
        return Err(Error::invalid(format!(
            "clip {}: the live detector scored {} of its {} frames (a clip shorter than a window?)",
            clip.name,
            video.len(),
            clip.frames()
        )));
    }
    // Every frame's parts, or none: a frame is decided once both its errors are in.
    let video_parts =
        (autoencoder.len() == video.len() && !video.is_empty()).then_some((autoencoder, speed));
    Ok(CausalErrors {
        audio: sound.map(|_| audio),
        video,
        video_parts,
    })
}
