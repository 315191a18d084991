//! Offline scoring and evaluation: the scores of every frame, their smoothing, the video
//! scores (motion, patch, eq. 3), causal scoring, the metrics and the fusion of both
//! modalities.

use std::path::Path;
use std::sync::OnceLock;

use avad::avad_data::Split;
use avad::avad_eval::gaussian_smooth;
use avad::avad_eval::metrics::roc_curve;
use avad::avad_model::model_dir::{FrameScore, VisualModel};
use avad::metrics::{modality_rows, pooled_labels};
use avad::{
    evaluate, score_clips, ClipScores, ClipSelection, Error, FusionConfig, Modality, Models,
    ScoreConfig, Silent,
};

use crate::{
    calibrated, errors, fixture, labels, load, minmax, pooled, pooled_row, score, smoothed,
};

/// The test clips scored by the visual model (with `score`), as `config` says.
fn visual_scores(score_with: Option<FrameScore>, config: &ScoreConfig) -> Vec<ClipScores> {
    let f = fixture();
    let models = load(&[&f.visual], score_with);
    score(&models, &f.scene, Some(Split::Test), &[], config)
}

/// The test clips scored by the visual model's autoencoder alone (with `score`, without
/// its speed score), as `config` says.
fn autoencoder_scores(score_with: Option<FrameScore>, config: &ScoreConfig) -> Vec<ClipScores> {
    let f = fixture();
    let models = Models::load_with(
        std::slice::from_ref(&f.visual),
        &avad::cpu(),
        score_with,
        false,
    )
    .unwrap();
    score(&models, &f.scene, Some(Split::Test), &[], config)
}

/// Both models, visual first.
fn both() -> Models {
    load(&[&fixture().visual, &fixture().audio], None)
}

/// The test clips scored by both models, as `ScoreConfig::default()` says: scored once,
/// for every test here that only reads them.
fn scored_by_both() -> &'static [ClipScores] {
    static SCORED: OnceLock<Vec<ClipScores>> = OnceLock::new();
    SCORED.get_or_init(|| {
        score(
            &both(),
            &fixture().scene,
            Some(Split::Test),
            &[],
            &ScoreConfig::default(),
        )
    })
}

#[test]
fn a_reloaded_model_scores_every_test_frame_the_same() {
    let once = visual_scores(None, &ScoreConfig::default());
    let again = visual_scores(None, &ScoreConfig::default());
    let names: Vec<&str> = once.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["clip01", "clip02"]);
    for (a, b) in once.iter().zip(&again) {
        let (a, b) = (&a.modalities[0], &b.modalities[0]);
        assert_eq!(a.errors.len(), 40, "one score per frame");
        assert_eq!(a.errors, b.errors);
        assert_eq!(a.regularity_minmax, b.regularity_minmax);
        assert_eq!(a.regularity_calibrated, b.regularity_calibrated);
    }
}

/// Unsmoothed, per-video min-max spans [0, 1] in each clip; by default each clip's
/// regularity scores are those, smoothed over time (σ = 5 frames), and the errors are the
/// same.
#[test]
fn smoothing_is_a_gaussian_over_each_clip_that_leaves_the_errors_alone() {
    let raw = visual_scores(None, &smoothed(0.0));
    let smooth = visual_scores(None, &ScoreConfig::default());
    for clip in &raw {
        let m = &clip.modalities[0].regularity_minmax;
        let lo = m.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = m.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(
            (lo, hi),
            (0.0, 1.0),
            "per-video min-max spans [0, 1] in each clip"
        );
    }
    assert_eq!(
        pooled(&raw, 0, errors),
        pooled(&smooth, 0, errors),
        "smoothing leaves the errors alone"
    );
    for column in [minmax, calibrated] {
        assert_ne!(pooled(&raw, 0, column), pooled(&smooth, 0, column));
        for (u, s) in raw.iter().zip(&smooth) {
            let (u, s) = (column(&u.modalities[0]), column(&s.modalities[0]));
            for (want, got) in gaussian_smooth(u, 5.0).iter().zip(s) {
                assert!((want - got).abs() < 1e-12, "{want} against {got}");
            }
        }
    }
}

