//! `avad watch` on a video file with sound and on an RTSP stream pushed over loopback by the
//! ffmpeg CLI, dropped and pushed again (ffmpeg builds; skipped, saying so, without the
//! ffmpeg CLI).
#![cfg(feature = "ffmpeg")]

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::{avad, events, ok};

/// `--smooth` for the watches whose frames are compared (see the file's watch below).
const SMOOTH: &str = "2";

fn ffmpeg(args: &[&str]) -> bool {
    match Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .status()
    {
        Ok(s) => {
            assert!(s.success(), "ffmpeg {args:?} failed");
            true
        }
        Err(_) => false,
    }
}

fn frames(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    events.iter().filter(|e| e["event"] == "frame").collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn watch_a_video_with_sound_and_an_rtsp_stream_that_drops_and_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = tmp.path().join("scene");
    let s = scene.to_str().unwrap();
    ok(&avad(&[
        "synth", s, "--train", "3", "--test", "1", "--frames", "40", "--seed", "5",
    ]));
    // The test clip as an H.264 + AAC file with short GOPs (a stream can start anywhere).
    let clip = scene.join("test").join("clip01");
    let videos = tmp.path().join("videos");
    std::fs::create_dir_all(videos.join("test")).unwrap();
    let mp4 = videos.join("test").join("clip01.mp4");
    let pattern = clip.join("%06d.png");
    let made = ffmpeg(&[
        "-framerate",
        "25",
        "-i",
        pattern.to_str().unwrap(),
        "-i",
        clip.join("audio.wav").to_str().unwrap(),
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        "-g",
        "5",
        "-bf",
        "0",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        mp4.to_str().unwrap(),
    ]);
    if !made {
        println!("SKIPPED: watch_stream: the ffmpeg CLI is not installed");
        return;
    }
    let model = tmp.path().join("visual");
    let audio = tmp.path().join("audio");
    ok(&avad(&[
        "train",
        "visual",
        s,
        "--out",
        model.to_str().unwrap(),
        "--preset",
        "demo",
        "--epochs",
        "1",
    ]));
    ok(&avad(&[
        "train",
        "audio",
        s,
        "--out",
        audio.to_str().unwrap(),
        "--epochs",
        "1",
    ]));
    let (m, a) = (model.to_str().unwrap(), audio.to_str().unwrap());

    // The file: picture and its own sound track, every frame scored by both models,
    // equal to `avad score --causal` on the same file. Smoothed at σ = 2 here, not the
    // default 5: the stream's audio below is compared on its first 15 frames, and a
    // smoothing radius of 4σ = 8 frames keeps them clear of the frames that the push's
    // missing last packets change (from frame 19 on); at 20 frames it would not.
    let file = events(&ok(&avad(&[
        "watch",
        mp4.to_str().unwrap(),
        "--model",
        m,
        "--model",
        a,
        "--every-frame",
        "--smooth",
        SMOOTH,
    ])));
    let from_file = frames(&file);
    assert_eq!(from_file.len(), 40);
    let scored = tmp.path().join("scored");
    ok(&avad(&[
        "score",
        videos.to_str().unwrap(),
        "--model",
        m,
        "--model",
        a,
        "--causal",
        "--smooth",
        SMOOTH,
        "--out",
        scored.to_str().unwrap(),
    ]));
    let csv = std::fs::read_to_string(scored.join("scores.csv")).unwrap();
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(3).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 40);
    for (f, row) in from_file.iter().zip(&rows) {
        let (v, au) = (
            f["video_regularity"].as_f64().unwrap(),
            f["audio_regularity"].as_f64().unwrap(),
        );
        assert!(
            (v - row[2]).abs() <= 1e-9 * row[2].abs().max(1.0),
            "frame {}: video {v} vs {}",
            f["frame"],
            row[2]
        );
        assert!(
            (au - row[5]).abs() <= 1e-9 * row[5].abs().max(1.0),
            "frame {}: audio {au} vs {}",
            f["frame"],
            row[5]
        );
    }

    // Ctrl-C: the watch of a long input stops at once, closes its episode and flushes
    // every event, with a summary that says it was interrupted.
    let long = tmp.path().join("long.mp4");
    assert!(ffmpeg(&[
        "-stream_loop",
        "50",
        "-i",
        mp4.to_str().unwrap(),
        "-c",
        "copy",
        long.to_str().unwrap()
    ]));
    let watcher = Command::new(env!("CARGO_BIN_EXE_avad"))
        .args([
            "watch",
            long.to_str().unwrap(),
            "--model",
            m,
            "--model",
            a,
            "--every-frame",
            "--gamma",
            "10",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let killed = Command::new("kill")
        .args(["-INT", &watcher.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = watcher.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stopped = events(&String::from_utf8_lossy(&out.stdout));
    let summary = stopped.last().unwrap();
    assert_eq!(
        (summary["event"].as_str(), summary["interrupted"].as_bool()),
        (Some("summary"), Some(true))
    );
    let n = frames(&stopped).len() as u64;
    assert!(n > 0 && n < 51 * 40, "{n} frames before Ctrl-C");
    assert_eq!(summary["frames"].as_u64(), Some(n));
    let end = stopped
        .iter()
        .find(|e| e["event"] == "end")
        .expect("the episode is closed");
    assert_eq!(end["reason"], "interrupted");

    // A damaged stream: bytes overwritten in the middle of an MPEG-TS copy cost a few
    // frames, the decoder's concealed damage is counted, the rest is scored, nothing
    // crashes.
    let ts = tmp.path().join("clip.ts");
    assert!(ffmpeg(&[
        "-i",
        mp4.to_str().unwrap(),
        "-c",
        "copy",
        "-f",
        "mpegts",
        ts.to_str().unwrap()
    ]));
    let mut bytes = std::fs::read(&ts).unwrap();
    let at = bytes.len() / 2;
    for (i, b) in bytes[at..at + 3000].iter_mut().enumerate() {
        *b = (i * 97 % 251) as u8;
    }
    std::fs::write(&ts, &bytes).unwrap();
    let damaged = events(&ok(&avad(&[
        "watch",
        ts.to_str().unwrap(),
        "--model",
        m,
        "--model",
        a,
    ])));
    let summary = damaged.last().unwrap();
    let n = summary["frames"].as_u64().unwrap();
    assert!(
        (30..=40).contains(&n),
        "{n} frames scored of the damaged 40"
    );
    let (skipped, damaged) = (
        summary["skipped_packets"].as_u64().unwrap(),
        summary["damaged_frames"].as_u64().unwrap(),
    );
    println!(
        "damaged stream: {n} frames scored, {skipped} packets skipped, {damaged} damaged frames"
    );
    assert!(skipped + damaged > 0, "the damage went unnoticed");

    // RTSP: watch listens, the ffmpeg CLI pushes the file at real-time pace, stops, and
    // pushes it again; the watch reconnects and scores both, then gives up when no third
    // push comes.
    let url = format!("rtsp://127.0.0.1:{}/live", free_port());
    let watcher = Command::new(env!("CARGO_BIN_EXE_avad"))
        .args([
            "watch",
            &url,
            "--listen",
            "--model",
            m,
            "--model",
            a,
            "--every-frame",
            "--smooth",
            SMOOTH,
            "--stall-timeout",
            "4",
            "--reconnect",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for push in 0..2 {
        // Until the watch listens (it loads its models first, and waits before it
        // listens again), a push is refused at once: try again.
        let pushed = (0..60).any(|_| {
            std::thread::sleep(Duration::from_millis(250));
            Command::new("ffmpeg")
                .args([
                    "-v",
                    "quiet",
                    "-re",
                    "-i",
                    mp4.to_str().unwrap(),
                    "-c",
                    "copy",
                    "-f",
                    "rtsp",
                    "-rtsp_transport",
                    "tcp",
                    &url,
                ])
                .status()
                .unwrap()
                .success()
        });
        assert!(pushed, "push {push} never got through");
    }
    let out = watcher.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let live = events(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        out.status.code(),
        Some(1),
        "gives up after its reconnects: {err}"
    );
    assert!(
        err.trim_end().lines().last().unwrap().contains(&url),
        "{err}"
    );
    let reconnects: Vec<&serde_json::Value> =
        live.iter().filter(|e| e["event"] == "reconnect").collect();
    assert!(
        reconnects.len() >= 3,
        "a reconnect after each push and each failed wait: {live:?}"
    );
    let streamed = frames(&live);
    assert_eq!(streamed.len(), 80, "both pushes, every frame");
    // Each push's frames are the file's frames, scored alike.
    for (k, f) in streamed.iter().enumerate() {
        let g = from_file[k % 40];
        assert_eq!(f["frame"].as_u64().unwrap(), k as u64 + 1);
        let (v, w) = (
            f["video_regularity"].as_f64().unwrap(),
            g["video_regularity"].as_f64().unwrap(),
        );
        assert!(
            (v - w).abs() <= 1e-9 * w.abs().max(1.0),
            "frame {}: stream {v}, file {w}",
            k + 1
        );
        // The sound too. Over RTSP the AAC encoder's 46 ms of priming come before the
        // first picture (the MP4's edit list hides them), and FFmpeg dates that picture
        // before the first RTCP report; once the reader settles the stream's clock on
        // its later frames the priming is dropped, as from the file, sample for sample.
        // But a push never delivers its last two AAC packets (FFmpeg's own receiver
        // misses them too: 34 of 36), so the frames the last audio window reaches (0.84 s,
        // 21 frames) hear silence there: only the first 15 of each push are compared.
        let (v, w) = (
            f["audio_regularity"].as_f64().unwrap(),
            g["audio_regularity"].as_f64().unwrap(),
        );
        if k % 40 < 15 {
            assert!(
                (v - w).abs() <= 1e-9 * w.abs().max(1.0),
                "frame {}: stream audio {v}, file {w}",
                k + 1
            );
        } else {
            assert!(v.is_finite(), "frame {}: no audio score", k + 1);
        }
    }
    let summary = live.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["frames"], 80);
    assert!(
        summary["error"].as_str().is_some_and(|e| e.contains(&url)),
        "{summary}"
    );
}
