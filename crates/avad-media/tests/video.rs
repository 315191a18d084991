//! Video files and live streams through FFmpeg, against fixtures the `ffmpeg`
//! CLI generates at test time (testsrc/color pictures, a 440 Hz sine).
#![cfg(feature = "ffmpeg")]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use avad_media::video::{decode_audio_track, probe_video, OpenOptions, TimedFrame, VideoReader};
use avad_media::{FrameSize, MediaError};

#[path = "video/streams.rs"]
mod streams;

const SIZE: FrameSize = FrameSize::PAPER;
const FPS: f64 = 25.0;
const FRAMES: u64 = 50;

fn ffmpeg_available(test: &str) -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("SKIPPED: {test}: the ffmpeg CLI is not installed");
    }
    ok
}

/// Runs the ffmpeg CLI with `args`, writing `out`.
fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .expect("run ffmpeg");
    assert!(status.success(), "ffmpeg {args:?} {} failed", out.display());
}

/// 2 s of a 320x240 25 fps `video` lavfi source with a 440 Hz sine (48 kHz,
/// `channels` channels), encoded with `codec_args`.
fn fixture(dir: &Path, name: &str, video: &str, channels: u32, codec_args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let separator = if video.contains('=') { ':' } else { '=' };
    let video = format!("{video}{separator}size=320x240:rate=25");
    let ac = channels.to_string();
    let mut args = vec![
        "-f",
        "lavfi",
        "-i",
        &video,
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "2",
        "-ac",
        &ac,
    ];
    args.extend_from_slice(codec_args);
    ffmpeg(&args, &out);
    out
}

struct Container {
    name: &'static str,
    codec_args: &'static [&'static str],
    video_codec: &'static str,
    audio_codec: &'static str,
    audio_channels: u16,
    declares_frames: bool,
}

const CONTAINERS: [Container; 4] = [
    Container {
        name: "clip.mp4",
        codec_args: &["-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
        video_codec: "h264",
        audio_codec: "aac",
        audio_channels: 1,
        declares_frames: true,
    },
    Container {
        name: "clip.avi",
        codec_args: &["-c:v", "mjpeg", "-q:v", "3", "-c:a", "pcm_s16le"],
        video_codec: "mjpeg",
        audio_codec: "pcm_s16le",
        audio_channels: 2,
        declares_frames: true,
    },
    Container {
        name: "clip.mkv",
        codec_args: &["-c:v", "mpeg4", "-q:v", "3", "-c:a", "libopus"],
        video_codec: "mpeg4",
        audio_codec: "opus",
        audio_channels: 2,
        declares_frames: false,
    },
    Container {
        name: "clip.mov",
        codec_args: &[
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "pcm_s16le",
        ],
        video_codec: "h264",
        audio_codec: "pcm_s16le",
        audio_channels: 1,
        declares_frames: true,
    },
];

fn read_all(source: &str, size: FrameSize) -> (Vec<TimedFrame>, Option<u64>) {
    let mut reader = VideoReader::open(source, size, &OpenOptions::default()).expect("open");
    let frames: Vec<TimedFrame> = reader.by_ref().collect::<Result<_, _>>().expect("decode");
    (frames, reader.missing_frames())
}

fn assert_timestamps(frames: &[TimedFrame]) {
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.index, i as u64);
        assert!(
            (f.pts_s - i as f64 / FPS).abs() < 1e-3,
            "frame {i}: pts {} s",
            f.pts_s
        );
    }
}

