//! The audio model scored causally, on sound that arrives in pieces: what `avad watch`
//! runs on a stream's sound and `avad score --causal` on a clip's, so that the two agree.
//!
//! The path is the offline one (`score`): mono, resampled to 22,050 Hz, the eight features,
//! the fold's scaling, windows of the preset's `steps` every `score_hop` frames (plus one
//! ending on the last frame), each frame's error the mean over the windows that cover it,
//! and a video frame's error the mean of the audio frames centred in it. Three things are
//! causal instead: the resampling runs in blocks ([`StreamResampler`]), the dB floors of
//! the features follow the running maximum ([`StreamingFeatures`]), and the sound is
//! released only as far as the video has come (at the end it is cut or padded to the
//! video's span, as `align_audio` does offline). A video frame's audio error is final once
//! no later window can cover the audio frames it reads: about one window (0.74 s at the
//! paper's preset) plus a feature block and a resampling block after the frame.

use std::collections::VecDeque;
use std::sync::Arc;

use avad_data::alignment::AudioTiming;
use avad_eval::normalize::Calibration;
use avad_features::{
    FeatureConfig, FeatureExtractor, FeatureMatrix, StreamingFeatures, N_FEATURES,
};
use avad_media::resample::StreamResampler;
use avad_model::audio::{audio_errors, AudioError};
use avad_model::burn::tensor::Device;

use crate::clips::timing;
use crate::error::Result;
use crate::models::Audio;

/// The causal audio scorer of one stretch of stream.
pub(crate) struct LiveAudio {
    model: Arc<Audio>,
    fold: usize,
    steps: usize,
    hop: usize,
    error: AudioError,
    device: Device,
    fps: f64,
    timing: AudioTiming,
    rate: u32,
    resampler: StreamResampler,
    /// Resampled sound not yet released to the features (ahead of the video).
    held: VecDeque<f32>,
    /// Resampled samples released so far.
    released: usize,
    /// A copy of the released sound for [`Self::take_released`], when asked for.
    pub tap: Option<Vec<f32>>,
    features: StreamingFeatures,
    /// Scaled feature rows from audio frame `rows_base` on.
    rows: Vec<f32>,
    rows_base: usize,
    /// Feature frames computed so far.
    frames: usize,
    /// Start of the next regular window.
    next_window: usize,
    /// Per audio frame from `errors_base` on: the sum and count of the window errors.
    sums: VecDeque<(f64, u32)>,
    errors_base: usize,
    /// The next video frame to hand out.
    next_video: usize,
    finished: bool,
    /// Input samples (at the source's rate): pushed in all, silence pushed in place of
    /// sound that lagged too far ([`Self::fill_gap`]), and of that, how much later sound
    /// still has to be dropped.
    input_rate: u32,
    pushed: usize,
    filled: usize,
    owed: usize,
}

impl LiveAudio {
    /// Scores with fold `fold` of `model`, for video at `fps`, sound arriving at `rate` Hz
    /// (mono).
    pub fn new(
        model: Arc<Audio>,
        fold: usize,
        fps: f64,
        rate: u32,
        device: &Device,
    ) -> Result<Self> {
        let config = FeatureConfig::default();
        let card = &model.model.card;
        if fold >= card.folds.len() {
            return Err(crate::Error::Fold {
                model: model.path.clone(),
                reason: format!("no fold {fold}: the model has {}", card.folds.len()),
            });
        }
        Ok(LiveAudio {
            steps: card.preset.steps,
            hop: card.preset.score_hop,
            error: card.preset.error,
            device: device.clone(),
            fps,
            timing: timing(&config),
            rate: config.sample_rate,
            resampler: StreamResampler::new(rate, config.sample_rate),
            held: VecDeque::new(),
            released: 0,
            tap: None,
            features: StreamingFeatures::new(FeatureExtractor::new(&config)?)?,
            rows: Vec::new(),
            rows_base: 0,
            frames: 0,
            next_window: 0,
            sums: VecDeque::new(),
            errors_base: 0,
            next_video: 0,
            finished: false,
            input_rate: rate,
            pushed: 0,
            filled: 0,
            owed: 0,
            model,
            fold,
        })
    }

    /// The calibration of the fold's errors.
    pub fn calibration(&self) -> &Calibration {
        &self.model.model.card.folds[self.fold].training.calibration
    }

    /// Adds mono sound at the rate given to [`Self::new`].
    pub fn push(&mut self, mono: &[f32]) {
        // Sound for a stretch already filled with silence comes too late: dropped.
        let late = self.owed.min(mono.len());
        self.owed -= late;
        let mono = &mono[late..];
        self.pushed += mono.len();
        let out = self.resampler.push(mono);
        self.held.extend(out);
    }

