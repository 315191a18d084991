//! Writing scenes to disk: one clip, or a dataset of them, each assembled aside and renamed.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use avad_atomic::AtomicError;

use super::{generate, Event, Rng, Scene, SceneConfig, SceneError, Stream};
use crate::wav;

/// Writes a clip in the generic layout: `000001.png…` (8-bit gray, 1-based), `audio.wav`
/// (16-bit PCM mono), `labels.csv` (`frame,label`, 1-based, 0/1), `masks/000001.png…`
/// (0/255, every frame, only when the clip has a visual anomaly) and `clip.toml` (`fps`).
/// The clip is assembled in `<dir>.tmp-<pid>` and renamed to `dir` at the end.
pub fn write_clip(scene: &Scene, dir: &Path) -> Result<(), SceneError> {
    write_atomically(dir, |tmp| write_clip_files(scene, tmp))
}

/// A clip that [`write_dataset`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenClip {
    pub dir: PathBuf,
    pub config: SceneConfig,
    pub events: Vec<Event>,
}

/// What every clip of a dataset shares beyond its seed: how crowded, noisy and loud the
/// walkway is, and how fast its anomalies move. The default is [`SceneConfig::default`]'s,
/// the scene `avad demo` uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SceneLook {
    /// [`SceneConfig::people_in_view`].
    pub people_in_view: f32,
    /// [`SceneConfig::sensor_noise`].
    pub sensor_noise: f32,
    /// [`SceneConfig::ambient_rms`].
    pub ambient_rms: f32,
    /// [`SceneConfig::anomaly_speed`].
    pub anomaly_speed: f32,
}

impl Default for SceneLook {
    fn default() -> Self {
        let c = SceneConfig::default();
        Self {
            people_in_view: c.people_in_view,
            sensor_noise: c.sensor_noise,
            ambient_rms: c.ambient_rms,
            anomaly_speed: c.anomaly_speed,
        }
    }
}

/// Writes `root/train/clip01…` (normal clips) and `root/test/clip01…` (clips made by
/// [`SceneConfig::test`]), each seeded from `seed` and its split and index. The whole
/// dataset is assembled in `<root>.tmp-<pid>` and renamed to `root` at the end.
pub fn write_dataset(
    root: &Path,
    seed: u64,
    n_train: usize,
    n_test: usize,
    frames_per_clip: usize,
) -> Result<Vec<WrittenClip>, SceneError> {
    write_dataset_with(
        root,
        seed,
        (n_train, n_test),
        frames_per_clip,
        &SceneLook::default(),
    )
}

/// [`write_dataset`] with every clip's crowd, sensor noise, ambient sound and anomaly speed
/// set by `look` (each clip's seed, and so its people, anomalies and their start frames,
/// stays the same; slower anomalies stay in view longer).
pub fn write_dataset_with(
    root: &Path,
    seed: u64,
    counts: (usize, usize),
    frames_per_clip: usize,
    look: &SceneLook,
) -> Result<Vec<WrittenClip>, SceneError> {
    write_dataset_reporting(root, seed, counts, frames_per_clip, look, &mut |_, _| {})
}

/// [`write_dataset_with`], calling `on_clip(done, total)` after each clip is written (for
/// a progress bar).
pub fn write_dataset_reporting(
    root: &Path,
    seed: u64,
    (n_train, n_test): (usize, usize),
    frames_per_clip: usize,
    look: &SceneLook,
    on_clip: &mut dyn FnMut(usize, usize),
) -> Result<Vec<WrittenClip>, SceneError> {
    let digits = n_train.max(n_test).to_string().len().max(2);
    let mut written = Vec::new();
    write_atomically(root, |tmp| {
        type Preset = fn(u64, usize) -> SceneConfig;
        let splits: [(&str, usize, Stream, Preset); 2] = [
            ("train", n_train, Stream::TrainClip, SceneConfig::normal),
            ("test", n_test, Stream::TestClip, SceneConfig::test),
        ];
        for (split, count, stream, preset) in splits {
            for i in 0..count {
                let clip_seed =
                    Rng::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9), stream).next_u64();
                let config = SceneConfig {
                    people_in_view: look.people_in_view,
                    sensor_noise: look.sensor_noise,
                    ambient_rms: look.ambient_rms,
                    anomaly_speed: look.anomaly_speed,
                    ..preset(clip_seed, frames_per_clip)
                };
                let scene = generate(&config)?;
                let name = format!("clip{:0digits$}", i + 1);
                write_clip(&scene, &tmp.join(split).join(&name))?;
                written.push(WrittenClip {
                    dir: root.join(split).join(name),
                    config,
                    events: scene.events,
                });
                on_clip(written.len(), n_train + n_test);
            }
        }
        Ok(())
    })?;
    Ok(written)
}

