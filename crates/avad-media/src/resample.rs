//! Sample-rate conversion, as `librosa.resample(res_type="soxr_hq")` does it.
//!
//! librosa 0.11 resamples with python-soxr's `resample(x, in, out, "HQ")`,
//! i.e. libsoxr's `SOXR_HQ` recipe (20-bit precision, linear phase, passband
//! end `1 - 0.05 / to_3dB(120.4 dB)` ≈ 0.913 of the lower Nyquist frequency,
//! stopband from the Nyquist frequency, rolloff "small"), then pads or trims the
//! result to `ceil(n * to / from)` samples (`librosa.util.fix_length`).
//!
//! The default build is a pure-Rust port of libsoxr 0.1.3's constant-rate
//! engine (`cr.c`, `filter.c`): the same stage plan, the same Kaiser-windowed
//! sinc designs (same passband, stopband, attenuation budget, tap counts and
//! phase counts) and the same delay compensation (output sample `j` sits at
//! input time `j * from / to`). It differs from libsoxr only in arithmetic
//! (direct-form f64 convolution here, f32 FFT convolution there) and, for
//! decimation by 4 or more, in the half-band pre-stages, which libsoxr takes
//! from fixed coefficient tables and this port designs with the same
//! attenuation. With the `soxr` cargo feature the system libsoxr is called
//! exactly as python-soxr calls it.

/// Resample mono `samples` from `from` Hz to `to` Hz like
/// `librosa.resample(y, orig_sr=from, target_sr=to, res_type="soxr_hq")`.
///
/// The result has exactly `ceil(n * to / from)` samples: libsoxr yields
/// `round(n * to / from)` of them and librosa zero-pads the rest. Equal rates,
/// an empty input or a zero rate return the input unchanged.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || from == 0 || to == 0 || samples.is_empty() {
        return samples.to_vec();
    }
    let n = samples.len();
    let produced = soxr_output_len(n, from, to);
    let mut out = resample_soxr_hq(samples, from, to, produced);
    out.resize(librosa_output_len(n, from, to), 0.0);
    out
}

/// [`resample`] for a signal that arrives in pieces (a live stream): the output is
/// emitted in blocks of fixed position, each resampled from its own input segment with a
/// margin of context on both sides, so it equals the whole signal's resampling to within
/// the filters' rounding, and does not depend on how the input was cut.
#[derive(Debug)]
pub struct StreamResampler {
    from: u32,
    to: u32,
    /// Input samples from absolute index `base` on.
    input: Vec<f32>,
    base: usize,
    received: usize,
    /// The next output sample to emit.
    next: usize,
    finished: bool,
}

impl StreamResampler {
    /// Output samples per block.
    pub const BLOCK: usize = 2048;
    /// Output samples of context resampled on each side of a block and dropped: more
    /// than the longest filter of the HQ recipe reaches.
    pub const MARGIN: usize = 2048;

    pub fn new(from: u32, to: u32) -> Self {
        StreamResampler {
            from,
            to,
            input: Vec::new(),
            base: 0,
            received: 0,
            next: 0,
            finished: false,
        }
    }

    /// Input samples held for blocks still to come (bounded: memory stays flat).
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    fn passthrough(&self) -> bool {
        self.from == self.to || self.from == 0 || self.to == 0
    }

    /// Input samples per `step` output samples, both integers: segments start on
    /// multiples of the input step so that their output grid is the whole signal's.
    fn steps(&self) -> (usize, usize) {
        let g = gcd(self.from as usize, self.to as usize);
        (self.from as usize / g, self.to as usize / g)
    }

    /// The input index of output index `o` (rounded up).
    fn input_at(&self, o: usize) -> usize {
        (o as u128 * self.from as u128).div_ceil(self.to as u128) as usize
    }

    /// Adds input samples and returns the output that became final.
    pub fn push(&mut self, samples: &[f32]) -> Vec<f32> {
        if self.passthrough() {
            self.received += samples.len();
            return samples.to_vec();
        }
        self.input.extend_from_slice(samples);
        self.received += samples.len();
        let mut out = Vec::new();
        loop {
            let end = self.input_at(self.next + Self::BLOCK + Self::MARGIN);
            if end > self.received {
                break;
            }
            out.extend(self.segment(end, Self::BLOCK));
        }
        out
    }

