//! `avad watch`: score a recording or a stream frame by frame as it arrives and report
//! anomalous episodes as newline-delimited JSON events.

use std::collections::VecDeque;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use avad_eval::Kernel;
use avad_media::audio::{downmix_mono, AudioStream, DecodedAudio};
use avad_media::frames::{FrameFolder, GrayResizer};
use avad_media::video::{is_stream_url, is_video_path, OpenOptions, VideoReader};
use avad_media::FrameSize;
use avad_model::burn::tensor::Device;
use avad_model::device::Accelerator;
use avad_model::model_dir::{AudioModel, FrameScore, VisualModel, VisualScoring};
use avad_model::score::{visual_errors, ScoreOptions};
use avad_model::sequences::{FrameClip, InputStream};
use serde::Serialize;

use crate::evidence::{Evidence, Kept};
use crate::live_audio::LiveAudio;
use crate::score::{load_models, Loaded};
use crate::train_audio::decode_native_mono;

/// Watch a recording or a camera stream, picture and sound, and report anomalous
/// episodes as they happen.
///
/// SOURCE is a frame folder (its sound, if any, from --audio), a video file or a live
/// URL (rtsp/http/udp; video files and URLs need the `ffmpeg` feature). Give --model
/// twice for a visual and an audio model. Each window is scored as soon as its last frame
/// arrives, with the calibrated normalisation (no look-ahead), exactly as `avad score
/// --causal` computes it offline; the sound is kept aligned with the picture by timestamp
/// and each frame's audio score is final about 0.9 s later (one audio window, 0.74 s,
/// plus a feature block and a resampling block). The scores are then smoothed over
/// time as offline (--smooth), so a frame is decided 4σ frames after its scores are in
/// (20 frames at the default σ = 5). With both
/// models a frame's decision is on the joint score, the mean of the two regularity
/// scores, against the mean of the two label-free γ (the label-free fusion of
/// `avad eval`); with one, on its own score against its γ. --gamma overrides γ.
///
/// Prints one JSON object per line on stdout: `start` and `end` of each anomalous
/// episode (frame numbers, stream time, wall-clock time, scores), with --every-frame a
/// `frame` record per frame, `reconnect` when a live stream drops, and a `summary` at
/// the end. On a terminal, a status line on stderr shows frames per second, latency and
/// the current scores. A dropped live stream is reopened with backoff (--reconnect); a
/// stream that sends nothing for --stall-timeout seconds counts as dropped. Ctrl-C ends
/// the watch cleanly: an open episode is closed and every event is flushed.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Frame folder, video file or stream URL.
    source: String,
    /// Model directory: a visual model (`avad train visual`), and optionally an audio
    /// model (`avad train audio`) as a second --model.
    #[arg(long, short, required = true)]
    model: Vec<PathBuf>,
    /// The sound of a frame folder (an audio file, or a video whose track to use).
    #[arg(long)]
    audio: Option<PathBuf>,
    /// For an audio model of several leave-one-clip-out folds: the fold to use, named by
    /// the clip it held out (e.g. test/Test001); a single-fold model needs none.
    #[arg(long)]
    audio_fold: Option<String>,
    /// Frames per second of a frame folder, more than 0 and at most 1000 (video files and
    /// streams declare their own).
    #[arg(long, default_value_t = 25.0, value_parser = crate::score::frame_rate)]
    fps: f64,
    /// Frames between visual window ends (default: the model's preset). Events lag the
    /// frame that triggers them by at most this many frames (plus the audio's lag).
    #[arg(long, value_parser = crate::score::at_least_one)]
    hop: Option<usize>,
    /// Decision threshold on the deciding regularity score (default: its label-free γ;
    /// calibrated scores can be negative).
    #[arg(long, allow_hyphen_values = true, value_parser = crate::score::finite_number)]
    gamma: Option<f64>,
    /// Also print a `frame` record for every frame.
    #[arg(long)]
    every_frame: bool,
    /// An open episode ends only after this many frames in a row at or above γ (the `end`
    /// event names the first of them): a score hovering at γ then makes one episode
    /// instead of many.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    min_gap: u32,
    /// Seconds without data after which a stream counts as stalled (dropped).
    #[arg(long, default_value_t = 10.0, value_parser = crate::score::seconds)]
    stall_timeout: f64,
    /// Times a dropped live stream is reopened in a row (waits 0.5, 1, 2, ... up to 8 s).
    #[arg(long, default_value_t = 5)]
    reconnect: u32,
    /// RTSP: wait for a camera or encoder to push the stream to SOURCE rather than
    /// connecting to a server.
    #[arg(long)]
    listen: bool,
    /// Save each anomalous episode here as a clip to review: its frames from one second
    /// before it, its sound, its scores as CSV and a plot (`episode-NNNN/`).
    #[arg(long)]
    evidence: Option<PathBuf>,
    /// Where to score: cpu, or cuda / wgpu when built with that feature.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// The visual frame error: motion (the default when the model has it), patch or paper
    /// (eq. 3); see `avad score --help`.
    #[arg(long)]
    video_score: Option<FrameScore>,
    /// Seconds (at least 1) the sound may lag the picture before it counts as lost: the
    /// frames are then scored with silence in its place, and sound that comes later for
    /// that stretch is dropped (reported as `sound_filled_s` in the summary).
    #[arg(long, default_value_t = 5.0, value_parser = crate::score::sound_timeout)]
    sound_timeout: f64,
    /// Threads that score visual windows side by side (default: one per core, at most
    /// 256). Scores do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: Option<u32>,
    /// Smooth the regularity scores over time as `avad score` does (a centred Gaussian of
    /// this standard deviation, in frames, within each stretch of stream; 0: off). Each
    /// frame is then decided once the 4σ frames after it are scored: 20 frames (0.8 s at
    /// 25 fps) at the default σ = 5; `--smooth 2` decides 8 frames (0.32 s) late.
    #[arg(long, default_value_t = crate::score::DEFAULT_SMOOTH, value_name = "FRAMES", value_parser = crate::score::smoothing_frames)]
    smooth: f64,
}

