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
    /// numpy's pairwise summation order over the `1 + n_fft / 2` bins.
    pairwise: Vec<PairOp>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
    /// A block of [`LANES`] frames side by side, bin-major: `mag[bin][lane]` is the
    /// magnitude of bin `bin` in frame `first + lane` (the float32 power is its float32
    /// square, computed where it is used); `work` scratch.
    mag: Vec<Lanes>,
    work: Vec<Lanes>,
    /// Scratch for the selection of large contrast quantiles.
    select: Vec<f32>,
    /// Never take the AVX2/FMA path (tests compare the two).
    portable: bool,
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
                (0..N_MELS * N_MFCC)
                    .map(|i| dct[(i % N_MFCC) * N_MELS + i / N_MFCC])
                    .collect()
            },
            contrast_bands,
            pairwise: pairwise_plan(freqs.len()),
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            mag: vec![[0.0; LANES]; freqs.len()],
            work: vec![[0.0; LANES]; freqs.len()],
            select: Vec::with_capacity(freqs.len()),
            portable: false,
            freqs,
            fft,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// The same extractor restricted to the portable code (no AVX2/FMA path even where
    /// the CPU has them), for tests that check both paths agree.
    #[doc(hidden)]
    pub fn portable(mut self) -> Self {
        self.portable = true;
        self
    }

    /// The 160-column matrix of `y` (mono, at `config.sample_rate`).
    pub fn extract(&mut self, y: &[f32]) -> Result<FeatureMatrix> {
        let raw = self.raw(y)?;
        let maxima = DbMaxima::default().include(&raw, 0..raw.frames, self.config.amin);
        Ok(self.matrix(&raw, maxima))
    }

    /// All eight features of `y` (mono, at `config.sample_rate`), `1 + len / hop`
    /// centred frames.
    pub fn compute(&mut self, y: &[f32]) -> Result<Features> {
        let raw = self.raw(y)?;
        let maxima = DbMaxima::default().include(&raw, 0..raw.frames, self.config.amin);
        Ok(self.finish(raw, maxima))
    }

    /// Frames `keep` of `y`'s features, with the dB floors (`top_db`) measured from
    /// `maxima` updated by those frames, rather than from the whole of `y`: the causal
    /// form [`StreamingFeatures`](crate::StreamingFeatures) uses.
    pub fn compute_frames(
        &mut self,
        y: &[f32],
        keep: std::ops::Range<usize>,
        maxima: &mut DbMaxima,
    ) -> Result<Features> {
        let mut raw = self.raw(y)?;
        let keep = keep.start.min(raw.frames)..keep.end.min(raw.frames);
        *maxima = maxima.include(&raw, keep.clone(), self.config.amin);
        raw.keep(keep);
        Ok(self.finish(raw, *maxima))
    }

    /// Every per-frame value of `y`, before the clip-wide dB conversions.
    fn raw(&mut self, y: &[f32]) -> Result<RawFeatures> {
        if y.is_empty() {
            return Err(FeatureError::Empty);
        }
        if let Some(index) = first_non_finite(y) {
            return Err(FeatureError::NonFinite { index });
        }
        let cfg = &self.config;
        let (n_fft, hop) = (cfg.n_fft, cfg.hop_length);
        let frames = cfg.n_frames(y.len());
        let zero_crossing_rate = zero_crossing_rate(y, n_fft, hop, cfg.zcr_threshold);

        let mut out = RawFeatures {
            frames,
            flatness: Vec::with_capacity(frames),
            zero_crossing_rate,
            centroid: Vec::with_capacity(frames),
            bandwidth: Vec::with_capacity(frames),
            rolloff: Vec::with_capacity(frames),
            mel: Vec::with_capacity(frames),
            peaks: Vec::with_capacity(frames),
            valleys: Vec::with_capacity(frames),
        };
        #[cfg(target_arch = "x86_64")]
        let avx2 = self.use_avx2();
        let mut t = 0;
        while t < frames {
            let n = (frames - t).min(LANES);
            #[cfg(target_arch = "x86_64")]
            if avx2 {
                // SAFETY: the CPU supports AVX2 and FMA, checked above.
                unsafe { self.block_avx2(y, t, n, &mut out)? };
                t += n;
                continue;
            }
            self.block::<false>(y, t, n, &mut out)?;
            t += n;
        }

        Ok(out)
    }

    /// The eight features from the raw values: MFCC and contrast with each dB floor
    /// `top_db` below its maximum.
    fn finish(&self, raw: RawFeatures, maxima: DbMaxima) -> Features {
        #[cfg(target_arch = "x86_64")]
        if self.use_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA, checked by use_avx2.
            return unsafe { self.finish_avx2(raw, maxima) };
        }
        self.finish_rows(raw, maxima)
    }

    /// [`Self::finish_rows`] compiled for AVX2 (the same arithmetic, four f64 wide; no
    /// fused multiply-add is asked for, so the results are the portable path's).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn finish_avx2(&self, raw: RawFeatures, maxima: DbMaxima) -> Features {
        self.finish_rows(raw, maxima)
    }

    #[inline(always)]
    fn finish_rows(&self, raw: RawFeatures, maxima: DbMaxima) -> Features {
        // Plain loops and pushes, not iterator chains collected: `collect` runs in a
        // function of its own, which would not be compiled for AVX2.
        let mut mfcc = Vec::with_capacity(raw.frames);
        let mut contrast = Vec::with_capacity(raw.frames);
        self.dct_and_contrast(&raw, maxima, |_, m, c| {
            mfcc.push(*m);
            contrast.push(*c);
        });
        let mut mel = Vec::with_capacity(raw.frames);
        for row in &raw.mel {
            let mut m = [0.0; N_MELS];
            for (m, &v) in m.iter_mut().zip(row) {
                *m = f64::from(v);
            }
            mel.push(m);
        }
        Features {
            frames: raw.frames,
            flatness: raw.flatness,
            zero_crossing_rate: raw.zero_crossing_rate,
            centroid: raw.centroid,
            bandwidth: raw.bandwidth,
            mfcc,
            mel,
            rolloff: raw.rolloff,
            contrast,
        }
    }

    /// The 160-column matrix from the raw values, as [`Features::to_matrix`] of
    /// [`Self::finish`] would give, without the f64 features in between.
    fn matrix(&self, raw: &RawFeatures, maxima: DbMaxima) -> FeatureMatrix {
        #[cfg(target_arch = "x86_64")]
        if self.use_avx2() {
            // SAFETY: the CPU supports AVX2 and FMA, checked by use_avx2.
            return unsafe { self.matrix_avx2(raw, maxima) };
        }
        self.matrix_rows(raw, maxima)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn matrix_avx2(&self, raw: &RawFeatures, maxima: DbMaxima) -> FeatureMatrix {
        self.matrix_rows(raw, maxima)
    }

    #[inline(always)]
    fn matrix_rows(&self, raw: &RawFeatures, maxima: DbMaxima) -> FeatureMatrix {
        let mut data = Vec::with_capacity(raw.frames * N_FEATURES);
        self.dct_and_contrast(raw, maxima, |t, mfcc, contrast| {
            data.push(raw.flatness[t] as f32);
            data.push(raw.zero_crossing_rate[t] as f32);
            data.push(raw.centroid[t] as f32);
            data.push(raw.bandwidth[t] as f32);
            for &v in mfcc {
                data.push(v as f32);
            }
            data.extend_from_slice(&raw.mel[t]);
            data.push(raw.rolloff[t] as f32);
            for &v in contrast {
                data.push(v as f32);
            }
        });
        FeatureMatrix {
            frames: raw.frames,
            data,
        }
    }

    /// Each frame's MFCC and contrast, in frame order, to `emit(frame, mfcc, contrast)`.
    #[inline(always)]
    fn dct_and_contrast(
        &self,
        raw: &RawFeatures,
        maxima: DbMaxima,
        mut emit: impl FnMut(usize, &[f64; N_MFCC], &[f64; N_CONTRAST]),
    ) {
        let amin = self.config.amin;
        // Without top_db nothing is clamped: a floor of -inf.
        let floor = |max: f64| self.config.top_db.map_or(f64::NEG_INFINITY, |t| max - t);
        let (mel_floor, peak_floor, valley_floor) =
            (floor(maxima.mel), floor(maxima.peak), floor(maxima.valley));
        for (t, ((mel, p), v)) in raw.mel.iter().zip(&raw.peaks).zip(&raw.valleys).enumerate() {
            let mut power = [0.0; N_MELS];
            for (m, &x) in power.iter_mut().zip(mel) {
                *m = f64::from(x);
            }
            let db = power_to_db(&power, amin, mel_floor);
            // The DCT as a sum over mel bands of each band's column times its dB value:
            // the twenty coefficients accumulate side by side (vectorised) instead of one
            // after the other, each still summed in ascending band order.
            let mut mfcc = [0.0; N_MFCC];
            for (column, &d) in self.dct_by_band.chunks_exact(N_MFCC).zip(&db) {
                for (ck, &w) in mfcc.iter_mut().zip(column) {
                    *ck += w * d;
                }
            }
            // librosa: power_to_db(peak) - power_to_db(valley), each clamped at its own
            // clip-wide maximum minus top_db.
            let (p, v) = (
                power_to_db(p, amin, peak_floor),
                power_to_db(v, amin, valley_floor),
            );
            let mut contrast = [0.0; N_CONTRAST];
            for k in 0..N_CONTRAST {
                contrast[k] = p[k] - v[k];
            }
            emit(t, &mfcc, &contrast);
        }
    }

    /// Whether the AVX2/FMA paths are taken: an x86-64 CPU with both, and
    /// [`Self::portable`] not asked for.
    fn use_avx2(&self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            !self.portable
                && std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = self.portable;
            false
        }
    }

    /// Every per-frame feature of frames `t .. t + n` (`n <= LANES`), computed side by
    /// side: each frame's spectrum goes into one lane of the bin-major block, and every
    /// per-frame sum, chain and selection then runs over the bins once for all lanes, in
    /// each lane exactly the order the per-frame definition uses (so a lane's result is
    /// what that frame alone would give, bit for bit). Lanes past `n` hold zeros and are
    /// dropped. `FMA`: the CPU has fused multiply-add.
    #[inline(always)]
    fn block<const FMA: bool>(
        &mut self,
        y: &[f32],
        t: usize,
        n: usize,
        out: &mut RawFeatures,
    ) -> Result<()> {
        for lane in 0..LANES {
            if lane < n {
                self.magnitude_spectrum(y, t + lane, lane)?;
            } else {
                for row in self.mag.iter_mut() {
                    row[lane] = 0.0;
                }
            }
        }
        let flatness = self.flatness::<FMA>();
        let (centroid, bandwidth) = self.centroid_bandwidth();
        let rolloff = self.rolloff();
        out.flatness
            .extend(flatness[..n].iter().map(|&v| f64::from(v)));
        out.centroid.extend_from_slice(&centroid[..n]);
        out.bandwidth.extend_from_slice(&bandwidth[..n]);
        out.rolloff.extend_from_slice(&rolloff[..n]);
        let first = out.mel.len();
        out.mel.resize(first + n, [0.0; N_MELS]);
        self.mel_power::<FMA>(&mut out.mel[first..]);
        let (peak, valley) = self.peak_valley();
        out.peaks.extend_from_slice(&peak[..n]);
        out.valleys.extend_from_slice(&valley[..n]);
        Ok(())
    }

    /// [`Self::block`] compiled for AVX2 and FMA, so its loops over the lanes run eight
    /// f32 (four f64) wide. Rust never fuses or reorders floating-point operations on its
    /// own, so results change only where fused multiply-adds are asked for: the mel
    /// product ([`Self::mel_power`]) and flatness's logarithm ([`ln_normal_f32`], the
    /// correctly rounded value either way).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn block_avx2(
        &mut self,
        y: &[f32],
        t: usize,
        n: usize,
        out: &mut RawFeatures,
    ) -> Result<()> {
        self.block::<true>(y, t, n, out)
    }

    /// `np.abs(librosa.stft(y))[:, t]` into lane `lane` of `self.mag`. librosa windows the
    /// float32 frame with the float64 window, takes a float64 FFT and stores it in a
    /// complex64 matrix; so the FFT runs in f64 here and is rounded to f32 before the
    /// magnitude, which is `hypotf` (computed in double, as glibc does) rounded to f32.
    #[inline(always)]
    fn magnitude_spectrum(&mut self, y: &[f32], t: usize, lane: usize) -> Result<()> {
        let n_fft = self.config.n_fft;
        let half = n_fft / 2;
        let offset = t * self.config.hop_length;
        // Frame t covers y[offset - half .. offset - half + n_fft], zero outside y.
        let lo = half.saturating_sub(offset).min(n_fft);
        let hi = (y.len() + half).saturating_sub(offset).min(n_fft).max(lo);
        self.frame[..lo].fill(0.0);
        self.frame[hi..].fill(0.0);
        let src = &y[offset + lo - half..offset + hi - half];
        for ((f, &w), &s) in self.frame[lo..hi]
            .iter_mut()
            .zip(&self.window[lo..hi])
            .zip(src)
        {
            *f = w * f64::from(s);
        }
        self.fft
            .process_with_scratch(&mut self.frame, &mut self.spectrum, &mut self.scratch)
            .map_err(|e| FeatureError::Config(format!("FFT of size {n_fft} failed: {e}")))?;
        for (c, row) in self.spectrum.iter().zip(&mut self.mag) {
            let re = f64::from(c.re as f32);
            let im = f64::from(c.im as f32);
            row[lane] = (re * re + im * im).sqrt() as f32;
        }
        Ok(())
    }

    /// `spectral_flatness` of each lane: geometric over arithmetic mean of
    /// `max(amin, |S|^2)`.
    ///
    /// librosa evaluates it in float32 (`np.log`, `np.mean`, `np.exp`), and on
    /// near-flat spectra (a click train) its rounding moves the result by 2e-6, more
    /// than the f64 value differs from it; so the float32 pipeline is reproduced: each
    /// log rounded to f32, both means by numpy's float32 pairwise summation.
    #[inline(always)]
    fn flatness<const FMA: bool>(&mut self) -> Lanes {
        let amin = self.config.amin as f32;
        let n = self.mag.len() as f32;
        for (w, &m) in self
            .work
            .as_flattened_mut()
            .iter_mut()
            .zip(self.mag.as_flattened())
        {
            *w = (m * m).max(amin);
        }
        let sum = pairwise_sum_lanes(&self.pairwise, &self.work);
        if amin >= f32::MIN_POSITIVE {
            // Every value is a normal float: the vectorisable logarithm applies.
            for v in self.work.as_flattened_mut() {
                *v = ln_normal_f32::<FMA>(*v);
            }
        } else {
            for v in self.work.as_flattened_mut() {
                *v = f64::from(*v).ln() as f32;
            }
        }
        let log_sum = pairwise_sum_lanes(&self.pairwise, &self.work);
        std::array::from_fn(|l| {
            let amean = sum[l] / n;
            let gmean = f64::from(log_sum[l] / n).exp() as f32;
            gmean / amean
        })
    }

    /// `spectral_centroid` and `spectral_bandwidth` of each lane's magnitude spectrum. A
    /// frame whose magnitudes sum below float32's `tiny` is not normalised (librosa's
    /// `util.normalize` leaves it as is), so silence gives 0 Hz for both. Each sum runs
    /// in four interleaved f64 accumulators (bins `4i + j` into accumulator `j`), which
    /// pipeline; half the lanes at a time, so they stay in registers.
    #[inline(always)]
    fn centroid_bandwidth(&self) -> ([f64; LANES], [f64; LANES]) {
        let mut centroid = [0.0; LANES];
        let mut bandwidth = [0.0; LANES];
        for h in 0..LANES / HALF {
            let lanes = h * HALF..(h + 1) * HALF;
            let (total, weighted) = sum4_lanes(&self.mag, &self.freqs, lanes.clone(), |m, f| {
                (m, m.map(|m| m * f))
            });
            let norm: [f64; HALF] = std::array::from_fn(|l| {
                if total[l] < f64::from(f32::MIN_POSITIVE) {
                    1.0
                } else {
                    total[l]
                }
            });
            let c: [f64; HALF] = std::array::from_fn(|l| weighted[l] / norm[l]);
            let (spread, _) = sum4_lanes(&self.mag, &self.freqs, lanes, |m, f| {
                let d: [f64; HALF] = std::array::from_fn(|l| f - c[l]);
                let mut s = [0.0; HALF];
                for l in 0..HALF {
                    s[l] = m[l] * d[l] * d[l];
                }
                (s, [0.0; HALF])
            });
            for l in 0..HALF {
                centroid[h * HALF + l] = c[l];
                bandwidth[h * HALF + l] = (spread[l] / norm[l]).sqrt();
            }
        }
        (centroid, bandwidth)
    }

    /// `spectral_rolloff` of each lane: the first bin whose cumulative magnitude reaches
    /// `roll_percent` of the frame's total. librosa's `np.cumsum` runs in float32 and
    /// the threshold is a float32 product; both are mirrored so the chosen bin agrees.
    /// The eight sequential sums advance together, one vector addition per bin.
    #[inline(always)]
    fn rolloff(&mut self) -> [f64; LANES] {
        let mut acc = [0f32; LANES];
        for (c, row) in self.work.iter_mut().zip(&self.mag) {
            for l in 0..LANES {
                acc[l] += row[l];
            }
            *c = acc;
        }
        let roll = self.config.roll_percent as f32;
        std::array::from_fn(|l| {
            let threshold = roll * acc[l];
            // The cumulative sum of non-negative values never decreases: the first bin
            // reaching the threshold by bisection (`partition_point` on lane l).
            let (mut lo, mut hi) = (0, self.work.len());
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                if self.work[mid][l] < threshold {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            self.freqs
                .get(lo)
                .or(self.freqs.last())
                .copied()
                .unwrap_or(0.0)
        })
    }

    /// `melspectrogram`: the float32 Slaney basis applied to the float32 power spectrum,
    /// into `mel[lane]` for the lanes `mel` holds.
    ///
    /// librosa's `einsum` is a float32 BLAS product, whose kernels accumulate each
    /// output with fused multiply-adds in ascending bin order; zero weights leave the
    /// sum unchanged, so accumulating the nonzero run the same way reproduces it (bit
    /// for bit on 98.6% of Ped2's values, against 0-56% for f64 sums). With `FMA` the
    /// CPU's f32 fused multiply-add does it, as BLAS does; without, it is emulated in
    /// f64 (the product of two f32 is exact there, and the sum rounded twice differs
    /// from once only on exact ties).
    #[inline(always)]
    fn mel_power<const FMA: bool>(&self, mel: &mut [[f32; N_MELS]]) {
        for (band, (start, weights)) in self.mel_basis.bands.iter().enumerate() {
            let rows = self.mag.get(*start..*start + weights.len()).unwrap_or(&[]);
            let mut acc = [0f32; LANES];
            for (&w, row) in weights.iter().zip(rows) {
                for l in 0..LANES {
                    let p = row[l] * row[l];
                    acc[l] = if FMA {
                        w.mul_add(p, acc[l])
                    } else {
                        (f64::from(w) * f64::from(p) + f64::from(acc[l])) as f32
                    };
                }
            }
            for (m, &a) in mel.iter_mut().zip(&acc) {
                m[band] = a;
            }
        }
    }

    /// `spectral_contrast`'s per-band mean of the `n_avg` highest (peak) and lowest
    /// (valley) magnitudes of each lane, before the dB conversion.
    #[inline(always)]
    fn peak_valley(&mut self) -> ([[f64; N_CONTRAST]; LANES], [[f64; N_CONTRAST]; LANES]) {
        let mut peak = [[0.0; N_CONTRAST]; LANES];
        let mut valley = [[0.0; N_CONTRAST]; LANES];
        for (k, b) in self.contrast_bands.iter().enumerate() {
            let Some(sub) = self.mag.get(b.start..b.start + b.len) else {
                continue;
            };
            let (lo, hi) =
                extreme_means_lanes(sub, b.n_avg.clamp(1, sub.len().max(1)), &mut self.select);
            for l in 0..LANES {
                valley[l][k] = lo[l];
                peak[l][k] = hi[l];
            }
        }
        (peak, valley)
    }
}

