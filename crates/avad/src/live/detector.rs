//! [`Detector`]: the live engine, one frame at a time, with no I/O inside.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use avad_eval::normalize::Calibration;
use avad_eval::Kernel;
use avad_media::FrameSize;
use avad_model::burn::tensor::Device;
use avad_model::score::{visual_errors, ScoreOptions};
use avad_model::sequences::{FrameClip, InputStream};
use avad_objects::SpeedState;

use super::audio::LiveAudio;
use super::pool::{Scored, Window, WindowPool};
use super::smoother::{Ready, Smoother};
use crate::error::{Error, Result};
use crate::models::{Audio, Models, Visual};
use crate::score::DEFAULT_SMOOTH;

/// How a [`Detector`] scores and decides.
#[derive(Clone, Debug)]
pub struct DetectorConfig {
    /// Frames between visual window ends (`None`: the visual model's preset); from 1 to
    /// the window's length.
    pub hop: Option<usize>,
    /// The threshold on the deciding regularity score (`None`: the label-free γ, or with
    /// both models the mean of the two).
    pub gamma: Option<f64>,
    /// The standard deviation, in frames, of the Gaussian that smooths the regularity
    /// scores over time (0: none). A frame is decided once the 4σ frames after it are in.
    pub smooth: f64,
    /// Threads that score visual windows side by side (0: one per core).
    pub workers: usize,
    /// Seconds the sound may lag the picture before it counts as lost and silence is
    /// scored in its place (`f64::INFINITY`: never, as offline).
    pub sound_timeout: f64,
    /// For an audio model of several leave-one-clip-out folds, the clip whose fold to use.
    pub audio_fold: Option<String>,
    /// Keep each frame's pixels (8-bit gray at the model size) and the sound scored, for
    /// evidence.
    pub keep_evidence: bool,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            hop: None,
            gamma: None,
            smooth: DEFAULT_SMOOTH,
            workers: 0,
            sound_timeout: 5.0,
            audio_fold: None,
            keep_evidence: false,
        }
    }
}

/// One modality's score of a frame: the model's reconstruction error and its calibrated
/// regularity score s_r (smoothed over time when the detector smooths).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FrameScores {
    pub error: f64,
    pub regularity: f64,
}

/// The two raw errors a visual model with a speed score combines into a frame's video
/// error ([`crate::speed::Speed::combine`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VideoParts {
    /// The autoencoder's frame error, under the model's frame score.
    pub autoencoder: f64,
    /// The raw speed score.
    pub speed: f64,
}

/// A frame decided.
#[derive(Clone, Debug)]
pub struct Decision {
    /// The frame's number in the watch, 0-based, continuing across stretches of stream.
    pub frame: usize,
    /// Its stream time, seconds.
    pub time_s: f64,
    pub video: FrameScores,
    /// What the video error is made of, with a speed score beside the visual model.
    pub video_parts: Option<VideoParts>,
    pub audio: Option<FrameScores>,
    /// The deciding score: the video's, or the mean of both regularity scores.
    pub regularity: f64,
    /// `regularity < γ`.
    pub anomalous: bool,
    /// From the frame's arrival to its decision.
    pub latency: Duration,
    /// 8-bit gray at the model size, with [`DetectorConfig::keep_evidence`] (else empty).
    pub pixels: Vec<u8>,
}

/// How a stretch of stream (one connection to the source) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StretchEnd {
    /// The source ended: its last frames are scored.
    Complete,
    /// The source failed: what was read is scored, as at its end.
    Failed,
    /// The watch was stopped: frames whose scores are not in are dropped.
    Interrupted,
}

/// What the detector held at most, and the silence it scored.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DetectorStats {
    /// The most frames waiting for their scores at once.
    pub max_pending_frames: usize,
    /// The most values the audio scorer held at once (samples, features, window sums).
    pub max_audio_held: usize,
    /// Seconds of silence scored in place of sound that lagged too far.
    pub sound_filled_s: f64,
}

/// A frame waiting for its scores.
struct Pending {
    time_s: f64,
    pixels: Vec<u8>,
    arrived: Instant,
    video: Option<FrameScores>,
    /// The raw speed score, with a speed score beside the visual model.
    speed: Option<f64>,
    /// The autoencoder's and the speed score's errors, once both are in.
    parts: Option<VideoParts>,
    /// `None` while the audio score is still to come (or when there is no audio model).
    audio: Option<FrameScores>,
    /// Scored no further: a stretch that ended before its first window.
    dropped: bool,
}

