//! A dataset's clips as the models read them: which clips, their frames at a model's size,
//! their sound as features.

use std::path::Path;

use avad_data::alignment::AudioTiming;
use avad_data::dataset::align_audio;
use avad_data::{AudioSource, Clip, Dataset, Split};
use avad_features::{FeatureConfig, FeatureExtractor, FeatureMatrix};
use avad_media::resample::resample;
use avad_media::FrameSize;
use avad_model::model_dir::VisualPreset;
use avad_model::sequences::FrameClip;

pub use avad_media::source::decode_native_mono;

use crate::error::{Context, Error, Result};

/// Which clips of a dataset: a split (`None`: both) and, if any, names (`NAME`, or
/// `SPLIT/NAME` for a name both splits hold).
#[derive(Clone, Debug, Default)]
pub struct ClipSelection {
    pub split: Option<Split>,
    pub names: Vec<String>,
}

/// The clips of `dataset` (read from `path`) that `selection` names.
pub fn select_clips<'a>(
    dataset: &'a Dataset,
    selection: &ClipSelection,
    path: &Path,
) -> Result<Vec<&'a Clip>> {
    // A clip is named by its name or, where a name is in both splits, by split/name.
    let named = |c: &Clip, n: &String| c.name == *n || c.id() == *n;
    if let Some(missing) = selection
        .names
        .iter()
        .find(|n| !dataset.clips.iter().any(|c| named(c, n)))
    {
        return Err(Error::invalid(format!(
            "{}: no clip named {missing}",
            path.display()
        )));
    }
    let clips: Vec<&Clip> = dataset
        .clips
        .iter()
        .filter(|c| selection.split.is_none_or(|s| c.split == s))
        .filter(|c| selection.names.is_empty() || selection.names.iter().any(|n| named(c, n)))
        .collect();
    if clips.is_empty() {
        let split = match selection.split {
            Some(Split::Test) => "test",
            Some(Split::Train) => "train",
            None => "all",
        };
        return Err(Error::invalid(format!(
            "{}: no {split} clips to score",
            path.display()
        )));
    }
    Ok(clips)
}

/// The frames of `clip` as the model of `preset` sees them: gray `size x size` images (or
/// their differences, the preset's `input`), in memory.
pub fn load_clip(clip: &Clip, preset: &VisualPreset) -> Result<FrameClip> {
    let side = preset.size;
    let size = FrameSize::new(side as u32, side as u32);
    let frames = clip
        .video
        .read_frames(size)
        .with_context(|| format!("reading clip {}", clip.name))?;
    Ok(FrameClip::new(
        clip.name.clone(),
        side,
        side,
        frames.into_iter().map(|f| f.data).collect(),
    )?
    .with_input(preset.input))
}

/// Decodes `path` (an audio file, or with `video_track` a video's or stream's audio
/// track) to mono at `rate`.
pub fn decode_mono(path: &Path, video_track: bool, rate: u32) -> Result<Vec<f32>> {
    let (mono, native) = decode_native_mono(path, video_track)?;
    Ok(resample(&mono, native, rate))
}

/// The mono sound of `clip` at its own rate, from the clip's first frame on; `None` when
/// the clip has no sound.
pub fn clip_sound(clip: &Clip) -> Result<Option<(Vec<f32>, u32)>> {
    let Some(source) = &clip.audio else {
        return Ok(None);
    };
    let (mono, rate) =
        decode_native_mono(source.path(), matches!(source, AudioSource::VideoTrack(_)))
            .with_context(|| format!("reading the sound of clip {}", clip.name))?;
    let skip = ((clip.audio_offset_s * f64::from(rate)).round() as usize).min(mono.len());
    Ok(Some((mono[skip..].to_vec(), rate)))
}

/// The raw feature frames of `clip`'s sound, cut or padded to its frames (see
/// `avad_data::dataset::align_audio`); `None` when the clip has no sound.
pub fn clip_features(
    clip: &Clip,
    extractor: &mut FeatureExtractor,
) -> Result<Option<FeatureMatrix>> {
    let Some(source) = &clip.audio else {
        return Ok(None);
    };
    let rate = extractor.config().sample_rate;
    let path = source.path();
    let samples = decode_mono(path, matches!(source, AudioSource::VideoTrack(_)), rate)
        .with_context(|| format!("reading the sound of clip {}", clip.name))?;
    let skip = ((clip.audio_offset_s * f64::from(rate)).round() as usize).min(samples.len());
    let (aligned, _) = align_audio(&samples[skip..], rate, clip.frames(), clip.fps);
    let m = extractor
        .extract(&aligned)
        .with_context(|| path.display().to_string())?;
    Ok(Some(m))
}

/// The timing of the feature frames `config` computes.
pub fn timing(config: &FeatureConfig) -> AudioTiming {
    AudioTiming {
        hop: config.hop_length,
        window: config.n_fft,
        sample_rate: config.sample_rate,
    }
}
