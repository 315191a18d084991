//! `avad train`, `avad score`, `avad calibrate`, `avad inspect MODEL` and `avad eval` end
//! to end on a small synthetic scene: what each writes, what it prints, how it fails; and
//! `avad watch` (in `watch`), with the same models. The pipeline's numbers are checked
//! through the library, in crates/avad/tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

mod common;
#[path = "train_score/watch.rs"]
mod watch;
use common::{
    arg, assert_fails_naming, assert_usage_error, avad, column, events, ok, read, synth_scene,
    tiny_preset,
};
use watch::{frame_files, sound, watch_with_sound, watched};

/// The scene; a visual model trained by `avad train visual` for one epoch, refused a
/// second run into its folder, then resumed to the preset's two (what each run said, and
/// which files the first left); an audio model trained by `avad train audio`. Made once
/// for every test here; a test that changes a model works on its own copy.
struct Fixture {
    _dir: tempfile::TempDir,
    scene: PathBuf,
    model: PathBuf,
    audio: PathBuf,
    first: Output,
    first_files: Vec<bool>,
    refused: Output,
    resumed: Output,
}

/// The files a trained visual model's folder holds.
const MODEL_FILES: [&str; 6] = [
    "model.json",
    "weights.bpk",
    "loss.csv",
    "loss.png",
    "loss.svg",
    "checkpoint/checkpoint.json",
];

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scene = synth_scene(dir.path());
        let preset = tiny_preset(dir.path());
        let model = dir.path().join("model");
        let (s, m) = (arg(&scene), arg(&model));
        let train = ["train", "visual", s, "--out", m, "--preset", &preset];
        let first = avad(&[&train[..], &["--epochs", "1"]].concat());
        let first_files = MODEL_FILES
            .iter()
            .map(|f| model.join(f).is_file())
            .collect();
        let refused = avad(&train);
        let resumed = avad(&[&train[..], &["--resume"]].concat());
        let audio = dir.path().join("audio");
        ok(&avad(&[
            "train",
            "audio",
            s,
            "--out",
            arg(&audio),
            "--epochs",
            "2",
        ]));
        Fixture {
            _dir: dir,
            scene,
            model,
            audio,
            first,
            first_files,
            refused,
            resumed,
        }
    })
}

/// The scene and the visual model, as arguments.
fn scene_and_model() -> (&'static str, &'static str) {
    (arg(&fixture().scene), arg(&fixture().model))
}

/// `avad score` of the scene into `out`, with the visual model (and `more` arguments);
/// what it printed.
fn score(out: &Path, more: &[&str]) -> String {
    let (s, m) = scene_and_model();
    ok(&avad(
        &[&["score", s, "--model", m, "--out", arg(out)][..], more].concat(),
    ))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap()
}

/// The names of the files in `dir` ending `ext`, sorted.
fn names(dir: &Path, ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    names.sort();
    names
}

/// The fixture's visual model copied into `dir/model` (for a test that changes it).
fn own_model(dir: &Path) -> PathBuf {
    let model = dir.join("model");
    std::fs::create_dir_all(&model).unwrap();
    for f in ["model.json", "weights.bpk"] {
        std::fs::copy(fixture().model.join(f), model.join(f)).unwrap();
    }
    model
}

// `avad watch` over 2,000 frames: these two long watches come first by name, so that they
// start first (tests start in the order of their names) and the short tests run beside
// them; the other watch tests are in `watch`.

/// `src`, a WAV file, with its samples repeated `times` times.
fn loop_wav(src: &Path, dst: &Path, times: usize) {
    let bytes = std::fs::read(src).unwrap();
    // RIFF chunks after the 12-byte header: the `data` chunk's body is the samples.
    let mut at = 12;
    let (start, len) = loop {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if &bytes[at..at + 4] == b"data" {
            break (at + 8, len);
        }
        at += 8 + len + len % 2;
    };
    let mut out = bytes[..start].to_vec();
    for _ in 0..times {
        out.extend_from_slice(&bytes[start..start + len]);
    }
    let data_len = (len * times) as u32;
    out[start - 4..start].copy_from_slice(&data_len.to_le_bytes());
    let riff_len = (out.len() - 8) as u32;
    out[4..8].copy_from_slice(&riff_len.to_le_bytes());
    std::fs::write(dst, out).unwrap();
}

/// The test clip's frames looped `times` times (links to them) in `dir/looped-TIMES`.
fn looped(dir: &Path, times: usize) -> PathBuf {
    let names = frame_files();
    let looped = dir.join(format!("looped-{times}"));
    std::fs::create_dir_all(&looped).unwrap();
    for k in 0..times * names.len() {
        std::os::unix::fs::symlink(
            &names[k % names.len()],
            looped.join(format!("{:05}.png", k + 1)),
        )
        .unwrap();
    }
    looped
}

