//! Filter design: libsoxr's Kaiser-windowed sinc low-pass filters (`filter.c`).

use std::f64::consts::PI;

pub(super) fn linear_to_db(x: f64) -> f64 {
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
pub(super) fn inv_f_resp(drop: f64, a: f64) -> f64 {
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

pub(super) fn to_3db(a: f64) -> f64 {
    1.0 - inv_f_resp(-3.0, a)
}

/// Modified Bessel function of the first kind, order 0 (power series; converges
/// to double precision for the betas used here, < 20).
pub(super) fn bessel_i0(x: f64) -> f64 {
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
pub(super) fn design_lpf(
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
