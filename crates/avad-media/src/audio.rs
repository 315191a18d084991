//! Audio files: decode (symphonia), mono downmix, resampling to the feature rate.
//!
//! [`load_audio`] is `librosa.load(path, sr=rate, mono=True)`: libsndfile-style
//! f32 samples, the mean of the channels, soxr "HQ" resampling
//! ([`crate::resample`]), `ceil(n * rate / native)` samples.
//!
//! A WAV whose header declares more frames than the file holds (a recording
//! cut short, a copy that did not finish) is an error, not a shorter clip:
//! its length would silently disagree with the video it belongs to.
use std::fs::File;
use std::path::Path;

use symphonia::core::audio::{AudioBufferRef, Signal};
use symphonia::core::codecs::{CodecParameters, DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::sample::{i24, u24};

use crate::{MediaError, Result};

/// Decoded audio at its native rate and channel count.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    pub sample_rate: u32,
    pub channels: u16,
    /// Interleaved, f32 in [-1, 1] as libsndfile/soundfile gives them: integer
    /// PCM scaled by `1 / 2^(bits-1)`.
    pub samples: Vec<f32>,
}

impl DecodedAudio {
    /// Samples per channel.
    pub fn frames(&self) -> usize {
        if self.channels == 0 {
            0
        } else {
            self.samples.len() / self.channels as usize
        }
    }

    pub fn duration_s(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.frames() as f64 / self.sample_rate as f64
        }
    }
}

/// What a file's header says about its audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub sample_rate: u32,
    pub channels: u16,
    pub frames: u64,
    pub duration_s: f64,
    /// symphonia's short codec name (`pcm_s16le`, `flac`, `mp3`, `vorbis`, `aac`…).
    pub codec: String,
    pub bits_per_sample: Option<u32>,
}

/// Mono audio at a known rate: what the feature extractors read.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub sample_rate: u32,
    pub samples: Vec<f32>,
}

/// Containers whose audio track symphonia may not read; decoding them is
/// FFmpeg's job (see [`crate::video`]).
const VIDEO_EXTENSIONS: &[&str] = &[
    "mp4", "m4v", "mov", "avi", "mkv", "webm", "mpg", "mpeg", "ts", "mts", "flv", "wmv", "3gp",
    "ogv",
];

const READABLE: &str = "avad reads WAV (PCM or float), FLAC, MP3, Ogg Vorbis and M4A/AAC";

fn has_video_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

/// The error for a video container whose audio symphonia cannot read.
fn video_audio_error(path: &Path, detail: &str) -> MediaError {
    if cfg!(feature = "ffmpeg") {
        MediaError::invalid(path, format!("cannot read the audio track of this video container ({detail}); decode it through avad_media::video"))
    } else {
        MediaError::NeedsFfmpeg {
            path: path.to_path_buf(),
            what: format!("the audio track of a video container ({detail})"),
        }
    }
}

/// A guess at what a file that is not audio is, from its first bytes.
fn sniff(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        " (it is a PNG image)"
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        " (it is a JPEG image)"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        " (it is a TIFF image)"
    } else if bytes.starts_with(b"%PDF") {
        " (it is a PDF document)"
    } else if !bytes.is_empty()
        && bytes
            .iter()
            .all(|&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b))
    {
        " (it looks like text)"
    } else {
        ""
    }
}

struct Opened {
    format: Box<dyn FormatReader>,
    track_id: u32,
    params: CodecParameters,
}

fn open(path: &Path) -> Result<Opened> {
    let file = File::open(path).map_err(|e| MediaError::io(path, e))?;
    let len = file.metadata().map_err(|e| MediaError::io(path, e))?.len();
    if len == 0 {
        return Err(MediaError::invalid(path, "empty file (0 bytes), no audio"));
    }
    let mut head = [0u8; 64];
    let head_len = {
        use std::io::Read;
        let mut f = File::open(path).map_err(|e| MediaError::io(path, e))?;
        f.read(&mut head).map_err(|e| MediaError::io(path, e))?
    };
    let head = head.get(..head_len).unwrap_or(&[]);

    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(ext);
    }
    let probed = symphonia::default::get_probe()
        .format(&hint, mss, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(|e| {
            if has_video_extension(path) {
                return video_audio_error(path, "symphonia finds no audio stream it can read in it");
            }
            match e {
                SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => MediaError::invalid(
                    path,
                    format!("truncated: the file ends inside its header ({len} bytes){}", sniff(head)),
                ),
                SymphoniaError::IoError(io) => MediaError::io(path, io),
                SymphoniaError::Unsupported(what) if what.contains("no suitable format reader") => MediaError::invalid(
                    path,
                    format!("not an audio file: no WAV, FLAC, MP3, Ogg or MP4 header found{}; {READABLE}", sniff(head)),
                ),
                SymphoniaError::Unsupported(what) => {
                    MediaError::invalid(path, format!("unsupported audio format or codec ({what}); {READABLE}"))
                }
                other => MediaError::invalid(path, format!("unreadable audio header: {other}{}", sniff(head))),
            }
        })?;
    let format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| {
            if has_video_extension(path) {
                video_audio_error(path, "no audio track symphonia can read")
            } else {
                MediaError::invalid(path, "the file holds no audio track")
            }
        })?;
    let track_id = track.id;
    let params = track.codec_params.clone();
    Ok(Opened {
        format,
        track_id,
        params,
    })
}

