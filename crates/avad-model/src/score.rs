//! Reconstruction errors of the visual model (paper eq. 3) per frame, and per-pixel error
//! maps for localisation.
//!
//! A clip is cut into stride-1 windows of `steps` frames, one every `hop` frames (plus one
//! ending on the last frame, so every frame is covered; avad-data's `scoring_windows`).
//! In each window, frame `t`'s error is the Euclidean distance between the frame and its
//! reconstruction, `e = ‖x_t − f(x)_t‖₂` over its pixels. A frame covered by several
//! windows (`hop < steps`) gets the mean of its errors: each frame's score belongs to that
//! frame, never to a window's first or last one. Error maps hold the squared error per
//! pixel, averaged the same way and pooled over `block x block` pixel blocks.
//!
//! The patch score ([`PatchScorer`]) is avad's other frame error, read from such maps: the
//! worst patch's excess over what normal frames show there. The motion score reads the
//! same way maps of the residual's change from one frame to the next,
//! `(x_t − f(x)_t) − (x_{t−1} − f(x)_{t−1})`: where the reconstruction fails to follow the
//! movement. [`calibrate_visual`] fits the three calibrations (and the normal baselines of
//! both patch scores) on held-out normal clips.

use avad_data::windows::scoring_windows;
use avad_eval::normalize::Calibration;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::sequences::FrameClip;
use crate::visual::VisualAutoencoder;
use crate::{ModelError, SettingError};

/// How a clip is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScoreOptions {
    /// Frames per window (the model's sequence length, 10 in the paper).
    pub steps: usize,
    /// Frames between window starts (1: every frame starts a window).
    pub hop: usize,
    /// Windows per forward pass.
    pub batch: usize,
    /// Side of the pixel blocks of the error maps; `None`: no maps.
    pub map_block: Option<usize>,
    /// Side of the pixel blocks of the maps the patch and motion scores read
    /// ([`PatchScorer`]); `None`: no such maps.
    pub patch_block: Option<usize>,
    /// Give each frame its error in the first window that covers it (the window that
    /// completes soonest after it), as a live scorer must, instead of the mean over every
    /// covering window.
    pub causal: bool,
}

/// Pooled squared-error maps, one per frame.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorMaps {
    /// Map height (frame height / block).
    pub height: usize,
    /// Map width (frame width / block).
    pub width: usize,
    /// `frames * height * width` values, frame after frame, row-major.
    pub values: Vec<f32>,
}

impl ErrorMaps {
    /// The map of frame `index`.
    pub fn frame(&self, index: usize) -> &[f32] {
        let plane = self.height * self.width;
        &self.values[index * plane..(index + 1) * plane]
    }
}

/// Errors of one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipErrors {
    /// Reconstruction error of each frame (eq. 3).
    pub errors: Vec<f64>,
    /// Pooled per-pixel squared errors, when asked for.
    pub maps: Option<ErrorMaps>,
    /// The same at [`ScoreOptions::patch_block`], when asked for.
    pub patch_maps: Option<ErrorMaps>,
    /// Pooled squared change of the residual from the frame before, at the same block,
    /// when asked for: at window position `i ≥ 1`, `((x_i − f(x)_i) − (x_{i−1} −
    /// f(x)_{i−1}))²`; position 0, which has no frame before it in its window, takes
    /// position 1's, so every window covers its frames as for the other maps.
    pub motion_maps: Option<ErrorMaps>,
}

