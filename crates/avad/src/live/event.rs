//! What a watch reports: [`Event`]s, the [`EventSink`]s that take them, and [`Episodes`],
//! which turns decided frames into the start and end of anomalous episodes.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::detector::Decision;
use crate::error::{Error, Result};

/// One thing a watch reports, as a JSON object tagged by `event` (`start`, `end`, `frame`,
/// `reconnect`, `summary`). Frame numbers are 1-based.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Event {
    /// An anomalous episode begins at `frame`.
    Start {
        frame: usize,
        stream_time_s: f64,
        wall_time_s: f64,
        regularity: f64,
        video_regularity: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_regularity: Option<f64>,
        gamma: f64,
    },
    /// The episode that began at `first_frame` ends before `frame`.
    End {
        frame: usize,
        stream_time_s: f64,
        wall_time_s: f64,
        first_frame: usize,
        frames: usize,
        min_regularity: f64,
        reason: String,
        /// The folder its evidence was saved in, when it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        evidence: Option<String>,
    },
    /// Every frame's scores and decision (asked for).
    Frame {
        frame: usize,
        stream_time_s: f64,
        video_error: f64,
        video_regularity: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_error: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audio_regularity: Option<f64>,
        regularity: f64,
        anomalous: bool,
    },
    /// A frame that did not decode was skipped (`position`: its place in the source,
    /// 1-based, counting skipped frames); the watch goes on with the next.
    Skipped {
        position: usize,
        after_frame: usize,
        wall_time_s: f64,
        error: String,
    },
    /// A live source dropped and is reopened after `wait_s`.
    Reconnect {
        attempt: u32,
        wall_time_s: f64,
        after_frame: usize,
        wait_s: f64,
        error: String,
    },
    /// The watch ended.
    Summary(Summary),
}

/// The last event of a watch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub frames: usize,
    pub episodes: usize,
    pub gamma: f64,
    pub seconds: f64,
    pub frames_per_second: f64,
    pub mean_latency_ms: f64,
    pub max_latency_ms: f64,
    pub reconnects: u32,
    pub skipped_packets: u64,
    pub damaged_frames: u64,
    pub peak_rss_mb: Option<f64>,
    /// The most frames waiting for their scores at once.
    pub max_pending_frames: usize,
    /// The most values the audio scorer held at once (samples, feature values and window
    /// sums): with `max_pending_frames`, what stays flat over a long watch.
    pub max_audio_held: usize,
    /// Seconds of silence scored in place of sound that lagged too far.
    pub sound_filled_s: f64,
    /// The Gaussian's standard deviation over the regularity scores, in frames.
    pub smoothing_frames: f64,
    pub interrupted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where a watch's events go: a printer, the evidence writer, a message queue. Sinks are
/// called in order; one may fill in an event for those after it (the evidence writer
/// names its folder in an `end`).
pub trait EventSink {
    /// An event, in order.
    fn event(&mut self, event: &mut Event) -> Result<()>;
    /// A stretch of stream begins: its first frame (0-based) and its frame rate.
    fn stretch(&mut self, _first_frame: usize, _fps: f64) -> Result<()> {
        Ok(())
    }
    /// A frame decided, after the events it caused.
    fn frame(&mut self, _decision: &Decision) -> Result<()> {
        Ok(())
    }
    /// Sound scored (mono, 22,050 Hz), continuing the stretch's.
    fn sound(&mut self, _samples: &[f32]) -> Result<()> {
        Ok(())
    }
}

/// Events as JSON lines, each flushed as it happens but `frame` lines.
pub struct JsonLines<W: Write> {
    out: W,
    name: String,
}

impl<W: Write> JsonLines<W> {
    /// Writes to `out`, which errors name `name` (e.g. `stdout`).
    pub fn new(out: W, name: &str) -> Self {
        JsonLines {
            out,
            name: name.to_string(),
        }
    }
}

