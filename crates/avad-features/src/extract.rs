use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

use crate::config::FeatureConfig;
use crate::error::{FeatureError, Result};
use crate::filters::{dct_ortho_matrix, fft_frequencies, hann_window, mel_filterbank, SparseMel};
use crate::matrix::FeatureMatrix;
use crate::zcr::zero_crossing_rate;
use crate::{N_CONTRAST, N_FEATURES, N_MELS, N_MFCC};

/// The eight features of one clip, one entry per frame, in librosa's units.
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    pub frames: usize,
    /// `spectral_flatness` (power spectrum, `amin` floor), in [0, 1].
    pub flatness: Vec<f64>,
    /// `zero_crossing_rate`, crossings per sample.
    pub zero_crossing_rate: Vec<f64>,
    /// `spectral_centroid`, Hz.
    pub centroid: Vec<f64>,
    /// `spectral_bandwidth` (p = 2, normalised magnitude), Hz.
    pub bandwidth: Vec<f64>,
    /// `mfcc`: orthonormal DCT-II of the clip's `power_to_db(melspectrogram)`.
    pub mfcc: Vec<[f64; N_MFCC]>,
    /// `melspectrogram`: power, not dB (a float32 value, widened).
    pub mel: Vec<[f64; N_MELS]>,
    /// `spectral_rolloff`, Hz (an FFT bin frequency).
    pub rolloff: Vec<f64>,
    /// `spectral_contrast`, dB, bands from low to high.
    pub contrast: Vec<[f64; N_CONTRAST]>,
}

impl Features {
    /// The paper's 160-column layout (see [`crate::column_names`]), as f32.
    pub fn to_matrix(&self) -> FeatureMatrix {
        let mut data = Vec::with_capacity(self.frames * N_FEATURES);
        for t in 0..self.frames {
            let scalar = |v: &Vec<f64>| v.get(t).copied().unwrap_or(0.0) as f32;
            data.push(scalar(&self.flatness));
            data.push(scalar(&self.zero_crossing_rate));
            data.push(scalar(&self.centroid));
            data.push(scalar(&self.bandwidth));
            let mfcc = self.mfcc.get(t).copied().unwrap_or([0.0; N_MFCC]);
            data.extend(mfcc.iter().map(|&v| v as f32));
            let mel = self.mel.get(t).copied().unwrap_or([0.0; N_MELS]);
            data.extend(mel.iter().map(|&v| v as f32));
            data.push(scalar(&self.rolloff));
            let contrast = self.contrast.get(t).copied().unwrap_or([0.0; N_CONTRAST]);
            data.extend(contrast.iter().map(|&v| v as f32));
        }
        FeatureMatrix {
            frames: self.frames,
            data,
        }
    }
}

/// librosa's `spectral_contrast` band `k`: the bins `[start, start + len)` of the
/// sub-band it sorts, and how many of the lowest and highest it averages.
#[derive(Debug, Clone, Copy)]
struct ContrastBand {
    start: usize,
    len: usize,
    n_avg: usize,
}

/// The tables and buffers of one configuration, built once and reused for every clip
/// (the FFT plan, window, mel basis, DCT, contrast bands).
pub struct FeatureExtractor {
    config: FeatureConfig,
    fft: Arc<dyn RealToComplex<f64>>,
    window: Vec<f64>,
    freqs: Vec<f64>,
    mel_basis: SparseMel,
    /// The orthonormal DCT-II, band-major: `[band * N_MFCC + k]`.
    dct_by_band: Vec<f64>,
    contrast_bands: Vec<ContrastBand>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    magnitude: Vec<f32>,
    power: Vec<f32>,
    band: Vec<f32>,
    band_high: Vec<f32>,
}

