//! Running the stages: f64 convolution, by FFT (overlap-save, as libsoxr's `dft_stage`)
//! where a stage runs at the input's rate with a long filter, else in direct form.

use realfft::RealFftPlanner;

use super::{Step, MULT32};

/// Filters at least this long run by FFT in a stage at the input's rate (`l` 1).
const FFT_TAPS: usize = 64;

/// Dot product written so LLVM keeps eight independent f64 lanes (it will
/// not reassociate a single float accumulator on its own).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut acc = [0.0f64; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ar, br) = (ac.remainder(), bc.remainder());
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ar.iter().zip(br) {
        tail += x * y;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `filter[q]` meets `x[first + q]`; samples outside `x` are zero.
#[inline]
fn windowed_dot(filter: &[f64], x: &[f64], first: i64) -> f64 {
    let q0 = (-first).max(0);
    let q1 = (filter.len() as i64).min(x.len() as i64 - first);
    if q1 <= q0 {
        return 0.0;
    }
    let (q0, q1) = (q0 as usize, q1 as usize);
    let xi0 = (first + q0 as i64) as usize;
    dot(&filter[q0..q1], &x[xi0..xi0 + (q1 - q0)])
}

pub(super) fn fir(x: &[f64], h: &[f64], l: usize, m: usize, n_out: usize) -> Vec<f64> {
    if l == 1 && h.len() >= FFT_TAPS && n_out > 0 {
        return fir_fft(x, h, m, n_out);
    }
    fir_direct(x, h, l, m, n_out)
}

/// [`fir`] in direct form.
pub(super) fn fir_direct(x: &[f64], h: &[f64], l: usize, m: usize, n_out: usize) -> Vec<f64> {
    let centre = (h.len() / 2) as i64;
    let l_i = l as i64;
    // Polyphase split: in the l-times up-sampled signal, tap k meets index
    // u + k - centre, which holds an input sample only when that is a
    // multiple of l, so each output uses one contiguous sub-filter.
    let sub: Vec<Vec<f64>> = (0..l)
        .map(|p| h.iter().skip(p).step_by(l).copied().collect())
        .collect();
    let mut out = Vec::with_capacity(n_out);
    for j in 0..n_out as i64 {
        let u = j * m as i64;
        let p = (centre - u).rem_euclid(l_i);
        let first = (u + p - centre) / l_i;
        out.push(windowed_dot(&sub[p as usize], x, first));
    }
    out
}

/// [`fir`] for `l` 1 by overlap-save FFT convolution: output `j` is
/// `Σ_q h[q] x[j m + q − centre]`, the same sum as the direct form with another rounding
/// (f64 throughout, so the f32 output keeps its bits but for a rare last one).
pub(super) fn fir_fft(x: &[f64], h: &[f64], m: usize, n_out: usize) -> Vec<f64> {
    let taps = h.len();
    let centre = taps / 2;
    // c = x * reversed(h), so that full-rate output u is c[u + taps − 1 − centre].
    let offset = taps - 1 - centre;
    let size = (4 * taps).next_power_of_two().max(4096);
    let advance = size - taps + 1;
    let mut planner = RealFftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(size);
    let inverse = planner.plan_fft_inverse(size);
    let mut spectrum = forward.make_output_vec();
    let mut filter = forward.make_input_vec();
    for (k, &tap) in h.iter().rev().enumerate() {
        // The inverse transform is unnormalised: fold its 1/size in here.
        filter[k] = tap / size as f64;
    }
    let mut filter_spectrum = forward.make_output_vec();
    let mut scratch = forward.make_scratch_vec();
    forward
        .process_with_scratch(&mut filter, &mut filter_spectrum, &mut scratch)
        .expect("FFT sizes are the planner's own");
    let mut inverse_scratch = inverse.make_scratch_vec();
    let mut segment = forward.make_input_vec();
    let mut block = inverse.make_output_vec();
    let x_at = |i: i64| -> f64 {
        if i < 0 || i as usize >= x.len() {
            0.0
        } else {
            x[i as usize]
        }
    };
    // c over the full-rate range that the outputs read; output j is c[first + j m].
    let first = offset;
    let last = (n_out - 1) * m + offset;
    let mut out = Vec::with_capacity(n_out);
    let mut start = first;
    while start <= last {
        // segment[i] = x[start − (taps − 1) + i]; its circular convolution with the filter
        // holds c[start + i − (taps − 1)] for i ≥ taps − 1.
        let base = start as i64 - (taps as i64 - 1);
        if base >= 0 && base as usize + size <= x.len() {
            segment.copy_from_slice(&x[base as usize..base as usize + size]);
        } else {
            for (i, s) in segment.iter_mut().enumerate() {
                *s = x_at(base + i as i64);
            }
        }
        forward
            .process_with_scratch(&mut segment, &mut spectrum, &mut scratch)
            .expect("FFT sizes are the planner's own");
        for (s, f) in spectrum.iter_mut().zip(&filter_spectrum) {
            *s *= f;
        }
        // The DC and Nyquist bins of a real signal's spectrum are real; rounding must not
        // leave an imaginary part there for the inverse to refuse.
        spectrum[0].im = 0.0;
        if let Some(nyquist) = spectrum.last_mut() {
            nyquist.im = 0.0;
        }
        inverse
            .process_with_scratch(&mut spectrum, &mut block, &mut inverse_scratch)
            .expect("FFT sizes are the planner's own");
        let take = advance.min(last + 1 - start);
        // The block holds c[start..start + take]; the first output in it is the first
        // full-rate index at or after `start` that lies on the output grid.
        let skip = (m - (start - first) % m) % m;
        let kept = &block[taps - 1 + skip..taps - 1 + take];
        if m == 1 {
            out.extend_from_slice(kept);
        } else {
            out.extend(kept.iter().step_by(m).copied());
        }
        start += advance;
    }
    out
}

#[allow(clippy::too_many_arguments)]
pub(super) fn poly(
    x: &[f64],
    h_ext: &[f64],
    n: usize,
    phases: usize,
    order: usize,
    step: &Step,
    start: f64,
    n_out: usize,
) -> Vec<f64> {
    let preload = ((n - 1) >> 1) as i64;
    let tap = |idx: i64| -> f64 {
        if idx < 0 {
            0.0
        } else {
            h_ext.get(idx as usize).copied().unwrap_or(0.0)
        }
    };
    // Per phase and input offset jj, the coefficients of the polynomial in
    // `frac` that libsoxr's prepare_poly_fir_coefs fits through
    // neighbouring taps (order 0: the tap itself), laid out
    // [phase][power][jj] so each power is a contiguous filter.
    let width = order + 1;
    let mut table = vec![0.0f64; phases * width * n];
    for phase in 0..phases {
        for jj in 0..n {
            let base = ((n - 1 - jj) * phases + phase) as i64;
            let coefs: [f64; 4] = match order {
                0 => [tap(base), 0.0, 0.0, 0.0],
                1 => {
                    let (f0, f1) = (tap(base), tap(base + 1));
                    [f0, f1 - f0, 0.0, 0.0]
                }
                2 => {
                    let (f0, f1, f2) = (tap(base), tap(base + 1), tap(base + 2));
                    let c = 0.5 * (f2 + f0) - f1;
                    let b = f1 - c - f0;
                    [f0, b, c, 0.0]
                }
                _ => {
                    let (fm1, f0, f1, f2) =
                        (tap(base - 1), tap(base), tap(base + 1), tap(base + 2));
                    let c = 0.5 * (f1 + fm1) - f0;
                    let d = (1.0 / 6.0) * (f2 - f1 + fm1 - f0 - 4.0 * c);
                    let b = f1 - f0 - d - c;
                    [f0, b, c, d]
                }
            };
            for (pw, &c) in coefs.iter().take(width).enumerate() {
                table[(phase * width + pw) * n + jj] = c;
            }
        }
    }
    if order == 0 {
        if let Step::Rational { at0, l, m } = *step {
            let stage = Order0 {
                x,
                table: &table,
                n,
                preload,
                step: (at0, l, m),
            };
            return rational_order0(simd::Lanes::detect(), &stage, n_out);
        }
    }
    let mut out = Vec::with_capacity(n_out);
    for j in 0..n_out as u64 {
        let (div, phase, frac) = match step {
            Step::Rational { at0, l, m } => {
                let at = at0 + j * m;
                ((at / l) as i64, (at % l) as usize, 0.0)
            }
            Step::Fixed { whole } => {
                let at = (start * MULT32) as u64 + j * whole;
                let int = (at >> 32) as i64;
                let f = (at & 0xffff_ffff) as f64 / MULT32 * phases as f64;
                let ph = f as usize;
                (int, ph.min(phases - 1), f - ph as f64)
            }
        };
        let first = div - preload;
        let rows = &table[phase * width * n..(phase + 1) * width * n];
        // Horner over the per-power dot products equals summing the
        // per-tap polynomials.
        let mut acc = 0.0;
        for pw in (0..width).rev() {
            acc = acc * frac + windowed_dot(&rows[pw * n..(pw + 1) * n], x, first);
        }
        out.push(acc);
    }
    out
}

/// [`poly`]'s inputs for order 0 and a rational step: output `j` is one `n`-tap dot
/// product of phase `(at0 + j m) mod l` of `table` with `x` from `(at0 + j m) / l −
/// preload` (zero outside `x`); `step` is `(at0, l, m)`.
pub(super) struct Order0<'a> {
    pub(super) x: &'a [f64],
    pub(super) table: &'a [f64],
    pub(super) n: usize,
    pub(super) preload: i64,
    pub(super) step: (u64, u64, u64),
}

