//! [`VideoReader`]: the backend's frames, with a live stream's clock settled.

use super::backend;
use super::{
    is_stream_url, settle_clock, AudioChunk, OpenOptions, TimedFrame, VideoInfo, SETTLE_FRAMES,
};
use crate::Result;

/// Sequential reader of a video file or live stream, decoding to model-size gray frames.
pub struct VideoReader {
    inner: backend::Reader,
    /// Live streams: the first frames, decoded and held until the clock is settled
    /// ([`settle_clock`]); the sound waits for it too.
    held: std::collections::VecDeque<TimedFrame>,
    settled: bool,
    /// An error that came while frames were held: reported after them.
    held_error: Option<crate::MediaError>,
    /// Seconds subtracted from every time of the stream once settled.
    shift_s: f64,
}

impl VideoReader {
    /// Opens `source` (a path or a URL) and prepares to deliver frames of `size`.
    pub fn open(source: &str, size: crate::FrameSize, options: &OpenOptions) -> Result<Self> {
        Ok(VideoReader {
            inner: backend::Reader::open(source, size, options)?,
            held: std::collections::VecDeque::new(),
            settled: !is_stream_url(source),
            held_error: None,
            shift_s: 0.0,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        self.inner.info()
    }

    /// The next frame, `Ok(None)` at the end of the source. Fails if the source
    /// ends before a single frame decodes, or if a stream stalls past the timeout.
    /// A live stream's first frame comes once [`SETTLE_FRAMES`] have decoded.
    pub fn next_frame(&mut self) -> Result<Option<TimedFrame>> {
        if !self.settled {
            self.settle()?;
        }
        if let Some(frame) = self.held.pop_front() {
            return Ok(Some(frame));
        }
        if let Some(e) = self.held_error.take() {
            return Err(e);
        }
        Ok(self.inner.next_frame()?.map(|mut f| {
            f.pts_s -= self.shift_s;
            f
        }))
    }

    fn settle(&mut self) -> Result<()> {
        self.settled = true;
        while self.held.len() < SETTLE_FRAMES {
            match self.inner.next_frame() {
                Ok(Some(frame)) => self.held.push_back(frame),
                Ok(None) => break,
                Err(e) if self.held.is_empty() => return Err(e),
                Err(e) => {
                    self.held_error = Some(e);
                    break;
                }
            }
        }
        let fps = self.inner.info().fps;
        let times: Vec<f64> = self.held.iter().map(|f| f.pts_s).collect();
        let (shift, fixed) = settle_clock(&times, if fps > 0.0 { 1.0 / fps } else { 0.0 });
        self.shift_s = shift;
        for (frame, t) in self.held.iter_mut().zip(fixed) {
            frame.pts_s = t;
        }
        Ok(())
    }

    /// The audio decoded since the last call (with [`OpenOptions::audio`]), `None`
    /// when there is none yet. Audio is decoded as its packets arrive, interleaved
    /// with the video's, so a caller that takes it after every frame holds the
    /// sound up to about that frame's time. A live stream's sound is held until its
    /// clock is settled ([`Self::next_frame`]).
    pub fn take_audio(&mut self) -> Option<AudioChunk> {
        if !self.settled {
            return None;
        }
        self.inner.take_audio().map(|mut chunk| {
            chunk.start_s -= self.shift_s;
            chunk
        })
    }

    /// Packets the demuxer or a decoder rejected as corrupt and skipped.
    pub fn skipped_packets(&self) -> u64 {
        self.inner.skipped_packets()
    }

    /// Frames delivered that the decoder flagged as damaged (concealed errors).
    pub fn damaged_frames(&self) -> u64 {
        self.inner.damaged_frames()
    }

    /// Once the end has been reached: how many fewer frames were delivered than
    /// the container declared (0 when complete); a truncated file shows here.
    /// `None` before the end or when the container declares no frame count.
    pub fn missing_frames(&self) -> Option<u64> {
        self.inner.missing_frames()
    }
}

/// Frames until the end of the source; stops after the first error.
impl Iterator for VideoReader {
    type Item = Result<TimedFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

impl std::fmt::Debug for VideoReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoReader")
            .field("info", self.info())
            .finish_non_exhaustive()
    }
}
