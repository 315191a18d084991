//! UMN crowd activity (unusual crowd behaviour) as one recording cut into clips:
//!
//! ```text
//! umn/
//!   <video>.avi            the whole recording, one video file (or a `frames/` folder)
//!   labels.csv             `frame,label` per frame, or `start,end` anomalous ranges,
//!                          frame numbers 1-based over the whole recording
//!   clips.csv              `clip,start,end[,scene]`: each clip's 1-based inclusive
//!                          frame range in the recording (and optionally its scene)
//!   audio.wav              optional: sound for the whole recording (else the video's track)
//! ```
//!
//! Every clip is a test clip: UMN has no separate normal footage. The audio model
//! trains leave-one-clip-out on the normal frames of the clips other than the one
//! scored; the visual model needs normal footage of the scene from elsewhere.

use std::path::{Path, PathBuf};

use avad_media::frames::FrameFolder;
use avad_media::video::is_video_path;

use crate::dataset::{AudioSource, Clip, Dataset, DatasetKind, Split, VideoSource};
use crate::error::read_text;
use crate::generic::{is_audio_path, DEFAULT_FPS};
use crate::labels::{read_labels_csv, FrameRange};
use crate::{DataError, Result};

/// A folder is UMN-shaped when it has `clips.csv` and `labels.csv`.
pub fn is_umn(dir: &Path) -> bool {
    dir.join("clips.csv").is_file() && dir.join("labels.csv").is_file()
}

/// One row of `clips.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipSpan {
    pub name: String,
    pub range: FrameRange,
    pub scene: Option<String>,
}

pub fn read_clips_csv(path: &Path) -> Result<Vec<ClipSpan>> {
    let text = read_text(path)?;
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    match lines.next() {
        Some((_, h))
            if h.replace(' ', "")
                .to_ascii_lowercase()
                .starts_with("clip,start,end") => {}
        _ => {
            return Err(DataError::invalid(
                path,
                "expected the header `clip,start,end[,scene]`",
            ))
        }
    }
    let mut spans: Vec<ClipSpan> = Vec::new();
    for (n, line) in lines {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = |why: &str| DataError::invalid(path, format!("line {}: {why}: {line:?}", n + 1));
        if f.len() < 3 || f[0].is_empty() {
            return Err(bad("expected clip,start,end"));
        }
        let num = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| bad("start and end must be 1-based frame numbers"))
        };
        let range = FrameRange {
            start: num(f[1])?,
            end: num(f[2])?,
        };
        if range.start == 0 || range.end < range.start {
            return Err(bad("a clip needs 1 <= start <= end"));
        }
        if let Some(prev) = spans.last() {
            if range.start <= prev.range.end {
                return Err(bad("clips must be in order and must not overlap"));
            }
        }
        spans.push(ClipSpan {
            name: f[0].to_string(),
            range,
            scene: f.get(3).map(|s| s.to_string()),
        });
    }
    if spans.is_empty() {
        return Err(DataError::invalid(path, "no clips listed"));
    }
    Ok(spans)
}

fn single(dir: &Path, what: &str, pick: impl Fn(&Path) -> bool) -> Result<Option<PathBuf>> {
    let mut found = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let p = e.map_err(|e| DataError::io(dir, e))?.path();
        if p.is_file() && pick(&p) {
            found.push(p);
        }
    }
    match found.len() {
        0 | 1 => Ok(found.pop()),
        n => Err(DataError::invalid(
            dir,
            format!("{n} {what} files: a UMN folder holds one"),
        )),
    }
}

pub fn open(dir: &Path) -> Result<Dataset> {
    let frames_dir = dir.join("frames");
    let (video_path, whole) = if frames_dir.is_dir() {
        (
            frames_dir.clone(),
            VideoSource::Frames(FrameFolder::open(&frames_dir)?),
        )
    } else {
        let v = single(dir, "video", is_video_path)?.ok_or_else(|| {
            DataError::invalid(
                dir,
                "no video file (or `frames/` folder) for the UMN recording",
            )
        })?;
        (v.clone(), VideoSource::video_file(&v, None)?)
    };
    let total = whole.frame_count();
    let fps = match &whole {
        VideoSource::File { info, .. } if info.fps > 0.0 => info.fps,
        _ => DEFAULT_FPS,
    };
    let labels = read_labels_csv(&dir.join("labels.csv"), Some(total))?;
    let clips_path = dir.join("clips.csv");
    let spans = read_clips_csv(&clips_path)?;
    let audio = match single(dir, "audio", is_audio_path)? {
        Some(a) => Some(AudioSource::File(a)),
        None => match &whole {
            VideoSource::File { info, .. } if info.audio.is_some() => {
                Some(AudioSource::VideoTrack(video_path.clone()))
            }
            _ => None,
        },
    };
    let mut clips = Vec::new();
    for span in spans {
        if span.range.end > total {
            return Err(DataError::invalid(
                &clips_path,
                format!(
                    "clip {} ends at frame {} but the recording has {total}",
                    span.name, span.range.end
                ),
            ));
        }
        let video = match &whole {
            VideoSource::Frames(f) => {
                let mut part = f.clone();
                part.files = f.files[span.range.start - 1..span.range.end].to_vec();
                VideoSource::Frames(part)
            }
            VideoSource::File { path, info, .. } => VideoSource::File {
                path: path.clone(),
                range: Some(span.range),
                info: info.clone(),
            },
        };
        clips.push(Clip {
            name: span.name,
            split: Split::Test,
            video,
            fps,
            audio: audio.clone(),
            labels: Some(labels[span.range.start - 1..span.range.end].to_vec()),
            masks: None,
            audio_offset_s: (span.range.start - 1) as f64 / fps,
        });
    }
    Ok(Dataset {
        kind: DatasetKind::Umn,
        root: dir.to_path_buf(),
        clips,
        extra_audio: Vec::new(),
    })
}
