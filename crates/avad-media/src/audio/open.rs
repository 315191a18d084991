//! Opening a file with symphonia: its audio track, codec and header ([`probe_audio`]).

use std::fs::File;
use std::path::Path;

use symphonia::core::codecs::{CodecParameters, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::{FormatOptions, FormatReader};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::decode::decode_opened;
use super::headers::{check_mp4_header, check_sample_rate, check_wav_header};
use super::AudioInfo;
use crate::{MediaError, Result};

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

pub(super) struct Opened {
    pub(super) format: Box<dyn FormatReader>,
    pub(super) track_id: u32,
    pub(super) params: CodecParameters,
}

pub(super) fn open(path: &Path) -> Result<Opened> {
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

pub(super) fn codec_name(params: &CodecParameters) -> String {
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

pub(super) fn unsupported_codec(path: &Path, params: &CodecParameters) -> MediaError {
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