/// Scores every frame of `clip` with `model` (in validation mode, see
/// [`burn::module::Module::valid`]) on `device`. `on_window` is called after each batch with
/// the number of windows done and the total, for progress reports.
pub fn visual_errors(
    model: &VisualAutoencoder,
    clip: &FrameClip,
    options: &ScoreOptions,
    device: &Device,
    on_window: &mut dyn FnMut(usize, usize),
) -> Result<ClipErrors, ModelError> {
    let frames = clip.frames();
    let (h, w, steps) = (clip.height, clip.width, options.steps);
    if frames < steps {
        return Err(ModelError::Data(format!(
            "clip {} has {frames} frames, fewer than the {steps} of one window",
            clip.name
        )));
    }
    if options.hop == 0 || options.batch == 0 {
        return Err(ModelError::Data("hop and batch must be at least 1".into()));
    }
    let block = options.map_block.unwrap_or(1).max(1);
    if options.map_block.is_some() && (h % block != 0 || w % block != 0) {
        return Err(ModelError::Data(format!(
            "error-map block {block} does not divide the {w}x{h} frames"
        )));
    }
    let patch_block = options.patch_block.unwrap_or(1).max(1);
    if options.patch_block.is_some() && (h % patch_block != 0 || w % patch_block != 0) {
        return Err(ModelError::Data(format!(
            "patch block {patch_block} does not divide the {w}x{h} frames"
        )));
    }
    let mut maps = MapSums::new(
        options.map_block.map(|_| (h / block, w / block, block)),
        frames,
    );
    let patch_shape = options
        .patch_block
        .map(|_| (h / patch_block, w / patch_block, patch_block));
    let mut patch_maps = MapSums::new(patch_shape, frames);
    let mut motion_maps = MapSums::new(if steps > 1 { patch_shape } else { None }, frames);
    let windows = scoring_windows(frames, steps, options.hop);
    let mut sums = vec![0.0f64; frames];
    let mut counts = vec![0u32; frames];
    let mut values = Vec::new();
    let mut done = 0;
    for chunk in windows.chunks(options.batch) {
        values.clear();
        for window in chunk {
            clip.window_values(window, &mut values);
        }
        let b = chunk.len();
        let input =
            Tensor::<5>::from_data(TensorData::new(values.clone(), [b, steps, 1, h, w]), device);
        let output = model.forward(input.clone())?;
        let residual = output - input;
        let motion_pooled = match motion_maps.shape {
            None => None,
            Some(_) => {
                let change = residual.clone().slice([0..b, 1..steps])
                    - residual.clone().slice([0..b, 0..steps - 1]);
                let change = Tensor::cat(vec![change.clone().slice([0..b, 0..1]), change], 1);
                motion_maps.pool(
                    &change.powi_scalar(2).reshape([b * steps, 1, h, w]),
                    b * steps,
                )?
            }
        };
        let squared = residual.powi_scalar(2).reshape([b * steps, 1, h, w]);
        let per_frame =
            crate::tensor_values(squared.clone().sum_dims(&[1, 2, 3]).reshape([b * steps]))?;
        let pooled = maps.pool(&squared, b * steps)?;
        let patch_pooled = patch_maps.pool(&squared, b * steps)?;
        for (k, window) in chunk.iter().enumerate() {
            for (i, frame) in window.frames().enumerate() {
                let row = k * steps + i;
                if options.causal && counts[frame] > 0 {
                    continue;
                }
                sums[frame] += f64::from(per_frame[row]).sqrt();
                counts[frame] += 1;
                maps.add(frame, row, pooled.as_deref());
                patch_maps.add(frame, row, patch_pooled.as_deref());
                motion_maps.add(frame, row, motion_pooled.as_deref());
            }
        }
        done += b;
        on_window(done, windows.len());
    }
    let errors = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / f64::from(c.max(1)))
        .collect();
    Ok(ClipErrors {
        errors,
        maps: maps.finish(&counts),
        patch_maps: patch_maps.finish(&counts),
        motion_maps: motion_maps.finish(&counts),
    })
}

/// Sums of pooled squared-error maps per frame, while windows are scored.
struct MapSums {
    /// Map height, width and block side; `None`: no maps asked for.
    shape: Option<(usize, usize, usize)>,
    values: Vec<f32>,
}

