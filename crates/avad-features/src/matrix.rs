use std::fmt::Write as _;
use std::path::Path;

use crate::error::{FeatureError, Result};
use crate::{N_CONTRAST, N_FEATURES, N_MELS, N_MFCC};

/// Frames x 160 features, row-major, in the order of [`column_names`]. Mel values are
/// librosa's `melspectrogram` power as it is (not dB); normalisation is separate
/// ([`crate::Normalizer`]).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureMatrix {
    pub frames: usize,
    /// `frames * N_FEATURES` values, frame after frame.
    pub data: Vec<f32>,
}

impl FeatureMatrix {
    /// Frame `t`'s 160 values, or `None` past the end.
    pub fn row(&self, t: usize) -> Option<&[f32]> {
        self.data.get(t * N_FEATURES..(t + 1) * N_FEATURES)
    }

    /// Every frame's row in order.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks_exact(N_FEATURES)
    }

    /// Column `c` over all frames.
    pub fn column(&self, c: usize) -> Vec<f32> {
        self.rows().filter_map(|r| r.get(c).copied()).collect()
    }
}

/// Column indices of the paper's layout.
pub mod columns {
    use std::ops::Range;

    use crate::{N_CONTRAST, N_MELS, N_MFCC};

    pub const SPECTRAL_FLATNESS: usize = 0;
    pub const ZERO_CROSSING_RATE: usize = 1;
    pub const SPECTRAL_CENTROID: usize = 2;
    pub const SPECTRAL_BANDWIDTH: usize = 3;
    pub const MFCC: Range<usize> = 4..4 + N_MFCC;
    pub const MEL: Range<usize> = MFCC.end..MFCC.end + N_MELS;
    pub const SPECTRAL_ROLLOFF: usize = MEL.end;
    pub const SPECTRAL_CONTRAST: Range<usize> =
        SPECTRAL_ROLLOFF + 1..SPECTRAL_ROLLOFF + 1 + N_CONTRAST;
}

/// The 160 column names in the paper's order: spectral_flatness, zero_crossing_rate,
/// spectral_centroid, spectral_bandwidth, mfcc_1..mfcc_20, mel_1..mel_128,
/// spectral_rolloff, spectral_contrast_1..spectral_contrast_7.
pub fn column_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "spectral_flatness",
        "zero_crossing_rate",
        "spectral_centroid",
        "spectral_bandwidth",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    names.extend((1..=N_MFCC).map(|i| format!("mfcc_{i}")));
    names.extend((1..=N_MELS).map(|i| format!("mel_{i}")));
    names.push("spectral_rolloff".into());
    names.extend((1..=N_CONTRAST).map(|i| format!("spectral_contrast_{i}")));
    names
}

/// Writes the matrix as CSV with a header of [`column_names`], one frame per line,
/// each value in the shortest form that reads back to the same f32; atomically.
pub fn write_csv(path: &Path, matrix: &FeatureMatrix) -> Result<()> {
    let mut s = column_names().join(",");
    s.push('\n');
    for row in matrix.rows() {
        for (i, v) in row.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{v}");
        }
        s.push('\n');
    }
    avad_atomic::write_atomic(path, s.as_bytes()).map_err(|e| FeatureError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_column_ranges_agree() {
        let n = column_names();
        assert_eq!(n.len(), N_FEATURES);
        assert_eq!(n[columns::SPECTRAL_FLATNESS], "spectral_flatness");
        assert_eq!(n[columns::ZERO_CROSSING_RATE], "zero_crossing_rate");
        assert_eq!(n[columns::SPECTRAL_CENTROID], "spectral_centroid");
        assert_eq!(n[columns::SPECTRAL_BANDWIDTH], "spectral_bandwidth");
        assert_eq!(n[columns::MFCC.start], "mfcc_1");
        assert_eq!(n[columns::MFCC.end - 1], "mfcc_20");
        assert_eq!(n[columns::MEL.start], "mel_1");
        assert_eq!(n[columns::MEL.end - 1], "mel_128");
        assert_eq!(n[columns::SPECTRAL_ROLLOFF], "spectral_rolloff");
        assert_eq!(n[columns::SPECTRAL_CONTRAST.start], "spectral_contrast_1");
        assert_eq!(columns::SPECTRAL_CONTRAST.end, N_FEATURES);
        assert_eq!(n[N_FEATURES - 1], "spectral_contrast_7");
    }

    #[test]
    fn csv_round_trips_every_value() {
        let data: Vec<f32> = (0..2 * N_FEATURES)
            .map(|i| (i as f32).sqrt() * 1e-3 - 0.1)
            .collect();
        let m = FeatureMatrix { frames: 2, data };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.csv");
        write_csv(&p, &m).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), column_names().join(","));
        let back: Vec<f32> = lines
            .flat_map(|l| l.split(',').map(|v| v.parse::<f32>().unwrap()))
            .collect();
        assert_eq!(back, m.data);
        // Only the final file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