impl FeatureExtractor {
    pub fn new(config: &FeatureConfig) -> Result<Self> {
        config.validate()?;
        let sr = f64::from(config.sample_rate);
        let n_fft = config.n_fft;
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n_fft);
        let freqs = fft_frequencies(sr, n_fft);
        let dense = mel_filterbank(sr, n_fft, N_MELS, config.mel_fmin, config.mel_fmax());
        let contrast_bands = contrast_bands(&freqs, config)?;
        Ok(FeatureExtractor {
            config: config.clone(),
            window: hann_window(n_fft),
            mel_basis: SparseMel::from_dense(&dense),
            dct_by_band: {
                let dct = dct_ortho_matrix(N_MFCC, N_MELS);
                (0..N_MELS * N_MFCC).map(|i| dct[(i % N_MFCC) * N_MELS + i / N_MFCC]).collect()
            },
            contrast_bands,
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            magnitude: vec![0.0; freqs.len()],
            power: vec![0.0; freqs.len()],
            band: Vec::with_capacity(freqs.len()),
            band_high: Vec::with_capacity(freqs.len()),
            freqs,
            fft,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// The 160-column matrix of `y` (mono, at `config.sample_rate`).
    pub fn extract(&mut self, y: &[f32]) -> Result<FeatureMatrix> {
        Ok(self.compute(y)?.to_matrix())
    }

    /// All eight features of `y` (mono, at `config.sample_rate`), `1 + len / hop`
    /// centred frames.
    pub fn compute(&mut self, y: &[f32]) -> Result<Features> {
        let raw = self.raw(y)?;
        let maxima = DbMaxima::default().include(&raw, 0..raw.features.frames, self.config.amin);
        Ok(self.finish(raw, maxima))
    }

    /// Frames `keep` of `y`'s features, with the dB floors (`top_db`) measured from
    /// `maxima` updated by those frames, rather than from the whole of `y`: the causal
    /// form [`StreamingFeatures`] uses.
    pub fn compute_frames(&mut self, y: &[f32], keep: std::ops::Range<usize>, maxima: &mut DbMaxima) -> Result<Features> {
        let mut raw = self.raw(y)?;
        let keep = keep.start.min(raw.features.frames)..keep.end.min(raw.features.frames);
        *maxima = maxima.include(&raw, keep.clone(), self.config.amin);
        raw.keep(keep);
        Ok(self.finish(raw, *maxima))
    }

    /// Every per-frame value of `y`, before the clip-wide dB conversions.
    fn raw(&mut self, y: &[f32]) -> Result<RawFeatures> {
        if y.is_empty() {
            return Err(FeatureError::Empty);
        }
        if let Some(index) = y.iter().position(|v| !v.is_finite()) {
            return Err(FeatureError::NonFinite { index });
        }
        let cfg = &self.config;
        let (n_fft, hop) = (cfg.n_fft, cfg.hop_length);
        let frames = cfg.n_frames(y.len());
        let zero_crossing_rate = zero_crossing_rate(y, n_fft, hop, cfg.zcr_threshold);

        let mut out = Features {
            frames,
            flatness: Vec::with_capacity(frames),
            zero_crossing_rate,
            centroid: Vec::with_capacity(frames),
            bandwidth: Vec::with_capacity(frames),
            mfcc: Vec::with_capacity(frames),
            mel: Vec::with_capacity(frames),
            rolloff: Vec::with_capacity(frames),
            contrast: Vec::with_capacity(frames),
        };
        let mut peaks = Vec::with_capacity(frames);
        let mut valleys = Vec::with_capacity(frames);
        #[cfg(target_arch = "x86_64")]
        let avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        for t in 0..frames {
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU supports AVX2 and FMA, checked above.
                unsafe { self.frame_avx2(y, t, &mut out, &mut peaks, &mut valleys)? };
                continue;
            }
            self.frame::<false>(y, t, &mut out, &mut peaks, &mut valleys)?;
        }

        Ok(RawFeatures { features: out, peaks, valleys })
    }

    /// MFCC and contrast from the raw values, each dB floor `top_db` below its maximum.
    fn finish(&self, raw: RawFeatures, maxima: DbMaxima) -> Features {
        let RawFeatures { features: mut out, peaks, valleys } = raw;
        let (amin, top_db) = (self.config.amin, self.config.top_db);
        let mel_db = power_to_db(&out.mel, amin, top_db.map(|t| maxima.mel - t));
        // The DCT as a sum over mel bands of each band's column times its dB value: the
        // twenty coefficients accumulate side by side (vectorised) instead of one after
        // the other, each still summed in ascending band order, as before.
        out.mfcc = mel_db
            .iter()
            .map(|db| {
                let mut c = [0.0; N_MFCC];
                for (column, &d) in self.dct_by_band.chunks_exact(N_MFCC).zip(db) {
                    for (ck, &w) in c.iter_mut().zip(column) {
                        *ck += w * d;
                    }
                }
                c
            })
            .collect();
        // librosa: power_to_db(peak) - power_to_db(valley), each clamped at its own
        // clip-wide maximum minus top_db.
        let peak_db = power_to_db(&peaks, amin, top_db.map(|t| maxima.peak - t));
        let valley_db = power_to_db(&valleys, amin, top_db.map(|t| maxima.valley - t));
        out.contrast = peak_db
            .iter()
            .zip(&valley_db)
            .map(|(p, v)| std::array::from_fn(|k| p[k] - v[k]))
            .collect();
        out
    }

    /// Every per-frame feature of frame `t`; `FMA`: the CPU has fused multiply-add.
    #[inline(always)]
    fn frame<const FMA: bool>(
        &mut self,
        y: &[f32],
        t: usize,
        out: &mut Features,
        peaks: &mut Vec<[f64; N_CONTRAST]>,
        valleys: &mut Vec<[f64; N_CONTRAST]>,
    ) -> Result<()> {
        self.magnitude_spectrum(y, t)?;
        out.flatness.push(self.flatness());
        let (centroid, bandwidth) = self.centroid_bandwidth();
        out.centroid.push(centroid);
        out.bandwidth.push(bandwidth);
        out.rolloff.push(self.rolloff());
        out.mel.push(self.mel_power::<FMA>());
        let (peak, valley) = self.peak_valley();
        peaks.push(peak);
        valleys.push(valley);
        Ok(())
    }

    /// [`Self::frame`] compiled for AVX2 and FMA, so its element-wise loops run four f64
    /// lanes wide. Rust never fuses or reorders floating-point operations on its own, so
    /// the only change in results is where the mel product asks for a fused multiply-add
    /// ([`Self::mel_power`]).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn frame_avx2(
        &mut self,
        y: &[f32],
        t: usize,
        out: &mut Features,
        peaks: &mut Vec<[f64; N_CONTRAST]>,
        valleys: &mut Vec<[f64; N_CONTRAST]>,
    ) -> Result<()> {
        self.frame::<true>(y, t, out, peaks, valleys)
    }

