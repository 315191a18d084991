//! Opening what a watch reads: a frame folder (with a sound file), a video file or a
//! stream URL, as a [`FrameSource`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use avad_media::source::{FolderSource, FrameSource, VideoSource};
use avad_media::video::{is_stream_url, is_video_path, OpenOptions};
use avad_media::FrameSize;

use crate::error::{Error, Result, SoundMismatch};

/// Where a watch reads from, and how.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    /// A frame folder (one clip), a video file or a stream URL.
    pub source: String,
    /// The sound of a frame folder (a video or a stream carries its own).
    pub sound: Option<PathBuf>,
    /// The frame rate of a frame folder, and of a source that declares none.
    pub fps: f64,
    /// How long a stream may deliver nothing before it counts as dropped.
    pub stall_timeout: Duration,
    /// An `rtsp://` URL is listened on (the camera pushes) rather than pulled.
    pub rtsp_listen: bool,
}

impl SourceSpec {
    /// `source` at 25 frames/s, without a separate sound file.
    pub fn new(source: &str) -> Self {
        SourceSpec {
            source: source.to_string(),
            sound: None,
            fps: 25.0,
            stall_timeout: Duration::from_secs(10),
            rtsp_listen: false,
        }
    }

    /// Whether the source is a stream URL (reopened when it drops).
    pub fn is_live(&self) -> bool {
        is_stream_url(&self.source)
    }
}

/// Opens `spec` with frames at `size` (and each also at `second`, when given: the
/// speed score's size, [`crate::Detector::speed_frame_size`]), and with its sound when
/// `want_audio`.
pub fn open_source(
    spec: &SourceSpec,
    size: FrameSize,
    second: Option<FrameSize>,
    want_audio: bool,
) -> Result<Box<dyn FrameSource>> {
    let source = spec.source.as_str();
    let path = Path::new(source);
    let refuse = |reason: &str| Error::Unsupported {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if path.is_dir() {
        // The layouts a dataset has: Ped2, UMN, a generic train/ test/ folder.
        if avad_data::ped2::find_ucsd_dir(path).is_some()
            || avad_data::umn::is_umn(path)
            || ["train", "test"].iter().any(|d| path.join(d).is_dir())
        {
            return Err(refuse(
                "a dataset, not one clip; watch one of its clip folders",
            ));
        }
        let mismatch = |path: &Path, mismatch| Error::Sound {
            path: path.to_path_buf(),
            mismatch,
        };
        let sound = match (&spec.sound, want_audio) {
            (Some(sound), true) => Some(sound.as_path()),
            (None, true) => return Err(mismatch(path, SoundMismatch::FolderWithoutSound)),
            (Some(sound), false) => {
                return Err(mismatch(sound, SoundMismatch::SoundWithoutAudioModel))
            }
            (None, false) => None,
        };
        return Ok(Box::new(FolderSource::open_sizes(
            path, size, second, spec.fps, sound,
        )?));
    }
    if !is_stream_url(source) && !path.exists() {
        return Err(Error::Missing {
            path: path.to_path_buf(),
        });
    }
    if spec.sound.is_some() {
        return Err(Error::Sound {
            path: path.to_path_buf(),
            mismatch: SoundMismatch::SoundForVideo,
        });
    }
    if is_stream_url(source) || is_video_path(path) {
        let options = OpenOptions {
            timeout: spec.stall_timeout.max(Duration::from_millis(100)),
            audio: want_audio,
            rtsp_listen: spec.rtsp_listen,
            second_size: second,
            ..OpenOptions::default()
        };
        let video = VideoSource::open(source, size, &options)?;
        if want_audio && video.info().audio.is_none() {
            return Err(refuse("has no audio stream for the audio model"));
        }
        return Ok(Box::new(video));
    }
    Err(refuse("not a frame folder, a video file or a stream URL"))
}
