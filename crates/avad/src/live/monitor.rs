//! [`watch`]: a [`Detector`] fed from a [`FrameSource`], its decisions turned into events
//! for the [`EventSink`]s, a dropped live source reopened with backoff.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use avad_media::source::{Damage, FrameSource};

use super::detector::{Detector, StretchEnd};
use super::event::{wall_time_s, Episodes, Event, EventSink, Summary};
use crate::error::{Error, Result};

/// How [`watch`] runs.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// The source's name in messages (its path or URL).
    pub source_name: String,
    /// A live source (a stream URL): when it ends or fails it is reopened.
    pub live: bool,
    /// Times a dropped live source is reopened in a row (waiting 0.5, 1, 2, … up to 8 s).
    pub reconnect: u32,
    /// An episode ends after this many frames in a row at or above γ.
    pub min_gap: usize,
    /// A `frame` event for every frame.
    pub every_frame: bool,
    /// The frame rate of a source that declares none.
    pub fallback_fps: f64,
}

/// How one connection to the source ended.
enum Ended {
    Stream,
    Interrupted,
    Failed(Error),
}

/// Running counts for the summary.
#[derive(Default)]
struct Tally {
    decided: usize,
    latency_sum_ms: f64,
    latency_max_ms: f64,
}

/// The watch's state between stretches.
struct Run<'a> {
    detector: &'a mut Detector,
    sinks: &'a mut [&'a mut dyn EventSink],
    episodes: Episodes,
    tally: Tally,
    notice: &'a mut dyn FnMut(&str),
    source_name: String,
}

impl Run<'_> {
    fn send(&mut self, mut event: Event) -> Result<()> {
        for sink in self.sinks.iter_mut() {
            sink.event(&mut event)?;
        }
        Ok(())
    }

    /// Hands the detector's decisions, sound and notices on.
    fn deliver(&mut self) -> Result<()> {
        let sound = self.detector.take_scored_sound();
        if !sound.is_empty() {
            for sink in self.sinks.iter_mut() {
                sink.sound(&sound)?;
            }
        }
        let decided: Vec<_> = self.detector.decisions().collect();
        for d in decided {
            let ms = d.latency.as_secs_f64() * 1000.0;
            self.tally.decided += 1;
            self.tally.latency_sum_ms += ms;
            self.tally.latency_max_ms = self.tally.latency_max_ms.max(ms);
            for event in self.episodes.decide(&d) {
                self.send(event)?;
            }
            for sink in self.sinks.iter_mut() {
                sink.frame(&d)?;
            }
        }
        for n in self.detector.take_notices() {
            (self.notice)(&format!("{}: {n}", self.source_name));
        }
        Ok(())
    }

    /// Scores one connection's frames until it ends.
    fn stretch(
        &mut self,
        source: &mut dyn FrameSource,
        fps: f64,
        stop: &AtomicBool,
    ) -> Result<Ended> {
        let with_sound = self.detector.needs_sound();
        self.detector.begin(
            fps,
            if with_sound {
                source.sound_rate()
            } else {
                None
            },
        )?;
        let first = self.detector.stretch_start();
        for sink in self.sinks.iter_mut() {
            sink.stretch(first, fps)?;
        }
        let ended = loop {
            if stop.load(Ordering::SeqCst) {
                break Ended::Interrupted;
            }
            let next = source.next_frame();
            for skipped in source.take_skipped() {
                (self.notice)(&format!("skipped a frame: {}", skipped.error));
                self.send(Event::Skipped {
                    position: skipped.position + 1,
                    after_frame: self.detector.frames_received(),
                    wall_time_s: wall_time_s(),
                    error: skipped.error,
                })?;
            }
            let frame = match next {
                Ok(Some(frame)) => frame,
                Ok(None) => break Ended::Stream,
                Err(e) => break Ended::Failed(e.into()),
            };
            if with_sound {
                match source.take_sound() {
                    Ok(sound) => self.detector.push_sound(&sound)?,
                    Err(e) => break Ended::Failed(e.into()),
                }
            }
            self.detector
                .push_frames(frame.pixels, frame.second, frame.time_s)?;
            self.deliver()?;
        };
        let how = match ended {
            Ended::Stream => StretchEnd::Complete,
            Ended::Interrupted => StretchEnd::Interrupted,
            Ended::Failed(_) => StretchEnd::Failed,
        };
        self.detector.end(how)?;
        self.deliver()?;
        Ok(ended)
    }

    /// Closes an open episode at the last frame decided, then sends the summary.
    fn finish(
        &mut self,
        reason: &str,
        started: Instant,
        counts: (u32, Damage),
        interrupted: bool,
        error: Option<String>,
    ) -> Result<Summary> {
        let (frame, t) = self.detector.end_point();
        if let Some(end) = self.episodes.close(frame, t, reason) {
            self.send(end)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let stats = self.detector.stats();
        let n = self.tally.decided;
        let summary = Summary {
            frames: n,
            episodes: self.episodes.count(),
            gamma: self.detector.gamma(),
            seconds,
            frames_per_second: self.detector.frames_received() as f64 / seconds.max(1e-9),
            mean_latency_ms: if n == 0 {
                0.0
            } else {
                self.tally.latency_sum_ms / n as f64
            },
            max_latency_ms: self.tally.latency_max_ms,
            reconnects: counts.0,
            skipped_packets: counts.1.skipped_packets,
            damaged_frames: counts.1.damaged_frames,
            peak_rss_mb: peak_rss_mb(),
            max_pending_frames: stats.max_pending_frames,
            max_audio_held: stats.max_audio_held,
            sound_filled_s: stats.sound_filled_s,
            smoothing_frames: self.detector.smoothing_frames(),
            interrupted,
            error,
        };
        self.send(Event::Summary(summary.clone()))?;
        Ok(summary)
    }
}

