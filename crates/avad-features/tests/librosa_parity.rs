//! Parity with librosa 0.11.0, fed librosa's own decoded signal (`y.npy`), on all 13
//! UCSD Ped2 clips and all synthetic signals of /work/shared/reference/librosa.
//!
//! cargo test -p avad-features --test librosa_parity -- --nocapture   (prints the errors)

mod common;

use avad_features::filters::{fft_frequencies, hann_window, mel_filterbank};
use avad_features::{compute, npy, FeatureConfig, FeatureExtractor};
use common::{report, shared_dir, stems, Reference, Report, BIN_HZ, FED_Y_TOL};

fn assert_within(label: &str, r: &Report, rolloff_frames_one_bin_off: usize) {
    for (name, e) in [
        ("flatness", &r.flatness),
        ("zero_crossing_rate", &r.zcr),
        ("centroid", &r.centroid),
        ("bandwidth", &r.bandwidth),
        ("mfcc", &r.mfcc),
        ("mel (dB)", &r.mel_db),
        ("contrast", &r.contrast),
    ] {
        assert_eq!(
            e.within, e.values,
            "{label}: {name}: {} of {} values beyond tolerance (max abs {:e}, max rel to row max {:e})",
            e.values - e.within, e.values, e.max_abs, e.max_rel_to_row_max
        );
    }
    assert_eq!(
        r.rolloff_beyond_one_bin, 0,
        "{label}: roll-off more than one bin off"
    );
    let off = r.rolloff.values - r.rolloff.within;
    assert!(
        off <= rolloff_frames_one_bin_off,
        "{label}: roll-off one bin off on {off} frames (allowed {rolloff_frames_one_bin_off})"
    );
    assert!(r.rolloff.max_abs <= BIN_HZ * 1.001);
}

fn parity(group: &str, test: &str, max_rolloff_off: usize) {
    let Some(shared) = shared_dir(test) else {
        return;
    };
    let stems = stems(&shared, group);
    assert!(!stems.is_empty());
    // The path this CPU takes (AVX2/FMA where it has them), then the portable one, which
    // other CPUs take: both must be within the tolerances.
    for portable in [false, true] {
        let mut ex = FeatureExtractor::new(&FeatureConfig::default()).unwrap();
        if portable {
            ex = ex.portable();
        }
        let mut all = Report::empty();
        for stem in &stems {
            let r = Reference::load(&shared, group, stem);
            let ours = ex.compute(&r.y).unwrap();
            let rep = report(&ours, &r, &FED_Y_TOL);
            if !portable {
                rep.print(stem);
            }
            assert_within(
                &format!("{stem} (portable: {portable})"),
                &rep,
                max_rolloff_off,
            );
            all.merge(&rep);
        }
        all.print(&format!(
            "ALL {group}{}",
            if portable { " portable" } else { "" }
        ));
    }
}

#[test]
fn ucsd_ped2_features_match_librosa_fed_y() {
    parity("ucsd-ped2", "ucsd_ped2_features_match_librosa_fed_y", 2);
}

#[test]
fn synthetic_features_match_librosa_fed_y() {
    parity("synthetic", "synthetic_features_match_librosa_fed_y", 0);
}

#[test]
fn tables_match_librosa_shared_arrays() {
    let Some(shared) = shared_dir("tables_match_librosa_shared_arrays") else {
        return;
    };
    let dir = shared.join("reference/librosa/ucsd-ped2/_shared");
    let (shape, hann) = npy::read_npy(&dir.join("hann_window_2048.npy")).unwrap();
    assert_eq!(shape, vec![2048]);
    let ours = hann_window(2048);
    let max_ulps = ours
        .iter()
        .zip(&hann)
        .map(|(a, b)| (a - b).abs() / f64::EPSILON)
        .fold(0.0, f64::max);
    assert!(max_ulps <= 1.0, "Hann window off by {max_ulps} eps");

    let (_, freqs) = npy::read_npy(&dir.join("fft_frequencies_22050_2048.npy")).unwrap();
    assert_eq!(fft_frequencies(22050.0, 2048), freqs);

    let (shape, basis) = npy::read_npy(&dir.join("mel_basis_22050_2048_128.npy")).unwrap();
    assert_eq!(shape, vec![128, 1025]);
    let ours: Vec<f64> = mel_filterbank(22050.0, 2048, 128, 0.0, 11025.0)
        .into_iter()
        .flatten()
        .map(f64::from)
        .collect();
    let differing = ours.iter().zip(&basis).filter(|(a, b)| a != b).count();
    let max_rel = ours
        .iter()
        .zip(&basis)
        .map(|(a, b)| {
            if *b == 0.0 {
                (a - b).abs()
            } else {
                ((a - b) / b).abs()
            }
        })
        .fold(0.0, f64::max);
    println!(
        "mel basis: {differing} of {} weights differ, max rel {max_rel:e}",
        basis.len()
    );
    assert!(
        max_rel <= 2.0 * f64::from(f32::EPSILON),
        "mel basis max rel error {max_rel:e}"
    );
}

