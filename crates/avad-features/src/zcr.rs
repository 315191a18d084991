//! `librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512,
//! center=True)`: edge padding, `|y| <= threshold` counts as +0, a crossing is a change
//! of sign bit between neighbours within a frame (the frame's first sample never
//! counts: `pad=False`), and the rate is the count over `frame_length`.

/// One rate per frame, `1 + y.len() / hop` frames.
pub(crate) fn zero_crossing_rate(
    y: &[f32],
    frame_length: usize,
    hop: usize,
    threshold: f64,
) -> Vec<f64> {
    let n = y.len();
    let n_frames = 1 + n / hop;
    let half = frame_length / 2;
    // librosa's numba stencil compares the float32 sample with the threshold cast to
    // float32 and replaces anything within it by +0: so a sample's sign bit is set
    // exactly when it lies below -threshold.
    let thr = -(threshold as f32);
    // Frame t counts the crossings between neighbours (i-1, i) for i in [first, last]:
    // y indices from t hop - half, its first sample's crossing not counted (pad=False).
    // Edge padding repeats y[0] and y[n-1], so the padding itself never crosses.
    let span = |t: usize| {
        let first = (t * hop + 1).saturating_sub(half).max(1);
        let last = (t * hop + frame_length)
            .saturating_sub(half + 1)
            .min(n.saturating_sub(1));
        (first, last + 1)
    };
    // The crossing count before each frame's ends, P(j) = crossings at 1 <= i < j, from
    // the counts between consecutive ends: each sample is compared once, in runs the
    // compiler vectorises (a running prefix over every sample would be one long chain).
    let mut ends: Vec<usize> = (0..n_frames)
        .flat_map(|t| {
            let (a, b) = span(t);
            [a.min(n), b.min(n)]
        })
        .collect();
    ends.sort_unstable();
    ends.dedup();
    let mut prefix = Vec::with_capacity(ends.len());
    let (mut acc, mut at) = (0u32, 1usize);
    for &e in &ends {
        if e > at {
            acc += crossings(&y[at - 1..e], thr);
            at = e;
        }
        prefix.push(acc);
    }
    let p = |j: usize| ends.binary_search(&j).map(|k| prefix[k]).unwrap_or(0);
    (0..n_frames)
        .map(|t| {
            let (first, end) = span(t);
            let count = if first < end { p(end) - p(first) } else { 0 };
            f64::from(count) / frame_length as f64
        })
        .collect()
}

/// Sign changes between neighbours of `y` (`len - 1` pairs), a sample's sign bit being
/// set exactly when it lies below `thr`.
fn crossings(y: &[f32], thr: f32) -> u32 {
    let Some(tail) = y.get(1..) else { return 0 };
    y.iter()
        .zip(tail)
        .map(|(&a, &b)| u32::from((a < thr) != (b < thr)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same definition, written the slow way librosa does it: frame, then count.
    fn by_frames(y: &[f32], fl: usize, hop: usize, thr: f32) -> Vec<f64> {
        let half = fl / 2;
        let mut p = vec![y[0]; half];
        p.extend_from_slice(y);
        p.extend(std::iter::repeat_n(*y.last().unwrap(), half));
        let clip = |x: f32| if -thr <= x && x <= thr { 0.0 } else { x };
        (0..1 + y.len() / hop)
            .map(|t| {
                let f = &p[t * hop..t * hop + fl];
                let c = (1..fl)
                    .filter(|&i| clip(f[i]).is_sign_negative() != clip(f[i - 1]).is_sign_negative())
                    .count();
                c as f64 / fl as f64
            })
            .collect()
    }

    #[test]
    fn prefix_sums_match_framewise_counting() {
        let y: Vec<f32> = (0..5000)
            .map(|i| (i as f32 * 0.37).sin() * 0.5 + if i % 7 == 0 { -1e-12 } else { 0.0 })
            .chain([0.0, -0.0, 1e-11, -1e-11, 0.3, -0.2])
            .collect();
        for &(fl, hop) in &[(2048, 512), (64, 16), (8, 3)] {
            assert_eq!(
                zero_crossing_rate(&y, fl, hop, 1e-10),
                by_frames(&y, fl, hop, 1e-10)
            );
        }
    }

    #[test]
    fn alternating_signal_crosses_at_every_sample_but_the_first() {
        let y: Vec<f32> = (0..4096)
            .map(|i| if i % 2 == 0 { 0.5 } else { -0.5 })
            .collect();
        let z = zero_crossing_rate(&y, 2048, 512, 1e-10);
        // Frame 4 lies entirely inside the signal: 2047 crossings out of 2048 samples.
        assert_eq!(z[4], 2047.0 / 2048.0);
        // Frame 0 is 1024 samples of edge padding (a constant run of y[0]) and then
        // the signal, whose first sample equals the padding.
        assert_eq!(z[0], 1023.0 / 2048.0);
    }
}
