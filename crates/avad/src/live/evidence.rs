//! `avad watch --evidence DIR`: each anomalous episode saved as a short clip a person can
//! review: its frames (gray at the model size, the frames themselves even for a model that
//! sees frame differences) from one second before it started, its sound, its scores as CSV
//! and as a plot.
//!
//! An episode is written when it ends, into `DIR/episode-NNNN/` through a temporary
//! folder renamed at the end, so a folder that exists is complete. A folder that already
//! holds episodes (an earlier run's) keeps them: numbering goes on after the last one.
//! Episodes longer than [`Evidence::MAX_S`] keep their first that many seconds
//! (`truncated` in `episode.json`).

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use avad_atomic::AtomicError;

use avad_eval::plots::{write_score_curve, ScoreCurve, Series};

use super::detector::Decision;
use super::event::{Event, EventSink};
use crate::error::{Context, Error, Result};

/// One frame as the evidence keeps it.
struct Kept {
    pub frame: usize,
    pub t: f64,
    pub pixels: Vec<u8>,
    pub video: f64,
    pub audio: Option<f64>,
    pub regularity: f64,
    pub anomalous: bool,
}

/// The evidence writer: an [`EventSink`] that saves each episode when it ends and names
/// its folder in the `end` event (so it must come before the sinks that print events).
pub struct Evidence {
    dir: PathBuf,
    side: usize,
    gamma: f64,
    /// Frames kept before an episode starts.
    pre: usize,
    max_frames: usize,
    recent: VecDeque<Kept>,
    episode: Option<Vec<Kept>>,
    truncated: bool,
    written: usize,
    /// The current segment's sound (22,050 Hz mono) from sample `sound_base` on, its first
    /// frame and frame rate.
    sound: VecDeque<f32>,
    sound_base: usize,
    segment_first: usize,
    fps: f64,
}

const SOUND_RATE: u32 = 22050;

impl Evidence {
    /// Longest stretch of an episode kept, seconds.
    pub const MAX_S: f64 = 30.0;

