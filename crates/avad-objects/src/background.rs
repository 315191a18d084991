//! The scene without its moving objects: the per-pixel median of normal footage.

use serde::{Deserialize, Serialize};

use crate::Frame;

/// Per-pixel median of sample frames, and the typical deviation of a frame from it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Background {
    pub width: usize,
    pub height: usize,
    /// Row-major, in [0, 1].
    pub pixels: Vec<f32>,
    /// The noise of a frame against the background: 1.4826 times the median absolute
    /// difference over every sampled pixel (a robust standard deviation, which the few
    /// pixels of moving objects do not move).
    pub noise: f32,
}

impl Background {
    /// Fits the background to `frames` (all of one size; `None` if there are none or
    /// sizes differ). A median needs no training: a person who crosses a pixel in fewer
    /// than half of the frames leaves no trace in it.
    pub fn fit<'a>(frames: impl IntoIterator<Item = Frame<'a>>) -> Option<Self> {
        let mut frames = frames.into_iter().peekable();
        let first = *frames.peek()?;
        let (width, height) = (first.width, first.height);
        let n = width * height;
        // A histogram of 256 levels per pixel: the median of any number of frames in
        // O(frames + 256) per pixel.
        let mut histogram = vec![0u32; n * 256];
        let mut count = 0u32;
        let mut samples = Vec::new();
        for frame in frames {
            if (frame.width, frame.height) != (width, height) {
                return None;
            }
            for (i, &p) in frame.pixels.iter().enumerate() {
                histogram[i * 256 + level(p)] += 1;
            }
            samples.push(frame.pixels.to_vec());
            count += 1;
        }
        let half = count.div_ceil(2);
        let pixels: Vec<f32> = (0..n)
            .map(|i| {
                let mut seen = 0;
                let bins = &histogram[i * 256..(i + 1) * 256];
                let median = bins
                    .iter()
                    .position(|&c| {
                        seen += c;
                        seen >= half
                    })
                    .unwrap_or(0);
                median as f32 / 255.0
            })
            .collect();
        let mut deviations = vec![0u64; 256];
        for frame in &samples {
            for (p, b) in frame.iter().zip(&pixels) {
                deviations[level((p - b).abs())] += 1;
            }
        }
        let total: u64 = deviations.iter().sum();
        let mut seen = 0;
        let mad = deviations
            .iter()
            .position(|&c| {
                seen += c;
                2 * seen >= total
            })
            .unwrap_or(0) as f32
            / 255.0;
        Some(Background {
            width,
            height,
            pixels,
            // At least one gray level: an 8-bit source has no finer noise.
            noise: (1.4826 * mad).max(1.0 / 255.0),
        })
    }
}

fn level(v: f32) -> usize {
    (v.clamp(0.0, 1.0) * 255.0).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_ignores_what_passes_and_the_noise_is_robust() {
        let (w, h) = (8, 4);
        let base = 102.0 / 255.0;
        let mut frames = Vec::new();
        for t in 0..9 {
            let mut f = vec![base; w * h];
            // A dark object crossing column t (fewer than half the frames at any pixel).
            if t < w {
                for y in 0..h {
                    f[y * w + t] = 0.0;
                }
            }
            // Pixel 1 is one level brighter in five frames of nine.
            if t % 2 == 0 {
                f[1] += 1.0 / 255.0;
            }
            frames.push(f);
        }
        let bg = Background::fit(frames.iter().map(|f| Frame::new(w, h, f).unwrap())).unwrap();
        for (i, &p) in bg.pixels.iter().enumerate() {
            let expected = if i == 1 { 103.0 } else { 102.0 } / 255.0;
            assert!((p - expected).abs() < 1e-6, "pixel {i}: {p}");
        }
        // Most pixels of most frames sit on the background: the noise is its floor.
        assert_eq!(bg.noise, 1.0 / 255.0);
        assert!(Background::fit(std::iter::empty()).is_none());
    }
}
