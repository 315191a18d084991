//! Header checks made before symphonia reads a file: sample rates, WAV chunks,
//! MP4 time scales.

use std::fs::File;
use std::path::Path;

use super::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use crate::{MediaError, Result};

/// Refuses a sample rate no recording has (0, 1 Hz, 4 GHz): the header is corrupt.
pub(super) fn check_sample_rate(path: &Path, rate: u32) -> Result<()> {
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
pub(super) fn check_wav_header(path: &Path, file: &mut File, len: u64) -> Result<()> {
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
pub(super) fn check_mp4_header(path: &Path, file: &mut File, len: u64) -> Result<()> {
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
