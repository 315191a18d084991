//! A synthetic audio-visual scene that stands in for UCSD Ped2 with sound: a fixed
//! camera over a pedestrian walkway, people walking along it, and the things Ped2
//! calls anomalous (bicycles, carts, skaters) plus sound-only events (a bang, a shout).
//!
//! Everything is a pure function of [`SceneConfig`], so a seed names a clip on every
//! platform: the random numbers come from our own SplitMix64, not a crate whose stream
//! may change between versions. It is the embedded default for `avad demo` and for tests.

mod picture;
mod sound;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::wav::{self, WavError};

/// Something that does not happen on a normal day on the walkway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnomalyKind {
    /// A cyclist, 4.5-6 px/frame at 160 px width (people walk 1-1.5); chain whir and a bell.
    Bicycle,
    /// A small cart, a large box on wheels at 2.2-3 px/frame; rumble and rattle.
    Cart,
    /// A skateboarder gliding at 3-4 px/frame without the bob of walking; rolling wheels.
    Skater,
    /// Sound only: an impulsive broadband bang with a decaying tail (0.6 s).
    Bang,
    /// Sound only: a voiced shout, 300-600 Hz with formant-shaped partials (0.5-1 s).
    Shout,
}

impl AnomalyKind {
    pub const ALL: [AnomalyKind; 5] = [
        Self::Bicycle,
        Self::Cart,
        Self::Skater,
        Self::Bang,
        Self::Shout,
    ];

    /// Whether the anomaly can be seen (and so has pixel masks); the others are sound only.
    pub fn is_visual(self) -> bool {
        matches!(self, Self::Bicycle | Self::Cart | Self::Skater)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Bicycle => "bicycle",
            Self::Cart => "cart",
            Self::Skater => "skater",
            Self::Bang => "bang",
            Self::Shout => "shout",
        }
    }
}

impl fmt::Display for AnomalyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One anomaly to put in a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledAnomaly {
    pub kind: AnomalyKind,
    /// 0-based frame at which a visual anomaly enters at the edge of the view, or a sound
    /// starts. Its direction, lane, speed and loudness are drawn from the scene's seed.
    pub start_frame: usize,
}

/// Everything that determines a synthetic scene; the same config gives the same bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SceneConfig {
    /// Seeds every random choice: the background, the crowd, the anomalies, the noise.
    pub seed: u64,
    /// Frame width in pixels. Sizes scale with `height / 120`, speeds with `width / 160`.
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Frames per second.
    pub fps: f32,
    /// Audio sample rate in Hz (22050: the rate librosa loads at and the paper's features use).
    pub sample_rate: u32,
    /// Number of frames; the audio is `round(frames / fps * sample_rate)` samples long.
    pub frames: usize,
    /// Anomalies to stage; empty for a normal clip.
    pub anomalies: Vec<ScheduledAnomaly>,
    /// Mean number of pedestrians in view.
    pub people_in_view: f32,
    /// Standard deviation of the per-frame sensor noise, in gray levels.
    pub sensor_noise: f32,
    /// RMS of the ambient sound bed (pink and brown noise) before footsteps, full scale 1.
    pub ambient_rms: f32,
    /// Scales every visual anomaly's speed (1: a cyclist at 4.5-6 px/frame, people at
    /// 1-1.5); below 1 they move closer to walking pace and are harder to tell apart.
    pub anomaly_speed: f32,
}

impl Default for SceneConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            width: 160,
            height: 120,
            fps: 25.0,
            sample_rate: 22050,
            frames: 200,
            anomalies: Vec::new(),
            people_in_view: 5.0,
            sensor_noise: 2.0,
            ambient_rms: 0.01,
            anomaly_speed: 1.0,
        }
    }
}

/// The smallest and largest values [`SceneConfig::validate`] accepts.
const SIZE_RANGE: (u32, u32) = (32, 4096);
const FPS_RANGE: (f32, f32) = (1.0, 240.0);
const SAMPLE_RATE_RANGE: (u32, u32) = (8000, 192_000);
/// About an hour at 25 fps; a scene is held in memory (≈40 KB a frame at 160x120 with its mask).
const MAX_FRAMES: usize = 100_000;

