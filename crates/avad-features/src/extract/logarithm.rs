//! Logarithms that vectorise: `ln` for flatness, `log10` for the dB conversions.

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
pub(super) fn ln_normal_f32<const FMA: bool>(x: f32) -> f32 {
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

/// `librosa.power_to_db(S, ref=1.0, amin)` of one row, clamped below at `floor`
/// (librosa's `top_db` floor is the whole clip's maximum minus `top_db`): [`to_db`],
/// element by element, in a loop that vectorises.
#[inline(always)]
pub(super) fn power_to_db<const N: usize>(s: &[f64; N], amin: f64, floor: f64) -> [f64; N] {
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
pub(super) fn to_db(v: f64, amin: f64) -> f64 {
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
pub(super) fn log10_normal(x: f64) -> f64 {
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