    /// `np.abs(librosa.stft(y))[:, t]` into `self.magnitude` and its float32 square into
    /// `self.power`. librosa windows the float32 frame with the float64 window, takes a
    /// float64 FFT and stores it in a complex64 matrix; so the FFT runs in f64 here and
    /// is rounded to f32 before the magnitude, which is `hypotf` (computed in double,
    /// as glibc does) rounded to f32.
    #[inline(always)]
    fn magnitude_spectrum(&mut self, y: &[f32], t: usize) -> Result<()> {
        let n_fft = self.config.n_fft;
        let half = n_fft / 2;
        let offset = t * self.config.hop_length;
        // Frame t covers y[offset - half .. offset - half + n_fft], zero outside y.
        let lo = half.saturating_sub(offset).min(n_fft);
        let hi = (y.len() + half).saturating_sub(offset).min(n_fft).max(lo);
        self.frame[..lo].fill(0.0);
        self.frame[hi..].fill(0.0);
        let src = &y[offset + lo - half..offset + hi - half];
        for ((f, &w), &s) in self.frame[lo..hi].iter_mut().zip(&self.window[lo..hi]).zip(src) {
            *f = w * f64::from(s);
        }
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .map_err(|e| FeatureError::Config(format!("FFT of size {n_fft} failed: {e}")))?;
        for ((c, m), p) in self.spectrum.iter().zip(&mut self.magnitude).zip(&mut self.power) {
            let re = f64::from(c.re as f32);
            let im = f64::from(c.im as f32);
            let mag = (re * re + im * im).sqrt() as f32;
            *m = mag;
            *p = mag * mag;
        }
        Ok(())
    }

