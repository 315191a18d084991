use super::bands::contrast_bands;
use super::logarithm::{ln_normal_f32, log10_normal, power_to_db, to_db};
use super::pairwise::{pairwise_plan, pairwise_sum_f32, pairwise_sum_lanes};
use super::reduce::{extreme_means_lanes, max_f32, max_f64};
use super::*;
use crate::filters::fft_frequencies;

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
            .map(|i| std::array::from_fn(|l| ((i * 31 + l * 17) % 97) as f32 / (3.0 + l as f32)))
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
            let want_lo: f64 = sorted[..k].iter().map(|&x| f64::from(x)).sum::<f64>() / k as f64;
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
