use avad_eval::normalize::{
    min_max_per_video, regularity_scores, Calibration, CalibrationError, QUANTILE_COUNT,
};

/// Deterministic, skewed "reconstruction errors" (no rand dependency needed).
fn errors(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| ((i * 7919) % 1009) as f64 / 1009.0)
        .map(|u| 0.2 + u * u)
        .collect()
}

#[test]
fn min_max_maps_min_to_0_max_to_1_and_keeps_order() {
    let e = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6];
    let n = min_max_per_video(&e);
    assert_eq!(
        n,
        vec![2.0 / 8.0, 0.0, 3.0 / 8.0, 0.5 / 8.0, 1.0, 1.6 / 8.0]
    );
    for i in 0..e.len() {
        for j in 0..e.len() {
            assert_eq!(e[i] < e[j], n[i] < n[j], "order of {i} and {j}");
        }
    }
    assert_eq!(min_max_per_video(&[0.7; 5]), vec![0.0; 5], "constant video");
    assert!(min_max_per_video(&[]).is_empty());
    let with_nan = min_max_per_video(&[1.0, f64::NAN, 3.0]);
    assert_eq!((with_nan[0], with_nan[2]), (0.0, 1.0));
    assert!(with_nan[1].is_nan());
}

#[test]
fn regularity_is_one_minus_normalized_error() {
    let s = regularity_scores(&min_max_per_video(&[2.0, 4.0, 3.0]));
    assert_eq!(s, vec![1.0, 0.0, 0.5]);
}

#[test]
fn calibration_statistics_match_numpy() {
    // numpy: e = [1, 2, 4, 8]; e.mean() = 3.75, e.std() = 2.680951323690902,
    // np.percentile(e, [0, 25, 90, 100]) = [1, 1.75, 6.8, 8].
    let c = Calibration::fit(&[8.0, 1.0, 4.0, 2.0]).unwrap();
    assert_eq!(c.count(), 4);
    assert!((c.mean() - 3.75).abs() < 1e-15);
    assert!((c.std() - 2.680951323690902).abs() < 1e-15);
    assert_eq!(c.range(), (1.0, 8.0));
    assert!((c.error_at_percentile(25.0).unwrap() - 1.75).abs() < 1e-12);
    assert!((c.error_at_percentile(90.0).unwrap() - 6.8).abs() < 1e-12);
    // Training min and max map to n_e = 0 and 1, i.e. s_r = 1 and 0.
    assert_eq!(c.normalized_error(1.0), 0.0);
    assert_eq!(c.normalized_error(8.0), 1.0);
    assert_eq!(c.regularity_score(1.0), 1.0);
    assert_eq!(c.regularity_score(8.0), 0.0);
    // Not clamped: errors beyond the normal range keep their order.
    assert_eq!(c.normalized_error(15.0), 2.0);
    assert_eq!(c.regularity_score(15.0), -1.0);
    assert_eq!(c.normalized_error(-6.0), -1.0);
}

#[test]
fn calibrated_scores_are_monotonic() {
    let c = Calibration::fit_with_percentiles(&errors(500), 1.0, 99.0).unwrap();
    let probe: Vec<f64> = (0..200).map(|i| -0.5 + i as f64 * 0.01).collect();
    let s = c.regularity_scores(&probe);
    assert!(
        s.windows(2).all(|w| w[1] < w[0]),
        "s_r must fall as the error grows"
    );
    let (lo, hi) = c.range();
    assert_eq!(c.percentiles(), (1.0, 99.0));
    // numpy.percentile(errors(500), [1, 99]) (linear interpolation, numpy 2.4).
    assert!((lo - 0.2000791194413804).abs() < 1e-15, "{lo}");
    assert!((hi - 1.1763751116070331).abs() < 1e-15, "{hi}");
    assert!((c.normalized_error(lo)).abs() < 1e-15 && (c.normalized_error(hi) - 1.0).abs() < 1e-15);
}

#[test]
fn threshold_from_normal_flags_the_stated_share_of_normal_frames() {
    let train = errors(1000);
    let c = Calibration::fit(&train).unwrap();
    for p in [90.0, 95.0, 99.0] {
        let gamma = c.threshold_from_normal(p).unwrap();
        let flagged = c
            .regularity_scores(&train)
            .iter()
            .filter(|&&s| s < gamma)
            .count();
        let want = (1.0 - p / 100.0) * train.len() as f64;
        assert!(
            (flagged as f64 - want).abs() <= 2.0,
            "p {p}: {flagged} flagged, about {want} expected"
        );
    }
    // A higher percentile is a stricter (lower) threshold on s_r.
    assert!(c.threshold_from_normal(99.0).unwrap() < c.threshold_from_normal(90.0).unwrap());
    assert_eq!(c.threshold_from_normal(100.0).unwrap(), 0.0);
    assert_eq!(c.threshold_from_normal(0.0).unwrap(), 1.0);
    assert_eq!(
        c.threshold_from_normal(101.0),
        Err(CalibrationError::PercentileOutOfRange(101.0))
    );
}

#[test]
fn calibration_round_trips_through_json() {
    let c = Calibration::fit_with_percentiles(&errors(333), 0.5, 99.5).unwrap();
    let json = serde_json::to_string(&c).unwrap();
    let back: Calibration = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    for e in [0.0, 0.3, 0.77, 1.5] {
        assert_eq!(
            back.regularity_score(e).to_bits(),
            c.regularity_score(e).to_bits()
        );
    }
    assert_eq!(
        back.threshold_from_normal(97.3),
        c.threshold_from_normal(97.3)
    );

    // A tampered file is refused rather than producing NaN scores.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["high"] = v["low"].clone();
    let err = serde_json::from_value::<Calibration>(v)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no spread"), "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["quantiles"].as_array_mut().unwrap().truncate(10);
    let err = serde_json::from_value::<Calibration>(v)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&format!("expected {QUANTILE_COUNT}")), "{err}");
}

#[test]
fn calibration_rejects_bad_input() {
    assert_eq!(Calibration::fit(&[]), Err(CalibrationError::Empty));
    assert!(matches!(
        Calibration::fit(&[0.1, f64::INFINITY]),
        Err(CalibrationError::NonFiniteError { index: 1, .. })
    ));
    assert!(matches!(
        Calibration::fit(&[0.4; 10]),
        Err(CalibrationError::NoSpread { .. })
    ));
    assert_eq!(
        Calibration::fit_with_percentiles(&errors(10), 90.0, 10.0),
        Err(CalibrationError::PercentileOrder {
            low: 90.0,
            high: 10.0
        })
    );
}
