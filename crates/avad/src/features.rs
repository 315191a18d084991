//! The paper's 160 audio features of a recording, as `avad features` writes them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use avad_data::generic::is_audio_path;
use avad_features::{extract, npy, write_csv, FeatureConfig, FeatureMatrix, N_FEATURES};
use avad_media::frames::files_in;
use avad_media::video::{is_stream_url, is_video_path};

use crate::error::{Context, Error, Result};

/// A recording's features, and how long its sound lasts.
#[derive(Clone, Debug)]
pub struct RecordingFeatures {
    pub matrix: FeatureMatrix,
    /// Seconds of sound the features were taken from.
    pub seconds: f64,
}

/// The features of the sound of `path`: an audio file, or a video's or stream's audio
/// track, decoded to mono at `config`'s rate.
pub fn recording_features(path: &Path, config: &FeatureConfig) -> Result<RecordingFeatures> {
    let video_track = is_video_path(path) || is_stream_url(&path.to_string_lossy());
    let samples = crate::clips::decode_mono(path, video_track, config.sample_rate)?;
    let matrix = extract(&samples, config).with_context(|| path.display().to_string())?;
    Ok(RecordingFeatures {
        matrix,
        seconds: samples.len() as f64 / f64::from(config.sample_rate),
    })
}

/// Writes `matrix` to `out`: a NumPy array (`.npy`, frames x 160, float32) or a CSV file
/// with a header of the column names (`.csv`), whole or not at all.
pub fn write_features(out: &Path, matrix: &FeatureMatrix) -> Result<()> {
    let extension = out.extension().and_then(|e| e.to_str());
    match extension.map(str::to_ascii_lowercase).as_deref() {
        Some("npy") => npy::write_f32_2d(out, matrix.frames, N_FEATURES, &matrix.data)?,
        Some("csv") => write_csv(out, matrix)?,
        _ => {
            return Err(Error::Unsupported {
                path: out.to_path_buf(),
                reason: "the output must end in .npy or .csv".into(),
            })
        }
    }
    Ok(())
}

/// The recordings `inputs` name, in order: each file (or stream URL) as given, and each
/// folder's audio files (by extension: WAV, FLAC, MP3, Ogg, M4A, AAC, Opus) in the natural
/// order of their names. A folder without one is an error naming it.
pub fn recording_paths(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    for input in inputs {
        if !input.is_dir() {
            if !input.exists() && !is_stream_url(&input.to_string_lossy()) {
                return Err(Error::Missing {
                    path: input.clone(),
                });
            }
            paths.push(input.clone());
            continue;
        }
        let found = files_in(input, |p| p.is_file() && is_audio_path(p))?;
        if found.is_empty() {
            return Err(Error::Unsupported {
                path: input.clone(),
                reason: "a folder with no audio file (WAV, FLAC, MP3, Ogg, M4A, AAC, Opus)".into(),
            });
        }
        paths.extend(found);
    }
    Ok(paths)
}

/// The features of every recording of `paths`, computed on `threads` threads (0: one per
/// core), each handed to `each` with its index in `paths` as soon as it is ready (on the
/// thread that computed it, so not in order). The first failure, of a recording or of
/// `each`, stops the work and is returned; recordings already handed over stay so.
pub fn for_each_recording(
    paths: &[PathBuf],
    config: &FeatureConfig,
    threads: usize,
    each: &(dyn Fn(usize, &Path, RecordingFeatures) -> Result<()> + Sync),
) -> Result<()> {
    let threads = match threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .clamp(1, paths.len().max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    // The failure of the earliest recording, so that a run names the same file each time.
    let failure: Mutex<Option<(usize, Error)>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !failed.load(Ordering::SeqCst) {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(path) = paths.get(i) else { break };
                    let done = recording_features(path, config).and_then(|f| each(i, path, f));
                    if let Err(e) = done {
                        failed.store(true, Ordering::SeqCst);
                        let mut first = failure.lock().unwrap_or_else(|p| p.into_inner());
                        if first.as_ref().is_none_or(|(j, _)| i < *j) {
                            *first = Some((i, e));
                        }
                    }
                }
            });
        }
    });
    match failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Where each recording of `paths` goes in the folder `out`: its file name with
/// `extension`. Two recordings of the same name (from different folders) are refused,
/// before anything is written.
pub fn output_paths(paths: &[PathBuf], out: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let mut taken = std::collections::HashMap::new();
    let mut targets = Vec::with_capacity(paths.len());
    for path in paths {
        let stem = path.file_stem().unwrap_or(path.as_os_str());
        let target = out.join(Path::new(stem).with_extension(extension));
        if let Some(other) = taken.insert(target.clone(), path) {
            return Err(Error::invalid(format!(
                "{} and {}: both would be written to {}",
                other.display(),
                path.display(),
                target.display()
            )));
        }
        targets.push(target);
    }
    Ok(targets)
}