/// The index of the first NaN or infinity in `y`: blocks checked with a reduction the
/// compiler vectorises (a search stopping at the first hit does not), then the block
/// holding one searched.
pub(crate) fn first_non_finite(y: &[f32]) -> Option<usize> {
    const BLOCK: usize = 256;
    y.chunks(BLOCK).enumerate().find_map(|(b, chunk)| {
        if chunk.iter().fold(true, |ok, v| ok & v.is_finite()) {
            None
        } else {
            chunk
                .iter()
                .position(|v| !v.is_finite())
                .map(|i| b * BLOCK + i)
        }
    })
}

/// Frames computed side by side (one AVX2 register of f32).
const LANES: usize = 8;
/// Lanes per f64 pass (one AVX2 register of f64).
const HALF: usize = 4;
/// One value per lane.
type Lanes = [f32; LANES];

/// `(sum f(m, x).0, sum f(m, x).1)` over the bins, for each lane in `lanes` (HALF of
/// them), in four interleaved f64 accumulators (so the additions pipeline; the order
/// differs from a plain loop only at the 1e-16 level).
#[inline(always)]
fn sum4_lanes(
    m: &[Lanes],
    x: &[f64],
    lanes: std::ops::Range<usize>,
    f: impl Fn([f64; HALF], f64) -> ([f64; HALF], [f64; HALF]),
) -> ([f64; HALF], [f64; HALF]) {
    let first = lanes.start;
    let take = |row: &Lanes| -> [f64; HALF] { std::array::from_fn(|l| f64::from(row[first + l])) };
    let mut a = [[0f64; HALF]; 4];
    let mut b = [[0f64; HALF]; 4];
    let mut mc = m.chunks_exact(4);
    let mut xc = x.chunks_exact(4);
    for (mm, xx) in (&mut mc).zip(&mut xc) {
        for i in 0..4 {
            let (p, q) = f(take(&mm[i]), xx[i]);
            for l in 0..HALF {
                a[i][l] += p[l];
                b[i][l] += q[l];
            }
        }
    }
    let mut sa: [f64; HALF] = std::array::from_fn(|l| (a[0][l] + a[1][l]) + (a[2][l] + a[3][l]));
    let mut sb: [f64; HALF] = std::array::from_fn(|l| (b[0][l] + b[1][l]) + (b[2][l] + b[3][l]));
    for (mm, &xx) in mc.remainder().iter().zip(xc.remainder()) {
        let (p, q) = f(take(mm), xx);
        for l in 0..HALF {
            sa[l] += p[l];
            sb[l] += q[l];
        }
    }
    (sa, sb)
}

