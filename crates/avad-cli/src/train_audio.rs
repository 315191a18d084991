//! `avad train audio`: the acoustic autoencoder (Table 2) on normal sound, written as a
//! model directory of one or more folds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use avad_data::alignment::AudioTiming;
use avad_data::dataset::align_audio;
use avad_data::generic::is_audio_path;
use avad_data::{open_dataset, AudioSource, Clip, Split};
use avad_eval::normalize::Calibration;
use avad_features::{FeatureConfig, FeatureExtractor, FeatureMatrix, N_FEATURES};
use avad_media::audio::{decode_audio, downmix_mono};
use avad_media::resample::resample;
use avad_media::video::decode_audio_track;
use avad_model::audio::{audio_errors, normal_windows, AudioClip, AudioScaler, AudioSequences};
use avad_model::burn::module::Module;
use avad_model::burn::tensor::Device;
use avad_model::device::Accelerator;
use avad_model::model_dir::{
    AudioFold, AudioModel, AudioModelCard, AudioPreset, TrainingRecord, FORMAT_VERSION,
};
use avad_model::sequences::split_clips;
use avad_model::train::{copy_weights, train, EpochRecord, Part, Progress, Samples};
use avad_model::AudioAutoencoderConfig;
use indicatif::{ProgressBar, ProgressStyle};

use crate::train::counter_bar;

/// Train the acoustic autoencoder (Table 2 of Tariq et al. 2024) on normal sound.
///
/// Where the normal sound comes from, in this order:
///   --normal-audio DIR     every audio file in DIR is normal (a user's own site);
///   DATASET's train clips  when they have sound, all of it is normal;
///   DATASET's labelled clips otherwise (UCSD Ped2, whose only audio is the test clips'):
///                          leave-one-clip-out, one fold per clip, each trained on the
///                          normal-labelled stretches of the other clips and never on the
///                          clip it will score.
///
/// Writes OUT/model.json (preset, feature scaling, calibration and history of each fold),
/// the weights (OUT/weights.bpk, or OUT/folds/<clip>.bpk), OUT/loss.{csv,png,svg} and
/// OUT/checkpoint/ (rerun with --resume to continue a stopped run).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct AudioArgs {
    /// Dataset folder (UCSD Ped2, UMN or a generic train/ test/ folder).
    dataset: Option<PathBuf>,
    /// A folder of normal recordings to train on instead of the dataset's sound.
    #[arg(long)]
    normal_audio: Option<PathBuf>,
    /// Model directory to write.
    #[arg(long, short)]
    out: PathBuf,
    /// Built-in preset (paper) or a preset TOML file.
    #[arg(long, default_value = "paper")]
    preset: String,
    /// Override the preset's epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the preset's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Continue the checkpoints in OUT/checkpoint.
    #[arg(long)]
    resume: bool,
    /// Where to train: cpu, or cuda / wgpu when built with that feature.
    #[arg(long, default_value = "cpu")]
    device: String,
}

/// One recording's raw features and which of its feature frames are normal.
struct Recording {
    name: String,
    features: FeatureMatrix,
    normal: Vec<bool>,
}

/// Decodes `path` (an audio file, or with `video_track` a video's or stream's audio
/// track) to mono at `rate`.
pub fn decode_mono(path: &Path, video_track: bool, rate: u32) -> Result<Vec<f32>> {
    let (mono, native) = decode_native_mono(path, video_track)?;
    Ok(resample(&mono, native, rate))
}

/// Mono sound at its own rate: an audio file, or the audio track of a video.
pub fn decode_native_mono(path: &Path, video_track: bool) -> Result<(Vec<f32>, u32)> {
    let d = if video_track {
        decode_audio_track(&path.to_string_lossy())?
    } else {
        decode_audio(path)?
    };
    Ok((downmix_mono(&d), d.sample_rate))
}

/// The raw feature frames of `clip`'s sound, cut or padded to its frames (see
/// `avad_data::dataset::align_audio`); `None` when the clip has no sound.
pub fn clip_features(
    clip: &Clip,
    extractor: &mut FeatureExtractor,
) -> Result<Option<FeatureMatrix>> {
    let Some(source) = &clip.audio else {
        return Ok(None);
    };
    let rate = extractor.config().sample_rate;
    let path = source.path();
    let samples = decode_mono(path, matches!(source, AudioSource::VideoTrack(_)), rate)
        .with_context(|| format!("reading the sound of clip {}", clip.name))?;
    let skip = ((clip.audio_offset_s * f64::from(rate)).round() as usize).min(samples.len());
    let (aligned, _) = align_audio(&samples[skip..], rate, clip.frames(), clip.fps);
    let m = extractor
        .extract(&aligned)
        .with_context(|| path.display().to_string())?;
    Ok(Some(m))
}