/// Memory stays flat over a long watch: the clip and its sound looped 5 and 50 times (200
/// and 2,000 frames). What the watch holds (frames waiting for their scores, the audio
/// scorer's samples, features and sums) stays within the same bounds. Its peak resident
/// memory moves by tens of MB from run to run (burn's buffers, two scoring threads), so it
/// is held only to a bound that a leak of 32 kB a frame would break.
#[test]
fn a_long_watch_keeps_its_memory_flat() {
    let tmp = tempfile::tempdir().unwrap();
    let held = |times: usize| -> (u64, u64, f64) {
        let frames = looped(tmp.path(), times);
        let wav = frames.with_extension("wav");
        loop_wav(&sound(), &wav, times);
        let summary = watched(&watch_with_sound(&frames, &wav, &[]))
            .pop()
            .unwrap();
        assert_eq!(summary["frames"].as_u64(), Some(times as u64 * 40));
        (
            summary["max_pending_frames"].as_u64().unwrap(),
            summary["max_audio_held"].as_u64().unwrap(),
            summary["peak_rss_mb"].as_f64().unwrap(),
        )
    };
    let (short, long) = (held(5), held(50));
    println!("held over 200 frames {short:?}, over 2000 {long:?} (pending frames, audio values, peak MB)");
    // About a second of sound ahead of the audio scores, a window and the windows queued:
    // bounded, however long the input (frames that piled up would number in the hundreds
    // over 2000). How many are pending at the peak depends on thread timing (25 to 40 seen
    // on one machine over the same input), so the bound is absolute, not the short run's.
    assert!(
        short.0 < 80 && long.0 < 80,
        "frames pile up: {short:?} {long:?}"
    );
    assert!(
        long.1 <= short.1 + 4096,
        "the audio scorer's buffers grow: {short:?} {long:?}"
    );
    assert!(
        long.2 - short.2 < 60.0,
        "memory grows with the input: {short:?} {long:?}"
    );
}

/// Sound that stops while the picture goes on (2,000 frames, 80 s, with the clip's own
/// 1.6 s of sound): once it lags 5 s the frames are scored with silence, so they keep
/// coming out (instead of all waiting for sound until the end). A shorter timeout than a
/// second is a usage error, as every numeric option's.
#[test]
fn a_long_watch_scores_silence_once_its_sound_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let frames = looped(tmp.path(), 50);
    let out = watch_with_sound(&frames, &sound(), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no sound for 5 s of picture"), "{err}");
    let summary = events(&String::from_utf8_lossy(&out.stdout)).pop().unwrap();
    assert_eq!(summary["frames"], 2000);
    let filled = summary["sound_filled_s"].as_f64().unwrap();
    assert!(
        (filled - (80.0 - 1.6 - 5.0)).abs() < 0.1,
        "{filled} s of silence filled"
    );
    let pending = summary["max_pending_frames"].as_u64().unwrap();
    assert!(pending < 5 * 25 + 40, "{pending} frames waited at once");
    let short = watch_with_sound(&frames, &sound(), &["--sound-timeout", "0.5"]);
    assert_usage_error(&short, "error: invalid value '0.5' for '--sound-timeout");
    let err = String::from_utf8_lossy(&short.stderr);
    assert!(
        err.lines()
            .next()
            .unwrap()
            .ends_with("at least 1 and at most 86400, not \"0.5\""),
        "{err}"
    );
}

#[test]
fn train_visual_writes_its_model_refuses_to_overwrite_it_and_resumes() {
    let f = fixture();
    let log = String::from_utf8_lossy(&f.first.stderr);
    assert!(f.first.status.success(), "{log}");
    assert!(log.contains("epoch 1/1: train loss"), "{log}");
    for (file, there) in MODEL_FILES.iter().zip(&f.first_files) {
        assert!(there, "missing {file}");
    }
    // A finished model is not overwritten by accident.
    assert_fails_naming(&f.refused, "already holds a trained model");
    let log = String::from_utf8_lossy(&f.resumed.stderr);
    assert!(f.resumed.status.success(), "{log}");
    assert!(
        log.contains("resuming after epoch 1") && log.contains("epoch 2/2"),
        "{log}"
    );
    let card = json(&f.model.join("model.json"));
    assert_eq!(card["kind"], "visual");
    assert_eq!(card["history"].as_array().unwrap().len(), 2);
    let held = card["validation_clips"].as_array().unwrap().len();
    assert_eq!(card["train_clips"].as_array().unwrap().len() + held, 3);
    assert_eq!(held, 1, "33% of 3 clips");
    assert_eq!(
        read(&f.model.join("loss.csv")).lines().count(),
        3,
        "header and two epochs"
    );
}

/// A model whose weights went missing fails naming the file once, and writes nothing.
#[test]
fn a_model_missing_its_weights_fails_naming_the_file_once() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("no-weights");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(
        fixture().model.join("model.json"),
        broken.join("model.json"),
    )
    .unwrap();
    let o = tmp.path().join("never");
    let out = avad(&[
        "score",
        arg(&fixture().scene),
        "--model",
        arg(&broken),
        "--out",
        arg(&o),
    ]);
    assert_fails_naming(&out, "weights.bpk: No such file");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("weights.bpk")
            .count(),
        1
    );
    assert!(!o.exists());
}