#[derive(Serialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Event {
    Start {
        frame: usize,
        stream_time_s: f64,
        wall_time_s: f64,
        regularity: f64,
        video_regularity: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        audio_regularity: Option<f64>,
        gamma: f64,
    },
    End {
        frame: usize,
        stream_time_s: f64,
        wall_time_s: f64,
        first_frame: usize,
        frames: usize,
        min_regularity: f64,
        reason: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        evidence: Option<String>,
    },
    Frame {
        frame: usize,
        stream_time_s: f64,
        video_error: f64,
        video_regularity: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        audio_error: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        audio_regularity: Option<f64>,
        regularity: f64,
        anomalous: bool,
    },
    Reconnect {
        attempt: u32,
        wall_time_s: f64,
        after_frame: usize,
        wait_s: f64,
        error: String,
    },
    Summary {
        frames: usize,
        episodes: usize,
        gamma: f64,
        seconds: f64,
        frames_per_second: f64,
        mean_latency_ms: f64,
        max_latency_ms: f64,
        reconnects: u32,
        skipped_packets: u64,
        damaged_frames: u64,
        peak_rss_mb: Option<f64>,
        /// The most frames waiting for their scores at once.
        max_pending_frames: usize,
        /// The most values the audio scorer held at once (samples, feature values and
        /// window sums): with `max_pending_frames`, what stays flat over a long watch.
        max_audio_held: usize,
        /// Seconds of silence scored in place of sound that lagged past --sound-timeout.
        sound_filled_s: f64,
        /// --smooth: the Gaussian's standard deviation over the regularity scores, in frames.
        smoothing_frames: f64,
        interrupted: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// A frame folder's sound (--audio), mono at its own rate, handed over as the frames
/// need it: up to [`SOUND_LEAD_S`] ahead of the latest frame.
struct Sound {
    rate: u32,
    feed: SoundFeed,
    /// Mono samples handed over so far.
    given: usize,
}

enum SoundFeed {
    /// An audio file, decoded a packet at a time (memory stays flat however long it is).
    File(AudioStream),
    /// A video's sound track, which FFmpeg decodes whole.
    Track(VecDeque<f32>),
}

/// Whether `error` is a build without FFmpeg asked for a stream: no reconnect can mend it.
fn needs_ffmpeg(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        matches!(
            e.downcast_ref::<avad_media::MediaError>(),
            Some(avad_media::MediaError::NeedsFfmpeg { .. })
        )
    })
}

/// Seconds of a frame folder's sound handed over ahead of its latest frame: more than
/// the audio scorer needs before it can score a frame (about 0.9 s).
const SOUND_LEAD_S: f64 = 2.0;

impl Sound {
    fn open(path: &Path) -> Result<Self> {
        if is_video_path(path) {
            let (mono, rate) = decode_native_mono(path, true)?;
            return Ok(Sound {
                rate,
                feed: SoundFeed::Track(mono.into()),
                given: 0,
            });
        }
        let stream = AudioStream::open(path)?;
        Ok(Sound {
            rate: stream.sample_rate(),
            feed: SoundFeed::File(stream),
            given: 0,
        })
    }

    /// The mono samples after those already given, up to time `until_s`.
    fn take_until(&mut self, until_s: f64) -> Result<Vec<f32>> {
        let want = (until_s * f64::from(self.rate)).ceil().max(0.0) as usize;
        let mut out = Vec::new();
        match &mut self.feed {
            SoundFeed::Track(rest) => {
                let n = want.saturating_sub(self.given).min(rest.len());
                out.extend(rest.drain(..n));
            }
            SoundFeed::File(stream) => {
                while self.given + out.len() < want {
                    let Some(chunk) = stream.next_chunk()? else {
                        break;
                    };
                    let decoded = DecodedAudio {
                        sample_rate: stream.sample_rate(),
                        channels: stream.channels(),
                        samples: chunk,
                    };
                    out.extend(downmix_mono(&decoded));
                }
            }
        }
        self.given += out.len();
        Ok(out)
    }
}

/// Frames (and sound) as they arrive, whatever the source.
enum Source {
    Folder {
        frames: Prefetch,
        next: usize,
        fps: f64,
        sound: Option<Sound>,
    },
    Video {
        reader: VideoReader,
        sound_origin: Option<f64>,
    },
}

/// The frames of a folder, decoded ahead on a thread of their own into a bounded queue, so
/// that decoding the next frames overlaps scoring the last window (decoding a Ped2 JPEG
/// takes about a fifth of a frame's time on 2 cores; over the 2010 Ped2 test frames the
/// watch runs 8 % faster with it). Frames come out in order, an error in its place; the
/// thread stops after an error or when the queue is dropped.
struct Prefetch {
    frames: std::sync::mpsc::Receiver<Result<Vec<f32>, avad_media::MediaError>>,
}

impl Prefetch {
    /// Frames queued ahead of the one being scored.
    const AHEAD: usize = 16;

