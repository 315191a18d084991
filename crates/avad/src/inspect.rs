//! What avad sees in a recording, a dataset or a model directory ([`inspect`]).

use std::path::{Path, PathBuf};

use crate::error::{Context, Error, Result};
use avad_data::{open_dataset, AudioSource, Clip, Dataset, Split, VideoSource};
use avad_media::audio::{probe_audio, AudioInfo};
use avad_media::video::{is_stream_url, is_video_path, probe_video};
use avad_model::burn::tensor::Device;
use avad_model::model_dir::{FrameScore, CARD_FILE, WEIGHTS_FILE};
use avad_model::train::EpochRecord;
use serde_json::json;

use crate::models::{Model, Models, NORMAL_PERCENTILE};
use crate::train::count;

/// `writeln!` into a `String`, which cannot fail.
macro_rules! outln {
    ($out:ident, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($out, $($arg)*);
    }};
}

/// What avad sees in `path`, in words or (`as_json`) as JSON: a dataset folder (its kind,
/// clips, frames, frame size, frame rate, sound and labels; with `every_clip`, each clip),
/// a single clip (a frame folder or a video file), an audio file, a stream URL, or a model
/// directory (its card: preset, input, training, the scores it can give and their
/// label-free γ; its weights are loaded, so a damaged model fails here as it would when
/// scoring).
pub fn inspect(path: &Path, as_json: bool, every_clip: bool) -> Result<String> {
    let mut out = String::new();
    let path = path.to_path_buf();
    let text = path.to_string_lossy();
    if is_stream_url(&text) || (path.is_file() && is_video_path(&path)) {
        return inspect_video(&text, as_json);
    }
    if path.is_file() && avad_data::generic::is_audio_path(&path) {
        let info = probe_audio(&path)?;
        if as_json {
            outln!(
                out,
                "{}",
                serde_json::to_string_pretty(&audio_json(&path, &info))?
            );
        } else {
            outln!(out, "{}: audio file", path.display());
            outln!(out, "  {}", audio_line(&info));
        }
        return Ok(out);
    }
    if path.is_dir() && path.join(CARD_FILE).is_file() {
        return inspect_model(&path, as_json);
    }
    // Weights without their card: a model directory that lost its `model.json`, not a
    // dataset of its loss plots.
    if let Some(weights) = [WEIGHTS_FILE, "folds"]
        .into_iter()
        .find(|w| path.is_dir() && path.join(w).exists())
    {
        return Err(Error::invalid(format!(
            "{}: holds {weights} but no {CARD_FILE}: a model directory whose card is missing",
            path.display()
        )));
    }
    if path.exists() && !path.is_dir() {
        return Err(Error::invalid(format!(
            "{}: not a dataset or model folder, an audio file ({}) or a video file",
            path.display(),
            avad_data::generic::AUDIO_EXTENSIONS.join(", ")
        )));
    }
    let ds = open_dataset(&path)?;
    for clip in &ds.clips {
        if let VideoSource::Frames(f) = &clip.video {
            f.check_sizes()?;
        }
    }
    let audio = probe_dataset_audio(&ds)?;
    if as_json {
        outln!(
            out,
            "{}",
            serde_json::to_string_pretty(&dataset_json(&ds, &audio))?
        );
    } else {
        out.push_str(&print_dataset(&ds, &audio, every_clip));
    }
    Ok(out)
}