/// Scored twice, a reloaded model gives the same bytes; the scores, the metrics, the ROC
/// and a plot per test clip are written.
#[test]
fn score_writes_the_same_scores_twice_with_its_metrics_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let (out1, out2) = (tmp.path().join("scores1"), tmp.path().join("scores2"));
    let table = score(&out1, &[]);
    score(&out2, &[]);
    let csv = read(&out1.join("scores.csv"));
    assert_eq!(csv, read(&out2.join("scores.csv")));
    assert!(
        table.contains("| video, per-video min-max |") && table.contains("| video, calibrated |"),
        "{table}"
    );
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 40,
        "a header and one row per test frame"
    );
    assert!(
        csv.starts_with(
            "clip,frame,label,video_error,video_regularity_minmax,video_regularity_calibrated\n"
        ),
        "{csv}"
    );
    let metrics = json(&out1.join("metrics.json"));
    assert_eq!(metrics["frames"], 80);
    let rows = metrics["frame_level"].as_array().unwrap();
    let normalisations: Vec<&str> = rows
        .iter()
        .map(|r| r["normalisation"].as_str().unwrap())
        .collect();
    assert_eq!(normalisations, ["per-video min-max", "calibrated"]);
    assert!(rows.iter().all(|r| r["modality"] == "video"));
    let pixel = metrics["pixel_level_auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pixel), "{pixel}");
    let models = &metrics["models"];
    assert!(
        models[0].as_str().unwrap().contains("motion score"),
        "{models}"
    );
    assert!(out1.join("roc.png").is_file() && out1.join("metrics.md").is_file());
    assert_eq!(
        names(&out1.join("plots"), ""),
        ["clip01.png", "clip01.svg", "clip02.png", "clip02.svg"],
        "one plot per test clip, PNG and SVG"
    );
}

/// `avad inspect MODEL` shows the card, and the γ it gives is the one scoring decides
/// with; an audio model's shows its folds.
#[test]
fn inspect_shows_a_models_card_and_the_gamma_that_score_decides_with() {
    let m = arg(&fixture().model);
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&avad(&["inspect", m, "--json"]))).unwrap();
    assert_eq!(shown["kind"], "visual");
    assert_eq!(shown["epochs"], 2);
    assert_eq!(shown["validation_clips"], 1);
    assert_eq!(shown["default_score"], "motion");
    let tmp = tempfile::tempdir().unwrap();
    score(tmp.path(), &[]);
    let metrics = json(&tmp.path().join("metrics.json"));
    let calibrated = metrics["frame_level"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["modality"] == "video" && r["normalisation"] == "calibrated")
        .unwrap();
    assert_eq!(
        shown["normal_gamma"]["motion"], calibrated["threshold_gamma"],
        "inspect's γ is the one `avad score` decides with"
    );
    let words = ok(&avad(&["inspect", m]));
    assert!(
        words.contains("visual model, preset cpu")
            && words.contains("scores with motion by default"),
        "{words}"
    );
    let a = arg(&fixture().audio);
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&avad(&["inspect", a, "--json"]))).unwrap();
    assert_eq!(shown["kind"], "audio");
    assert_eq!(shown["folds"].as_array().unwrap().len(), 1);
    assert_eq!(shown["normal_gamma"], shown["folds"][0]["normal_gamma"]);
}

/// `--smooth 0` leaves each clip's per-video min-max scores spanning [0, 1], and the
/// errors as they are by default.
#[test]
fn score_smooth_0_leaves_the_scores_unsmoothed() {
    let tmp = tempfile::tempdir().unwrap();
    let (raw, smoothed) = (tmp.path().join("raw"), tmp.path().join("smoothed"));
    score(&raw, &["--smooth", "0"]);
    score(&smoothed, &[]);
    let (raw, smoothed) = (
        read(&raw.join("scores.csv")),
        read(&smoothed.join("scores.csv")),
    );
    for clip in column(&raw, 4).chunks(40) {
        let lo = clip.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = clip.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(
            (lo, hi),
            (0.0, 1.0),
            "per-video min-max spans [0, 1] in each clip"
        );
    }
    assert_eq!(column(&raw, 3), column(&smoothed, 3), "the same errors");
    for i in [4, 5] {
        assert_ne!(column(&raw, i), column(&smoothed, i));
    }
}

#[test]
fn bad_score_options_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, m) = scene_and_model();
    let out = tmp.path().join("never");
    let o = arg(&out);
    // A usage error (clap's exit code 2), named on its first line.
    assert_usage_error(
        &avad(&["score", s, "--model", m, "--smooth=-1", "--out", o]),
        "error: invalid value '-1' for '--smooth",
    );
    // A hop past the window would leave frames unscored (error 0: perfectly regular).
    assert_fails_naming(
        &avad(&["score", s, "--model", m, "--hop", "11", "--out", o]),
        "--hop 11: must be between 1 and the window's 10 frames",
    );
    assert!(!out.exists());
}

/// Scored again into the same folder, one clip only: no plot of the other is left.
#[test]
fn scoring_one_clip_into_a_used_folder_leaves_no_plot_of_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    score(tmp.path(), &[]);
    assert_eq!(names(&tmp.path().join("plots"), ".png").len(), 2);
    score(tmp.path(), &["--clip", "clip01"]);
    assert_eq!(
        names(&tmp.path().join("plots"), ""),
        ["clip01.png", "clip01.svg"]
    );
}

