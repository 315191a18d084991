//! The live engine through the library's API: the `Detector` on a small model trained here
//! on the synthetic scene, its `Episodes`, its events and the evidence sink.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use avad::avad_data::synthetic::write_dataset;
use avad::avad_data::{open_dataset, Split};
use avad::avad_eval::gaussian_smooth;
use avad::avad_model::model_dir::VisualPreset;
use avad::live::{Episodes, FrameScores};
use avad::{
    score_clips, train_visual, ClipSelection, Decision, Detector, DetectorConfig, Error, Event,
    EventSink, Evidence, Models, ScoreConfig, Silent, StretchEnd,
};

/// A scene and a visual model trained on it, made once for every test of this file.
struct Fixture {
    _dir: tempfile::TempDir,
    scene: PathBuf,
    model: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scene = dir.path().join("scene");
        write_dataset(&scene, 3, 3, 1, 40).unwrap();
        let mut preset = VisualPreset::load("cpu").unwrap();
        preset.size = 32;
        preset.score_hop = 5;
        preset.train.epochs = 2;
        preset.train.batch_size = 4;
        let model = dir.path().join("model");
        let device = avad::cpu().autodiff();
        train_visual(&scene, &model, &preset, false, &device, &Silent).unwrap();
        Fixture {
            _dir: dir,
            scene,
            model,
        }
    })
}

fn models() -> Models {
    Models::load(&[fixture().model.clone()], &avad::cpu(), None).unwrap()
}

/// The test clip's frames at the model's size.
fn test_frames(size: avad::avad_media::FrameSize) -> Vec<Vec<f32>> {
    let dataset = open_dataset(&fixture().scene).unwrap();
    let clip = dataset.split(Split::Test).next().unwrap();
    clip.video
        .read_frames(size)
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .collect()
}

/// Frame `i` of the test clip into `detector`: `frames[i]` at the model's size, and the same
/// frame at the speed score's size when the model has one.
fn push(detector: &mut Detector, frames: &[Vec<f32>], i: usize) -> avad::Result<()> {
    static SPEED: OnceLock<Option<Vec<Vec<f32>>>> = OnceLock::new();
    let speed = SPEED.get_or_init(|| detector.speed_frame_size().map(test_frames));
    let second = speed.as_ref().map(|s| s[i].clone());
    detector.push_frames(frames[i].clone(), second, i as f64 / 25.0)
}

/// Every decision of a detector fed `frames` at 25 fps in one stretch.
fn run(config: DetectorConfig, frames: &[Vec<f32>]) -> Vec<Decision> {
    let mut detector = Detector::new(&models(), config, &avad::cpu()).unwrap();
    detector.begin(25.0, None).unwrap();
    let mut out = Vec::new();
    for i in 0..frames.len() {
        push(&mut detector, frames, i).unwrap();
        out.extend(detector.decisions());
    }
    detector.end(StretchEnd::Complete).unwrap();
    out.extend(detector.decisions());
    out
}

fn frame_size() -> avad::avad_media::FrameSize {
    Detector::new(&models(), DetectorConfig::default(), &avad::cpu())
        .unwrap()
        .frame_size()
}

#[test]
fn every_frame_is_decided_once_in_order_against_gamma() {
    let frames = test_frames(frame_size());
    let decided = run(DetectorConfig::default(), &frames);
    let numbers: Vec<usize> = decided.iter().map(|d| d.frame).collect();
    assert_eq!(numbers, (0..frames.len()).collect::<Vec<_>>());
    let gamma = Detector::new(&models(), DetectorConfig::default(), &avad::cpu())
        .unwrap()
        .gamma();
    for d in &decided {
        assert_eq!(d.anomalous, d.regularity < gamma, "frame {}", d.frame);
        assert_eq!(d.regularity, d.video.regularity, "video alone decides");
        assert!(d.audio.is_none());
    }
}

#[test]
fn scores_do_not_depend_on_the_worker_threads() {
    let frames = test_frames(frame_size());
    let one = run(
        DetectorConfig {
            workers: 1,
            ..DetectorConfig::default()
        },
        &frames,
    );
    let three = run(
        DetectorConfig {
            workers: 3,
            ..DetectorConfig::default()
        },
        &frames,
    );
    let scores = |d: &[Decision]| -> Vec<FrameScores> { d.iter().map(|d| d.video).collect() };
    assert_eq!(scores(&one), scores(&three));
}

