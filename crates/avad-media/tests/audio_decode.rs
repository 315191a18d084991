//! Decoding: WAV round trips for every sample format, downmix, output lengths,
//! resampling alignment, and one clear error per kind of bad input.
use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use avad_media::audio::{
    decode_audio, downmix_mono, load_audio, probe_audio, AudioStream, DecodedAudio,
};
use avad_media::MediaError;

#[path = "audio_decode/m4a.rs"]
mod m4a;

const PCM: u16 = 1;
const IEEE_FLOAT: u16 = 3;

/// A canonical RIFF/WAVE file. `declared_frames` overrides the data chunk's
/// length field (to fake a truncated file).
fn wav_bytes(
    tag: u16,
    channels: u16,
    rate: u32,
    bits: u16,
    data: &[u8],
    declared_frames: Option<u32>,
) -> Vec<u8> {
    let block = channels as u32 * bits as u32 / 8;
    let data_len = declared_frames.map_or(data.len() as u32, |f| f * block);
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&tag.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * block).to_le_bytes());
    b.extend_from_slice(&(block as u16).to_le_bytes());
    b.extend_from_slice(&bits.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    b.extend_from_slice(data);
    b
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

fn i16_bytes(v: &[i16]) -> Vec<u8> {
    v.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn sine(rate: u32, n: usize, hz: f64, amp: f64) -> Vec<f64> {
    (0..n)
        .map(|i| amp * (2.0 * PI * hz * i as f64 / rate as f64).sin())
        .collect()
}

fn err_of(path: &Path) -> MediaError {
    match decode_audio(path) {
        Ok(a) => panic!(
            "{}: decoded {} frames, expected an error",
            path.display(),
            a.frames()
        ),
        Err(e) => e,
    }
}

/// The message is one line, names the file and says what is wrong.
fn assert_message(e: &MediaError, path: &Path, needle: &str) {
    let msg = e.to_string();
    println!("{msg}");
    assert!(!msg.contains('\n'), "not one line: {msg}");
    assert!(
        msg.contains(&path.display().to_string()),
        "does not name the file: {msg}"
    );
    assert!(msg.contains(needle), "expected {needle:?} in: {msg}");
}

#[test]
fn pcm16_round_trip_scales_by_2_pow_15() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v: Vec<i16> = vec![0, 1, -1, 16384, -16384, i16::MAX, i16::MIN, 1234];
    let path = write(
        dir.path(),
        "s16.wav",
        &wav_bytes(PCM, 1, 16000, 16, &i16_bytes(&v), None),
    );
    let a = decode_audio(&path).expect("decode");
    assert_eq!((a.sample_rate, a.channels, a.frames()), (16000, 1, v.len()));
    let want: Vec<f32> = v.iter().map(|&s| s as f32 / 32768.0).collect();
    assert_eq!(a.samples, want);
    assert_eq!(a.samples[6], -1.0);
    let info = probe_audio(&path).expect("probe");
    assert_eq!(
        (
            info.sample_rate,
            info.channels,
            info.frames,
            info.bits_per_sample
        ),
        (16000, 1, 8, Some(16))
    );
    assert_eq!(info.codec, "pcm_s16le");
    assert!((info.duration_s - 8.0 / 16000.0).abs() < 1e-12);
}

#[test]
fn pcm24_round_trip_scales_by_2_pow_23() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v: Vec<i32> = vec![0, 1, -1, 4_194_304, -8_388_608, 8_388_607, -123_456];
    let data: Vec<u8> = v
        .iter()
        .flat_map(|s| s.to_le_bytes()[..3].to_vec())
        .collect();
    let path = write(
        dir.path(),
        "s24.wav",
        &wav_bytes(PCM, 1, 22050, 24, &data, None),
    );
    let a = decode_audio(&path).expect("decode");
    let want: Vec<f32> = v.iter().map(|&s| s as f32 / 8_388_608.0).collect();
    assert_eq!(a.samples, want);
    assert_eq!(probe_audio(&path).expect("probe").bits_per_sample, Some(24));
}