/// A frame with all its raw scores, waiting to be smoothed and decided.
struct Scoring {
    frame: usize,
    time_s: f64,
    pixels: Vec<u8>,
    arrived: Instant,
    video: FrameScores,
    video_parts: Option<VideoParts>,
    audio: Option<FrameScores>,
}

/// One stretch of stream.
struct Stretch {
    /// The watch's number of the stretch's first frame.
    first: usize,
    window: VecDeque<Vec<f32>>,
    input: InputStream,
    received: usize,
    /// Frames given their video scores (the end of the last window submitted).
    scored: usize,
    audio: Option<LiveAudio>,
    filling: bool,
    /// The speed score's frame before, with a speed score.
    speed: SpeedState,
}

/// The live engine: frames and sound in, one at a time; each frame's scores and decision
/// out, in order, as soon as they are final. Visual windows are scored on worker threads
/// while the caller goes on; nothing here reads a file or writes one.
///
/// A frame's video score is its error in the first window that covers it (a window every
/// `hop` frames, and one ending on a stretch's last frame), its audio score the causal
/// audio scorer's; both are calibrated, smoothed over time, and the frame is anomalous
/// when the deciding score (the video's, or the mean of both) is below γ. With a speed
/// score beside the visual model ([`crate::speed`]), each frame comes at two sizes
/// ([`Self::push_frames`]) and its video score takes in its speed.
///
/// ```
/// use avad::{Detector, DetectorConfig, Models, StretchEnd};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # // A small visual model, trained on the synthetic scene in a few seconds.
/// # let tmp = tempfile::tempdir()?;
/// # let (scene, model_dir) = (tmp.path().join("scene"), tmp.path().join("model"));
/// # avad::avad_data::synthetic::write_dataset(&scene, 1, 3, 1, 30)?;
/// # let mut preset = avad::avad_model::model_dir::VisualPreset::load("cpu")?;
/// # (preset.size, preset.train.epochs, preset.train.batch_size) = (32, 1, 4);
/// # avad::train_visual(&scene, &model_dir, &preset, false, &avad::cpu().autodiff(), &avad::Silent)?;
/// let device = avad::cpu();
/// let models = Models::load(&[model_dir], &device, None)?;
/// let mut detector = Detector::new(&models, DetectorConfig::default(), &device)?;
/// let side = detector.frame_size().width as usize;
/// // The speed score's frames, when the model has one: the same picture at its size.
/// let speed = detector.speed_frame_size();
/// detector.begin(25.0, None)?; // 25 frames a second, no sound
/// let mut decided = 0;
/// for i in 0..50 {
///     let frame = vec![0.5; side * side]; // gray, in [0, 1], at the model's size
///     let speed_frame = speed.map(|s| vec![0.5; s.pixels()]);
///     detector.push_frames(frame, speed_frame, i as f64 / 25.0)?;
///     for d in detector.decisions() {
///         println!("frame {}: s_r {:.3}, anomalous {}", d.frame + 1, d.regularity, d.anomalous);
///         decided += 1;
///     }
/// }
/// detector.end(StretchEnd::Complete)?; // the last frames are decided now
/// decided += detector.decisions().count();
/// assert_eq!(decided, 50);
/// # Ok(()) }
/// ```
pub struct Detector {
    visual: Arc<Visual>,
    calibration: Calibration,
    audio: Option<(Arc<Audio>, usize)>,
    device: Device,
    side: usize,
    steps: usize,
    hop: usize,
    gamma: f64,
    sound_timeout: f64,
    keep_evidence: bool,
    pool: WindowPool,
    stretch: Option<Stretch>,
    /// Frames from the watch's frame `base` on, waiting for their scores.
    pending: VecDeque<Pending>,
    base: usize,
    smoother: Option<Smoother<Scoring>>,
    decided: VecDeque<Decision>,
    /// The latest frame decided and its stream time.
    last_decided: Option<(usize, f64)>,
    last_time_s: f64,
    released_sound: Vec<f32>,
    notices: Vec<String>,
    stats: DetectorStats,
}