impl MapSums {
    fn new(shape: Option<(usize, usize, usize)>, frames: usize) -> Self {
        let values = shape.map_or(Vec::new(), |(mh, mw, _)| vec![0.0; frames * mh * mw]);
        MapSums { shape, values }
    }

    /// Mean of `squared` (`[n, 1, h, w]`) over block x block pixel blocks: `[n, mh, block,
    /// mw, block]` summed on 2 and 4. `None` when no maps are asked for.
    fn pool(&self, squared: &Tensor<4>, n: usize) -> Result<Option<Vec<f32>>, ModelError> {
        let Some((mh, mw, block)) = self.shape else {
            return Ok(None);
        };
        if block == 1 {
            return Ok(Some(crate::tensor_values(squared.clone())?));
        }
        Ok(Some(crate::tensor_values(
            squared
                .clone()
                .reshape([n, mh, block, mw, block])
                .sum_dims(&[2, 4])
                .div_scalar((block * block) as f32),
        )?))
    }

    /// Adds row `row` of `pooled` to frame `frame`'s sum.
    fn add(&mut self, frame: usize, row: usize, pooled: Option<&[f32]>) {
        let (Some((mh, mw, _)), Some(pooled)) = (self.shape, pooled) else {
            return;
        };
        let plane = mh * mw;
        let dst = &mut self.values[frame * plane..(frame + 1) * plane];
        for (d, s) in dst.iter_mut().zip(&pooled[row * plane..(row + 1) * plane]) {
            *d += s;
        }
    }

    /// The mean map of each frame over the `counts` windows that covered it.
    fn finish(self, counts: &[u32]) -> Option<ErrorMaps> {
        let (mh, mw, _) = self.shape?;
        let mut values = self.values;
        let plane = mh * mw;
        for (frame, &c) in counts.iter().enumerate() {
            for v in &mut values[frame * plane..(frame + 1) * plane] {
                *v /= c.max(1) as f32;
            }
        }
        Some(ErrorMaps {
            height: mh,
            width: mw,
            values,
        })
    }
}

/// Frames are cut into about this many blocks a side for the patch score (4x4 pixels at
/// 96x96, 10x10 at 240x240).
pub const PATCH_GRID: usize = 24;
/// A patch is a sixth of the frame side (4 blocks of a 24-block grid): about one
/// pedestrian on UCSD Ped2.
pub const PATCH_FRACTION: f64 = 1.0 / 6.0;

/// The patch score: avad's departure from eq. 3, which sums the squared error over the
/// whole frame. A frame's error there grows with every pedestrian in view, so a crowded
/// normal frame can outscore a frame with one cyclist. The patch score looks at one place
/// at a time instead:
///
/// 1. the squared error is averaged over `block x block` pixel blocks (a
///    [`PATCH_GRID`]-sided map);
/// 2. from each block the mean squared error of that block over held-out normal frames is
///    subtracted (`baseline`: where normal motion always reconstructs worse, such as the
///    walkway near the camera, counts less);
/// 3. the frame's score is the largest mean of that excess over any `patch x patch`
///    square of blocks.
///
/// Nothing here sees a label: the baseline comes from normal clips only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchScorer {
    /// Side of the pixel blocks, in pixels.
    pub block: usize,
    /// Side of the patch, in blocks.
    pub patch: usize,
    /// Map side, in blocks.
    pub grid: usize,
    /// Mean squared error of each block over normal frames, `grid * grid`, row-major.
    pub baseline: Vec<f32>,
}

impl PatchScorer {
    /// The block side for frames of `side` pixels: the largest divisor of `side` that is
    /// at most `side / PATCH_GRID` (exactly that when [`PATCH_GRID`] divides `side`).
    pub fn block_for(side: usize) -> usize {
        let most = (side / PATCH_GRID).max(1);
        (1..=most)
            .rev()
            .find(|b| side.is_multiple_of(*b))
            .unwrap_or(1)
    }

