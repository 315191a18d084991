//! Single-threaded timing over the 13 UCSD Ped2 clips: the whole path from the WAV
//! (`avad_media::audio::load_audio`: decode, downmix, resample to 22050 Hz, then the
//! eight features) and the features alone fed librosa's own `y.npy`.
//! `compare_librosa.sh` runs this beside `librosa_bench.py` and prints the ratios.
//!
//! cargo bench -p avad-features --bench ped2_extract [-- --features-only]

use std::path::{Path, PathBuf};
use std::time::Instant;

use avad_features::{npy, FeatureConfig, FeatureExtractor};

const ROUNDS: usize = 5;

/// Best wall time of `ROUNDS` runs of `f` (after one warm-up run).
fn best_of(mut f: impl FnMut()) -> f64 {
    f();
    (0..ROUNDS)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    let refs = shared.join("reference/librosa/ucsd-ped2");
    let wavs = shared.join("datasets/ucsd-ped2/audio");
    if !refs.is_dir() || !wavs.is_dir() {
        println!("SKIPPED: ped2_extract: ../shared not found");
        return;
    }
    let mut stems: Vec<String> = std::fs::read_dir(&refs)
        .expect("reference dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("y.npy").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    stems.sort();
    let signals: Vec<Vec<f32>> = stems
        .iter()
        .map(|s| {
            let (_, y) = npy::read_npy(&refs.join(s).join("y.npy")).expect("y.npy");
            y.into_iter().map(|v| v as f32).collect()
        })
        .collect();
    let wav_paths: Vec<PathBuf> = stems
        .iter()
        .map(|s| wavs.join(format!("{s}.wav")))
        .collect();
    let audio_s: f64 = signals.iter().map(|y| y.len() as f64 / 22050.0).sum();
    let frames: usize = signals.iter().map(|y| 1 + y.len() / 512).sum();
    let mut ex = FeatureExtractor::new(&FeatureConfig::default()).expect("config");

    let features = best_of(|| {
        for y in &signals {
            std::hint::black_box(ex.extract(y).expect("features"));
        }
    });
    let only_features = std::env::args().any(|a| a == "--features-only");
    if only_features {
        println!(
            "rust features_from_y  {features:>9.4} s  {:>8.0}x real time",
            audio_s / features
        );
        return;
    }
    let load = |p: &Path| avad_media::audio::load_audio(p, 22050).expect("load_audio");
    let decode = best_of(|| {
        for p in &wav_paths {
            std::hint::black_box(load(p));
        }
    });
    let full = best_of(|| {
        for p in &wav_paths {
            let audio = load(p);
            std::hint::black_box(ex.extract(&audio.samples).expect("features"));
        }
    });
    println!(
        "{} clips, {frames} frames, {audio_s:.1} s of audio, best of {ROUNDS}, one thread",
        stems.len()
    );
    for (name, t) in [
        ("features_from_y", features),
        ("load_audio", decode),
        ("wav_to_features", full),
    ] {
        println!(
            "rust {name:<16} {t:>9.4} s  {:>8.0}x real time",
            audio_s / t
        );
    }
}
