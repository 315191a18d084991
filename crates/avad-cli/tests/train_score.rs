//! `avad train visual` and `avad score` end to end on a small synthetic scene: the model
//! directory, resuming, scores for every frame, metrics, plots, and bad input.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{avad, ok};

/// A failure is one line on stderr naming `needle`, exit code 1.
fn assert_fails_naming(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    let last = err.trim_end().lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: ") && last.contains(needle),
        "{err}"
    );
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

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn train_then_score_the_synthetic_scene() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = tmp.path().join("scene");
    let s = scene.to_str().unwrap();
    ok(&avad(&[
        "synth", s, "--train", "3", "--test", "2", "--frames", "40", "--seed", "3",
    ]));
    let preset = tiny_preset(tmp.path());
    let model = tmp.path().join("model");
    let m = model.to_str().unwrap();

    // One epoch, then resume to the preset's two.
    let out = avad(&[
        "train", "visual", s, "--out", m, "--preset", &preset, "--epochs", "1",
    ]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(log.contains("epoch 1/1: train loss"), "{log}");
    for f in [
        "model.json",
        "weights.bpk",
        "loss.csv",
        "loss.png",
        "loss.svg",
        "checkpoint/checkpoint.json",
    ] {
        assert!(model.join(f).is_file(), "missing {f}");
    }
    // A finished model is not overwritten by accident.
    assert_fails_naming(
        &avad(&["train", "visual", s, "--out", m, "--preset", &preset]),
        "already holds a trained model",
    );
    let out = avad(&[
        "train", "visual", s, "--out", m, "--preset", &preset, "--resume",
    ]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("resuming after epoch 1") && log.contains("epoch 2/2"),
        "{log}"
    );
    // A model whose weights went missing fails naming the file once, and writes nothing.
    let broken = tmp.path().join("no-weights");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(model.join("model.json"), broken.join("model.json")).unwrap();
    let o = tmp.path().join("never");
    let out = avad(&[
        "score",
        s,
        "--model",
        broken.to_str().unwrap(),
        "--out",
        o.to_str().unwrap(),
    ]);
    assert_fails_naming(&out, "weights.bpk: No such file");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("weights.bpk")
            .count(),
        1
    );
    assert!(!o.exists());
    let card: serde_json::Value = serde_json::from_str(&read(&model.join("model.json"))).unwrap();
    assert_eq!(card["kind"], "visual");
    assert_eq!(card["history"].as_array().unwrap().len(), 2);
    assert_eq!(
        card["train_clips"].as_array().unwrap().len()
            + card["validation_clips"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        card["validation_clips"].as_array().unwrap().len(),
        1,
        "33% of 3 clips"
    );
    assert_eq!(
        read(&model.join("loss.csv")).lines().count(),
        3,
        "header and two epochs"
    );

    // Score twice: a reloaded model gives the same bytes.
    let out1 = tmp.path().join("scores1");
    let out2 = tmp.path().join("scores2");
    let table = ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--out",
        out1.to_str().unwrap(),
    ]));
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--out",
        out2.to_str().unwrap(),
    ]));
    assert_eq!(
        read(&out1.join("scores.csv")),
        read(&out2.join("scores.csv"))
    );
    assert!(
        table.contains("| video, per-video min-max |") && table.contains("| video, calibrated |"),
        "{table}"
    );

    // `avad inspect MODEL` shows the card, and the γ it gives is the one scoring uses.
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&avad(&["inspect", m, "--json"]))).unwrap();
    assert_eq!(shown["kind"], "visual");
    assert_eq!(shown["epochs"], 2);
    assert_eq!(shown["validation_clips"], 1);
    assert_eq!(shown["default_score"], "motion");
    let metrics: serde_json::Value =
        serde_json::from_str(&read(&out1.join("metrics.json"))).unwrap();
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

    let csv = read(&out1.join("scores.csv"));
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
    // Unsmoothed (`--smooth 0`), per-video min-max spans [0, 1] in each clip; by default
    // each clip's regularity scores are those, smoothed over time (σ = 5 frames), and the
    // errors are the same.
    let out0 = tmp.path().join("scores0");
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--smooth",
        "0",
        "--out",
        out0.to_str().unwrap(),
    ]));
    let column = |csv: &str, i: usize| -> Vec<f64> {
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
            .collect()
    };
    let raw = read(&out0.join("scores.csv"));
    let min_max = column(&raw, 4);
    for clip in min_max.chunks(40) {
        let lo = clip.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = clip.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(
            (lo, hi),
            (0.0, 1.0),
            "per-video min-max spans [0, 1] in each clip"
        );
    }
    assert_eq!(
        column(&raw, 3),
        column(&csv, 3),
        "smoothing leaves the errors alone"
    );
    for i in [4, 5] {
        let (unsmoothed, smoothed) = (column(&raw, i), column(&csv, i));
        assert_ne!(unsmoothed, smoothed);
        for (u, s) in unsmoothed.chunks(40).zip(smoothed.chunks(40)) {
            for (want, got) in avad_eval::gaussian_smooth(u, 5.0).iter().zip(s) {
                assert!((want - got).abs() < 1e-12, "{want} against {got}");
            }
        }
    }
    // A usage error (clap's exit code 2), named on its first line.
    let negative = avad(&[
        "score",
        s,
        "--model",
        m,
        "--smooth=-1",
        "--out",
        out0.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&negative.stderr);
    assert_eq!(negative.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: invalid value '-1' for '--smooth"),
        "{err}"
    );
    // A hop past the window would leave frames unscored (error 0: perfectly regular).
    let far = tmp.path().join("far-hop");
    assert_fails_naming(
        &avad(&[
            "score",
            s,
            "--model",
            m,
            "--hop",
            "11",
            "--out",
            far.to_str().unwrap(),
        ]),
        "--hop 11: must be between 1 and the window's 10 frames",
    );
    assert!(!far.exists());
    let metrics: serde_json::Value =
        serde_json::from_str(&read(&out1.join("metrics.json"))).unwrap();
    assert_eq!(metrics["frames"], 80);
    // Every row's numbers are those of the scores.csv column it names, recomputed here:
    // AUC as the share of (anomalous, normal) frame pairs in which the anomalous frame has
    // the lower s_r (ties count half), precision and recall deciding s_r < γ.
    let labels: Vec<bool> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap() == "1")
        .collect();
    assert!(labels.iter().any(|&l| l) && labels.iter().any(|&l| !l));
    let rows = metrics["frame_level"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let i = if row["normalisation"] == "calibrated" {
            5
        } else {
            4
        };
        let s = column(&csv, i);
        let mut pairs = 0.0;
        let mut wins = 0.0;
        for (a, la) in s.iter().zip(&labels) {
            for (b, lb) in s.iter().zip(&labels) {
                if *la && !*lb {
                    pairs += 1.0;
                    wins += if a < b {
                        1.0
                    } else if a == b {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        let auc = row["auc"].as_f64().unwrap();
        assert!(
            (auc - wins / pairs).abs() < 1e-12,
            "{row}: AUC {}",
            wins / pairs
        );
        let gamma = row["threshold_gamma"].as_f64().unwrap();
        let tp = s
            .iter()
            .zip(&labels)
            .filter(|(v, l)| **v < gamma && **l)
            .count() as f64;
        let flagged = s.iter().filter(|v| **v < gamma).count() as f64;
        let anomalous = labels.iter().filter(|l| **l).count() as f64;
        let precision = if flagged > 0.0 { tp / flagged } else { 0.0 };
        assert_eq!(row["precision"].as_f64().unwrap(), precision, "{row}");
        assert_eq!(row["recall"].as_f64().unwrap(), tp / anomalous, "{row}");
    }
    let pixel = metrics["pixel_level_auc"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&pixel), "{pixel}");
    assert!(out1.join("roc.png").is_file() && out1.join("metrics.md").is_file());
    assert_eq!(
        std::fs::read_dir(out1.join("plots")).unwrap().count(),
        4,
        "one plot per test clip, PNG and SVG"
    );
    // Scored again into the same folder, one clip only: no plot of the other is left.
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--clip",
        "clip01",
        "--out",
        out2.to_str().unwrap(),
    ]));
    let mut plots: Vec<String> = std::fs::read_dir(out2.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    plots.sort();
    assert_eq!(plots, ["clip01.png", "clip01.svg"]);
    // Both splits hold a clip01: each is reported, and plotted, as split/name.
    let all = tmp.path().join("all-splits");
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--split",
        "all",
        "--clip",
        "clip01",
        "--clip",
        "train/clip02",
        "--out",
        all.to_str().unwrap(),
    ]));
    let mut names: Vec<String> = read(&all.join("scores.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    names.dedup();
    assert_eq!(names, ["train/clip01", "clip02", "test/clip01"]);
    let mut plots: Vec<String> = std::fs::read_dir(all.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".png"))
        .collect();
    plots.sort();
    assert_eq!(plots, ["clip02.png", "test-clip01.png", "train-clip01.png"]);

    // The motion score is the default; the patch score and eq. 3's whole-frame error are
    // one flag away, each with its own errors; eq. 3's is the root of a sum of squares,
    // never negative.
    assert!(
        metrics["models"][0]
            .as_str()
            .unwrap()
            .contains("motion score"),
        "{}",
        metrics["models"]
    );
    let paper = tmp.path().join("paper");
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--video-score",
        "paper",
        "--out",
        paper.to_str().unwrap(),
    ]));
    let paper_errors: Vec<f64> = read(&paper.join("scores.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
        .collect();
    assert!(paper_errors.iter().all(|&e| e > 0.0));
    assert_ne!(
        read(&paper.join("scores.csv")),
        read(&out1.join("scores.csv"))
    );
    let patch_out = tmp.path().join("patch");
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--video-score",
        "patch",
        "--out",
        patch_out.to_str().unwrap(),
    ]));
    assert_ne!(
        read(&patch_out.join("scores.csv")),
        read(&out1.join("scores.csv"))
    );
    assert_ne!(
        read(&patch_out.join("scores.csv")),
        read(&paper.join("scores.csv"))
    );

    // `avad calibrate` fits the same calibrations again from the same held-out clips, and
    // gives a model calibrated before the patch and motion scores (a card without them)
    // both scores.
    let card_path = model.join("model.json");
    let original = read(&card_path);
    let mut old: serde_json::Value = serde_json::from_str(&original).unwrap();
    let patch = old
        .as_object_mut()
        .unwrap()
        .remove("patch")
        .expect("a new model has a patch score");
    assert_eq!(patch["grid"], 32, "32x32 frames: blocks of one pixel");
    assert_eq!(patch["patch"], 5, "a sixth of 32 blocks, rounded");
    let motion = old
        .as_object_mut()
        .unwrap()
        .remove("motion")
        .expect("a new model has a motion score");
    assert_eq!(
        (&motion["grid"], &motion["patch"]),
        (&patch["grid"], &patch["patch"]),
        "the same geometry"
    );
    assert_ne!(
        motion["baseline"], patch["baseline"],
        "its own normal baseline"
    );
    std::fs::write(&card_path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    let no_patch = tmp.path().join("no-patch");
    for score in ["patch", "motion"] {
        assert_fails_naming(
            &avad(&[
                "score",
                s,
                "--model",
                m,
                "--video-score",
                score,
                "--out",
                no_patch.to_str().unwrap(),
            ]),
            "avad calibrate",
        );
    }
    // Without either, the default falls back to eq. 3.
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--out",
        no_patch.to_str().unwrap(),
    ]));
    let fallback: serde_json::Value =
        serde_json::from_str(&read(&no_patch.join("metrics.json"))).unwrap();
    assert!(
        fallback["models"][0]
            .as_str()
            .unwrap()
            .contains("paper score"),
        "{}",
        fallback["models"]
    );
    ok(&avad(&["calibrate", m, s]));
    assert_eq!(
        read(&card_path),
        original,
        "recalibrating on the same clips gives the same card"
    );
    let trained_on = card["train_clips"][0].as_str().unwrap();
    assert_fails_naming(
        &avad(&["calibrate", m, s, "--clip", trained_on]),
        "trained the model",
    );
    assert_fails_naming(
        &avad(&["calibrate", m, s, "--clip", "nope"]),
        "no training clip named nope",
    );
    // Calibrated on a clip named, then on the held-out clips again: the card says which
    // each time, and comes back to what it was.
    let held = card["validation_clips"][0].as_str().unwrap();
    ok(&avad(&["calibrate", m, s, "--clip", held]));
    let named: serde_json::Value = serde_json::from_str(&read(&card_path)).unwrap();
    assert_eq!(
        named["calibrated_on"],
        "1 normal clip named to avad calibrate"
    );
    ok(&avad(&["calibrate", m, s]));
    assert_eq!(read(&card_path), original);
    // Another dataset: without --clip there is no held-out clip to take from it; with
    // --clip, a clip of a name the model trained on is refused all the same (clips are
    // known by name), and one of another name is taken.
    let other = tmp.path().join("other-scene");
    let o = other.to_str().unwrap();
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
    let unseen = (1..=3)
        .map(|i| format!("clip0{i}"))
        .find(|n| {
            card["train_clips"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c != n)
        })
        .unwrap();
    ok(&avad(&["calibrate", m, o, "--clip", &unseen]));
    assert_ne!(read(&card_path), original);
    ok(&avad(&["calibrate", m, s]));
    assert_eq!(read(&card_path), original);

    // Live: a test clip watched as a stream scores every frame exactly as `avad score
    // --causal` does offline, and its events open and close where those scores cross γ.
    let causal = tmp.path().join("causal");
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--clip",
        "clip01",
        "--causal",
        "--out",
        causal.to_str().unwrap(),
    ]));
    let offline: Vec<f64> = read(&causal.join("scores.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap().parse().unwrap())
        .collect();
    let clip = scene.join("test").join("clip01");
    let live = ok(&avad(&[
        "watch",
        clip.to_str().unwrap(),
        "--model",
        m,
        "--every-frame",
    ]));
    let events = common::events(&live);
    let frames: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "frame").collect();
    assert_eq!(frames.len(), 40);
    // Equal up to float rounding: offline scoring batches four windows, live scoring one.
    for (f, off) in frames.iter().zip(&offline) {
        let live = f["video_regularity"].as_f64().unwrap();
        assert!(
            (live - off).abs() <= 1e-9 * off.abs().max(1.0),
            "frame {}: live {live}, offline {off}",
            f["frame"]
        );
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
                if below != open {
                    open = below;
                }
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
    // Both smooth by default (σ = 5), and both can be told not to.
    assert_eq!(summary["smoothing_frames"].as_f64(), Some(5.0));
    let raw_causal = tmp.path().join("causal-raw");
    let raw_args = ["--clip", "clip01", "--causal", "--smooth", "0", "--out"];
    ok(&avad(
        &[
            &["score", s, "--model", m][..],
            &raw_args,
            &[raw_causal.to_str().unwrap()],
        ]
        .concat(),
    ));
    let raw_offline: Vec<f64> = read(&raw_causal.join("scores.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap().parse().unwrap())
        .collect();
    assert_ne!(raw_offline, offline);
    let raw_live = ok(&avad(&[
        "watch",
        clip.to_str().unwrap(),
        "--model",
        m,
        "--every-frame",
        "--smooth",
        "0",
    ]));
    let raw_frames: Vec<f64> = common::events(&raw_live)
        .iter()
        .filter(|e| e["event"] == "frame")
        .map(|e| e["video_regularity"].as_f64().unwrap())
        .collect();
    assert_eq!(raw_frames.len(), 40);
    for (live, off) in raw_frames.iter().zip(&raw_offline) {
        assert!(
            (live - off).abs() <= 1e-9 * off.abs().max(1.0),
            "live {live}, offline {off}"
        );
    }
    assert_fails_naming(
        &avad(&["watch", "/no/such/source", "--model", m]),
        "/no/such/source: no such file or folder",
    );
    assert_fails_naming(
        &avad(&["watch", s, "--model", m]),
        "a dataset, not one clip; watch one of its clip folders",
    );
    assert_fails_naming(
        &avad(&[
            "watch",
            clip.to_str().unwrap(),
            "--model",
            m,
            "--audio-fold",
            "test/clip01",
        ]),
        "--audio-fold test/clip01: needs an audio model",
    );
    assert_fails_naming(
        &avad(&["score", s, "--model", "/no/such/model", "--out", "/no/out"]),
        "/no/such/model: no such model folder",
    );
    assert_fails_naming(
        &avad(&["score", s, "--model", s, "--out", "/no/out"]),
        "scene: not a model folder (no model.json",
    );
    // A damaged frame in the middle of a folder (decoded ahead, on its own thread): the
    // frames before it are scored and reported, then one line names the file, exit 1.
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&clip)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 40);
    for (i, f) in names.iter().enumerate() {
        let to = broken.join(f.file_name().unwrap());
        if i == 25 {
            std::fs::write(&to, b"not a png").unwrap();
        } else {
            std::fs::copy(f, &to).unwrap();
        }
    }
    let bad_name = names[25]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let out = avad(&[
        "watch",
        broken.to_str().unwrap(),
        "--model",
        m,
        "--every-frame",
    ]);
    assert_fails_naming(&out, &bad_name);
    let events = common::events(&String::from_utf8_lossy(&out.stdout));
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert!(
        summary["error"].as_str().unwrap().contains(&bad_name),
        "{summary}"
    );
    let scored = events.iter().filter(|e| e["event"] == "frame").count();
    assert!(
        (20..=25).contains(&scored),
        "{scored} frames scored before the damaged 26th"
    );

    // The audio model on the scene's (normal) training sound, then both modalities and
    // the evaluation with fusion.
    let audio = tmp.path().join("audio");
    let a = audio.to_str().unwrap();
    let out = avad(&["train", "audio", s, "--out", a, "--epochs", "2"]);
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    let card: serde_json::Value = serde_json::from_str(&read(&audio.join("model.json"))).unwrap();
    assert_eq!(card["kind"], "audio");
    assert_eq!(
        card["folds"].as_array().unwrap().len(),
        1,
        "one fold: the training clips are all normal"
    );
    assert!(audio.join("weights.bpk").is_file());
    // Causal scoring differs from offline only in the features' dB floors, which follow
    // the running maximum: on a clip whose loudest sound comes first, the two agree on
    // every frame.
    // A one-clip dataset of the scene's clip01: its frames, and its sound with the first
    // 0.1 s (2205 samples) replaced by `first()`, sample by sample.
    let with_sound = |name: &str, first: &mut dyn FnMut() -> i16| -> std::path::PathBuf {
        let root = tmp.path().join(name);
        let clip = root.join("test").join("clip01");
        std::fs::create_dir_all(&clip).unwrap();
        for entry in std::fs::read_dir(scene.join("test").join("clip01")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "png") {
                std::fs::copy(&path, clip.join(path.file_name().unwrap())).unwrap();
            }
        }
        let mut wav = std::fs::read(scene.join("test/clip01/audio.wav")).unwrap();
        assert_eq!(&wav[36..40], b"data", "a plain 44-byte PCM header");
        for i in 0..2205 {
            wav[44 + 2 * i..46 + 2 * i].copy_from_slice(&first().to_le_bytes());
        }
        std::fs::write(clip.join("audio.wav"), &wav).unwrap();
        root
    };
    // Each frame's audio error, scored offline or as `avad watch` does.
    let audio_errors = |dataset: &Path, causal: bool| -> Vec<f64> {
        let name = dataset.file_name().unwrap().to_str().unwrap();
        let out = tmp.path().join(format!("{name}-scores-{causal}"));
        let mut args = vec!["score", dataset.to_str().unwrap(), "--model", a];
        if causal {
            args.push("--causal");
        }
        args.extend(["--out", out.to_str().unwrap()]);
        ok(&avad(&args));
        let csv = read(&out.join("scores.csv"));
        assert!(csv.starts_with("clip,frame,label,audio_error,"), "{csv}");
        csv.lines()
            .skip(1)
            .map(|l| l.split(',').nth(3).unwrap().parse().unwrap())
            .collect()
    };
    // Loud first: full-scale noise.
    let mut state = 12345u32;
    let loud = with_sound("loud-first", &mut || {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
        ((state >> 16) as i16).signum() * 32000
    });
    let (offline, causal) = (audio_errors(&loud, false), audio_errors(&loud, true));
    assert_eq!(offline.len(), 40);
    for (f, (o, c)) in offline.iter().zip(&causal).enumerate() {
        assert!(
            (o - c).abs() <= 1e-5 * o,
            "frame {}: offline {o}, causal {c}",
            f + 1
        );
    }
    // Quiet first (0.1 s of silence, then the clip's own sound): the floor rises later
    // live than offline, and early frames' errors differ: the two paths are not one.
    let quiet = with_sound("quiet-first", &mut || 0);
    let (offline, causal) = (audio_errors(&quiet, false), audio_errors(&quiet, true));
    assert!(
        offline
            .iter()
            .zip(&causal)
            .any(|(o, c)| (o - c).abs() > 1e-3 * o),
        "causal scoring ignored: {offline:?}"
    );
    let shown: serde_json::Value =
        serde_json::from_str(&ok(&avad(&["inspect", a, "--json"]))).unwrap();
    assert_eq!(shown["kind"], "audio");
    assert_eq!(shown["folds"].as_array().unwrap().len(), 1);
    assert_eq!(shown["normal_gamma"], shown["folds"][0]["normal_gamma"]);
    // A site's own recordings of normal sound: one fold that scores every clip.
    let normal = tmp.path().join("normal-sound");
    std::fs::create_dir(&normal).unwrap();
    for (i, clip) in ["clip01", "clip02"].iter().enumerate() {
        std::fs::copy(
            scene.join("train").join(clip).join("audio.wav"),
            normal.join(format!("day{i}.wav")),
        )
        .unwrap();
    }
    let site = tmp.path().join("site-audio");
    ok(&avad(&[
        "train",
        "audio",
        "--normal-audio",
        normal.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--epochs",
        "1",
    ]));
    let card: serde_json::Value = serde_json::from_str(&read(&site.join("model.json"))).unwrap();
    assert!(
        card["protocol"]
            .as_str()
            .unwrap()
            .starts_with("normal recordings in"),
        "{}",
        card["protocol"]
    );
    assert_eq!(card["folds"][0]["held_out"], serde_json::Value::Null);
    assert_eq!(
        card["folds"][0]["train_clips"].as_array().unwrap().len()
            + card["folds"][0]["validation_clips"]
                .as_array()
                .unwrap()
                .len(),
        2
    );
    // --normal-audio with nothing to learn from: an empty folder, a file, and a recording
    // shorter than one window (0.74 s). Each says so, and writes nothing.
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
                source.to_str().unwrap(),
                "--out",
                site2.to_str().unwrap(),
            ]),
            needle,
        );
        assert!(!site2.exists(), "nothing written on failure");
    }

    let both = tmp.path().join("both");
    let table = ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--model",
        a,
        "--out",
        both.to_str().unwrap(),
    ]));
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
    // Live with sound: a test clip and its sound watched as a stream give, frame for
    // frame, what `avad score --causal` gives for both modalities, and decide on the mean
    // of the two regularity scores.
    let causal_both = tmp.path().join("causal-both");
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--model",
        a,
        "--clip",
        "clip01",
        "--causal",
        "--out",
        causal_both.to_str().unwrap(),
    ]));
    let rows: Vec<Vec<f64>> = read(&causal_both.join("scores.csv"))
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(3).map(|v| v.parse().unwrap()).collect())
        .collect();
    let sound = clip.join("audio.wav");
    let live = ok(&avad(&[
        "watch",
        clip.to_str().unwrap(),
        "--model",
        m,
        "--model",
        a,
        "--audio",
        sound.to_str().unwrap(),
        "--every-frame",
    ]));
    let events = common::events(&live);
    let frames: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "frame").collect();
    assert_eq!(frames.len(), 40);
    let summary = events.last().unwrap();
    let gamma = summary["gamma"].as_f64();
    for (f, row) in frames.iter().zip(&rows) {
        let (v, au, r) = (
            f["video_regularity"].as_f64().unwrap(),
            f["audio_regularity"].as_f64().unwrap(),
            f["regularity"].as_f64().unwrap(),
        );
        assert!(
            (v - row[2]).abs() <= 1e-9 * row[2].abs().max(1.0),
            "frame {}: video live {v}, offline {}",
            f["frame"],
            row[2]
        );
        assert!(
            (au - row[5]).abs() <= 1e-9 * row[5].abs().max(1.0),
            "frame {}: audio live {au}, offline {}",
            f["frame"],
            row[5]
        );
        assert!((r - 0.5 * (v + au)).abs() < 1e-12);
        if let Some(g) = gamma {
            assert_eq!(f["anomalous"].as_bool().unwrap(), r < g);
        }
    }
    assert_eq!(summary["frames"], 40);
    // The visual windows scored by one worker thread and by three: the same scores and
    // decisions, frame for frame (the workers change where a window is computed, not how).
    let scores_with = |workers: &str| -> Vec<String> {
        let live = ok(&avad(&[
            "watch",
            clip.to_str().unwrap(),
            "--model",
            m,
            "--model",
            a,
            "--audio",
            sound.to_str().unwrap(),
            "--every-frame",
            "--workers",
            workers,
        ]));
        common::events(&live)
            .iter()
            .filter(|e| e["event"] == "frame")
            .map(|f| {
                format!(
                    "{} {} {} {} {}",
                    f["frame"],
                    f["video_regularity"],
                    f["audio_regularity"],
                    f["regularity"],
                    f["anomalous"]
                )
            })
            .collect()
    };
    let one = scores_with("1");
    assert_eq!(one.len(), 40);
    assert_eq!(one, scores_with("3"));
    // Memory stays flat over a long watch: the clip and its sound looped 5 and 50 times
    // (200 and 2,000 frames). What the watch holds (frames waiting for their scores, the
    // audio scorer's samples, features and sums) stays within the same bounds. Its peak
    // resident memory moves by tens of MB from run to run (burn's buffers, two scoring
    // threads), so it is held only to a bound that a leak of 32 kB a frame would break.
    let held = |times: usize| -> (u64, u64, f64) {
        let dir = tmp.path().join(format!("looped-{times}"));
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..times * names.len() {
            std::os::unix::fs::symlink(
                &names[k % names.len()],
                dir.join(format!("{:05}.png", k + 1)),
            )
            .unwrap();
        }
        let wav = dir.with_extension("wav");
        loop_wav(&sound, &wav, times);
        let live = ok(&avad(&[
            "watch",
            dir.to_str().unwrap(),
            "--model",
            m,
            "--model",
            a,
            "--audio",
            wav.to_str().unwrap(),
        ]));
        let summary = common::events(&live).pop().unwrap();
        assert_eq!(
            summary["frames"].as_u64(),
            Some((times * names.len()) as u64)
        );
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
    // Sound that stops while the picture goes on (the 2,000 frames, 80 s, with the clip's
    // own 1.6 s of sound): once it lags 5 s the frames are scored with silence, so they
    // keep coming out (instead of all waiting for sound until the end).
    let looped = tmp.path().join("looped-50");
    let out = avad(&[
        "watch",
        looped.to_str().unwrap(),
        "--model",
        m,
        "--model",
        a,
        "--audio",
        sound.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("no sound for 5 s of picture"), "{err}");
    let summary = common::events(&String::from_utf8_lossy(&out.stdout))
        .pop()
        .unwrap();
    assert_eq!(summary["frames"], 2000);
    let filled = summary["sound_filled_s"].as_f64().unwrap();
    assert!(
        (filled - (80.0 - 1.6 - 5.0)).abs() < 0.1,
        "{filled} s of silence filled"
    );
    let pending = summary["max_pending_frames"].as_u64().unwrap();
    assert!(pending < 5 * 25 + 40, "{pending} frames waited at once");
    // A usage error, as every numeric option's: clap's exit code 2, on its first line.
    let short = avad(&[
        "watch",
        looped.to_str().unwrap(),
        "--model",
        m,
        "--model",
        a,
        "--audio",
        sound.to_str().unwrap(),
        "--sound-timeout",
        "0.5",
    ]);
    let err = String::from_utf8_lossy(&short.stderr);
    assert_eq!(short.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("error: invalid value '0.5' for '--sound-timeout")
            && err
                .lines()
                .next()
                .unwrap()
                .ends_with("at least 1 and at most 86400, not \"0.5\""),
        "{err}"
    );
    // --min-gap 3: an episode ends only after three frames in a row at or above γ (γ set
    // to the median joint score, and the scores left unsmoothed, so that they cross it
    // often within the 40 frames).
    let mut sorted: Vec<f64> = frames
        .iter()
        .map(|f| f["regularity"].as_f64().unwrap())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let live = ok(&avad(&[
        "watch",
        clip.to_str().unwrap(),
        "--model",
        m,
        "--model",
        a,
        "--audio",
        sound.to_str().unwrap(),
        "--every-frame",
        "--gamma",
        &median.to_string(),
        "--min-gap",
        "3",
        "--smooth",
        "0",
    ]));
    let gapped = common::events(&live);
    // The episodes the rule gives, from the frame records: (first frame, end frame).
    let mut want = Vec::new();
    let (mut open, mut run) = (None, 0);
    for f in gapped.iter().filter(|e| e["event"] == "frame") {
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
    let starts: Vec<u64> = gapped
        .iter()
        .filter(|e| e["event"] == "start")
        .map(|e| e["frame"].as_u64().unwrap())
        .collect();
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
    assert!(!want.is_empty() && starts.len() >= want.len());

    // Evidence: with γ above every score the whole clip is one episode, saved whole.
    let evidence = tmp.path().join("evidence");
    // The `end` event of a watch that saves its episodes in `evidence`.
    let watch_end = || {
        let live = ok(&avad(&[
            "watch",
            clip.to_str().unwrap(),
            "--model",
            m,
            "--model",
            a,
            "--audio",
            sound.to_str().unwrap(),
            "--gamma",
            "10",
            "--evidence",
            evidence.to_str().unwrap(),
        ]));
        common::events(&live)
            .into_iter()
            .find(|e| e["event"] == "end")
            .unwrap()
    };
    let end = watch_end();
    let episode = evidence.join("episode-0001");
    assert_eq!(end["evidence"].as_str(), Some(episode.to_str().unwrap()));
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
    // A second run into the same folder keeps the first run's episode and numbers on.
    let first_scores = scores.clone();
    let end = watch_end();
    let second = evidence.join("episode-0002");
    assert_eq!(end["evidence"].as_str(), Some(second.to_str().unwrap()));
    assert_eq!(read(&episode.join("scores.csv")), first_scores);
    assert!(second.join("scores.csv").is_file());

    // Without FFmpeg a stream cannot open, and no reconnect would mend that: one try.
    if !cfg!(feature = "ffmpeg") {
        let out = avad(&["watch", "rtsp://127.0.0.1:1/x", "--model", m]);
        assert_fails_naming(&out, "needs avad built with the `ffmpeg` feature");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("\"reconnect\""));
    }

    // A frame folder without its sound is refused with a one-line error.
    assert_fails_naming(
        &avad(&["watch", clip.to_str().unwrap(), "--model", m, "--model", a]),
        "--audio FILE",
    );

    // The evaluation: every modality, both fusions, a report that renders in a browser.
    let ev = tmp.path().join("eval");
    let table = ok(&avad(&[
        "eval",
        s,
        "--model",
        m,
        "--model",
        a,
        "--out",
        ev.to_str().unwrap(),
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
    let results: serde_json::Value = serde_json::from_str(&read(&ev.join("results.json"))).unwrap();
    assert_eq!(
        results["rows"].as_array().unwrap().len(),
        8,
        "audio, video, two fusions, two normalisations each"
    );
    // scores.csv adds the fused regularity scores of every frame: the label-free mean is
    // the mean of the two modalities' regularity scores, the net's is 1 − P(anomalous).
    let csv = read(&ev.join("scores.csv"));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name} missing from {header:?}"))
    };
    let (vm, am, jm) = (
        col("video_regularity_minmax"),
        col("audio_regularity_minmax"),
        col("joint_mean_regularity_minmax"),
    );
    let (vc, ac, jc) = (
        col("video_regularity_calibrated"),
        col("audio_regularity_calibrated"),
        col("joint_mean_regularity_calibrated"),
    );
    let (nm, nc) = (
        col("joint_net_regularity_minmax"),
        col("joint_net_regularity_calibrated"),
    );
    let rows: Vec<Vec<f64>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').skip(3).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 80);
    for r in &rows {
        let at = |c: usize| r[c - 3];
        assert_eq!(at(jm), 0.5 * (at(vm) + at(am)), "{r:?}");
        assert_eq!(at(jc), 0.5 * (at(vc) + at(ac)), "{r:?}");
        assert!(
            (0.0..=1.0).contains(&at(nm)) && (0.0..=1.0).contains(&at(nc)),
            "{r:?}"
        );
    }
    // Each row decides on the scores.csv column it names: s_r < γ for the modalities and
    // the mean, P(anomalous) = 1 − the net's column ≥ 0.5 for the net.
    let labels: Vec<bool> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).unwrap() == "1")
        .collect();
    for row in results["rows"].as_array().unwrap() {
        let calibrated = row["normalisation"] == "calibrated";
        let c = match (row["modality"].as_str().unwrap(), calibrated) {
            ("video", false) => vm,
            ("video", true) => vc,
            ("audio", false) => am,
            ("audio", true) => ac,
            ("joint (mean)", false) => jm,
            ("joint (mean)", true) => jc,
            ("joint (Table 4 net)", false) => nm,
            ("joint (Table 4 net)", true) => nc,
            (other, _) => panic!("unexpected row {other}"),
        };
        let gamma = row["threshold_gamma"].as_f64().unwrap();
        let flagged: Vec<bool> = rows
            .iter()
            .map(|r| {
                if c == nm || c == nc {
                    1.0 - r[c - 3] >= 0.5
                } else {
                    r[c - 3] < gamma
                }
            })
            .collect();
        let tp = flagged
            .iter()
            .zip(&labels)
            .filter(|(f, l)| **f && **l)
            .count() as f64;
        let anomalous = labels.iter().filter(|l| **l).count() as f64;
        assert_eq!(row["recall"].as_f64().unwrap(), tp / anomalous, "{row}");
        let negatives = labels.len() as f64 - anomalous;
        let tn = flagged
            .iter()
            .zip(&labels)
            .filter(|(f, l)| !**f && !**l)
            .count() as f64;
        assert_eq!(
            row["accuracy"].as_f64().unwrap(),
            (tp + tn) / (anomalous + negatives),
            "{row}"
        );
    }
    check_report_renders(&ev.join("report.html"), 3);
    assert_eq!(results["fusion_seeds"].as_u64(), Some(2));

    // Each fold's net P is the mean of its seeds' nets: the two-seed run above against the
    // one-seed runs of seeds 1 and 2 (the same inputs, scored again).
    let single = |seed: &str| -> Vec<(f64, f64)> {
        let out = tmp.path().join(format!("eval-seed{seed}"));
        ok(&avad(&[
            "eval",
            s,
            "--model",
            m,
            "--model",
            a,
            "--out",
            out.to_str().unwrap(),
            "--fusion-epochs",
            "2",
            "--fusion-seeds",
            "1",
            "--fusion-seed",
            seed,
        ]));
        let csv = read(&out.join("scores.csv"));
        csv.lines()
            .skip(1)
            .map(|l| {
                let v: Vec<&str> = l.split(',').collect();
                (v[nm].parse().unwrap(), v[nc].parse().unwrap())
            })
            .collect()
    };
    let (one, two) = (single("1"), single("2"));
    assert_ne!(one, two, "another seed trains another net");
    for ((r, a), b) in rows.iter().zip(&one).zip(&two) {
        let at = |c: usize| r[c - 3];
        assert!(
            (at(nm) - 0.5 * (a.0 + b.0)).abs() < 1e-12,
            "{r:?} {a:?} {b:?}"
        );
        assert!(
            (at(nc) - 0.5 * (a.1 + b.1)).abs() < 1e-12,
            "{r:?} {a:?} {b:?}"
        );
    }

    // Two models of one modality are refused.
    assert_fails_naming(
        &avad(&[
            "score",
            s,
            "--model",
            a,
            "--model",
            a,
            "--out",
            both.to_str().unwrap(),
        ]),
        "a second audio model",
    );
}

