//! Compressed audio formats through symphonia: MP3, Ogg Vorbis, M4A (AAC), FLAC.
//! Fixtures are encoded at test time by the ffmpeg CLI (skipped when it is missing).

use std::path::Path;
use std::process::Command;

use avad_media::audio::{decode_audio, load_audio, probe_audio, AudioStream};

/// 1 s of a 440 Hz sine at 44.1 kHz, stereo, encoded with `codec` into `path`.
fn encode(path: &Path, codec: &[&str]) -> bool {
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100:duration=1",
            "-ac",
            "2",
        ])
        .args(codec)
        .arg(path)
        .status();
    match status {
        Ok(s) if s.success() => true,
        Ok(_) => {
            println!("SKIPPED: ffmpeg could not encode {}", path.display());
            false
        }
        Err(_) => {
            println!("SKIPPED: ffmpeg CLI not found");
            false
        }
    }
}

fn rms(y: &[f32]) -> f64 {
    (y.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / y.len() as f64).sqrt()
}

/// Zero-crossing frequency of a mono signal.
fn tone_hz(y: &[f32], rate: u32) -> f64 {
    let crossings = y
        .windows(2)
        .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
        .count();
    crossings as f64 / 2.0 / (y.len() as f64 / f64::from(rate))
}

#[test]
fn compressed_formats_decode_to_the_tone_they_hold() {
    let d = tempfile::tempdir().unwrap();
    // The same tone as 16-bit PCM: the loudness the lossy codecs must keep.
    let wav = d.path().join("tone.wav");
    if !encode(&wav, &["-c:a", "pcm_s16le"]) {
        return;
    }
    let reference = load_audio(&wav, 22050).unwrap();
    let ref_rms = rms(&reference.samples[2205..reference.samples.len() - 2205]);
    assert!(ref_rms > 0.01);
    for (name, codec, expect_codec) in [
        (
            "tone.mp3",
            &["-c:a", "libmp3lame", "-b:a", "192k"][..],
            "mp3",
        ),
        (
            "tone.ogg",
            &["-c:a", "libvorbis", "-q:a", "6"][..],
            "vorbis",
        ),
        ("tone.m4a", &["-c:a", "aac", "-b:a", "192k"][..], "aac"),
        ("tone.flac", &["-c:a", "flac"][..], "flac"),
    ] {
        let path = d.path().join(name);
        if !encode(&path, codec) {
            continue;
        }
        let info = probe_audio(&path).unwrap();
        assert_eq!((info.sample_rate, info.channels), (44100, 2), "{name}");
        assert!(
            info.codec.contains(expect_codec),
            "{name}: codec {}",
            info.codec
        );
        let decoded = decode_audio(&path).unwrap();
        assert_eq!(decoded.channels, 2);
        // Packet by packet, the same samples.
        let mut stream = AudioStream::open(&path).unwrap();
        let mut joined = Vec::new();
        while let Some(chunk) = stream.next_chunk().unwrap() {
            joined.extend(chunk);
        }
        assert_eq!(
            (stream.sample_rate(), stream.channels()),
            (decoded.sample_rate, decoded.channels),
            "{name}"
        );
        assert!(joined == decoded.samples, "{name}: streamed samples differ");
        // Encoders add priming/padding: allow 50 ms around the second.
        assert!(
            (decoded.duration_s() - 1.0).abs() < 0.05,
            "{name}: {} s",
            decoded.duration_s()
        );
        let mono = load_audio(&path, 22050).unwrap();
        assert_eq!(mono.sample_rate, 22050);
        // Skip the edges, where codecs fade in and out.
        let mid = &mono.samples[2205..mono.samples.len() - 2205];
        let hz = tone_hz(mid, 22050);
        assert!((hz - 440.0).abs() < 3.0, "{name}: {hz} Hz");
        let r = rms(mid);
        assert!(
            (r / ref_rms - 1.0).abs() < 0.05,
            "{name}: rms {r} vs PCM {ref_rms}"
        );
    }
}