/// Both splits hold a clip01: each is reported, and plotted, as split/name.
#[test]
fn clips_that_share_a_name_are_reported_and_plotted_as_split_and_name() {
    let tmp = tempfile::tempdir().unwrap();
    let selection = [
        "--split",
        "all",
        "--clip",
        "clip01",
        "--clip",
        "train/clip02",
    ];
    score(tmp.path(), &selection);
    let mut names_in_csv: Vec<String> = read(&tmp.path().join("scores.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    names_in_csv.dedup();
    assert_eq!(names_in_csv, ["train/clip01", "clip02", "test/clip01"]);
    assert_eq!(
        names(&tmp.path().join("plots"), ".png"),
        ["clip02.png", "test-clip01.png", "train-clip01.png"]
    );
}

/// The motion score is the default; the patch score and eq. 3's whole-frame error are one
/// flag away, each with its own errors; eq. 3's is never negative.
#[test]
fn each_video_score_is_one_flag_away() {
    let tmp = tempfile::tempdir().unwrap();
    let scores = |name: &str| {
        let out = tmp.path().join(name);
        let flag = ["--video-score", name];
        score(&out, if name == "motion" { &[] } else { &flag });
        read(&out.join("scores.csv"))
    };
    let (motion, paper, patch) = (scores("motion"), scores("paper"), scores("patch"));
    assert!(column(&paper, 3).iter().all(|&e| e > 0.0));
    assert_ne!(paper, motion);
    assert_ne!(patch, motion);
    assert_ne!(patch, paper);
    let metrics = json(&tmp.path().join("paper").join("metrics.json"));
    let models = &metrics["models"];
    assert!(
        models[0].as_str().unwrap().contains("paper score"),
        "{models}"
    );
}

/// A model calibrated before the patch and motion scores (a card without them) is told to
/// run `avad calibrate` for either, scores with eq. 3 by default, and `avad calibrate`
/// gives it both: the card a new model has, to the byte.
#[test]
fn calibrate_gives_a_model_without_patch_and_motion_scores_its_card_back() {
    let tmp = tempfile::tempdir().unwrap();
    let model = own_model(tmp.path());
    let (s, m) = (arg(&fixture().scene), arg(&model));
    let card_path = model.join("model.json");
    let original = read(&card_path);
    let mut old: serde_json::Value = serde_json::from_str(&original).unwrap();
    for score in ["patch", "motion"] {
        assert!(old.as_object_mut().unwrap().remove(score).is_some());
    }
    std::fs::write(&card_path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let out = tmp.path().join("no-patch");
    let o = arg(&out);
    for score in ["patch", "motion"] {
        assert_fails_naming(
            &avad(&["score", s, "--model", m, "--video-score", score, "--out", o]),
            "avad calibrate",
        );
    }
    // Without either, the default falls back to eq. 3.
    ok(&avad(&["score", s, "--model", m, "--out", o]));
    let models = &json(&out.join("metrics.json"))["models"];
    assert!(
        models[0].as_str().unwrap().contains("paper score"),
        "{models}"
    );
    ok(&avad(&["calibrate", m, s]));
    assert_eq!(
        read(&card_path),
        original,
        "recalibrating on the same clips gives the same card"
    );
}

/// Clips are known by name: a clip the model trained on is refused, in its dataset or in
/// another, and another dataset has no held-out clip to take by default; a clip named is
/// taken, and said so in the card.
#[test]
fn calibrate_refuses_clips_the_model_trained_on_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let model = own_model(tmp.path());
    let (s, m) = (arg(&fixture().scene), arg(&model));
    let card_path = model.join("model.json");
    let original = read(&card_path);
    let card = json(&card_path);
    let trained_on = card["train_clips"][0].as_str().unwrap();
    assert_fails_naming(
        &avad(&["calibrate", m, s, "--clip", trained_on]),
        "trained the model",
    );
    assert_fails_naming(
        &avad(&["calibrate", m, s, "--clip", "nope"]),
        "no training clip named nope",
    );
    let other = tmp.path().join("other-scene");
    let o = arg(&other);
    ok(&avad(&[
        "synth", o, "--train", "3", "--test", "1", "--frames", "40", "--seed", "4",
    ]));
    assert_fails_naming(
        &avad(&["calibrate", m, o]),
        "other-scene: the model was trained on",
    );
    assert_fails_naming(
        &avad(&["calibrate", m, o, "--clip", trained_on]),
        "trained the model (a clip of that name in",
    );
    assert_eq!(read(&card_path), original, "a refusal changes nothing");
    let held = card["validation_clips"][0].as_str().unwrap();
    ok(&avad(&["calibrate", m, s, "--clip", held]));
    assert_eq!(
        json(&card_path)["calibrated_on"],
        "1 normal clip named to avad calibrate"
    );
    ok(&avad(&["calibrate", m, s]));
    assert_eq!(read(&card_path), original);
}

#[test]
fn train_audio_of_normal_training_sound_writes_one_fold() {
    let audio = &fixture().audio;
    let card = json(&audio.join("model.json"));
    assert_eq!(card["kind"], "audio");
    assert_eq!(
        card["folds"].as_array().unwrap().len(),
        1,
        "one fold: the training clips are all normal"
    );
    assert!(audio.join("weights.bpk").is_file());
}

/// Two normal recordings (the scene's first two training clips' sound) in `dir`.
fn normal_recordings(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    for (i, clip) in ["clip01", "clip02"].iter().enumerate() {
        std::fs::copy(
            fixture().scene.join("train").join(clip).join("audio.wav"),
            dir.join(format!("day{i}.wav")),
        )
        .unwrap();
    }
}

/// A site's own recordings of normal sound: one fold that scores every clip.
#[test]
fn train_audio_on_normal_recordings_writes_one_fold_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let normal = tmp.path().join("normal-sound");
    normal_recordings(&normal);
    let site = tmp.path().join("site-audio");
    ok(&avad(&[
        "train",
        "audio",
        "--normal-audio",
        arg(&normal),
        "--out",
        arg(&site),
        "--epochs",
        "1",
    ]));
    let card = json(&site.join("model.json"));
    let protocol = &card["protocol"];
    assert!(
        protocol
            .as_str()
            .unwrap()
            .starts_with("normal recordings in"),
        "{protocol}"
    );
    let fold = &card["folds"][0];
    assert_eq!(fold["held_out"], serde_json::Value::Null);
    assert_eq!(
        fold["train_clips"].as_array().unwrap().len()
            + fold["validation_clips"].as_array().unwrap().len(),
        2
    );
}

/// --normal-audio with nothing to learn from: an empty folder, a file, and a recording
/// shorter than one window (0.74 s). Each says so, and writes nothing.
#[test]
fn train_audio_refuses_recordings_it_cannot_learn_from() {
    let tmp = tempfile::tempdir().unwrap();
    let normal = tmp.path().join("normal-sound");
    normal_recordings(&normal);
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let one = normal.join("day0.wav");
    let short = tmp.path().join("short-sound");
    std::fs::create_dir(&short).unwrap();
    let wav = std::fs::read(&one).unwrap();
    // 44 header bytes and 2048 16-bit samples (0.09 s), the data size patched to match.
    let mut cut = wav[..44 + 4096].to_vec();
    cut[40..44].copy_from_slice(&4096u32.to_le_bytes());
    cut[4..8].copy_from_slice(&(36u32 + 4096).to_le_bytes());
    std::fs::write(short.join("blip.wav"), cut).unwrap();
    let site2 = tmp.path().join("site2");
    for (source, needle) in [
        (&empty, "no audio files"),
        (
            &one,
            "day0.wav: --normal-audio takes a folder of recordings, not a file",
        ),
        (
            &short,
            "short-sound: no recording has 32 feature frames (0.74 s) of normal sound in a row",
        ),
    ] {
        assert_fails_naming(
            &avad(&[
                "train",
                "audio",
                "--normal-audio",
                arg(source),
                "--out",
                arg(&site2),
            ]),
            needle,
        );
        assert!(!site2.exists(), "nothing written on failure");
    }
}

/// The audio model alone scores the audio columns, offline or causally; with the visual
/// model, three columns per modality and a row of each in the table.
#[test]
fn score_with_the_audio_model_alone_and_with_both() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, a) = (arg(&fixture().scene), arg(&fixture().audio));
    for causal in [false, true] {
        let out = tmp.path().join(format!("audio-{causal}"));
        let mut args = vec!["score", s, "--model", a, "--out", arg(&out)];
        if causal {
            args.push("--causal");
        }
        ok(&avad(&args));
        let csv = read(&out.join("scores.csv"));
        assert!(csv.starts_with("clip,frame,label,audio_error,"), "{csv}");
        assert_eq!(csv.lines().count(), 1 + 2 * 40);
    }
    let both = tmp.path().join("both");
    let table = score(&both, &["--model", a]);
    assert!(
        table.contains("| audio, calibrated |") && table.contains("| video, calibrated |"),
        "{table}"
    );
    let csv = read(&both.join("scores.csv"));
    assert_eq!(
        csv.lines().next().unwrap().split(',').count(),
        3 + 2 * 3,
        "three columns per modality"
    );
    assert_eq!(csv.lines().count(), 1 + 2 * 40);
}

