//! Training the acoustic autoencoder (Table 2) on normal sound: one fold, or one per clip
//! held out (leave-one-clip-out), written as a model directory.

use std::path::{Path, PathBuf};
use std::time::Instant;

use avad_data::generic::is_audio_path;
use avad_data::{open_dataset, Clip, Split};
use avad_eval::normalize::Calibration;
use avad_features::{FeatureConfig, FeatureExtractor, FeatureMatrix, N_FEATURES};
use avad_model::audio::{audio_errors, normal_windows, AudioClip, AudioScaler, AudioSequences};
use avad_model::burn::module::Module;
use avad_model::burn::tensor::{Device, Tensor};
use avad_model::model_dir::{
    AudioFold, AudioModel, AudioModelCard, AudioPreset, TrainingRecord, FORMAT_VERSION,
};
use avad_model::sequences::split_clips;
use avad_model::train::{copy_weights, seeded_init, train, Part, Samples};
use avad_model::AudioAutoencoderConfig;

use crate::clips::{clip_features, decode_mono, timing};
use crate::error::{Context, Error, Result};
use crate::progress::Progress;

/// Where the normal sound comes from.
#[derive(Clone, Copy, Debug)]
pub enum NormalSound<'a> {
    /// Every audio file in a folder is normal (a user's own site).
    Recordings(&'a Path),
    /// A dataset: its training clips' sound when they have any, all of it normal; else
    /// (UCSD Ped2, whose only audio is the test clips') leave-one-clip-out over its
    /// labelled clips, one fold per clip, each trained on the normal-labelled stretches of
    /// the other clips and never on the clip it will score.
    Dataset(&'a Path),
}

/// One recording's raw features and which of its feature frames are normal.
struct Recording {
    name: String,
    features: FeatureMatrix,
    normal: Vec<bool>,
}

/// Trains the acoustic autoencoder of `preset` on the normal sound of `source` on
/// `device` and writes the model directory `out`: `model.json` (preset, feature scaling,
/// calibration and history of each fold), the weights (`weights.bpk`, or
/// `folds/<clip>.bpk`) and `checkpoint/` (which `resume` continues).
pub fn train_audio(
    source: NormalSound,
    out: &Path,
    preset: &AudioPreset,
    resume: bool,
    device: &Device,
    progress: &dyn Progress,
) -> Result<AudioModel> {
    let preset = preset.clone();
    preset
        .check()
        .map_err(|reason| Error::invalid(format!("preset {}: {reason}", preset.name)))?;
    let config = FeatureConfig::default();
    let mut extractor = FeatureExtractor::new(&config)?;
    let timing = timing(&config);

    // The recordings and, per fold, the one it holds out (None: a single fold).
    let (recordings, loco, protocol, source) = if let NormalSound::Recordings(dir) = source {
        if dir.is_file() {
            return Err(Error::invalid(format!(
                "{}: a file, not a folder of recordings",
                dir.display()
            )));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| is_audio_path(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::invalid(format!(
                "{}: no audio files ({}) to learn normal sound from",
                dir.display(),
                avad_data::generic::AUDIO_EXTENSIONS.join(", ")
            )));
        }
        progress.stage("computing features", files.len() as u64);
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
            progress.advance(1);
        }
        progress.finish();
        (
            recs,
            false,
            format!("normal recordings in {}", dir.display()),
            dir.display().to_string(),
        )
    } else {
        let NormalSound::Dataset(dataset_path) = source else {
            unreachable!("the recordings are read above")
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
                return Err(Error::invalid(format!(
                    "{}: no training clip has sound, and fewer than two labelled clips do: \
                     train on a folder of recordings of normal sound instead",
                    dataset_path.display()
                )));
            }
            (labelled, true)
        };
        progress.stage("computing features", clips.len() as u64);
        let mut recs = Vec::new();
        for clip in clips {
            progress.message(&format!("features of {}", clip.name));
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
            progress.advance(1);
        }
        progress.finish();
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
    let plain = Device::flex();
    let model_config = AudioAutoencoderConfig::new();
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
                return Err(Error::invalid(format!(
                    "{source}: fold {fold_name}: no other labelled clip has {window} of normal sound in a row to train on"
                )));
            }
            return Err(Error::invalid(format!(
                "{source}: no recording has {window} of normal sound in a row to train on"
            )));
        }
        if let Some(&(_, earlier)) = trained_pools.iter().find(|(p, _)| *p == pool) {
            let mut fold: AudioFold = card_folds[earlier].clone();
            progress.note(&format!(
                "fold {}/{} (without {fold_name}): the same recordings as fold {}, weights shared",
                k + 1,
                folds.len(),
                earlier + 1
            ));
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
            return Err(Error::invalid(format!(
                "fold {fold_name}: no stretch of {} normal feature frames ({:.2} s) to train on",
                preset.steps,
                (preset.steps * config.hop_length) as f64 / f64::from(config.sample_rate)
            )));
        }
        let label = if loco {
            format!("fold {}/{} (without {fold_name})", k + 1, folds.len())
        } else {
            "audio".to_string()
        };
        progress.note(&format!(
            "{label}: {} training sequences from {} recordings, {} validation sequences from {}",
            set.len(Part::Train),
            train_idx.len(),
            set.len(Part::Validation),
            valid_idx.len()
        ));
        let network = seeded_init(
            device,
            preset.train.seed,
            |d| model_config.init(d),
            |m, d| {
                m.forward(Tensor::zeros([1, preset.steps, N_FEATURES], d))
                    .map(|_| ())
            },
        )?;
        let checkpoint = out.join("checkpoint").join(&fold_name);
        let resume = resume && checkpoint.join("checkpoint.json").exists();
        let trained = {
            let mut epochs = progress.training(&label);
            train(
                network,
                &set,
                &preset.train,
                device,
                &checkpoint,
                resume,
                epochs.as_mut(),
            )?
        };
        if let Some(best) = trained.history.get(trained.best_epoch.wrapping_sub(1)) {
            progress.note(&format!(
                "{label}: {} epochs, kept epoch {} (train loss {:.5}{})",
                trained.history.len(),
                trained.best_epoch,
                best.train_loss,
                best.validation_loss
                    .map(|v| format!(", validation loss {v:.5}"))
                    .unwrap_or_default()
            ));
        }

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
    model.save(out)?;
    progress.note(&format!(
        "trained {} audio fold{} in {:.1} min",
        model.networks.len(),
        if model.networks.len() == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64() / 60.0,
    ));
    Ok(model)
}
