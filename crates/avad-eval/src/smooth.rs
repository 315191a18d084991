//! Temporal smoothing of per-frame scores.
//!
//! An anomalous event on a surveillance camera lasts many frames, while a frame's
//! reconstruction error also jumps with things that last one (a JPEG artefact, a
//! window edge). A centred Gaussian over each clip's frame scores keeps the events and
//! damps the jumps. It needs look-ahead (four standard deviations), so it is an offline
//! step: live scoring does not smooth.

/// How far the kernel reaches, in standard deviations (scipy's `gaussian_filter1d`
/// default `truncate=4.0`).
pub const TRUNCATE: f64 = 4.0;

/// Each score replaced by the Gaussian-weighted mean of the scores around it, standard
/// deviation `sigma` frames, the clip's edges extended with its first and last score
/// (scipy.ndimage's `gaussian_filter1d(x, sigma, mode="nearest")`, to rounding).
/// NaN scores take no part: the weights of the finite neighbours are renormalised, and a
/// NaN stays NaN. `sigma <= 0` (or an empty clip) returns the scores unchanged.
pub fn gaussian_smooth(scores: &[f64], sigma: f64) -> Vec<f64> {
    if !(sigma > 0.0) || scores.is_empty() {
        return scores.to_vec();
    }
    let radius = (TRUNCATE * sigma + 0.5) as usize;
    let weights: Vec<f64> = (0..=radius)
        .map(|d| (-0.5 * (d as f64 / sigma).powi(2)).exp())
        .collect();
    let last = scores.len() as isize - 1;
    (0..scores.len())
        .map(|i| {
            if scores[i].is_nan() {
                return f64::NAN;
            }
            let (mut sum, mut total) = (0.0, 0.0);
            for offset in -(radius as isize)..=radius as isize {
                let j = (i as isize + offset).clamp(0, last) as usize;
                let s = scores[j];
                if !s.is_nan() {
                    let w = weights[offset.unsigned_abs()];
                    sum += w * s;
                    total += w;
                }
            }
            sum / total
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scipy 1.17.1: `gaussian_filter1d([0,0,1,0,0,4,2,2], 1.0, mode="nearest")` and
    /// `gaussian_filter1d([3,1,4,1,5,9,2,6,5,3], 2.0, mode="nearest")`.
    #[test]
    fn equals_scipy_gaussian_filter1d() {
        let cases: [(&[f64], f64, &[f64]); 2] = [
            (
                &[0.0, 0.0, 1.0, 0.0, 0.0, 4.0, 2.0, 2.0],
                1.0,
                &SCIPY_SIGMA1,
            ),
            (
                &[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0],
                2.0,
                &SCIPY_SIGMA2,
            ),
        ];
        for (x, sigma, want) in cases {
            let got = gaussian_smooth(x, sigma);
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{got:?} against {want:?}");
            }
        }
    }

    const SCIPY_SIGMA1: [f64; 8] = [
        0.05399112742070441,
        0.2425067681550597,
        0.41693857708545234,
        0.4670673398287104,
        1.138990549377808,
        2.2012622696883244,
        2.3669630826071155,
        2.098850870352117,
    ];
    const SCIPY_SIGMA2: [f64; 10] = [
        2.745200757365695,
        2.8253633878338675,
        3.1295950929508978,
        3.6468644860090182,
        4.221844183807976,
        4.6341590297181945,
        4.748744617192036,
        4.58024497636357,
        4.232435274587486,
        3.8256489970864336,
    ];

    #[test]
    fn keeps_constants_and_sums_and_skips_nan() {
        assert_eq!(gaussian_smooth(&[0.25; 7], 3.0), vec![0.25; 7]);
        assert_eq!(gaussian_smooth(&[1.0, 2.0, 3.0], 0.0), vec![1.0, 2.0, 3.0]);
        // A ramp stays a ramp away from the edges (the kernel is symmetric).
        let ramp: Vec<f64> = (0..40).map(|i| i as f64).collect();
        let smooth = gaussian_smooth(&ramp, 2.0);
        for i in 9..31 {
            assert!(
                (smooth[i] - ramp[i]).abs() < 1e-9,
                "frame {i}: {}",
                smooth[i]
            );
        }
        let with_nan = gaussian_smooth(&[1.0, f64::NAN, 1.0, 1.0], 1.0);
        assert!(with_nan[1].is_nan());
        assert!(with_nan
            .iter()
            .filter(|v| !v.is_nan())
            .all(|&v| (v - 1.0).abs() < 1e-15));
    }
}
