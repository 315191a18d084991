//! UCSD Ped2 (Mahadevan et al., CVPR 2010) as laid out in `shared/datasets/ucsd-ped2`:
//!
//! ```text
//! ucsd-ped2/
//!   UCSDped2/Train/Train001..Train016/NNN.jpg|tif      normal clips
//!   UCSDped2/Test/Test001..Test012/NNN.jpg|tif         test clips
//!   UCSDped2/Test/TestNNN_gt/NNN.png|bmp               pixel masks (frameNNN in 006, 009, 012)
//!   UCSDped2/Test/UCSDped2.m                           frame-level ground truth
//!   audio/P2Te1.wav .. P2Te12.wav                      audio of TestNNN, from its first frame
//! ```
//!
//! The root may be `ucsd-ped2/` or `UCSDped2/` itself (then the audio folder,
//! if any, is looked for beside it).

use std::path::{Path, PathBuf};

use avad_media::frames::FrameFolder;

use crate::dataset::{AudioSource, Clip, Dataset, DatasetKind, Split, VideoSource};
use crate::labels::{labels_from_ranges, parse_ucsd_m, MaskFolder};
use crate::{DataError, Result};

/// Ped2 is treated as 25 fps: its published audio is synchronised at that rate.
pub const FPS: f64 = 25.0;

/// The `UCSDped2` folder under `root`, if `root` is a Ped2 layout.
pub fn find_ucsd_dir(root: &Path) -> Option<PathBuf> {
    [root.join("UCSDped2"), root.to_path_buf()]
        .into_iter()
        .find(|d| d.join("Train").is_dir() && d.join("Test").join("UCSDped2.m").is_file())
}

fn numbered_dirs(dir: &Path, prefix: &str) -> Result<Vec<(usize, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
        let path = entry.map_err(|e| DataError::io(dir, e))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(n) = name
            .strip_prefix(prefix)
            .and_then(|d| d.parse::<usize>().ok())
        {
            if path.is_dir() {
                out.push((n, path));
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn open(root: &Path) -> Result<Dataset> {
    let ucsd = find_ucsd_dir(root).ok_or_else(|| {
        DataError::invalid(
            root,
            "not a UCSD Ped2 folder (expected UCSDped2/Train and UCSDped2/Test/UCSDped2.m)",
        )
    })?;
    let audio_dir = [root.join("audio"), ucsd.join("..").join("audio")]
        .into_iter()
        .find(|d| d.is_dir());
    let mut clips = Vec::new();

    let train_dir = ucsd.join("Train");
    for (_, dir) in numbered_dirs(&train_dir, "Train")? {
        clips.push(Clip {
            name: dir_name(&dir),
            split: Split::Train,
            video: VideoSource::Frames(FrameFolder::open(&dir)?),
            fps: FPS,
            audio: None,
            labels: None,
            masks: None,
            audio_offset_s: 0.0,
        });
    }
    if clips.is_empty() {
        return Err(DataError::invalid(&train_dir, "no TrainNNN clip folders"));
    }

    let test_dir = ucsd.join("Test");
    let gt_path = test_dir.join("UCSDped2.m");
    let ground_truth = parse_ucsd_m(&gt_path)?;
    let tests: Vec<(usize, PathBuf)> = numbered_dirs(&test_dir, "Test")?
        .into_iter()
        .filter(|(_, d)| !dir_name(d).ends_with("_gt"))
        .collect();
    if tests.len() != ground_truth.len() {
        return Err(DataError::invalid(
            &gt_path,
            format!(
                "{} ground-truth lines for {} TestNNN clip folders",
                ground_truth.len(),
                tests.len()
            ),
        ));
    }
    let mut paired_audio = Vec::new();
    for ((n, dir), ranges) in tests.into_iter().zip(&ground_truth) {
        let frames = FrameFolder::open(&dir)?;
        let labels = labels_from_ranges(ranges, frames.len(), &gt_path)?;
        let name = dir_name(&dir);
        let mask_dir = test_dir.join(format!("{name}_gt"));
        let masks = if mask_dir.is_dir() {
            let m = MaskFolder::open(&mask_dir)?;
            if m.files.len() != frames.len() {
                return Err(DataError::invalid(
                    &mask_dir,
                    format!(
                        "{} masks for {} frames of {name}",
                        m.files.len(),
                        frames.len()
                    ),
                ));
            }
            Some(m)
        } else {
            None
        };
        let audio = audio_dir
            .as_ref()
            .map(|d| d.join(format!("P2Te{n}.wav")))
            .filter(|p| p.is_file());
        paired_audio.extend(audio.clone());
        clips.push(Clip {
            name,
            split: Split::Test,
            video: VideoSource::Frames(frames),
            fps: FPS,
            audio: audio.map(AudioSource::File),
            labels: Some(labels),
            masks,
            audio_offset_s: 0.0,
        });
    }

    let mut extra_audio = Vec::new();
    if let Some(dir) = &audio_dir {
        for entry in std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))? {
            let path = entry.map_err(|e| DataError::io(dir, e))?.path();
            if path.is_file() && !paired_audio.contains(&path) {
                extra_audio.push(path);
            }
        }
        extra_audio.sort();
    }
    Ok(Dataset {
        kind: DatasetKind::UcsdPed2,
        root: root.to_path_buf(),
        clips,
        extra_audio,
    })
}

pub(crate) fn dir_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
