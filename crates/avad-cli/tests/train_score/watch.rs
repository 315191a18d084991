//! `avad watch` end to end on a frame folder of the synthetic scene, with and without its
//! sound: its JSON-lines events against `avad score --causal`, its flags, its evidence
//! folders, a damaged frame, and what it refuses (the two long watches are at the top of
//! train_score.rs; the detector itself is checked through the library, in
//! crates/avad/tests).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{arg, assert_fails_naming, avad, events, ok, read};
use crate::fixture;

/// The test clip watched: its frame folder.
fn clip() -> PathBuf {
    fixture().scene.join("test").join("clip01")
}

/// The test clip's sound.
pub(crate) fn sound() -> PathBuf {
    clip().join("audio.wav")
}

/// `avad watch SOURCE` with the visual model, `more` arguments after.
fn watch(source: &Path, more: &[&str]) -> Output {
    let m = arg(&fixture().model);
    avad(&[&["watch", arg(source), "--model", m][..], more].concat())
}

/// `avad watch SOURCE` with both models and `sound`, `more` arguments after.
pub(crate) fn watch_with_sound(source: &Path, sound: &Path, more: &[&str]) -> Output {
    let a = arg(&fixture().audio);
    let both = ["--model", a, "--audio", arg(sound)];
    watch(source, &[&both[..], more].concat())
}

/// The events of a watch that must succeed.
pub(crate) fn watched(out: &Output) -> Vec<serde_json::Value> {
    events(&ok(out))
}

fn frames(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    events.iter().filter(|e| e["event"] == "frame").collect()
}