fn codec_name(params: &CodecParameters) -> String {
    symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map(|d| d.short_name.to_string())
        .unwrap_or_else(|| format!("unknown codec {}", params.codec))
}

fn bits_per_sample(params: &CodecParameters, codec: &str) -> Option<u32> {
    params.bits_per_sample.or(match codec {
        "pcm_f32le" | "pcm_f32be" => Some(32),
        "pcm_f64le" | "pcm_f64be" => Some(64),
        _ => None,
    })
}

fn unsupported_codec(path: &Path, params: &CodecParameters) -> MediaError {
    if has_video_extension(path) {
        return video_audio_error(path, &format!("codec {}", codec_name(params)));
    }
    MediaError::invalid(
        path,
        format!("unsupported audio codec {}; {READABLE}", codec_name(params)),
    )
}

/// Read a file's header: rate, channels, length and codec. Only formats that
/// do not record their length (some MP3 and Ogg files) are decoded to count it.
pub fn probe_audio(path: &Path) -> Result<AudioInfo> {
    let opened = open(path)?;
    let params = &opened.params;
    let codec = codec_name(params);
    let bits = bits_per_sample(params, &codec);
    let (sample_rate, channels, frames) =
        match (params.sample_rate, params.channels, params.n_frames) {
            (Some(rate), Some(ch), Some(n)) => (rate, ch.count() as u16, n),
            _ => {
                let decoded = decode_opened(path, opened)?;
                (
                    decoded.sample_rate,
                    decoded.channels,
                    decoded.frames() as u64,
                )
            }
        };
    if sample_rate == 0 {
        return Err(MediaError::invalid(
            path,
            "the header gives a sample rate of 0 Hz",
        ));
    }
    if frames == 0 {
        return Err(MediaError::invalid(
            path,
            "no audio samples: the header declares 0 frames",
        ));
    }
    Ok(AudioInfo {
        sample_rate,
        channels,
        frames,
        duration_s: frames as f64 / sample_rate as f64,
        codec,
        bits_per_sample: bits,
    })
}

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

fn decode_opened(path: &Path, opened: Opened) -> Result<DecodedAudio> {
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
                    if let Some(i) = chunk.iter().position(|s| !s.is_finite()) {
                        let what = if chunk[i].is_nan() { "NaN" } else { "infinite" };
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

/// Mean of the channels, frame by frame, as `librosa.to_mono` (numpy's f32
/// mean: the channels summed in f32, then divided by their count).
pub fn downmix_mono(audio: &DecodedAudio) -> Vec<f32> {
    let ch = audio.channels as usize;
    if ch <= 1 {
        return audio.samples.clone();
    }
    let count = ch as f32;
    audio
        .samples
        .chunks_exact(ch)
        .map(|frame| frame.iter().fold(0.0f32, |acc, &s| acc + s) / count)
        .collect()
}

/// `librosa.load(path, sr=target_rate, mono=True)`: decode, average the
/// channels, resample with soxr "HQ" to `ceil(n * target_rate / native)` samples.
pub fn load_audio(path: &Path, target_rate: u32) -> Result<Audio> {
    if target_rate == 0 {
        return Err(MediaError::invalid(path, "cannot resample to 0 Hz"));
    }
    let decoded = decode_audio(path)?;
    let mono = downmix_mono(&decoded);
    let samples = crate::resample::resample(&mono, decoded.sample_rate, target_rate);
    Ok(Audio {
        sample_rate: target_rate,
        samples,
    })
}
