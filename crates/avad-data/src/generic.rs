//! A user's own cameras: a folder of clips.
//!
//! ```text
//! site/
//!   train/                 normal recordings (optional)
//!   test/                  recordings to score (optional)
//!   <clip>/                a clip as a folder:
//!     000001.png ...         its frames (tif/tiff/png/jpg/jpeg/bmp), or one video file
//!     audio.wav              optional: its sound from the first frame on (any one audio file)
//!     labels.csv             optional: `frame,label` rows, or `start,end` anomalous ranges
//!     masks/                 optional: one mask image per frame, non-zero = anomalous
//!     clip.toml              optional: `fps = 25.0` (default 25; from 1 to 1000)
//!   <clip>.mp4             a clip as a video file (needs the `ffmpeg` feature), with
//!   <clip>.wav               optional sound (else the video's own audio track) and
//!   <clip>.labels.csv        optional labels beside it
//! ```
//!
//! Without `train/` and `test/`, the clips directly under `site/` are test
//! clips. A single clip folder or video file given on its own is a dataset of
//! one test clip.

use std::path::{Path, PathBuf};

use avad_media::frames::{list_frames, FrameFolder, IMAGE_EXTENSIONS};
use avad_media::video::is_video_path;

use crate::dataset::{AudioSource, Clip, Dataset, DatasetKind, Split, VideoSource};
use crate::labels::{read_labels_csv, MaskFolder};
use crate::ped2::dir_name;
use crate::{DataError, Result};

/// Frame rate of frame folders that do not say otherwise.
pub const DEFAULT_FPS: f64 = 25.0;

pub const AUDIO_EXTENSIONS: [&str; 8] = ["wav", "flac", "mp3", "ogg", "oga", "m4a", "aac", "opus"];

/// Whether `p`'s extension is one of `exts` (any case), whatever `p` is.
fn ext_in(p: &Path, exts: &[&str]) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| exts.contains(&e.to_ascii_lowercase().as_str()))
}

fn has_ext(p: &Path, exts: &[&str]) -> bool {
    p.is_file() && ext_in(p, exts)
}

pub fn is_audio_path(p: &Path) -> bool {
    has_ext(p, &AUDIO_EXTENSIONS)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        out.push(entry.map_err(|e| DataError::io(dir, e))?.path());
    }
    out.sort_by(|a, b| avad_media::frames::natural_cmp(&dir_name(a), &dir_name(b)));
    Ok(out)
}