/// `ln(x)` rounded to f32 for a positive normal f32, without a libm call so the loop
/// vectorises: `x = m 2^e` with `m` in [1/sqrt 2, sqrt 2), and `ln m = 2 atanh(s)`,
/// `s = (m - 1) / (m + 1)`, `|s| <= 0.172`, `atanh(s) / s = 1 + z P(z)` with `z = s^2`
/// and `P` the degree-5 minimax fit on [0, 0.0295] (relative error 7e-16, against
/// 3e-14 for the Taylor series to `s^15` it replaces, with one term fewer), in f64: so
/// the f32 result is the correctly rounded logarithm but for ties at the 1e-15 level
/// (numpy's own float32 log is within about an ulp of it). `FMA`: Horner's steps as
/// fused multiply-adds (fewer instructions; on a CPU without FMA, `mul_add` is libm's
/// exact `fma`, so either form gives the same results everywhere).
#[inline(always)]
fn ln_normal_f32<const FMA: bool>(x: f32) -> f32 {
    const SQRT2_BITS: u32 = 0x3fb5_04f3;
    const P: [f64; 6] = [
        0.33333333333331044,
        0.20000000005603252,
        0.1428571206916208,
        0.11111431140054358,
        0.09070096901432996,
        0.08310908576429464,
    ];
    let bits = x.to_bits();
    let mant = (bits & 0x007f_ffff) | 0x3f80_0000;
    let above = mant > SQRT2_BITS;
    let mant = if above { mant - 0x0080_0000 } else { mant };
    let e = f64::from(((bits >> 23) & 0xff) as i32 - 127 + i32::from(above));
    let m = f64::from(f32::from_bits(mant));
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let madd = |a: f64, b: f64, c: f64| if FMA { a.mul_add(b, c) } else { a * b + c };
    let p = madd(
        madd(madd(madd(madd(P[5], z, P[4]), z, P[3]), z, P[2]), z, P[1]),
        z,
        P[0],
    );
    let series = madd(z, p, 1.0);
    madd(e, std::f64::consts::LN_2, 2.0 * s * series) as f32
}