    /// The patch side, in blocks, on a `grid`-block map: [`PATCH_FRACTION`] of it.
    pub fn patch_for(grid: usize) -> usize {
        ((grid as f64 * PATCH_FRACTION).round() as usize).clamp(1, grid.max(1))
    }

    /// Checks that the fields agree with each other and with frames of `side` pixels (a card
    /// read from disk may not).
    pub fn check(&self, side: usize) -> Result<(), SettingError> {
        let block = Self::block_for(side);
        if self.block != block || self.grid * block != side {
            return Err(format!(
                "patch block {} and grid {} for {side}x{side} frames, expected block {block} and grid {}",
                self.block,
                self.grid,
                side / block
            ).into());
        }
        if self.patch == 0 || self.patch > self.grid {
            return Err(
                format!("patch {} does not fit a grid of {}", self.patch, self.grid).into(),
            );
        }
        if self.baseline.len() != self.grid * self.grid {
            return Err(format!(
                "patch baseline has {} values, not {}",
                self.baseline.len(),
                self.grid * self.grid
            )
            .into());
        }
        if self.baseline.iter().any(|v| !v.is_finite()) {
            return Err("patch baseline holds a non-finite value".into());
        }
        Ok(())
    }

    /// The patch score of each frame of `maps` (pooled at [`PatchScorer::block`]).
    pub fn scores(&self, maps: &ErrorMaps) -> Result<Vec<f64>, ModelError> {
        if maps.height != self.grid || maps.width != self.grid {
            return Err(ModelError::Data(format!(
                "error maps of {}x{} blocks, the patch score expects {}x{}",
                maps.width, maps.height, self.grid, self.grid
            )));
        }
        let frames = maps.values.len() / (self.grid * self.grid);
        Ok((0..frames)
            .map(|f| patch_max(maps.frame(f), &self.baseline, self.grid, self.patch))
            .collect())
    }
}

/// The largest mean of `map − baseline` over the `patch x patch` squares of a `grid`-sided
/// map, through a summed-area table (in f64).
fn patch_max(map: &[f32], baseline: &[f32], grid: usize, patch: usize) -> f64 {
    let g1 = grid + 1;
    let mut table = vec![0.0f64; g1 * g1];
    for y in 0..grid {
        let mut row = 0.0;
        for x in 0..grid {
            row += f64::from(map[y * grid + x]) - f64::from(baseline[y * grid + x]);
            table[(y + 1) * g1 + x + 1] = table[y * g1 + x + 1] + row;
        }
    }
    let mut best = f64::NEG_INFINITY;
    for y in 0..=grid - patch {
        for x in 0..=grid - patch {
            let (y1, x1) = (y + patch, x + patch);
            let sum =
                table[y1 * g1 + x1] - table[y * g1 + x1] - table[y1 * g1 + x] + table[y * g1 + x];
            best = best.max(sum);
        }
    }
    best / (patch * patch) as f64
}

