//! Audio files: decode (symphonia), mono downmix, resampling to the feature rate.
//!
//! [`load_audio`] is `librosa.load(path, sr=rate, mono=True)`: libsndfile-style
//! f32 samples, the mean of the channels, soxr "HQ" resampling
//! ([`crate::resample`]), `ceil(n * rate / native)` samples.
//!
//! A WAV whose header declares more frames than the file holds (a recording
//! cut short, a copy that did not finish) is an error, not a shorter clip:
//! its length would silently disagree with the video it belongs to.
//!
//! Sample rates outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] are refused: such a
//! rate is a corrupt header, and believing it would resample 1 Hz audio to 22 050 Hz
//! (gigabytes). A WAV header is checked before symphonia reads it, since symphonia
//! panics on a sample rate of 0; so are the track time scales of an MP4/M4A, since
//! it panics on a time scale of 0.
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

/// The largest sample magnitude taken (full scale is 1): a float file past it is corrupt,
/// and its squares would overflow the features' power spectra to infinity.
pub const MAX_ABS_SAMPLE: f32 = 1.0e6;
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

/// The lowest sample rate avad reads, Hz. Telephone audio is 8000 Hz and nothing
/// recorded is sampled below 1000 Hz; a lower rate is a corrupt header.
pub const MIN_SAMPLE_RATE: u32 = 1000;
/// The highest sample rate avad reads, Hz: above the 384 and 768 kHz of the fastest
/// audio and ultrasound recorders; a higher rate is a corrupt header.
pub const MAX_SAMPLE_RATE: u32 = 1_000_000;

/// Refuses a sample rate no recording has (0, 1 Hz, 4 GHz): the header is corrupt.
fn check_sample_rate(path: &Path, rate: u32) -> Result<()> {
    if rate == 0 {
        return Err(MediaError::invalid(
            path,
            "the header gives a sample rate of 0 Hz",
        ));
    }
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&rate) {
        return Err(MediaError::invalid(
            path,
            format!(
                "the header gives a sample rate of {rate} Hz, outside the {MIN_SAMPLE_RATE}..={MAX_SAMPLE_RATE} Hz avad reads; the header is corrupt"
            ),
        ));
    }
    Ok(())
}

/// WAV format tags whose frames are fixed-size blocks of samples (PCM, float,
/// A-law, mu-law, extensible): the data chunk's length gives the frame count.
const WAV_PCM_TAGS: &[u16] = &[1, 3, 6, 7, 0xfffe];

/// Checks a RIFF/WAVE header before symphonia reads it: channels and sample rate
/// (symphonia panics on a rate of 0), and a data chunk that the file holds entirely
/// (the check [`AudioStream`] makes at the end, made up front so that
/// [`probe_audio`] does not report a length the file does not have). A header this
/// walk cannot follow is left to symphonia, which reports it.
fn check_wav_header(path: &Path, file: &mut File, len: u64) -> Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let io = |e| MediaError::io(path, e);
    // (format tag, sample rate, block align) of the last `fmt ` chunk.
    let mut fmt: Option<(u16, u32, u16)> = None;
    let mut pos = 12u64;
    // A bound on the walk: real files have a handful of chunks.
    for _ in 0..4096 {
        if pos + 8 > len {
            break;
        }
        file.seek(SeekFrom::Start(pos)).map_err(io)?;
        let mut header = [0u8; 8];
        file.read_exact(&mut header).map_err(io)?;
        let id = &header[..4];
        let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let body = pos + 8;
        if id == b"fmt " && size >= 16 && body + 16 <= len {
            let mut f = [0u8; 16];
            file.read_exact(&mut f).map_err(io)?;
            let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
            let (channels, rate) = (u16_at(2), u32::from_le_bytes([f[4], f[5], f[6], f[7]]));
            if channels == 0 {
                return Err(MediaError::invalid(path, "the header gives 0 channels"));
            }
            check_sample_rate(path, rate)?;
            fmt = Some((u16_at(0), rate, u16_at(12)));
        } else if id == b"data" {
            let Some((tag, rate, block_align)) = fmt else {
                break;
            };
            if !WAV_PCM_TAGS.contains(&tag) || block_align == 0 {
                break;
            }
            if size == u32::MAX {
                return Err(MediaError::invalid(
                    path,
                    "the header leaves the length of the samples unset (0xFFFFFFFF, as a WAV piped out of ffmpeg writes it): re-save it to a file, e.g. `ffmpeg -i IN -c copy OUT.wav`",
                ));
            }
            let block = u64::from(block_align);
            let held = len.saturating_sub(body).min(u64::from(size));
            let (declared, frames) = (u64::from(size) / block, held / block);
            if frames < declared {
                return Err(MediaError::invalid(
                    path,
                    format!(
                        "truncated: the header declares {declared} frames ({:.3} s, {size} bytes of samples) but the file holds {frames} ({held} bytes); the file was cut short",
                        declared as f64 / f64::from(rate)
                    ),
                ));
            }
            break;
        }
        pos = body + u64::from(size) + u64::from(size & 1);
    }
    Ok(())
}