/// Per lane, the means of the `k` smallest and the `k` largest values of `rows`
/// (spectral contrast's valley and peak), each summed in f64 from the most extreme
/// value inwards (the order of the sorted sets).
#[inline(always)]
fn extreme_means_lanes(
    rows: &[Lanes],
    k: usize,
    select: &mut Vec<f32>,
) -> ([f64; LANES], [f64; LANES]) {
    macro_rules! by_k {
        ($($n:literal)*) => {
            match k {
                $($n => return (smallest_mean::<$n>(rows), largest_mean::<$n>(rows)),)*
                _ => {}
            }
        };
    }
    by_k!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16);
    // A large quantile: selection, lane by lane.
    let mean = |s: &[f32]| s.iter().map(|&x| f64::from(x)).sum::<f64>() / s.len().max(1) as f64;
    let mut lo = [0.0; LANES];
    let mut hi = [0.0; LANES];
    for l in 0..LANES {
        select.clear();
        select.extend(rows.iter().map(|r| r[l]));
        let n = select.len();
        if n == 0 {
            continue;
        }
        select.select_nth_unstable_by(k - 1, f32::total_cmp);
        lo[l] = mean(&select[..k]);
        select.select_nth_unstable_by(n - k, f32::total_cmp);
        hi[l] = mean(&select[n - k..]);
    }
    (lo, hi)
}