impl<W: Write> EventSink for JsonLines<W> {
    fn event(&mut self, event: &mut Event) -> Result<()> {
        (|| -> std::io::Result<()> {
            serde_json::to_writer(&mut self.out, event)?;
            self.out.write_all(b"\n")?;
            // Events are flushed as they happen: a reader of the pipe sees them at once.
            if !matches!(event, Event::Frame { .. }) {
                self.out.flush()?;
            }
            Ok(())
        })()
        .map_err(|e| Error::Context {
            context: format!("writing events to {}", self.name),
            error: Box::new(Error::invalid(e.to_string())),
        })
    }
}

/// Seconds since the Unix epoch.
pub fn wall_time_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Anomalous episodes from decided frames: one starts at the first anomalous frame and
/// ends after `min_gap` frames in a row that are not (the `end` names the first of them).
pub struct Episodes {
    gamma: f64,
    min_gap: usize,
    every_frame: bool,
    open: Option<OpenEpisode>,
    /// In an open episode, the run of frames at or above γ so far.
    gap: Option<Gap>,
    count: usize,
}

/// The episode under way.
struct OpenEpisode {
    first_frame: usize,
    min_regularity: f64,
}

/// A run of frames at or above γ inside an open episode.
struct Gap {
    first_frame: usize,
    time_s: f64,
    frames: usize,
}

impl Episodes {
    /// Episodes at threshold `gamma`; with `every_frame`, a `frame` event per frame too.
    pub fn new(gamma: f64, min_gap: usize, every_frame: bool) -> Self {
        Episodes {
            gamma,
            min_gap: min_gap.max(1),
            every_frame,
            open: None,
            gap: None,
            count: 0,
        }
    }

    /// Episodes started so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Whether an episode is open.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// The events frame `d` causes.
    pub fn decide(&mut self, d: &Decision) -> Vec<Event> {
        let mut events = Vec::new();
        let (frame, t) = (d.frame, d.time_s);
        let audio = d.audio.map(|a| a.regularity);
        if self.every_frame {
            events.push(Event::Frame {
                frame: frame + 1,
                stream_time_s: t,
                video_error: d.video.error,
                video_regularity: d.video.regularity,
                audio_error: d.audio.map(|a| a.error),
                audio_regularity: audio,
                regularity: d.regularity,
                anomalous: d.anomalous,
            });
        }
        match (&mut self.open, d.anomalous) {
            (None, true) => {
                self.open = Some(OpenEpisode {
                    first_frame: frame,
                    min_regularity: d.regularity,
                });
                self.count += 1;
                events.push(Event::Start {
                    frame: frame + 1,
                    stream_time_s: t,
                    wall_time_s: wall_time_s(),
                    regularity: d.regularity,
                    video_regularity: d.video.regularity,
                    audio_regularity: audio,
                    gamma: self.gamma,
                });
            }
            (Some(open), true) => {
                open.min_regularity = open.min_regularity.min(d.regularity);
                self.gap = None;
            }
            (Some(_), false) => {
                let gap = self.gap.get_or_insert(Gap {
                    first_frame: frame,
                    time_s: t,
                    frames: 0,
                });
                gap.frames += 1;
                if gap.frames >= self.min_gap {
                    let (first, t) = (gap.first_frame, gap.time_s);
                    events.extend(self.close(first, t, "score back above gamma"));
                }
            }
            (None, false) => {}
        }
        events
    }

    /// Ends an open episode before `frame` (0-based), at stream time `t`; inside a run of
    /// frames above γ, where the run began.
    pub fn close(&mut self, frame: usize, t: f64, reason: &str) -> Option<Event> {
        let (frame, t) = self
            .gap
            .take()
            .map_or((frame, t), |g| (g.first_frame, g.time_s));
        let OpenEpisode {
            first_frame: first,
            min_regularity: min,
        } = self.open.take()?;
        Some(Event::End {
            frame: frame + 1,
            stream_time_s: t,
            wall_time_s: wall_time_s(),
            first_frame: first + 1,
            frames: frame - first,
            min_regularity: min,
            reason: reason.to_string(),
            evidence: None,
        })
    }
}
