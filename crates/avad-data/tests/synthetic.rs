//! The synthetic scene: determinism, ground-truth consistency, motion and loudness of the
//! anomalies, and round trips of the written clip layout.

use std::fs;
use std::path::Path;

use avad_data::synthetic::{
    generate, write_clip, write_dataset, write_dataset_with, AnomalyKind, ObjectKind, Scene,
    SceneConfig, SceneError, SceneLook, ScheduledAnomaly,
};
use avad_data::wav::{write_wav_f32, write_wav_pcm16, WavError};

#[path = "synthetic/written.rs"]
mod written;

fn staged(seed: u64, frames: usize, anomalies: &[(AnomalyKind, usize)]) -> Scene {
    let config = SceneConfig {
        anomalies: anomalies
            .iter()
            .map(|&(kind, start_frame)| ScheduledAnomaly { kind, start_frame })
            .collect(),
        ..SceneConfig::normal(seed, frames)
    };
    generate(&config).expect("valid config")
}

fn rms_db(x: &[f32]) -> f64 {
    let mean_sq = x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len() as f64;
    10.0 * mean_sq.log10()
}

/// Audio samples of the given frames, concatenated.
fn audio_of(scene: &Scene, frames: impl Iterator<Item = usize>) -> Vec<f32> {
    let c = &scene.config;
    frames
        .flat_map(|f| {
            scene.audio[c.sample_at_frame(f)..c.sample_at_frame(f + 1)]
                .iter()
                .copied()
        })
        .collect()
}

fn mask_centroid_x(mask: &[bool], width: usize) -> Option<f64> {
    let (sum, n) = mask
        .iter()
        .enumerate()
        .filter(|(_, &m)| m)
        .fold((0.0, 0usize), |(s, n), (i, _)| {
            (s + (i % width) as f64, n + 1)
        });
    (n > 0).then(|| sum / n as f64)
}

#[test]
fn same_seed_gives_identical_bytes_and_different_seed_does_not() {
    let config = SceneConfig::test(7, 120);
    let a = generate(&config).unwrap();
    let b = generate(&config).unwrap();
    assert_eq!(a, b);
    let bits = |s: &Scene| s.audio.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));

    let c = generate(&SceneConfig::test(8, 120)).unwrap();
    let differing = a
        .frames
        .iter()
        .zip(&c.frames)
        .filter(|(x, y)| x != y)
        .count();
    assert_eq!(differing, 120, "every frame differs between seeds");
    assert_ne!(bits(&a), bits(&c));
}