    pub fn new(dir: &Path, side: usize, gamma: f64) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create the evidence folder", dir.display()))?;
        let written = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot read the evidence folder", dir.display()))?
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix("episode-")?
                    .parse::<usize>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        Ok(Evidence {
            dir: dir.to_path_buf(),
            side,
            gamma,
            pre: 25,
            max_frames: 750,
            recent: VecDeque::new(),
            episode: None,
            truncated: false,
            written,
            sound: VecDeque::new(),
            sound_base: 0,
            segment_first: 0,
            fps: 25.0,
        })
    }

    /// A new connection to the source: its frames start at `first`, at `fps`, and its
    /// sound starts afresh.
    fn segment(&mut self, first: usize, fps: f64) {
        self.segment_first = first;
        self.fps = fps;
        self.pre = fps.round().max(1.0) as usize;
        self.max_frames = (Self::MAX_S * fps).round().max(1.0) as usize;
        self.sound.clear();
        self.sound_base = 0;
    }

    /// Sound released by the audio scorer, continuing the segment's.
    fn add_sound(&mut self, samples: Vec<f32>) {
        self.sound.extend(samples);
        // Keep what an episode of MAX_S with its lead-in can still need.
        let keep = ((Self::MAX_S + 2.0) * f64::from(SOUND_RATE)) as usize;
        if self.episode.is_none() && self.sound.len() > keep {
            let drop = self.sound.len() - keep;
            self.sound.drain(..drop);
            self.sound_base += drop;
        }
    }

    fn start(&mut self) {
        let mut frames: Vec<Kept> = self.recent.drain(..).collect();
        frames.reserve(self.max_frames);
        self.episode = Some(frames);
        self.truncated = false;
    }

    fn keep_frame(&mut self, kept: Kept) {
        match self.episode.as_mut() {
            Some(frames) if frames.len() < self.max_frames + self.pre => frames.push(kept),
            Some(_) => self.truncated = true,
            None => {
                self.recent.push_back(kept);
                while self.recent.len() > self.pre {
                    self.recent.pop_front();
                }
            }
        }
    }

    /// The open episode ends: writes it and returns its folder.
    fn end(&mut self) -> Result<Option<PathBuf>> {
        let Some(frames) = self.episode.take() else {
            return Ok(None);
        };
        if frames.is_empty() {
            return Ok(None);
        }
        self.written += 1;
        let name = format!("episode-{:04}", self.written);
        let out = self.dir.join(&name);
        avad_atomic::create_dir_with(&out, |tmp| self.write(tmp, &frames)).map_err(
            |e| match e {
                AtomicError::Write(e) => e,
                AtomicError::Io { path, error } if error.kind() == ErrorKind::AlreadyExists => {
                    Error::invalid(format!(
                        "{}: already exists (another watch writing here?); not replaced",
                        path.display()
                    ))
                }
                AtomicError::Io { path, error } => Error::io(&path, error),
            },
        )?;
        Ok(Some(out))
    }

    fn write(&self, dir: &Path, frames: &[Kept]) -> Result<()> {
        let images = dir.join("frames");
        std::fs::create_dir_all(&images)
            .with_context(|| format!("{}: cannot create", images.display()))?;
        let side = self.side as u32;
        for k in frames {
            let path = images.join(format!("{:06}.png", k.frame + 1));
            image::save_buffer_with_format(
                &path,
                &k.pixels,
                side,
                side,
                image::ExtendedColorType::L8,
                image::ImageFormat::Png,
            )
            .map_err(|e| cannot(&path, "write", e))?;
        }
        let mut csv = String::from(
            "frame,stream_time_s,video_regularity,audio_regularity,regularity,anomalous\n",
        );
        for k in frames {
            let audio = k.audio.map_or(String::new(), |a| a.to_string());
            csv.push_str(&format!(
                "{},{},{},{audio},{},{}\n",
                k.frame + 1,
                k.t,
                k.video,
                k.regularity,
                u8::from(k.anomalous)
            ));
        }
        let path = dir.join("scores.csv");
        std::fs::write(&path, csv).with_context(|| format!("{}: cannot write", path.display()))?;

        let video: Vec<f64> = frames.iter().map(|k| k.video).collect();
        let joint: Vec<f64> = frames.iter().map(|k| k.regularity).collect();
        let audio: Option<Vec<f64>> = frames.iter().map(|k| k.audio).collect();
        let anomalous: Vec<bool> = frames.iter().map(|k| k.anomalous).collect();
        let mut series = vec![Series {
            name: "video",
            values: &video,
        }];
        if let Some(a) = &audio {
            series.push(Series {
                name: "audio",
                values: a,
            });
            series.push(Series {
                name: "joint (mean)",
                values: &joint,
            });
        }
        let first = frames[0].frame + 1;
        let last = frames[frames.len() - 1].frame + 1;
        let title = format!("episode {}: frames {first}-{last}", self.written);
        let plot = ScoreCurve {
            title: &title,
            y_label: "regularity score s_r",
            first_frame: first,
            series: &series,
            anomalous: &anomalous,
            threshold: Some(self.gamma),
        };
        let path = dir.join("scores.png");
        write_score_curve(&plot, &path, (900, 400))
            .with_context(|| format!("{}: cannot plot", path.display()))?;

        let mut sound_file = None;
        if audio.is_some() {
            let at = |frame: usize| {
                let s = ((frame.saturating_sub(self.segment_first)) as f64 / self.fps
                    * f64::from(SOUND_RATE))
                .round() as usize;
                s.saturating_sub(self.sound_base).min(self.sound.len())
            };
            let (a, b) = (at(frames[0].frame), at(frames[frames.len() - 1].frame + 1));
            if b > a {
                let samples: Vec<f32> = self.sound.range(a..b).copied().collect();
                let path = dir.join("sound.wav");
                avad_data::wav::write_wav_pcm16(&path, SOUND_RATE, 1, &samples)
                    .map_err(|e| cannot(&path, "write", e))?;
                sound_file = Some("sound.wav");
            }
        }
        let meta = serde_json::json!({
            "first_frame": first,
            "last_frame": last,
            "start_time_s": frames[0].t,
            "end_time_s": frames[frames.len() - 1].t,
            "anomalous_frames": anomalous.iter().filter(|a| **a).count(),
            "min_regularity": joint.iter().cloned().fold(f64::INFINITY, f64::min),
            "gamma": self.gamma,
            "truncated": self.truncated,
            "frames": "frames/NNNNNN.png: gray at the model size",
            "sound": sound_file,
        });
        let path = dir.join("episode.json");
        std::fs::write(&path, serde_json::to_string_pretty(&meta)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        Ok(())
    }
}

