//! The synthetic scene: determinism, ground-truth consistency, motion and loudness of the
//! anomalies, and round trips of the written clip layout.

use std::fs;
use std::path::Path;

use avad_data::synthetic::{
    generate, write_clip, write_dataset, write_dataset_with, AnomalyKind, ObjectKind, Scene,
    SceneConfig, SceneError, SceneLook, ScheduledAnomaly,
};
use avad_data::wav::{write_wav_f32, write_wav_pcm16, WavError};

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

/// A minimal RIFF reader: format tag, channels, rate, bits and the data chunk.
fn read_wav(path: &Path) -> (u16, u16, u32, u16, Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
        bytes.len() - 8
    );
    assert_eq!(&bytes[8..12], b"WAVE");
    let (mut pos, mut fmt, mut data) = (12, None, None);
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = &bytes[pos + 8..pos + 8 + len];
        match id {
            b"fmt " => fmt = Some(body.to_vec()),
            b"data" => data = Some(body.to_vec()),
            _ => {}
        }
        pos += 8 + len + len % 2;
    }
    let fmt = fmt.unwrap();
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let rate = u32::from_le_bytes(fmt[4..8].try_into().unwrap());
    (u16_at(0), u16_at(2), rate, u16_at(14), data.unwrap())
}

/// Decodes a WAV file with symphonia, an independent reader, into f32 samples.
fn decode_with_symphonia(path: &Path) -> (u32, usize, Vec<f32>) {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let file = fs::File::open(path).unwrap();
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("wav");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .unwrap();
    let mut format = probed.format;
    let track = format.default_track().unwrap();
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .unwrap();
    let mut out = Vec::new();
    while let Ok(packet) = format.next_packet() {
        let decoded = decoder.decode(&packet).unwrap();
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, *decoded.spec());
        buf.copy_interleaved_ref(decoded);
        out.extend_from_slice(buf.samples());
    }
    (
        params.sample_rate.unwrap(),
        params.channels.unwrap().count(),
        out,
    )
}

#[test]
fn wav_writers_round_trip_through_our_reader_and_symphonia() {
    let dir = tempfile::tempdir().unwrap();
    let samples = [0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 0.25, -0.125];
    let pcm = dir.path().join("pcm.wav");
    write_wav_pcm16(&pcm, 8000, 2, &samples).unwrap();
    let (tag, channels, rate, bits, data) = read_wav(&pcm);
    assert_eq!((tag, channels, rate, bits), (1, 2, 8000, 16));
    let ints: Vec<i16> = data
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(ints, [0, 16384, -16384, 32767, -32767, 32767, 8192, -4096]);
    let (sr, ch, decoded) = decode_with_symphonia(&pcm);
    assert_eq!((sr, ch), (8000, 2));
    let expected: Vec<f32> = ints.iter().map(|&i| f32::from(i) / 32768.0).collect();
    assert_eq!(decoded, expected);

    let float = dir.path().join("float.wav");
    write_wav_f32(&float, 44100, 1, &samples).unwrap();
    let (tag, channels, rate, bits, data) = read_wav(&float);
    assert_eq!((tag, channels, rate, bits), (3, 1, 44100, 32));
    let floats: Vec<f32> = data
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(floats, samples);
    assert_eq!(decode_with_symphonia(&float).2, samples);

    assert!(!dir.path().join("pcm.wav.tmp").exists() && !dir.path().join("float.wav.tmp").exists());
    let err = write_wav_pcm16(&dir.path().join("odd.wav"), 8000, 2, &[0.0; 3]).unwrap_err();
    assert!(matches!(err, WavError::ChannelMismatch { .. }));
    assert!(err.to_string().contains("odd.wav"), "{err}");
    let err = write_wav_f32(&dir.path().join("nan.wav"), 8000, 1, &[0.0, f32::NAN]).unwrap_err();
    assert!(matches!(err, WavError::NonFinite { index: 1, .. }), "{err}");
    assert!(!dir.path().join("odd.wav").exists() && !dir.path().join("nan.wav").exists());
}