impl SceneConfig {
    /// A clip of ordinary walkway life with no anomaly: training material.
    pub fn normal(seed: u64, frames: usize) -> Self {
        Self {
            seed,
            frames,
            ..Self::default()
        }
    }

    /// A test clip: the same kind of crowd with 1-3 anomalies staged between 20% and 80%
    /// of the clip, so normal stretches come before and after. With two or more, at least
    /// one is visual and one is sound only; kinds, order and times come from the seed.
    pub fn test(seed: u64, frames: usize) -> Self {
        if frames == 0 {
            return Self::normal(seed, frames);
        }
        let mut rng = Rng::new(seed, Stream::Schedule);
        let count = 1 + rng.below(3);
        let visual = [AnomalyKind::Bicycle, AnomalyKind::Cart, AnomalyKind::Skater];
        let audio = [AnomalyKind::Bang, AnomalyKind::Shout];
        let mut kinds: Vec<AnomalyKind> = match count {
            1 => vec![AnomalyKind::ALL[rng.below(5)]],
            _ => {
                let mut kinds = vec![visual[rng.below(3)], audio[rng.below(2)]];
                if count == 3 {
                    let rest: Vec<_> = AnomalyKind::ALL
                        .into_iter()
                        .filter(|k| !kinds.contains(k))
                        .collect();
                    kinds.push(rest[rng.below(rest.len())]);
                }
                kinds
            }
        };
        rng.shuffle(&mut kinds);

        let config = Self {
            seed,
            frames,
            ..Self::default()
        };
        let span_start = frames as f32 * 0.2;
        let slot = frames as f32 * 0.6 / kinds.len() as f32;
        let anomalies = kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| {
                let slack = (slot - config.nominal_duration_frames(kind)).max(0.0);
                let start = span_start + i as f32 * slot + rng.f32() * slack;
                ScheduledAnomaly {
                    kind,
                    start_frame: start as usize,
                }
            })
            .collect();
        Self {
            anomalies,
            ..config
        }
    }

    /// Frames an anomaly typically lasts: the crossing time at its mean full speed (whatever
    /// `anomaly_speed` says, so the test clips' start frames do not depend on it), or its sound.
    fn nominal_duration_frames(&self, kind: AnomalyKind) -> f32 {
        let crossing =
            |speed: f32| (self.width as f32 + 30.0) / (speed * self.width as f32 / 160.0);
        match kind {
            AnomalyKind::Bicycle => crossing(5.25),
            AnomalyKind::Cart => crossing(2.6),
            AnomalyKind::Skater => crossing(3.5),
            AnomalyKind::Bang => sound::BANG_SECONDS * self.fps,
            AnomalyKind::Shout => sound::SHOUT_SECONDS.1 * self.fps,
        }
    }

    /// Checks every field against the range the generator supports.
    pub fn validate(&self) -> Result<(), SceneError> {
        let bad = |what: String| Err(SceneError::InvalidConfig(what));
        let (lo, hi) = SIZE_RANGE;
        if !(lo..=hi).contains(&self.width) || !(lo..=hi).contains(&self.height) {
            return bad(format!(
                "frame size {}x{} is outside {lo}..={hi} pixels",
                self.width, self.height
            ));
        }
        if !(self.fps >= FPS_RANGE.0 && self.fps <= FPS_RANGE.1) {
            return bad(format!(
                "fps {} is outside {}..={}",
                self.fps, FPS_RANGE.0, FPS_RANGE.1
            ));
        }
        let (lo, hi) = SAMPLE_RATE_RANGE;
        if !(lo..=hi).contains(&self.sample_rate) {
            return bad(format!(
                "sample rate {} Hz is outside {lo}..={hi}",
                self.sample_rate
            ));
        }
        if self.frames > MAX_FRAMES {
            return bad(format!(
                "{} frames is more than the {MAX_FRAMES} supported",
                self.frames
            ));
        }
        if !(self.people_in_view >= 0.0 && self.people_in_view <= 100.0) {
            return bad(format!(
                "people_in_view {} is outside 0..=100",
                self.people_in_view
            ));
        }
        if !(self.sensor_noise >= 0.0 && self.sensor_noise <= 64.0) {
            return bad(format!(
                "sensor_noise {} is outside 0..=64 gray levels",
                self.sensor_noise
            ));
        }
        if !(self.ambient_rms >= 0.0 && self.ambient_rms <= 0.5) {
            return bad(format!(
                "ambient_rms {} is outside 0..=0.5",
                self.ambient_rms
            ));
        }
        if !(self.anomaly_speed >= 0.1 && self.anomaly_speed <= 4.0) {
            return bad(format!(
                "anomaly_speed {} is outside 0.1..=4",
                self.anomaly_speed
            ));
        }
        if let Some(a) = self.anomalies.iter().find(|a| a.start_frame >= self.frames) {
            return bad(format!(
                "the {} starts at frame {}, past the last frame {}",
                a.kind,
                a.start_frame,
                self.frames.saturating_sub(1)
            ));
        }
        Ok(())
    }

    /// Number of audio samples: `round(frames / fps * sample_rate)`.
    pub fn audio_len(&self) -> usize {
        self.sample_at_frame(self.frames)
    }

    /// First audio sample of a 0-based frame (the frame's time × sample rate, rounded).
    pub fn sample_at_frame(&self, frame: usize) -> usize {
        (frame as f64 / f64::from(self.fps) * f64::from(self.sample_rate)).round() as usize
    }
}