#[test]
fn bad_models_and_presets_fail_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    // One folder stands for the dataset and the model: neither is read far enough to tell.
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let t = input.to_str().unwrap();
    let out = tmp.path().join("o");
    let o = out.to_str().unwrap();
    assert_fails_naming(&avad(&["score", t, "--model", t, "--out", o]), "model.json");
    // An output inside an input is refused before anything is read.
    let inside = input.join("o");
    assert_fails_naming(
        &avad(&["score", t, "--model", t, "--out", inside.to_str().unwrap()]),
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
        &avad(&["inspect", lost.to_str().unwrap()]),
        "lost: holds weights.bpk but no model.json",
    );
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
    let v = vis.to_str().unwrap();
    assert_fails_naming(
        &avad(&["train", "audio", t, "--out", v, "--resume"]),
        "vis: holds a visual model: no audio training to resume",
    );
    assert_eq!(read(&vis.join("model.json")), "{\"kind\": \"visual\"}");
    let aud = tmp.path().join("aud");
    card(&aud, "audio");
    let a = aud.to_str().unwrap();
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
        &avad(&[
            "train",
            "visual",
            t,
            "--out",
            stopped.to_str().unwrap(),
            "--resume",
        ]),
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
            stopped_visual.to_str().unwrap(),
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
        &avad(&["train", "visual", umn.to_str().unwrap(), "--out", o]),
        "no training clips to learn normal scenes from (UMN's clips are all test clips",
    );
    let last = u64::MAX.to_string();
    assert_fails_naming(
        &avad(&["eval", t, "--model", t, "--out", o, "--fusion-seed", &last]),
        "--fusion-seed plus --fusion-seeds is past the largest seed",
    );
    // Values that would panic, allocate without bound or decide nothing are usage errors.
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
        let out = avad(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "a usage error: {err}");
        assert!(
            err.starts_with("error: invalid value ") && err.contains(&format!("for '{flag}")),
            "{err}"
        );
    }
    assert!(!out.exists(), "nothing written on failure");
    assert_fails_naming(
        &avad(&["synth", o, "--train", "0", "--test", "0"]),
        "--train 0 and --test 0: no clip to write",
    );
    // A folder that cannot be made is named as given, not as its temporary, and once.
    let blocked = tmp.path().join("file/scene");
    std::fs::write(tmp.path().join("file"), b"x").unwrap();
    let out2 = avad(&["synth", blocked.to_str().unwrap()]);
    assert_fails_naming(&out2, "file/scene: Not a directory (os error 20)");
    assert_eq!(
        String::from_utf8_lossy(&out2.stderr)
            .matches("os error")
            .count(),
        1
    );
    assert!(!out.exists(), "nothing written on failure");
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