    fn start(folder: FrameFolder, size: FrameSize) -> Self {
        let (tx, frames) = std::sync::mpsc::sync_channel(Self::AHEAD);
        std::thread::spawn(move || {
            let mut resizer = GrayResizer::default();
            for index in 0..folder.len() {
                let frame = folder.read(index, size, &mut resizer).map(|f| f.data);
                let failed = frame.is_err();
                if tx.send(frame).is_err() || failed {
                    return;
                }
            }
        });
        Prefetch { frames }
    }

    /// The next frame (at the size the queue was started with), `None` after the last.
    fn next(&mut self) -> Result<Option<Vec<f32>>> {
        match self.frames.recv() {
            Ok(frame) => Ok(Some(frame?)),
            Err(_) => Ok(None),
        }
    }
}

impl Source {
    fn open(args: &Args, size: FrameSize, want_audio: bool) -> Result<Self> {
        let source = args.source.as_str();
        let path = Path::new(source);
        if path.is_dir() {
            // The layouts `open_dataset` knows: Ped2, UMN, a generic train/ test/ folder.
            if avad_data::ped2::find_ucsd_dir(path).is_some()
                || avad_data::umn::is_umn(path)
                || ["train", "test"].iter().any(|d| path.join(d).is_dir())
            {
                bail!("{source}: a dataset, not one clip; watch one of its clip folders");
            }
            let folder = FrameFolder::open(path)?;
            if folder.is_empty() {
                bail!("{source}: no frames in this folder");
            }
            let sound = match (&args.audio, want_audio) {
                (Some(audio), true) => Some(Sound::open(audio)?),
                (None, true) => bail!("{source}: a frame folder has no sound; give the audio model its sound with --audio FILE"),
                (Some(audio), false) => bail!("{}: --audio needs an audio model (a second --model)", audio.display()),
                (None, false) => None,
            };
            return Ok(Source::Folder {
                frames: Prefetch::start(folder, size),
                next: 0,
                fps: args.fps,
                sound,
            });
        }
        if !is_stream_url(source) && !path.exists() {
            bail!("{source}: no such file or folder");
        }
        if args.audio.is_some() {
            bail!(
                "{source}: --audio is for frame folders; a video's or stream's own sound is used"
            );
        }
        if is_stream_url(source) || is_video_path(path) {
            let options = OpenOptions {
                timeout: Duration::from_secs_f64(args.stall_timeout.max(0.1)),
                audio: want_audio,
                rtsp_listen: args.listen,
                ..OpenOptions::default()
            };
            let reader = VideoReader::open(source, size, &options)?;
            if want_audio && reader.info().audio.is_none() {
                bail!("{source}: has no audio stream for the audio model");
            }
            return Ok(Source::Video {
                reader,
                sound_origin: None,
            });
        }
        bail!("{source}: not a frame folder, a video file or a stream URL");
    }

    fn fps(&self, fallback: f64) -> f64 {
        match self {
            Source::Folder { fps, .. } => *fps,
            Source::Video { reader, .. } => Some(reader.info().fps)
                .filter(|f| *f > 0.0)
                .unwrap_or(fallback),
        }
    }

    fn sound_rate(&self) -> Option<u32> {
        match self {
            Source::Folder { sound, .. } => sound.as_ref().map(|s| s.rate),
            Source::Video { reader, .. } => reader.info().audio.as_ref().map(|a| a.sample_rate),
        }
    }

    /// Packets skipped as corrupt and frames the decoder flagged as damaged.
    fn damage(&self) -> (u64, u64) {
        match self {
            Source::Folder { .. } => (0, 0),
            Source::Video { reader, .. } => (reader.skipped_packets(), reader.damaged_frames()),
        }
    }

    /// The next frame's pixels (at the size the source was opened with) and its stream
    /// time, `None` at the end.
    fn next(&mut self) -> Result<Option<(Vec<f32>, f64)>> {
        match self {
            Source::Folder {
                frames, next, fps, ..
            } => {
                let Some(frame) = frames.next()? else {
                    return Ok(None);
                };
                let t = *next as f64 / *fps;
                *next += 1;
                Ok(Some((frame, t)))
            }
            Source::Video { reader, .. } => {
                Ok(reader.next_frame()?.map(|f| (f.frame.data, f.pts_s)))
            }
        }
    }

    /// Sound since the last call, mono, starting where the previous call's ended: a
    /// video's, as decoded (the first call's starts at the video's time 0: leading sound
    /// is dropped, a late start padded with silence); a frame folder's, up to
    /// [`SOUND_LEAD_S`] past its latest frame.
    fn take_sound(&mut self) -> Result<Vec<f32>> {
        match self {
            Source::Folder { sound: None, .. } => Ok(Vec::new()),
            Source::Folder {
                sound: Some(sound),
                next,
                fps,
                ..
            } => sound.take_until(*next as f64 / *fps + SOUND_LEAD_S),
            Source::Video {
                reader,
                sound_origin,
            } => {
                let mut out = Vec::new();
                while let Some(chunk) = reader.take_audio() {
                    let decoded = DecodedAudio {
                        sample_rate: chunk.sample_rate,
                        channels: chunk.channels,
                        samples: chunk.samples,
                    };
                    let mut mono = downmix_mono(&decoded);
                    if sound_origin.is_none() {
                        let offset = (chunk.start_s * f64::from(chunk.sample_rate)).round() as i64;
                        if offset > 0 {
                            out.extend(std::iter::repeat_n(0.0, offset as usize));
                        } else {
                            mono.drain(..(offset.unsigned_abs() as usize).min(mono.len()));
                        }
                        *sound_origin = Some(chunk.start_s);
                    }
                    out.extend(mono);
                }
                Ok(out)
            }
        }
    }
}