#[test]
fn written_clip_round_trips() {
    let root = tempfile::tempdir().unwrap();
    let scene = staged(2, 60, &[(AnomalyKind::Skater, 5), (AnomalyKind::Bang, 45)]);
    let dir = root.path().join("clip01");
    write_clip(&scene, &dir).unwrap();

    let names: Vec<String> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["clip01"], "no temp directory is left behind");

    for (i, frame) in scene.frames.iter().enumerate() {
        let img = image::open(dir.join(format!("{:06}.png", i + 1))).unwrap();
        assert_eq!(img.color(), image::ColorType::L8);
        assert_eq!(img.to_luma8().into_raw(), *frame, "frame {}", i + 1);
        let mask = image::open(dir.join("masks").join(format!("{:06}.png", i + 1)))
            .unwrap()
            .to_luma8();
        let bits: Vec<bool> = mask.into_raw().iter().map(|&v| v == 255).collect();
        assert_eq!(bits, scene.masks[i], "mask {}", i + 1);
    }
    assert!(!dir.join("000061.png").exists());

    let (tag, channels, rate, bits, data) = read_wav(&dir.join("audio.wav"));
    assert_eq!((tag, channels, rate, bits), (1, 1, 22050, 16));
    let pcm: Vec<i16> = data
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(pcm.len(), scene.audio.len());
    assert!(pcm
        .iter()
        .zip(&scene.audio)
        .all(|(&p, &a)| (f32::from(p) / 32767.0 - a).abs() <= 0.5 / 32767.0 + 1e-7));

    let csv = fs::read_to_string(dir.join("labels.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("frame,label"));
    let labels: Vec<(usize, bool)> = lines
        .map(|l| {
            let (f, v) = l.split_once(',').unwrap();
            (f.parse().unwrap(), v == "1")
        })
        .collect();
    assert_eq!(
        labels,
        scene
            .labels
            .iter()
            .enumerate()
            .map(|(i, &l)| (i + 1, l))
            .collect::<Vec<_>>()
    );
    assert!(labels.iter().any(|l| l.1) && labels.iter().any(|l| !l.1));

    let toml = fs::read_to_string(dir.join("clip.toml")).unwrap();
    assert!(toml.lines().any(|l| l == "fps = 25.0"), "{toml}");

    // A second write refuses to replace the finished clip.
    let err = write_clip(&scene, &dir).unwrap_err();
    assert!(matches!(err, SceneError::Exists { .. }), "{err}");
}

#[test]
fn clips_without_visual_anomalies_have_no_mask_folder() {
    let root = tempfile::tempdir().unwrap();
    let scene = staged(2, 20, &[(AnomalyKind::Shout, 5)]);
    write_clip(&scene, &root.path().join("c")).unwrap();
    assert!(!root.path().join("c/masks").exists());
    assert!(root.path().join("c/000020.png").exists());
}

#[test]
fn failed_write_leaves_no_temp_directory() {
    let root = tempfile::tempdir().unwrap();
    // A frame too short for its size fails halfway through the clip.
    let mut scene = staged(2, 10, &[]);
    scene.frames[6].truncate(10);
    let dir = root.path().join("broken");
    let err = write_clip(&scene, &dir).unwrap_err();
    assert!(
        matches!(err, SceneError::FrameSize { got: 10, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("000007.png"), "{err}");
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "neither the clip nor its temp dir exists"
    );
}

#[test]
fn dataset_layout_has_normal_train_and_anomalous_test_clips() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("synthetic");
    let clips = write_dataset(&root, 42, 2, 3, 40).unwrap();
    assert_eq!(clips.len(), 5);
    let entries: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, ["synthetic"]);
    for split in ["train", "test"] {
        let mut names: Vec<String> = fs::read_dir(root.join(split))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let expected: &[&str] = if split == "train" {
            &["clip01", "clip02"]
        } else {
            &["clip01", "clip02", "clip03"]
        };
        assert_eq!(names, expected);
    }
    for clip in &clips {
        assert!(clip.dir.join("000040.png").exists() && clip.dir.join("labels.csv").exists());
        let labels = fs::read_to_string(clip.dir.join("labels.csv")).unwrap();
        let anomalous = labels.lines().skip(1).filter(|l| l.ends_with(",1")).count();
        if clip.dir.starts_with(root.join("train")) {
            assert!(
                clip.config.anomalies.is_empty() && anomalous == 0,
                "{}",
                clip.dir.display()
            );
        } else {
            assert!(!clip.config.anomalies.is_empty(), "{}", clip.dir.display());
        }
    }
    // Clip seeds differ, and the dataset is reproducible from its seed.
    assert_ne!(clips[0].config.seed, clips[1].config.seed);
    let again = tmp.path().join("again");
    let clips_again = write_dataset(&again, 42, 2, 3, 40).unwrap();
    assert_eq!(
        clips.iter().map(|c| &c.config).collect::<Vec<_>>(),
        clips_again.iter().map(|c| &c.config).collect::<Vec<_>>()
    );
    assert_eq!(
        fs::read(root.join("test/clip02/audio.wav")).unwrap(),
        fs::read(again.join("test/clip02/audio.wav")).unwrap()
    );
    assert!(matches!(
        write_dataset(&root, 42, 1, 1, 10),
        Err(SceneError::Exists { .. })
    ));
}