/// The first `n_out` outputs of `stage`. Where the window lies inside `x` the dot runs on
/// the AVX-512 or AVX2 lanes `lanes` names when the CPU has them (another summation order
/// than [`dot`]'s, so the f64 sums move in their last bits); at the signal's ends, and on
/// other CPUs, it is [`windowed_dot`].
pub(super) fn rational_order0(lanes: simd::Lanes, stage: &Order0, n_out: usize) -> Vec<f64> {
    match lanes {
        // SAFETY: the guards check the features each function enables.
        #[cfg(target_arch = "x86_64")]
        simd::Lanes::Avx2
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") =>
        unsafe { simd::order0_avx2(stage, n_out) },
        #[cfg(target_arch = "x86_64")]
        simd::Lanes::Avx512 if std::is_x86_feature_detected!("avx512f") => unsafe {
            simd::order0_avx512(stage, n_out)
        },
        _ => stage.outputs(n_out, dot),
    }
}

impl Order0<'_> {
    /// The loop of [`rational_order0`] with `inside_dot` for the windows inside `x`.
    #[inline(always)]
    fn outputs(&self, n_out: usize, inside_dot: impl Fn(&[f64], &[f64]) -> f64) -> Vec<f64> {
        let Order0 {
            x,
            table,
            n,
            preload,
            step: (at0, l, m),
        } = *self;
        let mut out = Vec::with_capacity(n_out);
        // at = at0 + j m, stepped as its quotient and remainder by l (no division per output).
        let (step_div, step_rem) = ((m / l) as i64, (m % l) as usize);
        let (mut div, mut phase) = ((at0 / l) as i64, (at0 % l) as usize);
        for _ in 0..n_out {
            let first = div - preload;
            let row = &table[phase * n..(phase + 1) * n];
            div += step_div;
            phase += step_rem;
            if phase >= l as usize {
                phase -= l as usize;
                div += 1;
            }
            out.push(if first >= 0 && first as usize + n <= x.len() {
                inside_dot(row, &x[first as usize..first as usize + n])
            } else {
                windowed_dot(row, x, first)
            });
        }
        out
    }
}