    /// The end of the input: the rest of the output, to librosa's length
    /// `ceil(n * to / from)` in all.
    pub fn finish(&mut self) -> Vec<f32> {
        if self.passthrough() || self.finished {
            self.finished = true;
            return Vec::new();
        }
        self.finished = true;
        let total = librosa_output_len(self.received, self.from, self.to);
        if total <= self.next {
            return Vec::new();
        }
        self.segment(self.received, total - self.next)
    }

    /// Output `next .. next + count`, resampled from input up to `end`.
    fn segment(&mut self, end: usize, count: usize) -> Vec<f32> {
        let (step_in, step_out) = self.steps();
        let start_out = self.next.saturating_sub(Self::MARGIN) / step_out * step_out;
        let start = start_out / step_out * step_in;
        let y = resample(
            &self.input[start - self.base..end - self.base],
            self.from,
            self.to,
        );
        let skip = self.next - start_out;
        let mut block: Vec<f32> = y.iter().skip(skip).take(count).copied().collect();
        block.resize(count, 0.0);
        self.next += count;
        let keep = (self.next.saturating_sub(Self::MARGIN) / step_out * step_in).min(self.received);
        if keep > self.base {
            self.input.drain(..keep - self.base);
            self.base = keep;
        }
        block
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}

/// `ceil(n * to / from)`: the length librosa fixes its output to.
pub fn librosa_output_len(n: usize, from: u32, to: u32) -> usize {
    if from == 0 {
        return n;
    }
    let num = n as u128 * to as u128;
    num.div_ceil(from as u128) as usize
}

/// What libsoxr emits once flushed: `(size_t)(n / io_ratio + .5)` (`_soxr_flush`).
fn soxr_output_len(n: usize, from: u32, to: u32) -> usize {
    let io_ratio = from as f64 / to as f64;
    (n as f64 / io_ratio + 0.5) as usize
}

#[cfg(feature = "soxr")]
fn resample_soxr_hq(samples: &[f32], from: u32, to: u32, produced: usize) -> Vec<f32> {
    match system_soxr::resample(samples, from, to) {
        Ok(mut y) => {
            y.truncate(produced);
            y
        }
        // libsoxr refuses only parameters this crate never passes (rates are
        // positive, the recipe fixed); fall back to the port rather than fail.
        Err(_) => port::resample(samples, from as f64 / to as f64, produced),
    }
}

#[cfg(not(feature = "soxr"))]
fn resample_soxr_hq(samples: &[f32], from: u32, to: u32, produced: usize) -> Vec<f32> {
    port::resample(samples, from as f64 / to as f64, produced)
}

/// Resample with the pure-Rust port even in a `soxr` build (for comparisons).
pub fn resample_pure_rust(samples: &[f32], from: u32, to: u32) -> Vec<f32> {
    if from == to || from == 0 || to == 0 || samples.is_empty() {
        return samples.to_vec();
    }
    let n = samples.len();
    let mut out = port::resample(
        samples,
        from as f64 / to as f64,
        soxr_output_len(n, from, to),
    );
    out.resize(librosa_output_len(n, from, to), 0.0);
    out
}

#[cfg(feature = "soxr")]
mod system_soxr {
    use soxr::format::Mono;
    use soxr::params::{QualityFlags, QualityRecipe, QualitySpec, Rolloff, RuntimeSpec};
    use soxr::Soxr;

