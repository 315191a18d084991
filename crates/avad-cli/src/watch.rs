//! `avad watch`: score a recording or a stream frame by frame as it arrives and report
//! anomalous episodes as newline-delimited JSON events.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use avad_media::frames::{FrameFolder, GrayResizer};
use avad_media::video::{is_stream_url, is_video_path, OpenOptions, VideoReader};
use avad_media::FrameSize;
use avad_model::device::Accelerator;
use avad_model::model_dir::VisualModel;
use avad_model::score::{visual_errors, ScoreOptions};
use avad_model::sequences::FrameClip;
use serde::Serialize;

/// Watch a recording or a camera stream and report anomalous episodes as they happen.
///
/// SOURCE is a frame folder, a video file or a live URL (rtsp/http/udp; video files and
/// URLs need the `ffmpeg` feature). Each window of the visual model is scored as soon as
/// its last frame arrives, with the calibrated normalisation (no look-ahead): a frame's
/// score comes from the first window that covers it, exactly as `avad score --causal`
/// computes it offline. A frame is anomalous when its regularity score s_r falls below
/// the model's label-free γ (the 99th percentile of held-out normal errors) or --gamma.
///
/// Prints one JSON object per line on stdout: `start` and `end` of each anomalous
/// episode (frame numbers, stream time, wall-clock time, score), with --every-frame a
/// `frame` record per frame, and a `summary` at the end. On a terminal, a status line on
/// stderr shows frames per second, latency and the current score. Ctrl-C ends the watch
/// cleanly: an open episode is closed and every event is flushed.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Frame folder, video file or stream URL.
    source: String,
    /// Visual model directory (`avad train visual`).
    #[arg(long, short)]
    model: PathBuf,
    /// Frames per second of a frame folder (video files and streams declare their own).
    #[arg(long, default_value_t = 25.0)]
    fps: f64,
    /// Frames between window ends (default: the model's preset). Events lag the frame
    /// that triggers them by at most this many frames.
    #[arg(long)]
    hop: Option<usize>,
    /// Decision threshold on s_r (default: the model's label-free γ).
    #[arg(long)]
    gamma: Option<f64>,
    /// Also print a `frame` record for every frame.
    #[arg(long)]
    every_frame: bool,
    /// Where to score: cpu, or cuda / wgpu when built with that feature.
    #[arg(long, default_value = "cpu")]
    device: String,
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Event {
    Start { frame: usize, stream_time_s: f64, wall_time_s: f64, video_regularity: f64, gamma: f64 },
    End { frame: usize, stream_time_s: f64, wall_time_s: f64, first_frame: usize, frames: usize, min_video_regularity: f64, reason: &'static str },
    Frame { frame: usize, stream_time_s: f64, video_error: f64, video_regularity: f64, anomalous: bool },
    Summary { frames: usize, episodes: usize, seconds: f64, frames_per_second: f64, mean_latency_ms: f64, max_latency_ms: f64, interrupted: bool },
}

/// Frames as they arrive, whatever the source.
enum Source {
    Folder { folder: FrameFolder, next: usize, resizer: GrayResizer, fps: f64 },
    Video(VideoReader),
}

impl Source {
    fn open(source: &str, size: FrameSize, fps: f64) -> Result<Self> {
        let path = Path::new(source);
        if path.is_dir() {
            let folder = FrameFolder::open(path)?;
            if folder.is_empty() {
                bail!("{source}: no frames in this folder");
            }
            return Ok(Source::Folder { folder, next: 0, resizer: GrayResizer::default(), fps });
        }
        if is_stream_url(source) || is_video_path(path) {
            return Ok(Source::Video(VideoReader::open(source, size, &OpenOptions::default())?));
        }
        bail!("{source}: not a frame folder, a video file or a stream URL");
    }

    /// The next frame's pixels and its stream time, `None` at the end.
    fn next(&mut self, size: FrameSize) -> Result<Option<(Vec<f32>, f64)>> {
        match self {
            Source::Folder { folder, next, resizer, fps } => {
                if *next >= folder.len() {
                    return Ok(None);
                }
                let frame = folder.read(*next, size, resizer)?;
                let t = *next as f64 / *fps;
                *next += 1;
                Ok(Some((frame.data, t)))
            }
            Source::Video(reader) => Ok(reader.next_frame()?.map(|f| (f.frame.data, f.pts_s))),
        }
    }
}

struct Emitter {
    out: std::io::BufWriter<std::io::Stdout>,
    every_frame: bool,
    gamma: f64,
    open: Option<(usize, f64)>,
    episodes: usize,
}

fn wall_time_s() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Emitter {
    fn write(&mut self, event: &Event) -> Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        // Events are flushed as they happen: a reader of the pipe sees them at once.
        if !matches!(event, Event::Frame { .. }) {
            self.out.flush()?;
        }
        Ok(())
    }

    fn frame(&mut self, frame: usize, t: f64, error: f64, regularity: f64) -> Result<()> {
        let anomalous = regularity < self.gamma;
        if self.every_frame {
            self.write(&Event::Frame { frame: frame + 1, stream_time_s: t, video_error: error, video_regularity: regularity, anomalous })?;
        }
        match (&mut self.open, anomalous) {
            (None, true) => {
                self.open = Some((frame, regularity));
                self.episodes += 1;
                let gamma = self.gamma;
                self.write(&Event::Start { frame: frame + 1, stream_time_s: t, wall_time_s: wall_time_s(), video_regularity: regularity, gamma })?;
            }
            (Some((_, min)), true) => *min = min.min(regularity),
            (Some(_), false) => self.close(frame, t, "score back above gamma")?,
            (None, false) => {}
        }
        Ok(())
    }

    /// Ends an open episode before `frame` (0-based).
    fn close(&mut self, frame: usize, t: f64, reason: &'static str) -> Result<()> {
        if let Some((first, min)) = self.open.take() {
            self.write(&Event::End {
                frame: frame + 1,
                stream_time_s: t,
                wall_time_s: wall_time_s(),
                first_frame: first + 1,
                frames: frame - first,
                min_video_regularity: min,
                reason,
            })?;
        }
        Ok(())
    }
}

