//! The backend without the `ffmpeg` feature: every source asks for it.

use std::path::Path;

use super::{AudioChunk, OpenOptions, TimedFrame, VideoInfo};
use crate::audio::DecodedAudio;
use crate::{FrameSize, MediaError, Result};

fn needs_ffmpeg(source: &str, what: &str) -> MediaError {
    MediaError::NeedsFfmpeg {
        path: Path::new(source).to_path_buf(),
        what: what.to_string(),
    }
}

fn kind(source: &str) -> &'static str {
    if super::is_stream_url(source) {
        "reading a live stream"
    } else {
        "reading a video file"
    }
}

pub fn probe_video(source: &str, _options: &OpenOptions) -> Result<VideoInfo> {
    Err(needs_ffmpeg(source, kind(source)))
}

pub fn decode_audio_track(source: &str, _options: &OpenOptions) -> Result<DecodedAudio> {
    Err(needs_ffmpeg(source, "decoding the audio track of a video"))
}

/// Uninhabited: without FFmpeg no reader can be opened.
pub enum Reader {}

impl Reader {
    pub fn open(source: &str, _size: FrameSize, _options: &OpenOptions) -> Result<Self> {
        Err(needs_ffmpeg(source, kind(source)))
    }

    pub fn info(&self) -> &VideoInfo {
        match *self {}
    }

    pub fn next_frame(&mut self) -> Result<Option<TimedFrame>> {
        match *self {}
    }

    pub fn missing_frames(&self) -> Option<u64> {
        match *self {}
    }

    pub fn take_audio(&mut self) -> Option<AudioChunk> {
        match *self {}
    }

    pub fn skipped_packets(&self) -> u64 {
        match *self {}
    }

    pub fn damaged_frames(&self) -> u64 {
        match *self {}
    }
}