#[test]
fn pcm32_round_trip_rounds_like_libsndfile() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 2^31 - 1 rounds to 1.0 in f32, as libsndfile's (float)i * 2^-31 does.
    let v: Vec<i32> = vec![0, 1, -1, i32::MAX, i32::MIN, 1_073_741_824, 123_456_789];
    let data: Vec<u8> = v.iter().flat_map(|s| s.to_le_bytes()).collect();
    let path = write(
        dir.path(),
        "s32.wav",
        &wav_bytes(PCM, 1, 48000, 32, &data, None),
    );
    let a = decode_audio(&path).expect("decode");
    let want: Vec<f32> = v.iter().map(|&s| s as f32 / 2_147_483_648.0).collect();
    assert_eq!(a.samples, want);
    assert_eq!(a.samples[3], 1.0);
    assert_eq!(a.samples[5], 0.5);
}

#[test]
fn float32_round_trip_is_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v: Vec<f32> = vec![0.0, 0.25, -0.5, 1.0, -1.0, 1e-7, 0.333_333_34, -0.999];
    let path = write(
        dir.path(),
        "f32.wav",
        &wav_bytes(IEEE_FLOAT, 2, 44100, 32, &f32_bytes(&v), None),
    );
    let a = decode_audio(&path).expect("decode");
    assert_eq!((a.channels, a.frames()), (2, 4));
    assert_eq!(a.samples, v);
    let info = probe_audio(&path).expect("probe");
    assert_eq!(
        (info.codec.as_str(), info.bits_per_sample, info.frames),
        ("pcm_f32le", Some(32), 4)
    );
}

#[test]
fn stereo_downmix_is_the_f32_mean() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Interleaved L, R: 16384 = 0.5, -8192 = -0.25, 1 and 2 (odd sum, exact halving in f32).
    let v: Vec<i16> = vec![16384, -8192, 1, 2, -32768, 32767, 0, 0];
    let path = write(
        dir.path(),
        "stereo.wav",
        &wav_bytes(PCM, 2, 8000, 16, &i16_bytes(&v), None),
    );
    let a = decode_audio(&path).expect("decode");
    let mono = downmix_mono(&a);
    let s = |x: i16| x as f32 / 32768.0;
    assert_eq!(
        mono,
        vec![
            0.125,
            (s(1) + s(2)) / 2.0,
            (s(-32768) + s(32767)) / 2.0,
            0.0
        ]
    );
    assert_eq!(mono[2], -1.0 / 65536.0);
    let three = DecodedAudio {
        sample_rate: 8000,
        channels: 3,
        samples: vec![0.3, 0.6, 0.9, -1.0, 0.0, 1.0],
    };
    assert_eq!(downmix_mono(&three), vec![(0.3f32 + 0.6 + 0.9) / 3.0, 0.0]);
}

/// Length `ceil(n * 22050 / native)` and, for a 1 kHz tone, the analytic tone
/// at the new rate away from the edges: this pins the delay compensation
/// (output sample 0 at input sample 0) for each stage plan.
#[test]
fn resampled_lengths_and_alignment() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rate, n, want_len) in [
        (44100u32, 44101usize, 22051usize),
        (48000, 48001, 22051),
        (16000, 16000, 22050),
        (8000, 8001, 22053),
    ] {
        let x = sine(rate, n, 1000.0, 0.5);
        let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let path = write(
            dir.path(),
            &format!("tone{rate}.wav"),
            &wav_bytes(IEEE_FLOAT, 1, rate, 32, &f32_bytes(&data), None),
        );
        let y = load_audio(&path, 22050).expect("load").samples;
        assert_eq!(y.len(), want_len, "{rate} Hz: length");
        let expect = sine(22050, y.len(), 1000.0, 0.5);
        let (a, b) = (2000, y.len() - 2000);
        let signal: f64 = expect[a..b].iter().map(|v| v * v).sum();
        let noise: f64 = expect[a..b]
            .iter()
            .zip(&y[a..b])
            .map(|(e, &o)| (e - o as f64).powi(2))
            .sum();
        let snr = 10.0 * (signal / noise).log10();
        // f32 samples bound this near 140 dB; a half-sample misalignment would give ~10 dB.
        println!("{rate} Hz -> 22050 Hz: 1 kHz tone SNR {snr:.1} dB");
        assert!(snr > 110.0, "{rate} Hz -> 22050 Hz: tone SNR {snr:.1} dB");
    }
}