#[test]
fn shapes_and_lengths_follow_the_config() {
    let config = SceneConfig {
        width: 96,
        height: 72,
        fps: 10.0,
        sample_rate: 16000,
        ..SceneConfig::test(3, 37)
    };
    let s = generate(&config).unwrap();
    assert_eq!(s.frames.len(), 37);
    assert!(s.frames.iter().all(|f| f.len() == 96 * 72));
    assert!(s.masks.iter().all(|m| m.len() == 96 * 72));
    // round(37 / 10 * 16000)
    assert_eq!(s.audio.len(), 59_200);
    assert_eq!(SceneConfig::normal(0, 200).audio_len(), 176_400);
    assert_eq!(s.labels.len(), 37);
    assert!(s.audio.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
}

#[test]
fn staging_an_anomaly_leaves_the_crowd_untouched() {
    let normal = staged(11, 80, &[]);
    let with_bang = staged(11, 80, &[(AnomalyKind::Bang, 30)]);
    // Sound only: the pictures are the very same.
    assert_eq!(normal.frames, with_bang.frames);
    assert_ne!(normal.audio, with_bang.audio);
    let with_bike = staged(11, 80, &[(AnomalyKind::Bicycle, 30)]);
    assert_eq!(normal.frames[..30], with_bike.frames[..30]);
    assert_ne!(normal.frames[40], with_bike.frames[40]);
}

#[test]
fn masks_are_non_empty_exactly_on_visual_anomaly_frames() {
    let s = staged(
        5,
        240,
        &[
            (AnomalyKind::Bang, 10),
            (AnomalyKind::Cart, 40),
            (AnomalyKind::Shout, 150),
            (AnomalyKind::Skater, 180),
        ],
    );
    for (f, mask) in s.masks.iter().enumerate() {
        assert_eq!(mask.iter().any(|&m| m), s.visual_labels[f], "frame {f}");
        assert_eq!(
            s.labels[f],
            s.visual_labels[f] || s.audio_labels[f],
            "frame {f}"
        );
    }
    let kinds: Vec<_> = s.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            AnomalyKind::Bang,
            AnomalyKind::Cart,
            AnomalyKind::Shout,
            AnomalyKind::Skater
        ]
    );
    for e in &s.events {
        let span = e.start_frame..e.end_frame;
        assert!(!span.is_empty());
        assert!(
            span.clone().all(|f| s.labels[f] && s.audio_labels[f]),
            "{} is labelled throughout",
            e.kind
        );
        // Sound-only events are labelled but never masked; visual ones are masked throughout.
        assert!(
            span.clone()
                .all(|f| s.visual_labels[f] == e.kind.is_visual()),
            "{} masks",
            e.kind
        );
    }
    let bang = s.events[0];
    assert_eq!(
        (bang.start_frame, bang.end_frame),
        (10, 25),
        "0.6 s at 25 fps"
    );
    // The cart enters at frame 40 and needs more than 160 / 3 px/frame to cross.
    let cart = s.events[1];
    assert!(
        cart.start_frame == 40 && cart.end_frame - cart.start_frame > 53,
        "{cart:?}"
    );
    // Frames outside every event are normal.
    let inside = |f: usize| {
        s.events
            .iter()
            .any(|e| (e.start_frame..e.end_frame).contains(&f))
    };
    assert!((0..240).filter(|&f| !inside(f)).all(|f| !s.labels[f]));
    assert!(!s.labels[..10].iter().any(|&l| l));
}

#[test]
fn normal_clips_have_no_anomalous_frame() {
    for seed in 0..4 {
        let s = generate(&SceneConfig::normal(seed, 150)).unwrap();
        assert!(
            s.labels
                .iter()
                .chain(&s.visual_labels)
                .chain(&s.audio_labels)
                .all(|&l| !l),
            "seed {seed}"
        );
        assert!(s.events.is_empty() && !s.has_masks());
        assert!(s.tracks.iter().all(|t| t.kind == ObjectKind::Pedestrian));
        assert!(s.tracks.len() >= 5, "a crowd: {} people", s.tracks.len());
    }
}

#[test]
fn test_preset_stages_one_to_three_anomalies_between_normal_stretches() {
    let mut sound_only = 0;
    for seed in 0..12 {
        let config = SceneConfig::test(seed, 300);
        let n = config.anomalies.len();
        assert!((1..=3).contains(&n), "seed {seed}: {n}");
        if n >= 2 {
            assert!(config.anomalies.iter().any(|a| a.kind.is_visual()));
            assert!(config.anomalies.iter().any(|a| !a.kind.is_visual()));
        }
        sound_only += config
            .anomalies
            .iter()
            .filter(|a| !a.kind.is_visual())
            .count();
        let s = generate(&config).unwrap();
        assert!(
            !s.labels[..60].iter().any(|&l| l),
            "seed {seed}: the first 20% is normal"
        );
        assert!(
            s.labels.iter().any(|&l| l),
            "seed {seed}: something happens"
        );
        assert!(
            !s.labels[s.labels.len() - 10..].iter().all(|&l| l),
            "seed {seed}: a normal tail"
        );
    }
    assert!(sound_only >= 3);
}

