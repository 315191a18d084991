//! A small RIFF/WAVE writer: 16-bit PCM and 32-bit IEEE float, written atomically
//! (`<path>.tmp`, then a rename) so a killed run never leaves a truncated file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use avad_atomic::AtomicError;

/// Why a WAV file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("{}: cannot write WAV file: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: a WAV file needs at least one channel", path.display())]
    NoChannels { path: PathBuf },
    #[error("{}: the sample rate must be positive", path.display())]
    ZeroSampleRate { path: PathBuf },
    #[error("{}: {len} interleaved samples do not divide into {channels} channels", path.display())]
    ChannelMismatch {
        path: PathBuf,
        len: usize,
        channels: u16,
    },
    #[error("{}: sample {index} is {value}, not a finite number", path.display())]
    NonFinite {
        path: PathBuf,
        index: usize,
        value: f32,
    },
    #[error("{}: {bytes} bytes of audio exceed the 4 GiB limit of the WAV format", path.display())]
    TooLong { path: PathBuf, bytes: u64 },
}

/// RIFF format tags (Microsoft WAVE spec, `WAVE_FORMAT_PCM` / `WAVE_FORMAT_IEEE_FLOAT`).
const FORMAT_PCM: u16 = 1;
const FORMAT_IEEE_FLOAT: u16 = 3;

/// Writes interleaved samples in [-1, 1] as 16-bit PCM; values outside are clipped.
pub fn write_wav_pcm16(
    path: &Path,
    sample_rate: u32,
    channels: u16,
    samples_interleaved: &[f32],
) -> Result<(), WavError> {
    check(path, sample_rate, channels, samples_interleaved)?;
    let data: Vec<u8> = samples_interleaved
        .iter()
        .flat_map(|&s| ((s.clamp(-1.0, 1.0) * 32767.0).round() as i16).to_le_bytes())
        .collect();
    write_atomic(path, FORMAT_PCM, sample_rate, channels, 16, &data)
}

/// Writes interleaved samples as 32-bit IEEE float, unchanged.
pub fn write_wav_f32(
    path: &Path,
    sample_rate: u32,
    channels: u16,
    samples_interleaved: &[f32],
) -> Result<(), WavError> {
    check(path, sample_rate, channels, samples_interleaved)?;
    let data: Vec<u8> = samples_interleaved
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    write_atomic(path, FORMAT_IEEE_FLOAT, sample_rate, channels, 32, &data)
}

fn check(path: &Path, sample_rate: u32, channels: u16, samples: &[f32]) -> Result<(), WavError> {
    let path = || path.to_path_buf();
    if channels == 0 {
        return Err(WavError::NoChannels { path: path() });
    }
    if sample_rate == 0 {
        return Err(WavError::ZeroSampleRate { path: path() });
    }
    let per_frame = usize::from(channels);
    if samples.len() / per_frame * per_frame != samples.len() {
        return Err(WavError::ChannelMismatch {
            path: path(),
            len: samples.len(),
            channels,
        });
    }
    if let Some((index, &value)) = samples.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(WavError::NonFinite {
            path: path(),
            index,
            value,
        });
    }
    Ok(())
}

fn write_atomic(
    path: &Path,
    format: u16,
    sample_rate: u32,
    channels: u16,
    bits: u16,
    data: &[u8],
) -> Result<(), WavError> {
    avad_atomic::write_with(path, |tmp| {
        write_file(tmp, path, format, sample_rate, channels, bits, data)
    })
    .map_err(|e| match e {
        AtomicError::Write(e) => e,
        AtomicError::Io { path, error } => io_error(&path, error),
    })
}

#[allow(clippy::too_many_arguments)]
fn write_file(
    tmp: &Path,
    path: &Path,
    format: u16,
    sample_rate: u32,
    channels: u16,
    bits: u16,
    data: &[u8],
) -> Result<(), WavError> {
    // A non-PCM file carries `cbSize` in its fmt chunk and a `fact` chunk (WAVE spec).
    let extended = format != FORMAT_PCM;
    let fmt_len: u32 = if extended { 18 } else { 16 };
    let fact_len: u32 = if extended { 12 } else { 0 };
    let data_len = u32::try_from(data.len()).ok();
    let riff_len = data_len.and_then(|d| (4 + 8 + fmt_len + fact_len + 8).checked_add(d));
    let (Some(data_len), Some(riff_len)) = (data_len, riff_len) else {
        return Err(WavError::TooLong {
            path: path.to_path_buf(),
            bytes: data.len() as u64,
        });
    };
    let block_align = channels * (bits / 8);
    let byte_rate = sample_rate * u32::from(block_align);
    let frames = data_len / u32::from(block_align);

    let file = File::create(tmp).map_err(|source| io_error(path, source))?;
    let mut out = BufWriter::new(file);
    let mut header = Vec::with_capacity(58);
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&riff_len.to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    header.extend_from_slice(&fmt_len.to_le_bytes());
    header.extend_from_slice(&format.to_le_bytes());
    header.extend_from_slice(&channels.to_le_bytes());
    header.extend_from_slice(&sample_rate.to_le_bytes());
    header.extend_from_slice(&byte_rate.to_le_bytes());
    header.extend_from_slice(&block_align.to_le_bytes());
    header.extend_from_slice(&bits.to_le_bytes());
    if extended {
        header.extend_from_slice(&0u16.to_le_bytes());
        header.extend_from_slice(b"fact");
        header.extend_from_slice(&4u32.to_le_bytes());
        header.extend_from_slice(&frames.to_le_bytes());
    }
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_len.to_le_bytes());
    let written = out
        .write_all(&header)
        .and_then(|()| out.write_all(data))
        .and_then(|()| out.into_inner().map_err(|e| e.into_error()))
        .and_then(|file| file.sync_all());
    written.map_err(|source| io_error(path, source))
}

fn io_error(path: &Path, source: io::Error) -> WavError {
    WavError::Io {
        path: path.to_path_buf(),
        source,
    }
}
