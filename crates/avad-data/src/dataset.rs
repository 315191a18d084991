//! What a dataset is once opened: clips with their video, audio, labels and masks.

use std::path::{Path, PathBuf};

use avad_media::frames::FrameFolder;
use avad_media::video::{probe_video, OpenOptions, VideoInfo, VideoReader};
use avad_media::{FrameSize, GrayFrame};

use crate::DataError;

use crate::labels::{FrameRange, MaskFolder};
use crate::Result;

/// Which part of a protocol a clip belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Normal footage to learn from.
    Train,
    /// Footage to score, usually labelled.
    Test,
}

/// Where a clip's pictures come from.
#[derive(Debug, Clone)]
pub enum VideoSource {
    /// A folder of image files, one per frame.
    Frames(FrameFolder),
    /// A video file (decoded through FFmpeg), optionally only a range of its
    /// frames (1-based, inclusive) when one file holds several clips (UMN).
    File {
        path: PathBuf,
        range: Option<FrameRange>,
        info: VideoInfo,
    },
}

impl VideoSource {
    pub fn path(&self) -> &Path {
        match self {
            VideoSource::Frames(f) => &f.dir,
            VideoSource::File { path, .. } => path,
        }
    }

    /// Opens a video file and reads its header (needs the `ffmpeg` feature).
    pub fn video_file(path: &Path, range: Option<FrameRange>) -> Result<Self> {
        let info = probe_video(&path.to_string_lossy())?;
        Ok(VideoSource::File {
            path: path.to_path_buf(),
            range,
            info,
        })
    }

    /// Frames in this source: counted for folders and ranges, as the container
    /// declares for files, else estimated from duration x fps.
    pub fn frame_count(&self) -> usize {
        match self {
            VideoSource::Frames(f) => f.len(),
            VideoSource::File { range: Some(r), .. } => r.end + 1 - r.start,
            VideoSource::File { info, .. } => match (info.frames, info.duration_s) {
                (Some(n), _) => n as usize,
                (None, Some(d)) => (d * info.fps).round() as usize,
                (None, None) => 0,
            },
        }
    }

    /// Decodes every frame of this source (only its range, for a file that holds several
    /// clips) as gray at `size`, values in [0, 1]. Video files need the `ffmpeg` feature.
    /// A file that ends before its range does is an error naming it.
    pub fn read_frames(&self, size: FrameSize) -> Result<Vec<GrayFrame>> {
        match self {
            VideoSource::Frames(folder) => Ok(folder.read_all(size)?),
            VideoSource::File { path, range, .. } => {
                let source = path.to_string_lossy();
                let mut reader = VideoReader::open(&source, size, &OpenOptions::default())?;
                // Ranges are 1-based and inclusive (labels.rs).
                let (first, last) = match range {
                    Some(r) => (r.start.saturating_sub(1), Some(r.end.saturating_sub(1))),
                    None => (0, None),
                };
                let mut frames = Vec::new();
                let mut index = 0usize;
                while let Some(timed) = reader.next_frame()? {
                    if index >= first && last.is_none_or(|l| index <= l) {
                        frames.push(timed.frame);
                    }
                    index += 1;
                    if last.is_some_and(|l| index > l) {
                        break;
                    }
                }
                if let Some(l) = last {
                    if index <= l {
                        return Err(DataError::invalid(
                            path,
                            format!(
                                "ends after {index} frames, before frame {} of its clip range",
                                l + 1
                            ),
                        ));
                    }
                }
                if frames.is_empty() {
                    return Err(DataError::invalid(path, "no video frames decoded"));
                }
                Ok(frames)
            }
        }
    }

    pub fn native_size(&self) -> FrameSize {
        match self {
            VideoSource::Frames(f) => f.native_size,
            VideoSource::File { info, .. } => FrameSize::new(info.width, info.height),
        }
    }
}

/// Where a clip's sound comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioSource {
    /// A separate audio file starting at the clip's first frame.
    File(PathBuf),
    /// The audio track of the clip's own video file.
    VideoTrack(PathBuf),
}

impl AudioSource {
    pub fn path(&self) -> &Path {
        match self {
            AudioSource::File(p) | AudioSource::VideoTrack(p) => p,
        }
    }
}

