//! `watch` of the test clip's frame folder with its sound, by both models, as `avad watch`
//! watches it: against causal scoring, with worker threads, with a minimum gap between
//! episodes, and with the evidence writer.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use avad::avad_data::Split;
use avad::avad_media::source::{FolderSource, FrameSource};
use avad::{
    Detector, DetectorConfig, Event, EventSink, Evidence, ScoreConfig, Summary, WatchOptions,
};

use crate::{fixture, load, read};

/// Every event of a watch, as it came.
#[derive(Default)]
struct Collect(Vec<Event>);

impl EventSink for Collect {
    fn event(&mut self, event: &mut Event) -> avad::Result<()> {
        self.0.push(event.clone());
        Ok(())
    }
}

/// The first test clip's frame folder and its sound watched by both models, as `avad watch`
/// watches it; with `evidence`, its episodes saved there. Every event, and the summary.
fn watch_with_sound(
    config: DetectorConfig,
    min_gap: usize,
    every_frame: bool,
    evidence: Option<&Path>,
) -> (Vec<Event>, Summary) {
    let models = load(&[&fixture().visual, &fixture().audio], None);
    let mut detector = Detector::new(&models, config, &avad::cpu()).unwrap();
    let clip = fixture().scene.join("test").join("clip01");
    let sound = clip.join("audio.wav");
    let (size, speed) = (detector.frame_size(), detector.speed_frame_size());
    let mut open = || -> avad::Result<Box<dyn FrameSource>> {
        Ok(Box::new(FolderSource::open_sizes(
            &clip,
            size,
            speed,
            25.0,
            Some(&sound),
        )?))
    };
    let mut saver =
        evidence.map(|dir| Evidence::new(dir, size.width as usize, detector.gamma()).unwrap());
    let mut collect = Collect::default();
    let summary = {
        let mut sinks: Vec<&mut dyn EventSink> = Vec::new();
        if let Some(saver) = saver.as_mut() {
            sinks.push(saver);
        }
        sinks.push(&mut collect);
        let options = WatchOptions {
            source_name: clip.display().to_string(),
            live: false,
            reconnect: 0,
            min_gap,
            every_frame,
            fallback_fps: 25.0,
        };
        avad::watch(
            &mut detector,
            &mut open,
            &mut sinks,
            &AtomicBool::new(false),
            &options,
            &mut |_| {},
        )
        .unwrap()
    };
    (collect.0, summary)
}

/// A `frame` event's number (1-based), video, audio and deciding regularity scores, and
/// decision.
type FrameEvent = (usize, f64, Option<f64>, f64, bool);

fn frame_events(events: &[Event]) -> Vec<FrameEvent> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Frame {
                frame,
                video_regularity,
                audio_regularity,
                regularity,
                anomalous,
                ..
            } => Some((
                *frame,
                *video_regularity,
                *audio_regularity,
                *regularity,
                *anomalous,
            )),
            _ => None,
        })
        .collect()
}

/// With sound, a test clip watched as a stream gives, frame for frame, what causal
/// scoring gives for both modalities, and decides on the mean of the two regularity
/// scores.
#[test]
fn with_sound_a_watch_scores_as_causal_scoring_and_decides_on_the_mean() {
    let models = load(&[&fixture().visual, &fixture().audio], None);
    let config = ScoreConfig {
        causal: true,
        ..ScoreConfig::default()
    };
    let offline = crate::score(
        &models,
        &fixture().scene,
        Some(Split::Test),
        &["clip01"],
        &config,
    );
    let (video, audio) = (
        &offline[0].modalities[0].regularity_calibrated,
        &offline[0].modalities[1].regularity_calibrated,
    );
    let (events, summary) = watch_with_sound(DetectorConfig::default(), 1, true, None);
    let frames = frame_events(&events);
    assert_eq!(frames.len(), 40);
    for ((f, v, a, r, anomalous), (want_v, want_a)) in frames.iter().zip(video.iter().zip(audio)) {
        let a = a.expect("an audio score");
        assert!(
            (v - want_v).abs() <= 1e-9 * want_v.abs().max(1.0),
            "frame {f}: video live {v}, offline {want_v}"
        );
        assert!(
            (a - want_a).abs() <= 1e-9 * want_a.abs().max(1.0),
            "frame {f}: audio live {a}, offline {want_a}"
        );
        assert!((r - 0.5 * (v + a)).abs() < 1e-12, "frame {f}");
        assert_eq!(*anomalous, *r < summary.gamma, "frame {f}");
    }
    assert_eq!(summary.frames, 40);
    assert!(matches!(events.last(), Some(Event::Summary(_))));
}