    /// When the sound lags the picture by more than `stall_s` seconds (a microphone or
    /// an audio track that went quiet while the picture goes on), it is taken as lost:
    /// silence is pushed in its place up to `stall_s` behind the picture, so that frames
    /// keep being scored, and sound that arrives later for that stretch is dropped.
    /// Returns whether it filled.
    pub fn fill_gap(&mut self, video_frames: usize, stall_s: f64) -> bool {
        let rate = f64::from(self.input_rate);
        let behind_s = video_frames as f64 / self.fps - self.pushed as f64 / rate;
        if self.finished || self.input_rate == 0 || behind_s <= stall_s {
            return false;
        }
        let upto = ((video_frames as f64 / self.fps - stall_s) * rate).floor() as usize;
        let n = upto.saturating_sub(self.pushed);
        if n == 0 {
            return false;
        }
        let out = self.resampler.push(&vec![0.0; n]);
        self.held.extend(out);
        self.pushed += n;
        self.filled += n;
        self.owed += n;
        true
    }

    /// Seconds of silence pushed by [`Self::fill_gap`].
    pub fn filled_s(&self) -> f64 {
        if self.input_rate == 0 {
            0.0
        } else {
            self.filled as f64 / f64::from(self.input_rate)
        }
    }

    /// The video has reached `video_frames` frames: releases the sound up to their end and
    /// returns the video frames whose audio error became final, as (frame, error).
    pub fn advance(&mut self, video_frames: usize) -> Result<Vec<(usize, f64)>> {
        let until = self.sample_at(video_frames);
        let n = until.saturating_sub(self.released).min(self.held.len());
        let samples: Vec<f32> = self.held.drain(..n).collect();
        self.released += n;
        if let Some(tap) = self.tap.as_mut() {
            tap.extend_from_slice(&samples);
        }
        let m = self.features.push(&samples)?;
        self.add_rows(m)?;
        self.video_ready(video_frames, false)
    }

