//! `avad watch`: score a recording or a stream frame by frame as it arrives and report
//! anomalous episodes as newline-delimited JSON events.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use avad::avad_media::video::is_stream_url;
use avad::live::{SourceSpec, StatusLine};
use avad::score::DEFAULT_SMOOTH;
use avad::SoundMismatch;
use avad::{Detector, DetectorConfig, EventSink, Evidence, JsonLines, Models, WatchOptions};

use crate::args::{self, DeviceArg, VideoScore};
use avad::out_dir::refuse_inside;

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
    #[arg(long, default_value_t = 25.0, value_parser = args::frame_rate)]
    fps: f64,
    /// Frames between visual window ends (default: the model's preset). Events lag the
    /// frame that triggers them by at most this many frames (plus the audio's lag).
    #[arg(long, value_parser = args::at_least_one)]
    hop: Option<usize>,
    /// Decision threshold on the deciding regularity score (default: its label-free γ;
    /// calibrated scores can be negative).
    #[arg(long, allow_hyphen_values = true, value_parser = args::finite_number)]
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
    #[arg(long, default_value_t = 10.0, value_parser = args::seconds)]
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
    /// Where to score (cuda and wgpu need avad built with that feature).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
    /// The visual frame error: motion (the default when the model has it), patch or paper
    /// (eq. 3); see `avad score --help`.
    #[arg(long, value_enum)]
    video_score: Option<VideoScore>,
    /// Score video with the autoencoder alone, leaving out the visual model's speed score;
    /// see `avad score --help`.
    #[arg(long)]
    no_speed: bool,
    /// Seconds (at least 1) the sound may lag the picture before it counts as lost: the
    /// frames are then scored with silence in its place, and sound that comes later for
    /// that stretch is dropped (reported as `sound_filled_s` in the summary).
    #[arg(long, default_value_t = 5.0, value_parser = args::sound_timeout)]
    sound_timeout: f64,
    /// Threads that score visual windows side by side (default: one per core, at most
    /// 256). Scores do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: Option<u32>,
    /// Smooth the regularity scores over time as `avad score` does (a centred Gaussian of
    /// this standard deviation, in frames, within each stretch of stream; 0: off). Each
    /// frame is then decided once the 4σ frames after it are scored: 20 frames (0.8 s at
    /// 25 fps) at the default σ = 5; `--smooth 2` decides 8 frames (0.32 s) late.
    #[arg(long, default_value_t = DEFAULT_SMOOTH, value_name = "FRAMES", value_parser = args::smoothing_frames)]
    smooth: f64,
}

/// The source the arguments name, as [`avad::live::open_source`] opens it.
fn source_spec(args: &Args) -> SourceSpec {
    SourceSpec {
        source: args.source.clone(),
        sound: args.audio.clone(),
        fps: args.fps,
        stall_timeout: Duration::from_secs_f64(args.stall_timeout),
        rtsp_listen: args.listen,
    }
}

/// A sound that does not go with the source, refused naming the flag.
fn sound_advice(e: avad::Error) -> anyhow::Error {
    let advice = match e.root() {
        avad::Error::Sound { mismatch, .. } => match mismatch {
            SoundMismatch::FolderWithoutSound => "give it with --audio FILE",
            SoundMismatch::SoundWithoutAudioModel => {
                "--audio needs an audio model, a second --model"
            }
            SoundMismatch::SoundForVideo => "--audio is for frame folders",
        },
        _ => return e.into(),
    };
    anyhow::anyhow!("{e} ({advice})")
}

pub fn run(args: &Args) -> Result<()> {
    if let Some(evidence) = &args.evidence {
        let mut inputs: Vec<(&str, &Path)> = args
            .model
            .iter()
            .map(|m| ("the model", m.as_path()))
            .collect();
        inputs.push(("the frame folder", Path::new(&args.source)));
        refuse_inside(evidence, &inputs)?;
    }
    let device = args.device.inference()?;
    let models = Models::load_with(
        &args.model,
        &device,
        args.video_score.map(VideoScore::frame_score),
        !args.no_speed,
    )
    .map_err(args::with_advice)?;
    if models.visual().is_none() {
        bail!(
            "{}: watch needs a visual model (`avad train visual`); give it with --model",
            args.model[0].display()
        );
    }
    if let (Some(name), None) = (&args.audio_fold, models.audio()) {
        bail!("--audio-fold {name}: needs an audio model (a second --model)");
    }
    let config = DetectorConfig {
        hop: args.hop,
        gamma: args.gamma,
        smooth: args.smooth,
        workers: args.workers.map_or(0, |n| n as usize),
        sound_timeout: args.sound_timeout,
        audio_fold: args.audio_fold.clone(),
        keep_evidence: args.evidence.is_some(),
    };
    let mut detector = Detector::new(&models, config, &device).map_err(|e| match e {
        avad::Error::Invalid(r) if r.starts_with("hop ") => anyhow::anyhow!("--{r}"),
        avad::Error::Fold { model, reason } if reason.contains("leave-one-clip-out folds") => {
            anyhow::anyhow!(
                "{}: {}, or train one model on normal sound with --normal-audio",
                model.display(),
                reason.replace(
                    "name the one to use by the clip it held out (e.g. ",
                    "name the one to use with --audio-fold (the clip it held out, e.g. "
                )
            )
        }
        e => e.into(),
    })?;

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("installing the Ctrl-C handler")?;
    }
    let mut evidence = match &args.evidence {
        Some(dir) => Some(Evidence::new(
            dir,
            detector.frame_size().width as usize,
            detector.gamma(),
        )?),
        None => None,
    };
    let mut printer = JsonLines::new(std::io::BufWriter::new(std::io::stdout()), "stdout");
    let mut status = StatusLine::new(std::io::stderr(), detector.gamma());
    let on_terminal = std::io::stderr().is_terminal();
    // The evidence writer first: it names its folder in each `end` the printer prints.
    let mut sinks: Vec<&mut dyn EventSink> = Vec::new();
    if let Some(ev) = evidence.as_mut() {
        sinks.push(ev);
    }
    sinks.push(&mut printer);
    if on_terminal {
        sinks.push(&mut status);
    }
    let options = WatchOptions {
        source_name: args.source.clone(),
        live: is_stream_url(&args.source),
        reconnect: args.reconnect,
        min_gap: args.min_gap as usize,
        every_frame: args.every_frame,
        fallback_fps: args.fps,
    };
    // The source is opened again after each drop.
    let (size, needs_sound) = (detector.frame_size(), detector.needs_sound());
    let speed_size = detector.speed_frame_size();
    let spec = source_spec(args);
    let mut open = || avad::live::open_source(&spec, size, speed_size, needs_sound);
    avad::watch(
        &mut detector,
        &mut open,
        &mut sinks,
        &stop,
        &options,
        &mut |line| eprintln!("{line}"),
    )
    .map_err(sound_advice)?;
    Ok(())
}
