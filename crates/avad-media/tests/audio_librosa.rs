//! Parity with librosa 0.11: `load_audio(wav, 22050)` against the `y.npy` that
//! `librosa.load(wav, sr=22050, mono=True)` wrote (shared/reference/librosa),
//! and the decoded native format against `meta.json`.
//!
//! Print the SNR table (pure-Rust port, and libsoxr with `--features soxr`):
//!   cargo test -p avad-media --test audio_librosa -- --ignored --nocapture snr_table
//!   cargo test -p avad-media --features soxr --test audio_librosa -- --ignored --nocapture snr_table
use std::path::{Path, PathBuf};

use avad_media::audio::{decode_audio, downmix_mono, load_audio};

const RATE: u32 = 22050;

/// SNR floor (dB) every file must reach; the pure-Rust port measured
/// 134.5-135.8 dB on the resampled clips (f32 rounding level, max abs error
/// <= 3.6e-7). With `--features soxr` the output is bit-identical to librosa's,
/// and the test demands exactly that.
const SNR_FLOOR_DB: f64 = if cfg!(feature = "soxr") {
    f64::INFINITY
} else {
    133.0
};

fn shared() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    dir.is_dir().then_some(dir)
}

/// A `.npy` file of little-endian f32 in C order (format versions 1 to 3).
fn read_npy_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &bytes[..6],
        b"\x93NUMPY",
        "{}: not a .npy file",
        path.display()
    );
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => panic!("{}: unknown .npy version {v}", path.display()),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).expect("ascii header");
    assert!(
        header.contains("'descr': '<f4'"),
        "{}: not '<f4': {header}",
        path.display()
    );
    assert!(
        header.contains("'fortran_order': False"),
        "{}: not C order: {header}",
        path.display()
    );
    let shape = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("shape");
    let count: usize = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse::<usize>().expect("dim"))
        .product();
    let data = &bytes[start + header_len..];
    assert_eq!(data.len(), count * 4, "{}: data length", path.display());
    data.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// `10 log10(sum ref^2 / sum (ref - ours)^2)`; infinite when identical.
fn snr_db(reference: &[f32], ours: &[f32]) -> f64 {
    let signal: f64 = reference.iter().map(|&r| (r as f64).powi(2)).sum();
    let noise: f64 = reference
        .iter()
        .zip(ours)
        .map(|(&r, &o)| (r as f64 - o as f64).powi(2))
        .sum();
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}

/// (name, source wav, reference y.npy) for every clip with a reference.
fn cases(shared: &Path) -> Vec<(String, PathBuf, PathBuf)> {
    let lib = shared.join("reference/librosa");
    let mut out = Vec::new();
    for (set, wav_dir) in [
        ("ucsd-ped2", shared.join("datasets/ucsd-ped2/audio")),
        ("synthetic", lib.join("synthetic-wav")),
    ] {
        let Ok(entries) = std::fs::read_dir(lib.join(set)) else {
            continue;
        };
        let mut stems: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("y.npy").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        stems.sort();
        for stem in stems {
            out.push((
                format!("{set}/{stem}"),
                wav_dir.join(format!("{stem}.wav")),
                lib.join(set).join(&stem).join("y.npy"),
            ));
        }
    }
    out
}

struct Row {
    name: String,
    native_rate: u32,
    n_ref: usize,
    n_ours: usize,
    snr: f64,
    max_abs_err: f64,
}

fn measure(shared: &Path, resample: impl Fn(&Path) -> (u32, Vec<f32>)) -> Vec<Row> {
    cases(shared)
        .into_iter()
        .map(|(name, wav, npy)| {
            let reference = read_npy_f32(&npy);
            let (native_rate, ours) = resample(&wav);
            let max_abs_err = reference
                .iter()
                .zip(&ours)
                .map(|(&r, &o)| (r as f64 - o as f64).abs())
                .fold(0.0, f64::max);
            Row {
                name,
                native_rate,
                n_ref: reference.len(),
                n_ours: ours.len(),
                snr: snr_db(&reference, &ours),
                max_abs_err,
            }
        })
        .collect()
}

fn print_table(title: &str, rows: &[Row]) {
    println!("{title}");
    println!("| clip | native Hz | samples | SNR dB | max abs err |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.2e} |",
            r.name, r.native_rate, r.n_ours, r.snr, r.max_abs_err
        );
    }
}

