//! The FFmpeg reader: packets in, model-size gray frames (and the audio beside them) out.

use ff::ffi;
use ff::format::context::Input;
use ff::media::Type as MediaType;
use ffmpeg_next as ff;

use super::audio::AudioTrack;
use super::scaler::{is_full_range, GrayScaler};
use super::{
    err, no_video, open_decoder, open_input, video_info, Opened, Watchdog, AV_NOPTS_VALUE,
};
use crate::video::{AudioChunk, OpenOptions, TimedFrame, VideoInfo};
use crate::{FrameSize, Result};

#[derive(PartialEq)]
enum State {
    Reading,
    Draining,
    Done,
}

pub struct Reader {
    source: String,
    size: FrameSize,
    second_size: Option<FrameSize>,
    info: VideoInfo,
    input: Input,
    watchdog: Watchdog,
    decoder: ff::decoder::Video,
    stream_index: usize,
    time_base: f64,
    start_ts: Option<i64>,
    decoded: ff::frame::Video,
    scaler: Option<GrayScaler>,
    delivered: u64,
    state: State,
    read_error: Option<String>,
    audio: Option<AudioTrack>,
    skipped: u64,
    damaged: u64,
}

impl Reader {
    pub fn open(source: &str, size: FrameSize, options: &OpenOptions) -> Result<Self> {
        if size.width == 0 || size.height == 0 {
            return Err(err(
                source,
                format!(
                    "cannot decode to an empty frame size {}x{}",
                    size.width, size.height
                ),
            ));
        }
        let Opened { input, watchdog } = open_input(source, options)?;
        let stream = input
            .streams()
            .best(MediaType::Video)
            .ok_or_else(|| no_video(source, &input))?;
        let info = video_info(&input, &stream);
        let decoder = open_decoder(source, &stream, options)?
            .video()
            .map_err(|e| err(source, format!("cannot open the video decoder: {e}")))?;
        let stream_index = stream.index();
        let time_base = f64::from(stream.time_base());
        let start_ts = Some(stream.start_time()).filter(|&t| t != AV_NOPTS_VALUE);
        let audio = match input
            .streams()
            .best(MediaType::Audio)
            .filter(|_| options.audio)
        {
            None => None,
            Some(a) => Some(AudioTrack::open(source, &a, options)?),
        };
        Ok(Reader {
            source: source.to_string(),
            size,
            second_size: options.second_size,
            info,
            input,
            watchdog,
            decoder,
            stream_index,
            time_base,
            start_ts,
            decoded: ff::frame::Video::empty(),
            scaler: None,
            delivered: 0,
            state: State::Reading,
            read_error: None,
            audio,
            skipped: 0,
            damaged: 0,
        })
    }

    pub fn skipped_packets(&self) -> u64 {
        self.skipped
    }

    pub fn damaged_frames(&self) -> u64 {
        self.damaged
    }

