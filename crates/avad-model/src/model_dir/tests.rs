use super::*;
use crate::audio::{AudioAutoencoderConfig, AudioError, AudioScaler};
use crate::sequences::VisualInput;
use avad_eval::normalize::Calibration;

#[test]
fn builtin_presets_parse_and_cite_the_paper() {
    let paper = VisualPreset::load("paper").unwrap();
    assert_eq!(
        (
            paper.size,
            paper.steps,
            paper.train.epochs,
            paper.train.batch_size
        ),
        (240, 10, 300, 10)
    );
    assert_eq!(paper.strides, vec![1, 2, 3]);
    assert_eq!(paper.input, VisualInput::Frames, "the paper feeds frames");
    let cpu = VisualPreset::load("cpu").unwrap();
    assert!(cpu.size < paper.size && cpu.train.epochs < paper.train.epochs);
    assert_eq!(cpu.input, VisualInput::Differences);
    // cpu-240 is the cpu preset at the paper's frame size, and nothing else.
    let full = VisualPreset::load("cpu-240").unwrap();
    assert_eq!(full.size, paper.size);
    assert_eq!(
        VisualPreset {
            name: cpu.name.clone(),
            description: cpu.description.clone(),
            size: cpu.size,
            ..full
        },
        cpu
    );
    assert_eq!(
        VisualPreset::load("demo").unwrap().input,
        VisualInput::Differences
    );
    // A preset (or a model card's) without `input` is one from before it: frames.
    let older =
        include_str!("../../../../presets/visual-cpu.toml").replace("input = \"differences\"", "");
    assert_eq!(
        VisualPreset::from_toml(&older, Path::new("v.toml"))
            .unwrap()
            .input,
        VisualInput::Frames
    );
    let wrong =
        include_str!("../../../../presets/visual-cpu.toml").replace("\"differences\"", "\"flow\"");
    let err = VisualPreset::from_toml(&wrong, Path::new("v.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("v.toml: line ") && err.contains(": unknown variant `flow`"),
        "{err}"
    );
    let err = VisualPreset::load("no-such-preset")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not a built-in preset (paper, cpu, cpu-240, demo)"),
        "{err}"
    );
}

#[test]
fn audio_preset_is_table_6s_ped2_run() {
    let p = AudioPreset::load("paper").unwrap();
    assert_eq!((p.steps, p.train.epochs, p.train.batch_size), (32, 50, 10));
    assert_eq!(p.error, AudioError::Features);
    // A preset (or a model card's) without `error` is one from before it: eq. 3's form.
    let older =
        include_str!("../../../../presets/audio-paper.toml").replace("error = \"features\"", "");
    assert_eq!(
        AudioPreset::from_toml(&older, Path::new("a.toml"))
            .unwrap()
            .error,
        AudioError::Values
    );
    let wrong =
        include_str!("../../../../presets/audio-paper.toml").replace("\"features\"", "\"bands\"");
    let err = AudioPreset::from_toml(&wrong, Path::new("a.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("a.toml: line ") && err.contains(": unknown variant `bands`"),
        "{err}"
    );
    let text =
        include_str!("../../../../presets/audio-paper.toml").replace("steps = 32", "steps = 30");
    let err = AudioPreset::from_toml(&text, Path::new("a.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("a.toml: steps 30 must be a positive multiple of 4"),
        "{err}"
    );
}

fn fold(held_out: Option<&str>, train: &[&str]) -> AudioFold {
    let m = avad_features::FeatureMatrix {
        frames: 2,
        data: (0..320).map(|i| i as f32).collect(),
    };
    AudioFold {
        held_out: held_out.map(str::to_string),
        weights: "w.bpk".into(),
        scaler: AudioScaler::fit(&[&m]).unwrap(),
        training: TrainingRecord {
            train_clips: train.iter().map(|s| s.to_string()).collect(),
            validation_clips: vec![],
            history: vec![],
            best_epoch: 1,
            stopped_early: false,
            calibration: Calibration::fit(&[1.0, 2.0, 3.0]).unwrap(),
            calibrated_on: String::new(),
        },
    }
}

#[test]
fn audio_folds_never_score_their_own_training_clips() {
    let card = |folds| AudioModelCard {
        format: FORMAT_VERSION,
        kind: "audio".into(),
        avad_version: String::new(),
        preset: AudioPreset::load("paper").unwrap(),
        model: AudioAutoencoderConfig::new(),
        protocol: String::new(),
        source: String::new(),
        folds,
    };
    let loco = AudioModel {
        card: card(vec![
            fold(Some("a"), &["b", "c"]),
            fold(Some("b"), &["a", "c"]),
        ]),
        networks: vec![],
    };
    assert_eq!(loco.fold_for("a"), Ok(0));
    assert_eq!(loco.fold_for("b"), Ok(1));
    let err = loco.fold_for("c").unwrap_err().to_string();
    assert!(
        err.contains("every audio fold of this model was trained on it"),
        "{err}"
    );
    // A clip no fold names (another dataset's, say): no fold saw it, the first scores it.
    assert_eq!(loco.fold_for("nope"), Ok(0));
    let normal = AudioModel {
        card: card(vec![fold(None, &["n1", "n2"])]),
        networks: vec![],
    };
    assert_eq!(normal.fold_for("test1"), Ok(0));
    assert!(normal.fold_for("n2").is_err());
}

#[test]
fn bad_presets_name_the_file_and_the_field() {
    let text =
        include_str!("../../../../presets/visual-cpu.toml").replace("size = 96", "size = 100");
    let err = VisualPreset::from_toml(&text, Path::new("my.toml"))
        .unwrap_err()
        .to_string();
    let huge = VisualPreset::from_toml(
        &text.replace("size = 100", "size = 4000000000"),
        Path::new("my.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        huge.starts_with("my.toml: size 4000000000 is more than 1024 pixels a side"),
        "{huge}"
    );
    assert!(
        err.starts_with("my.toml: size 100 must be a positive multiple of 8"),
        "{err}"
    );
    let text =
        include_str!("../../../../presets/visual-cpu.toml").replace("steps = 10", "steps = 1");
    let err = VisualPreset::from_toml(&text, Path::new("my.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("my.toml: steps 1 must be at least 2"),
        "{err}"
    );
    let text =
        include_str!("../../../../presets/visual-cpu.toml").replace("steps = 10", "stepz = 10");
    let err = VisualPreset::from_toml(&text, Path::new("my.toml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("stepz"), "{err}");
}