    /// `spectral_flatness`: geometric over arithmetic mean of `max(amin, |S|^2)`.
    ///
    /// librosa evaluates it in float32 (`np.log`, `np.mean`, `np.exp`), and on
    /// near-flat spectra (a click train) its rounding moves the result by 2e-6, more
    /// than the f64 value differs from it; so the float32 pipeline is reproduced: each
    /// log rounded to f32, both means by numpy's float32 pairwise summation.
    #[inline(always)]
    fn flatness(&mut self) -> f64 {
        let amin = self.config.amin as f32;
        let n = self.power.len() as f32;
        self.band.clear();
        self.band.extend(self.power.iter().map(|&p| p.max(amin)));
        let amean = pairwise_sum_f32(&self.band) / n;
        if amin >= f32::MIN_POSITIVE {
            // Every value is a normal float: the vectorisable logarithm applies.
            for v in &mut self.band {
                *v = ln_normal_f32(*v);
            }
        } else {
            for v in &mut self.band {
                *v = f64::from(*v).ln() as f32;
            }
        }
        let log_mean = pairwise_sum_f32(&self.band) / n;
        let gmean = f64::from(log_mean).exp() as f32;
        f64::from(gmean / amean)
    }

    /// `spectral_centroid` and `spectral_bandwidth` of the magnitude spectrum. A frame
    /// whose magnitudes sum below float32's `tiny` is not normalised (librosa's
    /// `util.normalize` leaves it as is), so silence gives 0 Hz for both.
    #[inline(always)]
    fn centroid_bandwidth(&self) -> (f64, f64) {
        let (total, weighted) = sum4(&self.magnitude, &self.freqs, |m, f| (m, m * f));
        let norm = if total < f64::from(f32::MIN_POSITIVE) { 1.0 } else { total };
        let centroid = weighted / norm;
        let (spread, _) = sum4(&self.magnitude, &self.freqs, |m, f| {
            let d = f - centroid;
            (m * d * d, 0.0)
        });
        (centroid, (spread / norm).sqrt())
    }

    /// `spectral_rolloff`: the first bin whose cumulative magnitude reaches
    /// `roll_percent` of the frame's total. librosa's `np.cumsum` runs in float32 and
    /// the threshold is a float32 product; both are mirrored so the chosen bin agrees.
    #[inline(always)]
    fn rolloff(&mut self) -> f64 {
        let mut acc = 0f32;
        self.band.clear();
        self.band.extend(self.magnitude.iter().map(|&m| {
            acc += m;
            acc
        }));
        let threshold = self.config.roll_percent as f32 * acc;
        // The cumulative sum of non-negative values never decreases.
        let k = self.band.partition_point(|&c| c < threshold);
        self.freqs.get(k).or(self.freqs.last()).copied().unwrap_or(0.0)
    }