    /// python-soxr's `csoxr_divide_proc`: `soxr_quality_spec(SOXR_HQ, 0)`,
    /// default runtime spec, float32 in and out, input fed in chunks of
    /// `48000 * in / out` frames, then one flush.
    pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, soxr::Error> {
        let (from_f, to_f) = (from as f64, to as f64);
        let quality =
            QualitySpec::configure(QualityRecipe::Bits20, Rolloff::Small, QualityFlags::empty());
        let mut soxr =
            Soxr::<Mono<f32>>::new_with_params(from_f, to_f, quality, RuntimeSpec::new(1))?;
        let olen = (samples.len() as f64 * to_f / from_f) as usize + 1;
        let mut out = vec![0.0f32; olen + 16];
        let chunk_len = ((48000.0 * from_f / to_f) as usize).max(1);
        let mut pos = 0;
        for chunk in samples.chunks(chunk_len) {
            let mut fed = 0;
            // The crate passes `idone`, so libsoxr may take less than the whole
            // chunk when the output window is short: feed until it is taken.
            while fed < chunk.len() {
                let window = out.get_mut(pos..).unwrap_or_default();
                let done = soxr.process(&chunk[fed..], window)?;
                fed += done.input_frames;
                pos += done.output_frames;
                if done.input_frames == 0 && done.output_frames == 0 {
                    out.resize(out.len() + chunk_len, 0.0);
                }
            }
        }
        loop {
            if pos == out.len() {
                out.resize(out.len() + 1024, 0.0);
            }
            let window = out.get_mut(pos..).unwrap_or_default();
            let done = soxr.drain(window)?;
            if done == 0 {
                break;
            }
            pos += done;
        }
        out.truncate(pos);
        Ok(out)
    }
}

/// Port of libsoxr 0.1.3's constant-rate engine, `SOXR_HQ` recipe only.
mod port {
    use std::f64::consts::PI;

    const MULT32: f64 = 65536.0 * 65536.0;

    fn linear_to_db(x: f64) -> f64 {
        x.log10() * 20.0
    }

    // filter.c: empirical fits of the Kaiser-windowed sinc's frequency response.
    fn sine_phi(x: f64) -> f64 {
        ((2.0517e-07 * x - 1.1303e-04) * x + 0.023154) * x + 0.55924
    }
    fn sine_pow(x: f64) -> f64 {
        0.5f64.ln() / (x * 0.5).sin().ln()
    }

    /// `lsx_inv_f_resp`: normalised frequency where the response has dropped by `drop` dB.
    fn inv_f_resp(drop: f64, a: f64) -> f64 {
        let x = sine_phi(a);
        let drop = (drop * (std::f64::consts::LN_10 * 0.05)).exp();
        let s = if drop > 0.5 { 1.0 - drop } else { drop };
        let x = s.powf(1.0 / sine_pow(x)).asin() / x;
        if drop > 0.5 {
            x
        } else {
            1.0 - x
        }
    }

    fn to_3db(a: f64) -> f64 {
        1.0 - inv_f_resp(-3.0, a)
    }

    /// Modified Bessel function of the first kind, order 0 (power series; converges
    /// to double precision for the betas used here, < 20).
    fn bessel_i0(x: f64) -> f64 {
        let q = x * x * 0.25;
        let (mut sum, mut term, mut k) = (1.0f64, 1.0f64, 1.0f64);
        loop {
            term *= q / (k * k);
            sum += term;
            if term < sum * 1e-17 {
                return sum;
            }
            k += 1.0;
        }
    }

    /// `lsx_kaiser_beta`.
    fn kaiser_beta(att: f64, tr_bw: f64) -> f64 {
        if att >= 60.0 {
            const COEFS: [[f64; 4]; 10] = [
                [-6.784957e-10, 1.02856e-05, 0.1087556, -0.8988365 + 0.001],
                [-6.897885e-10, 1.027433e-05, 0.10876, -0.8994658 + 0.002],
                [-1.000683e-09, 1.030092e-05, 0.1087677, -0.9007898 + 0.003],
                [-3.654474e-10, 1.040631e-05, 0.1087085, -0.8977766 + 0.006],
                [8.106988e-09, 6.983091e-06, 0.1091387, -0.9172048 + 0.015],
                [9.519571e-09, 7.272678e-06, 0.1090068, -0.9140768 + 0.025],
                [-5.626821e-09, 1.342186e-05, 0.1083999, -0.9065452 + 0.05],
                [-9.965946e-08, 5.073548e-05, 0.1040967, -0.7672778 + 0.085],
                [1.604808e-07, -5.856462e-05, 0.1185998, -1.34824 + 0.1],
                [-1.511964e-07, 6.363034e-05, 0.1064627, -0.9876665 + 0.18],
            ];
            let realm = (tr_bw / 0.0005).ln() / 2f64.ln();
            let last = COEFS.len() as i64 - 1;
            let c0 = COEFS[(realm as i64).clamp(0, last) as usize];
            let c1 = COEFS[(1 + realm as i64).clamp(0, last) as usize];
            let b0 = ((c0[0] * att + c0[1]) * att + c0[2]) * att + c0[3];
            let b1 = ((c1[0] * att + c1[1]) * att + c1[2]) * att + c1[3];
            return b0 + (b1 - b0) * (realm - (realm as i64) as f64);
        }
        if att > 50.0 {
            return 0.1102 * (att - 8.7);
        }
        if att > 20.96 {
            return 0.58417 * (att - 20.96).powf(0.4) + 0.07886 * (att - 20.96);
        }
        0.0
    }

