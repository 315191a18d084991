//! End-to-end parity from the WAV file: `avad_media::audio::load_audio` (symphonia
//! decode, mean downmix, the default build's pure-Rust soxr-HQ resampler) and then the
//! features, against librosa 0.11.0's `librosa.load` + features. The resampler is not
//! bit-exact with libsoxr, so these bounds are looser than the fed-`y.npy` ones in
//! `librosa_parity.rs`; each is what was measured here, with a little headroom.
//!
//! cargo test -p avad-features --test end_to_end_wav -- --nocapture   (prints the errors)

mod common;

use std::path::PathBuf;

use avad_features::{FeatureConfig, FeatureExtractor};
use common::{report, shared_dir, stems, Reference, Report, FED_Y_TOL};

/// Upper bounds asserted end to end (measured maxima over all clips, rounded up).
struct EndToEnd {
    signal_snr_db: f64,
    flatness_abs: f64,
    zcr_abs: f64,
    centroid_row_rel: f64,
    bandwidth_row_rel: f64,
    mfcc_abs: f64,
    mel_db_abs: f64,
    rolloff_frac_exact: f64,
    contrast_abs_db: f64,
}

fn wav_path(shared: &std::path::Path, group: &str, stem: &str) -> PathBuf {
    match group {
        "ucsd-ped2" => shared
            .join("datasets/ucsd-ped2/audio")
            .join(format!("{stem}.wav")),
        _ => shared
            .join("reference/librosa/synthetic-wav")
            .join(format!("{stem}.wav")),
    }
}

/// Signal-to-error ratio of our decoded signal against librosa's `y`, dB.
fn snr_db(ours: &[f32], reference: &[f32]) -> f64 {
    let (mut sig, mut err) = (0f64, 0f64);
    for (a, b) in ours.iter().zip(reference) {
        sig += f64::from(*b) * f64::from(*b);
        err += (f64::from(*a) - f64::from(*b)).powi(2);
    }
    if err == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (sig / err).log10()
    }
}

fn end_to_end(group: &str, test: &str, bounds: &EndToEnd) {
    let Some(shared) = shared_dir(test) else {
        return;
    };
    let mut ex = FeatureExtractor::new(&FeatureConfig::default()).unwrap();
    let mut all = Report::empty();
    let mut worst_snr = f64::INFINITY;
    for stem in stems(&shared, group) {
        let r = Reference::load(&shared, group, &stem);
        let path = wav_path(&shared, group, &stem);
        let audio = avad_media::audio::load_audio(&path, 22050).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(audio.sample_rate, 22050);
        assert_eq!(audio.samples.len(), r.y.len(), "{stem}: decoded length");
        let snr = snr_db(&audio.samples, &r.y);
        println!("{stem:>22} signal SNR against librosa's y: {snr:.1} dB");
        worst_snr = worst_snr.min(snr);
        let ours = ex.compute(&audio.samples).unwrap();
        // "Within" counts use the fed-`y.npy` tolerances, so the printed fractions
        // say how much of the clip still meets them end to end.
        let rep = report(&ours, &r, &FED_Y_TOL);
        rep.print(&stem);
        all.merge(&rep);
    }
    all.print(&format!("ALL {group} from WAV"));
    println!(
        "{:>22} worst signal SNR {worst_snr:.1} dB",
        format!("ALL {group} from WAV")
    );

    assert!(
        worst_snr >= bounds.signal_snr_db,
        "signal SNR {worst_snr:.1} dB"
    );
    let checks = [
        (
            "flatness max abs",
            all.flatness.max_abs,
            bounds.flatness_abs,
        ),
        ("zcr max abs", all.zcr.max_abs, bounds.zcr_abs),
        (
            "centroid max rel to row max",
            all.centroid.max_rel_to_row_max,
            bounds.centroid_row_rel,
        ),
        (
            "bandwidth max rel to row max",
            all.bandwidth.max_rel_to_row_max,
            bounds.bandwidth_row_rel,
        ),
        ("mfcc max abs", all.mfcc.max_abs, bounds.mfcc_abs),
        ("mel max abs dB", all.mel_db.max_abs, bounds.mel_db_abs),
        (
            "contrast max abs dB",
            all.contrast.max_abs,
            bounds.contrast_abs_db,
        ),
    ];
    for (name, got, bound) in checks {
        assert!(got <= bound, "{group}: {name} = {got:e} exceeds {bound:e}");
    }
    assert_eq!(
        all.rolloff_beyond_one_bin, 0,
        "{group}: roll-off more than one bin off"
    );
    assert!(
        all.rolloff.fraction_within() >= bounds.rolloff_frac_exact,
        "{group}: roll-off exact on {:.4} of frames",
        all.rolloff.fraction_within()
    );
}

/// Measured here (max over the 13 clips): SNR of y 134.5 dB, flatness 3.4e-5,
/// ZCR exact, centroid 3.4e-7 and bandwidth 9.5e-7 of the row maximum, MFCC 7.3e-5,
/// mel 9.5e-4 dB, roll-off exact on 3825 of 3826 frames (one frame one bin off),
/// contrast 2.3 dB: contrast valleys are the quietest bins of each octave, where the
/// resampler's own noise floor near Nyquist decides the value.
#[test]
fn ucsd_ped2_features_from_wav_match_librosa() {
    end_to_end(
        "ucsd-ped2",
        "ucsd_ped2_features_from_wav_match_librosa",
        &EndToEnd {
            signal_snr_db: 130.0,
            flatness_abs: 1e-4,
            zcr_abs: 0.0,
            centroid_row_rel: 1e-6,
            bandwidth_row_rel: 2e-6,
            mfcc_abs: 2e-4,
            mel_db_abs: 2e-3,
            rolloff_frac_exact: 0.999,
            contrast_abs_db: 3.0,
        },
    );
}

/// Measured here: only the 48 kHz stereo PCM16 chirp is resampled (SNR 135.4 dB); the
/// 22050 Hz files decode bit-exact. Flatness 3.0e-7, ZCR exact, centroid 5.0e-8 and
/// bandwidth 1.7e-6 of the row maximum, MFCC 1.2e-4 (silence's float32 ulp), mel
/// 0.14 dB (chirp48k's near-silent bins above the chirp), roll-off exact, contrast
/// 4.0 dB (chirp48k's valleys, which sit in the PCM16 noise floor).
#[test]
fn synthetic_features_from_wav_match_librosa() {
    end_to_end(
        "synthetic",
        "synthetic_features_from_wav_match_librosa",
        &EndToEnd {
            signal_snr_db: 130.0,
            flatness_abs: 1e-6,
            zcr_abs: 0.0,
            centroid_row_rel: 1e-6,
            bandwidth_row_rel: 5e-6,
            mfcc_abs: 2e-4,
            mel_db_abs: 0.2,
            rolloff_frac_exact: 1.0,
            contrast_abs_db: 5.0,
        },
    );
}