fn wall_time_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Peak resident memory of this process (Linux), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A frame waiting for its scores.
struct Pending {
    t: f64,
    /// The frame, gray at the model size, 8-bit, when evidence is kept (else empty).
    pixels: Vec<u8>,
    arrived: Instant,
    video: Option<(f64, f64)>,
    /// `None` while the audio score is still to come (or when there is no audio model).
    audio: Option<(f64, f64)>,
    /// Scored no further: a segment that ended before its first window.
    dropped: bool,
}

/// A frame with all its scores: (error, calibrated regularity) of each modality.
struct Ready {
    frame: usize,
    t: f64,
    pixels: Vec<u8>,
    arrived: Instant,
    video: (f64, f64),
    audio: Option<(f64, f64)>,
}

/// `avad score`'s smoothing done live: a frame's regularity scores are smoothed with the
/// [`Kernel::radius`] frames on each side of it within its stretch of stream, so it is
/// decided once the frames after it are in, with the same bits as the whole clip offline.
struct Smoother {
    kernel: Kernel,
    /// The regularity scores (video, audio) of up to `radius` frames before `ahead`'s
    /// first, back to the stretch's start.
    history: VecDeque<(f64, Option<f64>)>,
    ahead: VecDeque<Ready>,
}

impl Smoother {
    /// The first waiting frame and its smoothed (video, audio) regularity, once `radius`
    /// frames after it are in (or, at the stretch's `end`, whatever follows it).
    fn next(&mut self, end: bool) -> Option<(Ready, (f64, Option<f64>))> {
        let radius = self.kernel.radius();
        if self.ahead.len() <= radius && !(end && !self.ahead.is_empty()) {
            return None;
        }
        let at = self.history.len();
        let video: Vec<f64> = self
            .history
            .iter()
            .map(|h| h.0)
            .chain(self.ahead.iter().map(|r| r.video.1))
            .collect();
        let v = self.kernel.at(&video, at);
        let a = self.ahead[0].audio.map(|_| {
            let audio: Vec<f64> = self
                .history
                .iter()
                .map(|h| h.1.unwrap_or(f64::NAN))
                .chain(self.ahead.iter().map(|r| r.audio.map_or(f64::NAN, |a| a.1)))
                .collect();
            self.kernel.at(&audio, at)
        });
        let ready = self.ahead.pop_front()?;
        self.history
            .push_back((ready.video.1, ready.audio.map(|a| a.1)));
        if self.history.len() > radius {
            self.history.pop_front();
        }
        Some((ready, (v, a)))
    }
}

struct Emitter {
    out: std::io::BufWriter<std::io::Stdout>,
    every_frame: bool,
    gamma: f64,
    with_audio: bool,
    open: Option<(usize, f64)>,
    episodes: usize,
    min_gap: usize,
    /// In an open episode, the run of frames at or above γ so far: its first frame, that
    /// frame's time, and its length.
    gap: Option<(usize, f64, usize)>,
    /// Frames from global index `base` on, waiting for their scores.
    pending: VecDeque<Pending>,
    /// Scored frames waiting for the frames after them (`--smooth`).
    smoother: Option<Smoother>,
    base: usize,
    emitted: usize,
    /// Latency from arrival to emission, ms: count, sum, max, latest (running, so that
    /// memory stays flat however long the watch runs).
    latency: (usize, f64, f64, f64),
    last: (f64, Option<f64>),
    /// Stream time of the latest frame to arrive.
    last_t: f64,
    /// The latest frame decided (0-based) and its stream time.
    decided: Option<(usize, f64)>,
    evidence: Option<Evidence>,
    /// High-water marks: frames pending, values held by the audio scorer.
    max_pending: usize,
    max_audio_held: usize,
    sound_filled_s: f64,
}

impl Emitter {
    fn write(&mut self, event: &Event) -> Result<()> {
        (|| -> std::io::Result<()> {
            serde_json::to_writer(&mut self.out, event)?;
            self.out.write_all(b"\n")?;
            // Events are flushed as they happen: a reader of the pipe sees them at once.
            if !matches!(event, Event::Frame { .. }) {
                self.out.flush()?;
            }
            Ok(())
        })()
        .context("writing events to stdout")
    }

    fn arrive(&mut self, t: f64, pixels: &[f32]) {
        self.last_t = t;
        let pixels = if self.evidence.is_some() {
            pixels
                .iter()
                .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
                .collect()
        } else {
            Vec::new()
        };
        self.pending.push_back(Pending {
            t,
            pixels,
            arrived: Instant::now(),
            video: None,
            audio: None,
            dropped: false,
        });
        self.max_pending = self.max_pending.max(self.pending.len());
    }

    fn slot(&mut self, frame: usize) -> Option<&mut Pending> {
        frame
            .checked_sub(self.base)
            .and_then(|i| self.pending.get_mut(i))
    }

    /// Emits, in order, every frame whose scores are all in.
    fn drain(&mut self) -> Result<()> {
        while let Some(p) = self.pending.front() {
            if p.dropped {
                self.pending.pop_front();
                self.base += 1;
                continue;
            }
            let Some(video) = p.video else { break };
            if self.with_audio && p.audio.is_none() {
                break;
            }
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            let ready = Ready {
                frame: self.base,
                t: p.t,
                pixels: p.pixels,
                arrived: p.arrived,
                video,
                audio: p.audio,
            };
            self.base += 1;
            match self.smoother.as_mut() {
                Some(smoother) => smoother.ahead.push_back(ready),
                None => self.emit(ready, None)?,
            }
            self.emit_smoothed(false)?;
        }
        Ok(())
    }