/// A trained model's card, in words or as JSON, after loading it whole.
fn inspect_model(dir: &Path, as_json: bool) -> Result<String> {
    let mut out = String::new();
    let device = Device::flex();
    let paths = [dir.to_path_buf()];
    let loaded = Models::load(&paths, &device, None)?;
    let Some(first) = loaded.iter().next() else {
        return Err(Error::invalid(format!("{}: no model", dir.display())));
    };
    let v = match first {
        Model::Visual(visual) => {
            let (model, score) = (&visual.model, &visual.score);
            let card = &model.card;
            let p = &card.preset;
            let t = &card.training;
            let mut scores = vec![FrameScore::Paper];
            if card.patch.is_some() {
                scores.push(FrameScore::Patch);
            }
            if card.motion.is_some() {
                scores.push(FrameScore::Motion);
            }
            let gammas = scores
                .iter()
                .map(|&k| -> Result<(String, serde_json::Value)> {
                    let g = model
                        .scoring(Some(k))
                        .map_err(|e| Error::scoring(dir, e))?
                        .calibration
                        .threshold_from_normal(NORMAL_PERCENTILE)?;
                    Ok((k.name().to_string(), json!(g)))
                })
                .collect::<Result<serde_json::Map<_, _>>>()?;
            json!({
                "kind": "visual", "path": dir, "avad_version": card.avad_version,
                "preset": p.name, "description": p.description,
                "size": p.size, "input": p.input.name(), "steps": p.steps, "score_hop": p.score_hop,
                "dataset": card.dataset,
                "train_clips": t.train_clips.len(), "validation_clips": t.validation_clips.len(),
                "epochs": t.history.len(), "best_epoch": t.best_epoch, "stopped_early": t.stopped_early,
                "best_validation_loss": best_validation_loss(&t.history, t.best_epoch),
                "training_seconds": t.history.iter().map(|e| e.seconds).sum::<f64>(),
                "calibrated_on": t.calibrated_on,
                "default_score": score.name(),
                "normal_gamma": gammas,
                "speed": match &visual.speed {
                    Some(speed) => {
                        let rows = &speed.model.row_speed;
                        let low = rows.iter().copied().fold(f32::INFINITY, f32::min);
                        let high = rows.iter().copied().fold(0f32, f32::max);
                        json!({
                            "size": speed.size().to_string(),
                            "normal_gamma": visual.normal_gamma()?,
                            "normal_speed_low": low,
                            "normal_speed_high": high,
                        })
                    }
                    None => serde_json::Value::Null,
                },
            })
        }
        Model::Audio(audio) => {
            let card = &audio.model.card;
            let p = &card.preset;
            let folds: Vec<_> = card
                .folds
                .iter()
                .map(|f| -> Result<serde_json::Value> {
                    let t = &f.training;
                    Ok(json!({
                        "held_out": f.held_out, "train_clips": t.train_clips.len(),
                        "validation_clips": t.validation_clips.len(), "epochs": t.history.len(),
                        "best_epoch": t.best_epoch,
                        "best_validation_loss": best_validation_loss(&t.history, t.best_epoch),
                        "normal_gamma": t.calibration.threshold_from_normal(NORMAL_PERCENTILE)?,
                    }))
                })
                .collect::<Result<_>>()?;
            json!({
                "kind": "audio", "path": dir, "avad_version": card.avad_version,
                "preset": p.name, "description": p.description,
                "steps": p.steps, "score_hop": p.score_hop,
                "source": card.source, "protocol": card.protocol,
                "normal_gamma": first.normal_gamma()?, "folds": folds,
            })
        }
    };
    if as_json {
        outln!(out, "{}", serde_json::to_string_pretty(&v)?);
    } else {
        out.push_str(&print_model(&v));
    }
    Ok(out)
}

/// The validation loss of the kept epoch, when there was one.
fn best_validation_loss(history: &[EpochRecord], best: usize) -> Option<f64> {
    history
        .iter()
        .find(|e| e.epoch == best)
        .and_then(|e| e.validation_loss)
}