/// Every row's numbers are those of the scores it names, recomputed here: AUC as the share
/// of (anomalous, normal) frame pairs in which the anomalous frame has the lower s_r (ties
/// count half), precision and recall deciding s_r < γ; the calibrated row decides with the
/// model's label-free γ.
#[test]
fn metrics_are_those_of_the_regularity_scores() {
    let models = load(&[&fixture().visual], None);
    let data = avad::avad_data::open_dataset(&fixture().scene).unwrap();
    let selection = ClipSelection {
        split: Some(Split::Test),
        names: Vec::new(),
    };
    let test = avad::clips::select_clips(&data, &selection, &fixture().scene).unwrap();
    let config = ScoreConfig::default();
    let scored = score_clips(&models, &test, &config, &avad::cpu(), &Silent).unwrap();
    let clips = &scored.clips;
    let labels = pooled_labels(clips, &Silent).expect("both classes");
    assert_eq!(labels.len(), 80);
    assert_eq!(labels, crate::labels(clips));
    assert!(labels.iter().any(|&l| l) && labels.iter().any(|&l| !l));
    let rows = modality_rows(clips, &models, &labels).unwrap();
    assert_eq!(
        rows.len(),
        6,
        "video, its autoencoder and its speed score alone"
    );
    for (row, _) in &rows {
        let is_calibrated = row.normalisation == "calibrated";
        let s = pooled_row(clips, 0, &row.modality, is_calibrated);
        let (mut pairs, mut wins) = (0.0, 0.0);
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
        let name = format!("{}, {}", row.modality, row.normalisation);
        assert!(
            (row.auc - wins / pairs).abs() < 1e-12,
            "{name}: AUC {} against {}",
            row.auc,
            wins / pairs
        );
        let gamma = row.threshold_gamma;
        let tp = s
            .iter()
            .zip(&labels)
            .filter(|(v, l)| **v < gamma && **l)
            .count() as f64;
        let flagged = s.iter().filter(|v| **v < gamma).count() as f64;
        let anomalous = labels.iter().filter(|l| **l).count() as f64;
        let precision = if flagged > 0.0 { tp / flagged } else { 0.0 };
        assert_eq!(row.precision, precision, "{name}");
        assert_eq!(row.recall, tp / anomalous, "{name}");
        let normal = labels.len() as f64 - anomalous;
        assert_eq!(row.false_alarms, (flagged - tp) / normal, "{name}");
        if is_calibrated && row.modality == "video" {
            let model = models.iter().next().unwrap();
            assert_eq!(gamma, model.normal_gamma().unwrap(), "the label-free γ");
        }
    }
    // Pixel-level AUC against the masks.
    let pixels = &scored.pixels;
    assert!(!pixels.scores.is_empty());
    let pixel = roc_curve(&pixels.scores, &pixels.labels).unwrap().auc();
    assert!((0.0..=1.0).contains(&pixel), "{pixel}");
}

/// A hop past the window would leave frames unscored (error 0: perfectly regular).
#[test]
fn a_hop_past_the_window_is_refused() {
    let f = fixture();
    let models = load(&[&f.visual], None);
    let data = avad::avad_data::open_dataset(&f.scene).unwrap();
    let clips = avad::clips::select_clips(&data, &ClipSelection::default(), &f.scene).unwrap();
    let config = ScoreConfig {
        hop: Some(11),
        ..ScoreConfig::default()
    };
    let e = score_clips(&models, &clips, &config, &avad::cpu(), &Silent).unwrap_err();
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with("hop 11: must be between 1 and the window's 10 frames"),
        "{e}"
    );
}

/// Both splits hold a clip01: each is named, and its plots are named, split/name.
#[test]
fn clips_that_share_a_name_are_named_by_split() {
    let f = fixture();
    let models = load(&[&f.visual], None);
    let clips = score(
        &models,
        &f.scene,
        None,
        &["clip01", "train/clip02"],
        &ScoreConfig::default(),
    );
    let names: Vec<&str> = clips.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["train/clip01", "clip02", "test/clip01"]);
    let stems: Vec<String> = clips.iter().map(ClipScores::file_stem).collect();
    assert_eq!(stems, ["train-clip01", "clip02", "test-clip01"]);
}