/// Runs `write` on a fresh temporary folder beside `target` and renames it to `target`
/// ([`avad_atomic::create_dir_with`]; a caller that can be interrupted registers
/// [`avad_atomic::temp_path`] for removal).
fn write_atomically(
    target: &Path,
    write: impl FnOnce(&Path) -> Result<(), SceneError>,
) -> Result<(), SceneError> {
    avad_atomic::create_dir_with(target, write).map_err(|e| match e {
        AtomicError::Write(e) => e,
        AtomicError::Io { path, error } => match error.kind() {
            ErrorKind::AlreadyExists => SceneError::Exists { path },
            ErrorKind::InvalidInput => SceneError::BadPath { path },
            _ => SceneError::Io { path, error },
        },
    })
}

fn write_clip_files(scene: &Scene, dir: &Path) -> Result<(), SceneError> {
    let config = &scene.config;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |error| SceneError::Io { path, error }
    };
    for (i, frame) in scene.frames.iter().enumerate() {
        write_gray_png(
            &dir.join(format!("{:06}.png", i + 1)),
            frame,
            config.width,
            config.height,
        )?;
    }
    if scene.has_masks() {
        let mask_dir = dir.join("masks");
        fs::create_dir_all(&mask_dir).map_err(io_err(&mask_dir))?;
        for (i, mask) in scene.masks.iter().enumerate() {
            let bytes: Vec<u8> = mask.iter().map(|&m| if m { 255 } else { 0 }).collect();
            write_gray_png(
                &mask_dir.join(format!("{:06}.png", i + 1)),
                &bytes,
                config.width,
                config.height,
            )?;
        }
    }
    wav::write_wav_pcm16(&dir.join("audio.wav"), config.sample_rate, 1, &scene.audio)?;

    let mut csv = String::from("frame,label\n");
    for (i, &label) in scene.labels.iter().enumerate() {
        csv.push_str(&format!("{},{}\n", i + 1, u8::from(label)));
    }
    let csv_path = dir.join("labels.csv");
    fs::write(&csv_path, csv).map_err(io_err(&csv_path))?;

    let mut toml = format!("# synthetic avad scene, seed {}\n", config.seed);
    for e in &scene.events {
        toml.push_str(&format!(
            "# {} in frames {}-{} (1-based)\n",
            e.kind,
            e.start_frame + 1,
            e.end_frame
        ));
    }
    toml.push_str(&format!("fps = {:?}\n", config.fps));
    let toml_path = dir.join("clip.toml");
    fs::write(&toml_path, toml).map_err(io_err(&toml_path))
}

fn write_gray_png(path: &Path, pixels: &[u8], width: u32, height: u32) -> Result<(), SceneError> {
    let (w, h) = (width as usize, height as usize);
    if pixels.len() != w * h {
        return Err(SceneError::FrameSize {
            path: path.to_path_buf(),
            width: w,
            height: h,
            got: pixels.len(),
        });
    }
    image::save_buffer_with_format(
        path,
        pixels,
        width,
        height,
        image::ExtendedColorType::L8,
        image::ImageFormat::Png,
    )
    .map_err(|error| SceneError::Png {
        path: path.to_path_buf(),
        error,
    })
}