fn source(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn each_container_gives_50_frames_at_25_fps_with_timestamps() {
    if !ffmpeg_available("each_container_gives_50_frames_at_25_fps_with_timestamps") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for c in &CONTAINERS {
        let path = fixture(
            dir.path(),
            c.name,
            "testsrc",
            c.audio_channels.into(),
            c.codec_args,
        );
        let info = probe_video(source(&path)).unwrap();
        assert_eq!((info.width, info.height), (320, 240), "{}", c.name);
        assert!(
            (info.fps - FPS).abs() < 1e-9,
            "{}: fps {}",
            c.name,
            info.fps
        );
        assert_eq!(info.codec, c.video_codec, "{}", c.name);
        assert_eq!(
            info.frames,
            c.declares_frames.then_some(FRAMES),
            "{}",
            c.name
        );
        let duration = info.duration_s.expect("duration");
        assert!(
            (duration - 2.0).abs() < 0.05,
            "{}: duration {duration}",
            c.name
        );
        let audio = info.audio.as_ref().expect("audio stream");
        assert_eq!(
            (audio.sample_rate, audio.channels),
            (48_000, c.audio_channels),
            "{}",
            c.name
        );
        assert_eq!(audio.codec, c.audio_codec, "{}", c.name);

        let (frames, missing) = read_all(source(&path), SIZE);
        assert_eq!(frames.len() as u64, FRAMES, "{}", c.name);
        assert!(frames
            .iter()
            .all(|f| f.frame.size == SIZE && f.frame.data.len() == SIZE.pixels()));
        assert!(frames
            .iter()
            .all(|f| f.frame.data.iter().all(|v| (0.0..=1.0).contains(v))));
        assert_timestamps(&frames);
        assert_eq!(missing, c.declares_frames.then_some(0), "{}", c.name);
        // testsrc moves: consecutive frames differ.
        let diff: f32 = frames[0]
            .frame
            .data
            .iter()
            .zip(&frames[25].frame.data)
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(
            diff > 100.0,
            "{}: frames 0 and 25 nearly equal ({diff})",
            c.name
        );
    }
}

/// A video's frames reach the model as the same pictures saved as image files do: our
/// decode and range expansion against the ffmpeg CLI's (full-range gray PNGs at the
/// video's own size), then the one resize both paths share. A different resize for
/// video (swscale's area filter) once gave a frame-difference model 2.4 times the
/// error of the same pictures read as JPEGs, and a false alarm on a fifth of the normal
/// frames.
#[test]
fn video_frames_equal_the_same_pictures_read_as_images() {
    if !ffmpeg_available("video_frames_equal_the_same_pictures_read_as_images") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for c in [&CONTAINERS[0], &CONTAINERS[1]] {
        let path = fixture(dir.path(), c.name, "testsrc", 1, c.codec_args);
        let pictures = dir.path().join(format!("{}-pictures", c.name));
        std::fs::create_dir(&pictures).unwrap();
        ffmpeg(
            &[
                "-i",
                source(&path),
                "-vf",
                "scale=out_range=full,format=gray",
            ],
            &pictures.join("%03d.png"),
        );
        let images = avad_media::frames::FrameFolder::open(&pictures)
            .unwrap()
            .read_all(SIZE)
            .unwrap();
        assert_eq!(images.len(), FRAMES as usize);
        let (frames, _) = read_all(source(&path), SIZE);
        assert_eq!(frames.len(), FRAMES as usize, "{}", c.name);
        let mut max_diff = 0.0f32;
        let mut sum_diff = 0.0f64;
        for (frame, image) in frames.iter().zip(&images) {
            for (&ours, &theirs) in frame.frame.data.iter().zip(&image.data) {
                let d = ((ours - theirs) * 255.0).abs();
                max_diff = max_diff.max(d);
                sum_diff += f64::from(d);
            }
        }
        let mean_diff = sum_diff / (FRAMES as usize * SIZE.pixels()) as f64;
        assert!(
            max_diff <= 1.0 && mean_diff < 0.05,
            "{}: max {max_diff} mean {mean_diff} levels",
            c.name
        );
    }
}

/// Black, white and mid-gray pictures come out as 0, 1 and 128/255 whether or
/// not the frame is resized (limited-range video expanded to full range).
#[test]
fn uniform_pictures_decode_to_their_full_range_level() {
    if !ffmpeg_available("uniform_pictures_decode_to_their_full_range_level") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [("black", 0.0f32), ("white", 1.0), ("gray", 128.0 / 255.0)];
    for (color, level) in cases {
        for (size, name) in [("320x240", "wide"), ("240x240", "square")] {
            let path = dir.path().join(format!("{color}_{name}.mp4"));
            let input = format!("color=c={color}:size={size}:rate=25");
            ffmpeg(
                &[
                    "-f", "lavfi", "-i", &input, "-t", "0.4", "-c:v", "libx264", "-pix_fmt",
                    "yuv420p",
                ],
                &path,
            );
            let (frames, _) = read_all(source(&path), SIZE);
            assert_eq!(frames.len(), 10);
            for f in &frames {
                let worst = f
                    .frame
                    .data
                    .iter()
                    .map(|v| (v - level).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst <= 2.0 / 255.0,
                    "{color} {size}: off by {} levels",
                    worst * 255.0
                );
            }
        }
    }
}

#[test]
fn frames_come_at_any_requested_size() {
    if !ffmpeg_available("frames_come_at_any_requested_size") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(
        dir.path(),
        "clip.mp4",
        "testsrc",
        1,
        CONTAINERS[0].codec_args,
    );
    for size in [
        FrameSize {
            width: 640,
            height: 480,
        },
        FrameSize {
            width: 17,
            height: 9,
        },
    ] {
        let mut reader = VideoReader::open(source(&path), size, &OpenOptions::default()).unwrap();
        let first = reader.next_frame().unwrap().expect("a frame");
        assert_eq!(first.frame.size, size);
        assert_eq!(first.frame.data.len(), size.pixels());
    }
}

/// Frequency from zero crossings of channel `ch` over the middle second.
fn zero_crossing_hz(samples: &[f32], channels: usize, ch: usize, rate: f64) -> f64 {
    let mono: Vec<f32> = samples.chunks(channels).map(|f| f[ch]).collect();
    let middle = &mono[mono.len() / 4..mono.len() * 3 / 4];
    let rising = middle
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    rising as f64 * rate / middle.len() as f64
}

#[test]
fn audio_track_is_the_440_hz_sine_at_48_khz() {
    if !ffmpeg_available("audio_track_is_the_440_hz_sine_at_48_khz") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for c in &CONTAINERS {
        let path = fixture(
            dir.path(),
            c.name,
            "testsrc",
            c.audio_channels.into(),
            c.codec_args,
        );
        let audio = decode_audio_track(source(&path)).unwrap();
        assert_eq!(
            (audio.sample_rate, audio.channels),
            (48_000, c.audio_channels),
            "{}",
            c.name
        );
        assert!(
            (audio.duration_s() - 2.0).abs() < 0.03,
            "{}: {} s",
            c.name,
            audio.duration_s()
        );
        for ch in 0..usize::from(audio.channels) {
            let hz = zero_crossing_hz(&audio.samples, audio.channels.into(), ch, 48_000.0);
            assert!((hz - 440.0).abs() < 2.0, "{} channel {ch}: {hz} Hz", c.name);
        }
        // lavfi's sine has amplitude 1/8: RMS 1/(8√2) over the middle second
        // (lossy codecs overshoot at the edges, not in the steady state).
        let n = audio.samples.len();
        let middle = &audio.samples[n / 4..n * 3 / 4];
        let rms = (middle.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / middle.len() as f64)
            .sqrt();
        // ffmpeg's mono→stereo upmix puts the centre at -3 dB in each side.
        let upmix = if audio.channels == 2 {
            2f64.sqrt()
        } else {
            1.0
        };
        let expected = 0.125 / 2f64.sqrt() / upmix;
        assert!(
            (rms / expected - 1.0).abs() < 0.03,
            "{}: rms {rms}, expected {expected}",
            c.name
        );
    }
}

/// PCM in AVI (which symphonia cannot open) against the CLI's own f32 decode: identical.
#[test]
fn pcm_audio_track_equals_the_ffmpeg_cli_decode() {
    if !ffmpeg_available("pcm_audio_track_equals_the_ffmpeg_cli_decode") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = fixture(
        dir.path(),
        "clip.avi",
        "testsrc",
        2,
        CONTAINERS[1].codec_args,
    );
    let raw = dir.path().join("audio.f32");
    ffmpeg(
        &[
            "-i",
            source(&path),
            "-vn",
            "-f",
            "f32le",
            "-c:a",
            "pcm_f32le",
        ],
        &raw,
    );
    let expected: Vec<f32> = std::fs::read(&raw)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let audio = decode_audio_track(source(&path)).unwrap();
    assert_eq!(audio.samples.len(), 2 * 96_000);
    assert_eq!(audio.samples, expected);
}

fn error_text(e: &MediaError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text}");
    text
}

