//! `avad score` on the synthetic scene: the same bytes twice, its metrics, plots and flags.

use super::*;

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
            "clip,frame,label,video_error,video_regularity_minmax,video_regularity_calibrated,\
             video_autoencoder_error,video_autoencoder_regularity_minmax,video_autoencoder_regularity_calibrated,\
             video_speed_error,video_speed_regularity_minmax,video_speed_regularity_calibrated\n"
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
    assert_eq!(
        normalisations,
        ["per-video min-max", "calibrated"].repeat(3)
    );
    let modalities: Vec<&str> = rows
        .iter()
        .step_by(2)
        .map(|r| r["modality"].as_str().unwrap())
        .collect();
    assert_eq!(
        modalities,
        ["video", "video alone: autoencoder", "video alone: speed"]
    );
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
    // The γ `avad score` decides with: with the speed score by default, the motion
    // score's alone with --no-speed.
    let gamma = |more: &[&str]| -> serde_json::Value {
        let tmp = tempfile::tempdir().unwrap();
        score(tmp.path(), more);
        let metrics = json(&tmp.path().join("metrics.json"));
        metrics["frame_level"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["modality"] == "video" && r["normalisation"] == "calibrated")
            .unwrap()["threshold_gamma"]
            .clone()
    };
    assert_eq!(
        shown["speed"]["normal_gamma"],
        gamma(&[]),
        "inspect's γ is the one `avad score` decides with"
    );
    assert_eq!(shown["normal_gamma"]["motion"], gamma(&["--no-speed"]));
    // The rows' normal speeds, as speed.json holds them.
    let speed: serde_json::Value =
        serde_json::from_str(&read(&fixture().model.join("speed.json"))).unwrap();
    let rows: Vec<f64> = speed["model"]["row_speed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let low = rows.iter().copied().fold(f64::INFINITY, f64::min);
    let high = rows.iter().copied().fold(0.0, f64::max);
    assert!(low >= 1.0, "{rows:?}");
    // speed.json writes them as f32, inspect as f64: the same to f32's precision.
    for (k, want) in [("normal_speed_low", low), ("normal_speed_high", high)] {
        let got = shown["speed"][k].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-6 * want,
            "{k}: {got} against {want}"
        );
    }
    let words = ok(&avad(&["inspect", m]));
    assert!(
        words.contains("visual model, preset cpu")
            && words.contains("scores with motion by default")
            && words.contains("with the speed score (160x120 frames)")
            && words.contains("pixels a frame"),
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
/// flag away, each with its own errors; eq. 3's is never negative (the autoencoder's
/// errors alone, `--no-speed`).
#[test]
fn each_video_score_is_one_flag_away() {
    let tmp = tempfile::tempdir().unwrap();
    let scores = |name: &str| {
        let out = tmp.path().join(name);
        let flag = ["--no-speed", "--video-score", name];
        score(&out, if name == "motion" { &flag[..1] } else { &flag });
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