impl EventSink for Evidence {
    fn event(&mut self, event: &mut Event) -> Result<()> {
        match event {
            Event::Start { .. } => self.start(),
            Event::End { evidence, .. } => {
                *evidence = self.end()?.map(|p| p.display().to_string());
            }
            _ => {}
        }
        Ok(())
    }

    fn stretch(&mut self, first_frame: usize, fps: f64) -> Result<()> {
        self.segment(first_frame, fps);
        Ok(())
    }

    fn frame(&mut self, d: &Decision) -> Result<()> {
        self.keep_frame(Kept {
            frame: d.frame,
            t: d.time_s,
            pixels: d.pixels.clone(),
            video: d.video.regularity,
            audio: d.audio.map(|a| a.regularity),
            regularity: d.regularity,
            anomalous: d.anomalous,
        });
        Ok(())
    }

    fn sound(&mut self, samples: &[f32]) -> Result<()> {
        self.add_sound(samples.to_vec());
        Ok(())
    }
}

/// `PATH: cannot WHAT: the error`.
fn cannot(path: &Path, what: &str, error: impl std::fmt::Display) -> Error {
    Error::Context {
        context: format!("{}: cannot {what}", path.display()),
        error: Box::new(Error::invalid(error.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(frame: usize, fps: f64, anomalous: bool) -> Kept {
        Kept {
            frame,
            t: frame as f64 / fps,
            pixels: vec![frame as u8; 16],
            video: if anomalous { 0.1 } else { 0.9 },
            audio: None,
            regularity: if anomalous { 0.1 } else { 0.9 },
            anomalous,
        }
    }

    fn read_json(path: &Path) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn a_long_episode_keeps_its_lead_in_and_its_first_max_s_seconds() {
        let tmp = tempfile::tempdir().unwrap();
        let mut ev = Evidence::new(tmp.path(), 4, 0.5).unwrap();
        // 2 fps: a lead-in of 2 frames, at most 60 of the episode (MAX_S = 30 s).
        ev.segment(0, 2.0);
        for f in 0..5 {
            ev.keep_frame(kept(f, 2.0, false));
        }
        ev.start();
        for f in 5..100 {
            ev.keep_frame(kept(f, 2.0, true));
        }
        let dir = ev.end().unwrap().unwrap();
        assert!(dir.ends_with("episode-0001"));
        let meta = read_json(&dir.join("episode.json"));
        assert_eq!(meta["truncated"], true);
        assert_eq!(meta["first_frame"], 4, "frames 4 and 5 lead in (1-based)");
        assert_eq!(meta["last_frame"], 65, "then 60 frames, 30 s");
        assert_eq!(meta["anomalous_frames"], 60);
        assert_eq!(std::fs::read_dir(dir.join("frames")).unwrap().count(), 62);
        let csv = std::fs::read_to_string(dir.join("scores.csv")).unwrap();
        assert_eq!(csv.lines().count(), 1 + 62);

        // The next one is short: whole, not truncated, numbered on.
        ev.start();
        for f in 100..110 {
            ev.keep_frame(kept(f, 2.0, true));
        }
        let dir = ev.end().unwrap().unwrap();
        assert!(dir.ends_with("episode-0002"));
        let meta = read_json(&dir.join("episode.json"));
        assert_eq!(meta["truncated"], false);
        assert_eq!(
            (meta["first_frame"].as_u64(), meta["last_frame"].as_u64()),
            (Some(101), Some(110))
        );
        // No temporary folder is left beside the episodes.
        let names: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }
}