#[test]
fn score_refuses_models_it_cannot_load_with_one_line() {
    let s = arg(&fixture().scene);
    let a = arg(&fixture().audio);
    let tmp = tempfile::tempdir().unwrap();
    let o = arg(tmp.path());
    assert_fails_naming(
        &avad(&["score", s, "--model", a, "--model", a, "--out", o]),
        "a second audio model",
    );
    assert_fails_naming(
        &avad(&["score", s, "--model", "/no/such/model", "--out", "/no/out"]),
        "/no/such/model: no such model folder",
    );
    assert_fails_naming(
        &avad(&["score", s, "--model", s, "--out", "/no/out"]),
        "scene: not a model folder (no model.json",
    );
}

/// The evaluation: every modality, both fusions, a report that renders in a browser, and
/// scores.csv with the fused regularity scores of every frame: the label-free mean is the
/// mean of the two modalities' regularity scores, the net's is 1 − P(anomalous).
#[test]
fn eval_reports_every_row_and_the_fused_scores_of_every_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, m) = scene_and_model();
    let (a, ev) = (arg(&fixture().audio), tmp.path().join("eval"));
    let table = ok(&avad(&[
        "eval",
        s,
        "--model",
        m,
        "--model",
        a,
        "--out",
        arg(&ev),
        "--fusion-epochs",
        "2",
        "--fusion-seeds",
        "2",
    ]));
    for row in [
        "| audio, per-video min-max |",
        "| joint (mean), calibrated |",
        "| joint (Table 4 net), calibrated |",
        "| joint | 93.1 | 8.1 |",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    let results = json(&ev.join("results.json"));
    assert_eq!(
        results["rows"].as_array().unwrap().len(),
        8,
        "audio, video, two fusions, two normalisations each"
    );
    assert_eq!(results["fusion_seeds"].as_u64(), Some(2));
    let csv = read(&ev.join("scores.csv"));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| {
        let i = header.iter().position(|h| *h == name);
        column(
            &csv,
            i.unwrap_or_else(|| panic!("{name} missing from {header:?}")),
        )
    };
    let mean = |m: &str, v: &str, a: &str| {
        let (m, v, a) = (col(m), col(v), col(a));
        assert_eq!(m.len(), 80);
        for ((m, v), a) in m.iter().zip(&v).zip(&a) {
            assert_eq!(*m, 0.5 * (v + a), "{m} {v} {a}");
        }
    };
    for norm in ["minmax", "calibrated"] {
        mean(
            &format!("joint_mean_regularity_{norm}"),
            &format!("video_regularity_{norm}"),
            &format!("audio_regularity_{norm}"),
        );
        let net = col(&format!("joint_net_regularity_{norm}"));
        assert!(net.iter().all(|p| (0.0..=1.0).contains(p)), "{net:?}");
    }
    check_report_renders(&ev.join("report.html"), 3);
}

