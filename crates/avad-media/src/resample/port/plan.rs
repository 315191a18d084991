//! The stage plan of `_soxr_init` for the HQ recipe, and each stage's filter.

use super::design::{design_lpf, inv_f_resp, linear_to_db, to_3db};
use super::{Stage, Step, MULT32};

/// libsoxr's `_soxr_init` for `soxr_quality_spec(SOXR_HQ, 0)` and the default
/// runtime spec, returning the stages.
pub(super) fn plan(io_ratio: f64) -> Vec<Stage> {
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