    /// `melspectrogram`: the float32 Slaney basis applied to the float32 power spectrum.
    ///
    /// librosa's `einsum` is a float32 BLAS product, whose kernels accumulate each
    /// output with fused multiply-adds in ascending bin order; zero weights leave the
    /// sum unchanged, so accumulating the nonzero run the same way reproduces it (bit
    /// for bit on 98.6% of Ped2's values, against 0-56% for f64 sums). With `FMA` the
    /// CPU's f32 fused multiply-add does it, as BLAS does; without, it is emulated in
    /// f64 (the product of two f32 is exact there, and the sum rounded twice differs
    /// from once only on exact ties) at three times the latency.
    #[inline(always)]
    fn mel_power<const FMA: bool>(&self) -> [f64; N_MELS] {
        let mut mel = [0.0; N_MELS];
        for (out, (start, weights)) in mel.iter_mut().zip(&self.mel_basis.bands) {
            let p = self.power.get(*start..*start + weights.len()).unwrap_or(&[]);
            let s = if FMA {
                weights.iter().zip(p).fold(0f32, |acc, (&w, &x)| w.mul_add(x, acc))
            } else {
                weights.iter().zip(p).fold(0f32, |acc, (&w, &x)| {
                    (f64::from(w) * f64::from(x) + f64::from(acc)) as f32
                })
            };
            *out = f64::from(s);
        }
        mel
    }

    /// `spectral_contrast`'s per-band mean of the `n_avg` highest (peak) and lowest
    /// (valley) magnitudes, before the dB conversion.
    #[inline(always)]
    fn peak_valley(&mut self) -> ([f64; N_CONTRAST], [f64; N_CONTRAST]) {
        let mut peak = [0.0; N_CONTRAST];
        let mut valley = [0.0; N_CONTRAST];
        for (k, b) in self.contrast_bands.iter().enumerate() {
            let Some(sub) = self.magnitude.get(b.start..b.start + b.len) else {
                continue;
            };
            if b.n_avg == 1 {
                let (lo, hi) = sub.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &m| {
                    (lo.min(m), hi.max(m))
                });
                valley[k] = f64::from(lo);
                peak[k] = f64::from(hi);
                continue;
            }
            let (lo, hi) = extreme_means(sub, b.n_avg, &mut self.band, &mut self.band_high);
            valley[k] = lo;
            peak[k] = hi;
        }
        (peak, valley)
    }
}

/// `(sum f(m, x).0, sum f(m, x).1)` over paired values, in four interleaved f64
/// accumulators (so the additions pipeline; the order differs from a plain loop only
/// at the 1e-16 level).
#[inline(always)]
fn sum4(m: &[f32], x: &[f64], f: impl Fn(f64, f64) -> (f64, f64)) -> (f64, f64) {
    let mut a = [0f64; 4];
    let mut b = [0f64; 4];
    let mut mc = m.chunks_exact(4);
    let mut xc = x.chunks_exact(4);
    for (mm, xx) in (&mut mc).zip(&mut xc) {
        for i in 0..4 {
            let (p, q) = f(f64::from(mm[i]), xx[i]);
            a[i] += p;
            b[i] += q;
        }
    }
    let (mut sa, mut sb) = ((a[0] + a[1]) + (a[2] + a[3]), (b[0] + b[1]) + (b[2] + b[3]));
    for (&mm, &xx) in mc.remainder().iter().zip(xc.remainder()) {
        let (p, q) = f(f64::from(mm), xx);
        sa += p;
        sb += q;
    }
    (sa, sb)
}

/// `ln(x)` rounded to f32 for a positive normal f32, without a libm call so the loop
/// vectorises: `x = m 2^e` with `m` in [1/sqrt 2, sqrt 2), and `ln m = 2 atanh(s)`,
/// `s = (m - 1) / (m + 1)`, `|s| <= 0.172`, summed to `s^15` in f64 (truncation below
/// 1e-14), so the f32 result is the correctly rounded logarithm but for ties at the
/// 1e-14 level (numpy's own float32 log is within about an ulp of it).
#[inline(always)]
fn ln_normal_f32(x: f32) -> f32 {
    const SQRT2_BITS: u32 = 0x3fb5_04f3;
    let bits = x.to_bits();
    let mant = (bits & 0x007f_ffff) | 0x3f80_0000;
    let above = mant > SQRT2_BITS;
    let mant = if above { mant - 0x0080_0000 } else { mant };
    let e = ((bits >> 23) & 0xff) as i32 - 127 + i32::from(above);
    let m = f64::from(f32::from_bits(mant));
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let series = 1.0
        + z * (1.0 / 3.0
            + z * (1.0 / 5.0
                + z * (1.0 / 7.0
                    + z * (1.0 / 9.0 + z * (1.0 / 11.0 + z * (1.0 / 13.0 + z * (1.0 / 15.0)))))));
    (f64::from(e) * std::f64::consts::LN_2 + 2.0 * s * series) as f32
}