/// The patch scorer of normal clips' `maps` (one [`ErrorMaps`] per clip, pooled at
/// `block`) and the patch scores of their frames to calibrate on.
///
/// The saved baseline is the mean map over every frame. The calibration scores are
/// cross-fitted: each clip's frames are scored against the baseline of the *other* clips,
/// so that the calibration, like a test clip, never sees a baseline fitted on itself (with
/// a single clip there is no other, and its own baseline is used).
pub fn fit_patch_scorer(
    maps: &[ErrorMaps],
    block: usize,
) -> Result<(PatchScorer, Vec<f64>), ModelError> {
    let Some(first) = maps.first() else {
        return Err(ModelError::Data(
            "no normal clips to fit the patch score on".into(),
        ));
    };
    let grid = first.height;
    if maps.iter().any(|m| m.height != grid || m.width != grid) {
        return Err(ModelError::Data(
            "the normal clips' error maps differ in size".into(),
        ));
    }
    let plane = grid * grid;
    let sums: Vec<Vec<f64>> = maps
        .iter()
        .map(|m| {
            let mut s = vec![0.0f64; plane];
            for frame in m.values.chunks_exact(plane) {
                for (a, &v) in s.iter_mut().zip(frame) {
                    *a += f64::from(v);
                }
            }
            s
        })
        .collect();
    let counts: Vec<usize> = maps.iter().map(|m| m.values.len() / plane).collect();
    let total_count: usize = counts.iter().sum();
    if total_count == 0 {
        return Err(ModelError::Data("the normal clips have no frames".into()));
    }
    let mut total = vec![0.0f64; plane];
    for s in &sums {
        for (t, v) in total.iter_mut().zip(s) {
            *t += v;
        }
    }
    let mean_of = |sum: &[f64], n: usize| {
        sum.iter()
            .map(|&v| (v / n as f64) as f32)
            .collect::<Vec<f32>>()
    };
    let scorer = PatchScorer {
        block,
        patch: PatchScorer::patch_for(grid),
        grid,
        baseline: mean_of(&total, total_count),
    };
    let mut scores = Vec::with_capacity(total_count);
    for (k, m) in maps.iter().enumerate() {
        let others = total_count - counts[k];
        let held = if others == 0 {
            scorer.clone()
        } else {
            let rest: Vec<f64> = total.iter().zip(&sums[k]).map(|(t, s)| t - s).collect();
            PatchScorer {
                baseline: mean_of(&rest, others),
                ..scorer.clone()
            }
        };
        scores.extend(held.scores(m)?);
    }
    Ok((scorer, scores))
}

/// The calibrations of a visual model on normal clips.
#[derive(Debug, Clone)]
pub struct VisualCalibration {
    /// Of the frame errors (eq. 3).
    pub frame: Calibration,
    /// The patch scorer and the calibration of its (cross-fitted) scores.
    pub patch: (PatchScorer, Calibration),
    /// The same for the motion score (patches of the residual's change).
    pub motion: (PatchScorer, Calibration),
}