/// A harder look (crowd, sensor noise, ambient sound) keeps each clip's seed and so its
/// anomalies and their timing; the frames and the sound change, and the ambient bed gets
/// louder. A look out of range is refused by the scene's validation.
#[test]
fn a_harder_look_keeps_the_clips_and_their_anomalies() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, hard) = (tmp.path().join("plain"), tmp.path().join("hard"));
    let default = write_dataset(&plain, 9, 1, 2, 30).unwrap();
    let look = SceneLook {
        people_in_view: 12.0,
        sensor_noise: 10.0,
        ambient_rms: 0.1,
        anomaly_speed: 0.5,
    };
    assert_eq!(
        write_dataset_with(
            &plain.with_extension("again"),
            9,
            (1, 2),
            30,
            &SceneLook::default()
        )
        .unwrap()
        .iter()
        .map(|c| &c.config)
        .collect::<Vec<_>>(),
        default.iter().map(|c| &c.config).collect::<Vec<_>>(),
        "the default look is write_dataset's"
    );
    let harder = write_dataset_with(&hard, 9, (1, 2), 30, &look).unwrap();
    for (d, h) in default.iter().zip(&harder) {
        assert_eq!(d.config.seed, h.config.seed);
        assert_eq!(d.config.anomalies, h.config.anomalies);
        assert_eq!(
            (
                h.config.people_in_view,
                h.config.sensor_noise,
                h.config.ambient_rms,
                h.config.anomaly_speed
            ),
            (12.0, 10.0, 0.1, 0.5)
        );
        assert_ne!(
            fs::read(d.dir.join("000010.png")).unwrap(),
            fs::read(h.dir.join("000010.png")).unwrap()
        );
    }
    let rms = |config: &SceneConfig| {
        let s = generate(config).unwrap().audio;
        (s.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
    };
    // The normal training clip: ambient sound and footsteps only.
    let (quiet, loud) = (rms(&default[0].config), rms(&harder[0].config));
    assert!(loud > 3.0 * quiet, "{loud} against {quiet}");
    let bad = SceneLook {
        sensor_noise: 100.0,
        ..look
    };
    let err = write_dataset_with(&tmp.path().join("bad"), 9, (1, 1), 10, &bad).unwrap_err();
    assert!(err.to_string().contains("sensor_noise 100"), "{err}");
    assert!(!tmp.path().join("bad").exists());
}

/// At half speed a cyclist takes twice as long to cross the view; a speed out of range is
/// refused.
#[test]
fn anomaly_speed_scales_the_crossing_time() {
    let at = |speed: f32| {
        let config = SceneConfig {
            anomaly_speed: speed,
            ..staged(21, 150, &[(AnomalyKind::Bicycle, 20)]).config
        };
        let e = generate(&config).unwrap().events[0];
        assert_eq!(e.start_frame, 20);
        (e.end_frame - e.start_frame) as f64
    };
    let (full, half) = (at(1.0), at(0.5));
    assert!(full >= 20.0 && half < 130.0, "{full} {half}");
    assert!(
        (1.8..=2.2).contains(&(half / full)),
        "{full} frames against {half}"
    );
    let err = generate(&SceneConfig {
        anomaly_speed: 0.0,
        ..SceneConfig::normal(1, 10)
    })
    .unwrap_err();
    assert!(err.to_string().contains("anomaly_speed 0"), "{err}");
}

#[test]
fn written_dataset_opens_as_a_generic_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("synthetic");
    let written = write_dataset(&root, 5, 1, 2, 30).unwrap();
    let dataset = avad_data::open_dataset(&root).unwrap();
    assert_eq!(dataset.clips.len(), 3);
    for w in &written {
        let split = if w.dir.starts_with(root.join("train")) {
            avad_data::Split::Train
        } else {
            avad_data::Split::Test
        };
        let name = w.dir.file_name().unwrap().to_str().unwrap();
        let clip = dataset.split(split).find(|c| c.name == name).unwrap();
        let scene = generate(&w.config).unwrap();
        assert_eq!(clip.frames(), 30);
        assert_eq!(clip.fps, 25.0);
        assert!(clip.audio.is_some());
        assert_eq!(
            clip.labels.as_deref(),
            Some(&scene.labels[..]),
            "{}",
            w.dir.display()
        );
        assert_eq!(
            clip.masks.is_some(),
            scene.has_masks(),
            "{}",
            w.dir.display()
        );
    }
}