/// Opens `report` in headless Chromium and checks that its tables and all its images
/// rendered (the page records both in `<body data-rendered>` once loaded). Skipped, with a
/// note, where Chromium is not installed (CI installs Debian's `chromium`).
fn check_report_renders(report: &Path, images: usize) {
    let html = read(report);
    assert_eq!(
        html.matches("<img ").count(),
        images,
        "one ROC and one plot per test clip"
    );
    assert!(
        !html.contains("src=\"plots/") && html.contains("data:image/png;base64,"),
        "images are embedded"
    );
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!(
            "SKIPPED: report rendering check: no chromium on PATH (apt-get install chromium)"
        );
        return;
    };
    let url = format!("file://{}", report.canonicalize().unwrap().display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let rendered = dom
        .split("data-rendered=\"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    assert_eq!(
        rendered,
        Some(format!("tables=2 rows={} images={images}/{images}", 1 + 8 + 1 + 3).as_str()),
        "report did not render: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An empty folder `in` standing for the dataset and the model (neither is read far
/// enough to tell), and an output folder `o` beside it, in `tmp`.
fn input_and_output(tmp: &Path) -> (PathBuf, PathBuf) {
    let input = tmp.join("in");
    std::fs::create_dir(&input).unwrap();
    (input, tmp.join("o"))
}

#[test]
fn bad_model_folders_fail_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = input_and_output(tmp.path());
    let (t, o) = (arg(&input), arg(&out));
    assert_fails_naming(&avad(&["score", t, "--model", t, "--out", o]), "model.json");
    // An output inside an input is refused before anything is read.
    let inside = input.join("o");
    assert_fails_naming(
        &avad(&["score", t, "--model", t, "--out", arg(&inside)]),
        "in/o: is inside the dataset",
    );
    assert!(!inside.exists());
    std::fs::write(input.join("model.json"), "{\"kind\": 3}").unwrap();
    assert_fails_naming(
        &avad(&["score", t, "--model", t, "--out", o]),
        "not an avad model card",
    );
    assert_fails_naming(&avad(&["inspect", t]), "not an avad model card");
    // Weights whose card is gone are a broken model, not a dataset.
    let lost = tmp.path().join("lost");
    std::fs::create_dir(&lost).unwrap();
    std::fs::write(lost.join("weights.bpk"), b"x").unwrap();
    assert_fails_naming(
        &avad(&["inspect", arg(&lost)]),
        "lost: holds weights.bpk but no model.json",
    );
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn bad_presets_and_resumes_fail_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = input_and_output(tmp.path());
    let (t, o) = (arg(&input), arg(&out));
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", o, "--preset", "fast"]),
        "not a built-in preset (paper, cpu, cpu-240, demo)",
    );
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", o, "--size", "100"]),
        "size 100 must be a positive multiple of 8",
    );
    // --resume continues only a run of the same kind whose checkpoint is there, and a
    // refusal leaves the model as it was.
    let card = |dir: &Path, kind: &str| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("model.json"), format!("{{\"kind\": \"{kind}\"}}")).unwrap();
    };
    let vis = tmp.path().join("vis");
    card(&vis, "visual");
    std::fs::create_dir(vis.join("checkpoint")).unwrap();
    assert_fails_naming(
        &avad(&["train", "audio", t, "--out", arg(&vis), "--resume"]),
        "vis: holds a visual model: no audio training to resume",
    );
    assert_eq!(read(&vis.join("model.json")), "{\"kind\": \"visual\"}");
    let aud = tmp.path().join("aud");
    card(&aud, "audio");
    let a = arg(&aud);
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", a, "--resume"]),
        "aud: holds an audio model: no visual training to resume",
    );
    assert_fails_naming(
        &avad(&["train", "audio", t, "--out", a, "--resume"]),
        "aud: holds a trained model and no checkpoint to resume",
    );
    // A run stopped before its card: its checkpoints say its kind.
    let stopped = tmp.path().join("stopped");
    std::fs::create_dir_all(stopped.join("checkpoint/test/Test001")).unwrap();
    std::fs::write(
        stopped.join("checkpoint/test/Test001/checkpoint.json"),
        "{}",
    )
    .unwrap();
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", arg(&stopped), "--resume"]),
        "stopped: holds the checkpoints of an audio training run",
    );
    let stopped_visual = tmp.path().join("stopped-visual");
    std::fs::create_dir_all(stopped_visual.join("checkpoint")).unwrap();
    std::fs::write(stopped_visual.join("checkpoint/checkpoint.json"), "{}").unwrap();
    assert_fails_naming(
        &avad(&[
            "train",
            "audio",
            t,
            "--out",
            arg(&stopped_visual),
            "--resume",
        ]),
        "stopped-visual: holds the checkpoints of a visual training run",
    );
    // UMN has only test clips: the visual model must learn from other normal footage.
    let umn = tmp.path().join("umn");
    std::fs::create_dir_all(umn.join("frames")).unwrap();
    for i in 1..=4 {
        image::GrayImage::from_pixel(32, 24, image::Luma([i as u8]))
            .save(umn.join(format!("frames/{i}.png")))
            .unwrap();
    }
    std::fs::write(umn.join("labels.csv"), "start,end\n2,2\n").unwrap();
    std::fs::write(umn.join("clips.csv"), "clip,start,end\na,1,2\nb,3,4\n").unwrap();
    assert_fails_naming(
        &avad(&["train", "visual", arg(&umn), "--out", o]),
        "no training clips to learn normal scenes from (UMN's clips are all test clips",
    );
    assert!(!out.exists(), "nothing written on failure");
}