/// Per lane, the mean of the `K` smallest values of `rows` (at least `K` of them):
/// `set[0] <= .. <= set[K - 1]` holds the smallest so far and each value is inserted by
/// compare-exchange down the set (branch-free, every lane at once; the set starts at
/// +inf, pushed out by the first `K` values).
#[inline(always)]
fn smallest_mean<const K: usize>(rows: &[Lanes]) -> [f64; LANES] {
    let mut set = [[f32::INFINITY; LANES]; K];
    for row in rows {
        let mut x = *row;
        for s in set.iter_mut() {
            // Written as two independent selects (not one swap on one condition), the
            // form LLVM turns into vminps / vmaxps on registers; equal values make both
            // sides equal, so the multiset is kept either way.
            let (mut lo, mut hi) = ([0f32; LANES], [0f32; LANES]);
            for l in 0..LANES {
                lo[l] = if x[l] < s[l] { x[l] } else { s[l] };
                hi[l] = if s[l] < x[l] { x[l] } else { s[l] };
            }
            *s = lo;
            x = hi;
        }
    }
    std::array::from_fn(|l| set.iter().map(|s| f64::from(s[l])).sum::<f64>() / K as f64)
}

/// Per lane, the mean of the `K` largest values of `rows`; as [`smallest_mean`], with
/// `set[0] >= .. >= set[K - 1]`.
#[inline(always)]
fn largest_mean<const K: usize>(rows: &[Lanes]) -> [f64; LANES] {
    let mut set = [[f32::NEG_INFINITY; LANES]; K];
    for row in rows {
        let mut x = *row;
        for s in set.iter_mut() {
            let (mut lo, mut hi) = ([0f32; LANES], [0f32; LANES]);
            for l in 0..LANES {
                hi[l] = if x[l] > s[l] { x[l] } else { s[l] };
                lo[l] = if s[l] > x[l] { x[l] } else { s[l] };
            }
            *s = hi;
            x = lo;
        }
    }
    std::array::from_fn(|l| set.iter().map(|s| f64::from(s[l])).sum::<f64>() / K as f64)
}