#[test]
fn bicycle_moves_at_least_three_times_faster_than_people() {
    let s = staged(21, 120, &[(AnomalyKind::Bicycle, 20)]);
    let width = s.config.width as usize;
    let bike = s.events[0];
    // Mask centroids while the whole bicycle is in view (not clipped at an edge).
    let centroids: Vec<(usize, f64)> = (bike.start_frame..bike.end_frame)
        .filter_map(|f| mask_centroid_x(&s.masks[f], width).map(|x| (f, x)))
        .filter(|&(_, x)| (20.0..140.0).contains(&x))
        .collect();
    assert!(
        centroids.len() >= 10,
        "{} frames with the bicycle in full view",
        centroids.len()
    );
    let (f0, x0) = centroids[0];
    let (f1, x1) = centroids[centroids.len() - 1];
    let bike_speed = (x1 - x0).abs() / (f1 - f0) as f64;

    let walkers: Vec<f64> = s
        .tracks
        .iter()
        .filter(|t| t.kind == ObjectKind::Pedestrian && t.feet.len() >= 20)
        .map(|t| {
            let ([x0, y0], [x1, y1]) = (t.feet[0], t.feet[t.feet.len() - 1]);
            f64::from((x1 - x0).hypot(y1 - y0)) / (t.feet.len() - 1) as f64
        })
        .collect();
    let walk_speed = walkers.iter().sum::<f64>() / walkers.len() as f64;
    assert!(
        (0.6..=1.5).contains(&walk_speed),
        "people walk at {walk_speed:.2} px/frame"
    );
    assert!(
        // Drawn at 4.5-6 px/frame; the centroid wobbles with the pedalling legs.
        (4.2..=6.3).contains(&bike_speed),
        "the bicycle rides at {bike_speed:.2} px/frame"
    );
    assert!(
        bike_speed >= 3.0 * walk_speed,
        "bicycle {bike_speed:.2} vs people {walk_speed:.2} px/frame"
    );
    println!(
        "bicycle {bike_speed:.2} px/frame, people {walk_speed:.2} px/frame ({} walkers)",
        walkers.len()
    );
}

#[test]
fn people_are_drawn_where_their_tracks_say() {
    let s = generate(&SceneConfig::normal(4, 200)).unwrap();
    let (w, h) = (s.config.width as usize, s.config.height as usize);
    // The per-pixel median over time is the empty walkway: people keep moving.
    let background: Vec<u8> = (0..w * h)
        .map(|k| {
            let mut v: Vec<u8> = s.frames.iter().map(|f| f[k]).collect();
            v.sort_unstable();
            v[v.len() / 2]
        })
        .collect();
    let (mut checked, mut visible) = (0, 0);
    for t in &s.tracks {
        for (i, &[x, y]) in t.feet.iter().enumerate().step_by(10) {
            // The torso centre, about 10 px above the feet.
            let (cx, cy) = (x.round() as i64, (y - 10.0).round() as i64);
            if cx < 2 || cy < 2 || cx >= w as i64 - 2 || cy >= h as i64 - 2 {
                continue;
            }
            let frame = &s.frames[t.first_frame + i];
            let diff = (-1..=1)
                .flat_map(|dy| {
                    (-1..=1).map(move |dx| ((cy + dy) as usize) * w + (cx + dx) as usize)
                })
                .map(|k| (i32::from(frame[k]) - i32::from(background[k])).abs())
                .max()
                .unwrap_or(0);
            checked += 1;
            visible += usize::from(diff > 25);
        }
    }
    assert!(checked > 50);
    assert!(
        visible as f64 > 0.85 * checked as f64,
        "{visible} of {checked} track points show a figure"
    );
}