/// Smoothing live (each frame waits for the 4σ frames after it) gives the bits of smoothing
/// the whole clip at once.
#[test]
fn live_smoothing_equals_smoothing_the_whole_clip() {
    let frames = test_frames(frame_size());
    let raw = run(
        DetectorConfig {
            smooth: 0.0,
            ..DetectorConfig::default()
        },
        &frames,
    );
    let smoothed = run(
        DetectorConfig {
            smooth: 2.0,
            ..DetectorConfig::default()
        },
        &frames,
    );
    let whole = gaussian_smooth(
        &raw.iter().map(|d| d.video.regularity).collect::<Vec<_>>(),
        2.0,
    );
    let live: Vec<f64> = smoothed.iter().map(|d| d.video.regularity).collect();
    assert_eq!(live, whole);
    // The errors are the model's, unsmoothed, either way.
    assert_eq!(
        raw.iter().map(|d| d.video.error).collect::<Vec<_>>(),
        smoothed.iter().map(|d| d.video.error).collect::<Vec<_>>()
    );
}

/// `score --causal` is the detector run over each clip: the same errors, to the bit.
#[test]
fn causal_scoring_is_the_detector_over_each_clip() {
    let frames = test_frames(frame_size());
    let live = run(
        DetectorConfig {
            smooth: 0.0,
            ..DetectorConfig::default()
        },
        &frames,
    );
    let dataset = open_dataset(&fixture().scene).unwrap();
    let selection = ClipSelection {
        split: Some(Split::Test),
        names: Vec::new(),
    };
    let clips = avad::clips::select_clips(&dataset, &selection, &fixture().scene).unwrap();
    let config = ScoreConfig {
        causal: true,
        smooth: 0.0,
        ..ScoreConfig::default()
    };
    let scored = score_clips(&models(), &clips, &config, &avad::cpu(), &Silent).unwrap();
    let offline = &scored.clips[0].modalities[0];
    let live_errors: Vec<f64> = live.iter().map(|d| d.video.error).collect();
    assert_eq!(offline.errors, live_errors);
    let live_regularity: Vec<f64> = live.iter().map(|d| d.video.regularity).collect();
    assert_eq!(offline.regularity_calibrated, live_regularity);
}

/// A stretch shorter than a window is not scored (its frames are dropped, with a notice),
/// and the next stretch's frames are numbered on.
#[test]
fn a_stretch_shorter_than_a_window_is_dropped_and_numbering_goes_on() {
    let frames = test_frames(frame_size());
    let mut detector = Detector::new(
        &models(),
        DetectorConfig {
            smooth: 0.0,
            ..DetectorConfig::default()
        },
        &avad::cpu(),
    )
    .unwrap();
    detector.begin(25.0, None).unwrap();
    for i in 0..4 {
        push(&mut detector, &frames, i).unwrap();
    }
    detector.end(StretchEnd::Complete).unwrap();
    assert_eq!(detector.decisions().count(), 0);
    let notices = detector.take_notices();
    assert!(
        notices.iter().any(|n| n.contains("fewer than one window")),
        "{notices:?}"
    );
    detector.begin(25.0, None).unwrap();
    assert_eq!(detector.stretch_start(), 4);
    for i in 0..frames.len() {
        push(&mut detector, &frames, i).unwrap();
    }
    detector.end(StretchEnd::Complete).unwrap();
    let numbers: Vec<usize> = detector.decisions().map(|d| d.frame).collect();
    assert_eq!(numbers, (4..4 + frames.len()).collect::<Vec<_>>());
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut detector = Detector::new(&models(), DetectorConfig::default(), &avad::cpu()).unwrap();
    // Before a stretch begins.
    assert!(matches!(
        detector.push_frame(vec![0.0; 32 * 32], 0.0),
        Err(Error::Invalid(_))
    ));
    detector.begin(25.0, None).unwrap();
    let e = detector.push_frame(vec![0.0; 10], 0.0).unwrap_err();
    assert!(e.to_string().contains("32x32"), "{e}");
    // The model has a speed score: a frame without its speed-size copy, or with one of
    // the wrong size, is refused.
    let speed = detector.speed_frame_size().expect("a speed score");
    let e = detector.push_frame(vec![0.0; 32 * 32], 0.0).unwrap_err();
    assert!(e.to_string().contains(&speed.to_string()), "{e}");
    let e = detector
        .push_frames(vec![0.0; 32 * 32], Some(vec![0.0; 7]), 0.0)
        .unwrap_err();
    assert!(e.to_string().contains("a speed frame of 7 values"), "{e}");
    assert!(matches!(
        detector.begin(f64::NAN, None),
        Err(Error::Invalid(_))
    ));
    // A hop past the window.
    let e = Detector::new(
        &models(),
        DetectorConfig {
            hop: Some(11),
            ..DetectorConfig::default()
        },
        &avad::cpu(),
    )
    .err()
    .unwrap();
    assert!(matches!(e, Error::Invalid(_)), "{e}");
    // A model folder that is not there, and two models of one modality.
    let e = Models::load(&[PathBuf::from("/no/such/model")], &avad::cpu(), None)
        .err()
        .unwrap();
    assert!(matches!(e, Error::ModelDir(_)), "{e}");
    assert!(e.to_string().contains("/no/such/model"), "{e}");
    let m = fixture().model.clone();
    let e = Models::load(&[m.clone(), m], &avad::cpu(), None)
        .err()
        .unwrap();
    assert!(matches!(e, Error::Models(_)), "{e}");
}