    /// Emits the frames the smoother can decide; at the end of a stretch of stream, all
    /// of them, and the next stretch starts afresh (as `avad score` smooths each clip).
    fn emit_smoothed(&mut self, end: bool) -> Result<()> {
        while let Some((ready, smoothed)) = self.smoother.as_mut().and_then(|s| s.next(end)) {
            self.emit(ready, Some(smoothed))?;
        }
        if end {
            if let Some(s) = self.smoother.as_mut() {
                s.history.clear();
            }
        }
        Ok(())
    }

    /// Decides a frame on its regularity scores, smoothed when `smoothed` says.
    fn emit(&mut self, ready: Ready, smoothed: Option<(f64, Option<f64>)>) -> Result<()> {
        let ms = ready.arrived.elapsed().as_secs_f64() * 1000.0;
        self.latency = (
            self.latency.0 + 1,
            self.latency.1 + ms,
            self.latency.2.max(ms),
            ms,
        );
        let (mut video, mut audio) = (ready.video, ready.audio);
        if let Some((v, a)) = smoothed {
            video.1 = v;
            if let (Some(audio), Some(a)) = (audio.as_mut(), a) {
                audio.1 = a;
            }
        }
        self.frame(ready.frame, ready.t, video, audio, ready.pixels)
    }

    fn frame(
        &mut self,
        frame: usize,
        t: f64,
        video: (f64, f64),
        audio: Option<(f64, f64)>,
        pixels: Vec<u8>,
    ) -> Result<()> {
        let regularity = match audio {
            Some((_, a)) => 0.5 * (video.1 + a),
            None => video.1,
        };
        self.last = (regularity, audio.map(|a| a.1));
        self.emitted += 1;
        self.decided = Some((frame, t));
        let anomalous = regularity < self.gamma;
        if self.every_frame {
            self.write(&Event::Frame {
                frame: frame + 1,
                stream_time_s: t,
                video_error: video.0,
                video_regularity: video.1,
                audio_error: audio.map(|a| a.0),
                audio_regularity: audio.map(|a| a.1),
                regularity,
                anomalous,
            })?;
        }
        let kept = Kept {
            frame,
            t,
            pixels,
            video: video.1,
            audio: audio.map(|a| a.1),
            regularity,
            anomalous,
        };
        match (&mut self.open, anomalous) {
            (None, true) => {
                if let Some(ev) = self.evidence.as_mut() {
                    ev.start();
                }
                self.open = Some((frame, regularity));
                self.episodes += 1;
                let gamma = self.gamma;
                self.write(&Event::Start {
                    frame: frame + 1,
                    stream_time_s: t,
                    wall_time_s: wall_time_s(),
                    regularity,
                    video_regularity: video.1,
                    audio_regularity: audio.map(|a| a.1),
                    gamma,
                })?;
            }
            (Some((_, min)), true) => {
                *min = min.min(regularity);
                self.gap = None;
            }
            (Some(_), false) => {
                let gap = self.gap.get_or_insert((frame, t, 0));
                gap.2 += 1;
                if gap.2 >= self.min_gap {
                    let (first, t, _) = *gap;
                    self.close(first, t, "score back above gamma")?;
                }
            }
            (None, false) => {}
        }
        if let Some(ev) = self.evidence.as_mut() {
            ev.frame(kept);
        }
        Ok(())
    }

    /// Where the watch ends for an open episode: just after the last frame decided (frames
    /// read but left undecided by an interruption are not in it).
    fn end_point(&self) -> (usize, f64) {
        self.decided
            .map_or((self.base, self.last_t), |(frame, t)| (frame + 1, t))
    }

    /// Ends an open episode before `frame` (0-based), at stream time `t`.
    fn close(&mut self, frame: usize, t: f64, reason: &'static str) -> Result<()> {
        // Ending inside a run above γ: the episode ended where the run began.
        let (frame, t) = self.gap.take().map_or((frame, t), |g| (g.0, g.1));
        if let Some((first, min)) = self.open.take() {
            let evidence = match self.evidence.as_mut() {
                Some(ev) => ev.end()?.map(|p| p.display().to_string()),
                None => None,
            };
            self.write(&Event::End {
                frame: frame + 1,
                stream_time_s: t,
                wall_time_s: wall_time_s(),
                first_frame: first + 1,
                frames: frame - first,
                min_regularity: min,
                reason,
                evidence,
            })?;
        }
        Ok(())
    }
}

/// The models and how to use them.
struct Scorer<'m> {
    visual: &'m VisualModel,
    scoring: VisualScoring<'m>,
    audio: Option<(&'m AudioModel, usize)>,
    device: Device,
    hop: usize,
    workers: usize,
    sound_timeout: f64,
    source: String,
}

/// How one connection to the source (a segment of the watch) ended.
enum Ended {
    Stream,
    Interrupted,
    Failed(anyhow::Error),
}