/// The timing of the feature frames `config` computes.
pub fn timing(config: &FeatureConfig) -> AudioTiming {
    AudioTiming {
        hop: config.hop_length,
        window: config.n_fft,
        sample_rate: config.sample_rate,
    }
}

pub fn run(args: &AudioArgs) -> Result<()> {
    let mut preset = AudioPreset::load(&args.preset)?;
    let changed = crate::train::override_training(&mut preset.train, args.epochs, args.seed);
    crate::train::note_overrides(&mut preset.description, &changed);
    preset.check().map_err(|reason| {
        anyhow::anyhow!("preset {} with the options given: {reason}", preset.name)
    })?;
    let inputs: Vec<(&str, &Path)> = [
        ("the dataset", args.dataset.as_deref()),
        ("the recordings' folder", args.normal_audio.as_deref()),
    ]
    .into_iter()
    .filter_map(|(what, p)| p.map(|p| (what, p)))
    .collect();
    crate::out_dir::refuse_inside(&args.out, &inputs)?;
    crate::train::refuse_trained_model(&args.out, args.resume, "checkpoints", "audio")?;
    let config = FeatureConfig::default();
    let mut extractor = FeatureExtractor::new(&config)?;
    let timing = timing(&config);

    // The recordings and, per fold, the one it holds out (None: a single fold).
    let (recordings, loco, protocol, source) = if let Some(dir) = &args.normal_audio {
        if dir.is_file() {
            bail!(
                "{}: --normal-audio takes a folder of recordings, not a file",
                dir.display()
            );
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_audio_path(p))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!(
                "{}: no audio files ({}) to learn normal sound from",
                dir.display(),
                avad_data::generic::AUDIO_EXTENSIONS.join(", ")
            );
        }
        let bar = counter_bar(files.len() as u64, "computing features");
        let mut recs = Vec::new();
        for f in &files {
            let samples = decode_mono(f, false, config.sample_rate)?;
            let features = extractor
                .extract(&samples)
                .with_context(|| f.display().to_string())?;
            let name = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            recs.push(Recording {
                name,
                normal: vec![true; features.frames],
                features,
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        (
            recs,
            false,
            format!("normal recordings in {}", dir.display()),
            dir.display().to_string(),
        )
    } else {
        let Some(dataset_path) = &args.dataset else {
            bail!("give a DATASET, or --normal-audio DIR with recordings of normal sound");
        };
        let dataset = open_dataset(dataset_path)?;
        let train_with_sound: Vec<&Clip> = dataset
            .split(Split::Train)
            .filter(|c| c.audio.is_some())
            .collect();
        let (clips, loco) = if !train_with_sound.is_empty() {
            (train_with_sound, false)
        } else {
            let labelled: Vec<&Clip> = dataset
                .clips
                .iter()
                .filter(|c| c.audio.is_some() && c.labels.is_some())
                .collect();
            if labelled.len() < 2 {
                bail!(
                    "{}: no training clip has sound, and fewer than two labelled clips do: \
                     give recordings of normal sound with --normal-audio DIR",
                    dataset_path.display()
                );
            }
            (labelled, true)
        };
        let bar = counter_bar(clips.len() as u64, "computing features");
        let mut recs = Vec::new();
        for clip in clips {
            bar.set_message(format!("features of {}", clip.name));
            let features = clip_features(clip, &mut extractor)?
                .with_context(|| format!("clip {} has no sound", clip.name))?;
            let normal = match &clip.labels {
                Some(labels) => timing
                    .audio_labels(labels, clip.fps, features.frames)
                    .into_iter()
                    .map(|l| l == Some(false))
                    .collect(),
                None => vec![true; features.frames],
            };
            recs.push(Recording {
                name: clip.id(),
                features,
                normal,
            });
            bar.inc(1);
        }
        bar.finish_and_clear();
        let protocol = if loco {
            "leave-one-clip-out: each fold trained on the normal-labelled stretches of the other clips".to_string()
        } else {
            "the dataset's training clips, all normal".to_string()
        };
        (recs, loco, protocol, dataset_path.display().to_string())
    };

    let folds: Vec<Option<usize>> = if loco {
        (0..recordings.len()).map(Some).collect()
    } else {
        vec![None]
    };
    let device = args.device.parse::<Accelerator>()?.training_device()?;
    let plain = Device::flex();
    let model_config = AudioAutoencoderConfig::new();
    let out_dir = crate::out_dir::OutDir::create(&args.out)?;
    let started = Instant::now();
    let mut card_folds: Vec<AudioFold> = Vec::new();
    let mut networks: Vec<avad_model::AudioAutoencoder> = Vec::new();
    // Recordings too short for one window teach nothing; they are scored all the same.
    let useful: Vec<usize> = (0..recordings.len())
        .filter(|&i| {
            !normal_windows(&recordings[i].normal, preset.steps, preset.train_hop).is_empty()
        })
        .collect();
    // Folds whose pools are equal (those holding out a recording with no normal window)
    // train on the same data with the same seed: train once, reuse the weights.
    let mut trained_pools: Vec<(Vec<usize>, usize)> = Vec::new();
    for (k, held_out) in folds.iter().enumerate() {
        let fold_name = held_out.map_or_else(|| "all".to_string(), |h| recordings[h].name.clone());
        let pool: Vec<usize> = useful
            .iter()
            .copied()
            .filter(|&i| Some(i) != *held_out)
            .collect();
        if pool.is_empty() {
            let window = format!(
                "{} feature frames ({:.2} s)",
                preset.steps,
                (preset.steps * config.hop_length) as f64 / f64::from(config.sample_rate)
            );
            if held_out.is_some() {
                bail!(
                    "{source}: fold {fold_name}: no other labelled clip has {window} of normal sound in a row to train on"
                );
            }
            bail!("{source}: no recording has {window} of normal sound in a row to train on");
        }
        if let Some(&(_, earlier)) = trained_pools.iter().find(|(p, _)| *p == pool) {
            let mut fold: AudioFold = card_folds[earlier].clone();
            eprintln!(
                "fold {}/{} (without {fold_name}): the same recordings as fold {}, weights shared",
                k + 1,
                folds.len(),
                earlier + 1
            );
            fold.held_out = Some(fold_name.clone());
            fold.weights = format!("folds/{fold_name}.bpk");
            card_folds.push(fold);
            let network = networks[earlier].clone();
            networks.push(network);
            continue;
        }
        trained_pools.push((pool.clone(), k));
        let (train_local, valid_local) =
            split_clips(pool.len(), preset.validation_fraction, preset.train.seed);
        let train_idx: Vec<usize> = train_local.iter().map(|&i| pool[i]).collect();
        let valid_idx: Vec<usize> = valid_local.iter().map(|&i| pool[i]).collect();
        let normal_rows = |i: usize| -> FeatureMatrix {
            let r = &recordings[i];
            let data = r
                .features
                .data
                .chunks_exact(N_FEATURES)
                .zip(&r.normal)
                .filter(|(_, &n)| n)
                .flat_map(|(row, _)| row.iter().copied())
                .collect::<Vec<f32>>();
            FeatureMatrix {
                frames: data.len() / N_FEATURES,
                data,
            }
        };
        let fit_on: Vec<FeatureMatrix> = train_idx.iter().map(|&i| normal_rows(i)).collect();
        let scaler = AudioScaler::fit(&fit_on.iter().collect::<Vec<_>>()).with_context(|| {
            format!("fold {fold_name}: fitting the feature scaling on the normal training frames")
        })?;
        let mut clips = Vec::new();
        for &i in &pool {
            let r = &recordings[i];
            clips.push(AudioClip {
                name: r.name.clone(),
                features: scaler.apply(&r.features)?,
                normal: r.normal.clone(),
            });
        }
        // `clips` follows `pool`, so the validation clips sit at `valid_local`.
        let set = AudioSequences::new(clips, &valid_local, preset.steps, preset.train_hop)?;
        if set.len(Part::Train) == 0 {
            bail!(
                "fold {fold_name}: no stretch of {} normal feature frames ({:.2} s) to train on",
                preset.steps,
                (preset.steps * config.hop_length) as f64 / f64::from(config.sample_rate)
            );
        }
        let label = if loco {
            format!("fold {}/{} (without {fold_name})", k + 1, folds.len())
        } else {
            "audio".to_string()
        };
        eprintln!(
            "{label}: {} training sequences from {} recordings, {} validation sequences from {}",
            set.len(Part::Train),
            train_idx.len(),
            set.len(Part::Validation),
            valid_idx.len()
        );
        device.seed(preset.train.seed);
        let network = model_config.init(&device)?;
        let checkpoint = args.out.join("checkpoint").join(&fold_name);
        let resume = args.resume && checkpoint.join("checkpoint.json").exists();
        let mut progress = FoldProgress::new(label);
        let trained = train(
            network,
            &set,
            &preset.train,
            &device,
            &checkpoint,
            resume,
            &mut progress,
        )?;
        progress.finish(&trained.history, trained.best_epoch);

        // Calibrate on the held-out recordings' normal frames, as `avad score` scores them.
        let network = copy_weights(&trained.model, model_config.init(&plain)?)?.valid();
        let (calibration_idx, calibrated_on) = if valid_idx.is_empty() {
            (
                train_local.clone(),
                "the normal frames of the training recordings (none was held out)".to_string(),
            )
        } else {
            (
                valid_local.clone(),
                format!(
                    "the normal frames of {} held-out recordings",
                    valid_idx.len()
                ),
            )
        };
        let mut errors = Vec::new();
        for &local in &calibration_idx {
            let clip = &set.clips()[local];
            let e = audio_errors(
                &network,
                &clip.features,
                preset.steps,
                preset.score_hop,
                16,
                preset.error,
                &plain,
            )?;
            errors.extend(
                e.iter()
                    .zip(&clip.normal)
                    .filter(|(_, &n)| n)
                    .map(|(e, _)| *e),
            );
        }
        let calibration = Calibration::fit(&errors)
            .with_context(|| format!("fold {fold_name}: calibrating on {calibrated_on}"))?;
        let names = |idx: &[usize]| {
            idx.iter()
                .map(|&i| recordings[i].name.clone())
                .collect::<Vec<_>>()
        };
        card_folds.push(AudioFold {
            held_out: held_out.map(|h| recordings[h].name.clone()),
            weights: if loco {
                format!("folds/{fold_name}.bpk")
            } else {
                "weights.bpk".to_string()
            },
            scaler,
            training: TrainingRecord::new(
                &trained,
                names(&train_idx),
                names(&valid_idx),
                calibration,
                calibrated_on,
            ),
        });
        networks.push(network);
    }
    let model = AudioModel {
        card: AudioModelCard {
            format: FORMAT_VERSION,
            kind: "audio".into(),
            avad_version: env!("CARGO_PKG_VERSION").into(),
            preset,
            model: model_config,
            protocol,
            source,
            folds: card_folds,
        },
        networks,
    };
    model.save(&args.out)?;
    out_dir.keep();
    eprintln!(
        "trained {} audio fold{} in {:.1} min; model written to {}",
        model.networks.len(),
        if model.networks.len() == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64() / 60.0,
        args.out.display()
    );
    Ok(())
}

/// One bar per fold over its epochs, with the last losses and the time left.
struct FoldProgress {
    label: String,
    bar: Option<ProgressBar>,
}

impl FoldProgress {
    fn new(label: String) -> Self {
        FoldProgress { label, bar: None }
    }

    fn finish(&mut self, history: &[EpochRecord], best_epoch: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if let Some(best) = history.get(best_epoch.wrapping_sub(1)) {
            eprintln!(
                "{}: {} epochs, kept epoch {best_epoch} (train loss {:.5}{})",
                self.label,
                history.len(),
                best.train_loss,
                best.validation_loss
                    .map(|v| format!(", validation loss {v:.5}"))
                    .unwrap_or_default()
            );
        }
    }
}

impl Progress for FoldProgress {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, _batches: usize) {
        let bar = self.bar.get_or_insert_with(|| {
            let bar = crate::progress::bar(epochs as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] epoch {pos}/{len}, {msg}, {elapsed_precise}, {eta} left",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(self.label.clone());
            bar.set_message("loss -");
            bar
        });
        bar.set_position(epoch as u64 - 1);
    }

    fn epoch_done(&mut self, r: &EpochRecord, _best: bool) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "loss {:.5}{}",
                r.train_loss,
                r.validation_loss
                    .map(|v| format!(" / validation {v:.5}"))
                    .unwrap_or_default()
            ));
            bar.set_position(r.epoch as u64);
        }
    }

    fn resumed(&mut self, epoch: usize) {
        eprintln!("{}: resuming after epoch {epoch}", self.label);
    }
}