/// The words of `inspect_model`'s JSON.
fn print_model(v: &serde_json::Value) -> String {
    let mut out = String::new();
    let loss = |v: &serde_json::Value| {
        v["best_validation_loss"]
            .as_f64()
            .map_or("no validation".into(), |l| {
                format!("validation loss {l:.3e}")
            })
    };
    outln!(
        out,
        "{}: {} model, preset {} ({}), avad {}",
        v["path"].as_str().unwrap_or_default(),
        v["kind"].as_str().unwrap_or_default(),
        v["preset"].as_str().unwrap_or_default(),
        v["description"].as_str().unwrap_or_default(),
        v["avad_version"].as_str().unwrap_or_default()
    );
    if v["kind"] == "visual" {
        outln!(
            out,
            "  sees {}x{} {}, windows of {} frames, one every {} when scoring",
            v["size"],
            v["size"],
            v["input"].as_str().unwrap_or_default(),
            v["steps"],
            v["score_hop"]
        );
        outln!(
            out,
            "  trained on {} of {}, {} held out; {}{}, kept epoch {} ({}), {:.1} min",
            count_of(&v["train_clips"], "clip"),
            v["dataset"].as_str().unwrap_or_default(),
            v["validation_clips"],
            count_of(&v["epochs"], "epoch"),
            if v["stopped_early"] == true {
                " (stopped early)"
            } else {
                ""
            },
            v["best_epoch"],
            loss(v),
            v["training_seconds"].as_f64().unwrap_or(0.0) / 60.0
        );
        let gammas = v["normal_gamma"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, g)| format!("{k} {:.3}", g.as_f64().unwrap_or(f64::NAN)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        outln!(out,
            "  scores with {} by default; label-free γ (s_r of the {NORMAL_PERCENTILE}th percentile of the errors on {}): {gammas}",
            v["default_score"].as_str().unwrap_or_default(),
            v["calibrated_on"].as_str().unwrap_or_default()
        );
        match v["speed"]["size"].as_str() {
            Some(size) => {
                outln!(
                    out,
                    "  with the speed score ({size} frames): label-free γ of the two together {:.3}",
                    v["speed"]["normal_gamma"].as_f64().unwrap_or(f64::NAN)
                );
                let speed = |k: &str| v["speed"][k].as_f64().unwrap_or(f64::NAN);
                let (low, high) = (speed("normal_speed_low"), speed("normal_speed_high"));
                if low == high {
                    outln!(
                        out,
                        "    normal speed {low:.2} pixels a frame in every row of the frame"
                    );
                } else {
                    outln!(
                        out,
                        "    normal speeds {low:.2} to {high:.2} pixels a frame, row by row"
                    );
                }
            }
            None => outln!(out, "  no speed score (`avad calibrate` fits one)"),
        }
    } else {
        outln!(
            out,
            "  windows of {} feature frames, one every {} when scoring; {} ({})",
            v["steps"],
            v["score_hop"],
            v["protocol"].as_str().unwrap_or_default(),
            v["source"].as_str().unwrap_or_default()
        );
        let folds = v["folds"].as_array().cloned().unwrap_or_default();
        let held_out = folds
            .iter()
            .any(|f| f["validation_clips"].as_u64() != Some(0));
        outln!(out,
            "  {}; label-free γ {:.3} (s_r of the {NORMAL_PERCENTILE}th percentile of {} normal errors{})",
            count(folds.len(), "fold"),
            v["normal_gamma"].as_f64().unwrap_or(f64::NAN),
            if held_out {
                "held-out"
            } else {
                "the training recordings' (none was held out)"
            },
            if folds.len() > 1 { ", the median over folds" } else { "" }
        );
        for f in &folds {
            outln!(out,
                "    {}: trained on {}, {} held out for validation; {}, kept epoch {} ({}), γ {:.3}",
                f["held_out"].as_str().map_or("any clip".into(), |c| format!("scores {c}")),
                count_of(&f["train_clips"], "clip"),
                f["validation_clips"],
                count_of(&f["epochs"], "epoch"),
                f["best_epoch"],
                loss(f),
                f["normal_gamma"].as_f64().unwrap_or(f64::NAN)
            );
        }
    }
    out
}

/// [`count`] of a number in a model card (as it stands there, should it not be one).
fn count_of(n: &serde_json::Value, noun: &str) -> String {
    match n.as_u64() {
        Some(k) => count(k as usize, noun),
        None => format!("{n} {noun}s"),
    }
}

fn inspect_video(source: &str, as_json: bool) -> Result<String> {
    let mut out = String::new();
    let info = probe_video(source)?;
    if as_json {
        let audio = info.audio.as_ref().map(
            |a| json!({"sample_rate": a.sample_rate, "channels": a.channels, "codec": a.codec}),
        );
        let v = json!({
            "kind": "video", "source": source, "width": info.width, "height": info.height, "fps": info.fps,
            "frames": info.frames, "duration_s": info.duration_s, "codec": info.codec, "audio": audio,
        });
        outln!(out, "{}", serde_json::to_string_pretty(&v)?);
        return Ok(out);
    }
    outln!(out, "{source}: video ({})", info.codec);
    let frames = info.frames.map_or("unknown".into(), |f| f.to_string());
    let duration = info
        .duration_s
        .map_or("live".into(), |d| format!("{d:.2} s"));
    outln!(
        out,
        "  {}x{} at {:.3} fps, {frames} frames, {duration}",
        info.width,
        info.height,
        info.fps
    );
    match &info.audio {
        Some(a) => outln!(
            out,
            "  audio track: {} Hz, {} channel(s), {}",
            a.sample_rate,
            a.channels,
            a.codec
        ),
        None => outln!(out, "  no audio track"),
    }
    Ok(out)
}

/// Audio header of each clip's sound and of the dataset's spare audio files.
struct DatasetAudio {
    clips: Vec<Option<AudioInfo>>,
    extra: Vec<(PathBuf, AudioInfo)>,
}

fn probe_dataset_audio(ds: &Dataset) -> Result<DatasetAudio> {
    let clips = ds
        .clips
        .iter()
        .map(|c| match &c.audio {
            Some(AudioSource::File(p)) => probe_audio(p)
                .map(Some)
                .with_context(|| format!("audio of clip {}", c.name)),
            Some(AudioSource::VideoTrack(p)) => Ok(track_info(p)),
            None => Ok(None),
        })
        .collect::<Result<_>>()?;
    let extra = ds
        .extra_audio
        .iter()
        .map(|p| Ok((p.clone(), probe_audio(p)?)))
        .collect::<Result<_>>()?;
    Ok(DatasetAudio { clips, extra })
}

/// A container's audio stream described like an audio file (its length is the video's).
fn track_info(path: &Path) -> Option<AudioInfo> {
    let info = probe_video(&path.to_string_lossy()).ok()?;
    let a = info.audio?;
    let duration_s = info.duration_s.unwrap_or(0.0);
    Some(AudioInfo {
        sample_rate: a.sample_rate,
        channels: a.channels,
        frames: (duration_s * f64::from(a.sample_rate)).round() as u64,
        duration_s,
        codec: a.codec,
        bits_per_sample: None,
    })
}

fn audio_line(a: &AudioInfo) -> String {
    let bits = a
        .bits_per_sample
        .map_or(String::new(), |b| format!(", {b}-bit"));
    format!(
        "{} Hz, {} channel(s){bits}, {}, {:.3} s ({} samples)",
        a.sample_rate, a.channels, a.codec, a.duration_s, a.frames
    )
}

fn audio_json(path: &Path, a: &AudioInfo) -> serde_json::Value {
    json!({
        "path": path, "sample_rate": a.sample_rate, "channels": a.channels, "frames": a.frames,
        "duration_s": a.duration_s, "codec": a.codec, "bits_per_sample": a.bits_per_sample,
    })
}

fn video_kind(c: &Clip) -> &'static str {
    match c.video {
        VideoSource::Frames(_) => "frame folder",
        VideoSource::File { .. } => "video file",
    }
}