fn open_error(source: &str) -> String {
    match VideoReader::open(source, SIZE, &OpenOptions::default()) {
        Ok(_) => panic!("{source}: opened"),
        Err(e) => error_text(&e),
    }
}

#[test]
fn missing_and_non_video_files_are_one_line_errors_naming_the_file() {
    if !ffmpeg_available("missing_and_non_video_files_are_one_line_errors_naming_the_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("nowhere.mp4");
    let e = VideoReader::open(source(&missing), SIZE, &OpenOptions::default()).unwrap_err();
    assert!(matches!(e, MediaError::Io { .. }), "{e}");
    assert!(error_text(&e).contains("nowhere.mp4"));
    assert!(probe_video(source(&missing)).is_err());

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is a shopping list, not a video\n".repeat(50)).unwrap();
    let e = open_error(source(&text));
    assert!(
        e.contains("notes.mp4") && e.contains("not a media file"),
        "{e}"
    );

    let wav = dir.path().join("tone.wav");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=16000",
            "-t",
            "0.5",
        ],
        &wav,
    );
    let renamed = dir.path().join("tone.mp4");
    std::fs::rename(&wav, &renamed).unwrap();
    let e = open_error(source(&renamed));
    assert!(
        e.contains("tone.mp4") && e.contains("no video stream (audio only)"),
        "{e}"
    );
    // Its audio is still readable through the same door.
    let audio = decode_audio_track(source(&renamed)).unwrap();
    assert_eq!(
        (audio.sample_rate, audio.channels, audio.frames()),
        (16_000, 1, 8_000)
    );

    let m4a = dir.path().join("voice.m4a");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-t",
            "0.5",
            "-c:a",
            "aac",
        ],
        &m4a,
    );
    let e = probe_video(source(&m4a)).unwrap_err();
    assert!(
        error_text(&e).contains("voice.m4a") && e.to_string().contains("no video stream"),
        "{e}"
    );

    let silent = dir.path().join("silent.mp4");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=25",
            "-t",
            "0.2",
            "-c:v",
            "libx264",
        ],
        &silent,
    );
    let e = decode_audio_track(source(&silent)).unwrap_err();
    assert!(
        error_text(&e).contains("silent.mp4") && e.to_string().contains("no audio stream"),
        "{e}"
    );

    let e = open_error(source(dir.path()));
    assert!(e.contains("directory"), "{e}");
}

