//! `avad inspect` on video files and a generic dataset of video clips (ffmpeg builds).
#![cfg(feature = "ffmpeg")]

use std::path::Path;
use std::process::Command;

mod common;
use common::avad;

/// Makes a 2 s, 25 fps, 320x240 clip with a 440 Hz tone; false (saying so) when the ffmpeg
/// CLI is missing; a failure of the CLI that is there fails the test.
fn make_video(path: &Path, with_video: bool) -> bool {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y"]);
    if with_video {
        cmd.args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25"]);
    }
    cmd.args([
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "2",
    ]);
    if with_video {
        cmd.args(["-pix_fmt", "yuv420p"]);
    }
    cmd.arg(path);
    match cmd.status() {
        Ok(s) => {
            assert!(s.success(), "ffmpeg could not make {}", path.display());
            true
        }
        Err(_) => {
            println!("SKIPPED: ffmpeg CLI not found");
            false
        }
    }
}

#[test]
fn inspect_a_video_file_and_a_dataset_of_video_clips() {
    let d = tempfile::tempdir().unwrap();
    let test_dir = d.path().join("test");
    std::fs::create_dir_all(&test_dir).unwrap();
    let clip = test_dir.join("cam1.mp4");
    if !make_video(&clip, true) {
        return;
    }
    std::fs::write(test_dir.join("cam1.labels.csv"), "start,end\n11,20\n").unwrap();
    let out = avad(&["inspect", clip.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("320x240 at 25.000 fps, 50 frames, 2.00 s"),
        "{text}"
    );
    assert!(
        text.contains("audio track: 48000 Hz, 1 channel(s)"),
        "{text}"
    );
    let out = avad(&["inspect", d.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("test: 1 clip, 50 frames") && text.contains("10 anomalous frames"),
        "{text}"
    );
    assert!(
        text.contains("cam1.mp4: 48000 Hz"),
        "audio from the video's own track: {text}"
    );
}

#[test]
fn truncated_or_videoless_files_fail_with_one_line() {
    let d = tempfile::tempdir().unwrap();
    let good = d.path().join("good.mp4");
    if !make_video(&good, true) {
        return;
    }
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let sound = d.path().join("sound.mp4");
    assert!(make_video(&sound, false));
    for (file, needle) in [(&cut, "cut.mp4"), (&sound, "no video stream")] {
        let out = avad(&["inspect", file.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(needle) && err.trim_end().lines().count() == 1,
            "{err}"
        );
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn features_from_a_video_files_audio_track() {
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("clip.mkv");
    if !make_video(&clip, true) {
        return;
    }
    let npy = d.path().join("f.npy");
    let out = avad(&[
        "features",
        clip.to_str().unwrap(),
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (shape, data) = avad_features::npy::read_npy(&npy).unwrap();
    // 2 s at 22,050 Hz: 1 + 44100 / 512 = 87 frames; a 440 Hz tone's centroid is near 440 Hz.
    assert_eq!(shape, [87, 160]);
    assert!(
        (data[40 * 160 + 2] - 440.0).abs() < 40.0,
        "centroid {}",
        data[40 * 160 + 2]
    );
}

#[test]
fn umn_recording_as_one_video_file() {
    let d = tempfile::tempdir().unwrap();
    // A 2 s recording stands in for UMN's (not available here): two clips of 25 frames.
    if !make_video(&d.path().join("crowd.avi"), true) {
        return;
    }
    std::fs::write(d.path().join("labels.csv"), "start,end\n15,25\n40,50\n").unwrap();
    std::fs::write(
        d.path().join("clips.csv"),
        "clip,start,end,scene\nlawn1,1,25,lawn\nlawn2,26,50,lawn\n",
    )
    .unwrap();
    let out = avad(&["inspect", "--json", d.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["kind"], "UMN");
    assert_eq!(v["test"]["clips"], 2);
    assert_eq!(v["test"]["frames"], 50);
    assert_eq!(v["test"]["anomalous_frames"], 22);
    assert_eq!(v["clips"][1]["audio_offset_s"], 1.0);
    assert_eq!(v["clips"][1]["audio"]["sample_rate"], 48000);
}