/// Means of the `k` smallest and the `k` largest values of `v` (spectral contrast's
/// valley and peak). For the small `k` of the default quantile (at most 9 of 431) one
/// pass keeps both sets sorted by insertion; larger `k` falls back to selection.
#[inline(always)]
fn extreme_means(v: &[f32], k: usize, low: &mut Vec<f32>, high: &mut Vec<f32>) -> (f64, f64) {
    let mean = |s: &[f32]| s.iter().map(|&x| f64::from(x)).sum::<f64>() / s.len().max(1) as f64;
    let k = k.clamp(1, v.len().max(1));
    low.clear();
    high.clear();
    if k > 16 {
        low.extend_from_slice(v);
        low.select_nth_unstable_by(k - 1, f32::total_cmp);
        let valley = mean(&low[..k]);
        let n = low.len();
        low.select_nth_unstable_by(n - k, f32::total_cmp);
        return (valley, mean(&low[n - k..]));
    }
    let n = v.len();
    let (Some(head), Some(tail)) = (v.get(..k), n.checked_sub(k).and_then(|i| v.get(i..))) else {
        return (0.0, 0.0);
    };
    // Spectra mostly fall with frequency, so the smallest values sit at the top of a band
    // and the largest at the bottom: each set is collected scanning from its own end,
    // where it fills early and later values rarely enter it (scanning both from the bottom
    // made nearly every value a new smallest, inserted by binary search).
    // Eight values at a time are compared with the set's bound (one vector compare);
    // only a block holding a candidate is walked value by value, in the same order.
    low.extend_from_slice(tail);
    low.sort_unstable_by(f32::total_cmp);
    for block in v[..n - k].rchunks(8) {
        // low ascending: its last is the largest of the k smallest.
        let bound = low[k - 1];
        if !block.iter().fold(false, |any, &x| any | (x < bound)) {
            continue;
        }
        for &x in block.iter().rev() {
            if x < low[k - 1] {
                let at = low.partition_point(|&y| y <= x);
                low.pop();
                low.insert(at, x);
            }
        }
    }
    high.extend_from_slice(head);
    high.sort_unstable_by(|a, b| b.total_cmp(a));
    for block in v[k..].chunks(8) {
        // high descending: its last is the smallest of the k largest.
        let bound = high[k - 1];
        if !block.iter().fold(false, |any, &x| any | (x > bound)) {
            continue;
        }
        for &x in block {
            if x > high[k - 1] {
                let at = high.partition_point(|&y| y >= x);
                high.pop();
                high.insert(at, x);
            }
        }
    }
    (mean(low), mean(high))
}