/// One recording: pictures, optional sound, optional ground truth.
#[derive(Debug, Clone)]
pub struct Clip {
    pub name: String,
    pub split: Split,
    pub video: VideoSource,
    pub fps: f64,
    pub audio: Option<AudioSource>,
    /// Per frame, true = anomalous.
    pub labels: Option<Vec<bool>>,
    pub masks: Option<MaskFolder>,
    /// Where the clip's first frame falls in its audio (non-zero when one
    /// recording holds several clips, as in UMN).
    pub audio_offset_s: f64,
}

impl Clip {
    pub fn frames(&self) -> usize {
        self.video.frame_count()
    }

    pub fn duration_s(&self) -> f64 {
        self.frames() as f64 / self.fps
    }

    pub fn anomalous_frames(&self) -> usize {
        self.labels
            .as_ref()
            .map_or(0, |l| l.iter().filter(|&&a| a).count())
    }

    /// The clip's name with its split, `train/NAME` or `test/NAME`: unique within a
    /// dataset even where a training and a test clip share a name.
    pub fn id(&self) -> String {
        match self.split {
            Split::Train => format!("train/{}", self.name),
            Split::Test => format!("test/{}", self.name),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum DatasetKind {
    UcsdPed2,
    Umn,
    /// A user's own layout (see [`crate::generic`]).
    Generic,
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DatasetKind::UcsdPed2 => "UCSD Ped2",
            DatasetKind::Umn => "UMN",
            DatasetKind::Generic => "generic clip folder",
        })
    }
}

/// An opened dataset. Clips are in protocol order (train clips, then test clips).
#[derive(Debug, Clone)]
pub struct Dataset {
    pub kind: DatasetKind,
    pub root: PathBuf,
    pub clips: Vec<Clip>,
    /// Audio files that belong to the dataset but to no clip (Ped2's alternative
    /// mix `P2Te4Good.wav`).
    pub extra_audio: Vec<PathBuf>,
}

impl Dataset {
    pub fn split(&self, split: Split) -> impl Iterator<Item = &Clip> {
        self.clips.iter().filter(move |c| c.split == split)
    }

    pub fn clip(&self, name: &str) -> Option<&Clip> {
        self.clips.iter().find(|c| c.name == name)
    }
}

/// How a clip's audio lines up with its frames. Audio starts with frame 1;
/// audio past the last frame is dropped and frames past the end of the audio
/// hear digital silence (see [`align_audio`]).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AudioAlignment {
    pub video_s: f64,
    pub audio_s: f64,
}

impl AudioAlignment {
    /// Seconds of audio after the last frame (dropped).
    pub fn extra_audio_s(&self) -> f64 {
        (self.audio_s - self.video_s).max(0.0)
    }

    /// Seconds of video with no audio (filled with silence).
    pub fn missing_audio_s(&self) -> f64 {
        (self.video_s - self.audio_s).max(0.0)
    }
}

/// Cuts or pads mono audio at `sample_rate` to exactly the span of `frames`
/// frames at `fps`: the explicit policy for audio longer or shorter than its video.
pub fn align_audio(
    samples: &[f32],
    sample_rate: u32,
    frames: usize,
    fps: f64,
) -> (Vec<f32>, AudioAlignment) {
    let video_s = frames as f64 / fps;
    let want = (video_s * f64::from(sample_rate)).round() as usize;
    let mut out: Vec<f32> = samples.iter().copied().take(want).collect();
    out.resize(want, 0.0);
    (
        out,
        AudioAlignment {
            video_s,
            audio_s: samples.len() as f64 / f64::from(sample_rate),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_longer_than_video_is_cut_shorter_is_padded() {
        // Ped2 Test010: 150 frames (6.0 s at 25 fps) with 7.0 s of audio.
        let long = vec![0.5f32; 7 * 100];
        let (cut, a) = align_audio(&long, 100, 150, 25.0);
        assert_eq!(cut.len(), 600);
        assert!((a.extra_audio_s() - 1.0).abs() < 1e-12 && a.missing_audio_s() == 0.0);
        let short = vec![0.5f32; 250];
        let (padded, a) = align_audio(&short, 100, 150, 25.0);
        assert_eq!(padded.len(), 600);
        assert_eq!(padded[249], 0.5);
        assert_eq!(padded[250], 0.0);
        assert!((a.missing_audio_s() - 3.5).abs() < 1e-12);
    }
}