impl Detector {
    /// A detector of `models`' visual model and, if there is one, its audio model, on
    /// `device`.
    pub fn new(models: &Models, config: DetectorConfig, device: &Device) -> Result<Self> {
        let visual = models
            .visual()
            .ok_or_else(|| Error::Models("live detection needs a visual model".into()))?
            .clone();
        let preset = &visual.model.card.preset;
        let (side, steps) = (preset.size, preset.steps);
        let hop = config.hop.unwrap_or(preset.score_hop);
        if hop == 0 || hop > steps {
            return Err(Error::invalid(format!(
                "hop {hop}: must be between 1 and the window's {steps} frames"
            )));
        }
        let scoring = visual.scoring()?;
        let calibration = scoring.calibration.clone();
        let video_gamma = visual.normal_gamma()?;
        let (audio, gamma) = match models.audio() {
            Some(audio) => {
                let folds = &audio.model.card.folds;
                let fold = match (&config.audio_fold, folds.len()) {
                    (None, 1) => 0,
                    (Some(name), _) => audio.fold_for(name)?,
                    (None, n) => {
                        return Err(Error::Fold {
                            model: audio.path.clone(),
                            reason: format!(
                                "{n} leave-one-clip-out folds; name the one to use by the clip it held out (e.g. {})",
                                folds[0].held_out.as_deref().unwrap_or("test/NAME")
                            ),
                        })
                    }
                };
                let gamma = 0.5 * (video_gamma + audio.normal_gamma()?);
                (Some((audio.clone(), fold)), gamma)
            }
            None => {
                if let Some(name) = &config.audio_fold {
                    return Err(Error::Models(format!(
                        "audio fold {name}: there is no audio model"
                    )));
                }
                (None, video_gamma)
            }
        };
        let workers = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let pool = {
            let visual = visual.clone();
            let device = device.clone();
            WindowPool::start(
                workers,
                Arc::new(move |frames| window_errors(&visual, frames, &device)),
            )
        };
        Ok(Detector {
            calibration,
            audio,
            device: device.clone(),
            side,
            steps,
            hop,
            gamma: config.gamma.unwrap_or(gamma),
            sound_timeout: config.sound_timeout,
            keep_evidence: config.keep_evidence,
            pool,
            stretch: None,
            pending: VecDeque::new(),
            base: 0,
            smoother: Kernel::new(config.smooth).map(Smoother::new),
            decided: VecDeque::new(),
            last_decided: None,
            last_time_s: 0.0,
            released_sound: Vec::new(),
            notices: Vec::new(),
            stats: DetectorStats::default(),
            visual,
        })
    }

    /// The size frames must have: the visual model's.
    pub fn frame_size(&self) -> FrameSize {
        FrameSize::new(self.side as u32, self.side as u32)
    }

    /// The size of the speed score's frames, `None` when the visual model has no speed
    /// score (then [`Self::push_frame`] takes frames at one size).
    pub fn speed_frame_size(&self) -> Option<FrameSize> {
        self.visual.speed.as_ref().map(|s| s.size())
    }

    /// The threshold the deciding score is held against.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Whether frames are scored with their sound too (there is an audio model).
    pub fn needs_sound(&self) -> bool {
        self.audio.is_some()
    }

    /// The smoothing's standard deviation in frames (0: none).
    pub fn smoothing_frames(&self) -> f64 {
        self.smoother.as_ref().map_or(0.0, |s| s.kernel.sigma())
    }

    /// A stretch of stream begins (a connection to a source): frames at `fps`, mono sound
    /// at `sound_rate` Hz (needed when there is an audio model). Frame numbers go on from
    /// the last stretch's; the model's input and the smoothing start afresh.
    pub fn begin(&mut self, fps: f64, sound_rate: Option<u32>) -> Result<()> {
        if self.stretch.is_some() {
            self.end(StretchEnd::Complete)?;
        }
        if !(fps > 0.0 && fps.is_finite()) {
            return Err(Error::invalid(format!("a frame rate of {fps}")));
        }
        let audio = match (&self.audio, sound_rate) {
            (Some((model, fold)), Some(rate)) => Some(LiveAudio::new(
                model.clone(),
                *fold,
                fps,
                rate,
                &self.device,
            )?),
            (Some((model, _)), None) => {
                return Err(Error::Models(format!(
                    "{}: an audio model, and no sound to score",
                    model.path.display()
                )))
            }
            (None, _) => None,
        };
        let mut audio = audio;
        if let (true, Some(a)) = (self.keep_evidence, audio.as_mut()) {
            a.tap = Some(Vec::new());
        }
        self.stretch = Some(Stretch {
            first: self.base + self.pending.len(),
            window: VecDeque::with_capacity(self.steps),
            input: InputStream::new(self.visual.model.card.preset.input),
            received: 0,
            scored: 0,
            audio,
            filling: false,
            speed: SpeedState::default(),
        });
        Ok(())
    }