/// librosa pads a clip shorter than n_fft with zeros on both sides: 1000 samples give
/// 1 + 1000 / 512 = 2 frames.
#[test]
fn clip_shorter_than_n_fft_matches_librosa() {
    let Some(shared) = shared_dir("clip_shorter_than_n_fft_matches_librosa") else {
        return;
    };
    let r = Reference::load(&shared, "synthetic", "short1000");
    assert_eq!(r.y.len(), 1000);
    let ours = compute(&r.y, &FeatureConfig::default()).unwrap();
    assert_eq!(ours.frames, 2);
    let rep = report(&ours, &r, &FED_Y_TOL);
    rep.print("short1000");
    assert_within("short1000", &rep, 0);
}

/// Digital silence follows librosa's conventions: flatness 1 (every power bin sits at
/// amin; librosa's float32 arithmetic gives 1.0000007), centroid, bandwidth, roll-off,
/// ZCR, mel and contrast 0, MFCC 1 = -100 dB * sqrt(128), the others 0.
#[test]
fn silence_follows_librosa_conventions() {
    let y = vec![0.0f32; 22050];
    let f = compute(&y, &FeatureConfig::default()).unwrap();
    assert_eq!(f.frames, 44);
    for t in 0..f.frames {
        assert!((f.flatness[t] - 1.0).abs() < 1e-6);
        assert_eq!(
            (f.centroid[t], f.bandwidth[t], f.rolloff[t]),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(f.zero_crossing_rate[t], 0.0);
        assert!(f.mel[t].iter().all(|&m| m == 0.0));
        assert!(f.contrast[t].iter().all(|&c| c == 0.0));
        assert!((f.mfcc[t][0] - -100.0 * 128f64.sqrt()).abs() < 1e-9);
        assert!(f.mfcc[t][1..].iter().all(|c| c.abs() < 1e-9));
    }
    if let Some(shared) = shared_dir("silence_follows_librosa_conventions") {
        let r = Reference::load(&shared, "synthetic", "silence");
        assert_eq!(r.y, y);
        assert!(r.flatness.iter().all(|&v| (v - 1.0).abs() < 1e-6));
        let rep = report(&f, &r, &FED_Y_TOL);
        assert_within("silence", &rep, 0);
    }
}

/// One sample: librosa pads it to a full frame (zeros for the STFT, its own value for
/// the ZCR) and returns one frame; so do we.
#[test]
fn single_sample_gives_one_frame() {
    let f = compute(&[0.25], &FeatureConfig::default()).unwrap();
    assert_eq!(f.frames, 1);
    assert_eq!(f.zero_crossing_rate, vec![0.0]);
    // The sample sits at the window's centre (weight 1): a flat spectrum of 0.25.
    assert!((f.flatness[0] - 1.0).abs() < 1e-6);
    assert!((f.centroid[0] - 11025.0 / 2.0).abs() < 1e-6 * 11025.0);
    let m = f.to_matrix();
    assert_eq!(m.frames, 1);
    assert_eq!(m.data.len(), avad_features::N_FEATURES);
}

#[test]
fn non_finite_and_empty_input_are_refused() {
    let cfg = FeatureConfig::default();
    let mut y = vec![0.1f32; 5000];
    y[1234] = f32::NAN;
    match compute(&y, &cfg) {
        Err(avad_features::FeatureError::NonFinite { index }) => assert_eq!(index, 1234),
        other => panic!("expected NonFinite, got {other:?}"),
    }
    y[1234] = 0.0;
    y[4999] = f32::NEG_INFINITY;
    let err = compute(&y, &cfg).unwrap_err();
    assert!(err.to_string().contains("sample 4999"), "{err}");
    assert!(matches!(
        compute(&[], &cfg),
        Err(avad_features::FeatureError::Empty)
    ));
}

#[test]
fn invalid_configs_are_refused() {
    let bad = [
        FeatureConfig {
            n_fft: 2047,
            ..FeatureConfig::default()
        },
        FeatureConfig {
            hop_length: 0,
            ..FeatureConfig::default()
        },
        FeatureConfig {
            roll_percent: 1.0,
            ..FeatureConfig::default()
        },
        // 200 Hz * 2^5 = 6400 Hz lies above the 4000 Hz Nyquist of 8 kHz audio.
        FeatureConfig {
            sample_rate: 8000,
            ..FeatureConfig::default()
        },
        FeatureConfig {
            amin: 0.0,
            ..FeatureConfig::default()
        },
    ];
    for cfg in bad {
        assert!(FeatureExtractor::new(&cfg).is_err(), "{cfg:?} accepted");
    }
}