/// One staged anomaly as it played out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: AnomalyKind,
    /// First 0-based frame in which it is seen (visual) or heard (sound only).
    pub start_frame: usize,
    /// One past its last frame: the event covers `start_frame..end_frame`.
    pub end_frame: usize,
}

/// What a tracked object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ObjectKind {
    Pedestrian,
    Anomaly(AnomalyKind),
}

/// Ground-truth path of one moving object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectTrack {
    pub kind: ObjectKind,
    /// 0-based frame of `feet[0]`.
    pub first_frame: usize,
    /// Ground contact point (x, y) in pixels in each frame from `first_frame` on, while the
    /// object is in the scene (it may be just outside the view while entering or leaving).
    pub feet: Vec<[f32; 2]>,
}

/// A generated clip with its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    pub config: SceneConfig,
    /// 8-bit gray frames, row-major, `width * height` bytes each.
    pub frames: Vec<Vec<u8>>,
    /// Mono audio at `config.sample_rate`, in [-1, 1], `config.audio_len()` samples.
    pub audio: Vec<f32>,
    /// Per frame: anomalous if any anomaly, visual or sound, is active.
    pub labels: Vec<bool>,
    /// Per frame: a visual anomaly covers at least one pixel (exactly where `masks` is non-empty).
    pub visual_labels: Vec<bool>,
    /// Per frame: an anomaly is audible (visual anomalies sound while they are in view).
    pub audio_labels: Vec<bool>,
    /// Per frame, `width * height` row-major: pixels covered by a visual anomaly.
    pub masks: Vec<Vec<bool>>,
    /// The staged anomalies that appeared in the clip, by start frame.
    pub events: Vec<Event>,
    /// Paths of every pedestrian and visual anomaly.
    pub tracks: Vec<ObjectTrack>,
}

impl Scene {
    /// Whether any frame has a non-empty anomaly mask.
    pub fn has_masks(&self) -> bool {
        self.visual_labels.iter().any(|&v| v)
    }
}