    /// The watch's number of the current stretch's first frame.
    pub fn stretch_start(&self) -> usize {
        self.stretch
            .as_ref()
            .map_or(self.base + self.pending.len(), |s| s.first)
    }

    /// Sound that came with the frames, mono at the rate given to [`Self::begin`],
    /// continuing the last call's. Ignored without an audio model.
    pub fn push_sound(&mut self, mono: &[f32]) -> Result<()> {
        let stretch = self.stretch.as_mut().ok_or_else(not_begun)?;
        if let Some(audio) = stretch.audio.as_mut() {
            audio.push(mono);
        }
        Ok(())
    }

    /// The next frame: gray pixels in `[0, 1]` at [`Self::frame_size`], row by row, and its
    /// stream time. Its decision comes out of [`Self::decisions`] once its scores are in.
    /// A visual model with a speed score takes its frames through [`Self::push_frames`].
    pub fn push_frame(&mut self, pixels: Vec<f32>, time_s: f64) -> Result<()> {
        self.push_frames(pixels, None, time_s)
    }

    /// The next frame, as [`Self::push_frame`], and the same picture at
    /// [`Self::speed_frame_size`] for the speed score (needed when the visual model has one,
    /// ignored when not).
    pub fn push_frames(
        &mut self,
        pixels: Vec<f32>,
        speed_pixels: Option<Vec<f32>>,
        time_s: f64,
    ) -> Result<()> {
        let want = self.side * self.side;
        if pixels.len() != want {
            return Err(Error::invalid(format!(
                "a frame of {} values; the model takes {}x{} = {want}",
                pixels.len(),
                self.side,
                self.side
            )));
        }
        let stretch = self.stretch.as_mut().ok_or_else(not_begun)?;
        let speed = match (&self.visual.speed, speed_pixels) {
            (Some(model), Some(p)) => Some(model.next(&mut stretch.speed, &p)?),
            (Some(model), None) => {
                return Err(Error::invalid(format!(
                    "{}: the visual model has a speed score, which needs each frame at {} as well",
                    self.visual.path.display(),
                    model.size()
                )))
            }
            (None, _) => None,
        };
        self.last_time_s = time_s;
        let kept = if self.keep_evidence {
            pixels
                .iter()
                .map(|v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
                .collect()
        } else {
            Vec::new()
        };
        self.pending.push_back(Pending {
            time_s,
            pixels: kept,
            arrived: Instant::now(),
            video: None,
            speed,
            parts: None,
            audio: None,
            dropped: false,
        });
        self.stats.max_pending_frames = self.stats.max_pending_frames.max(self.pending.len());
        if stretch.window.len() == self.steps {
            stretch.window.pop_front();
        }
        stretch.window.push_back(stretch.input.next(pixels));
        stretch.received += 1;
        let received = stretch.received;
        // A window ends at frames steps-1, steps-1+hop, ...: score it and give the frames
        // no earlier window covered their video scores.
        if received >= self.steps && (received - self.steps).is_multiple_of(self.hop) {
            let job = Window {
                frames: stretch.window.iter().cloned().collect(),
                start: received - self.steps,
                from: stretch.scored,
            };
            stretch.scored = received;
            let done = self.pool.submit(job)?;
            self.set_video(done);
        }
        let done = self.pool.ready()?;
        self.set_video(done);
        self.advance_audio()?;
        self.drain();
        Ok(())
    }

    /// The stretch ends: its last frames are scored (all but when `Interrupted`), and the
    /// frames after them are decided without waiting for more.
    pub fn end(&mut self, how: StretchEnd) -> Result<()> {
        let Some(mut stretch) = self.stretch.take() else {
            return Ok(());
        };
        let (received, steps) = (stretch.received, self.steps);
        // The frames after the last complete window: one more window ending on the last
        // frame (as offline scoring adds), unless the stretch was shorter than a window.
        if how != StretchEnd::Interrupted && stretch.scored < received && received >= steps {
            let job = Window {
                frames: stretch.window.iter().cloned().collect(),
                start: received - steps,
                from: stretch.scored,
            };
            let done = self.pool.submit(job)?;
            self.set_video_of(stretch.first, done);
        }
        let done = self.pool.flush()?;
        self.set_video_of(stretch.first, done);
        if received < steps {
            for j in 0..received {
                if let Some(p) = self.slot(stretch.first + j) {
                    p.dropped = true;
                }
            }
            // A failed stretch says why in its error; this note would only mislead.
            if received > 0 && how != StretchEnd::Failed {
                self.notices.push(format!(
                    "{received} frames, fewer than one window of {steps}: not scored"
                ));
            }
        }
        if let Some(mut audio) = stretch.audio.take() {
            self.stats.sound_filled_s += audio.filled_s();
            if how == StretchEnd::Interrupted {
                // Frames still owed an audio score: none will come.
                for p in self.pending.iter_mut() {
                    p.dropped |= p.audio.is_none();
                }
            } else {
                let scores = audio.finish(received)?;
                self.set_audio(&mut audio, stretch.first, scores);
            }
        }
        if how == StretchEnd::Interrupted {
            for p in self.pending.iter_mut() {
                p.dropped |= p.video.is_none();
            }
        }
        self.drain();
        self.decide_smoothed(true);
        Ok(())
    }

    /// The frames decided since the last call, in order.
    pub fn decisions(&mut self) -> std::collections::vec_deque::Drain<'_, Decision> {
        self.decided.drain(..)
    }