#[test]
fn bang_and_shout_stand_well_above_the_ambient_sound() {
    let s = staged(
        9,
        200,
        &[(AnomalyKind::Bang, 50), (AnomalyKind::Shout, 120)],
    );
    let quiet = audio_of(&s, (0..200).filter(|&f| !s.labels[f]));
    let ambient_db = rms_db(&quiet);
    // ambient bed (0.01 RMS = −40 dB) plus footsteps
    assert!(
        (-42.0..-30.0).contains(&ambient_db),
        "ambient {ambient_db:.1} dB"
    );
    for e in &s.events {
        let db = rms_db(&audio_of(&s, e.start_frame..e.end_frame));
        assert!(
            db - ambient_db >= 12.0,
            "{}: {db:.1} dB vs ambient {ambient_db:.1} dB",
            e.kind
        );
        println!(
            "{}: {:.1} dB above the {ambient_db:.1} dB ambient",
            e.kind,
            db - ambient_db
        );
    }
    let shout = s.events[1];
    let seconds = (shout.end_frame - shout.start_frame) as f32 / 25.0;
    assert!((0.5..=1.04).contains(&seconds), "shout lasts {seconds} s");
}

#[test]
fn shout_is_voiced_between_300_and_600_hz() {
    let s = staged(13, 100, &[(AnomalyKind::Shout, 20)]);
    let e = s.events[0];
    let x = audio_of(&s, e.start_frame + 3..e.end_frame - 3);
    // Autocorrelation peak over lags of 300-600 Hz against lags outside any harmonic.
    let sr = 22050.0;
    let ac = |lag: usize| {
        x.iter()
            .zip(&x[lag..])
            .map(|(a, b)| f64::from(a * b))
            .sum::<f64>()
    };
    let energy = ac(0);
    let (best_lag, best) = ((sr / 600.0) as usize..=(sr / 300.0) as usize)
        .map(|l| (l, ac(l)))
        .fold((0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a });
    let f0 = sr / best_lag as f64;
    assert!((280.0..=660.0).contains(&f0), "pitch {f0:.0} Hz");
    assert!(best / energy > 0.5, "periodicity {:.2}", best / energy);
}

#[test]
fn visual_anomalies_sound_while_in_view() {
    for (kind, seed) in [AnomalyKind::Bicycle, AnomalyKind::Cart, AnomalyKind::Skater]
        .into_iter()
        .flat_map(|k| (17..20).map(move |s| (k, s)))
    {
        let s = staged(seed, 160, &[(kind, 30)]);
        let quiet_db = rms_db(&audio_of(&s, 0..30));
        let e = s.events[0];
        assert_eq!(e.start_frame, 30, "{kind} enters the view when scheduled");
        let db = rms_db(&audio_of(&s, e.start_frame..e.end_frame));
        assert!(
            db - quiet_db >= 6.0,
            "{kind} (seed {seed}): {db:.1} dB vs {quiet_db:.1} dB before"
        );
        assert_eq!(s.audio_labels, s.visual_labels, "{kind}");
        println!(
            "{kind} seed {seed}: {:.1} dB above the {quiet_db:.1} dB before it",
            db - quiet_db
        );
    }
}

#[test]
fn invalid_configs_are_refused_with_the_reason() {
    let cases = [
        SceneConfig {
            width: 0,
            ..SceneConfig::default()
        },
        SceneConfig {
            fps: f32::NAN,
            ..SceneConfig::default()
        },
        SceneConfig {
            sample_rate: 10,
            ..SceneConfig::default()
        },
        SceneConfig {
            anomalies: vec![ScheduledAnomaly {
                kind: AnomalyKind::Bang,
                start_frame: 200,
            }],
            ..SceneConfig::default()
        },
    ];
    for config in cases {
        let err = generate(&config).unwrap_err();
        assert!(matches!(err, SceneError::InvalidConfig(_)), "{err}");
    }
    let msg = generate(&SceneConfig {
        fps: 0.0,
        ..SceneConfig::default()
    })
    .unwrap_err()
    .to_string();
    assert!(msg.contains("fps 0"), "{msg}");
    assert!(generate(&SceneConfig::test(1, 0))
        .unwrap()
        .frames
        .is_empty());
}