/// Ped2's case: no training clip has sound, so `avad train audio` trains one fold per
/// labelled test clip, each on the normal stretches of the others and never on its own.
#[test]
fn audio_folds_leave_their_own_clip_out_when_training_clips_are_silent() {
    let tmp = tempfile::tempdir().unwrap();
    let scene = tmp.path().join("scene");
    let s = scene.to_str().unwrap();
    ok(&avad(&[
        "synth", s, "--train", "2", "--test", "3", "--frames", "100", "--seed", "5",
    ]));
    for clip in ["clip01", "clip02"] {
        std::fs::remove_file(scene.join("train").join(clip).join("audio.wav")).unwrap();
    }
    let model = tmp.path().join("audio");
    let m = model.to_str().unwrap();
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
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--out",
        scores.to_str().unwrap(),
    ]));
    let csv = read(&scores.join("scores.csv"));
    assert_eq!(csv.lines().count(), 1 + 3 * 100);
    // That fold, and no other: clip02's audio errors are those of a model made of fold 2
    // alone (its card cut to that fold, the held-out name dropped, so that it may score
    // any clip it did not train on).
    let single = tmp.path().join("fold2-alone");
    std::fs::create_dir(&single).unwrap();
    let mut card: serde_json::Value =
        serde_json::from_str(&read(&model.join("model.json"))).unwrap();
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
        single.to_str().unwrap(),
        "--clip",
        "clip02",
        "--out",
        alone.to_str().unwrap(),
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
        other.to_str().unwrap(),
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
        other.to_str().unwrap(),
        "--model",
        m,
        "--split",
        "train",
        "--out",
        foreign.to_str().unwrap(),
    ]));
    assert_eq!(read(&foreign.join("scores.csv")).lines().count(), 1 + 40);

    // Too short to leave a clip out: 60 frames leave no fold of this seed a clip with
    // 0.74 s of normal sound besides its own, and the error says so.
    let short = tmp.path().join("short");
    ok(&avad(&[
        "synth",
        short.to_str().unwrap(),
        "--train",
        "2",
        "--test",
        "3",
        "--frames",
        "60",
        "--seed",
        "5",
    ]));
    for clip in ["clip01", "clip02"] {
        std::fs::remove_file(short.join("train").join(clip).join("audio.wav")).unwrap();
    }
    let never = tmp.path().join("never");
    assert_fails_naming(
        &avad(&[
            "train",
            "audio",
            short.to_str().unwrap(),
            "--out",
            never.to_str().unwrap(),
        ]),
        "fold test/clip01: no other labelled clip has 32 feature frames (0.74 s) of normal sound in a row",
    );
    assert!(!never.exists());
}