fn truncated_copy(path: &Path, keep: usize) -> PathBuf {
    let bytes = std::fs::read(path).unwrap();
    let out = path.with_file_name(format!(
        "cut_{}",
        path.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::write(&out, &bytes[..keep.min(bytes.len())]).unwrap();
    out
}

/// An MP4 cut before its index cannot be opened; an AVI or a fast-start MP4
/// cut in half decodes up to the cut and says how many frames are missing;
/// a file cut inside its header is an error.
#[test]
fn truncated_files_decode_what_is_there_or_fail_naming_the_file() {
    if !ffmpeg_available("truncated_files_decode_what_is_there_or_fail_naming_the_file") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let half = |p: &Path| std::fs::metadata(p).unwrap().len() as usize / 2;

    let mp4 = fixture(
        dir.path(),
        "clip.mp4",
        "testsrc",
        1,
        CONTAINERS[0].codec_args,
    );
    let cut = truncated_copy(&mp4, half(&mp4));
    let e = open_error(source(&cut));
    assert!(e.contains("cut_clip.mp4") && e.contains("truncated"), "{e}");

    let mut args = CONTAINERS[0].codec_args.to_vec();
    args.extend(["-movflags", "+faststart"]);
    let faststart = fixture(dir.path(), "faststart.mp4", "testsrc", 1, &args);
    let avi = fixture(
        dir.path(),
        "clip.avi",
        "testsrc",
        1,
        CONTAINERS[1].codec_args,
    );
    for full in [faststart, avi] {
        let cut = truncated_copy(&full, half(&full));
        let (frames, missing) = read_all(source(&cut), SIZE);
        let n = frames.len() as u64;
        assert!(n > 5 && n < FRAMES, "{}: {n} frames", cut.display());
        assert_eq!(missing, Some(FRAMES - n), "{}", cut.display());
        // H.264 near the cut may lose a B-frame whose reference lies past it
        // (ffprobe does too), so timestamps rise on the 1/25 s grid with gaps.
        assert!(frames.windows(2).all(|w| w[1].pts_s > w[0].pts_s));
        assert!(frames
            .iter()
            .all(|f| (f.pts_s * FPS - (f.pts_s * FPS).round()).abs() < 1e-3));
    }
    // Intra-only MJPEG loses nothing before the cut.
    let (frames, _) = read_all(source(&dir.path().join("cut_clip.avi")), SIZE);
    assert_timestamps(&frames);

    let avi = dir.path().join("clip.avi");
    let header_only = truncated_copy(&avi, 600);
    let failed = match VideoReader::open(source(&header_only), SIZE, &OpenOptions::default()) {
        Err(e) => error_text(&e),
        Ok(mut reader) => error_text(&reader.next_frame().expect_err("no frame can decode")),
    };
    assert!(failed.contains("cut_clip.avi"), "{failed}");
}