    /// The end of the stream after `video_frames` frames: the sound is cut or padded to
    /// their span and every remaining video frame's audio error returned.
    pub fn finish(&mut self, video_frames: usize) -> Result<Vec<(usize, f64)>> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.finished = true;
        let rest = self.resampler.finish();
        self.held.extend(rest);
        let want = self.sample_at(video_frames);
        let n = want.saturating_sub(self.released);
        let mut samples: Vec<f32> = self.held.drain(..n.min(self.held.len())).collect();
        samples.resize(n, 0.0);
        self.released += n;
        if let Some(tap) = self.tap.as_mut() {
            tap.extend_from_slice(&samples);
        }
        if self.released == 0 {
            return Ok(Vec::new());
        }
        let m = self.features.push(&samples)?;
        self.add_rows(m)?;
        let m = self.features.finish()?;
        self.add_rows(m)?;
        self.last_windows()?;
        self.video_ready(video_frames, true)
    }

    /// The sound (mono, 22,050 Hz) released since the last call, from the stream's start,
    /// when [`Self::tap`] was set to `Some`.
    pub fn take_released(&mut self) -> Vec<f32> {
        self.tap.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Resampled samples in the span of `video_frames` frames (`align_audio`'s rounding).
    fn sample_at(&self, video_frames: usize) -> usize {
        (video_frames as f64 / self.fps * f64::from(self.rate)).round() as usize
    }

    fn add_rows(&mut self, raw: FeatureMatrix) -> Result<()> {
        if raw.frames == 0 {
            return Ok(());
        }
        let scaled = self.model.model.card.folds[self.fold].scaler.apply(&raw)?;
        self.rows.extend_from_slice(&scaled.data);
        self.frames += raw.frames;
        self.sums.extend(std::iter::repeat_n((0.0, 0), raw.frames));
        while self.next_window + self.steps <= self.frames {
            self.score_window(self.next_window)?;
            self.next_window += self.hop;
        }
        Ok(())
    }

    /// Scores the window of `steps` frames from `start` (frames past the end repeat the
    /// last, as offline for clips shorter than a window) and adds its errors.
    fn score_window(&mut self, start: usize) -> Result<()> {
        let rows = FeatureMatrix {
            frames: self.steps,
            data: self.window_rows(start),
        };
        let e = audio_errors(
            &self.model.model.networks[self.fold],
            &rows,
            self.steps,
            self.steps,
            1,
            self.error,
            &self.device,
        )?;
        for (i, err) in e.iter().enumerate() {
            let frame = start + i;
            if frame >= self.frames {
                break;
            }
            if let Some(s) = self.sums.get_mut(frame - self.errors_base) {
                s.0 += err;
                s.1 += 1;
            }
        }
        Ok(())
    }

    fn window_rows(&self, start: usize) -> Vec<f32> {
        let mut data = Vec::with_capacity(self.steps * N_FEATURES);
        for frame in start..start + self.steps {
            let f = frame.min(self.frames - 1) - self.rows_base;
            data.extend_from_slice(&self.rows[f * N_FEATURES..(f + 1) * N_FEATURES]);
        }
        data
    }

    /// The window ending on the last frame, when the regular ones did not end there.
    fn last_windows(&mut self) -> Result<()> {
        if self.frames == 0 {
            return Ok(());
        }
        let last_start = self.frames.saturating_sub(self.steps);
        let regular_last = if self.next_window == 0 {
            None
        } else {
            Some(self.next_window - self.hop)
        };
        if regular_last != Some(last_start) {
            self.score_window(last_start)?;
        }
        Ok(())
    }

    /// Audio error of audio frame `i`, once final.
    fn error(&self, i: usize) -> f64 {
        let (s, c) = self.sums[i - self.errors_base];
        s / f64::from(c.max(1))
    }

    /// Video frames (up to `video_frames`) whose audio frames are all final.
    fn video_ready(&mut self, video_frames: usize, end: bool) -> Result<Vec<(usize, f64)>> {
        // Frames no later window can cover: before the next regular window, and before
        // the last `steps` (the window ending on the last frame may still cover those).
        let final_until = if end {
            self.frames
        } else {
            self.next_window.min(self.frames.saturating_sub(self.steps))
        };
        let step_s = self.timing.hop as f64 / f64::from(self.timing.sample_rate);
        let mut out = Vec::new();
        while self.next_video < video_frames && final_until > 0 {
            let j = self.next_video;
            // Audio frames centred in video frame j (a contiguous run, maybe empty).
            let at = |i: usize| self.timing.video_frame(i, self.fps);
            let mut lo = ((j as f64 / self.fps) / step_s).floor() as usize;
            while at(lo) < j {
                lo += 1;
            }
            while lo > 0 && at(lo - 1) >= j {
                lo -= 1;
            }
            let mut hi = lo;
            while at(hi) == j {
                hi += 1;
            }
            if end {
                // Offline, only the frames the sound has count.
                hi = hi.min(self.frames);
                lo = lo.min(hi);
            }
            let value = if hi > lo {
                if hi > final_until {
                    break;
                }
                (lo..hi).map(|i| self.error(i)).sum::<f64>() / (hi - lo) as f64
            } else {
                let middle = (j as f64 + 0.5) / self.fps;
                let nearest = (middle / step_s).round() as usize;
                if nearest >= final_until && !end {
                    break;
                }
                self.error(nearest.min(self.frames - 1))
            };
            out.push((j, value));
            self.next_video += 1;
        }
        self.forget();
        Ok(out)
    }

    /// Values held now: resampled sound not yet released or not yet framed, scaled
    /// feature values and per-frame window sums (a measure of memory, bounded however
    /// long the stream).
    pub fn held_values(&self) -> usize {
        self.held.len()
            + self.features.buffered()
            + self.rows.len()
            + self.sums.len()
            + self.tap.as_ref().map_or(0, Vec::len)
    }

    /// Drops the rows and sums no later window or video frame reads.
    fn forget(&mut self) {
        let step_s = self.timing.hop as f64 / f64::from(self.timing.sample_rate);
        let needed =
            (((self.next_video as f64 / self.fps) / step_s).floor() as usize).saturating_sub(2);
        let needed = needed
            .min(self.next_window)
            .min(self.frames.saturating_sub(self.steps));
        if needed > self.errors_base {
            self.sums.drain(..needed - self.errors_base);
            self.errors_base = needed;
        }
        // Rows: the next window's and the last frames' (a final window may reach back).
        let rows_needed = self.next_window.min(self.frames.saturating_sub(self.steps));
        if rows_needed > self.rows_base {
            self.rows
                .drain(..(rows_needed - self.rows_base) * N_FEATURES);
            self.rows_base = rows_needed;
        }
    }
}

/// Per video frame of a clip of `frames` frames at `fps`, its audio error scored as
/// [`LiveAudio`] scores a stream, from its mono sound at `rate`: what the live detector
/// gives, for an audio model scored alone.
pub(crate) fn clip_errors_causal(
    model: Arc<Audio>,
    fold: usize,
    (mono, rate): (&[f32], u32),
    (frames, fps): (usize, f64),
    device: &Device,
) -> Result<Vec<f64>> {
    let mut live = LiveAudio::new(model, fold, fps, rate, device)?;
    live.push(mono);
    let mut errors = live.advance(frames)?;
    errors.extend(live.finish(frames)?);
    if errors.len() != frames || errors.iter().enumerate().any(|(i, (j, _))| i != *j) {
        return Err(crate::Error::invalid(format!(
            "causal audio scoring gave {} of {frames} frames",
            errors.len()
        )));
    }
    Ok(errors.into_iter().map(|(_, e)| e).collect())
}