/// The rows of `avad score --causal` of the test clip (with `models` and `more`
/// arguments), the numbers after clip, frame and label.
fn score_causal(models: &[&Path], more: &[&str]) -> Vec<Vec<f64>> {
    let tmp = tempfile::tempdir().unwrap();
    let mut args = vec!["score", arg(&fixture().scene)];
    for m in models {
        args.extend(["--model", arg(m)]);
    }
    args.extend(["--clip", "clip01", "--causal", "--out", arg(tmp.path())]);
    args.extend(more);
    ok(&avad(&args));
    read(&tmp.path().join("scores.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(3).map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// Equal up to float rounding: offline scoring batches four windows, live scoring one.
fn assert_close(live: f64, offline: f64, what: &str) {
    assert!(
        (live - offline).abs() <= 1e-9 * offline.abs().max(1.0),
        "{what}: live {live}, offline {offline}"
    );
}

/// A test clip watched as a stream scores every frame exactly as `avad score --causal`
/// does offline, and its events open and close where those scores cross γ; both smooth
/// by default (σ = 5).
#[test]
fn watch_scores_every_frame_as_score_causal_does_and_opens_episodes_below_gamma() {
    let model = fixture().model.as_path();
    let offline: Vec<f64> = score_causal(&[model], &[]).iter().map(|r| r[2]).collect();
    let events = watched(&watch(&clip(), &["--every-frame"]));
    let frames = frames(&events);
    assert_eq!(frames.len(), 40);
    for (f, off) in frames.iter().zip(&offline) {
        let what = format!("frame {}", f["frame"]);
        assert_close(f["video_regularity"].as_f64().unwrap(), *off, &what);
    }
    let gamma = events
        .iter()
        .find(|e| e["event"] == "start")
        .map(|e| e["gamma"].as_f64().unwrap());
    let mut open = false;
    for e in &events {
        match e["event"].as_str().unwrap() {
            "frame" => {
                let below =
                    e["video_regularity"].as_f64().unwrap() < gamma.unwrap_or(f64::NEG_INFINITY);
                assert_eq!(e["anomalous"].as_bool().unwrap(), below);
                open = below;
            }
            "start" => assert!(open, "a start follows its first anomalous frame"),
            "end" => assert!(!open || e["reason"] == "end of stream"),
            _ => {}
        }
    }
    let summary = events.last().unwrap();
    assert_eq!(
        (summary["event"].as_str(), summary["frames"].as_u64()),
        (Some("summary"), Some(40))
    );
    assert_eq!(summary["smoothing_frames"].as_f64(), Some(5.0));
}

/// Both can be told not to smooth (`--smooth 0`), and then agree as well.
#[test]
fn watch_and_score_causal_agree_unsmoothed_too() {
    let model = fixture().model.as_path();
    let smoothed: Vec<f64> = score_causal(&[model], &[]).iter().map(|r| r[2]).collect();
    let raw: Vec<f64> = score_causal(&[model], &["--smooth", "0"])
        .iter()
        .map(|r| r[2])
        .collect();
    assert_ne!(raw, smoothed);
    let events = watched(&watch(&clip(), &["--every-frame", "--smooth", "0"]));
    let live: Vec<f64> = frames(&events)
        .iter()
        .map(|e| e["video_regularity"].as_f64().unwrap())
        .collect();
    assert_eq!(live.len(), 40);
    for (live, off) in live.iter().zip(&raw) {
        assert_close(*live, *off, "unsmoothed");
    }
    assert_eq!(
        events.last().unwrap()["smoothing_frames"].as_f64(),
        Some(0.0)
    );
}

#[test]
fn watch_refuses_what_it_cannot_watch_with_one_line() {
    assert_fails_naming(
        &watch(Path::new("/no/such/source"), &[]),
        "/no/such/source: no such file or folder",
    );
    assert_fails_naming(
        &watch(&fixture().scene, &[]),
        "a dataset, not one clip; watch one of its clip folders",
    );
    assert_fails_naming(
        &watch(&clip(), &["--audio-fold", "test/clip01"]),
        "--audio-fold test/clip01: needs an audio model",
    );
    // A frame folder without its sound is refused with a one-line error.
    assert_fails_naming(
        &watch(&clip(), &["--model", arg(&fixture().audio)]),
        "--audio FILE",
    );
    // Without FFmpeg a stream cannot open, and no reconnect would mend that: one try.
    if !cfg!(feature = "ffmpeg") {
        let out = watch(Path::new("rtsp://127.0.0.1:1/x"), &[]);
        assert_fails_naming(&out, "needs avad built with the `ffmpeg` feature");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("\"reconnect\""));
    }
}

/// The test clip's frames, sorted.
pub(crate) fn frame_files() -> Vec<PathBuf> {
    let mut names: Vec<_> = std::fs::read_dir(clip())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 40);
    names
}

/// Frames that do not decode in the middle of a folder (decoded ahead, on its own
/// thread): a file that is not an image and a PNG cut in half are each skipped and
/// reported in a `skipped` event naming the file, and the watch goes on to the end with
/// the frames after them at their own times.
#[test]
fn damaged_frames_are_skipped_and_reported_and_the_watch_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let names = frame_files();
    for (i, f) in names.iter().enumerate() {
        let to = broken.join(f.file_name().unwrap());
        match i {
            25 => std::fs::write(&to, b"not a png").unwrap(),
            30 => {
                let png = std::fs::read(f).unwrap();
                std::fs::write(&to, &png[..png.len() / 2]).unwrap();
            }
            _ => {
                std::fs::copy(f, &to).unwrap();
            }
        }
    }
    let name = |i: usize| names[i].file_name().unwrap().to_string_lossy().into_owned();
    let out = watch(&broken, &["--every-frame"]);
    let events = events(&ok(&out));
    let skipped: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "skipped").collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    for (e, i) in skipped.iter().zip([25, 30]) {
        assert_eq!(e["position"].as_u64(), Some(i as u64 + 1), "{e}");
        assert!(e["error"].as_str().unwrap().contains(&name(i)), "{e}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "skipped a frame: {}",
            broken.join(name(25)).display()
        )),
        "{stderr}"
    );
    let frames = frames(&events);
    assert_eq!(frames.len(), names.len() - 2);
    // The frame after the first skipped one keeps its own time (26 / 25 fps).
    assert_eq!(frames[25]["stream_time_s"].as_f64(), Some(26.0 / 25.0));
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["damaged_frames"].as_u64(), Some(2), "{summary}");
    assert!(summary.get("error").is_none(), "{summary}");
}

/// Live with sound: a test clip and its sound watched as a stream give, frame for frame,
/// what `avad score --causal` gives for both modalities, and decide on the mean of the
/// two regularity scores.
#[test]
fn watch_with_sound_scores_as_score_causal_and_decides_on_the_mean() {
    let f = fixture();
    let rows = score_causal(&[&f.model, &f.audio], &[]);
    let events = watched(&watch_with_sound(&clip(), &sound(), &["--every-frame"]));
    let frames = frames(&events);
    assert_eq!(frames.len(), 40);
    let summary = events.last().unwrap();
    let gamma = summary["gamma"].as_f64();
    for (f, row) in frames.iter().zip(&rows) {
        let (v, au, r) = (
            f["video_regularity"].as_f64().unwrap(),
            f["audio_regularity"].as_f64().unwrap(),
            f["regularity"].as_f64().unwrap(),
        );
        assert_close(v, row[2], &format!("frame {}: video", f["frame"]));
        assert_close(au, row[5], &format!("frame {}: audio", f["frame"]));
        assert!((r - 0.5 * (v + au)).abs() < 1e-12);
        if let Some(g) = gamma {
            assert_eq!(f["anomalous"].as_bool().unwrap(), r < g);
        }
    }
    assert_eq!(summary["frames"], 40);
}