#[test]
fn same_rate_is_untouched() {
    let x: Vec<f32> = (0..100).map(|i| (i as f32 * 0.1).sin()).collect();
    assert_eq!(avad_media::resample::resample(&x, 22050, 22050), x);
}

#[test]
fn empty_file_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "empty.wav", b"");
    assert_message(&err_of(&path), &path, "empty file");
    assert_message(&probe_audio(&path).expect_err("probe"), &path, "empty file");
}

#[test]
fn missing_file_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.wav");
    let e = err_of(&path);
    assert!(matches!(e, MediaError::Io { .. }), "{e}");
    assert_message(&e, &path, "");
    // The OS error once, also where a caller prints the whole chain (anyhow's
    // `{:#}` appends each `source()`): "absent.wav: No such file or directory (os error 2)".
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain = format!("{chain}: {s}");
        source = s.source();
    }
    let os_error = std::fs::File::open(&path).unwrap_err();
    assert_eq!(chain, format!("{}: {os_error}", path.display()));
}

#[test]
fn truncated_wav_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v: Vec<i16> = (0..5000).map(|i| (i % 100) as i16).collect();
    let path = write(
        dir.path(),
        "cut.wav",
        &wav_bytes(PCM, 1, 16000, 16, &i16_bytes(&v), Some(100_000)),
    );
    assert_message(
        &err_of(&path),
        &path,
        "truncated: the header declares 100000 frames",
    );
}

#[test]
fn text_renamed_wav_is_not_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "notes.wav",
        b"these are meeting notes, not a recording\n"
            .repeat(20)
            .as_slice(),
    );
    let e = err_of(&path);
    assert_message(&e, &path, "not an audio file");
    assert_message(&e, &path, "looks like text");
}

#[test]
fn png_renamed_wav_is_not_audio() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend(std::iter::repeat_n(7u8, 200));
    let path = write(dir.path(), "frame.wav", &png);
    let e = err_of(&path);
    assert_message(&e, &path, "not an audio file");
    assert_message(&e, &path, "PNG image");
}

/// Every chunk of an [`AudioStream`], joined.
fn streamed(path: &Path) -> avad_media::Result<DecodedAudio> {
    let mut stream = AudioStream::open(path)?;
    let (mut samples, mut chunks) = (Vec::new(), 0);
    while let Some(chunk) = stream.next_chunk()? {
        samples.extend(chunk);
        chunks += 1;
    }
    assert!(chunks > 0);
    Ok(DecodedAudio {
        sample_rate: stream.sample_rate(),
        channels: stream.channels(),
        samples,
    })
}

#[test]
fn a_stream_gives_the_whole_decode_chunk_by_chunk_and_the_same_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Five seconds of stereo at 48 kHz: many packets.
    let v: Vec<i16> = sine(48000, 2 * 240_000, 440.0, 0.5)
        .iter()
        .map(|x| (x * 32767.0).round() as i16)
        .collect();
    let path = write(
        dir.path(),
        "long.wav",
        &wav_bytes(PCM, 2, 48000, 16, &i16_bytes(&v), None),
    );
    let mut stream = AudioStream::open(&path).expect("open");
    assert_eq!(
        (stream.sample_rate(), stream.channels()),
        (48000, 2),
        "known once opened"
    );
    let mut chunks = 0;
    while stream.next_chunk().expect("chunk").is_some() {
        chunks += 1;
    }
    assert!(chunks > 10, "{chunks} chunks");
    assert!(stream.next_chunk().expect("after the end").is_none());
    assert_eq!(
        streamed(&path).expect("stream"),
        decode_audio(&path).expect("whole")
    );
    // Bad input fails the same way, once the stream reaches it.
    let nan = write(
        dir.path(),
        "nan.wav",
        &wav_bytes(
            IEEE_FLOAT,
            1,
            22050,
            32,
            &f32_bytes(&[0.0, 0.5, f32::NAN, 0.1]),
            None,
        ),
    );
    assert_message(
        &streamed(&nan).unwrap_err(),
        &nan,
        "sample 2 of channel 0 is NaN",
    );
    let cut = write(
        dir.path(),
        "cut.wav",
        &wav_bytes(PCM, 1, 22050, 16, &i16_bytes(&[1, 2, 3, 4]), Some(100)),
    );
    assert_message(&streamed(&cut).unwrap_err(), &cut, "truncated");
}