/// One step of numpy's float32 pairwise summation of `n` values, in the order it adds
/// them: a leaf block summed directly, or the sum of the last two results.
#[derive(Debug, Clone, Copy)]
enum PairOp {
    Leaf { start: usize, len: usize },
    Add,
}

/// numpy's `pairwise_sum` (`loops_utils.h`) flattened into postfix order: blocks of up
/// to 128 are leaves; above that, the first half (rounded down to a multiple of 8) and
/// the rest, then their sum.
fn pairwise_plan(n: usize) -> Vec<PairOp> {
    fn go(start: usize, n: usize, plan: &mut Vec<PairOp>) {
        if n <= 128 {
            plan.push(PairOp::Leaf { start, len: n });
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            go(start, n2, plan);
            go(start + n2, n - n2, plan);
            plan.push(PairOp::Add);
        }
    }
    let mut plan = Vec::new();
    go(0, n, &mut plan);
    plan
}

/// numpy's float32 `add.reduce` of each lane over `a`'s rows, following `plan`
/// ([`pairwise_plan`] of `a.len()`). Not recursive, so it inlines into (and vectorises
/// with) the AVX2 block.
#[inline(always)]
fn pairwise_sum_lanes(plan: &[PairOp], a: &[Lanes]) -> Lanes {
    let mut stack = [[0f32; LANES]; 64];
    let mut depth = 0;
    for op in plan {
        match *op {
            PairOp::Leaf { start, len } => {
                stack[depth] = pairwise_leaf(&a[start..start + len]);
                depth += 1;
            }
            PairOp::Add => {
                depth -= 1;
                let b = stack[depth];
                let s = &mut stack[depth - 1];
                for l in 0..LANES {
                    s[l] += b[l];
                }
            }
        }
    }
    stack[0]
}

/// numpy's pairwise sum of at most 128 rows, per lane: eight interleaved accumulators,
/// plain loop below 8.
#[inline(always)]
fn pairwise_leaf(a: &[Lanes]) -> Lanes {
    let n = a.len();
    let mut res = [0f32; LANES];
    if n < 8 {
        for row in a {
            for l in 0..LANES {
                res[l] += row[l];
            }
        }
        return res;
    }
    let mut r = [[0f32; LANES]; 8];
    r.copy_from_slice(&a[..8]);
    let body = n - n % 8;
    for block in a[8..body].chunks_exact(8) {
        for (acc, row) in r.iter_mut().zip(block) {
            for l in 0..LANES {
                acc[l] += row[l];
            }
        }
    }
    for l in 0..LANES {
        res[l] = ((r[0][l] + r[1][l]) + (r[2][l] + r[3][l]))
            + ((r[4][l] + r[5][l]) + (r[6][l] + r[7][l]));
    }
    for row in &a[body..] {
        for l in 0..LANES {
            res[l] += row[l];
        }
    }
    res
}

/// numpy's float32 `add.reduce` over a contiguous axis (`pairwise_sum` in
/// `loops_utils.h`): eight interleaved accumulators for blocks of up to 128, split in
/// halves (rounded down to a multiple of 8) above that, plain loop below 8. The
/// reference the lane version is tested against.
#[cfg(test)]
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

/// `librosa.power_to_db(S, ref=1.0, amin)` of one row, clamped below at `floor`
/// (librosa's `top_db` floor is the whole clip's maximum minus `top_db`): [`to_db`],
/// element by element, in a loop that vectorises.
#[inline(always)]
fn power_to_db<const N: usize>(s: &[f64; N], amin: f64, floor: f64) -> [f64; N] {
    let mut db = [0.0; N];
    let mut normal = true;
    for (d, &v) in db.iter_mut().zip(s) {
        let x = v.max(amin);
        normal &= (f64::MIN_POSITIVE..=f64::MAX).contains(&x);
        *d = (10.0 * log10_normal(x)).max(floor);
    }
    if !normal {
        // A subnormal amin, or an infinite power: libm, where to_db would use it.
        for (d, &v) in db.iter_mut().zip(s) {
            *d = to_db(v, amin).max(floor);
        }
    }
    db
}

/// `10 log10(max(v, amin))`: [`log10_normal`] for normal values, libm otherwise.
fn to_db(v: f64, amin: f64) -> f64 {
    let x = v.max(amin);
    if (f64::MIN_POSITIVE..=f64::MAX).contains(&x) {
        10.0 * log10_normal(x)
    } else {
        10.0 * x.log10()
    }
}