/// The motion score is the default; the patch score and eq. 3's whole-frame error are one
/// setting away, each with its own errors; eq. 3's is the root of a sum of squares, never
/// negative. Patch and motion scores share their geometry, not their normal baseline.
#[test]
fn each_video_score_has_its_own_errors() {
    let f = fixture();
    let default = load(&[&f.visual], None);
    let described = default.iter().next().unwrap().describe();
    assert!(described.contains("motion score"), "{described}");
    let config = ScoreConfig::default();
    let motion = pooled(&autoencoder_scores(None, &config), 0, errors);
    let paper = pooled(
        &autoencoder_scores(Some(FrameScore::Paper), &config),
        0,
        errors,
    );
    let patch = pooled(
        &autoencoder_scores(Some(FrameScore::Patch), &config),
        0,
        errors,
    );
    assert!(paper.iter().all(|&e| e > 0.0));
    assert_ne!(paper, motion);
    assert_ne!(patch, motion);
    assert_ne!(patch, paper);

    let card = VisualModel::load(&f.visual, &avad::cpu()).unwrap().card;
    let patch = card.patch.expect("a new model has a patch score").scorer;
    assert_eq!(patch.grid, 32, "32x32 frames: blocks of one pixel");
    assert_eq!(patch.patch, 5, "a sixth of 32 blocks, rounded");
    let motion = card.motion.expect("a new model has a motion score").scorer;
    assert_eq!(
        (motion.grid, motion.patch),
        (patch.grid, patch.patch),
        "the same geometry"
    );
    assert_ne!(motion.baseline, patch.baseline, "its own normal baseline");
}

/// With its speed score a visual model's video error is the mean of the autoencoder's and
/// the speed score's normalised errors, its calibrated regularity one less that, and its
/// γ the mean of the two γ; `load_with(.., false)` scores with the autoencoder alone.
#[test]
fn the_speed_score_joins_the_video_error_as_the_mean_of_the_normalised_errors() {
    let f = fixture();
    let with = load(&[&f.visual], None);
    let alone =
        Models::load_with(std::slice::from_ref(&f.visual), &avad::cpu(), None, false).unwrap();
    let v = with.visual().unwrap();
    let speed = v.speed.as_ref().expect("a new model has a speed score");
    assert!(alone.visual().unwrap().speed.is_none());
    let described = with.iter().next().unwrap().describe();
    assert!(described.contains("with the speed score"), "{described}");
    assert_eq!(speed.size().height, 120, "the scene's 120 rows");
    let config = smoothed(0.0);
    let combined = score(&with, &f.scene, Some(Split::Test), &[], &config);
    let own = score(&alone, &f.scene, Some(Split::Test), &[], &config);
    let calibration = v.scoring().unwrap().calibration.clone();
    let data = avad::avad_data::open_dataset(&f.scene).unwrap();
    let mut moved = 0;
    for ((c, o), clip) in combined.iter().zip(&own).zip(data.split(Split::Test)) {
        let s = speed.clip_errors(&speed.frames(clip).unwrap());
        assert_eq!(s[0], 0.0, "a clip's first frame has no motion yet");
        moved += s.iter().filter(|&&x| x > 0.0).count();
        let (c, o) = (&c.modalities[0], &o.modalities[0]);
        for t in 0..c.errors.len() {
            let want = 0.5
                * (calibration.normalized_error(o.errors[t])
                    + speed.calibration.normalized_error(s[t]));
            assert!((c.errors[t] - want).abs() < 1e-12, "frame {t}");
            assert!((c.regularity_calibrated[t] - (1.0 - want)).abs() < 1e-12);
        }
    }
    assert!(moved > 0, "the scene's people move");

    // γ: from the video errors with the speed score of the held-out clips, scored as
    // scoring scores them, for the model's default frame score.
    let joint = speed.joint.as_ref().expect("a joint calibration");
    assert_eq!(joint.score, FrameScore::Motion);
    let card = VisualModel::load(&f.visual, &avad::cpu()).unwrap().card;
    let held: Vec<&str> = card
        .training
        .validation_clips
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert!(!held.is_empty());
    let held_scores = score(&with, &f.scene, Some(Split::Train), &held, &config);
    let errors: Vec<f64> = held_scores
        .iter()
        .flat_map(|c| c.modalities[0].errors.iter().copied())
        .collect();
    let refit = avad::avad_eval::normalize::Calibration::fit(&errors).unwrap();
    assert_eq!(&refit, &joint.calibration);
    let gamma = 1.0 - joint.calibration.error_at_percentile(99.0).unwrap();
    assert_eq!(v.normal_gamma().unwrap(), gamma);
    // Another frame score has no joint calibration: the mean of the two γ.
    let patch = load(&[&f.visual], Some(FrameScore::Patch));
    let p = patch.visual().unwrap();
    let mean = 0.5
        * (p.scoring()
            .unwrap()
            .calibration
            .threshold_from_normal(99.0)
            .unwrap()
            + speed.calibration.threshold_from_normal(99.0).unwrap());
    assert_eq!(p.normal_gamma().unwrap(), mean);
}

