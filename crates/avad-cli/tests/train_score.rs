//! `avad train visual` and `avad score` end to end on a small synthetic scene: the model
//! directory, resuming, scores for every frame, metrics, plots, and bad input.

use std::path::Path;
use std::process::{Command, Output};

fn avad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avad")).args(args).output().unwrap()
}

fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "avad failed: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A failure is one line on stderr naming `needle`, exit code 1.
fn assert_fails_naming(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    let last = err.trim_end().lines().last().unwrap_or("");
    assert!(last.starts_with("error: ") && last.contains(needle), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A preset small enough to train in seconds: 32x32 frames, 2 epochs.
fn tiny_preset(dir: &Path) -> String {
    let text = include_str!("../../../presets/visual-cpu.toml")
        .replace("size = 96", "size = 32")
        .replace("epochs = 8", "epochs = 2")
        .replace("batch_size = 10", "batch_size = 4")
        .replace("score_hop = 2", "score_hop = 5");
    let path = dir.join("tiny.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn train_then_score_the_synthetic_scene() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = tmp.path().join("scene");
    let s = scene.to_str().unwrap();
    ok(&avad(&["synth", s, "--train", "3", "--test", "1", "--frames", "40", "--seed", "3"]));
    let preset = tiny_preset(tmp.path());
    let model = tmp.path().join("model");
    let m = model.to_str().unwrap();

    // One epoch, then resume to the preset's two.
    let out = avad(&["train", "visual", s, "--out", m, "--preset", &preset, "--epochs", "1"]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("epoch 1/1: train loss"), "{log}");
    for f in ["model.json", "weights.bpk", "loss.csv", "loss.png", "loss.svg", "checkpoint/checkpoint.json"] {
        assert!(model.join(f).is_file(), "missing {f}");
    }
    // A finished model is not overwritten by accident.
    assert_fails_naming(&avad(&["train", "visual", s, "--out", m, "--preset", &preset]), "already holds a trained model");
    let out = avad(&["train", "visual", s, "--out", m, "--preset", &preset, "--resume"]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("resuming after epoch 1") && log.contains("epoch 2/2"), "{log}");
    let card: serde_json::Value = serde_json::from_str(&read(&model.join("model.json"))).unwrap();
    assert_eq!(card["kind"], "visual");
    assert_eq!(card["history"].as_array().unwrap().len(), 2);
    assert_eq!(card["train_clips"].as_array().unwrap().len() + card["validation_clips"].as_array().unwrap().len(), 3);
    assert_eq!(card["validation_clips"].as_array().unwrap().len(), 1, "33% of 3 clips");
    assert_eq!(read(&model.join("loss.csv")).lines().count(), 3, "header and two epochs");

    // Score twice: a reloaded model gives the same bytes.
    let out1 = tmp.path().join("scores1");
    let out2 = tmp.path().join("scores2");
    let table = ok(&avad(&["score", s, "--model", m, "--out", out1.to_str().unwrap()]));
    ok(&avad(&["score", s, "--model", m, "--out", out2.to_str().unwrap()]));
    assert_eq!(read(&out1.join("scores.csv")), read(&out2.join("scores.csv")));
    assert!(table.contains("| video, per-video min-max |") && table.contains("| video, calibrated |"), "{table}");

    let csv = read(&out1.join("scores.csv"));
    assert_eq!(csv.lines().count(), 1 + 40, "a header and one row per test frame");
    let min_max: Vec<f64> = csv.lines().skip(1).map(|l| l.split(',').nth(3).unwrap().parse().unwrap()).collect();
    let lo = min_max.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = min_max.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!((lo, hi), (0.0, 1.0), "per-video min-max spans [0, 1]");
    let metrics: serde_json::Value = serde_json::from_str(&read(&out1.join("metrics.json"))).unwrap();
    assert_eq!(metrics["frames"], 40);
    let auc = metrics["frame_level"][0]["auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&auc), "{auc}");
    let pixel = metrics["pixel_level_auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pixel), "{pixel}");
    assert!(out1.join("roc.png").is_file() && out1.join("metrics.md").is_file());
    assert_eq!(std::fs::read_dir(out1.join("plots")).unwrap().count(), 1, "one plot per test clip");
}

#[test]
fn bad_models_and_presets_fail_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().to_str().unwrap();
    let out = tmp.path().join("o");
    let o = out.to_str().unwrap();
    assert_fails_naming(&avad(&["score", t, "--model", t, "--out", o]), "model.json");
    std::fs::write(tmp.path().join("model.json"), "{\"kind\": 3}").unwrap();
    assert_fails_naming(&avad(&["score", t, "--model", t, "--out", o]), "not an avad model card");
    assert_fails_naming(&avad(&["train", "visual", t, "--out", o, "--preset", "fast"]), "not a built-in preset (paper, cpu)");
    assert_fails_naming(&avad(&["train", "visual", t, "--out", o, "--size", "100"]), "size 100 must be a positive multiple of 8");
    assert!(!out.exists(), "nothing written on failure");
}