fn print_dataset(ds: &Dataset, audio: &DatasetAudio, every_clip: bool) -> String {
    let mut out = String::new();
    outln!(out, "{}: {} dataset", ds.root.display(), ds.kind);
    for split in [Split::Train, Split::Test] {
        let clips: Vec<(&Clip, &Option<AudioInfo>)> = ds
            .clips
            .iter()
            .zip(&audio.clips)
            .filter(|(c, _)| c.split == split)
            .collect();
        if clips.is_empty() {
            continue;
        }
        let frames: usize = clips.iter().map(|(c, _)| c.frames()).sum();
        let labelled = clips.iter().filter(|(c, _)| c.labels.is_some()).count();
        let anomalous: usize = clips.iter().map(|(c, _)| c.anomalous_frames()).sum();
        let with_audio = clips.iter().filter(|(_, a)| a.is_some()).count();
        let with_masks = clips.iter().filter(|(c, _)| c.masks.is_some()).count();
        let name = if split == Split::Train {
            "train"
        } else {
            "test"
        };
        outln!(
            out,
            "{name}: {}, {}",
            count(clips.len(), "clip"),
            count(frames, "frame")
        );
        let mut sizes: Vec<String> = clips
            .iter()
            .map(|(c, _)| c.video.native_size().to_string())
            .collect();
        sizes.dedup();
        let mut rates: Vec<String> = clips.iter().map(|(c, _)| format!("{:.3}", c.fps)).collect();
        rates.dedup();
        outln!(
            out,
            "  frame size {}, {} fps",
            sizes.join("/"),
            rates.join("/")
        );
        if labelled > 0 {
            outln!(
                out,
                "  labels on {labelled} clips: {anomalous} anomalous frames, {} normal",
                clips
                    .iter()
                    .filter(|(c, _)| c.labels.is_some())
                    .map(|(c, _)| c.frames())
                    .sum::<usize>()
                    - anomalous
            );
        }
        if with_masks > 0 {
            outln!(out, "  pixel masks on {with_masks} clips");
        }
        if with_audio > 0 {
            outln!(out, "  audio on {with_audio} clips");
        }
        for (c, a) in clips {
            if every_clip || a.is_some() {
                let anomalies = c.labels.as_ref().map_or(String::new(), |_| {
                    format!(", {} anomalous", c.anomalous_frames())
                });
                outln!(
                    out,
                    "    {:<12} {} {} ({:.2} s){anomalies}",
                    c.name,
                    video_kind(c),
                    count(c.frames(), "frame"),
                    c.duration_s()
                );
                if let (Some(src), Some(a)) = (&c.audio, a) {
                    let offset = if c.audio_offset_s > 0.0 {
                        format!(" from {:.2} s", c.audio_offset_s)
                    } else {
                        String::new()
                    };
                    let delta = a.duration_s - c.duration_s() - c.audio_offset_s;
                    let fit = if delta > 0.02 {
                        format!("; {delta:.2} s longer than the video (tail ignored)")
                    } else if delta < -0.02 {
                        format!(
                            "; {:.2} s shorter than the video (padded with silence)",
                            -delta
                        )
                    } else {
                        String::new()
                    };
                    outln!(
                        out,
                        "      audio {}{offset}: {}{fit}",
                        file_name(src.path()),
                        audio_line(a)
                    );
                }
            }
        }
    }
    for (p, a) in &audio.extra {
        outln!(out, "unpaired audio {}: {}", file_name(p), audio_line(a));
    }
    let files = audio.clips.iter().flatten().count() + audio.extra.len();
    if files > 0 {
        outln!(out, "audio files: {files}");
    }
    out
}

