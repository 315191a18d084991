//! [`StatusLine`]: a one-line live status for a terminal.

use std::io::Write;
use std::time::Instant;

use super::{Decision, Event, EventSink};
use crate::Result;

/// A sink that keeps one status line up to date (rewritten in place with `\r`, every
/// fifth frame): frames, frames per second, latency, the latest scores against γ, and
/// whether an episode is open. A front end adds it when its error stream is a terminal.
pub struct StatusLine<W: Write> {
    out: W,
    started: Instant,
    gamma: f64,
    decided: usize,
    open: bool,
}

impl<W: Write> StatusLine<W> {
    /// A status line written to `out`, for a watch deciding against `gamma`.
    pub fn new(out: W, gamma: f64) -> Self {
        StatusLine {
            out,
            started: Instant::now(),
            gamma,
            decided: 0,
            open: false,
        }
    }
}

impl<W: Write> EventSink for StatusLine<W> {
    fn event(&mut self, event: &mut Event) -> Result<()> {
        match event {
            Event::Start { .. } => self.open = true,
            Event::End { .. } => self.open = false,
            // The summary that follows starts on a line of its own.
            Event::Summary(_) => writeln!(self.out).unwrap_or(()),
            _ => {}
        }
        Ok(())
    }

    fn frame(&mut self, d: &Decision) -> Result<()> {
        self.decided += 1;
        if self.decided.is_multiple_of(5) {
            let secs = self.started.elapsed().as_secs_f64();
            let audio = d
                .audio
                .map_or(String::new(), |a| format!(", audio {:.3}", a.regularity));
            // A status line that cannot be drawn is no reason to stop watching.
            let _ = write!(
                self.out,
                "\r{} frames, {:.1} fps, latency {:.0} ms, s_r {:.3}{audio} (γ {:.3}){}   ",
                d.frame + 1,
                (d.frame + 1) as f64 / secs.max(1e-9),
                d.latency.as_secs_f64() * 1000.0,
                d.regularity,
                self.gamma,
                if self.open { ", ANOMALY" } else { "" }
            )
            .and_then(|()| self.out.flush());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::live::FrameScores;

    fn decision(frame: usize, regularity: f64) -> Decision {
        let scores = FrameScores {
            error: 1.0 - regularity,
            regularity,
        };
        Decision {
            frame,
            time_s: frame as f64 / 25.0,
            video: scores,
            video_parts: None,
            audio: Some(scores),
            regularity,
            anomalous: regularity < 0.5,
            latency: Duration::from_millis(12),
            pixels: Vec::new(),
        }
    }

    #[test]
    fn every_fifth_frame_rewrites_the_line_with_the_scores_and_an_open_episode() {
        let mut line = StatusLine::new(Vec::new(), 0.5);
        for frame in 0..4 {
            line.frame(&decision(frame, 0.9)).unwrap();
        }
        assert!(line.out.is_empty(), "drawn before the fifth frame");
        line.frame(&decision(4, 0.9)).unwrap();
        let first = String::from_utf8(std::mem::take(&mut line.out)).unwrap();
        assert!(first.starts_with("\r5 frames, "), "{first:?}");
        assert!(first.contains("latency 12 ms, s_r 0.900, audio 0.900 (γ 0.500)"));
        assert!(!first.contains("ANOMALY"));

        let mut start = Event::Start {
            frame: 6,
            stream_time_s: 0.24,
            wall_time_s: 0.0,
            regularity: 0.2,
            video_regularity: 0.2,
            audio_regularity: None,
            gamma: 0.5,
        };
        line.event(&mut start).unwrap();
        for frame in 5..10 {
            line.frame(&decision(frame, 0.2)).unwrap();
        }
        let second = String::from_utf8(line.out).unwrap();
        assert!(second.starts_with("\r10 frames, "), "{second:?}");
        assert!(second.contains("s_r 0.200") && second.ends_with(", ANOMALY   "));
    }
}