pub fn run(args: &Args) -> Result<()> {
    let device = args.device.parse::<Accelerator>()?.inference_device()?;
    let model = VisualModel::load(&args.model, &device)?;
    let preset = &model.card.preset;
    let (side, steps) = (preset.size, preset.steps);
    let hop = args.hop.unwrap_or(preset.score_hop);
    if hop == 0 || hop > steps {
        bail!("--hop {hop}: must be between 1 and the window's {steps} frames");
    }
    let calibration = &model.card.training.calibration;
    let gamma = match args.gamma {
        Some(g) => g,
        None => calibration.threshold_from_normal(crate::score::NORMAL_PERCENTILE)?,
    };
    let size = FrameSize::new(side as u32, side as u32);
    let mut source = Source::open(&args.source, size, args.fps)?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)).context("installing the Ctrl-C handler")?;
    }
    let status = std::io::stderr().is_terminal();
    let mut emitter = Emitter { out: std::io::BufWriter::new(std::io::stdout()), every_frame: args.every_frame, gamma, open: None, episodes: 0 };
    let started = Instant::now();
    // The last `steps` frames, their stream times and arrival instants.
    let mut window: VecDeque<(Vec<f32>, f64, Instant)> = VecDeque::with_capacity(steps);
    let mut received = 0usize;
    let mut emitted = 0usize;
    let mut latencies = Vec::new();
    let mut last_regularity = f64::NAN;
    let mut interrupted = false;
    let score_window = |window: &VecDeque<(Vec<f32>, f64, Instant)>,
                            first_frame: usize,
                            emit_from: usize,
                            emitter: &mut Emitter,
                            latencies: &mut Vec<f64>|
     -> Result<f64> {
        let frames: Vec<Vec<f32>> = window.iter().map(|w| w.0.clone()).collect();
        let clip = FrameClip::new("live".into(), side, side, frames)?;
        let options = ScoreOptions { steps, hop: steps, batch: 1, map_block: None, causal: true };
        let errors = visual_errors(&model.network, &clip, &options, &device, &mut |_, _| {})?.errors;
        let mut last = f64::NAN;
        for (k, (_, t, arrived)) in window.iter().enumerate() {
            let frame = first_frame + k;
            if frame < emit_from {
                continue;
            }
            let regularity = calibration.regularity_score(errors[k]);
            emitter.frame(frame, *t, errors[k], regularity)?;
            latencies.push(arrived.elapsed().as_secs_f64() * 1000.0);
            last = regularity;
        }
        Ok(last)
    };
    loop {
        if stop.load(Ordering::SeqCst) {
            interrupted = true;
            break;
        }
        let Some((pixels, t)) = source.next(size)? else { break };
        if window.len() == steps {
            window.pop_front();
        }
        window.push_back((pixels, t, Instant::now()));
        received += 1;
        // A window ends at frames steps-1, steps-1+hop, ...: score it and emit the frames
        // no earlier window covered.
        if received >= steps && (received - steps) % hop == 0 {
            last_regularity = score_window(&window, received - steps, emitted, &mut emitter, &mut latencies)?;
            emitted = received;
        }
        if status && received % 5 == 0 {
            let secs = started.elapsed().as_secs_f64();
            let lat = latencies.last().copied().unwrap_or(f64::NAN);
            eprint!(
                "\r{received} frames, {:.1} fps, latency {lat:.0} ms, s_r {last_regularity:.3} (γ {gamma:.3}){}   ",
                received as f64 / secs.max(1e-9),
                if emitter.open.is_some() { ", ANOMALY" } else { "" }
            );
        }
    }
    // The frames after the last complete window: one more window ending on the last frame
    // (as offline scoring adds), unless the stream was shorter than a window.
    if !interrupted && emitted < received && received >= steps {
        score_window(&window, received - steps, emitted, &mut emitter, &mut latencies)?;
        emitted = received;
    }
    let end_t = window.back().map_or(0.0, |w| w.1);
    emitter.close(emitted, end_t, if interrupted { "interrupted" } else { "end of stream" })?;
    if status {
        eprintln!();
    }
    if received < steps {
        eprintln!("{}: {received} frames, fewer than one window of {steps}: nothing scored", args.source);
    }
    let seconds = started.elapsed().as_secs_f64();
    let mean = if latencies.is_empty() { 0.0 } else { latencies.iter().sum::<f64>() / latencies.len() as f64 };
    let max = latencies.iter().cloned().fold(0.0, f64::max);
    let episodes = emitter.episodes;
    emitter.write(&Event::Summary {
        frames: emitted,
        episodes,
        seconds,
        frames_per_second: received as f64 / seconds.max(1e-9),
        mean_latency_ms: mean,
        max_latency_ms: max,
        interrupted,
    })?;
    emitter.out.flush()?;
    Ok(())
}
