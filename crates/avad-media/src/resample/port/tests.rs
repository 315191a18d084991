use super::design::{bessel_i0, linear_to_db, to_3db};
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
