//! Training: the visual model's directory and resuming it, calibrating it again (on its
//! held-out clips, on clips named, on another dataset), and the audio model of a
//! dataset's normal sound or of a folder of recordings.

use std::path::{Path, PathBuf};

use avad::avad_data::Split;
use avad::avad_model::model_dir::FrameScore;
use avad::{calibrate, train_audio, Error, Models, NormalSound, ScoreConfig, Silent};

use crate::{card, copy_dir, fixture, load, read, MODEL_FILES};

/// One epoch, then resumed to the preset's two: the second run starts where the first
/// stopped, and the card holds both epochs.
#[test]
fn a_visual_model_trained_one_epoch_resumes_to_the_presets_two() {
    let f = fixture();
    assert_eq!(f.first_log, ["epoch 1/1"]);
    for (file, there) in MODEL_FILES.iter().zip(&f.first_files) {
        assert!(there, "missing {file} after the first epoch");
    }
    assert_eq!(f.first_history, 1);
    assert_eq!(f.resumed_log, ["resumed after epoch 1", "epoch 2/2"]);
    for file in MODEL_FILES {
        assert!(f.visual.join(file).is_file(), "missing {file}");
    }
    let card = card(&f.visual);
    assert_eq!(card["kind"], "visual");
    assert_eq!(card["history"].as_array().unwrap().len(), 2);
    let held = card["validation_clips"].as_array().unwrap().len();
    assert_eq!(
        card["train_clips"].as_array().unwrap().len() + held,
        3,
        "every training clip"
    );
    assert_eq!(held, 1, "33% of 3 clips");
    assert_eq!(
        read(&f.visual.join("loss.csv")).lines().count(),
        3,
        "header and two epochs"
    );
}

/// A model whose weights went missing fails naming the file, once.
#[test]
fn a_model_without_its_weights_is_refused_naming_them_once() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("no-weights");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(
        fixture().visual.join("model.json"),
        broken.join("model.json"),
    )
    .unwrap();
    let e = Models::load(&[broken], &avad::cpu(), None).err().unwrap();
    let message = e.to_string();
    assert!(matches!(e, Error::ModelDir(_)), "{message}");
    assert!(message.contains("weights.bpk: No such file"), "{message}");
    assert_eq!(message.matches("weights.bpk").count(), 1, "{message}");
}

/// The fixture's visual model copied into a folder of its own (calibrating rewrites it).
fn own_copy(tmp: &Path) -> PathBuf {
    let model = tmp.join("model");
    copy_dir(&fixture().visual, &model);
    model
}

/// Calibrating again on the held-out clips fits the same calibrations: the same card, to
/// the byte. Calibrated on a clip named, then on the held-out clips again, the card says
/// which each time, and comes back to what it was.
#[test]
fn calibrating_again_on_the_held_out_clips_gives_the_same_card() {
    let tmp = tempfile::tempdir().unwrap();
    let model = own_copy(tmp.path());
    let scene = &fixture().scene;
    let original = read(&model.join("model.json"));
    let done = calibrate(&model, scene, &[], &Silent).unwrap();
    assert_eq!(done.on, "1 held-out normal clip");
    assert_eq!(
        read(&model.join("model.json")),
        original,
        "recalibrating on the same clips gives the same card"
    );
    let held = card(&model)["validation_clips"][0]
        .as_str()
        .unwrap()
        .to_string();
    let done = calibrate(&model, scene, std::slice::from_ref(&held), &Silent).unwrap();
    assert_eq!(done.clips, [held]);
    assert_eq!(
        card(&model)["calibrated_on"],
        "1 normal clip named to avad calibrate"
    );
    calibrate(&model, scene, &[], &Silent).unwrap();
    assert_eq!(read(&model.join("model.json")), original);
}

