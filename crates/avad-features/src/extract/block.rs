//! The per-frame features of [`LANES`] frames at once, side by side.

use super::logarithm::ln_normal_f32;
use super::pairwise::pairwise_sum_lanes;
use super::raw::RawFeatures;
use super::reduce::{extreme_means_lanes, sum4_lanes};
use super::{FeatureExtractor, Lanes, HALF, LANES};
use crate::error::{FeatureError, Result};
use crate::{N_CONTRAST, N_MELS};

impl FeatureExtractor {
    /// Every per-frame feature of frames `t .. t + n` (`n <= LANES`), computed side by
    /// side: each frame's spectrum goes into one lane of the bin-major block, and every
    /// per-frame sum, chain and selection then runs over the bins once for all lanes, in
    /// each lane exactly the order the per-frame definition uses (so a lane's result is
    /// what that frame alone would give, bit for bit). Lanes past `n` hold zeros and are
    /// dropped. `FMA`: the CPU has fused multiply-add.
    #[inline(always)]
    pub(super) fn block<const FMA: bool>(
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
    pub(super) unsafe fn block_avx2(
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