/// With a speed score, each clip's video scores carry the two scorers alone, offline and
/// causally: the autoencoder's errors those of the model without its speed score, the
/// speed score's its raw scores, each calibrated on its own; their calibrated regularities'
/// mean is the video's. `avad eval`'s rows of each alone are the rows of those scores: the
/// autoencoder's the same as the video rows of the model without its speed score.
#[test]
fn the_video_scores_carry_the_autoencoder_and_the_speed_score_alone() {
    let f = fixture();
    let with = load(&[&f.visual], None);
    let alone =
        Models::load_with(std::slice::from_ref(&f.visual), &avad::cpu(), None, false).unwrap();
    let v = with.visual().unwrap();
    let speed = v.speed.as_ref().unwrap();
    let calibration = v.scoring().unwrap().calibration.clone();
    let data = avad::avad_data::open_dataset(&f.scene).unwrap();
    for causal in [false, true] {
        let config = ScoreConfig {
            causal,
            ..smoothed(3.0)
        };
        let combined = score(&with, &f.scene, Some(Split::Test), &[], &config);
        let own = score(&alone, &f.scene, Some(Split::Test), &[], &config);
        for ((c, o), clip) in combined.iter().zip(&own).zip(data.split(Split::Test)) {
            let s = speed.clip_errors(&speed.frames(clip).unwrap());
            let (c, o) = (&c.modalities[0], &o.modalities[0]);
            assert!(o.parts.is_empty(), "no speed score, no parts");
            let names: Vec<&str> = c.parts.iter().map(|p| p.name).collect();
            assert_eq!(names, ["autoencoder", "speed"]);
            let (ae, sp) = (&c.parts[0], &c.parts[1]);
            assert_eq!(ae.errors, o.errors, "causal {causal}");
            assert_eq!(ae.regularity_calibrated, o.regularity_calibrated);
            assert_eq!(ae.regularity_minmax, o.regularity_minmax);
            assert_eq!(sp.errors, s, "causal {causal}");
            let own = gaussian_smooth(&speed.calibration.regularity_scores(&s), 3.0);
            assert_eq!(sp.regularity_calibrated, own);
            for t in 0..c.errors.len() {
                let mean = 0.5 * (ae.regularity_calibrated[t] + sp.regularity_calibrated[t]);
                assert!(
                    (c.regularity_calibrated[t] - mean).abs() < 1e-12,
                    "frame {t}"
                );
            }
            let want = calibration.regularity_scores(&o.errors);
            assert_eq!(ae.regularity_calibrated, gaussian_smooth(&want, 3.0));
        }
        let labels = pooled_labels(&combined, &Silent).unwrap();
        let rows = modality_rows(&combined, &with, &labels).unwrap();
        let own_rows = modality_rows(&own, &alone, &labels).unwrap();
        let names: Vec<String> = rows
            .iter()
            .map(|(r, _)| format!("{}, {}", r.modality, r.normalisation))
            .collect();
        assert_eq!(
            names,
            [
                "video, per-video min-max",
                "video, calibrated",
                "video alone: autoencoder, per-video min-max",
                "video alone: autoencoder, calibrated",
                "video alone: speed, per-video min-max",
                "video alone: speed, calibrated",
            ]
        );
        for k in 0..2 {
            let (a, b) = (&rows[2 + k].0, &own_rows[k].0);
            assert_eq!(
                (a.auc, a.eer, a.recall, a.false_alarms, a.threshold_gamma),
                (b.auc, b.eer, b.recall, b.false_alarms, b.threshold_gamma)
            );
        }
        let sp_row = &rows[5].0;
        let gamma = speed.calibration.threshold_from_normal(99.0).unwrap();
        assert_eq!(sp_row.threshold_gamma, gamma);
        let pooled_speed: Vec<f64> = combined
            .iter()
            .flat_map(|c| c.modalities[0].parts[1].regularity_calibrated.clone())
            .collect();
        let normal = labels.iter().filter(|&&l| !l).count();
        let flagged = pooled_speed
            .iter()
            .zip(&labels)
            .filter(|(&r, &l)| !l && r < gamma)
            .count();
        assert_eq!(sp_row.false_alarms, flagged as f64 / normal as f64);
    }
}

