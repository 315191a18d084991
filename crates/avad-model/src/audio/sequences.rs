//! The training sequences: windows of normal feature frames.

use burn::tensor::{Device, Tensor, TensorData};

use avad_features::{FeatureMatrix, N_FEATURES};

use crate::train::{Part, Samples};
use crate::ModelError;

/// One clip's scaled feature frames, with the frames that may be trained on.
#[derive(Debug, Clone)]
pub struct AudioClip {
    /// The clip's name.
    pub name: String,
    /// Scaled features, `frames x 160`.
    pub features: FeatureMatrix,
    /// Per feature frame: may a training window use it (a normal frame)?
    pub normal: Vec<bool>,
}

/// The start of every window of `steps` consecutive frames, one every `hop`, lying wholly
/// inside a run of `true` in `usable`.
pub fn normal_windows(usable: &[bool], steps: usize, hop: usize) -> Vec<usize> {
    let mut starts = Vec::new();
    if steps == 0 || hop == 0 {
        return starts;
    }
    let mut run_start = None;
    for i in 0..=usable.len() {
        let on = usable.get(i).copied().unwrap_or(false);
        match (on, run_start) {
            (true, None) => run_start = Some(i),
            (false, Some(s)) => {
                let mut t = s;
                while t + steps <= i {
                    starts.push(t);
                    t += hop;
                }
                run_start = None;
            }
            _ => {}
        }
    }
    starts
}

/// Training and validation windows of feature frames.
#[derive(Debug)]
pub struct AudioSequences {
    clips: Vec<AudioClip>,
    train: Vec<(usize, usize)>,
    validation: Vec<(usize, usize)>,
    steps: usize,
}

impl AudioSequences {
    /// Windows of `steps` normal frames every `hop` frames; the clips listed in
    /// `validation_clips` give the validation windows.
    pub fn new(
        clips: Vec<AudioClip>,
        validation_clips: &[usize],
        steps: usize,
        hop: usize,
    ) -> Result<Self, ModelError> {
        let mut train = Vec::new();
        let mut validation = Vec::new();
        for (i, clip) in clips.iter().enumerate() {
            if clip.normal.len() != clip.features.frames {
                return Err(ModelError::Data(format!(
                    "clip {}: {} normal flags for {} feature frames",
                    clip.name,
                    clip.normal.len(),
                    clip.features.frames
                )));
            }
            let target = if validation_clips.contains(&i) {
                &mut validation
            } else {
                &mut train
            };
            target.extend(
                normal_windows(&clip.normal, steps, hop)
                    .into_iter()
                    .map(|s| (i, s)),
            );
        }
        Ok(AudioSequences {
            clips,
            train,
            validation,
            steps,
        })
    }

    /// The clips.
    pub fn clips(&self) -> &[AudioClip] {
        &self.clips
    }

    fn windows(&self, part: Part) -> &[(usize, usize)] {
        match part {
            Part::Train => &self.train,
            Part::Validation => &self.validation,
        }
    }
}

impl Samples for AudioSequences {
    type Batch = Tensor<3>;

    fn len(&self, part: Part) -> usize {
        self.windows(part).len()
    }

    fn batch(
        &self,
        part: Part,
        indices: &[usize],
        device: &Device,
    ) -> Result<Tensor<3>, ModelError> {
        let windows = self.windows(part);
        let mut values = Vec::with_capacity(indices.len() * self.steps * N_FEATURES);
        for &i in indices {
            let &(clip, start) = windows
                .get(i)
                .ok_or_else(|| ModelError::Data(format!("sample {i} out of range")))?;
            let data = &self.clips[clip].features.data;
            values.extend_from_slice(&data[start * N_FEATURES..(start + self.steps) * N_FEATURES]);
        }
        Ok(Tensor::from_data(
            TensorData::new(values, [indices.len(), self.steps, N_FEATURES]),
            device,
        ))
    }
}