impl Scorer<'_> {
    /// Scores frames from `source` until it ends; frame numbers continue from the
    /// emitter's count.
    fn segment(
        &self,
        source: &mut Source,
        fps: f64,
        emitter: &mut Emitter,
        stop: &AtomicBool,
        status: bool,
        started: Instant,
    ) -> Result<Ended> {
        let preset = &self.visual.card.preset;
        let (side, steps, input) = (preset.size, preset.steps, preset.input);
        let calibration = self.scoring.calibration;
        let first = emitter.base + emitter.pending.len();
        let mut live = match (self.audio, source.sound_rate()) {
            (Some((model, fold)), Some(rate)) => {
                Some(LiveAudio::new(model, fold, fps, rate, &self.device)?)
            }
            _ => None,
        };
        if let Some(ev) = emitter.evidence.as_mut() {
            ev.segment(first, fps);
            if let Some(live) = live.as_mut() {
                live.tap = Some(Vec::new());
            }
        }
        let set_audio = |emitter: &mut Emitter, live: &mut LiveAudio, scores: Vec<(usize, f64)>| {
            if let Some(ev) = emitter.evidence.as_mut() {
                ev.add_sound(live.take_released());
            }
            emitter.max_audio_held = emitter.max_audio_held.max(live.held_values());
            for (j, e) in scores {
                let r = live.calibration.regularity_score(e);
                if let Some(p) = emitter.slot(first + j) {
                    p.audio = Some((e, r));
                }
            }
        };
        let set_video = |emitter: &mut Emitter, done: Vec<Scored>| {
            for scored in done {
                for (k, e) in scored.errors.iter().enumerate() {
                    let frame = scored.start + k;
                    if frame >= scored.from {
                        if let Some(p) = emitter.slot(first + frame) {
                            p.video = Some((*e, calibration.regularity_score(*e)));
                        }
                    }
                }
            }
        };
        // Visual windows are scored on worker threads (the model's layers leave much of a
        // second core idle) while this thread decodes, scores the sound and emits. Each
        // window is computed as before, whichever thread takes it, so no score changes.
        std::thread::scope(|scope| {
            let mut pool = WindowPool::start(scope, self.workers, |frames| {
                self.window_errors(frames, side, steps)
            });
            let mut window: VecDeque<Vec<f32>> = VecDeque::with_capacity(steps);
            // The model's input (each stretch of stream starts still, as a clip does).
            let mut seen = InputStream::new(input);
            let (mut received, mut scored) = (0usize, 0usize);
            let mut filling = false;
            let ended = loop {
                if stop.load(Ordering::SeqCst) {
                    break Ended::Interrupted;
                }
                let (pixels, t) = match source.next() {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break Ended::Stream,
                    Err(e) => break Ended::Failed(e.into()),
                };
                if window.len() == steps {
                    window.pop_front();
                }
                emitter.arrive(t, &pixels);
                window.push_back(seen.next(pixels));
                received += 1;
                // A window ends at frames steps-1, steps-1+hop, ...: score it and give the
                // frames no earlier window covered their video scores.
                if received >= steps && (received - steps) % self.hop == 0 {
                    let done = pool.submit(Window {
                        frames: window.iter().cloned().collect(),
                        start: received - steps,
                        from: scored,
                    })?;
                    set_video(emitter, done);
                    scored = received;
                }
                set_video(emitter, pool.ready()?);
                if let Some(live) = live.as_mut() {
                    match source.take_sound() {
                        Ok(sound) => live.push(&sound),
                        Err(e) => break Ended::Failed(e),
                    }
                    let filled = live.fill_gap(received, self.sound_timeout);
                    if filled && !filling {
                        eprintln!(
                            "{}: no sound for {:.0} s of picture: scoring silence until it comes back (frame {})",
                            self.source,
                            self.sound_timeout,
                            first + received
                        );
                    }
                    filling = filled;
                    let scores = live.advance(received)?;
                    set_audio(emitter, live, scores);
                }
                emitter.drain()?;
                if status && received % 5 == 0 {
                    let secs = started.elapsed().as_secs_f64();
                    let lat = emitter.latency.3;
                    let audio = emitter
                        .last
                        .1
                        .map_or(String::new(), |a| format!(", audio {a:.3}"));
                    eprint!(
                        "\r{} frames, {:.1} fps, latency {lat:.0} ms, s_r {:.3}{audio} (γ {:.3}){}   ",
                        first + received,
                        (first + received) as f64 / secs.max(1e-9),
                        emitter.last.0,
                        emitter.gamma,
                        if emitter.open.is_some() { ", ANOMALY" } else { "" }
                    );
                }
            };
            // The frames after the last complete window: one more window ending on the last
            // frame (as offline scoring adds), unless the segment was shorter than a window.
            if !matches!(ended, Ended::Interrupted) && scored < received && received >= steps {
                let done = pool.submit(Window {
                    frames: window.iter().cloned().collect(),
                    start: received - steps,
                    from: scored,
                })?;
                set_video(emitter, done);
            }
            set_video(emitter, pool.finish()?);
            if received < steps {
                for j in 0..received {
                    if let Some(p) = emitter.slot(first + j) {
                        p.dropped = true;
                    }
                }
                // A failed segment says why in its error; this note would only mislead.
                if received > 0 && !matches!(ended, Ended::Failed(_)) {
                    eprintln!(
                        "{}: {received} frames, fewer than one window of {steps}: not scored",
                        self.source
                    );
                }
            }
            if let Some(live) = live.as_mut() {
                emitter.sound_filled_s += live.filled_s();
                if matches!(ended, Ended::Interrupted) {
                    // Frames still owed an audio score: none will come.
                    for p in emitter.pending.iter_mut() {
                        p.dropped |= p.audio.is_none();
                    }
                } else {
                    let scores = live.finish(received)?;
                    set_audio(emitter, live, scores);
                }
            }
            if matches!(ended, Ended::Interrupted) {
                for p in emitter.pending.iter_mut() {
                    p.dropped |= p.video.is_none();
                }
            }
            emitter.drain()?;
            emitter.emit_smoothed(true)?;
            Ok(ended)
        })
    }

    /// The video frame errors of one window of `steps` frames of `side` x `side`.
    fn window_errors(&self, frames: Vec<Vec<f32>>, side: usize, steps: usize) -> Result<Vec<f64>> {
        let clip = FrameClip::new("live".into(), side, side, frames)?;
        let options = ScoreOptions {
            steps,
            hop: steps,
            batch: 1,
            map_block: None,
            patch_block: self.scoring.patch_block(),
            causal: true,
        };
        let errors = visual_errors(
            &self.visual.network,
            &clip,
            &options,
            &self.device,
            &mut |_, _| {},
        )?;
        Ok(self.scoring.frame_errors(&errors)?)
    }
}