/// `log10(x)` for a positive normal f64, within about an ulp of libm's, without a libm
/// call so loops over it vectorise: fdlibm's `__ieee754_log` on the mantissa reduced to
/// [1/sqrt 2, sqrt 2) and its `__ieee754_log10` combination with the exponent (its
/// constants written as their shortest round-trip decimals, `ivln10` being `LOG10_E`).
#[inline(always)]
fn log10_normal(x: f64) -> f64 {
    const SQRT2_BITS: u64 = 0x3ff6_a09e_667f_3bcd;
    const LG1: f64 = 0.6666666666666735;
    const LG2: f64 = 0.3999999999940942;
    const LG3: f64 = 0.2857142874366239;
    const LG4: f64 = 0.22222198432149784;
    const LG5: f64 = 0.1818357216161805;
    const LG6: f64 = 0.15313837699209373;
    const LG7: f64 = 0.14798198605116586;
    const LOG10_2HI: f64 = 0.30102999566361177;
    const LOG10_2LO: f64 = 3.694239077158931e-13;
    let bits = x.to_bits();
    let mant = (bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000;
    let above = mant > SQRT2_BITS;
    let mant = if above { mant - (1u64 << 52) } else { mant };
    let e = f64::from(((bits >> 52) as i32) - 1023 + i32::from(above));
    // ln(1 + f) = f - (hfsq - s (hfsq + R(s^2))), s = f / (2 + f).
    let f = f64::from_bits(mant) - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let hfsq = 0.5 * f * f;
    let ln_m = f - (hfsq - s * (hfsq + (t2 + t1)));
    (e * LOG10_2LO + std::f64::consts::LOG10_E * ln_m) + e * LOG10_2HI
}

/// The per-frame values of a signal before the dB conversions.
struct RawFeatures {
    frames: usize,
    flatness: Vec<f64>,
    zero_crossing_rate: Vec<f64>,
    centroid: Vec<f64>,
    bandwidth: Vec<f64>,
    rolloff: Vec<f64>,
    /// `melspectrogram`, float32 as librosa's.
    mel: Vec<[f32; N_MELS]>,
    peaks: Vec<[f64; N_CONTRAST]>,
    valleys: Vec<[f64; N_CONTRAST]>,
}

impl RawFeatures {
    fn keep(&mut self, keep: std::ops::Range<usize>) {
        self.frames = keep.len();
        for v in [
            &mut self.flatness,
            &mut self.zero_crossing_rate,
            &mut self.centroid,
            &mut self.bandwidth,
            &mut self.rolloff,
        ] {
            *v = v[keep.clone()].to_vec();
        }
        self.mel = self.mel[keep.clone()].to_vec();
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
        DbMaxima {
            mel: f64::NEG_INFINITY,
            peak: f64::NEG_INFINITY,
            valley: f64::NEG_INFINITY,
        }
    }
}

impl DbMaxima {
    fn include(self, raw: &RawFeatures, frames: std::ops::Range<usize>, amin: f64) -> Self {
        // dB is increasing in the power: the maximum's dB is the maximum dB.
        let mel = to_db(
            f64::from(max_f32(raw.mel[frames.clone()].as_flattened())),
            amin,
        );
        DbMaxima {
            mel: self.mel.max(mel),
            peak: self.peak.max(to_db(
                max_f64(raw.peaks[frames.clone()].as_flattened()),
                amin,
            )),
            valley: self
                .valley
                .max(to_db(max_f64(raw.valleys[frames].as_flattened()), amin)),
        }
    }
}

/// The largest of `v` (-inf if empty), in eight running maxima so the loop vectorises
/// (a single running `max` is one serial chain). Powers are never NaN.
fn max_f32(v: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; 8];
    let mut chunks = v.chunks_exact(8);
    for c in &mut chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    chunks
        .remainder()
        .iter()
        .chain(&m)
        .fold(f32::NEG_INFINITY, |a, &x| a.max(x))
}