/// Watches the frames of the sources `open` gives, until a source ends (a live one: until
/// it cannot be reopened), or `stop` is set. Every event goes to `sinks` in order, the
/// last a `summary`; `notice` gets lines worth telling a user. A source that fails for
/// good ends the watch with its error, after the summary.
pub fn watch<'a>(
    detector: &'a mut Detector,
    open: &mut dyn FnMut() -> Result<Box<dyn FrameSource>>,
    sinks: &'a mut [&'a mut dyn EventSink],
    stop: &AtomicBool,
    options: &WatchOptions,
    notice: &'a mut dyn FnMut(&str),
) -> Result<Summary> {
    let started = Instant::now();
    let mut run = Run {
        episodes: Episodes::new(detector.gamma(), options.min_gap, options.every_frame),
        detector,
        sinks,
        tally: Tally::default(),
        notice,
        source_name: options.source_name.clone(),
    };
    let (mut attempts, mut reconnects) = (0u32, 0u32);
    let mut damage = Damage::default();
    let interrupted = loop {
        let failure = match open() {
            Ok(mut source) => {
                let fps = source.fps().unwrap_or(options.fallback_fps);
                let before = run.detector.frames_received();
                let ended = run.stretch(source.as_mut(), fps, stop)?;
                let d = source.damage();
                damage.skipped_packets += d.skipped_packets;
                damage.damaged_frames += d.damaged_frames;
                if run.detector.frames_received() > before {
                    attempts = 0;
                }
                match ended {
                    Ended::Stream if !options.live => break false,
                    // A live source that ends has dropped: it is reopened.
                    Ended::Stream => {
                        Error::invalid(format!("{}: the stream ended", options.source_name))
                    }
                    Ended::Interrupted => break true,
                    Ended::Failed(e) => e,
                }
            }
            Err(e) => e,
        };
        if !options.live
            || attempts >= options.reconnect
            || stop.load(Ordering::SeqCst)
            || failure.needs_ffmpeg()
            || matches!(failure.root(), Error::Sound { .. })
        {
            run.finish(
                "stream failed",
                started,
                (reconnects, damage),
                false,
                Some(failure.to_string()),
            )?;
            return Err(failure);
        }
        let wait_s = (0.5 * 2f64.powi(attempts as i32)).min(8.0);
        attempts += 1;
        reconnects += 1;
        run.send(Event::Reconnect {
            attempt: attempts,
            wall_time_s: wall_time_s(),
            after_frame: run.detector.frames_resolved(),
            wait_s,
            error: failure.to_string(),
        })?;
        let until = Instant::now() + Duration::from_secs_f64(wait_s);
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let reason = if interrupted {
        "interrupted"
    } else {
        "end of stream"
    };
    run.finish(reason, started, (reconnects, damage), interrupted, None)
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
