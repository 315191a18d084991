//! Frame sequences for the visual model: clips held in memory as gray frames at the model's
//! size, cut into training windows (avad-data's strides 1/2/3), split into training and
//! validation by whole clips, and batched as `[batch, steps, 1, height, width]` tensors.

use avad_data::windows::{training_windows, Window};
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::train::{Part, Samples, SplitMix64};
use crate::ModelError;

/// One clip's frames at the model size, row-major, values in [0, 1].
#[derive(Debug, Clone)]
pub struct FrameClip {
    /// The clip's name (for reports).
    pub name: String,
    /// Frame height in pixels.
    pub height: usize,
    /// Frame width in pixels.
    pub width: usize,
    /// `frames * height * width` values.
    pub pixels: Vec<f32>,
}

impl FrameClip {
    /// A clip from frames of `height x width` pixels each.
    pub fn new(
        name: String,
        height: usize,
        width: usize,
        frames: Vec<Vec<f32>>,
    ) -> Result<Self, ModelError> {
        let plane = height * width;
        if let Some(bad) = frames.iter().position(|f| f.len() != plane) {
            return Err(ModelError::Data(format!(
                "clip {name}: frame {bad} has {} pixels, expected {height}x{width}",
                frames[bad].len()
            )));
        }
        Ok(FrameClip {
            name,
            height,
            width,
            pixels: frames.concat(),
        })
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.pixels.len() / (self.height * self.width).max(1)
    }

    /// Pixels of frame `index`.
    pub fn frame(&self, index: usize) -> &[f32] {
        let plane = self.height * self.width;
        &self.pixels[index * plane..(index + 1) * plane]
    }

    /// The frames of `window` as one `[1, steps, 1, h, w]`-ordered run of values.
    pub fn window_values(&self, window: &Window, out: &mut Vec<f32>) {
        for f in window.frames() {
            out.extend_from_slice(self.frame(f));
        }
    }
}

/// What the visual model sees of each frame (a visual preset's `input`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VisualInput {
    /// The gray frame itself, as the paper feeds it (§3.2.1). Models whose preset predates
    /// `input` see frames.
    #[default]
    Frames,
    /// The frame's change from the frame before, `(x_t − x_{t−1} + 1) / 2`: still
    /// background is 0.5, and what moves leaves a dark and a light edge whose distance apart
    /// is its speed. A stream's first frame has no frame before it and counts as still.
    Differences,
}

impl VisualInput {
    /// The name a preset gives it.
    pub fn name(self) -> &'static str {
        match self {
            VisualInput::Frames => "frames",
            VisualInput::Differences => "differences",
        }
    }
}

/// Frames in, the model's input out, one frame at a time, in order: what a clip
/// ([`FrameClip::with_input`]) and a live stream both go through.
#[derive(Debug, Clone)]
pub struct InputStream {
    input: VisualInput,
    /// The frame before, for [`VisualInput::Differences`]; `None` at the start.
    previous: Option<Vec<f32>>,
}

impl InputStream {
    /// A stream that starts now (its first frame has no frame before it).
    pub fn new(input: VisualInput) -> Self {
        InputStream {
            input,
            previous: None,
        }
    }

    /// The model input of the next `frame`: the frame itself, or `(x_t − x_{t−1} + 1) / 2`
    /// (all 0.5, still, for the stream's first frame).
    pub fn next(&mut self, frame: Vec<f32>) -> Vec<f32> {
        match self.input {
            VisualInput::Frames => frame,
            VisualInput::Differences => {
                let seen = match &self.previous {
                    None => vec![0.5; frame.len()],
                    Some(prev) => frame
                        .iter()
                        .zip(prev)
                        .map(|(&x, &p)| (x - p + 1.0) * 0.5)
                        .collect(),
                };
                self.previous = Some(frame);
                seen
            }
        }
    }
}

impl FrameClip {
    /// The clip as the model sees it under `input` (unchanged for [`VisualInput::Frames`]).
    pub fn with_input(self, input: VisualInput) -> FrameClip {
        if input == VisualInput::Frames {
            return self;
        }
        let plane = self.height * self.width;
        let mut stream = InputStream::new(input);
        let mut pixels = Vec::with_capacity(self.pixels.len());
        for frame in self.pixels.chunks_exact(plane.max(1)) {
            pixels.extend(stream.next(frame.to_vec()));
        }
        FrameClip { pixels, ..self }
    }
}