pub(super) mod simd {
    /// The vector unit for f64 dot products.
    #[derive(Clone, Copy, Debug)]
    pub(in super::super) enum Lanes {
        Portable,
        #[cfg(target_arch = "x86_64")]
        Avx2,
        #[cfg(target_arch = "x86_64")]
        Avx512,
    }

    impl Lanes {
        /// The widest the CPU offers.
        pub(in super::super) fn detect() -> Lanes {
            #[cfg(target_arch = "x86_64")]
            {
                if std::is_x86_feature_detected!("avx512f") {
                    return Lanes::Avx512;
                }
                if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                    return Lanes::Avx2;
                }
            }
            Lanes::Portable
        }
    }

    #[cfg(target_arch = "x86_64")]
    pub(super) use x86::{order0_avx2, order0_avx512};

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use std::arch::x86_64::*;

        use super::super::Order0;

        /// [`Order0::outputs`] with AVX-512 dot products.
        ///
        /// # Safety
        /// The CPU must have AVX-512F.
        #[target_feature(enable = "avx512f")]
        pub(in super::super) unsafe fn order0_avx512(stage: &Order0, n_out: usize) -> Vec<f64> {
            // SAFETY: this function's caller guarantees AVX-512F.
            stage.outputs(n_out, |a, b| unsafe { dot_avx512(a, b) })
        }

        /// [`Order0::outputs`] with AVX2 dot products.
        ///
        /// # Safety
        /// The CPU must have AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        pub(in super::super) unsafe fn order0_avx2(stage: &Order0, n_out: usize) -> Vec<f64> {
            // SAFETY: this function's caller guarantees AVX2 and FMA.
            stage.outputs(n_out, |a, b| unsafe { dot_avx2(a, b) })
        }

        /// `Σ a[i] b[i]` over the shorter slice's length, eight lanes at a time.
        ///
        /// # Safety
        /// The CPU must have AVX-512F.
        #[inline]
        #[target_feature(enable = "avx512f")]
        unsafe fn dot_avx512(a: &[f64], b: &[f64]) -> f64 {
            let len = a.len().min(b.len());
            let mut acc = _mm512_setzero_pd();
            let mut i = 0;
            while i + 8 <= len {
                // SAFETY: i + 8 ≤ len for both slices.
                let (va, vb) = unsafe {
                    (
                        _mm512_loadu_pd(a.as_ptr().add(i)),
                        _mm512_loadu_pd(b.as_ptr().add(i)),
                    )
                };
                acc = _mm512_fmadd_pd(va, vb, acc);
                i += 8;
            }
            if i < len {
                let mask: __mmask8 = (1u8 << (len - i)) - 1;
                // SAFETY: the mask reads only the len − i elements left in each slice.
                let (va, vb) = unsafe {
                    (
                        _mm512_maskz_loadu_pd(mask, a.as_ptr().add(i)),
                        _mm512_maskz_loadu_pd(mask, b.as_ptr().add(i)),
                    )
                };
                acc = _mm512_fmadd_pd(va, vb, acc);
            }
            _mm512_reduce_add_pd(acc)
        }

        /// `Σ a[i] b[i]` over the shorter slice's length, four lanes at a time.
        ///
        /// # Safety
        /// The CPU must have AVX2 and FMA.
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn dot_avx2(a: &[f64], b: &[f64]) -> f64 {
            let len = a.len().min(b.len());
            let (mut acc0, mut acc1) = (_mm256_setzero_pd(), _mm256_setzero_pd());
            let mut i = 0;
            while i + 8 <= len {
                // SAFETY: i + 8 ≤ len for both slices.
                unsafe {
                    acc0 = _mm256_fmadd_pd(
                        _mm256_loadu_pd(a.as_ptr().add(i)),
                        _mm256_loadu_pd(b.as_ptr().add(i)),
                        acc0,
                    );
                    acc1 = _mm256_fmadd_pd(
                        _mm256_loadu_pd(a.as_ptr().add(i + 4)),
                        _mm256_loadu_pd(b.as_ptr().add(i + 4)),
                        acc1,
                    );
                }
                i += 8;
            }
            if i + 4 <= len {
                // SAFETY: i + 4 ≤ len for both slices.
                unsafe {
                    acc0 = _mm256_fmadd_pd(
                        _mm256_loadu_pd(a.as_ptr().add(i)),
                        _mm256_loadu_pd(b.as_ptr().add(i)),
                        acc0,
                    );
                }
                i += 4;
            }
            let acc = _mm256_add_pd(acc0, acc1);
            let pair = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
            let mut sum = _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
            while i < len {
                sum = a[i].mul_add(b[i], sum);
                i += 1;
            }
            sum
        }
    }
}