/// [`max_f32`] for f64 values.
fn max_f64(v: &[f64]) -> f64 {
    let mut m = [f64::NEG_INFINITY; 4];
    let mut chunks = v.chunks_exact(4);
    for c in &mut chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    chunks
        .remainder()
        .iter()
        .chain(&m)
        .fold(f64::NEG_INFINITY, |a, &x| a.max(x))
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
        bands.push(ContrastBand {
            start: a,
            len,
            n_avg,
        });
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
    FeatureExtractor::new(config)?.extract(y)
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
        let (mut worst, mut worst_fma) = (0u32, 0u32);
        let mut x = 1e-10f32;
        while x < 1e9 {
            let want = f64::from(x).ln() as f32;
            worst = worst.max(want.to_bits().abs_diff(ln_normal_f32::<false>(x).to_bits()));
            worst_fma = worst_fma.max(want.to_bits().abs_diff(ln_normal_f32::<true>(x).to_bits()));
            x *= 1.000_37;
        }
        assert_eq!((worst, worst_fma), (0, 0), "off by ulp (mul-add, fused)");
        // Every float in [1/2, 2), where the result is smallest and ties matter most.
        let mut x = 0.5f32;
        while x < 2.0 {
            let want = (f64::from(x).ln() as f32).to_bits();
            assert_eq!(ln_normal_f32::<false>(x).to_bits(), want, "ln {x}");
            assert_eq!(ln_normal_f32::<true>(x).to_bits(), want, "ln {x} (fused)");
            x = f32::from_bits(x.to_bits() + 1);
        }
        assert_eq!(ln_normal_f32::<false>(1.0), 0.0);
        assert_eq!(ln_normal_f32::<true>(1.0), 0.0);
    }

    /// A tone sweep, noise and silence, long enough for several blocks and a partial one.
    fn mixed_signal(n: usize) -> Vec<f32> {
        let mut state = 7u32;
        (0..n)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let t = i as f32 / 22050.0;
                match i / 6000 {
                    0 => 0.8 * (2.0 * std::f32::consts::PI * (200.0 + 3000.0 * t) * t).sin(),
                    1 => 0.1 * noise,
                    2 => 0.0,
                    _ => 0.3 * noise + 0.2 * (2.0 * std::f32::consts::PI * 440.0 * t).sin(),
                }
            })
            .collect()
    }

    #[test]
    fn portable_and_simd_paths_agree() {
        let cfg = FeatureConfig::default();
        for n in [1, 1000, 22050 + 77, 40_000] {
            let y = mixed_signal(n);
            let fast = FeatureExtractor::new(&cfg).unwrap().compute(&y).unwrap();
            let slow = FeatureExtractor::new(&cfg)
                .unwrap()
                .portable()
                .compute(&y)
                .unwrap();
            assert_eq!(fast.frames, slow.frames);
            // Only the mel sums differ (fused multiply-add against its f64 emulation, which
            // differs on exact ties), and the MFCC through them.
            assert_eq!(fast.flatness, slow.flatness, "n = {n}");
            assert_eq!(fast.zero_crossing_rate, slow.zero_crossing_rate, "n = {n}");
            assert_eq!(fast.centroid, slow.centroid, "n = {n}");
            assert_eq!(fast.bandwidth, slow.bandwidth, "n = {n}");
            assert_eq!(fast.rolloff, slow.rolloff, "n = {n}");
            assert_eq!(fast.contrast, slow.contrast, "n = {n}");
            for (a, b) in fast.mel.iter().flatten().zip(slow.mel.iter().flatten()) {
                assert!(
                    (a - b).abs() <= f64::from(f32::EPSILON) * a.abs(),
                    "n = {n}: mel {a} vs {b}"
                );
            }
            for (a, b) in fast.mfcc.iter().flatten().zip(slow.mfcc.iter().flatten()) {
                assert!(
                    (a - b).abs() <= 1e-9 * (1.0 + a.abs()),
                    "n = {n}: mfcc {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn extract_is_compute_as_a_matrix() {
        let cfg = FeatureConfig::default();
        for n in [1, 1000, 22050 + 77, 40_000] {
            let y = mixed_signal(n);
            for portable in [false, true] {
                let mut ex = FeatureExtractor::new(&cfg).unwrap();
                if portable {
                    ex = ex.portable();
                }
                let direct = ex.extract(&y).unwrap();
                let via = ex.compute(&y).unwrap().to_matrix();
                assert_eq!(direct.frames, via.frames);
                assert!(direct.data == via.data, "n = {n}, portable: {portable}");
            }
        }
    }

    #[test]
    fn pairwise_sum_of_lanes_is_numpys_in_every_lane() {
        for n in [1, 7, 8, 9, 100, 128, 129, 300, 1025, 2049] {
            let rows: Vec<Lanes> = (0..n)
                .map(|i| {
                    std::array::from_fn(|l| ((i * 31 + l * 17) % 97) as f32 / (3.0 + l as f32))
                })
                .collect();
            let got = pairwise_sum_lanes(&pairwise_plan(n), &rows);
            for l in 0..LANES {
                let column: Vec<f32> = rows.iter().map(|r| r[l]).collect();
                assert_eq!(
                    got[l].to_bits(),
                    pairwise_sum_f32(&column).to_bits(),
                    "n = {n}, lane {l}"
                );
            }
        }
    }

    #[test]
    fn fast_log10_is_within_two_ulp_of_libm() {
        let mut worst = 0f64;
        let mut x = 1e-12f64;
        while x < 1e39 {
            for y in [
                x,
                f64::from_bits(x.to_bits() + 1),
                1.0 + (x - x.floor()) * 1e-9,
            ] {
                let (want, got) = (y.log10(), log10_normal(y));
                worst = worst.max((want - got).abs() / (want.abs().max(1e-300) * f64::EPSILON));
            }
            x *= 1.000_37;
        }
        assert!(worst <= 2.0, "off by {worst} eps");
        assert_eq!(log10_normal(1.0), 0.0);
        assert_eq!(log10_normal(1000.0), 3.0);
        // Subnormal and infinite powers take libm.
        assert_eq!(to_db(1e-310, 1e-320), 10.0 * 1e-310f64.log10());
        assert_eq!(to_db(f64::INFINITY, 1e-10), f64::INFINITY);
        assert_eq!(
            power_to_db(&[f64::INFINITY, 1e-310, 10.0], 1e-320, f64::NEG_INFINITY),
            [f64::INFINITY, 10.0 * 1e-310f64.log10(), 10.0]
        );
        assert_eq!(power_to_db(&[1e-310, 10.0], 1e-320, -500.0), [-500.0, 10.0]);
    }

    #[test]
    fn first_non_finite_finds_the_first_across_blocks() {
        let mut y = vec![0.5f32; 1000];
        assert_eq!(first_non_finite(&y), None);
        for (i, bad) in [
            (999, f32::NAN),
            (512, f32::INFINITY),
            (256, f32::NAN),
            (255, f32::NEG_INFINITY),
            (0, f32::NAN),
        ] {
            y[i] = bad;
            assert_eq!(first_non_finite(&y), Some(i));
        }
        assert_eq!(first_non_finite(&[]), None);
    }

    #[test]
    fn running_maxima_match_a_plain_fold() {
        for n in [0, 1, 7, 8, 9, 100, 1025] {
            let v: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1031) as f32 * 0.25).collect();
            assert_eq!(
                max_f32(&v),
                v.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x)),
                "n = {n}"
            );
            let w: Vec<f64> = v.iter().map(|&x| f64::from(x) - 3.0).collect();
            assert_eq!(
                max_f64(&w),
                w.iter().fold(f64::NEG_INFINITY, |a, &x| a.max(x)),
                "n = {n}"
            );
        }
    }

    #[test]
    fn extreme_means_match_sorting() {
        // Every lane its own permutation, with repeated values.
        let rows: Vec<Lanes> = (0..431)
            .map(|i| {
                std::array::from_fn(|l| {
                    ((i * (7919 + 2 * l) + 13 * l) % 433 / (1 + l % 3)) as f32 * 0.5
                })
            })
            .collect();
        let mut select = Vec::new();
        for k in [1, 2, 3, 6, 9, 16, 17, 40] {
            let (lo, hi) = extreme_means_lanes(&rows, k, &mut select);
            for l in 0..LANES {
                let mut sorted: Vec<f32> = rows.iter().map(|r| r[l]).collect();
                sorted.sort_by(f32::total_cmp);
                let want_lo: f64 =
                    sorted[..k].iter().map(|&x| f64::from(x)).sum::<f64>() / k as f64;
                let want_hi: f64 = sorted[431 - k..]
                    .iter()
                    .rev()
                    .map(|&x| f64::from(x))
                    .sum::<f64>()
                    / k as f64;
                assert_eq!((lo[l], hi[l]), (want_lo, want_hi), "k = {k}, lane {l}");
            }
        }
    }
}