/// A bound on the boxes [`check_mp4_header`] reads: a real file has a few dozen.
const MP4_MAX_BOXES: u32 = 4096;

/// The boxes directly inside `start..end` of an ISO-BMFF file, as (type, body start,
/// end), read by seeking from box header to box header. The walk stops at the first
/// box it cannot follow (a size smaller than its header or running past `end`), and
/// when `budget` boxes have been read; what lies beyond is left to symphonia.
fn mp4_children(
    file: &mut File,
    start: u64,
    end: u64,
    budget: &mut u32,
) -> std::io::Result<Vec<([u8; 4], u64, u64)>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut boxes = Vec::new();
    let mut pos = start;
    while pos + 8 <= end && *budget > 0 {
        *budget -= 1;
        file.seek(SeekFrom::Start(pos))?;
        let mut header = [0u8; 8];
        file.read_exact(&mut header)?;
        let kind = [header[4], header[5], header[6], header[7]];
        let (size, body) = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            // To the end of the enclosing box (of the file, at the top level).
            0 => (end - pos, pos + 8),
            // A 64-bit `largesize` follows the type.
            1 => {
                if pos + 16 > end {
                    break;
                }
                let mut large = [0u8; 8];
                file.read_exact(&mut large)?;
                (u64::from_be_bytes(large), pos + 16)
            }
            size => (u64::from(size), pos + 8),
        };
        let Some(box_end) = pos.checked_add(size) else {
            break;
        };
        if box_end < body || box_end > end {
            break;
        }
        boxes.push((kind, body, box_end));
        pos = box_end;
    }
    Ok(boxes)
}

/// The `timescale` field of an `mdhd` box whose body is `body..end`, where
/// the box's version is one symphonia reads (0: 32-bit creation and modification
/// times before it; 1: 64-bit ones).
fn mp4_timescale(file: &mut File, body: u64, end: u64) -> std::io::Result<Option<u32>> {
    use std::io::{Read, Seek, SeekFrom};
    if body + 24 > end {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(body))?;
    let mut b = [0u8; 24];
    file.read_exact(&mut b)?;
    let at = match b[0] {
        0 => 12,
        1 => 20,
        _ => return Ok(None),
    };
    Ok(Some(u32::from_be_bytes([
        b[at],
        b[at + 1],
        b[at + 2],
        b[at + 3],
    ])))
}

/// Checks the time scales of an ISO-BMFF file (MP4, M4A, MOV) before symphonia reads
/// it: symphonia panics on a track whose `mdhd` box (moov → trak → mdia → mdhd)
/// gives a time scale of 0. Each `moov` box is walked (symphonia reads the last
/// one), and each of its tracks (symphonia reads all of them, video ones too). A box
/// layout this walk cannot follow is left to symphonia, which reports it.
fn check_mp4_header(path: &Path, file: &mut File, len: u64) -> Result<()> {
    let io = |e| MediaError::io(path, e);
    let mut budget = MP4_MAX_BOXES;
    for (kind, body, end) in mp4_children(file, 0, len, &mut budget).map_err(io)? {
        if &kind != b"moov" {
            continue;
        }
        let mut track = 0;
        for (kind, body, end) in mp4_children(file, body, end, &mut budget).map_err(io)? {
            // (An mvhd time scale of 0 symphonia reads without harm: it does not use it.)
            if &kind != b"trak" {
                continue;
            }
            track += 1;
            for (kind, body, end) in mp4_children(file, body, end, &mut budget).map_err(io)? {
                if &kind != b"mdia" {
                    continue;
                }
                for (kind, body, end) in mp4_children(file, body, end, &mut budget).map_err(io)? {
                    if &kind == b"mdhd" && mp4_timescale(file, body, end).map_err(io)? == Some(0) {
                        return Err(MediaError::invalid(
                            path,
                            format!("the mdhd box of track {track} gives a time scale of 0 (ticks per second), which no recording has: the MP4 header is corrupt"),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
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
    let mut f = File::open(path).map_err(|e| MediaError::io(path, e))?;
    let head_len = {
        use std::io::Read;
        f.read(&mut head).map_err(|e| MediaError::io(path, e))?
    };
    let head = head.get(..head_len).unwrap_or(&[]);
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        check_wav_header(path, &mut f, len)?;
    } else if head.get(4..8) == Some(b"ftyp") {
        check_mp4_header(path, &mut f, len)?;
    }

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
    if let Some(rate) = params.sample_rate {
        check_sample_rate(path, rate)?;
    }
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
    check_sample_rate(path, sample_rate)?;
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