/// Values that would panic, allocate without bound or decide nothing are usage errors
/// (clap's exit code 2), named on the first line; a seed past the largest is an error.
#[test]
fn values_out_of_range_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = input_and_output(tmp.path());
    let (t, o) = (arg(&input), arg(&out));
    let last = u64::MAX.to_string();
    assert_fails_naming(
        &avad(&["eval", t, "--model", t, "--out", o, "--fusion-seed", &last]),
        "--fusion-seed plus --fusion-seeds is past the largest seed",
    );
    for (args, flag) in [
        (
            vec!["eval", t, "--model", t, "--out", o, "--fusion-seeds", "0"],
            "--fusion-seeds",
        ),
        (
            vec!["eval", t, "--model", t, "--out", o, "--fusion-seeds", "101"],
            "--fusion-seeds",
        ),
        (
            vec!["eval", t, "--model", t, "--out", o, "--fusion-epochs", "0"],
            "--fusion-epochs",
        ),
        (
            vec!["score", t, "--model", t, "--out", o, "--smooth", "1e9"],
            "--smooth",
        ),
        (
            vec!["score", t, "--model", t, "--out", o, "--hop", "0"],
            "--hop",
        ),
        (vec!["watch", t, "--model", t, "--fps", "0"], "--fps"),
        (vec!["watch", t, "--model", t, "--fps", "NaN"], "--fps"),
        (vec!["watch", t, "--model", t, "--gamma", "NaN"], "--gamma"),
        (
            vec!["watch", t, "--model", t, "--stall-timeout", "inf"],
            "--stall-timeout",
        ),
        (
            vec!["watch", t, "--model", t, "--workers", "100000"],
            "--workers",
        ),
        (vec!["synth", o, "--frames", "0"], "--frames"),
    ] {
        let run = avad(&args);
        assert_usage_error(&run, "error: invalid value ");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(&format!("for '{flag}")), "{err}");
    }
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn synth_fails_with_one_line_naming_the_folder_as_given() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    assert_fails_naming(
        &avad(&["synth", arg(&out), "--train", "0", "--test", "0"]),
        "--train 0 and --test 0: no clip to write",
    );
    assert!(!out.exists(), "nothing written on failure");
    // A folder that cannot be made is named as given, not as its temporary, and once.
    let blocked = tmp.path().join("file/scene");
    std::fs::write(tmp.path().join("file"), b"x").unwrap();
    let run = avad(&["synth", arg(&blocked)]);
    assert_fails_naming(&run, "file/scene: Not a directory (os error 20)");
    assert_eq!(
        String::from_utf8_lossy(&run.stderr)
            .matches("os error")
            .count(),
        1
    );
}

/// A scene of `frames`-frame clips, seed 5, 2 training and 3 test clips, in `root`, its
/// training clips silent: Ped2's case.
fn silent_training_clips(root: &Path, frames: &str) {
    ok(&avad(&[
        "synth",
        arg(root),
        "--train",
        "2",
        "--test",
        "3",
        "--frames",
        frames,
        "--seed",
        "5",
    ]));
    for clip in ["clip01", "clip02"] {
        std::fs::remove_file(root.join("train").join(clip).join("audio.wav")).unwrap();
    }
}