    /// `lsx_make_lpf`: Kaiser-windowed sinc, cut-off `fc` (1 = Nyquist).
    fn make_lpf(num_taps: usize, fc: f64, beta: f64, rho: f64, scale: f64) -> Vec<f64> {
        let m = num_taps.saturating_sub(1);
        let mut h = vec![0.0; num_taps];
        let mult = scale / bessel_i0(beta);
        let mult1 = 1.0 / (0.5 * m as f64 + rho);
        for i in 0..=m / 2 {
            let z = i as f64 - 0.5 * m as f64;
            let x = z * PI;
            let y = z * mult1;
            let mut v = if x != 0.0 { (fc * x).sin() / x } else { fc };
            v *= bessel_i0(beta * (1.0 - y * y).sqrt()) * mult;
            h[i] = v;
            h[m - i] = v;
        }
        h
    }

    /// `lsx_design_lpf`. `k > 0`: number of phases; `k < 0`: taps ≡ 1 (mod -k).
    /// `num_taps == 0` estimates the length. Returns the taps (empty when `fn_ < 0`,
    /// which libsoxr uses to ask only for the length) and the tap count.
    fn design_lpf(
        fp: f64,
        fs: f64,
        fn_: f64,
        att: f64,
        num_taps: usize,
        k: i64,
    ) -> (Vec<f64>, usize) {
        let phases = k.max(1) as f64;
        let modulo = (-k).max(1) as usize;
        let rho = if phases == 1.0 {
            0.5
        } else if att < 120.0 {
            0.63
        } else {
            0.75
        };
        let (fp, mut fs) = (fp / fn_.abs(), fs / fn_.abs());
        let mut tr_bw = 0.5 * (fs - fp);
        tr_bw /= phases;
        fs /= phases;
        tr_bw = tr_bw.min(0.5 * fs);
        let fc = fs - tr_bw;
        let beta = kaiser_beta(att, tr_bw * 0.5 / fc);
        let att_k = if att < 60.0 {
            (att - 7.95) / (2.285 * PI * 2.0)
        } else {
            ((0.0007528358 - 1.577737e-05 * beta) * beta + 0.6248022) * beta + 0.06186902
        };
        let mut n = num_taps;
        if n == 0 {
            let est = (att_k / tr_bw + 1.0).ceil() as usize;
            let p = phases as usize;
            n = if p > 1 {
                est / p * p + p - 1
            } else {
                (est + modulo - 2) / modulo * modulo + 1
            };
        }
        if fn_ < 0.0 {
            return (Vec::new(), n);
        }
        (make_lpf(n, fc, beta, rho, phases), n)
    }

    /// One stage of the chain, applied to a whole (zero-extended) signal.
    enum Stage {
        /// `dft_stage`: linear-phase FIR at `l` times the input rate, keeping
        /// every `m`-th sample; zero delay (libsoxr preloads `num_taps / 2`).
        Fir { h: Vec<f64>, l: usize, m: usize },
        /// The arbitrary-ratio stage (`vpoly0..3`): a poly-phase FIR whose taps
        /// are read from `h_ext` (a leading zero, then the designed filter) at
        /// `phases` per input sample, interpolated with `order` when the ratio
        /// is not rational.
        Poly {
            h_ext: Vec<f64>,
            num_coefs: usize,
            phases: usize,
            order: usize,
            step: Step,
            start: f64,
        },
    }