    /// Sound scored since the last call (mono, 22,050 Hz, continuing the stretch's), with
    /// [`DetectorConfig::keep_evidence`].
    pub fn take_scored_sound(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.released_sound)
    }

    /// Things worth telling a user that are not errors (sound lost, a stretch too short
    /// to score), since the last call.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    /// Frames received so far, over every stretch.
    pub fn frames_received(&self) -> usize {
        self.base + self.pending.len()
    }

    /// Frames whose scores are all in (decided, dropped or waiting to be smoothed).
    pub fn frames_resolved(&self) -> usize {
        self.base
    }

    /// Where an episode open at the end of the watch ends: just after the last frame
    /// decided, and its stream time.
    pub fn end_point(&self) -> (usize, f64) {
        self.last_decided
            .map_or((self.base, self.last_time_s), |(frame, t)| (frame + 1, t))
    }

    pub fn stats(&self) -> DetectorStats {
        self.stats
    }

    fn slot(&mut self, frame: usize) -> Option<&mut Pending> {
        frame
            .checked_sub(self.base)
            .and_then(|i| self.pending.get_mut(i))
    }

    fn set_video(&mut self, done: Vec<Scored>) {
        let first = self.stretch.as_ref().map_or(0, |s| s.first);
        self.set_video_of(first, done);
    }

    fn set_video_of(&mut self, first: usize, done: Vec<Scored>) {
        // The fields apart, so that a frame's slot and the calibrations are borrowed at once.
        let (visual, calibration, base) = (&self.visual, &self.calibration, self.base);
        for scored in done {
            for (k, &e) in scored.errors.iter().enumerate() {
                let frame = scored.start + k;
                if frame >= scored.from {
                    let slot = (first + frame)
                        .checked_sub(base)
                        .and_then(|i| self.pending.get_mut(i));
                    if let Some(p) = slot {
                        // With a speed score, the error is the mean of the two normalised.
                        let error = match (&visual.speed, p.speed) {
                            (Some(model), Some(s)) => {
                                p.parts = Some(VideoParts {
                                    autoencoder: e,
                                    speed: s,
                                });
                                model.combine(calibration, e, s)
                            }
                            _ => e,
                        };
                        p.video = Some(FrameScores {
                            error,
                            regularity: visual.regularity(calibration, error),
                        });
                    }
                }
            }
        }
    }

    fn advance_audio(&mut self) -> Result<()> {
        let Some(stretch) = self.stretch.as_mut() else {
            return Ok(());
        };
        let Some(mut audio) = stretch.audio.take() else {
            return Ok(());
        };
        let (received, first) = (stretch.received, stretch.first);
        let filled = audio.fill_gap(received, self.sound_timeout);
        if filled && !stretch.filling {
            self.notices.push(format!(
                "no sound for {:.0} s of picture: scoring silence until it comes back (frame {})",
                self.sound_timeout,
                first + received
            ));
        }
        stretch.filling = filled;
        let scores = audio.advance(received);
        let result = scores.map(|scores| self.set_audio(&mut audio, first, scores));
        if let Some(stretch) = self.stretch.as_mut() {
            stretch.audio = Some(audio);
        }
        result
    }

    fn set_audio(&mut self, audio: &mut LiveAudio, first: usize, scores: Vec<(usize, f64)>) {
        if self.keep_evidence {
            self.released_sound.extend(audio.take_released());
        }
        self.stats.max_audio_held = self.stats.max_audio_held.max(audio.held_values());
        for (j, error) in scores {
            let regularity = audio.calibration().regularity_score(error);
            if let Some(p) = self.slot(first + j) {
                p.audio = Some(FrameScores { error, regularity });
            }
        }
    }

    /// Moves on, in order, every frame whose scores are all in.
    fn drain(&mut self) {
        let with_audio = self.audio.is_some();
        while let Some(p) = self.pending.front() {
            if p.dropped {
                self.pending.pop_front();
                self.base += 1;
                continue;
            }
            let Some(video) = p.video else { break };
            if with_audio && p.audio.is_none() {
                break;
            }
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            let scoring = Scoring {
                frame: self.base,
                time_s: p.time_s,
                pixels: p.pixels,
                arrived: p.arrived,
                video,
                video_parts: p.parts,
                audio: p.audio,
            };
            self.base += 1;
            match self.smoother.as_mut() {
                Some(smoother) => smoother.push(Ready {
                    video: video.regularity,
                    audio: p.audio.map(|a| a.regularity),
                    item: scoring,
                }),
                None => self.decide(scoring, None),
            }
            self.decide_smoothed(false);
        }
    }

    /// Decides the frames the smoother can; at the end of a stretch, all of them, and the
    /// next stretch starts afresh (as offline scoring smooths each clip).
    fn decide_smoothed(&mut self, end: bool) {
        while let Some((scoring, smoothed)) = self.smoother.as_mut().and_then(|s| s.next(end)) {
            self.decide(scoring, Some(smoothed));
        }
        if end {
            if let Some(s) = self.smoother.as_mut() {
                s.restart();
            }
        }
    }

    fn decide(&mut self, s: Scoring, smoothed: Option<(f64, Option<f64>)>) {
        let (mut video, mut audio) = (s.video, s.audio);
        if let Some((v, a)) = smoothed {
            video.regularity = v;
            if let (Some(audio), Some(a)) = (audio.as_mut(), a) {
                audio.regularity = a;
            }
        }
        let regularity = match audio {
            Some(a) => 0.5 * (video.regularity + a.regularity),
            None => video.regularity,
        };
        self.last_decided = Some((s.frame, s.time_s));
        self.decided.push_back(Decision {
            frame: s.frame,
            time_s: s.time_s,
            video,
            video_parts: s.video_parts,
            audio,
            regularity,
            anomalous: regularity < self.gamma,
            latency: s.arrived.elapsed(),
            pixels: s.pixels,
        });
    }
}

fn not_begun() -> Error {
    Error::invalid("a frame or sound before the stretch of stream began")
}

/// The video frame errors of one window of the visual model's `steps` frames.
fn window_errors(visual: &Visual, frames: Vec<Vec<f32>>, device: &Device) -> Result<Vec<f64>> {
    let preset = &visual.model.card.preset;
    let (side, steps) = (preset.size, preset.steps);
    let scoring = visual.scoring()?;
    let clip = FrameClip::new("live".into(), side, side, frames)?;
    let options = ScoreOptions {
        steps,
        hop: steps,
        batch: 1,
        map_block: None,
        patch_block: scoring.patch_block(),
        causal: true,
    };
    let errors = visual_errors(
        &visual.model.network,
        &clip,
        &options,
        device,
        &mut |_, _| {},
    )?;
    Ok(scoring.frame_errors(&errors)?)
}
