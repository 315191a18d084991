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

/// The FFT form of a full-rate stage gives the direct form's sums: signals shorter and longer
/// than the filter and than one FFT block, every output kept or every second one, outputs
/// running past the input's end.
#[test]
fn fft_stage_equals_the_direct_form() {
    use convolve::{fir_direct, fir_fft};
    let h: Vec<f64> = (0..301)
        .map(|k| {
            let t = k as f64 - 150.0;
            let sinc = if t == 0.0 {
                1.0
            } else {
                (0.4 * std::f64::consts::PI * t).sin() / (std::f64::consts::PI * t)
            };
            sinc * (0.5 + 0.5 * (std::f64::consts::PI * t / 151.0).cos())
        })
        .collect();
    for len in [1usize, 100, 301, 5000, 20_000] {
        let x: Vec<f64> = (0..len)
            .map(|i| ((i * 7919 % 1000) as f64 / 500.0 - 1.0) * (0.01 * i as f64).sin())
            .collect();
        for m in [1usize, 2, 3] {
            for n_out in [1, len / m + 1, len / m + 200] {
                let want = fir_direct(&x, &h, 1, m, n_out);
                let got = fir_fft(&x, &h, m, n_out);
                assert_eq!(got.len(), want.len());
                let worst = got
                    .iter()
                    .zip(&want)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                assert!(worst < 1e-12, "len {len}, m {m}, n_out {n_out}: {worst}");
            }
        }
    }
}

/// The order-0 rational poly-phase stage, on every vector unit this CPU has, gives the
/// plain sums: output j is phase (at0 + j m) mod l of the table against the input from
/// (at0 + j m) / l − preload, zero outside the signal. Windows of 3 to 17 taps cover
/// the full and partial vectors; outputs run past both ends of the signal.
#[test]
fn rational_poly_stage_gives_the_plain_sums_on_every_vector_unit() {
    use convolve::{rational_order0, simd::Lanes, Order0};
    let mut lanes = vec![Lanes::Portable];
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            lanes.push(Lanes::Avx2);
        }
        if std::is_x86_feature_detected!("avx512f") {
            lanes.push(Lanes::Avx512);
        }
    }
    let x: Vec<f64> = (0..3000)
        .map(|i| ((i * 7919 % 1000) as f64 / 500.0 - 1.0) * (0.01 * i as f64).sin())
        .collect();
    let (l, m) = (147u64, 320u64);
    for n in [3usize, 4, 8, 9, 14, 15, 16, 17] {
        let table: Vec<f64> = (0..l as usize * n)
            .map(|k| ((k * 104_729 % 997) as f64 / 498.5 - 1.0) * 0.3)
            .collect();
        let preload = ((n - 1) >> 1) as i64;
        let at0 = 73u64;
        let n_out = (x.len() as u64 * l / m) as usize + 5;
        let want: Vec<f64> = (0..n_out as u64)
            .map(|j| {
                let at = at0 + j * m;
                let first = (at / l) as i64 - preload;
                let phase = (at % l) as usize;
                (0..n)
                    .map(|q| {
                        let i = first + q as i64;
                        let xi = if i < 0 {
                            0.0
                        } else {
                            x.get(i as usize).copied().unwrap_or(0.0)
                        };
                        table[phase * n + q] * xi
                    })
                    .sum()
            })
            .collect();
        for &lane in &lanes {
            let stage = Order0 {
                x: &x,
                table: &table,
                n,
                preload,
                step: (at0, l, m),
            };
            let got = rational_order0(lane, &stage, n_out);
            assert_eq!(got.len(), n_out);
            for (j, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-14,
                    "{lane:?}, n {n}, output {j}: {g} against {w}"
                );
            }
        }
    }
}
