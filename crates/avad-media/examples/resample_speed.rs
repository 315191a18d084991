//! Times the pure-Rust HQ resampler on the UCSD Ped2 soundtracks (→ 22,050 Hz).
//!
//! `cargo run --release -p avad-media --example resample_speed [DIR]`
//!
//! With `--features soxr` it then times the system libsoxr on the same signals, in five
//! alternating rounds, and prints the median of each and their ratio.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use avad_media::audio::{decode_audio, downmix_mono};
use avad_media::resample::resample_pure_rust;

const TARGET_SR: u32 = 22_050;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/datasets/ucsd-ped2/audio")
        });
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("wav")))
            .collect(),
        Err(e) => {
            eprintln!("{}: cannot list: {e}", dir.display());
            std::process::exit(1);
        }
    };
    paths.sort();
    let (mut total, mut audio_s) = (Duration::ZERO, 0.0f64);
    let mut signals = Vec::new();
    for path in &paths {
        let decoded = match decode_audio(path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{}: {e}", path.display());
                std::process::exit(1);
            }
        };
        let mono = downmix_mono(&decoded);
        let start = Instant::now();
        let out = resample_pure_rust(&mono, decoded.sample_rate, TARGET_SR);
        let took = start.elapsed();
        total += took;
        audio_s += mono.len() as f64 / decoded.sample_rate as f64;
        println!(
            "{:<14} {:>6} Hz {:>8} -> {:>8} samples  {:>8.1} ms",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            decoded.sample_rate,
            mono.len(),
            out.len(),
            took.as_secs_f64() * 1e3
        );
        signals.push((mono, decoded.sample_rate));
    }
    println!(
        "{} files, {:.1} s of audio, resampled in {:.3} s ({:.0}x real time)",
        paths.len(),
        audio_s,
        total.as_secs_f64(),
        audio_s / total.as_secs_f64().max(1e-9)
    );
    #[cfg(feature = "soxr")]
    against_libsoxr(&signals);
    #[cfg(not(feature = "soxr"))]
    drop(signals);
}

/// Five alternating rounds of the pure-Rust port and the system libsoxr over `signals`.
#[cfg(feature = "soxr")]
fn against_libsoxr(signals: &[(Vec<f32>, u32)]) {
    let time = |f: &dyn Fn(&[f32], u32) -> Vec<f32>| {
        let start = Instant::now();
        for (mono, rate) in signals {
            std::hint::black_box(f(mono, *rate));
        }
        start.elapsed().as_secs_f64()
    };
    let (mut port, mut system) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        port.push(time(&|x, r| resample_pure_rust(x, r, TARGET_SR)));
        system.push(time(&|x, r| {
            avad_media::resample::resample(x, r, TARGET_SR)
        }));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (p, s) = (median(&mut port), median(&mut system));
    println!(
        "median of 5 alternating rounds: pure Rust {p:.4} s, libsoxr {s:.4} s, pure Rust / libsoxr = {:.2}x",
        p / s
    );
}
