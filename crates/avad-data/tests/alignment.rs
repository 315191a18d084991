//! Audio feature frames against video frames on the synthetic scene, where the truth is
//! known: a bang staged at a known frame must come out at that frame after the round trip
//! video frame → audio samples → feature frames (hop 512, centred windows) → video frames.

use avad_data::alignment::AudioTiming;
use avad_data::synthetic::{generate, AnomalyKind, SceneConfig, ScheduledAnomaly};

/// Energy of each centred 2048-sample frame every 512 samples (librosa's framing, with
/// zero padding at the edges): one value per audio feature frame.
fn frame_energy(y: &[f32], t: &AudioTiming) -> Vec<f64> {
    let frames = 1 + y.len() / t.hop;
    (0..frames)
        .map(|i| {
            let centre = (i * t.hop) as isize;
            let half = (t.window / 2) as isize;
            (centre - half..centre + half)
                .filter(|&s| s >= 0 && (s as usize) < y.len())
                .map(|s| f64::from(y[s as usize]).powi(2))
                .sum::<f64>()
        })
        .collect()
}

#[test]
fn a_staged_bang_lands_on_its_own_video_frames() {
    let timing = AudioTiming::default();
    for (seed, start) in [(3u64, 40usize), (4, 77), (5, 121)] {
        let config = SceneConfig {
            anomalies: vec![ScheduledAnomaly {
                kind: AnomalyKind::Bang,
                start_frame: start,
            }],
            ..SceneConfig::normal(seed, 200)
        };
        let scene = generate(&config).unwrap();
        let event = scene.events[0];
        assert_eq!(event.start_frame, start);
        let energy = frame_energy(&scene.audio, &timing);
        let per_video = timing.to_video_frames(&energy, 25.0, scene.labels.len());
        assert_eq!(per_video.len(), 200);
        // The onset: the first video frame much louder than the clip's median.
        let mut sorted = per_video.clone();
        sorted.sort_by(f64::total_cmp);
        let median = sorted[100];
        let onset = per_video.iter().position(|&e| e > 20.0 * median).unwrap();
        // A centred window starts hearing the bang 1024 samples (1.16 video frames) early.
        assert!(
            onset + 2 >= start && onset <= start,
            "seed {seed}: bang at {start}, heard from {onset}"
        );
        let loudest = (0..200)
            .max_by(|&a, &b| per_video[a].total_cmp(&per_video[b]))
            .unwrap();
        assert!(
            (event.start_frame..event.end_frame).contains(&loudest),
            "seed {seed}: loudest {loudest}"
        );
        // Labels: no audio frame labelled normal hears the bang (a training window of
        // normal sound never contains its onset), and the loudest frames are anomalous.
        let labels = timing.audio_labels(&scene.audio_labels, 25.0, energy.len());
        let mut frame_sorted = energy.clone();
        frame_sorted.sort_by(f64::total_cmp);
        let frame_median = frame_sorted[energy.len() / 2];
        for (i, l) in labels.iter().enumerate() {
            if *l == Some(false) {
                assert!(
                    energy[i] < 20.0 * frame_median,
                    "seed {seed}: audio frame {i} is labelled normal but hears the bang"
                );
            }
            if energy[i] > 100.0 * frame_median {
                assert_eq!(*l, Some(true), "seed {seed}: audio frame {i}");
            }
        }
    }
}
