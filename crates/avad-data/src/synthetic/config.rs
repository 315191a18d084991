//! [`SceneConfig`]: what determines a scene, its presets and its limits.

use serde::{Deserialize, Serialize};

use super::{sound, AnomalyKind, Rng, SceneError, ScheduledAnomaly, Stream};

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
