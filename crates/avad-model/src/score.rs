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

use avad_data::windows::scoring_windows;
use burn::tensor::{Device, Tensor, TensorData};

use crate::sequences::FrameClip;
use crate::visual::VisualAutoencoder;
use crate::ModelError;

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
    let (mh, mw) = (h / block, w / block);
    let windows = scoring_windows(frames, steps, options.hop);
    let mut sums = vec![0.0f64; frames];
    let mut counts = vec![0u32; frames];
    let mut map_sums = options.map_block.map(|_| vec![0.0f32; frames * mh * mw]);
    let mut values = Vec::new();
    let mut done = 0;
    for chunk in windows.chunks(options.batch) {
        values.clear();
        for window in chunk {
            clip.window_values(window, &mut values);
        }
        let b = chunk.len();
        let input = Tensor::<5>::from_data(TensorData::new(values.clone(), [b, steps, 1, h, w]), device);
        let output = model.forward(input.clone())?;
        let squared = (output - input).powi_scalar(2).reshape([b * steps, 1, h, w]);
        let per_frame = crate::tensor_values(squared.clone().sum_dims(&[1, 2, 3]).reshape([b * steps]))?;
        let pooled = match map_sums {
            // Mean over block x block pixel blocks: [n, mh, block, mw, block] summed on 2, 4.
            Some(_) if block > 1 => Some(crate::tensor_values(
                squared
                    .reshape([b * steps, mh, block, mw, block])
                    .sum_dims(&[2, 4])
                    .div_scalar((block * block) as f32),
            )?),
            Some(_) => Some(crate::tensor_values(squared)?),
            None => None,
        };
        for (k, window) in chunk.iter().enumerate() {
            for (i, frame) in window.frames().enumerate() {
                let row = k * steps + i;
                if options.causal && counts[frame] > 0 {
                    continue;
                }
                sums[frame] += f64::from(per_frame[row]).sqrt();
                counts[frame] += 1;
                if let (Some(maps), Some(pooled)) = (map_sums.as_mut(), pooled.as_ref()) {
                    let plane = mh * mw;
                    let dst = &mut maps[frame * plane..(frame + 1) * plane];
                    for (d, s) in dst.iter_mut().zip(&pooled[row * plane..(row + 1) * plane]) {
                        *d += s;
                    }
                }
            }
        }
        done += b;
        on_window(done, windows.len());
    }
    let errors = sums.iter().zip(&counts).map(|(s, &c)| s / f64::from(c.max(1))).collect();
    let maps = map_sums.map(|mut values| {
        let plane = mh * mw;
        for (frame, &c) in counts.iter().enumerate() {
            for v in &mut values[frame * plane..(frame + 1) * plane] {
                *v /= c.max(1) as f32;
            }
        }
        ErrorMaps {
            height: mh,
            width: mw,
            values,
        }
    });
    Ok(ClipErrors { errors, maps })
}