/// One visual window to score: its frames, the index of its first frame in the segment,
/// and the first frame no earlier window covered (the frames its scores go to).
struct Window {
    frames: Vec<Vec<f32>>,
    start: usize,
    from: usize,
}

/// A window's frame errors, with the frames they belong to.
struct Scored {
    errors: Vec<f64>,
    start: usize,
    from: usize,
}

/// Worker threads that score visual windows, fed through a bounded queue (a full queue
/// makes `submit` wait for a result, so a slow model holds back the reading rather than
/// piling up frames). Results come back in the order the workers finish them.
struct WindowPool {
    jobs: Option<std::sync::mpsc::SyncSender<Window>>,
    done: std::sync::mpsc::Receiver<Result<Scored>>,
    outstanding: usize,
}

impl WindowPool {
    fn start<'scope, 'env, F>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        workers: usize,
        score: F,
    ) -> Self
    where
        F: Fn(Vec<Vec<f32>>) -> Result<Vec<f64>> + Send + Sync + 'scope,
    {
        let workers = workers.max(1);
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Window>(1);
        let (results, done) = std::sync::mpsc::channel();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let score = Arc::new(score);
        for _ in 0..workers {
            let (queue, results, score) = (queue.clone(), results.clone(), score.clone());
            scope.spawn(move || loop {
                // The lock is held only while taking a job, not while scoring it.
                let job = match queue.lock() {
                    Ok(q) => q.recv(),
                    Err(_) => break,
                };
                let Ok(Window {
                    frames,
                    start,
                    from,
                }) = job
                else {
                    break;
                };
                let scored = score(frames).map(|errors| Scored {
                    errors,
                    start,
                    from,
                });
                if results.send(scored).is_err() {
                    break;
                }
            });
        }
        WindowPool {
            jobs: Some(jobs),
            done,
            outstanding: 0,
        }
    }

    /// Queues `job`, returning the windows finished meanwhile.
    fn submit(&mut self, job: Window) -> Result<Vec<Scored>> {
        let mut finished = Vec::new();
        let jobs = self.jobs.clone().context("window pool already finished")?;
        let mut job = job;
        loop {
            match jobs.try_send(job) {
                Ok(()) => break,
                // Every worker is busy: take in a result, then try again.
                Err(std::sync::mpsc::TrySendError::Full(j)) if self.outstanding > 0 => {
                    job = j;
                    finished.push(self.wait()?);
                }
                // None is busy, but none has come back for the next job yet.
                Err(std::sync::mpsc::TrySendError::Full(j)) => {
                    jobs.send(j)
                        .map_err(|_| anyhow::anyhow!("the window scoring threads stopped"))?;
                    break;
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => {
                    bail!("the window scoring threads stopped")
                }
            }
        }
        self.outstanding += 1;
        Ok(finished)
    }

    /// The windows finished so far, without waiting.
    fn ready(&mut self) -> Result<Vec<Scored>> {
        let mut finished = Vec::new();
        while let Ok(scored) = self.done.try_recv() {
            self.outstanding -= 1;
            finished.push(scored?);
        }
        Ok(finished)
    }

    /// Every window still being scored; the workers then stop.
    fn finish(&mut self) -> Result<Vec<Scored>> {
        self.jobs = None;
        let mut finished = Vec::new();
        while self.outstanding > 0 {
            finished.push(self.wait()?);
        }
        Ok(finished)
    }

    fn wait(&mut self) -> Result<Scored> {
        let scored = self
            .done
            .recv()
            .map_err(|_| anyhow::anyhow!("the window scoring threads stopped"))?;
        self.outstanding -= 1;
        scored
    }
}

