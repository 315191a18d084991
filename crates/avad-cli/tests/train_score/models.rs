//! `avad train visual` and `avad calibrate`: the model folder they write, resuming, and a model missing its weights.

use super::*;

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

/// A model calibrated before the patch, motion and speed scores (a card without them, no
/// `speed.json`) is told to run `avad calibrate` for either of the first two, scores with
/// eq. 3 by default, and `avad calibrate` gives it all three: the card and the speed score
/// a new model has, to the byte. Without `speed.json`, a model scores as `--no-speed`
/// scores it.
#[test]
fn calibrate_gives_a_model_without_patch_and_motion_scores_its_card_back() {
    let tmp = tempfile::tempdir().unwrap();
    let model = own_model(tmp.path());
    let (s, m) = (arg(&fixture().scene), arg(&model));
    let card_path = model.join("model.json");
    let original = read(&card_path);
    let speed_path = model.join("speed.json");
    let speed = read(&speed_path);
    let no_speed = tmp.path().join("no-speed");
    ok(&avad(&[
        "score",
        s,
        "--model",
        m,
        "--no-speed",
        "--out",
        arg(&no_speed),
    ]));
    std::fs::remove_file(&speed_path).unwrap();
    let without = tmp.path().join("without");
    ok(&avad(&["score", s, "--model", m, "--out", arg(&without)]));
    assert_eq!(
        read(&without.join("scores.csv")),
        read(&no_speed.join("scores.csv")),
        "a model without speed.json scores as --no-speed"
    );
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
    assert_eq!(
        read(&speed_path),
        speed,
        "and the same speed score as training fitted"
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