/// Splits `clips` clip indices into (training, validation): `fraction` of the clips
/// (rounded, at least one when there are two or more clips, never all) chosen by `seed`.
pub fn split_clips(clips: usize, fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..clips).collect();
    SplitMix64::new(seed ^ 0x5eed_c11f).shuffle(&mut order);
    let mut n_valid = (clips as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
    if fraction > 0.0 && clips >= 2 {
        n_valid = n_valid.clamp(1, clips - 1);
    }
    let n_valid = n_valid.min(clips.saturating_sub(1));
    let mut valid: Vec<usize> = order[..n_valid].to_vec();
    let mut train: Vec<usize> = order[n_valid..].to_vec();
    valid.sort_unstable();
    train.sort_unstable();
    (train, valid)
}

/// Training and validation windows over in-memory clips.
#[derive(Debug)]
pub struct SequenceSet {
    clips: Vec<FrameClip>,
    train: Vec<(usize, Window)>,
    validation: Vec<(usize, Window)>,
    steps: usize,
}

impl SequenceSet {
    /// Windows of `steps` frames at `strides` (paper §4.3: 1, 2, 3) over `clips`; the clips
    /// listed in `validation_clips` give the validation windows, the others the training ones.
    /// All clips must share one frame size.
    pub fn new(
        clips: Vec<FrameClip>,
        validation_clips: &[usize],
        steps: usize,
        strides: &[usize],
    ) -> Result<Self, ModelError> {
        if let Some(first) = clips.first() {
            if let Some(c) = clips
                .iter()
                .find(|c| (c.height, c.width) != (first.height, first.width))
            {
                return Err(ModelError::Data(format!(
                    "clip {} is {}x{}, clip {} is {}x{}: all clips must have one size",
                    c.name, c.width, c.height, first.name, first.width, first.height
                )));
            }
        }
        let mut train = Vec::new();
        let mut validation = Vec::new();
        for (i, clip) in clips.iter().enumerate() {
            let target = if validation_clips.contains(&i) {
                &mut validation
            } else {
                &mut train
            };
            target.extend(
                training_windows(clip.frames(), steps, strides)
                    .into_iter()
                    .map(|w| (i, w)),
            );
        }
        Ok(SequenceSet {
            clips,
            train,
            validation,
            steps,
        })
    }

    /// The clips.
    pub fn clips(&self) -> &[FrameClip] {
        &self.clips
    }

    fn windows(&self, part: Part) -> &[(usize, Window)] {
        match part {
            Part::Train => &self.train,
            Part::Validation => &self.validation,
        }
    }
}

impl Samples for SequenceSet {
    type Batch = Tensor<5>;

    fn len(&self, part: Part) -> usize {
        self.windows(part).len()
    }