/// A one-clip dataset in `root` of the scene's test clip01: its frames, and its sound with
/// the first 0.1 s (2205 samples) replaced by `first()`, sample by sample.
fn with_sound(root: &Path, first: &mut dyn FnMut() -> i16) {
    let from = fixture().scene.join("test").join("clip01");
    let clip = root.join("test").join("clip01");
    std::fs::create_dir_all(&clip).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "png") {
            std::fs::copy(&path, clip.join(path.file_name().unwrap())).unwrap();
        }
    }
    let mut wav = std::fs::read(from.join("audio.wav")).unwrap();
    assert_eq!(&wav[36..40], b"data", "a plain 44-byte PCM header");
    for i in 0..2205 {
        wav[44 + 2 * i..46 + 2 * i].copy_from_slice(&first().to_le_bytes());
    }
    std::fs::write(clip.join("audio.wav"), &wav).unwrap();
}

/// Causal scoring differs from offline only in the features' dB floors, which follow the
/// running maximum: on a clip whose loudest sound comes first, the two agree on every
/// frame; on one that starts quiet, the floor rises later causally than offline, and early
/// frames' errors differ: the two paths are not one.
#[test]
fn causal_audio_scoring_differs_from_offline_only_in_the_db_floors() {
    let tmp = tempfile::tempdir().unwrap();
    let models = load(&[&fixture().audio], None);
    let audio_errors = |dataset: &Path, causal: bool| -> Vec<f64> {
        let config = ScoreConfig {
            causal,
            ..ScoreConfig::default()
        };
        let clips = score(&models, dataset, Some(Split::Test), &[], &config);
        assert_eq!(clips[0].modalities[0].modality, Modality::Audio);
        pooled(&clips, 0, errors)
    };
    // Loud first: full-scale noise.
    let loud = tmp.path().join("loud-first");
    let mut state = 12345u32;
    with_sound(&loud, &mut || {
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
    // Quiet first: 0.1 s of silence, then the clip's own sound.
    let quiet = tmp.path().join("quiet-first");
    with_sound(&quiet, &mut || 0);
    let (offline, causal) = (audio_errors(&quiet, false), audio_errors(&quiet, true));
    assert!(
        offline
            .iter()
            .zip(&causal)
            .any(|(o, c)| (o - c).abs() > 1e-3 * o),
        "causal scoring ignored: {offline:?}"
    );
}

/// Both models score every frame of every test clip, in the order given.
#[test]
fn both_models_score_every_frame() {
    let clips = scored_by_both();
    assert_eq!(clips.len(), 2);
    for c in clips {
        let modalities: Vec<Modality> = c.modalities.iter().map(|m| m.modality).collect();
        assert_eq!(modalities, [Modality::Video, Modality::Audio]);
        for m in &c.modalities {
            assert_eq!(m.errors.len(), 40);
            assert_eq!(m.regularity_minmax.len(), 40);
            assert_eq!(m.regularity_calibrated.len(), 40);
        }
    }
}

/// The test clips scored by both models, evaluated with fusion nets of 2 epochs and the
/// seeds `seeds`.
fn evaluation(seeds: std::ops::Range<u64>) -> avad::Evaluation {
    let fusion = FusionConfig { epochs: 2, seeds };
    evaluate(scored_by_both().to_vec(), &both(), &fusion, &Silent).unwrap()
}

fn joint_column<'a>(e: &'a avad::Evaluation, name: &str) -> &'a [f64] {
    &e.joint_columns
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

/// Every modality and both fusions, each under both normalisations. The label-free mean
/// is the mean of the two modalities' regularity scores, the net's is 1 − P(anomalous);
/// each row decides on the scores it names: s_r < γ for the modalities and the mean,
/// P(anomalous) ≥ 0.5 for the net.
#[test]
fn evaluation_fuses_by_the_mean_and_by_the_net() {
    let e = evaluation(1..3);
    assert_eq!(
        e.rows.len(),
        12,
        "audio, video, its autoencoder and speed score alone, two fusions, two normalisations each"
    );
    let clips = &e.clips;
    let (vm, am) = (pooled(clips, 0, minmax), pooled(clips, 1, minmax));
    let (vc, ac) = (pooled(clips, 0, calibrated), pooled(clips, 1, calibrated));
    let (jm, jc) = (
        joint_column(&e, "joint_mean_regularity_minmax"),
        joint_column(&e, "joint_mean_regularity_calibrated"),
    );
    let (nm, nc) = (
        joint_column(&e, "joint_net_regularity_minmax"),
        joint_column(&e, "joint_net_regularity_calibrated"),
    );
    assert_eq!(vm.len(), 80);
    for i in 0..80 {
        assert_eq!(jm[i], 0.5 * (vm[i] + am[i]), "frame {i}");
        assert_eq!(jc[i], 0.5 * (vc[i] + ac[i]), "frame {i}");
        assert!(
            (0.0..=1.0).contains(&nm[i]) && (0.0..=1.0).contains(&nc[i]),
            "frame {i}: {} {}",
            nm[i],
            nc[i]
        );
    }
    let labels = labels(clips);
    assert_eq!(e.labels, labels);
    let mut parts: Vec<Vec<f64>> = Vec::new();
    for (row, _) in &e.rows {
        let is_calibrated = row.normalisation == "calibrated";
        let column: &[f64] = match (row.modality.as_str(), is_calibrated) {
            ("video", false) => &vm,
            ("video", true) => &vc,
            ("audio", false) => &am,
            ("audio", true) => &ac,
            ("joint (mean)", false) => jm,
            ("joint (mean)", true) => jc,
            ("joint (Table 4 net)", false) => nm,
            ("joint (Table 4 net)", true) => nc,
            (part, _) if part.starts_with("video alone: ") => {
                parts.push(pooled_row(clips, 0, part, is_calibrated));
                parts.last().unwrap()
            }
            (other, _) => panic!("unexpected row {other}"),
        };
        let net = row.modality == "joint (Table 4 net)";
        let gamma = row.threshold_gamma;
        let flagged: Vec<bool> = column
            .iter()
            .map(|&r| if net { 1.0 - r >= 0.5 } else { r < gamma })
            .collect();
        let tp = flagged
            .iter()
            .zip(&labels)
            .filter(|(f, l)| **f && **l)
            .count() as f64;
        let tn = flagged
            .iter()
            .zip(&labels)
            .filter(|(f, l)| !**f && !**l)
            .count() as f64;
        let anomalous = labels.iter().filter(|l| **l).count() as f64;
        let negatives = labels.len() as f64 - anomalous;
        let name = format!("{}, {}", row.modality, row.normalisation);
        assert_eq!(row.recall, tp / anomalous, "{name}");
        assert_eq!(row.accuracy, (tp + tn) / (anomalous + negatives), "{name}");
    }
}

/// Each fold's net P is the mean of its seeds' nets: two seeds against the one-seed runs
/// of seeds 1 and 2 (the same inputs).
#[test]
fn each_folds_net_is_the_mean_of_its_seeds() {
    let (two, one, other) = (evaluation(1..3), evaluation(1..2), evaluation(2..3));
    let columns = [
        "joint_net_regularity_minmax",
        "joint_net_regularity_calibrated",
    ];
    let both = |e: &avad::Evaluation| -> Vec<Vec<f64>> {
        columns
            .iter()
            .map(|c| joint_column(e, c).to_vec())
            .collect()
    };
    assert_ne!(both(&one), both(&other), "another seed trains another net");
    for column in columns {
        let (two, a, b) = (
            joint_column(&two, column),
            joint_column(&one, column),
            joint_column(&other, column),
        );
        assert_eq!(two.len(), 80);
        for ((t, a), b) in two.iter().zip(a).zip(b) {
            assert!((t - 0.5 * (a + b)).abs() < 1e-12, "{column}: {t} {a} {b}");
        }
    }
}
