//! Temporal smoothing of per-frame scores.
//!
//! An anomalous event on a surveillance camera lasts many frames, while a frame's
//! reconstruction error also jumps with things that last one (a JPEG artefact, a
//! window edge). A centred Gaussian over each clip's frame scores keeps the events and
//! damps the jumps. It looks four standard deviations ahead, so a live scorer that
//! smooths ([`Kernel::at`]) decides each frame that many frames late.

/// How far the kernel reaches, in standard deviations (scipy's `gaussian_filter1d`
/// default `truncate=4.0`).
pub const TRUNCATE: f64 = 4.0;

/// Each score replaced by the Gaussian-weighted mean of the scores around it, standard
/// deviation `sigma` frames, the clip's edges extended with its first and last score
/// (scipy.ndimage's `gaussian_filter1d(x, sigma, mode="nearest")`, to rounding).
/// NaN scores take no part: the weights of the finite neighbours are renormalised, and a
/// NaN stays NaN. `sigma <= 0` (or an empty clip) returns the scores unchanged.
pub fn gaussian_smooth(scores: &[f64], sigma: f64) -> Vec<f64> {
    let Some(kernel) = Kernel::new(sigma) else {
        return scores.to_vec();
    };
    (0..scores.len()).map(|i| kernel.at(scores, i)).collect()
}

/// The half of a Gaussian kernel, for smoothing one score at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    sigma: f64,
    /// Weight at distance 0, 1, …, radius.
    weights: Vec<f64>,
}

impl Kernel {
    /// The kernel of standard deviation `sigma` frames, `None` when `sigma <= 0` (or NaN).
    pub fn new(sigma: f64) -> Option<Self> {
        if !(sigma > 0.0) {
            return None;
        }
        let radius = (TRUNCATE * sigma + 0.5) as usize;
        let weights = (0..=radius)
            .map(|d| (-0.5 * (d as f64 / sigma).powi(2)).exp())
            .collect();
        Some(Kernel { sigma, weights })
    }

    /// The standard deviation, in frames.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// How many scores on each side the kernel reaches.
    pub fn radius(&self) -> usize {
        self.weights.len() - 1
    }

    /// The smoothed score `i` of `scores`, the edges of `scores` extended as in
    /// [`gaussian_smooth`]. A live scorer that holds the [`Kernel::radius`] scores on each
    /// side of `i` (or all there are, up to the clip's edges) gets the same bits as the
    /// whole clip smoothed at once.
    pub fn at(&self, scores: &[f64], i: usize) -> f64 {
        if scores[i].is_nan() {
            return f64::NAN;
        }
        let radius = self.radius() as isize;
        let last = scores.len() as isize - 1;
        let (mut sum, mut total) = (0.0, 0.0);
        for offset in -radius..=radius {
            let s = scores[(i as isize + offset).clamp(0, last) as usize];
            if !s.is_nan() {
                let w = self.weights[offset.unsigned_abs()];
                sum += w * s;
                total += w;
            }
        }
        sum / total
    }
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

    /// What a live scorer sees: a slice from the clip's start (or `radius` before the frame)
    /// to `radius` after it (or the clip's end) smooths the frame to the same bits.
    #[test]
    fn a_window_around_a_frame_gives_the_whole_clips_bits() {
        let clip: Vec<f64> = (0..50).map(|i| ((i * 37) % 11) as f64 / 7.0).collect();
        let kernel = Kernel::new(2.0).unwrap();
        assert_eq!(kernel.radius(), 8);
        let whole = gaussian_smooth(&clip, 2.0);
        for (i, w) in whole.iter().enumerate() {
            let (from, to) = (i.saturating_sub(8), (i + 9).min(clip.len()));
            assert_eq!(
                kernel.at(&clip[from..to], i - from).to_bits(),
                w.to_bits(),
                "frame {i}"
            );
        }
    }

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