    fn batch(
        &self,
        part: Part,
        indices: &[usize],
        device: &Device,
    ) -> Result<Tensor<5>, ModelError> {
        let windows = self.windows(part);
        let Some(first) = self.clips.first() else {
            return Err(ModelError::Data("no clips".into()));
        };
        let (h, w) = (first.height, first.width);
        let mut values = Vec::with_capacity(indices.len() * self.steps * h * w);
        for &i in indices {
            let (clip, window) = windows
                .get(i)
                .ok_or_else(|| ModelError::Data(format!("sample {i} out of range")))?;
            self.clips[*clip].window_values(window, &mut values);
        }
        let dims = [indices.len(), self.steps, 1, h, w];
        Ok(Tensor::from_data(TensorData::new(values, dims), device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_each_frames_change_from_the_one_before() {
        let frames = vec![
            vec![0.2, 0.9, 0.5, 0.0],
            vec![0.4, 0.1, 0.5, 1.0],
            vec![0.4, 0.3, 0.0, 1.0],
        ];
        let clip = FrameClip::new("c".into(), 2, 2, frames.clone()).unwrap();
        let same = clip.clone().with_input(VisualInput::Frames);
        assert_eq!(same.pixels, clip.pixels);
        let d = clip.with_input(VisualInput::Differences);
        assert_eq!((d.frames(), d.height, d.width), (3, 2, 2));
        // The first frame has no frame before it: still.
        assert_eq!(d.frame(0), &[0.5; 4]);
        // (x1 − x0 + 1) / 2: 0.2 up is 0.6, 0.8 down is 0.1, no change is 0.5, 1 up is 1.
        let want = [0.6, 0.1, 0.5, 1.0];
        for (got, want) in d.frame(1).iter().zip(want) {
            assert!((got - want).abs() < 1e-6, "{:?}", d.frame(1));
        }
        // Round trip: x_t = x_{t−1} + 2 d_t − 1 gives every frame back from the first.
        let mut x = frames[0].clone();
        for t in 1..3 {
            for (v, dv) in x.iter_mut().zip(d.frame(t)) {
                *v += 2.0 * dv - 1.0;
            }
            for (got, want) in x.iter().zip(&frames[t]) {
                assert!((got - want).abs() < 1e-6, "frame {t}: {x:?}");
            }
        }
        // A stream gives the same frame by frame, and starts still wherever it starts.
        let mut stream = InputStream::new(VisualInput::Differences);
        for (t, f) in frames.iter().enumerate() {
            assert_eq!(stream.next(f.clone()), d.frame(t));
        }
        let mut late = InputStream::new(VisualInput::Differences);
        assert_eq!(late.next(frames[2].clone()), [0.5; 4]);
        // Frames pass through a frames stream unchanged.
        let mut plain = InputStream::new(VisualInput::Frames);
        assert_eq!(plain.next(frames[1].clone()), frames[1]);
    }

    #[test]
    fn split_keeps_whole_clips_apart_and_is_seeded() {
        let (train, valid) = split_clips(16, 0.33, 7);
        assert_eq!(valid.len(), 5, "16 clips x 0.33 rounds to 5");
        assert_eq!(train.len() + valid.len(), 16);
        assert!(train.iter().all(|t| !valid.contains(t)));
        assert_eq!(split_clips(16, 0.33, 7), (train.clone(), valid.clone()));
        assert_ne!(
            split_clips(16, 0.33, 8).1,
            valid,
            "another seed, another split"
        );
        assert_eq!(
            split_clips(1, 0.33, 7),
            (vec![0], vec![]),
            "one clip cannot be split"
        );
        assert_eq!(
            split_clips(2, 0.1, 7).1.len(),
            1,
            "at least one validation clip"
        );
        assert_eq!(split_clips(4, 0.0, 7).1.len(), 0);
    }

    #[test]
    fn batches_hold_the_window_frames_in_order() {
        let device = Device::flex();
        // Two 2x3 clips whose pixel values encode (clip, frame).
        let clip = |c: usize, n: usize| {
            let frames = (0..n).map(|f| vec![(c * 100 + f) as f32; 6]).collect();
            FrameClip::new(format!("c{c}"), 2, 3, frames).unwrap()
        };
        let set = SequenceSet::new(vec![clip(0, 25), clip(1, 12)], &[1], 4, &[1, 2]).unwrap();
        // Clip 0: stride 1 → starts 0, 4, ..., 20 (6 windows); stride 2 → 0, 8, 16 (3).
        assert_eq!(set.len(Part::Train), 9);
        // Clip 1: stride 1 → 0, 4, 8 (3); stride 2 → 0 (1).
        assert_eq!(set.len(Part::Validation), 4);
        let batch = set.batch(Part::Train, &[1, 6], &device).unwrap();
        assert_eq!(batch.dims(), [2, 4, 1, 2, 3]);
        let v = crate::fixtures::values(batch);
        let firsts: Vec<f32> = v.chunks(6).map(|f| f[0]).collect();
        assert_eq!(firsts, vec![4.0, 5.0, 6.0, 7.0, 0.0, 2.0, 4.0, 6.0]);
        let vb = crate::fixtures::values(set.batch(Part::Validation, &[3], &device).unwrap());
        assert_eq!(
            vb.chunks(6).map(|f| f[0]).collect::<Vec<_>>(),
            vec![100.0, 102.0, 104.0, 106.0]
        );
        assert!(set.batch(Part::Train, &[9], &device).is_err());
    }

    #[test]
    fn refuses_ragged_frames_and_mixed_sizes() {
        let err = FrameClip::new("x".into(), 2, 2, vec![vec![0.0; 4], vec![0.0; 3]]).unwrap_err();
        assert!(err.to_string().contains("frame 1 has 3 pixels"), "{err}");
        let a = FrameClip::new("a".into(), 2, 2, vec![vec![0.0; 4]; 10]).unwrap();
        let b = FrameClip::new("b".into(), 2, 3, vec![vec![0.0; 6]; 10]).unwrap();
        assert!(SequenceSet::new(vec![a, b], &[], 10, &[1]).is_err());
    }
}