/// A model calibrated before the patch and motion scores (a card without them) has neither
/// to score with, and scores with eq. 3 by default; calibrating gives it both, the same
/// as a new model's.
#[test]
fn calibrate_gives_a_model_without_patch_and_motion_scores_both() {
    let tmp = tempfile::tempdir().unwrap();
    let model = own_copy(tmp.path());
    let card_path = model.join("model.json");
    let original = read(&card_path);
    let mut old = card(&model);
    for score in ["patch", "motion"] {
        assert!(old.as_object_mut().unwrap().remove(score).is_some());
    }
    std::fs::write(&card_path, serde_json::to_string_pretty(&old).unwrap()).unwrap();
    for score in [FrameScore::Patch, FrameScore::Motion] {
        let e = Models::load(std::slice::from_ref(&model), &avad::cpu(), Some(score))
            .err()
            .unwrap();
        assert!(
            matches!(&e, Error::NoSuchScore { score: s, .. } if *s == score),
            "{e}"
        );
        // The CLI adds what to run; the library names no command.
        let message = e.to_string();
        assert!(
            !message.contains("avad calibrate") && !message.contains("--"),
            "{e}"
        );
    }
    // Without either, the default falls back to eq. 3, and scores.
    let models = load(&[&model], None);
    let described = models.iter().next().unwrap().describe();
    assert!(described.contains("paper score"), "{described}");
    let clips = crate::score(
        &models,
        &fixture().scene,
        Some(Split::Test),
        &[],
        &ScoreConfig::default(),
    );
    assert_eq!(clips.len(), 2);
    calibrate(&model, &fixture().scene, &[], &Silent).unwrap();
    assert_eq!(read(&card_path), original);
}

/// Clips are known by name: a clip the model trained on is refused, in its dataset or in
/// another; another dataset has no held-out clip to take by default; a clip of another
/// name is taken. A refusal leaves the card as it was.
#[test]
fn calibrate_takes_no_clip_the_model_trained_on() {
    let tmp = tempfile::tempdir().unwrap();
    let model = own_copy(tmp.path());
    let scene = &fixture().scene;
    let card_path = model.join("model.json");
    let original = read(&card_path);
    let trained: Vec<String> = card(&model)["train_clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let refused = |dataset: &Path, clips: &[String], needle: &str| {
        let e = calibrate(&model, dataset, clips, &Silent).unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
        assert_eq!(read(&card_path), original, "a refusal changes nothing");
        e
    };
    let e = refused(scene, &trained[..1], "trained the model");
    assert!(matches!(e, Error::Fold { .. }), "{e}");
    refused(scene, &["nope".into()], "no training clip named nope");

    let other = tmp.path().join("other-scene");
    avad::avad_data::synthetic::write_dataset(&other, 4, 3, 1, 40).unwrap();
    let e = refused(&other, &[], "other-scene: the model was trained on");
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    refused(
        &other,
        &trained[..1],
        "trained the model (a clip of that name in",
    );
    let unseen = (1..=3)
        .map(|i| format!("clip0{i}"))
        .find(|n| !trained.contains(n))
        .unwrap();
    calibrate(&model, &other, &[unseen], &Silent).unwrap();
    assert_ne!(read(&card_path), original);
    calibrate(&model, scene, &[], &Silent).unwrap();
    assert_eq!(read(&card_path), original);
}

/// The scene's training clips all have normal sound: one fold, trained on them.
#[test]
fn an_audio_model_of_normal_training_sound_has_one_fold() {
    let audio = &fixture().audio;
    let card = card(audio);
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

/// A site's own recordings of normal sound: one fold, held out from no clip, that learns
/// from them all.
#[test]
fn an_audio_model_of_normal_recordings_has_one_fold_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let normal = tmp.path().join("normal-sound");
    normal_recordings(&normal);
    let out = tmp.path().join("site-audio");
    let device = avad::cpu().autodiff();
    let preset = crate::audio_preset(1);
    train_audio(
        NormalSound::Recordings(&normal),
        &out,
        &preset,
        false,
        &device,
        &Silent,
    )
    .unwrap();
    let card = card(&out);
    let protocol = card["protocol"].as_str().unwrap();
    assert!(protocol.starts_with("normal recordings in"), "{protocol}");
    let fold = &card["folds"][0];
    assert_eq!(fold["held_out"], serde_json::Value::Null);
    assert_eq!(
        fold["train_clips"].as_array().unwrap().len()
            + fold["validation_clips"].as_array().unwrap().len(),
        2
    );
}

/// Recordings with nothing to learn from: an empty folder, a file, and a recording shorter
/// than one window (0.74 s). Each says so, and writes nothing.
#[test]
fn audio_training_without_normal_sound_to_learn_from_fails_and_writes_nothing() {
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
    let out = tmp.path().join("site2");
    let device = avad::cpu().autodiff();
    for (source, needle) in [
        (&empty, "empty: no audio files"),
        (&one, "day0.wav: a file, not a folder of recordings"),
        (
            &short,
            "short-sound: no recording has 32 feature frames (0.74 s) of normal sound in a row",
        ),
    ] {
        let e = train_audio(
            NormalSound::Recordings(source),
            &out,
            &crate::audio_preset(1),
            false,
            &device,
            &Silent,
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains(needle), "{e}");
        assert!(!out.exists(), "nothing written on failure");
    }
}
