//! [`ObjectModel`]: the objects of normal footage, and how unusual a new one is among them.

use serde::{Deserialize, Serialize};

use crate::{Background, DetectConfig, Frame, Object, SceneState, N_FEATURES};

/// How an object model is fitted and scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectModelConfig {
    pub detect: DetectConfig,
    /// Neighbours an object's score averages its distances to.
    pub k: usize,
    /// At most this many normal objects are kept (evenly spaced over the training
    /// frames): the cost of a score grows with it.
    pub max_objects: usize,
    /// Every this many training frames is a sample of the background.
    pub background_every: usize,
}

impl Default for ObjectModelConfig {
    fn default() -> Self {
        ObjectModelConfig {
            detect: DetectConfig::default(),
            k: 5,
            max_objects: 20_000,
            background_every: 5,
        }
    }
}

/// The background of a scene and the standardised features of its normal objects.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ObjectModel {
    pub config: ObjectModelConfig,
    pub background: Background,
    /// Per feature: the mean and standard deviation of the normal objects'.
    pub mean: [f32; N_FEATURES],
    pub scale: [f32; N_FEATURES],
    /// The normal objects, standardised.
    pub objects: Vec<[f32; N_FEATURES]>,
}

impl ObjectModel {
    /// Fits a model to normal `clips` (each its frames in order, all of one size).
    /// `None` when there are no frames, their sizes differ, or no object was seen.
    pub fn fit(clips: &[Vec<Frame<'_>>], config: &ObjectModelConfig) -> Option<Self> {
        let every = config.background_every.max(1);
        let samples = clips.iter().flat_map(|c| c.iter().step_by(every).copied());
        let background = Background::fit(samples)?;
        let mut raw = Vec::new();
        for clip in clips {
            let mut scene = SceneState::new(&background);
            for &frame in clip {
                for o in scene.objects(frame, &config.detect) {
                    raw.push(o.features(frame.width, frame.height));
                }
            }
        }
        if raw.is_empty() {
            return None;
        }
        let n = raw.len() as f64;
        let mut mean = [0f32; N_FEATURES];
        let mut scale = [0f32; N_FEATURES];
        for d in 0..N_FEATURES {
            let m = raw.iter().map(|f| f64::from(f[d])).sum::<f64>() / n;
            let var = raw
                .iter()
                .map(|f| (f64::from(f[d]) - m).powi(2))
                .sum::<f64>()
                / n;
            mean[d] = m as f32;
            // A feature that never varies weighs as if it varied by 1 % of its range.
            scale[d] = (var.sqrt() as f32).max(1e-2);
        }
        let step = raw.len().div_ceil(config.max_objects.max(1));
        let objects = raw
            .iter()
            .step_by(step)
            .map(|f| standardise(f, &mean, &scale))
            .collect();
        Some(ObjectModel {
            config: config.clone(),
            background,
            mean,
            scale,
            objects,
        })
    }

    /// How unusual `object` is: its mean distance to its `k` nearest normal objects, in
    /// standard deviations.
    pub fn object_score(&self, object: &Object) -> f64 {
        let f = object.features(self.background.width, self.background.height);
        let f = standardise(&f, &self.mean, &self.scale);
        let k = self.config.k.clamp(1, self.objects.len());
        // The k smallest squared distances, kept sorted.
        let mut nearest = vec![f32::INFINITY; k];
        for o in &self.objects {
            let d: f32 = o.iter().zip(&f).map(|(a, b)| (a - b) * (a - b)).sum();
            if d < nearest[k - 1] {
                let at = nearest.partition_point(|&n| n <= d);
                nearest.insert(at, d);
                nearest.pop();
            }
        }
        nearest.iter().map(|&d| f64::from(d).sqrt()).sum::<f64>() / k as f64
    }

    /// A stream's state before its first frame.
    pub fn scene(&self) -> SceneState {
        SceneState::new(&self.background)
    }

    /// The score of the stream's next frame: its most unusual object's (0 with none).
    pub fn frame_score(&self, scene: &mut SceneState, frame: Frame<'_>) -> f64 {
        scene
            .objects(frame, &self.config.detect)
            .iter()
            .map(|o| self.object_score(o))
            .fold(0.0, f64::max)
    }

    /// Every frame's score of a clip, in order, as a stream of it scores them.
    pub fn clip_scores(&self, frames: &[Frame<'_>]) -> Vec<f64> {
        let mut scene = self.scene();
        frames
            .iter()
            .map(|&f| self.frame_score(&mut scene, f))
            .collect()
    }
}

fn standardise(
    f: &[f32; N_FEATURES],
    mean: &[f32; N_FEATURES],
    scale: &[f32; N_FEATURES],
) -> [f32; N_FEATURES] {
    std::array::from_fn(|d| (f[d] - mean[d]) / scale[d])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of a textured square crossing a flat scene at `speed` pixels a frame,
    /// starting at column `x`.
    fn clip(w: usize, h: usize, x: usize, speed: usize, frames: usize) -> Vec<Vec<f32>> {
        (0..frames)
            .map(|t| {
                let mut f = vec![0.5; w * h];
                let x0 = x + t * speed;
                for yy in 20..32 {
                    for xx in x0..(x0 + 10).min(w) {
                        f[yy * w + xx] = if (xx * 7 + yy * 3) % 5 < 2 { 0.1 } else { 0.9 };
                    }
                }
                f
            })
            .collect()
    }

    fn frames(c: &[Vec<f32>], w: usize, h: usize) -> Vec<Frame<'_>> {
        c.iter().map(|f| Frame::new(w, h, f).unwrap()).collect()
    }

    #[test]
    fn a_fast_object_scores_above_the_slow_ones_it_was_fitted_to() {
        let (w, h) = (96, 48);
        let walks: Vec<_> = (0..4).map(|i| clip(w, h, 2 + 3 * i, 1, 40)).collect();
        let walk_frames: Vec<_> = walks.iter().map(|c| frames(c, w, h)).collect();
        let model = ObjectModel::fit(&walk_frames, &ObjectModelConfig::default()).unwrap();
        assert!(!model.objects.is_empty());
        let walk = clip(w, h, 10, 1, 20);
        let run = clip(w, h, 10, 4, 20);
        let walk_scores = model.clip_scores(&frames(&walk, w, h));
        let run_scores = model.clip_scores(&frames(&run, w, h));
        // The first frame has no motion to score.
        let worst_walk = walk_scores[1..].iter().copied().fold(0.0, f64::max);
        let least_run = run_scores[1..]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        assert!(
            least_run > 2.0 * worst_walk,
            "walk {worst_walk}, run {least_run}"
        );
        // An empty frame scores 0.
        let empty = vec![0.5; w * h];
        let mut scene = model.scene();
        assert_eq!(
            model.frame_score(&mut scene, Frame::new(w, h, &empty).unwrap()),
            0.0
        );
    }
}
