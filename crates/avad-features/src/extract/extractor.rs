//! [`FeatureExtractor`]: building the tables, and a clip's frames to features.

use realfft::RealFftPlanner;

use super::bands::contrast_bands;
use super::logarithm::power_to_db;
use super::pairwise::pairwise_plan;
use super::raw::RawFeatures;
use super::{first_non_finite, DbMaxima, FeatureExtractor, Features, LANES};
use crate::config::FeatureConfig;
use crate::error::{FeatureError, Result};
use crate::filters::{dct_ortho_matrix, fft_frequencies, hann_window, mel_filterbank, SparseMel};
use crate::matrix::FeatureMatrix;
use crate::zcr::zero_crossing_rate;
use crate::{N_CONTRAST, N_FEATURES, N_MELS, N_MFCC};

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
}