/// --min-gap 3: an episode ends only after three frames in a row at or above γ (γ set to
/// the median joint score, and the scores left unsmoothed, so that they cross it often
/// within the 40 frames).
#[test]
fn min_gap_ends_an_episode_after_three_frames_above_gamma() {
    let events = watched(&watch_with_sound(&clip(), &sound(), &["--every-frame"]));
    let mut sorted: Vec<f64> = frames(&events)
        .iter()
        .map(|f| f["regularity"].as_f64().unwrap())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2].to_string();
    let gapped = watched(&watch_with_sound(
        &clip(),
        &sound(),
        &[
            "--every-frame",
            "--gamma",
            &median,
            "--min-gap",
            "3",
            "--smooth",
            "0",
        ],
    ));
    // The episodes the rule gives, from the frame records: (first frame, end frame).
    let mut want = Vec::new();
    let (mut open, mut run) = (None, 0);
    for f in frames(&gapped) {
        let (n, below) = (
            f["frame"].as_u64().unwrap(),
            f["anomalous"].as_bool().unwrap(),
        );
        match (open, below) {
            (None, true) => open = Some(n),
            (Some(_), true) => run = 0,
            (Some(first), false) => {
                run += 1;
                if run == 3 {
                    want.push((first, n - 2));
                    (open, run) = (None, 0);
                }
            }
            (None, false) => {}
        }
    }
    let starts = gapped.iter().filter(|e| e["event"] == "start").count();
    let ends: Vec<(u64, u64)> = gapped
        .iter()
        .filter(|e| e["event"] == "end" && e["reason"] == "score back above gamma")
        .map(|e| {
            (
                e["first_frame"].as_u64().unwrap(),
                e["frame"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(ends, want, "episodes end after three frames above gamma");
    assert!(!want.is_empty() && starts >= want.len());
}

/// Evidence: with γ above every score the whole clip is one episode, saved whole, its
/// folder named in the `end` event; a second run into the same folder keeps the first
/// run's episode and numbers on.
#[test]
fn evidence_is_saved_per_episode_and_numbered_on() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    // The `end` event of a watch that saves its episodes in `evidence`.
    let watch_end = || {
        let flags = ["--gamma", "10", "--evidence", arg(&evidence)];
        watched(&watch_with_sound(&clip(), &sound(), &flags))
            .into_iter()
            .find(|e| e["event"] == "end")
            .unwrap()
    };
    let end = watch_end();
    let episode = evidence.join("episode-0001");
    assert_eq!(end["evidence"].as_str(), Some(arg(&episode)));
    assert_eq!(
        std::fs::read_dir(episode.join("frames")).unwrap().count(),
        40
    );
    let scores = read(&episode.join("scores.csv"));
    assert_eq!(scores.lines().count(), 41);
    assert!(
        scores.lines().skip(1).all(|l| l.ends_with(",1")),
        "every frame anomalous"
    );
    let wav = std::fs::metadata(episode.join("sound.wav")).unwrap().len();
    // 40 frames at 25 fps: 1.6 s of 16-bit mono at 22,050 Hz, plus the header.
    assert_eq!(wav, 44 + 2 * (1.6f64 * 22050.0).round() as u64);
    assert!(episode.join("scores.png").is_file());
    let meta: serde_json::Value =
        serde_json::from_str(&read(&episode.join("episode.json"))).unwrap();
    assert_eq!(
        (
            meta["first_frame"].as_u64(),
            meta["last_frame"].as_u64(),
            meta["truncated"].as_bool()
        ),
        (Some(1), Some(40), Some(false))
    );
    assert_eq!(
        std::fs::read_dir(&evidence).unwrap().count(),
        1,
        "no partial folders left"
    );
    let end = watch_end();
    let second = evidence.join("episode-0002");
    assert_eq!(end["evidence"].as_str(), Some(arg(&second)));
    assert_eq!(read(&episode.join("scores.csv")), scores);
    assert!(second.join("scores.csv").is_file());
}