#[test]
fn load_audio_matches_librosa_y() {
    let Some(shared) = shared() else {
        println!("SKIPPED: load_audio_matches_librosa_y: ../shared not found");
        return;
    };
    let rows = measure(&shared, |wav| {
        let native = decode_audio(wav)
            .unwrap_or_else(|e| panic!("{e}"))
            .sample_rate;
        (
            native,
            load_audio(wav, RATE)
                .unwrap_or_else(|e| panic!("{e}"))
                .samples,
        )
    });
    assert!(
        rows.len() >= 20,
        "expected the 13 Ped2 and 7 synthetic references, found {}",
        rows.len()
    );
    print_table(
        if cfg!(feature = "soxr") {
            "load_audio (libsoxr) vs librosa y.npy"
        } else {
            "load_audio (pure Rust) vs librosa y.npy"
        },
        &rows,
    );
    for r in &rows {
        assert_eq!(r.n_ours, r.n_ref, "{}: sample count", r.name);
        assert!(
            r.snr >= SNR_FLOOR_DB,
            "{}: SNR {:.1} dB < {SNR_FLOOR_DB} dB",
            r.name,
            r.snr
        );
    }
}

/// The SNR table for the README: the pure-Rust port, and libsoxr beside it in
/// a `soxr` build.
#[test]
#[ignore = "prints the SNR table; run with --ignored --nocapture"]
fn snr_table() {
    let Some(shared) = shared() else {
        println!("SKIPPED: snr_table: ../shared not found");
        return;
    };
    // A resampler: (mono, its rate, the rate wanted) to the resampled sound.
    type Resampler = dyn Fn(&[f32], u32, u32) -> Vec<f32>;
    let load = |wav: &Path, f: &Resampler| {
        let decoded = decode_audio(wav).unwrap_or_else(|e| panic!("{e}"));
        (
            decoded.sample_rate,
            f(&downmix_mono(&decoded), decoded.sample_rate, RATE),
        )
    };
    let pure = measure(&shared, |wav| {
        load(wav, &avad_media::resample::resample_pure_rust)
    });
    print_table("pure-Rust soxr-HQ port vs librosa y.npy", &pure);
    if cfg!(feature = "soxr") {
        let system = measure(&shared, |wav| load(wav, &avad_media::resample::resample));
        print_table("system libsoxr (feature soxr) vs librosa y.npy", &system);
    }
}

#[test]
fn ped2_native_format_matches_meta() {
    let Some(shared) = shared() else {
        println!("SKIPPED: ped2_native_format_matches_meta: ../shared not found");
        return;
    };
    let audio_dir = shared.join("datasets/ucsd-ped2/audio");
    let mut wavs: Vec<PathBuf> = std::fs::read_dir(&audio_dir)
        .expect("ucsd-ped2/audio")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wav"))
        .collect();
    wavs.sort();
    assert_eq!(wavs.len(), 13, "Ped2 ships 13 audio clips");
    for wav in wavs {
        let stem = wav
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("stem")
            .to_string();
        let meta_path = shared
            .join("reference/librosa/ucsd-ped2")
            .join(&stem)
            .join("meta.json");
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&meta_path).expect("meta.json"))
                .expect("json");
        let native = &meta["native"];
        let decoded = decode_audio(&wav).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            decoded.sample_rate as u64,
            native["samplerate"].as_u64().expect("samplerate"),
            "{stem}: rate"
        );
        assert_eq!(
            decoded.channels as u64,
            native["channels"].as_u64().expect("channels"),
            "{stem}: channels"
        );
        assert_eq!(
            decoded.frames() as u64,
            native["frames"].as_u64().expect("frames"),
            "{stem}: frames"
        );
        let info = avad_media::audio::probe_audio(&wav).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.frames, decoded.frames() as u64, "{stem}: probe frames");
        let bits = match native["subtype"].as_str() {
            Some("PCM_16") => 16,
            Some("PCM_24") => 24,
            Some("PCM_32") => 32,
            other => panic!("{stem}: unexpected subtype {other:?}"),
        };
        assert_eq!(info.bits_per_sample, Some(bits), "{stem}: bits per sample");
    }
}