    enum Step {
        /// Exact: output `j` at `(at0 + j * m) / l` input samples.
        Rational { at0: u64, l: u64, m: u64 },
        /// 32.32 fixed point, as libsoxr's standard-precision clock.
        Fixed { whole: u64 },
    }

    /// libsoxr's `_soxr_init` for `soxr_quality_spec(SOXR_HQ, 0)` and the default
    /// runtime spec, returning the stages.
    fn plan(io_ratio: f64) -> Vec<Stage> {
        let bits = 20.0f64;
        let rej = bits * linear_to_db(2.0);
        let fp0 = 1.0 - 0.05 / to_3db(rej);
        let fs0 = 1.0f64;
        let interpolator: i64 = -1; // runtime flags 0: automatic choice
        let coef_size_kbytes = 400usize;
        let mut arb_m = io_ratio;
        let (mut fp1, mut fs1) = (fp0, fs0);
        let bits1 = bits.min(33.0);
        let mut att = (bits1 + 1.0) * linear_to_db(2.0);
        let mut att_arb = att;
        let (mut pre_l, mut pre_m, mut shr, mut arb_l, mut post_l, mut post_m) =
            (1i64, 1i64, 0i64, 1i64, 1i64, 1i64);
        let mut upsample = false;
        let mut rational = false;
        let mode: i64 = (bits1.ceil() as i64 - 6) / 4; // rolloff small, not 16-bit: 3
        let mut n = 0;
        loop {
            let was = n;
            n += 1;
            if was != 0 {
                break;
            }
            // libsoxr sizes this from the coefficient budget in mode 0, which
            // the HQ recipe never selects.
            let max_l: i64 = if interpolator > 0 { 1 } else { 2048 };
            let mut epsilon = 0.0;
            upsample = arb_m < 1.0;
            let mut i = (0.5 * arb_m) as i64;
            shr = 0;
            loop {
                i >>= 1;
                if i == 0 {
                    break;
                }
                arb_m *= 0.5;
                shr += 1;
            }
            pre_m = (upsample || (arb_m > 1.5 && arb_m < 2.0)) as i64;
            post_m = 1 + (arb_m > 1.0 && pre_m != 0) as i64;
            arb_m /= post_m as f64;
            pre_l = 1 + (pre_m == 0 && arb_m < 2.0) as i64 + (upsample && mode != 0) as i64;
            arb_m *= pre_l as f64;
            let frac = arb_m - (arb_m as i64) as f64;
            if frac != 0.0 {
                epsilon = ((frac * MULT32 + 0.5).floor() / (frac * MULT32) - 1.0).abs();
            }
            rational = frac == 0.0;
            let mut i = 1;
            while i <= max_l && !rational {
                let d = frac * i as f64;
                let try_ = (d + 0.5) as i64;
                rational = (try_ as f64 / d - 1.0).abs() <= epsilon;
                if rational {
                    if try_ == i {
                        arb_m = arb_m.ceil();
                        let x = (arb_m > 3.0) as i64;
                        shr += x;
                        arb_m /= (1 + x) as f64;
                    } else {
                        arb_m = (i * arb_m as i64 + try_) as f64;
                        arb_l = i;
                    }
                }
                i += 1;
            }
            let mut l = pre_l * arb_l;
            let mut m = (arb_m * post_m as f64) as i64;
            let odd = (l | m) & 1;
            if odd == 0 {
                l >>= 1;
                m >>= 1;
            }
            let d = (pre_l * arb_l) as f64 / arb_m;
            if post_l == 1 && d > 4.0 && d != 5.0 {
                post_l = 4;
                let mut i = (d / 16.0) as i64;
                loop {
                    i >>= 1;
                    if i == 0 || post_l >= 256 {
                        break;
                    }
                    post_l <<= 1;
                }
                arb_m = arb_m * post_l as f64 / arb_l as f64 / pre_l as f64;
                arb_l = 1;
                n = 0;
            } else if rational && (l.max(m) < 5 || l * m < 6) {
                pre_l = l;
                pre_m = m;
                arb_m = 1.0;
                arb_l = 1;
                post_m = 1;
            }
        }

        let have_pre = pre_m * pre_l != 1;
        let have_arb = arb_m * arb_l as f64 != 1.0;
        let have_post = post_m * post_l != 1;
        let num_stages = shr + have_pre as i64 + have_arb as i64 + have_post as i64;
        let alpha = post_m as f64 / (io_ratio * post_l as f64);
        if num_stages > 1 {
            let mut n = num_stages;
            if have_arb {
                att += linear_to_db(2.0);
                att_arb = att;
                n -= 1;
            }
            att += linear_to_db(n as f64);
        }

        let mut stages = Vec::new();
        for _ in 0..shr {
            stages.push(half_band_stage(att));
        }
        if have_pre {
            let fn1 = if pre_m != 0 {
                pre_l.max(pre_m) as f64
            } else {
                arb_m / arb_l as f64
            };
            stages.push(dft_stage(
                fp1,
                fs1,
                fn1,
                att,
                pre_l as usize,
                pre_m.max(1) as usize,
            ));
            fp1 /= fn1;
            fs1 /= fn1;
        }
        if have_arb {
            stages.push(arb_stage(ArbParams {
                upsample,
                pre_m,
                mode,
                rational,
                arb_m,
                arb_l,
                fp1,
                fs1,
                att_arb,
                interpolator,
                coef_size_kbytes,
            }));
        }
        if have_post {
            let fp = fp0 / if upsample { alpha } else { 1.0 };
            let fs = if upsample {
                (2.0 - fs0 / alpha).max(1.0)
            } else {
                fs0
            };
            stages.push(dft_stage(
                fp,
                fs,
                post_l.max(post_m) as f64,
                att,
                post_l as usize,
                post_m as usize,
            ));
        }
        stages
    }