fn decision(frame: usize, regularity: f64, gamma: f64) -> Decision {
    Decision {
        frame,
        time_s: frame as f64 / 25.0,
        video: FrameScores {
            error: 1.0 - regularity,
            regularity,
        },
        video_parts: None,
        audio: None,
        regularity,
        anomalous: regularity < gamma,
        latency: std::time::Duration::ZERO,
        pixels: vec![frame as u8; 16],
    }
}

/// An episode opens at its first anomalous frame and, with a minimum gap of 3, ends only
/// after 3 frames in a row at or above γ, at the first of them; a shorter dip stays inside.
#[test]
fn episodes_end_after_min_gap_frames_above_gamma() {
    let scores = [0.9, 0.1, 0.1, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.9];
    let mut episodes = Episodes::new(0.5, 3, false);
    let mut events = Vec::new();
    for (f, &s) in scores.iter().enumerate() {
        events.extend(episodes.decide(&decision(f, s, 0.5)));
    }
    assert_eq!(events.len(), 2, "{events:?}");
    match (&events[0], &events[1]) {
        (
            Event::Start { frame, .. },
            Event::End {
                frame: end,
                first_frame,
                frames,
                min_regularity,
                ..
            },
        ) => {
            assert_eq!((*frame, *first_frame), (2, 2), "1-based frame numbers");
            assert_eq!(
                (*end, *frames),
                (7, 5),
                "ends at the first of the 3 frames above"
            );
            assert_eq!(*min_regularity, 0.1);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(episodes.count(), 1);
    assert!(!episodes.is_open());
}

/// Every event, written as a JSON line, reads back as itself.
#[test]
fn events_round_trip_through_json_lines() {
    let mut episodes = Episodes::new(0.5, 1, true);
    let mut events = Vec::new();
    for (f, s) in [0.9, 0.2, 0.3, 0.8].into_iter().enumerate() {
        events.extend(episodes.decide(&decision(f, s, 0.5)));
    }
    assert_eq!(
        events.len(),
        4 + 2,
        "a frame event each, a start and an end"
    );
    let mut buf = Vec::new();
    {
        let mut sink = avad::JsonLines::new(&mut buf, "a buffer");
        for e in events.iter_mut() {
            sink.event(e).unwrap();
        }
    }
    let text = String::from_utf8(buf).unwrap();
    let back: Vec<Event> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(back, events);
    assert!(text
        .lines()
        .next()
        .unwrap()
        .starts_with(r#"{"event":"frame""#));
}

/// The evidence writer saves an episode when it ends and names its folder in the `end`
/// event, for the sinks after it.
#[test]
fn the_evidence_sink_names_its_folder_in_the_end_event() {
    let tmp = tempfile::tempdir().unwrap();
    let mut evidence = Evidence::new(tmp.path(), 4, 0.5).unwrap();
    evidence.stretch(0, 25.0).unwrap();
    let mut episodes = Episodes::new(0.5, 1, false);
    let mut ends = Vec::new();
    for (f, s) in [0.9, 0.9, 0.2, 0.1, 0.9].into_iter().enumerate() {
        let d = decision(f, s, 0.5);
        for mut e in episodes.decide(&d) {
            evidence.event(&mut e).unwrap();
            if let Event::End { evidence, .. } = e {
                ends.push(evidence);
            }
        }
        evidence.frame(&d).unwrap();
    }
    assert_eq!(ends.len(), 1);
    let folder = PathBuf::from(ends[0].clone().expect("the folder is named"));
    assert!(folder.ends_with("episode-0001"));
    let frames = std::fs::read_dir(folder.join("frames")).unwrap().count();
    assert_eq!(
        frames, 4,
        "the 2 frames before it (a lead-in of up to a second), the 2 anomalous"
    );
    assert!(Path::new(&folder).join("episode.json").is_file());
}
