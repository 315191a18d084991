//! Decoding a file's audio track to interleaved f32, whole or packet by packet.

use std::path::Path;

use symphonia::core::audio::{AudioBufferRef, Signal};
use symphonia::core::codecs::{CodecParameters, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatReader;
use symphonia::core::sample::{i24, u24};

use super::headers::check_sample_rate;
use super::open::{codec_name, open, unsupported_codec, Opened};
use super::{DecodedAudio, MAX_ABS_SAMPLE};
use crate::{MediaError, Result};

/// Decode a whole file (WAV 16/24/32-bit integer or 32/64-bit float, FLAC,
/// MP3, Ogg Vorbis, M4A/AAC) to interleaved f32.
///
/// Errors name the file and the problem: empty, truncated, not audio, no
/// samples, NaN/infinite samples, unsupported codec; a video container whose
/// audio symphonia cannot read asks for the `ffmpeg` feature.
pub fn decode_audio(path: &Path) -> Result<DecodedAudio> {
    let opened = open(path)?;
    decode_opened(path, opened)
}

pub(super) fn decode_opened(path: &Path, opened: Opened) -> Result<DecodedAudio> {
    let mut stream = AudioStream::from_opened(path, opened)?;
    let mut samples = Vec::new();
    while let Some(chunk) = stream.next_chunk()? {
        samples.extend_from_slice(&chunk);
    }
    Ok(DecodedAudio {
        sample_rate: stream.sample_rate,
        channels: stream.channels,
        samples,
    })
}

/// An audio file decoded packet by packet, for sound too long to hold at once: the
/// same samples and the same errors as [`decode_audio`], a chunk at a time.
pub struct AudioStream {
    path: std::path::PathBuf,
    format: Box<dyn FormatReader>,
    decoder: Box<dyn symphonia::core::codecs::Decoder>,
    track_id: u32,
    params: CodecParameters,
    sample_rate: u32,
    channels: u16,
    /// The first chunk, decoded by `open` to learn the rate and channels.
    first: Option<Vec<f32>>,
    /// Frames (samples per channel) handed out so far.
    frames: u64,
    bad_packets: usize,
    last_decode_error: String,
    done: bool,
}

impl std::fmt::Debug for AudioStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioStream")
            .field("path", &self.path)
            .field("sample_rate", &self.sample_rate)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl AudioStream {
    /// Opens `path` and decodes its first packet (so that the rate and channels are
    /// known); errors as [`decode_audio`]'s.
    pub fn open(path: &Path) -> Result<Self> {
        Self::from_opened(path, open(path)?)
    }

    fn from_opened(path: &Path, opened: Opened) -> Result<Self> {
        let Opened {
            format,
            track_id,
            params,
        } = opened;
        if params.n_frames == Some(0) {
            return Err(MediaError::invalid(
                path,
                "no audio samples: the data chunk is empty",
            ));
        }
        let decoder = symphonia::default::get_codecs()
            .make(&params, &DecoderOptions::default())
            .map_err(|_| unsupported_codec(path, &params))?;
        let mut stream = AudioStream {
            path: path.to_path_buf(),
            format,
            decoder,
            track_id,
            params,
            sample_rate: 0,
            channels: 0,
            first: None,
            frames: 0,
            bad_packets: 0,
            last_decode_error: String::new(),
            done: false,
        };
        stream.first = stream.decode_next()?;
        Ok(stream)
    }

    /// The file's sample rate, Hz.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Channels, interleaved in each chunk.
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// The next decoded samples, interleaved; `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>> {
        match self.first.take() {
            Some(chunk) => Ok(Some(chunk)),
            None => self.decode_next(),
        }
    }

    /// Decodes packets until one gives samples, or the end (where the whole file's
    /// checks run: something decoded, nothing missing from a PCM file).
    fn decode_next(&mut self) -> Result<Option<Vec<f32>>> {
        let path = self.path.clone();
        let path = path.as_path();
        while !self.done {
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                // symphonia reports the end of a stream as an unexpected EOF; a
                // cut-short file is caught below by comparing with the header.
                Err(SymphoniaError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    break
                }
                Err(SymphoniaError::ResetRequired) => break,
                Err(SymphoniaError::IoError(e)) => return Err(MediaError::io(path, e)),
                Err(e) => {
                    return Err(MediaError::invalid(
                        path,
                        format!("malformed audio stream: {e}"),
                    ))
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            match self.decoder.decode(&packet) {
                Ok(buf) => {
                    let spec = *buf.spec();
                    let channels = spec.channels.count() as u16;
                    if self.channels == 0 {
                        if spec.rate == 0 || channels == 0 {
                            return Err(MediaError::invalid(
                                path,
                                format!(
                                    "invalid stream format: {} Hz, {channels} channels",
                                    spec.rate
                                ),
                            ));
                        }
                        check_sample_rate(path, spec.rate)?;
                        (self.sample_rate, self.channels) = (spec.rate, channels);
                    } else if (self.sample_rate, self.channels) != (spec.rate, channels) {
                        return Err(MediaError::invalid(
                            path,
                            format!(
                                "the stream changes from {} Hz x{} to {} Hz x{} mid-file",
                                self.sample_rate, self.channels, spec.rate, channels
                            ),
                        ));
                    }
                    let mut chunk = Vec::new();
                    append_interleaved(&buf, &mut chunk);
                    if chunk.is_empty() {
                        continue;
                    }
                    let ch = usize::from(self.channels);
                    if let Some(i) = chunk.iter().position(|s| !(s.abs() <= MAX_ABS_SAMPLE)) {
                        let what = if chunk[i].is_nan() {
                            "NaN".to_string()
                        } else if chunk[i].is_infinite() {
                            "infinite".to_string()
                        } else {
                            format!(
                                "{:e}, past ±{MAX_ABS_SAMPLE:e} (full scale is ±1)",
                                chunk[i]
                            )
                        };
                        return Err(MediaError::invalid(
                            path,
                            format!(
                                "corrupt audio: sample {} of channel {} is {what}",
                                self.frames + (i / ch) as u64,
                                i % ch
                            ),
                        ));
                    }
                    self.frames += (chunk.len() / ch) as u64;
                    return Ok(Some(chunk));
                }
                // Lossy streams (MP3) may carry damaged frames; skip them as
                // decoders do, and fail only if nothing decodes.
                Err(SymphoniaError::DecodeError(msg)) => {
                    self.bad_packets += 1;
                    self.last_decode_error = msg.to_string();
                }
                Err(SymphoniaError::Unsupported(_)) => {
                    return Err(unsupported_codec(path, &self.params))
                }
                Err(SymphoniaError::IoError(e)) => return Err(MediaError::io(path, e)),
                Err(e) => return Err(MediaError::invalid(path, format!("cannot decode: {e}"))),
            }
        }
        if self.done {
            return Ok(None);
        }
        self.done = true;
        if self.frames == 0 {
            if self.bad_packets > 0 {
                return Err(MediaError::invalid(
                    path,
                    format!(
                        "no packet could be decoded ({} malformed, last: {})",
                        self.bad_packets, self.last_decode_error
                    ),
                ));
            }
            return Err(MediaError::invalid(
                path,
                "no audio samples: the stream is empty",
            ));
        }
        if let Some(declared) = self.params.n_frames {
            // Lossy codecs may report a length that counts encoder padding, so
            // only PCM headers are held to it exactly.
            if codec_name(&self.params).starts_with("pcm") && self.frames < declared {
                return Err(MediaError::invalid(
                    path,
                    format!(
                        "truncated: the header declares {declared} frames ({:.3} s) but only {} could be read; the file was cut short",
                        declared as f64 / f64::from(self.sample_rate),
                        self.frames
                    ),
                ));
            }
        }
        Ok(None)
    }
}

/// Append a decoded buffer, interleaved, converted as libsndfile converts to
/// float (`sf_read_float` without normalisation off): integers divided by
/// `2^(bits-1)`, unsigned ones re-centred first.
fn append_interleaved(buf: &AudioBufferRef<'_>, out: &mut Vec<f32>) {
    fn interleave<S: symphonia::core::sample::Sample>(
        b: &symphonia::core::audio::AudioBuffer<S>,
        out: &mut Vec<f32>,
        convert: impl Fn(S) -> f32,
    ) {
        let planes = b.planes();
        let planes = planes.planes();
        let frames = b.frames();
        out.reserve(frames * planes.len());
        for f in 0..frames {
            for plane in planes {
                out.push(plane.get(f).map_or(0.0, |&s| convert(s)));
            }
        }
    }
    const S8: f32 = 1.0 / 128.0;
    const S16: f32 = 1.0 / 32768.0;
    const S24: f32 = 1.0 / 8_388_608.0;
    const S32: f32 = 1.0 / 2_147_483_648.0;
    match buf {
        AudioBufferRef::U8(b) => interleave(b, out, |s: u8| (s as f32 - 128.0) * S8),
        AudioBufferRef::U16(b) => interleave(b, out, |s: u16| (s as f32 - 32768.0) * S16),
        AudioBufferRef::U24(b) => {
            interleave(b, out, |s: u24| (s.inner() as f32 - 8_388_608.0) * S24)
        }
        AudioBufferRef::U32(b) => {
            interleave(b, out, |s: u32| ((s as i64 - 2_147_483_648) as f32) * S32)
        }
        AudioBufferRef::S8(b) => interleave(b, out, |s: i8| s as f32 * S8),
        AudioBufferRef::S16(b) => interleave(b, out, |s: i16| s as f32 * S16),
        AudioBufferRef::S24(b) => interleave(b, out, |s: i24| s.inner() as f32 * S24),
        AudioBufferRef::S32(b) => interleave(b, out, |s: i32| s as f32 * S32),
        AudioBufferRef::F32(b) => interleave(b, out, |s: f32| s),
        AudioBufferRef::F64(b) => interleave(b, out, |s: f64| s as f32),
    }
}