/// Why a scene could not be generated or written.
#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("invalid synthetic scene config: {0}")]
    InvalidConfig(String),
    #[error("{}: already exists; remove it or choose another directory", path.display())]
    Exists { path: PathBuf },
    #[error("{}: not a directory path a clip can be written to", path.display())]
    BadPath { path: PathBuf },
    // The error is in the message, so it is not also a `source()`: `{:#}` would print it
    // twice.
    #[error("{}: {error}", path.display())]
    Io { path: PathBuf, error: io::Error },
    #[error("{}: cannot write PNG: {error}", path.display())]
    Png {
        path: PathBuf,
        error: image::ImageError,
    },
    #[error("{}: frame has {got} bytes, but {width}x{height} needs {}", path.display(), width * height)]
    FrameSize {
        path: PathBuf,
        width: usize,
        height: usize,
        got: usize,
    },
    #[error(transparent)]
    Wav(#[from] WavError),
}

/// Generates the scene `config` describes.
pub fn generate(config: &SceneConfig) -> Result<Scene, SceneError> {
    config.validate()?;
    let video = picture::render(config);
    let (audio, audible) = sound::render(config, &video);

    let mut events = Vec::new();
    let mut audio_labels = vec![false; config.frames];
    for (anomaly, heard) in config.anomalies.iter().zip(&audible) {
        if let Some(span) = heard {
            events.push(Event {
                kind: anomaly.kind,
                start_frame: span.start,
                end_frame: span.end,
            });
            audio_labels[span.clone()]
                .iter_mut()
                .for_each(|l| *l = true);
        }
    }
    events.sort_by_key(|e| (e.start_frame, e.end_frame));
    let labels = video
        .visual_labels
        .iter()
        .zip(&audio_labels)
        .map(|(&v, &a)| v || a)
        .collect();

    Ok(Scene {
        config: config.clone(),
        frames: video.frames,
        audio,
        labels,
        visual_labels: video.visual_labels,
        audio_labels,
        masks: video.masks,
        events,
        tracks: video.tracks,
    })
}

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

/// Where a scene or clip written to `target` is assembled before its rename:
/// `<target>.tmp-<pid>` (for a caller that removes it when interrupted).
pub fn temp_dir(target: &Path) -> Option<PathBuf> {
    let mut tmp_name = target.file_name()?.to_owned();
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    Some(target.with_file_name(tmp_name))
}

/// Runs `write` on a fresh `<target>.tmp-<pid>` directory and renames it to `target`.
fn write_atomically(
    target: &Path,
    write: impl FnOnce(&Path) -> Result<(), SceneError>,
) -> Result<(), SceneError> {
    if target.exists() {
        return Err(SceneError::Exists {
            path: target.to_path_buf(),
        });
    }
    let Some(tmp) = temp_dir(target) else {
        return Err(SceneError::BadPath {
            path: target.to_path_buf(),
        });
    };
    if tmp.exists() {
        // Left by a killed run of an earlier process that had our pid: never a finished clip.
        fs::remove_dir_all(&tmp).map_err(|error| SceneError::Io {
            path: tmp.clone(),
            error,
        })?;
    }
    fs::create_dir_all(&tmp).map_err(|error| SceneError::Io {
        path: target.to_path_buf(),
        error,
    })?;
    let result = write(&tmp).and_then(|()| {
        fs::rename(&tmp, target).map_err(|error| SceneError::Io {
            path: target.to_path_buf(),
            error,
        })
    });
    if result.is_err() {
        // Half-written and ours; the original error is the one worth reporting.
        let _ = fs::remove_dir_all(&tmp);
    }
    result
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

/// Independent random streams, so that staging an anomaly leaves the crowd, background and
/// noise of the same seed unchanged.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Background = 1,
    Crowd,
    Anomaly,
    SensorNoise,
    Ambient,
    Footsteps,
    AnomalySound,
    Schedule,
    TrainClip,
    TestClip,
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and the same stream everywhere.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: Stream) -> Self {
        let mut rng = Rng(seed ^ (stream as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }

    fn range(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.f32()
    }

    /// Uniform in [-1, 1).
    fn signed(&mut self) -> f32 {
        2.0 * self.f32() - 1.0
    }

    fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    fn chance(&mut self, p: f32) -> bool {
        self.f32() < p
    }

    fn sign(&mut self) -> f32 {
        if self.chance(0.5) {
            1.0
        } else {
            -1.0
        }
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}
