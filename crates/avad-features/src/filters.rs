//! The fixed tables librosa builds before it looks at a signal: the periodic Hann
//! window, the FFT bin frequencies, the Slaney mel filterbank and the orthonormal DCT-II.
//! Each is a line-by-line port of the numpy/scipy expression librosa evaluates, so the
//! tables agree with librosa's to the last bit or the last few ulps (see the tests).

/// `scipy.signal.get_window("hann", n, fftbins=True)`: the periodic Hann window, built
/// as scipy's `general_cosine` does, from `np.linspace(-pi, pi, n + 1)` truncated to `n`.
pub fn hann_window(n: usize) -> Vec<f64> {
    let m = n + 1;
    let start = -std::f64::consts::PI;
    let delta = std::f64::consts::PI - start;
    let step = delta / (m - 1) as f64;
    (0..n)
        .map(|i| {
            // np.linspace: i * step + start (the endpoint, index n, is truncated away).
            let fac = i as f64 * step + start;
            0.5 + 0.5 * fac.cos()
        })
        .collect()
}

/// `librosa.fft_frequencies(sr, n_fft)` = `np.fft.rfftfreq(n_fft, 1 / sr)`.
pub fn fft_frequencies(sample_rate: f64, n_fft: usize) -> Vec<f64> {
    let val = 1.0 / (n_fft as f64 * (1.0 / sample_rate));
    (0..=n_fft / 2).map(|k| k as f64 * val).collect()
}

// Slaney's auditory-toolbox mel scale, as in librosa.hz_to_mel(htk=False).
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;

fn min_log_mel() -> f64 {
    MIN_LOG_HZ / F_SP
}

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// `librosa.hz_to_mel(f, htk=False)`.
pub fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        min_log_mel() + (hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

/// `librosa.mel_to_hz(m, htk=False)`.
pub fn mel_to_hz(mel: f64) -> f64 {
    if mel >= min_log_mel() {
        MIN_LOG_HZ * (logstep() * (mel - min_log_mel())).exp()
    } else {
        F_SP * mel
    }
}

/// `librosa.mel_frequencies(n, fmin, fmax, htk=False)`: `n` points evenly spaced in mel.
pub fn mel_frequencies(n: usize, fmin: f64, fmax: f64) -> Vec<f64> {
    let lo = hz_to_mel(fmin);
    let hi = hz_to_mel(fmax);
    linspace(lo, hi, n).into_iter().map(mel_to_hz).collect()
}

/// `np.linspace(start, stop, n)`: `i * step + start`, with the last point set to `stop`.
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney",
/// dtype=float32)`, dense, `n_mels` rows of `1 + n_fft / 2` weights.
///
/// librosa stores each triangle into a float32 array and then scales it in place by
/// the float64 Slaney factor, so each weight is rounded to f32 twice; so is this one.
pub fn mel_filterbank(
    sample_rate: f64,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: f64,
) -> Vec<Vec<f32>> {
    let fftfreqs = fft_frequencies(sample_rate, n_fft);
    let mel_f = mel_frequencies(n_mels + 2, fmin, fmax);
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
    (0..n_mels)
        .map(|i| {
            let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
            fftfreqs
                .iter()
                .map(|&f| {
                    let lower = -(mel_f[i] - f) / fdiff[i];
                    let upper = (mel_f[i + 2] - f) / fdiff[i + 1];
                    let w = 0f64.max(lower.min(upper)) as f32;
                    (f64::from(w) * enorm) as f32
                })
                .collect()
        })
        .collect()
}

/// The mel filterbank kept as the one contiguous run of bins where each filter is
/// nonzero: 128 triangles over 1025 bins hold about 2 nonzero weights per bin.
#[derive(Debug, Clone)]
pub(crate) struct SparseMel {
    /// Per band: first bin of its run and the run's weights.
    pub(crate) bands: Vec<(usize, Vec<f32>)>,
}

impl SparseMel {
    pub(crate) fn from_dense(dense: &[Vec<f32>]) -> Self {
        let bands = dense
            .iter()
            .map(|row| {
                let first = row.iter().position(|&w| w != 0.0);
                let last = row.iter().rposition(|&w| w != 0.0);
                match (first, last) {
                    (Some(a), Some(b)) => (a, row[a..=b].to_vec()),
                    // An empty filter (librosa warns about these) contributes zero.
                    _ => (0, Vec::new()),
                }
            })
            .collect();
        SparseMel { bands }
    }
}

/// The orthonormal DCT-II as a matrix, row-major `n_out x n_in`, keeping the first
/// `n_out` coefficients: `scipy.fft.dct(x, type=2, norm="ortho")[:n_out]`.
pub fn dct_ortho_matrix(n_out: usize, n_in: usize) -> Vec<f64> {
    let n = n_in as f64;
    let mut m = Vec::with_capacity(n_out * n_in);
    for k in 0..n_out {
        let scale = if k == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        for i in 0..n_in {
            let angle = std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2.0 * n);
            m.push(scale * angle.cos());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_mel_scale_is_linear_below_1khz_and_inverts() {
        assert_eq!(hz_to_mel(600.0), 9.0);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        for hz in [0.0, 123.4, 999.0, 1000.0, 4000.0, 11025.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9 * (1.0 + hz));
        }
    }

    #[test]
    fn dct_matrix_is_orthonormal_on_its_rows() {
        let m = dct_ortho_matrix(20, 128);
        for a in 0..20 {
            for b in 0..20 {
                let dot: f64 = (0..128).map(|i| m[a * 128 + i] * m[b * 128 + i]).sum();
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-12, "rows {a},{b}: {dot}");
            }
        }
    }

    #[test]
    fn sparse_mel_keeps_every_nonzero_weight() {
        let dense = mel_filterbank(22050.0, 2048, 128, 0.0, 11025.0);
        let sparse = SparseMel::from_dense(&dense);
        let mut nonzero = 0;
        for (row, (start, w)) in dense.iter().zip(&sparse.bands) {
            nonzero += row.iter().filter(|&&x| x != 0.0).count();
            for (k, &x) in row.iter().enumerate() {
                let s = k
                    .checked_sub(*start)
                    .and_then(|j| w.get(j))
                    .copied()
                    .unwrap_or(0.0);
                assert_eq!(s, x);
            }
        }
        let stored: usize = sparse.bands.iter().map(|b| b.1.len()).sum();
        assert!(
            stored < 3 * 1025,
            "{stored} weights stored for {nonzero} nonzero"
        );
    }
}