    fn dft_stage(fp: f64, fs: f64, fn_: f64, att: f64, l: usize, m: usize) -> Stage {
        let k: i64 = if l.is_power_of_two() && fn_ == l as f64 {
            (l as i64) << 1
        } else {
            4
        };
        let (mut h, _) = design_lpf(fp, fs, fn_, att, 0, -k);
        // libsoxr scales the DFT filter by L (zero-stuffing loses that gain).
        for c in &mut h {
            *c *= l as f64;
        }
        Stage::Fir { h, l, m }
    }

    /// libsoxr halves the rate with tabled half-band filters (`half-coefs.h`)
    /// chosen by attenuation; the stage after them only keeps frequencies below
    /// a quarter of this stage's input rate, so this designs a linear-phase
    /// low-pass flat to 0.25 and stopped from 0.75 of its input Nyquist
    /// frequency, at the same attenuation.
    fn half_band_stage(att: f64) -> Stage {
        let (h, _) = design_lpf(0.25, 0.75, 1.0, att.max(120.65), 0, -4);
        Stage::Fir { h, l: 1, m: 2 }
    }

    struct ArbParams {
        upsample: bool,
        pre_m: i64,
        mode: i64,
        rational: bool,
        arb_m: f64,
        arb_l: i64,
        fp1: f64,
        fs1: f64,
        att_arb: f64,
        interpolator: i64,
        coef_size_kbytes: usize,
    }

    /// The `poly_firs` rows that `SOXR_HQ` (mode 3) can select: the number of
    /// phase bits for linear and quadratic coefficient interpolation.
    fn poly_fir_row(upsample: bool, pre_m: i64, mode: i64) -> [f64; 2] {
        let index = 6 * (upsample as i64 + (pre_m != 0) as i64) + mode - (!upsample) as i64;
        match index {
            2 => [12.4, 7.8],
            8 => [10.6, 6.75],
            15 => [11.0, 7.0],
            // Other rows belong to other recipes; these bits are the mode-3 ones.
            _ => [12.4, 7.8],
        }
    }