fn is_frame_folder(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .is_ok_and(|mut it| it.any(|e| e.is_ok_and(|e| has_ext(&e.path(), &IMAGE_EXTENSIONS))))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClipToml {
    fps: Option<f64>,
}

/// The frame rates a clip may have (its `clip.toml`'s, or its video file's): from one frame
/// a second (a slower camera's clip would stand for hours of sound per few frames) to
/// 1000, the most `avad watch --fps` takes too.
pub const FPS_RANGE: std::ops::RangeInclusive<f64> = 1.0..=1000.0;

/// A video file's declared frame rate, if it is one a clip may have.
fn declared_fps(fps: f64, path: &Path) -> Result<f64> {
    if FPS_RANGE.contains(&fps) {
        return Ok(fps);
    }
    Err(DataError::invalid(
        path,
        format!(
            "the video declares {fps} fps, outside {} to {}; put it in a clip folder with a clip.toml that gives its fps",
            FPS_RANGE.start(),
            FPS_RANGE.end()
        ),
    ))
}

fn read_fps(path: &Path) -> Result<f64> {
    if !path.is_file() {
        return Ok(DEFAULT_FPS);
    }
    let text = crate::error::read_text(path)?;
    let parsed: ClipToml = toml::from_str(&text)
        .map_err(|e| DataError::invalid(path, crate::toml_reason(&text, &e)))?;
    match parsed.fps {
        None => Ok(DEFAULT_FPS),
        Some(f) if FPS_RANGE.contains(&f) => Ok(f),
        Some(f) => Err(DataError::invalid(
            path,
            format!(
                "fps must be from {} to {}, not {f}",
                FPS_RANGE.start(),
                FPS_RANGE.end()
            ),
        )),
    }
}

/// A clip folder's extras must be what their names say: a folder named `labels.csv` or
/// `audio.wav`, or a file named `masks`, would otherwise be passed over in silence.
fn check_entry_kinds(dir: &Path, entries: &[PathBuf]) -> Result<()> {
    for name in ["labels.csv", "clip.toml"] {
        let p = dir.join(name);
        if p.exists() && !p.is_file() {
            return Err(DataError::invalid(&p, "is a folder, not a file"));
        }
    }
    let masks = dir.join("masks");
    if masks.exists() && !masks.is_dir() {
        return Err(DataError::invalid(
            &masks,
            "is a file, not a folder of masks",
        ));
    }
    if let Some(p) = entries
        .iter()
        .find(|p| p.is_dir() && ext_in(p, &AUDIO_EXTENSIONS))
    {
        return Err(DataError::invalid(p, "is a folder, not an audio file"));
    }
    Ok(())
}

/// A clip stored as a folder (frames or one video file, plus extras).
pub fn clip_from_folder(dir: &Path, split: Split) -> Result<Clip> {
    let entries = sorted_entries(dir)?;
    check_entry_kinds(dir, &entries)?;
    let fps = read_fps(&dir.join("clip.toml"))?;
    let videos: Vec<&PathBuf> = entries
        .iter()
        .filter(|p| p.is_file() && is_video_path(p))
        .collect();
    let video = if is_frame_folder(dir) {
        VideoSource::Frames(FrameFolder::open(dir)?)
    } else if let [one] = videos.as_slice() {
        VideoSource::video_file(one, None)?
    } else if videos.len() > 1 {
        return Err(DataError::invalid(
            dir,
            "a clip folder must hold frames or exactly one video file, not several",
        ));
    } else {
        list_frames(dir)?; // names the problem: no frames
        return Err(DataError::invalid(dir, "no frames or video file"));
    };
    let fps = match &video {
        VideoSource::File { info, .. } if !dir.join("clip.toml").is_file() && info.fps > 0.0 => {
            declared_fps(info.fps, dir)?
        }
        _ => fps,
    };
    let audio_files: Vec<&PathBuf> = entries.iter().filter(|p| is_audio_path(p)).collect();
    let audio = match audio_files.as_slice() {
        [] => video_track(&video),
        [one] => Some(AudioSource::File((*one).clone())),
        _ => {
            return Err(DataError::invalid(
                dir,
                format!(
                    "{} audio files: a clip folder holds at most one",
                    audio_files.len()
                ),
            ))
        }
    };
    let frames = video.frame_count();
    let labels_path = dir.join("labels.csv");
    let labels = labels_path
        .is_file()
        .then(|| read_labels_csv(&labels_path, Some(frames)))
        .transpose()?;
    let masks_dir = dir.join("masks");
    let masks = if masks_dir.is_dir() {
        let m = MaskFolder::open(&masks_dir)?;
        if m.files.len() != frames {
            return Err(DataError::invalid(
                &masks_dir,
                format!("{} masks for {frames} frames", m.files.len()),
            ));
        }
        Some(m)
    } else {
        None
    };
    Ok(Clip {
        name: clip_name(dir.file_name(), dir)?,
        split,
        video,
        fps,
        audio,
        labels,
        masks,
        audio_offset_s: 0.0,
    })
}

fn video_track(video: &VideoSource) -> Option<AudioSource> {
    match video {
        VideoSource::File { path, info, .. } if info.audio.is_some() => {
            Some(AudioSource::VideoTrack(path.clone()))
        }
        _ => None,
    }
}

/// A clip's name (its folder's, or its video file's stem), which must be UTF-8 text: names
/// are the keys of scores, plots and folds, and two names that differ only in bytes that
/// are not text would become one.
fn clip_name(name: Option<&std::ffi::OsStr>, path: &Path) -> Result<String> {
    match name.map(|n| n.to_str()) {
        Some(Some(n)) => Ok(n.to_string()),
        Some(None) => Err(DataError::invalid(path, "a clip's name must be UTF-8 text")),
        None => Err(DataError::invalid(path, "no name to give the clip")),
    }
}

/// A clip stored as a bare video file with optional `<stem>.<audio ext>` and
/// `<stem>.labels.csv` beside it.
pub fn clip_from_video_file(path: &Path, split: Split) -> Result<Clip> {
    let video = VideoSource::video_file(path, None)?;
    let stem = clip_name(path.file_stem(), path)?;
    let parent = path.parent().unwrap_or(Path::new("."));
    let audio = AUDIO_EXTENSIONS
        .iter()
        .map(|e| parent.join(format!("{stem}.{e}")))
        .find(|p| p.is_file())
        .map(AudioSource::File)
        .or_else(|| video_track(&video));
    let labels_path = parent.join(format!("{stem}.labels.csv"));
    let labels = labels_path
        .is_file()
        .then(|| read_labels_csv(&labels_path, Some(video.frame_count())))
        .transpose()?;
    let fps = match &video {
        VideoSource::File { info, .. } if info.fps > 0.0 => declared_fps(info.fps, path)?,
        _ => DEFAULT_FPS,
    };
    Ok(Clip {
        name: stem,
        split,
        video,
        fps,
        audio,
        labels,
        masks: None,
        audio_offset_s: 0.0,
    })
}

fn clips_in(dir: &Path, split: Split) -> Result<Vec<Clip>> {
    let mut clips = Vec::new();
    for p in sorted_entries(dir)? {
        if p.is_dir() {
            if dir_name(&p).starts_with('.') {
                continue;
            }
            clips.push(clip_from_folder(&p, split)?);
        } else if is_video_path(&p) {
            clips.push(clip_from_video_file(&p, split)?);
        }
    }
    Ok(clips)
}

pub fn open(path: &Path) -> Result<Dataset> {
    let one = |clip: Clip| Dataset {
        kind: DatasetKind::Generic,
        root: path.to_path_buf(),
        clips: vec![clip],
        extra_audio: Vec::new(),
    };
    if path.is_file() {
        if is_video_path(path) {
            return Ok(one(clip_from_video_file(path, Split::Test)?));
        }
        return Err(DataError::invalid(
            path,
            "not a dataset folder, frame folder or video file",
        ));
    }
    if is_frame_folder(path) {
        return Ok(one(clip_from_folder(path, Split::Test)?));
    }
    let (train, test) = (path.join("train"), path.join("test"));
    let mut clips = Vec::new();
    if train.is_dir() || test.is_dir() {
        if train.is_dir() {
            clips.extend(clips_in(&train, Split::Train)?);
        }
        if test.is_dir() {
            clips.extend(clips_in(&test, Split::Test)?);
        }
    } else {
        clips = clips_in(path, Split::Test)?;
    }
    if clips.is_empty() {
        return Err(DataError::invalid(
            path,
            "no clips: expected frame folders or video files (the layout is in the README, under Datasets)",
        ));
    }
    Ok(Dataset {
        kind: DatasetKind::Generic,
        root: path.to_path_buf(),
        clips,
        extra_audio: Vec::new(),
    })
}