#[test]
fn nan_and_infinite_float_samples_are_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let nan = write(
        dir.path(),
        "nan.wav",
        &wav_bytes(
            IEEE_FLOAT,
            1,
            22050,
            32,
            &f32_bytes(&[0.0, 0.5, f32::NAN, 0.1]),
            None,
        ),
    );
    assert_message(&err_of(&nan), &nan, "sample 2 of channel 0 is NaN");
    let inf = write(
        dir.path(),
        "inf.wav",
        &wav_bytes(
            IEEE_FLOAT,
            2,
            22050,
            32,
            &f32_bytes(&[0.0, 0.5, 0.1, f32::INFINITY]),
            None,
        ),
    );
    assert_message(&err_of(&inf), &inf, "sample 1 of channel 1 is infinite");
    // Finite but far past full scale: its features' power would overflow to infinity.
    let huge = write(
        dir.path(),
        "huge.wav",
        &wav_bytes(
            IEEE_FLOAT,
            1,
            22050,
            32,
            &f32_bytes(&[0.0, 1.5, -1e19, 0.1]),
            None,
        ),
    );
    assert_message(
        &err_of(&huge),
        &huge,
        "sample 2 of channel 0 is -1e19, past ±1e6 (full scale is ±1)",
    );
}

#[test]
fn zero_length_data_chunk_has_no_samples() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "zero.wav",
        &wav_bytes(PCM, 1, 16000, 16, &[], None),
    );
    assert_message(&err_of(&path), &path, "no audio samples");
    assert_message(
        &probe_audio(&path).expect_err("probe"),
        &path,
        "no audio samples",
    );
}

#[test]
fn unsupported_wav_codec_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Format tag 0x0055: MPEG layer 3 inside RIFF, which symphonia's WAV reader does not take.
    let path = write(
        dir.path(),
        "mp3in.wav",
        &wav_bytes(0x0055, 1, 16000, 16, &[0u8; 64], None),
    );
    assert_message(&err_of(&path), &path, "unsupported audio format or codec");
}

#[cfg(not(feature = "ffmpeg"))]
#[test]
fn video_container_needs_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "clip.avi",
        b"RIFF\x10\0\0\0AVI LIST\0\0\0\0 and then video frames",
    );
    let e = err_of(&path);
    assert!(matches!(e, MediaError::NeedsFfmpeg { .. }), "{e}");
    assert_message(&e, &path, "--features ffmpeg");
}

