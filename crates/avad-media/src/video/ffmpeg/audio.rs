//! Audio tracks decoded through FFmpeg: beside the video, or a whole file's.

use ff::ffi;
use ff::media::Type as MediaType;
use ffmpeg_next as ff;

use super::{err, open_decoder, open_input, Opened};
use crate::audio::DecodedAudio;
use crate::video::OpenOptions;
use crate::Result;

/// The audio stream decoded beside the video.
pub(super) struct AudioTrack {
    decoder: ff::decoder::Audio,
    pub(super) stream_index: usize,
    time_base: f64,
    /// Seconds (stream clock) of the first decoded sample.
    pub(super) first_s: Option<f64>,
    /// Samples per channel handed out so far.
    pub(super) taken: u64,
    frame: ff::frame::Audio,
    pub(super) sink: AudioSink,
}

/// The one audio decode loop: `decode_audio_track` runs it over a whole file, the
/// reader beside its video.
impl AudioTrack {
    pub(super) fn open(source: &str, stream: &ff::Stream, options: &OpenOptions) -> Result<Self> {
        Ok(AudioTrack {
            decoder: open_decoder(source, stream, options)?
                .audio()
                .map_err(|e| err(source, format!("cannot open the audio decoder: {e}")))?,
            stream_index: stream.index(),
            time_base: f64::from(stream.time_base()),
            first_s: None,
            taken: 0,
            frame: ff::frame::Audio::empty(),
            sink: AudioSink::default(),
        })
    }

    /// Decodes one packet of this stream into the sink; a corrupt one is counted in
    /// `skipped` and passed over.
    pub(super) fn send(
        &mut self,
        packet: &ff::Packet,
        skipped: &mut u64,
    ) -> std::result::Result<(), String> {
        match self.decoder.send_packet(packet) {
            Ok(()) => {}
            Err(ff::Error::InvalidData) => *skipped += 1,
            Err(e) => return Err(format!("audio decoder failed: {e}")),
        }
        self.drain(skipped)
    }

    /// The end of the stream: what the decoder still holds.
    pub(super) fn end(&mut self, skipped: &mut u64) -> std::result::Result<(), String> {
        self.decoder
            .send_eof()
            .map_err(|e| format!("audio decoder failed at the end: {e}"))?;
        self.drain(skipped)
    }

    fn drain(&mut self, skipped: &mut u64) -> std::result::Result<(), String> {
        loop {
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    if self.first_s.is_none() {
                        if let Some(ts) = self.frame.timestamp().or_else(|| self.frame.pts()) {
                            self.first_s = Some(ts as f64 * self.time_base);
                        }
                    }
                    self.sink.push(&self.frame)?;
                }
                // A damaged frame: the next may decode again.
                Err(ff::Error::InvalidData) => *skipped += 1,
                Err(ff::Error::Eof) => return Ok(()),
                Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(()),
                Err(e) => return Err(format!("audio decoder failed: {e}")),
            }
        }
    }
}
pub fn decode_audio_track(source: &str, options: &OpenOptions) -> Result<DecodedAudio> {
    let Opened {
        mut input,
        watchdog,
    } = open_input(source, options)?;
    let stream = input
        .streams()
        .best(MediaType::Audio)
        .ok_or_else(|| err(source, "has no audio stream"))?;
    let mut track = AudioTrack::open(source, &stream, options)?;
    // Corrupt packets are passed over, as the reader does; a file has no one to tell.
    let mut skipped = 0;
    loop {
        let mut packet = ff::Packet::empty();
        watchdog.arm();
        match packet.read(&mut input) {
            Ok(()) if packet.stream() == track.stream_index => {
                track
                    .send(&packet, &mut skipped)
                    .map_err(|reason| err(source, reason))?;
            }
            Ok(()) | Err(ff::Error::InvalidData) => {}
            Err(ff::Error::Eof) => {
                track
                    .end(&mut skipped)
                    .map_err(|reason| err(source, reason))?;
                break;
            }
            Err(e) => {
                return Err(err(
                    source,
                    format!("read failed: {}", watchdog.describe(e)),
                ))
            }
        }
    }
    track.sink.finish().map_err(|reason| err(source, reason))
}

