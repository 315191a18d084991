//! `avad train audio` and scoring with the audio model: its folds, normal recordings, silent training clips.

use super::*;

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
        3 + 2 * 3 + 2 * 3,
        "three columns per modality, and per scorer of the video with its speed score"
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