/// FLAC through the `flac` encoder when it is installed (apt-get install flac).
#[test]
fn flac_round_trip_when_encoder_present() {
    let Ok(status) = std::process::Command::new("flac").arg("--version").output() else {
        println!("SKIPPED: flac_round_trip_when_encoder_present: `flac` binary not found");
        return;
    };
    assert!(status.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let v: Vec<i16> = (0..4000)
        .map(|i| ((i * 37 % 2000) as i16 - 1000) * 16)
        .collect();
    let wav = write(
        dir.path(),
        "src.wav",
        &wav_bytes(PCM, 2, 32000, 16, &i16_bytes(&v), None),
    );
    let flac = dir.path().join("src.flac");
    let out = std::process::Command::new("flac")
        .args(["-s", "-f", "-o"])
        .arg(&flac)
        .arg(&wav)
        .output()
        .expect("run flac");
    assert!(
        out.status.success(),
        "flac failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a = decode_audio(&flac).expect("decode flac");
    assert_eq!((a.sample_rate, a.channels, a.frames()), (32000, 2, 2000));
    assert_eq!(a.samples, decode_audio(&wav).expect("decode wav").samples);
    let info = probe_audio(&flac).expect("probe flac");
    assert_eq!(
        (info.codec.as_str(), info.frames, info.bits_per_sample),
        ("flac", 2000, Some(16))
    );
}

/// The error every way of opening `path` gives (probe, decode, stream, load): one
/// line naming the file and containing `needle`, and never a panic.
fn assert_every_path_refuses(path: &Path, needle: &str) {
    assert_message(&probe_audio(path).expect_err("probe"), path, needle);
    assert_message(&err_of(path), path, needle);
    assert_message(&AudioStream::open(path).expect_err("stream"), path, needle);
    assert_message(&load_audio(path, 22050).expect_err("load"), path, needle);
}

/// A good 22050 Hz mono WAV with bytes 24..28 (the `fmt ` chunk's sample rate)
/// replaced by `rate`, as a corrupt header has it.
fn wav_with_rate(rate: u32, frames: usize) -> Vec<u8> {
    let v: Vec<i16> = (0..frames).map(|i| (i % 200) as i16 * 50).collect();
    let mut b = wav_bytes(PCM, 1, 22050, 16, &i16_bytes(&v), None);
    b[24..28].copy_from_slice(&rate.to_le_bytes());
    b
}

#[test]
fn sample_rate_0_is_an_error_not_a_panic() {
    // symphonia panics ("TimeBase cannot have 0 numerator or denominator") on such a
    // header: it must be refused before symphonia reads it.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "sr0.wav", &wav_with_rate(0, 2000));
    assert_every_path_refuses(&path, "sample rate of 0 Hz");
    // The byte rate zeroed too, and a header cut off before its data chunk.
    let path = write(
        dir.path(),
        "sr0-all.wav",
        &wav_bytes(PCM, 1, 0, 16, &i16_bytes(&[1; 100]), None),
    );
    assert_every_path_refuses(&path, "sample rate of 0 Hz");
    let path = write(dir.path(), "sr0-nodata.wav", &wav_with_rate(0, 10)[..36]);
    assert_every_path_refuses(&path, "sample rate of 0 Hz");
    let mut ch0 = wav_with_rate(22050, 100);
    ch0[22..24].copy_from_slice(&0u16.to_le_bytes());
    let path = write(dir.path(), "ch0.wav", &ch0);
    assert_every_path_refuses(&path, "0 channels");
}

#[test]
fn implausible_sample_rates_are_errors() {
    // 1 Hz would be reported as hours of audio and resampled to 22050 Hz (gigabytes).
    let dir = tempfile::tempdir().expect("tempdir");
    for rate in [1, 999, 1_000_001, u32::MAX] {
        let path = write(
            dir.path(),
            &format!("sr{rate}.wav"),
            &wav_with_rate(rate, 2000),
        );
        assert_every_path_refuses(&path, &format!("sample rate of {rate} Hz"));
        assert_message(&err_of(&path), &path, "outside the 1000..=1000000 Hz");
    }
    // The bounds themselves are rates avad reads.
    for rate in [avad_media::audio::MIN_SAMPLE_RATE, 8000] {
        let path = write(
            dir.path(),
            &format!("ok{rate}.wav"),
            &wav_with_rate(rate, 2000),
        );
        let info = probe_audio(&path).expect("probe");
        assert_eq!((info.sample_rate, info.frames), (rate, 2000));
        assert_eq!(decode_audio(&path).expect("decode").sample_rate, rate);
    }
}

#[test]
fn probe_refuses_a_wav_cut_short_as_decoding_does() {
    // 1.6 s at 22050 Hz cut to its first 100 bytes: 44 of header, 56 of samples.
    let dir = tempfile::tempdir().expect("tempdir");
    let whole = wav_with_rate(22050, 35280);
    let path = write(dir.path(), "cut100.wav", &whole[..100]);
    assert_every_path_refuses(&path, "truncated: the header declares 35280 frames");
    assert_message(
        &probe_audio(&path).expect_err("probe"),
        &path,
        "70560 bytes of samples) but the file holds 28 (56 bytes); the file was cut short",
    );
    // Cut inside the last frame: one frame short.
    let path = write(dir.path(), "cut1.wav", &whole[..whole.len() - 1]);
    assert_every_path_refuses(&path, "but the file holds 35279 (70559 bytes)");
    // Whole, and with bytes after the data chunk, it is fine.
    let path = write(dir.path(), "whole.wav", &whole);
    assert_eq!(probe_audio(&path).expect("probe").frames, 35280);
    let mut extra = whole.clone();
    extra.extend_from_slice(b"LIST\x04\0\0\0INFO");
    let path = write(dir.path(), "extra.wav", &extra);
    assert_eq!(probe_audio(&path).expect("probe").frames, 35280);
    // A data length left unset (0xFFFFFFFF) says so.
    let mut unset = whole;
    unset[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    let path = write(dir.path(), "unset.wav", &unset);
    assert_every_path_refuses(&path, "length of the samples unset");
}