    fn arb_stage(p: ArbParams) -> Stage {
        let ArbParams {
            upsample,
            pre_m,
            mode,
            mut rational,
            mut arb_m,
            mut arb_l,
            fp1,
            fs1,
            att_arb,
            interpolator,
            coef_size_kbytes,
        } = p;
        let rolloff_small = -0.01f32 as f64;
        let interp_bits = poly_fir_row(upsample, pre_m, mode);
        let mult = if upsample { 1.0 } else { arb_m / arb_l as f64 };
        let (fn_, fs) = if !upsample && pre_m != 0 {
            (2.0 * mult, 3.0 + (fs1 - 1.0).abs())
        } else {
            (1.0, 2.0 - (fp1 + (fs1 - fp1) * 0.7))
        };
        let fp = fs - (fs - fp1) / (1.0 - inv_f_resp(rolloff_small, att_arb));

        let mut i: i64 = if interpolator < 0 {
            (!rational) as i64
        } else {
            interpolator.max((!rational) as i64)
        } - 1;
        let (mut num_coefs, mut phases, mut order, mut phase0);
        loop {
            i += 1;
            if i > 0 {
                arb_m /= arb_l as f64;
                arb_l = 1;
                rational = false;
            }
            let scalar = if i == 0 {
                0.0
            } else {
                interp_bits[(i - 1) as usize]
            };
            let phase_bits = (scalar - mult.ln() / 2f64.ln()).ceil() as i64;
            phases = if !rational {
                1usize << phase_bits.clamp(0, 30)
            } else {
                arb_l as usize
            };
            let phases0 = phases.max(19);
            let (_, n0) = design_lpf(fp, fs, -fn_, att_arb, 0, phases0 as i64);
            num_coefs = n0 / phases0 + 1;
            if pre_m == 0 {
                num_coefs += num_coefs & 1;
            }
            if (num_coefs & 1) == 1 && rational && (arb_l & 1) == 1 {
                phases <<= 1;
                arb_l <<= 1;
                arb_m *= 2.0;
            }
            phase0 = 0.5 * (num_coefs & 1) as f64;
            order = (i + (i != 0 && mode > 4) as i64) as usize;
            let coefs_size = num_coefs * phases * (order + 1) * std::mem::size_of::<f32>();
            if !(interpolator < 0 && i < 2 && coefs_size / 1000 > coef_size_kbytes) {
                break;
            }
        }
        let (h, _) = design_lpf(fp, fs, fn_, att_arb, num_coefs * phases - 1, phases as i64);
        let mut h_ext = Vec::with_capacity(h.len() + 1);
        h_ext.push(0.0);
        h_ext.extend_from_slice(&h);
        let at = arb_l as f64 * phase0;
        let step = if order == 0 {
            Step::Rational {
                at0: at as u64,
                l: arb_l as u64,
                m: arb_m as u64,
            }
        } else {
            Step::Fixed {
                whole: (arb_m * MULT32 + 0.5) as u64,
            }
        };
        Stage::Poly {
            h_ext,
            num_coefs,
            phases,
            order,
            step,
            start: phase0,
        }
    }

    impl Stage {
        /// Input samples the stage reaches past either side of an output time.
        fn half_support(&self) -> f64 {
            match self {
                Stage::Fir { h, l, .. } => h.len() as f64 / (2 * l) as f64 + 1.0,
                Stage::Poly { num_coefs, .. } => *num_coefs as f64 / 2.0 + 1.0,
            }
        }

        /// Output-to-input rate ratio.
        fn out_per_in(&self) -> f64 {
            match self {
                Stage::Fir { l, m, .. } => *l as f64 / *m as f64,
                Stage::Poly {
                    step: Step::Rational { l, m, .. },
                    ..
                } => *l as f64 / *m as f64,
                Stage::Poly {
                    step: Step::Fixed { whole },
                    ..
                } => MULT32 / *whole as f64,
            }
        }

        /// Run over `x` (zero outside) and return `n_out` outputs, output `j`
        /// being aligned with input time `j / out_per_in`.
        fn run(&self, x: &[f64], n_out: usize) -> Vec<f64> {
            match self {
                Stage::Fir { h, l, m } => fir(x, h, *l, *m, n_out),
                Stage::Poly {
                    h_ext,
                    num_coefs,
                    phases,
                    order,
                    step,
                    start,
                } => poly(x, h_ext, *num_coefs, *phases, *order, step, *start, n_out),
            }
        }
    }

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