/// Ped2's case: no training clip has sound, so `avad train audio` trains one fold per
/// labelled test clip, each on the normal stretches of the others and never on its own.
#[test]
fn audio_folds_leave_their_own_clip_out_when_training_clips_are_silent() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = tmp.path().join("scene");
    let s = arg(&scene);
    silent_training_clips(&scene, "100");
    let model = tmp.path().join("audio");
    let m = arg(&model);
    ok(&avad(&["train", "audio", s, "--out", m, "--epochs", "1"]));
    let card: serde_json::Value = serde_json::from_str(&read(&model.join("model.json"))).unwrap();
    assert!(
        card["protocol"]
            .as_str()
            .unwrap()
            .starts_with("leave-one-clip-out"),
        "{}",
        card["protocol"]
    );
    let folds = card["folds"].as_array().unwrap();
    let test = ["test/clip01", "test/clip02", "test/clip03"];
    let held: Vec<&str> = folds
        .iter()
        .map(|f| f["held_out"].as_str().unwrap())
        .collect();
    assert_eq!(held, test, "one fold per labelled clip");
    for f in folds {
        let out = f["held_out"].as_str().unwrap();
        let mut pool: Vec<&str> = ["train_clips", "validation_clips"]
            .iter()
            .flat_map(|k| f[*k].as_array().unwrap())
            .map(|c| c.as_str().unwrap())
            .collect();
        pool.sort();
        let others: Vec<&str> = test.iter().copied().filter(|c| *c != out).collect();
        assert_eq!(pool, others, "fold {out} trains on the other clips only");
        assert!(model.join(f["weights"].as_str().unwrap()).is_file());
    }
    // Each clip is scored by its own fold; a training clip (silent here) gets no audio.
    let scores = tmp.path().join("scores");
    ok(&avad(&["score", s, "--model", m, "--out", arg(&scores)]));
    let csv = read(&scores.join("scores.csv"));
    assert_eq!(csv.lines().count(), 1 + 3 * 100);
    // That fold, and no other: clip02's audio errors are those of a model made of fold 2
    // alone (its card cut to that fold, the held-out name dropped, so that it may score
    // any clip it did not train on).
    let single = tmp.path().join("fold2-alone");
    std::fs::create_dir(&single).unwrap();
    let mut card = card;
    let mut fold = card["folds"][1].clone();
    assert_eq!(fold["held_out"], "test/clip02");
    fold["held_out"] = serde_json::Value::Null;
    fold["weights"] = "weights.bpk".into();
    std::fs::copy(
        model.join(card["folds"][1]["weights"].as_str().unwrap()),
        single.join("weights.bpk"),
    )
    .unwrap();
    card["folds"] = serde_json::json!([fold]);
    std::fs::write(single.join("model.json"), card.to_string()).unwrap();
    let alone = tmp.path().join("scores-fold2");
    ok(&avad(&[
        "score",
        s,
        "--model",
        arg(&single),
        "--clip",
        "clip02",
        "--out",
        arg(&alone),
    ]));
    let errors = |csv: &str, clip: &str| -> Vec<String> {
        csv.lines()
            .filter(|l| l.starts_with(&format!("{clip},")))
            .map(|l| l.split(',').nth(3).unwrap().to_string())
            .collect()
    };
    let by_fold = errors(&csv, "clip02");
    assert_eq!(by_fold.len(), 100);
    assert_eq!(by_fold, errors(&read(&alone.join("scores.csv")), "clip02"));
    assert_ne!(
        errors(&csv, "clip01")[..10],
        errors(&read(&alone.join("scores.csv")), "clip02")[..10],
        "another fold scores clip01"
    );
    // Another dataset's clips were seen by no fold, whatever their names: any fold scores
    // them (a training clip's name here is held out by no fold of this model).
    let other = tmp.path().join("other");
    ok(&avad(&[
        "synth",
        arg(&other),
        "--train",
        "1",
        "--test",
        "1",
        "--frames",
        "40",
    ]));
    let foreign = tmp.path().join("foreign");
    ok(&avad(&[
        "score",
        arg(&other),
        "--model",
        m,
        "--split",
        "train",
        "--out",
        arg(&foreign),
    ]));
    assert_eq!(read(&foreign.join("scores.csv")).lines().count(), 1 + 40);
}

/// Too short to leave a clip out: 60 frames leave no fold of this seed a clip with 0.74 s
/// of normal sound besides its own, and the error says so.
#[test]
fn audio_folds_need_another_clip_with_a_window_of_normal_sound() {
    let tmp = tempfile::tempdir().unwrap();
    let short = tmp.path().join("short");
    silent_training_clips(&short, "60");
    let never = tmp.path().join("never");
    assert_fails_naming(
        &avad(&["train", "audio", arg(&short), "--out", arg(&never)]),
        "fold test/clip01: no other labelled clip has 32 feature frames (0.74 s) of normal sound in a row",
    );
    assert!(!never.exists());
}