pub fn run(args: &Args) -> Result<()> {
    if let Some(evidence) = &args.evidence {
        let mut inputs: Vec<(&str, &Path)> = args
            .model
            .iter()
            .map(|m| ("the model", m.as_path()))
            .collect();
        let source = Path::new(&args.source);
        inputs.push(("the frame folder", source));
        crate::out_dir::refuse_inside(evidence, &inputs)?;
    }
    let device = args.device.parse::<Accelerator>()?.inference_device()?;
    let models = load_models(&args.model, &device, args.video_score)?;
    let visual = models.iter().find_map(|m| match m {
        Loaded::Visual { model, score, .. } => Some((model, *score)),
        _ => None,
    });
    let Some((visual, score)) = visual else {
        bail!(
            "{}: watch needs a visual model (`avad train visual`); give it with --model",
            args.model[0].display()
        );
    };
    let audio = models.iter().find(|m| m.modality() == "audio");
    let preset = &visual.card.preset;
    let hop = args.hop.unwrap_or(preset.score_hop);
    if hop == 0 || hop > preset.steps {
        bail!(
            "--hop {hop}: must be between 1 and the window's {} frames",
            preset.steps
        );
    }
    let scoring = visual.scoring(Some(score)).map_err(anyhow::Error::msg)?;
    let video_gamma = scoring
        .calibration
        .threshold_from_normal(crate::score::NORMAL_PERCENTILE)?;
    let (audio, gamma) = match audio {
        Some(loaded @ Loaded::Audio { model, path, .. }) => {
            let fold = match (&args.audio_fold, model.card.folds.len()) {
                (None, 1) => 0,
                (Some(name), _) => model.fold_for(name).map_err(anyhow::Error::msg)?,
                (None, n) => bail!(
                    "{}: {n} leave-one-clip-out folds; name the one to use with --audio-fold (the clip it held out, e.g. {}), or train one model on normal sound with --normal-audio",
                    path.display(),
                    model.card.folds[0].held_out.as_deref().unwrap_or("test/NAME")
                ),
            };
            (
                Some((model, fold)),
                0.5 * (video_gamma + loaded.normal_gamma()?),
            )
        }
        _ => {
            if let Some(name) = &args.audio_fold {
                bail!("--audio-fold {name}: needs an audio model (a second --model)");
            }
            (None, video_gamma)
        }
    };
    let gamma = args.gamma.unwrap_or(gamma);
    let workers = match args.workers {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let scorer = Scorer {
        visual,
        scoring,
        audio,
        device,
        hop,
        workers,
        sound_timeout: args.sound_timeout,
        source: args.source.clone(),
    };
    let size = FrameSize::new(preset.size as u32, preset.size as u32);
    let live_url = is_stream_url(&args.source);

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
    }
    let status = std::io::stderr().is_terminal();
    let mut emitter = Emitter {
        out: std::io::BufWriter::new(std::io::stdout()),
        every_frame: args.every_frame,
        gamma,
        with_audio: scorer.audio.is_some(),
        open: None,
        episodes: 0,
        min_gap: args.min_gap as usize,
        gap: None,
        pending: VecDeque::new(),
        smoother: Kernel::new(args.smooth).map(|kernel| Smoother {
            kernel,
            history: VecDeque::new(),
            ahead: VecDeque::new(),
        }),
        base: 0,
        emitted: 0,
        latency: (0, 0.0, 0.0, f64::NAN),
        last: (f64::NAN, None),
        last_t: 0.0,
        decided: None,
        max_pending: 0,
        max_audio_held: 0,
        sound_filled_s: 0.0,
        evidence: match &args.evidence {
            Some(dir) => Some(Evidence::new(dir, preset.size, gamma)?),
            None => None,
        },
    };
    let started = Instant::now();
    let (mut attempts, mut reconnects, mut skipped, mut damaged) = (0u32, 0u32, 0u64, 0u64);
    let interrupted = loop {
        let opened = Source::open(args, size, scorer.audio.is_some());
        let failure = match opened {
            Ok(mut source) => {
                let fps = source.fps(args.fps);
                let before = emitter.base + emitter.pending.len();
                let ended =
                    scorer.segment(&mut source, fps, &mut emitter, &stop, status, started)?;
                let (s, d) = source.damage();
                skipped += s;
                damaged += d;
                if emitter.base + emitter.pending.len() > before {
                    attempts = 0;
                }
                match ended {
                    Ended::Stream if !live_url => break false,
                    // A live source that ends has dropped: it is reopened.
                    Ended::Stream => anyhow::anyhow!("{}: the stream ended", args.source),
                    Ended::Interrupted => break true,
                    Ended::Failed(e) => e,
                }
            }
            Err(e) => e,
        };
        if !live_url
            || attempts >= args.reconnect
            || stop.load(Ordering::SeqCst)
            || needs_ffmpeg(&failure)
        {
            let (frame, t) = emitter.end_point();
            emitter.close(frame, t, "stream failed")?;
            summary(
                &mut emitter,
                started,
                reconnects,
                (skipped, damaged),
                false,
                Some(format!("{failure:#}")),
            )?;
            return Err(failure);
        }
        let wait_s = (0.5 * 2f64.powi(attempts as i32)).min(8.0);
        attempts += 1;
        reconnects += 1;
        emitter.write(&Event::Reconnect {
            attempt: attempts,
            wall_time_s: wall_time_s(),
            after_frame: emitter.base,
            wait_s,
            error: format!("{failure:#}"),
        })?;
        let until = Instant::now() + Duration::from_secs_f64(wait_s);
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (frame, t) = emitter.end_point();
    emitter.close(
        frame,
        t,
        if interrupted {
            "interrupted"
        } else {
            "end of stream"
        },
    )?;
    summary(
        &mut emitter,
        started,
        reconnects,
        (skipped, damaged),
        interrupted,
        None,
    )
}

fn summary(
    emitter: &mut Emitter,
    started: Instant,
    reconnects: u32,
    damage: (u64, u64),
    interrupted: bool,
    error: Option<String>,
) -> Result<()> {
    if std::io::stderr().is_terminal() {
        eprintln!();
    }
    let seconds = started.elapsed().as_secs_f64();
    let (count, sum, max, _) = emitter.latency;
    let mean = if count == 0 { 0.0 } else { sum / count as f64 };
    let summary = Event::Summary {
        frames: emitter.emitted,
        episodes: emitter.episodes,
        gamma: emitter.gamma,
        seconds,
        frames_per_second: (emitter.base + emitter.pending.len()) as f64 / seconds.max(1e-9),
        mean_latency_ms: mean,
        max_latency_ms: max,
        reconnects,
        skipped_packets: damage.0,
        damaged_frames: damage.1,
        peak_rss_mb: peak_rss_mb(),
        max_pending_frames: emitter.max_pending,
        max_audio_held: emitter.max_audio_held,
        sound_filled_s: emitter.sound_filled_s,
        smoothing_frames: emitter.smoother.as_ref().map_or(0.0, |s| s.kernel.sigma()),
        interrupted,
        error,
    };
    emitter.write(&summary)?;
    emitter.out.flush()?;
    Ok(())
}