    fn fir(x: &[f64], h: &[f64], l: usize, m: usize, n_out: usize) -> Vec<f64> {
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

    #[allow(clippy::too_many_arguments)]
    fn poly(
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

    /// Resample by `io_ratio` (input rate / output rate), returning `n_out` samples.
    pub fn resample(samples: &[f32], io_ratio: f64, n_out: usize) -> Vec<f32> {
        let stages = plan(io_ratio);
        let mut x: Vec<f64> = samples.iter().map(|&s| s as f64).collect();
        let last = stages.len().saturating_sub(1);
        for (i, stage) in stages.iter().enumerate() {
            let count = if i == last {
                n_out
            } else {
                // Every output whose window still overlaps the input (plus the
                // next stage's reach), so the zero-padded flush is reproduced.
                let reach = stages.get(i + 1).map_or(0.0, |s| s.half_support());
                ((x.len() as f64 + stage.half_support()) * stage.out_per_in() + reach).ceil()
                    as usize
            };
            x = stage.run(&x, count);
        }
        x.into_iter().map(|v| v as f32).collect()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn hq_passband_matches_libsoxr() {
            // soxr.h documents the passband end as "typically 0.913" (truncated).
            let fp0 = 1.0 - 0.05 / to_3db(20.0 * linear_to_db(2.0));
            assert!((0.913..0.914).contains(&fp0), "{fp0}");
        }

        #[test]
        fn plan_48k_to_22050_is_dft_then_rational_poly() {
            let stages = plan(48000.0 / 22050.0);
            assert_eq!(stages.len(), 2);
            assert!(matches!(stages[0], Stage::Fir { l: 1, m: 1, .. }));
            assert!(matches!(
                stages[1],
                Stage::Poly {
                    step: Step::Rational { l: 147, m: 320, .. },
                    order: 0,
                    ..
                }
            ));
        }

        #[test]
        fn plan_44100_to_22050_is_one_decimating_fir() {
            let stages = plan(2.0);
            assert_eq!(stages.len(), 1);
            assert!(matches!(stages[0], Stage::Fir { l: 1, m: 2, .. }));
        }

        #[test]
        fn bessel_matches_known_values() {
            // I0(1) and I0(10) from Abramowitz & Stegun table 9.8.
            assert!((bessel_i0(1.0) - 1.266_065_877_752_008_4).abs() < 1e-14);
            assert!((bessel_i0(10.0) / 2_815.716_628_466_254 - 1.0).abs() < 1e-13);
        }
    }
}

#[cfg(test)]
mod stream_tests {
    use super::*;

    fn tone(n: usize, rate: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / rate;
                0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                    + 0.3 * (2.0 * std::f32::consts::PI * 7000.0 * t * t).sin()
            })
            .collect()
    }

    #[test]
    fn a_stream_resamples_like_the_whole_signal_however_it_is_cut() {
        for (from, n) in [(48000u32, 48000 * 2 + 77), (44100, 30000), (16000, 500)] {
            let x = tone(n, from as f32);
            let whole = resample(&x, from, 22050);
            for piece in [n, 1000, 4093] {
                let mut r = StreamResampler::new(from, 22050);
                let mut out = Vec::new();
                for chunk in x.chunks(piece) {
                    out.extend(r.push(chunk));
                }
                assert!(
                    r.buffered()
                        <= (StreamResampler::BLOCK + 3 * StreamResampler::MARGIN) * 3 + piece,
                    "{} held",
                    r.buffered()
                );
                out.extend(r.finish());
                assert_eq!(out.len(), whole.len(), "{from} Hz, pieces of {piece}");
                let worst = out
                    .iter()
                    .zip(&whole)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(worst < 1e-6, "{from} Hz, pieces of {piece}: off by {worst}");
            }
        }
    }

    #[test]
    fn equal_rates_pass_through() {
        let mut r = StreamResampler::new(22050, 22050);
        assert_eq!(r.push(&[0.5, -0.5]), vec![0.5, -0.5]);
        assert!(r.finish().is_empty());
    }
}
