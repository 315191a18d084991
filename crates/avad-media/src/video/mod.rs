//! Video files and live streams through FFmpeg (feature `ffmpeg`).
//!
//! Frames leave here the way the model reads them (§3.2 of the paper): gray,
//! resized to the model size, `[0, 1]` f32. One swscale context converts the
//! decoder's pixel format and size straight to GRAY8 at that size with
//! `SWS_AREA` (a box average when shrinking, like OpenCV's `INTER_AREA`, so a
//! 320x240 → 240x240 reduction does not alias; swscale falls back to bilinear
//! weights when enlarging). Luma is expanded to full range on the way
//! (limited-range 16..235 video becomes 0..255), so black is 0 and white is 1
//! as they are for image frame folders.
//!
//! Without the `ffmpeg` feature every function that opens a source returns
//! [`MediaError::NeedsFfmpeg`](crate::MediaError::NeedsFfmpeg); [`is_video_path`] and [`is_stream_url`] work in
//! every build so that callers can route inputs and explain what is missing.
//!
//! Truncated files: a container FFmpeg cannot open (an MP4 cut before its
//! `moov` index, a file that is not video at all) is an error; a container
//! that opens is decoded as far as its data goes, and reading fails only if no
//! frame at all decodes. [`VideoReader::missing_frames`] then tells the caller
//! how far short of the container's own frame count the decode fell.
//!
//! Stalls: every open and every packet read has a deadline
//! ([`OpenOptions::timeout`]) enforced by an FFmpeg interrupt callback, which
//! all of FFmpeg's network protocols poll while they wait; a stream that stops
//! sending fails with an error instead of blocking forever.

use std::path::Path;
use std::time::Duration;

use crate::audio::DecodedAudio;
use crate::{FrameSize, GrayFrame, Result};

mod clock;
#[cfg(feature = "ffmpeg")]
mod ffmpeg;
mod reader;
#[cfg(not(feature = "ffmpeg"))]
mod stub;
#[cfg(test)]
mod tests;

#[cfg(feature = "ffmpeg")]
use ffmpeg as backend;
#[cfg(not(feature = "ffmpeg"))]
use stub as backend;

pub use clock::{settle_clock, SETTLE_FRAMES};
pub use reader::VideoReader;

/// Extensions of the containers FFmpeg reads that are routed here rather than
/// to the audio or frame-folder decoders.
const VIDEO_EXTENSIONS: [&str; 11] = [
    "mp4", "avi", "mkv", "mov", "webm", "m4v", "mpg", "mpeg", "ts", "flv", "wmv",
];

const STREAM_SCHEMES: [&str; 8] = [
    "rtsp://", "rtsps://", "http://", "https://", "udp://", "rtp://", "srt://", "tcp://",
];

/// True when the path's extension names a video container (case-insensitive).
pub fn is_video_path(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

/// True when `s` is a URL of a network source FFmpeg can read live.
pub fn is_stream_url(s: &str) -> bool {
    STREAM_SCHEMES.iter().any(|scheme| {
        s.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

/// What a container says about its video (and first audio) stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Coded size of the video stream, before any resizing.
    pub width: u32,
    pub height: u32,
    /// Average frame rate, else FFmpeg's guess of the base rate; 0 when neither is known.
    pub fps: f64,
    /// Frame count as the container states it (MP4, AVI); `None` where the
    /// container does not store one (MKV, MPEG-TS, live streams). Not estimated.
    pub frames: Option<u64>,
    /// Duration of the video stream, else of the container; `None` for live streams.
    pub duration_s: Option<f64>,
    /// FFmpeg's codec name (`h264`, `mjpeg`, `mpeg4`…).
    pub codec: String,
    /// The stream FFmpeg ranks best among the audio streams, if any.
    pub audio: Option<AudioStreamInfo>,
}

/// An audio stream inside a video container.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioStreamInfo {
    pub sample_rate: u32,
    pub channels: u16,
    /// FFmpeg's codec name (`aac`, `pcm_s16le`, `opus`…).
    pub codec: String,
}

/// One decoded frame with its position in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedFrame {
    /// 0-based count of frames delivered by this reader.
    pub index: u64,
    /// Presentation time in seconds since the start of the stream (the stream's
    /// start time, or the first frame's for streams that do not declare one);
    /// `index / fps` for frames that carry no timestamp.
    pub pts_s: f64,
    pub frame: GrayFrame,
    /// The same picture at [`OpenOptions::second_size`], when one was asked for.
    pub second: Option<GrayFrame>,
}

/// How to open a source.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOptions {
    /// Longest wait for the source to open and for each packet after that;
    /// a stalled or unreachable stream fails after this long.
    pub timeout: Duration,
    /// RTSP only: carry the media over the RTSP TCP connection rather than
    /// UDP, which passes firewalls and NAT and loses no packets.
    pub rtsp_over_tcp: bool,
    /// Decoder threads; 0 lets FFmpeg choose from the core count.
    pub decoder_threads: usize,
    /// Also decode the best audio stream, as it arrives between the frames
    /// ([`VideoReader::take_audio`]); a source without one just has no audio.
    pub audio: bool,
    /// RTSP only: wait for an encoder or camera to push the stream to this URL
    /// (FFmpeg's `rtsp_flags=listen`) instead of connecting to a server.
    pub rtsp_listen: bool,
    /// Also deliver each frame at this size ([`TimedFrame::second`]), resized from the same
    /// decoded picture.
    pub second_size: Option<FrameSize>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            timeout: Duration::from_secs(10),
            rtsp_over_tcp: true,
            decoder_threads: 0,
            audio: false,
            rtsp_listen: false,
            second_size: None,
        }
    }
}

/// Audio decoded from a video's own track, interleaved f32 at the track's rate.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    /// Time of the first sample, seconds on the video's clock (the same origin as
    /// [`TimedFrame::pts_s`]); the samples after it follow without gaps.
    pub start_s: f64,
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

/// Reads the container header (and, for streams, enough packets to know the
/// codecs) without decoding frames.
pub fn probe_video(source: &str) -> Result<VideoInfo> {
    backend::probe_video(source, &OpenOptions::default())
}

/// Decodes the best audio stream of a container to interleaved f32 at its
/// native sample rate and channel count (the caller resamples and downmixes).
/// Integer PCM is scaled by `1 / 2^(bits-1)`, as libsndfile does.
pub fn decode_audio_track(source: &str) -> Result<DecodedAudio> {
    backend::decode_audio_track(source, &OpenOptions::default())
}
