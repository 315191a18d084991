//! `avad features` end to end.

use std::path::PathBuf;

mod common;
use common::avad;

/// A mono 16-bit WAV of `n` samples at `rate`.
fn wav(path: &std::path::Path, rate: u32, samples: &[f32]) {
    avad_data::wav::write_wav_pcm16(path, rate, 1, samples).unwrap();
}

#[test]
fn writes_npy_and_csv_of_160_columns() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("tone.wav");
    // One second of 440 Hz at 22,050 Hz: 1 + 22050 / 512 = 44 centred frames.
    let tone: Vec<f32> = (0..22050)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 22050.0).sin())
        .collect();
    wav(&input, 22050, &tone);
    let npy = d.path().join("f.npy");
    let out = avad(&[
        "features",
        input.to_str().unwrap(),
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (shape, data) = avad_features::npy::read_npy(&npy).unwrap();
    assert_eq!(shape, [44, 160]);
    // The centroid of a pure tone sits near its frequency (column 2), in the middle frames.
    let centroid = data[20 * 160 + 2];
    assert!((centroid - 440.0).abs() < 30.0, "centroid {centroid}");
    let csv = d.path().join("f.csv");
    assert!(avad(&[
        "features",
        input.to_str().unwrap(),
        "-o",
        csv.to_str().unwrap()
    ])
    .status
    .success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.starts_with(
        "spectral_flatness,zero_crossing_rate,spectral_centroid,spectral_bandwidth,mfcc_1,"
    ));
    assert!(header.ends_with("spectral_contrast_7"));
    assert_eq!(header.split(',').count(), 160);
    assert_eq!(text.lines().count(), 45);
}

#[test]
fn bad_input_and_output_fail_cleanly() {
    let d = tempfile::tempdir().unwrap();
    let input = d.path().join("tone.wav");
    wav(&input, 22050, &vec![0.1; 4096]);
    let out = avad(&[
        "features",
        input.to_str().unwrap(),
        "--out",
        d.path().join("f.txt").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("f.txt") && err.contains(".npy or .csv"),
        "{err}"
    );
    assert!(!d.path().join("f.txt").exists());
    let text = d.path().join("notes.wav");
    std::fs::write(&text, "not audio").unwrap();
    let out = avad(&[
        "features",
        text.to_str().unwrap(),
        "--out",
        d.path().join("g.npy").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("notes.wav") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!d.path().join("g.npy").exists(), "no partial output");
}

#[test]
fn ped2_features_match_librosa_end_to_end() {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if !shared.is_dir() {
        println!("SKIPPED: ped2_features_match_librosa_end_to_end: ../shared not found");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let out_path = d.path().join("p2te1.npy");
    let wav = shared.join("datasets/ucsd-ped2/audio/P2Te1.wav");
    assert!(avad(&[
        "features",
        wav.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap()
    ])
    .status
    .success());
    let (shape, ours) = avad_features::npy::read_npy(&out_path).unwrap();
    let (ref_shape, mfcc) =
        avad_features::npy::read_npy(&shared.join("reference/librosa/ucsd-ped2/P2Te1/mfcc.npy"))
            .unwrap();
    assert_eq!(shape, [311, 160]);
    assert_eq!(ref_shape, [20, 311]);
    // Columns 4..24 are MFCC 1-20; librosa stores them as (20, frames).
    let worst = (0..311)
        .flat_map(|t| (0..20).map(move |k| (t, k)))
        .map(|(t, k)| (ours[t * 160 + 4 + k] - mfcc[k * 311 + t]).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "MFCC max abs error {worst}");
}

/// A tone of `hz` for `seconds` at 22,050 Hz.
fn tone(hz: f32, seconds: f32) -> Vec<f32> {
    (0..(22050.0 * seconds) as usize)
        .map(|i| 0.4 * (2.0 * std::f32::consts::PI * hz * i as f32 / 22050.0).sin())
        .collect()
}

#[test]
fn several_recordings_in_one_run_equal_each_computed_alone() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("recordings");
    std::fs::create_dir(&folder).unwrap();
    wav(&folder.join("a.wav"), 22050, &tone(440.0, 1.0));
    // 11,025 samples at 16 kHz: 0.69 s, 15,193 samples at 22,050 Hz, 30 frames.
    wav(&folder.join("b.wav"), 16000, &tone(880.0, 0.5));
    std::fs::write(folder.join("notes.txt"), "not a recording").unwrap();
    let c = d.path().join("c.wav");
    wav(&c, 44100, &tone(220.0, 0.7));
    let out = d.path().join("features");
    let run = avad(&[
        "features",
        folder.to_str().unwrap(),
        c.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["a.npy", "b.npy", "c.npy"]);
    for (name, input) in [
        ("a", folder.join("a.wav")),
        ("b", folder.join("b.wav")),
        ("c", c),
    ] {
        let alone = d.path().join(format!("{name}-alone.npy"));
        assert!(avad(&[
            "features",
            input.to_str().unwrap(),
            "-o",
            alone.to_str().unwrap()
        ])
        .status
        .success());
        assert_eq!(
            std::fs::read(out.join(format!("{name}.npy"))).unwrap(),
            std::fs::read(&alone).unwrap(),
            "{name}"
        );
    }
    // CSV files on request; a summary of each, in order, without --out.
    let csv = d.path().join("csv");
    assert!(avad(&[
        "features",
        folder.to_str().unwrap(),
        "--csv",
        "-o",
        csv.to_str().unwrap()
    ])
    .status
    .success());
    assert!(csv.join("a.csv").is_file() && csv.join("b.csv").is_file());
    let printed = avad(&["features", folder.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&printed.stdout);
    let a = text
        .find("a.wav: 44 frames x 160 features")
        .expect("a's summary");
    let b = text
        .find("b.wav: 30 frames x 160 features")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(a < b, "{text}");
}

#[test]
fn several_recordings_refuse_clashing_names_and_fail_on_a_bad_one() {
    let d = tempfile::tempdir().unwrap();
    let (one, two) = (d.path().join("one"), d.path().join("two"));
    std::fs::create_dir(&one).unwrap();
    std::fs::create_dir(&two).unwrap();
    wav(&one.join("x.wav"), 22050, &tone(440.0, 0.3));
    wav(&two.join("x.wav"), 22050, &tone(440.0, 0.3));
    let out = d.path().join("out");
    let run = avad(&[
        "features",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        err.contains("both would be written to") && err.lines().count() == 1,
        "{err}"
    );
    assert!(!out.exists(), "nothing made before the names are checked");

    std::fs::write(two.join("y.wav"), "not audio").unwrap();
    let run = avad(&[
        "features",
        one.to_str().unwrap(),
        two.join("y.wav").to_str().unwrap(),
        "-o",
        out.join("sub").to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    let errors: Vec<_> = err.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(errors[0].contains("two/y.wav"), "{err}");
    assert!(
        err.trim_end().ends_with(errors[0]),
        "the error comes last: {err}"
    );
    // The good recording's file is whole, and no temporary is left.
    for entry in std::fs::read_dir(out.join("sub")).into_iter().flatten() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert_eq!(name, "x.npy", "only whole outputs stay");
    }

    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = avad(&["features", empty.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        err.contains("empty") && err.contains("no audio file"),
        "{err}"
    );
}