/// The visual windows scored by one worker thread and by three, with sound: the same
/// scores and decisions, frame for frame.
#[test]
fn with_sound_scores_do_not_depend_on_the_worker_threads() {
    let with = |workers: usize| {
        let config = DetectorConfig {
            workers,
            ..DetectorConfig::default()
        };
        frame_events(&watch_with_sound(config, 1, true, None).0)
    };
    let one = with(1);
    assert_eq!(one.len(), 40);
    assert_eq!(one, with(3));
}

/// With a minimum gap of 3, an episode of a watch ends only after three frames in a row
/// at or above γ (γ set to the median joint score, and the scores left unsmoothed, so that
/// they cross it often within the 40 frames).
#[test]
fn a_watch_ends_an_episode_after_min_gap_frames_above_gamma() {
    let (events, _) = watch_with_sound(DetectorConfig::default(), 1, true, None);
    let mut sorted: Vec<f64> = frame_events(&events).iter().map(|f| f.3).collect();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let config = DetectorConfig {
        gamma: Some(median),
        smooth: 0.0,
        ..DetectorConfig::default()
    };
    let (gapped, _) = watch_with_sound(config, 3, true, None);
    // The episodes the rule gives, from the frame records: (first frame, end frame).
    let mut want = Vec::new();
    let (mut open, mut run) = (None, 0);
    for (n, _, _, _, below) in frame_events(&gapped) {
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
    let starts = gapped
        .iter()
        .filter(|e| matches!(e, Event::Start { .. }))
        .count();
    let ends: Vec<(usize, usize)> = gapped
        .iter()
        .filter_map(|e| match e {
            Event::End {
                frame,
                first_frame,
                reason,
                ..
            } if reason == "score back above gamma" => Some((*first_frame, *frame)),
            _ => None,
        })
        .collect();
    assert_eq!(ends, want, "episodes end after three frames above gamma");
    assert!(!want.is_empty() && starts >= want.len());
}

/// With γ above every score the whole clip is one episode, saved whole with its sound; a
/// second watch into the same folder keeps the first one's episode and numbers on.
#[test]
fn a_watch_saves_a_whole_clip_episode_with_its_sound_and_numbers_on() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = tmp.path().join("evidence");
    let config = || DetectorConfig {
        gamma: Some(10.0),
        keep_evidence: true,
        ..DetectorConfig::default()
    };
    // The folder the `end` event of a watch names.
    let saved = |events: &[Event]| -> Option<String> {
        events.iter().find_map(|e| match e {
            Event::End { evidence, .. } => evidence.clone(),
            _ => None,
        })
    };
    let (events, _) = watch_with_sound(config(), 1, false, Some(&evidence));
    let episode = evidence.join("episode-0001");
    assert_eq!(saved(&events).as_deref(), Some(episode.to_str().unwrap()));
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
    let (events, _) = watch_with_sound(config(), 1, false, Some(&evidence));
    let second = evidence.join("episode-0002");
    assert_eq!(saved(&events).as_deref(), Some(second.to_str().unwrap()));
    assert_eq!(read(&episode.join("scores.csv")), scores);
    assert!(second.join("scores.csv").is_file());
}