/// numpy's float32 `add.reduce` over a contiguous axis (`pairwise_sum` in
/// `loops_utils.h`): eight interleaved accumulators for blocks of up to 128, split in
/// halves (rounded down to a multiple of 8) above that, plain loop below 8.
fn pairwise_sum_f32(a: &[f32]) -> f32 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |acc, &v| acc + v)
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let body = n - n % 8;
        for block in a[8..body].chunks_exact(8) {
            for (acc, &v) in r.iter_mut().zip(block) {
                *acc += v;
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &a[body..] {
            res += v;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum_f32(&a[..n2]) + pairwise_sum_f32(&a[n2..])
    }
}

/// `librosa.power_to_db(S, ref=1.0, amin)`, clamped below at `floor` (librosa's
/// `top_db` floor is the whole clip's maximum minus `top_db`).
fn power_to_db<const N: usize>(s: &[[f64; N]], amin: f64, floor: Option<f64>) -> Vec<[f64; N]> {
    let mut db: Vec<[f64; N]> = s.iter().map(|row| row.map(|v| to_db(v, amin))).collect();
    if let Some(floor) = floor {
        for v in db.iter_mut().flatten() {
            *v = v.max(floor);
        }
    }
    db
}

fn to_db(v: f64, amin: f64) -> f64 {
    10.0 * v.max(amin).log10()
}

/// The per-frame values of a signal before the dB conversions.
struct RawFeatures {
    features: Features,
    peaks: Vec<[f64; N_CONTRAST]>,
    valleys: Vec<[f64; N_CONTRAST]>,
}

impl RawFeatures {
    fn keep(&mut self, keep: std::ops::Range<usize>) {
        let f = &mut self.features;
        f.frames = keep.len();
        for v in [&mut f.flatness, &mut f.zero_crossing_rate, &mut f.centroid, &mut f.bandwidth, &mut f.rolloff] {
            *v = v[keep.clone()].to_vec();
        }
        f.mel = f.mel[keep.clone()].to_vec();
        self.peaks = self.peaks[keep.clone()].to_vec();
        self.valleys = self.valleys[keep].to_vec();
    }
}

/// The maxima, in dB, that `power_to_db`'s `top_db` floors are measured from: of the
/// mel spectrogram (for the MFCC), and of spectral contrast's peaks and valleys.
/// Offline they are the whole clip's; a stream keeps the running maxima of what it
/// has seen so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbMaxima {
    pub mel: f64,
    pub peak: f64,
    pub valley: f64,
}

impl Default for DbMaxima {
    fn default() -> Self {
        DbMaxima { mel: f64::NEG_INFINITY, peak: f64::NEG_INFINITY, valley: f64::NEG_INFINITY }
    }
}

impl DbMaxima {
    fn include(self, raw: &RawFeatures, frames: std::ops::Range<usize>, amin: f64) -> Self {
        // dB is increasing in the power: the maximum's dB is the maximum dB.
        let max_db = |rows: &[[f64; N_CONTRAST]]| to_db(rows.iter().flatten().fold(f64::NEG_INFINITY, |a, &v| a.max(v)), amin);
        let mel = to_db(raw.features.mel[frames.clone()].iter().flatten().fold(f64::NEG_INFINITY, |a, &v| a.max(v)), amin);
        DbMaxima {
            mel: self.mel.max(mel),
            peak: self.peak.max(max_db(&raw.peaks[frames.clone()])),
            valley: self.valley.max(max_db(&raw.valleys[frames])),
        }
    }
}

/// The sub-bands of `librosa.feature.spectral_contrast`: octave band `k` spans
/// `[fmin * 2^(k-1), fmin * 2^k]` (band 0 starts at 0 Hz), takes one extra bin below
/// (k > 0), drops its top bin (all but the last band), and the last band runs to
/// Nyquist. `n_avg = max(1, rint(quantile * bins in the band before the drop))`.
fn contrast_bands(freqs: &[f64], cfg: &FeatureConfig) -> Result<Vec<ContrastBand>> {
    let n_bands = N_CONTRAST - 1;
    let mut octa = vec![0.0; n_bands + 2];
    for (k, o) in octa.iter_mut().skip(1).enumerate() {
        *o = cfg.contrast_fmin * 2f64.powi(k as i32);
    }
    let mut bands = Vec::with_capacity(N_CONTRAST);
    for k in 0..=n_bands {
        let (lo, hi) = (octa[k], octa[k + 1]);
        let first = freqs.iter().position(|&f| f >= lo && f <= hi);
        let last = freqs.iter().rposition(|&f| f >= lo && f <= hi);
        let (Some(mut a), Some(mut b)) = (first, last) else {
            return Err(FeatureError::Config(format!(
                "spectral contrast band {k} ({lo} - {hi} Hz) holds no FFT bin; \
                 raise n_fft or contrast_fmin"
            )));
        };
        if k > 0 {
            a = a.saturating_sub(1);
        }
        if k == n_bands {
            b = freqs.len() - 1;
        }
        let count = b - a + 1;
        let len = if k < n_bands { count - 1 } else { count };
        let n_avg = ((cfg.contrast_quantile * count as f64).round_ties_even() as usize).max(1);
        if len < n_avg {
            return Err(FeatureError::Config(format!(
                "spectral contrast band {k} ({lo} - {hi} Hz) is narrower than one FFT bin; \
                 raise n_fft or contrast_fmin"
            )));
        }
        bands.push(ContrastBand { start: a, len, n_avg });
    }
    Ok(bands)
}