fn file_name(p: &Path) -> String {
    p.file_name().map_or_else(
        || p.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn dataset_json(ds: &Dataset, audio: &DatasetAudio) -> serde_json::Value {
    let clips: Vec<_> = ds
        .clips
        .iter()
        .zip(&audio.clips)
        .map(|(c, a)| {
            json!({
                "name": c.name, "split": c.split, "source": video_kind(c), "path": c.video.path(),
                "frames": c.frames(), "fps": c.fps, "width": c.video.native_size().width,
                "height": c.video.native_size().height, "anomalous_frames": c.labels.as_ref().map(|_| c.anomalous_frames()),
                "masks": c.masks.is_some(), "audio": a.as_ref().map(|a| audio_json(c.audio.as_ref().map_or(Path::new(""), |s| s.path()), a)),
                "audio_offset_s": c.audio_offset_s,
            })
        })
        .collect();
    let totals = |split: Split| {
        let cs: Vec<&Clip> = ds.split(split).collect();
        json!({
            "clips": cs.len(), "frames": cs.iter().map(|c| c.frames()).sum::<usize>(),
            "anomalous_frames": cs.iter().map(|c| c.anomalous_frames()).sum::<usize>(),
        })
    };
    json!({
        "kind": ds.kind.to_string(), "root": ds.root, "train": totals(Split::Train), "test": totals(Split::Test),
        "clips": clips,
        "extra_audio": audio.extra.iter().map(|(p, a)| audio_json(p, a)).collect::<Vec<_>>(),
    })
}