/// Collects decoded audio frames as interleaved f32 through swresample.
#[derive(Default)]
pub(super) struct AudioSink {
    pub(super) converter: Option<(
        ff::software::resampling::Context,
        (ff::format::Sample, u32, u16),
    )>,
    pub(super) samples: Vec<f32>,
}

impl AudioSink {
    fn push(&mut self, frame: &ff::frame::Audio) -> std::result::Result<(), String> {
        // SAFETY: reading plain fields of a decoded frame.
        let channels =
            u16::try_from(unsafe { (*frame.as_ptr()).ch_layout.nb_channels }).unwrap_or(0);
        let key = (frame.format(), frame.rate(), channels);
        if channels == 0 || key.1 == 0 {
            return Err(format!(
                "audio frame with {channels} channels at {} Hz",
                key.1
            ));
        }
        if let Some((_, current)) = &self.converter {
            if *current != key {
                // Both values come from the same stream's decoder; a change
                // mid-stream would need resampling the caller did not ask for.
                return Err(format!(
                    "the audio track changes from {} Hz x{} to {} Hz x{} mid-stream",
                    current.1, current.2, key.1, key.2
                ));
            }
        } else {
            // Same layout in and out: swresample only converts the sample
            // format and interleaves; the layout's channel order is irrelevant.
            let layout = ff::ChannelLayout::default(i32::from(channels));
            let context = ff::software::resampling::Context::get(
                key.0,
                layout,
                key.1,
                ff::format::Sample::F32(ff::format::sample::Type::Packed),
                layout,
                key.1,
            )
            .map_err(|e| format!("cannot convert {:?} x{channels} audio to f32: {e}", key.0))?;
            self.converter = Some((context, key));
        }
        let in_count =
            i32::try_from(frame.samples()).map_err(|_| "audio frame too long".to_string())?;
        // SAFETY: extended_data points at the frame's plane pointers (one per
        // channel when planar), each holding `samples()` samples.
        let input = unsafe { (*frame.as_ptr()).extended_data as *mut *const u8 };
        self.convert(input, in_count, channels)
    }

    fn convert(
        &mut self,
        input: *mut *const u8,
        in_count: i32,
        channels: u16,
    ) -> std::result::Result<(), String> {
        let Some((context, _)) = self.converter.as_mut() else {
            return Ok(());
        };
        // SAFETY: swr_get_out_samples bounds what swr_convert writes; the
        // output buffer holds that many interleaved f32 frames.
        unsafe {
            let ctx = context.as_mut_ptr();
            let capacity = ffi::swr_get_out_samples(ctx, in_count);
            if capacity < 0 {
                return Err(format!("swresample failed: {}", ff::Error::from(capacity)));
            }
            let start = self.samples.len();
            self.samples
                .resize(start + capacity as usize * usize::from(channels), 0.0);
            let mut out_ptr = self.samples.as_mut_ptr().add(start).cast::<u8>();
            let written = ffi::swr_convert(ctx, &mut out_ptr, capacity, input, in_count);
            if written < 0 {
                return Err(format!("swresample failed: {}", ff::Error::from(written)));
            }
            self.samples
                .truncate(start + written as usize * usize::from(channels));
        }
        Ok(())
    }

    fn finish(mut self) -> std::result::Result<DecodedAudio, String> {
        let Some((_, sample_rate, channels)) = self.converter.as_ref().map(|(_, key)| *key) else {
            return Err(
                "no audio could be decoded: the track is empty, truncated or corrupt".to_string(),
            );
        };
        self.convert(std::ptr::null_mut(), 0, channels)?;
        Ok(DecodedAudio {
            sample_rate,
            channels,
            samples: self.samples,
        })
    }
}
