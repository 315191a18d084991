//! Loading librosa's reference features and measuring how far ours are from them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use avad_features::{npy, Features};

/// `/work/shared`, seen from this crate; `None` (and a SKIPPED line) when absent.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if p.join("reference/librosa").is_dir() {
        Some(p)
    } else {
        println!("SKIPPED: {test}: ../shared not found");
        None
    }
}

/// Reference stems of one group (`ucsd-ped2` or `synthetic`), sorted.
pub fn stems(shared: &Path, group: &str) -> Vec<String> {
    let dir = shared.join("reference/librosa").join(group);
    let mut v: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("meta.json").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// librosa's eight arrays of one stem, each (rows, frames) row-major, plus `y`.
pub struct Reference {
    pub dir: PathBuf,
    pub y: Vec<f32>,
    pub frames: usize,
    pub flatness: Vec<f64>,
    pub zcr: Vec<f64>,
    pub centroid: Vec<f64>,
    pub bandwidth: Vec<f64>,
    pub mfcc: Vec<f64>,
    pub mel: Vec<f64>,
    pub rolloff: Vec<f64>,
    pub contrast: Vec<f64>,
}

fn load(dir: &Path, name: &str, rows: usize) -> (usize, Vec<f64>) {
    let path = dir.join(format!("{name}.npy"));
    let (shape, v) = npy::read_npy(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(shape.len(), 2, "{}", path.display());
    assert_eq!(shape[0], rows, "{}", path.display());
    (shape[1], v)
}

impl Reference {
    pub fn load(shared: &Path, group: &str, stem: &str) -> Self {
        let dir = shared.join("reference/librosa").join(group).join(stem);
        let (_, y) = npy::read_npy(&dir.join("y.npy")).unwrap_or_else(|e| panic!("{e}"));
        let (frames, flatness) = load(&dir, "spectral_flatness", 1);
        let r = Reference {
            y: y.into_iter().map(|v| v as f32).collect(),
            frames,
            flatness,
            zcr: load(&dir, "zero_crossing_rate", 1).1,
            centroid: load(&dir, "spectral_centroid", 1).1,
            bandwidth: load(&dir, "spectral_bandwidth", 1).1,
            mfcc: load(&dir, "mfcc", 20).1,
            mel: load(&dir, "melspectrogram", 128).1,
            rolloff: load(&dir, "spectral_rolloff", 1).1,
            contrast: load(&dir, "spectral_contrast", 7).1,
            dir,
        };
        for v in [&r.zcr, &r.centroid, &r.bandwidth, &r.rolloff] {
            assert_eq!(v.len(), frames);
        }
        r
    }
}

/// Our features laid out like librosa's arrays: (rows, frames) row-major.
pub fn rows_of<const N: usize>(v: &[[f64; N]]) -> Vec<f64> {
    (0..N).flat_map(|r| v.iter().map(move |f| f[r])).collect()
}

/// One feature's distance from librosa over one clip (or many).
#[derive(Debug, Clone, Default)]
pub struct Error {
    pub max_abs: f64,
    /// Max over rows of (max abs error in the row / max |reference| in the row).
    pub max_rel_to_row_max: f64,
    pub values: usize,
    pub within: usize,
    /// Every absolute error, for percentiles.
    pub errors: Vec<f64>,
}

impl Error {
    pub fn merge(&mut self, o: &Error) {
        self.max_abs = self.max_abs.max(o.max_abs);
        self.max_rel_to_row_max = self.max_rel_to_row_max.max(o.max_rel_to_row_max);
        self.values += o.values;
        self.within += o.within;
        self.errors.extend_from_slice(&o.errors);
    }

    /// The `q`-quantile (0..1) of the absolute errors.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut e = self.errors.clone();
        e.sort_by(f64::total_cmp);
        let i = ((e.len() as f64 - 1.0) * q).round() as usize;
        e.get(i).copied().unwrap_or(0.0)
    }

    pub fn fraction_within(&self) -> f64 {
        self.within as f64 / self.values.max(1) as f64
    }
}

/// Compares (rows, frames) arrays; `within` counts values whose error is at most
/// `abs_tol + rel_tol * row max`.
pub fn compare(ours: &[f64], reference: &[f64], rows: usize, abs_tol: f64, rel_tol: f64) -> Error {
    assert_eq!(ours.len(), reference.len(), "frame count differs");
    let frames = reference.len() / rows;
    let mut e = Error {
        values: ours.len(),
        ..Error::default()
    };
    for r in 0..rows {
        let o = &ours[r * frames..(r + 1) * frames];
        let x = &reference[r * frames..(r + 1) * frames];
        let row_max = x.iter().fold(0f64, |a, b| a.max(b.abs()));
        let mut row_err = 0f64;
        for (a, b) in o.iter().zip(x) {
            let d = (a - b).abs();
            e.errors.push(d);
            row_err = row_err.max(d);
            if d <= abs_tol + rel_tol * row_max {
                e.within += 1;
            }
        }
        e.max_abs = e.max_abs.max(row_err);
        if row_max > 0.0 {
            e.max_rel_to_row_max = e.max_rel_to_row_max.max(row_err / row_max);
        }
    }
    e
}

pub fn to_db(v: &[f64]) -> Vec<f64> {
    v.iter().map(|x| 10.0 * x.max(1e-10).log10()).collect()
}

/// Per-feature errors of `ours` against `r`, with `tol` deciding what counts as within.
pub struct Report {
    pub flatness: Error,
    pub zcr: Error,
    pub centroid: Error,
    pub bandwidth: Error,
    pub mfcc: Error,
    pub mel_db: Error,
    pub rolloff: Error,
    /// Roll-off frames more than one FFT bin away.
    pub rolloff_beyond_one_bin: usize,
    pub contrast: Error,
}

pub struct Tolerance {
    pub flatness_abs: f64,
    pub row_rel: f64,
    pub mfcc_abs: f64,
    pub mfcc_row_rel: f64,
    pub contrast_abs: f64,
    pub mel_db: f64,
    pub zcr_abs: f64,
}

pub const BIN_HZ: f64 = 22050.0 / 2048.0;

pub fn report(ours: &Features, r: &Reference, tol: &Tolerance) -> Report {
    assert_eq!(ours.frames, r.frames, "{}: frame count", r.dir.display());
    let rolloff = compare(&ours.rolloff, &r.rolloff, 1, 0.0, 0.0);
    let rolloff_beyond_one_bin = ours
        .rolloff
        .iter()
        .zip(&r.rolloff)
        .filter(|(a, b)| (*a - *b).abs() > BIN_HZ * 1.001)
        .count();
    Report {
        flatness: compare(&ours.flatness, &r.flatness, 1, tol.flatness_abs, 0.0),
        zcr: compare(&ours.zero_crossing_rate, &r.zcr, 1, tol.zcr_abs, 0.0),
        centroid: compare(&ours.centroid, &r.centroid, 1, 0.0, tol.row_rel),
        bandwidth: compare(&ours.bandwidth, &r.bandwidth, 1, 0.0, tol.row_rel),
        mfcc: compare(
            &rows_of(&ours.mfcc),
            &r.mfcc,
            20,
            tol.mfcc_abs,
            tol.mfcc_row_rel,
        ),
        mel_db: compare(
            &to_db(&rows_of(&ours.mel)),
            &to_db(&r.mel),
            128,
            tol.mel_db,
            0.0,
        ),
        rolloff,
        rolloff_beyond_one_bin,
        contrast: compare(
            &rows_of(&ours.contrast),
            &r.contrast,
            7,
            tol.contrast_abs,
            tol.row_rel,
        ),
    }
}

impl Report {
    pub fn merge(&mut self, o: &Report) {
        self.flatness.merge(&o.flatness);
        self.zcr.merge(&o.zcr);
        self.centroid.merge(&o.centroid);
        self.bandwidth.merge(&o.bandwidth);
        self.mfcc.merge(&o.mfcc);
        self.mel_db.merge(&o.mel_db);
        self.rolloff.merge(&o.rolloff);
        self.rolloff_beyond_one_bin += o.rolloff_beyond_one_bin;
        self.contrast.merge(&o.contrast);
    }

    pub fn empty() -> Report {
        Report {
            flatness: Error::default(),
            zcr: Error::default(),
            centroid: Error::default(),
            bandwidth: Error::default(),
            mfcc: Error::default(),
            mel_db: Error::default(),
            rolloff: Error::default(),
            rolloff_beyond_one_bin: 0,
            contrast: Error::default(),
        }
    }

    pub fn print(&self, label: &str) {
        let line = |name: &str, e: &Error| {
            println!(
                "{label:>22} {name:<10} max_abs {:>10.3e} p99_abs {:>10.3e} max_rel_row {:>10.3e} within {:>6}/{:<6} ({:.4})",
                e.max_abs,
                e.quantile(0.99),
                e.max_rel_to_row_max,
                e.within,
                e.values,
                e.fraction_within()
            )
        };
        line("flatness", &self.flatness);
        line("zcr", &self.zcr);
        line("centroid", &self.centroid);
        line("bandwidth", &self.bandwidth);
        line("mfcc", &self.mfcc);
        line("mel_dB", &self.mel_db);
        line("rolloff", &self.rolloff);
        println!(
            "{label:>22} rolloff frames off by more than one bin: {}",
            self.rolloff_beyond_one_bin
        );
        line("contrast", &self.contrast);
    }
}

/// The README's tolerances for a faithful port fed `y.npy`. Contrast: 1e-6 of the row's
/// maximum, or 2e-6 dB where a row is all but zero (a click train's flat spectrum makes
/// peak equal valley; float32 rounding then leaves librosa ~1e-6 dB either side of 0). MFCC: 1e-4 absolute plus
/// one float32 epsilon of the row's largest value, because librosa's float32 DCT is
/// itself one ulp off on large coefficients (silence: -1131.371 for -1131.3708,
/// 1.2e-4 away; one ulp there is 1.2e-4).
pub const FED_Y_TOL: Tolerance = Tolerance {
    flatness_abs: 1e-6,
    row_rel: 1e-6,
    mfcc_abs: 1e-4,
    mfcc_row_rel: f32::EPSILON as f64,
    contrast_abs: 2e-6,
    mel_db: 3e-6,
    zcr_abs: 0.0,
};