    pub fn take_audio(&mut self) -> Option<AudioChunk> {
        let track = self.audio.as_mut()?;
        let (_, sample_rate, channels) = track.sink.converter.as_ref()?.1;
        if track.sink.samples.is_empty() {
            return None;
        }
        let samples = std::mem::take(&mut track.sink.samples);
        // Times on the video's clock: its first timestamp is 0.
        let origin = self.start_ts.map_or(0.0, |t| t as f64 * self.time_base);
        let start_s =
            track.first_s.unwrap_or(origin) - origin + track.taken as f64 / f64::from(sample_rate);
        track.taken += (samples.len() / usize::from(channels.max(1))) as u64;
        Some(AudioChunk {
            start_s,
            sample_rate,
            channels,
            samples,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    pub fn missing_frames(&self) -> Option<u64> {
        if self.state != State::Done {
            return None;
        }
        self.info
            .frames
            .map(|declared| declared.saturating_sub(self.delivered))
    }

    pub fn next_frame(&mut self) -> Result<Option<TimedFrame>> {
        let result = self.advance();
        if result.is_err() {
            self.state = State::Done;
        }
        result
    }

    fn advance(&mut self) -> Result<Option<TimedFrame>> {
        loop {
            if self.state == State::Done {
                return Ok(None);
            }
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => return self.deliver().map(Some),
                Err(ff::Error::Eof) => return self.finish(),
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => {}
                // A damaged frame: FFmpeg has already concealed what it
                // could; the next packet may decode again.
                Err(ff::Error::InvalidData) => {
                    self.skipped += 1;
                    continue;
                }
                Err(e) => {
                    return Err(err(
                        &self.source,
                        format!("video decoder failed after {} frames: {e}", self.delivered),
                    ))
                }
            }
            if self.state == State::Draining {
                // EOF was sent and the decoder wants more: nothing left.
                return self.finish();
            }
            self.feed()?;
        }
    }

    /// Reads packets until one of the video stream reaches the decoder, or the end.
    fn feed(&mut self) -> Result<()> {
        loop {
            let mut packet = ff::Packet::empty();
            self.watchdog.arm();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream_index => {
                    return match self.decoder.send_packet(&packet) {
                        Ok(()) => Ok(()),
                        Err(ff::Error::InvalidData) => {
                            self.skipped += 1;
                            Ok(())
                        }
                        Err(e) => Err(err(
                            &self.source,
                            format!("video decoder failed after {} frames: {e}", self.delivered),
                        )),
                    };
                }
                Ok(()) => {
                    if let Some(track) = self
                        .audio
                        .as_mut()
                        .filter(|a| a.stream_index == packet.stream())
                    {
                        track
                            .send(&packet, &mut self.skipped)
                            .map_err(|reason| err(&self.source, reason))?;
                    }
                }
                // The demuxer resyncs past a corrupt packet.
                Err(ff::Error::InvalidData) => self.skipped += 1,
                Err(e) => {
                    if let Some(track) = self.audio.as_mut() {
                        track
                            .end(&mut self.skipped)
                            .map_err(|reason| err(&self.source, reason))?;
                    }
                    if e != ff::Error::Eof {
                        // Frames the decoder already holds are still
                        // delivered; the failure is reported after them.
                        self.read_error = Some(self.watchdog.describe(e));
                    }
                    self.state = State::Draining;
                    return self.decoder.send_eof().map_err(|e| {
                        err(
                            &self.source,
                            format!("video decoder failed at the end: {e}"),
                        )
                    });
                }
            }
        }
    }

    fn finish(&mut self) -> Result<Option<TimedFrame>> {
        self.state = State::Done;
        if let Some(reason) = self.read_error.take() {
            return Err(err(
                &self.source,
                format!("read failed after {} frames: {reason}", self.delivered),
            ));
        }
        if self.delivered == 0 {
            return Err(err(
                &self.source,
                "no video frame could be decoded: the file is truncated or corrupt",
            ));
        }
        Ok(None)
    }

    fn deliver(&mut self) -> Result<TimedFrame> {
        let frame = &self.decoded;
        let format: ffi::AVPixelFormat = frame.format().into();
        let key = (
            format,
            frame.width() as i32,
            frame.height() as i32,
            is_full_range(frame),
        );
        if self.scaler.as_ref().is_none_or(|s| s.input != key) {
            // A new context only when the stream changes format or size mid-way.
            self.scaler = Some(GrayScaler::new(key.0, key.1, key.2, key.3).ok_or_else(|| {
                err(
                    &self.source,
                    format!(
                        "cannot convert {:?} {}x{} frames to gray {}x{}",
                        frame.format(),
                        key.1,
                        key.2,
                        self.size.width,
                        self.size.height
                    ),
                )
            })?);
        }
        let index = self.delivered;
        let pts_s = match frame.timestamp().or_else(|| frame.pts()) {
            Some(ts) => {
                let start = *self.start_ts.get_or_insert(ts);
                (ts - start) as f64 * self.time_base
            }
            None if self.info.fps > 0.0 => index as f64 / self.info.fps,
            None => {
                return Err(err(
                    &self.source,
                    format!("frame {index} has no timestamp and the stream declares no frame rate"),
                ));
            }
        };
        let Some(scaler) = self.scaler.as_mut() else {
            return Err(err(&self.source, "internal: no scaler"));
        };
        let (gray, second) = scaler.convert(&self.decoded, self.size, self.second_size);
        // SAFETY: reading plain fields of the decoded frame.
        let (flags, errors) = unsafe {
            (
                (*self.decoded.as_ptr()).flags,
                (*self.decoded.as_ptr()).decode_error_flags,
            )
        };
        if errors != 0 || flags & ffi::AV_FRAME_FLAG_CORRUPT != 0 {
            self.damaged += 1;
        }
        self.delivered += 1;
        Ok(TimedFrame {
            index,
            pts_s,
            frame: gray,
            second,
        })
    }
}