/// All eight features of `y` with `config` (builds the tables; reuse a
/// [`FeatureExtractor`] to process many clips).
pub fn compute(y: &[f32], config: &FeatureConfig) -> Result<Features> {
    FeatureExtractor::new(config)?.compute(y)
}

/// The 160-column feature matrix of `y` (mono, at `config.sample_rate`).
pub fn extract(y: &[f32], config: &FeatureConfig) -> Result<FeatureMatrix> {
    Ok(compute(y, config)?.to_matrix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_bands_follow_librosa_for_the_defaults() {
        let cfg = FeatureConfig::default();
        let freqs = fft_frequencies(22050.0, 2048);
        let b = contrast_bands(&freqs, &cfg).unwrap();
        // Band 0: bins 0..=18 lie in [0, 200] Hz, the top one dropped.
        assert_eq!((b[0].start, b[0].len, b[0].n_avg), (0, 18, 1));
        // Band 1: [200, 400] Hz is bins 19..=37, plus bin 18 below, minus bin 37.
        assert_eq!((b[1].start, b[1].len, b[1].n_avg), (18, 19, 1));
        // Band 6: from 6400 Hz (bin 595, plus 594) to Nyquist: 431 bins, rint(8.62) = 9.
        assert_eq!((b[6].start, b[6].len, b[6].n_avg), (594, 431, 9));
    }

    #[test]
    fn pairwise_sum_matches_numpy_float32() {
        // np.sum(np.arange(1, 1026, dtype=np.float32) ** 2 / 7) == 5.1355576e+07 exactly,
        // while a plain float32 loop gives 5.1355604e+07.
        let a: Vec<f32> = (1..=1025).map(|i| (i * i) as f32 / 7.0).collect();
        assert_eq!(pairwise_sum_f32(&a), 5.1355576e7);
        let small = [0.1f32, 0.2, 0.3];
        assert_eq!(pairwise_sum_f32(&small), (0.1f32 + 0.2) + 0.3);
    }

    #[test]
    fn fast_log_is_the_rounded_logarithm() {
        let mut worst = 0u32;
        let mut x = 1e-10f32;
        while x < 1e9 {
            let want = f64::from(x).ln() as f32;
            let got = ln_normal_f32(x);
            worst = worst.max(want.to_bits().abs_diff(got.to_bits()));
            x *= 1.000_37;
        }
        assert_eq!(worst, 0, "off by {worst} ulp");
        assert_eq!(ln_normal_f32(1.0), 0.0);
    }

    #[test]
    fn extreme_means_match_sorting() {
        let v: Vec<f32> = (0..431).map(|i| ((i * 7919) % 433) as f32 * 0.5).collect();
        let mut sorted = v.clone();
        sorted.sort_by(f32::total_cmp);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for k in [1, 2, 3, 6, 9, 17, 40] {
            let lo: f64 = sorted[..k].iter().map(|&x| f64::from(x)).sum::<f64>() / k as f64;
            let hi: f64 = sorted[431 - k..].iter().map(|&x| f64::from(x)).sum::<f64>() / k as f64;
            assert_eq!(extreme_means(&v, k, &mut a, &mut b), (lo, hi), "k = {k}");
        }
    }
}