/// Scores the normal `clips` with `model` (stride-1 windows every `hop` frames, as
/// [`visual_errors`]) and calibrates the three frame errors: eq. 3's, the patch score's and
/// the motion score's.
/// `on_clip` is called after each clip with its index.
pub fn calibrate_visual(
    model: &VisualAutoencoder,
    clips: &[&FrameClip],
    steps: usize,
    hop: usize,
    device: &Device,
    on_clip: &mut dyn FnMut(usize),
) -> Result<VisualCalibration, ModelError> {
    let side = clips.first().map_or(0, |c| c.height);
    if clips.iter().any(|c| c.height != side || c.width != side) {
        return Err(ModelError::Data(
            "calibration clips must all have square frames of one size".into(),
        ));
    }
    let block = PatchScorer::block_for(side);
    let options = ScoreOptions {
        steps,
        hop,
        batch: 4,
        map_block: None,
        patch_block: Some(block),
        causal: false,
    };
    let mut errors = Vec::new();
    let mut maps = Vec::with_capacity(clips.len());
    let mut motion_maps = Vec::with_capacity(clips.len());
    for (k, clip) in clips.iter().enumerate() {
        let e = visual_errors(model, clip, &options, device, &mut |_, _| {})?;
        errors.extend(e.errors);
        maps.extend(e.patch_maps);
        motion_maps.extend(e.motion_maps);
        on_clip(k);
    }
    let frame = Calibration::fit(&errors)
        .map_err(|e| ModelError::Data(format!("calibrating the frame errors: {e}")))?;
    let (scorer, scores) = fit_patch_scorer(&maps, block)?;
    let patch = Calibration::fit(&scores)
        .map_err(|e| ModelError::Data(format!("calibrating the patch scores: {e}")))?;
    if motion_maps.len() != maps.len() {
        return Err(ModelError::Data(format!(
            "the motion score needs windows of at least 2 frames, not {steps}"
        )));
    }
    let (motion_scorer, scores) = fit_patch_scorer(&motion_maps, block)?;
    let motion = Calibration::fit(&scores)
        .map_err(|e| ModelError::Data(format!("calibrating the motion scores: {e}")))?;
    Ok(VisualCalibration {
        frame,
        patch: (scorer, patch),
        motion: (motion_scorer, motion),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(grid: usize, frames: &[Vec<f32>]) -> ErrorMaps {
        ErrorMaps {
            height: grid,
            width: grid,
            values: frames.concat(),
        }
    }

    #[test]
    fn patch_score_is_the_largest_patch_mean_of_the_excess_over_normal() {
        // A 4x4 grid, 2x2 patches. Baseline 1 everywhere but 5 at (0, 0).
        let mut baseline = vec![1.0f32; 16];
        baseline[0] = 5.0;
        let scorer = PatchScorer {
            block: 1,
            patch: 2,
            grid: 4,
            baseline,
        };
        // Frame 0: error 5 at (0, 0), where normal is 5 too, and 3 at (3, 3): the best patch
        // is the one holding (3, 3), excess (3 − 1 + 0 + 0 + 0) / 4 = 0.5.
        let mut a = vec![1.0f32; 16];
        a[0] = 5.0;
        a[15] = 3.0;
        // Frame 1: normal everywhere: every patch's excess is 0.
        let b = vec![1.0f32; 16];
        // Frame 2: a 2x2 square of 2s at rows 1-2, columns 1-2: excess 1 in that patch.
        let mut c = vec![1.0f32; 16];
        for i in [5, 6, 9, 10] {
            c[i] = 2.0;
        }
        let s = scorer.scores(&maps(4, &[a, b, c])).unwrap();
        assert_eq!(s, vec![0.5, 0.0, 1.0]);
        // Maps of another size are refused.
        assert!(scorer.scores(&maps(2, &[vec![0.0; 4]])).is_err());
    }

    #[test]
    fn patch_scorer_is_fitted_on_normal_maps_and_calibrates_cross_fitted() {
        // Two clips on a 4x4 grid.
        let grid = 4;
        let one = |v: f32| vec![v; grid * grid];
        let clip_a = maps(grid, &[one(1.0), one(3.0)]); // mean 2
        let clip_b = maps(grid, &[one(6.0)]); // mean 6
        let (scorer, scores) = fit_patch_scorer(&[clip_a, clip_b], 2).unwrap();
        assert_eq!(scorer.block, 2);
        assert_eq!(scorer.patch, 1); // a sixth of 4 blocks, rounded
                                     // The saved baseline is the mean over all three frames: (1 + 3 + 6) / 3.
        assert!(scorer
            .baseline
            .iter()
            .all(|&v| (v - 10.0 / 3.0).abs() < 1e-6));
        // Clip a is scored against clip b's baseline (6), clip b against clip a's (2).
        assert_eq!(scores, vec![-5.0, -3.0, 4.0]);
        // A single clip is scored against itself.
        let (_, alone) = fit_patch_scorer(&[maps(grid, &[one(1.0), one(3.0)])], 2).unwrap();
        assert_eq!(alone, vec![-1.0, 1.0]);
        assert!(fit_patch_scorer(&[], 2).is_err());
    }

    #[test]
    fn patch_geometry_is_a_24_block_grid_where_it_divides() {
        assert_eq!(PatchScorer::block_for(96), 4);
        assert_eq!(PatchScorer::block_for(240), 10);
        assert_eq!(PatchScorer::block_for(48), 2);
        assert_eq!(PatchScorer::block_for(64), 2); // 64 / 24 = 2.67: the divisor 2
        assert_eq!(PatchScorer::block_for(8), 1);
        assert_eq!(PatchScorer::patch_for(24), 4);
        assert_eq!(PatchScorer::patch_for(32), 5);
        assert_eq!(PatchScorer::patch_for(1), 1);
    }
}
