//! Features of a signal that arrives piece by piece (a live stream), frame for frame the
//! same as [`FeatureExtractor::compute`] would give on the whole signal, but for the
//! `top_db` floors, which follow the running maxima of what has been seen (offline they
//! are measured from the whole clip, which a stream cannot know).
//!
//! Frames are computed in blocks of [`BLOCK`] at fixed positions (block `b` is frames
//! `b·BLOCK ..`), each as soon as every sample its windows read has arrived, so the result
//! does not depend on how the signal was cut into pieces: feeding a whole clip at once
//! gives what a stream of it gives.

use crate::error::{FeatureError, Result};
use crate::extract::{DbMaxima, FeatureExtractor};
use crate::matrix::FeatureMatrix;
use crate::N_FEATURES;

/// Frames per computed block.
pub const BLOCK: usize = 8;

pub struct StreamingFeatures {
    extractor: FeatureExtractor,
    /// Samples from absolute index `base` on.
    buffer: Vec<f32>,
    base: usize,
    /// Samples received in all.
    received: usize,
    /// The next frame to compute.
    next: usize,
    maxima: DbMaxima,
    finished: bool,
}

impl StreamingFeatures {
    pub fn new(extractor: FeatureExtractor) -> Result<Self> {
        let c = extractor.config();
        if !(c.n_fft / 2).is_multiple_of(c.hop_length) {
            return Err(FeatureError::Config(format!(
                "streaming features need n_fft / 2 ({}) to be a multiple of the hop ({})",
                c.n_fft / 2,
                c.hop_length
            )));
        }
        Ok(StreamingFeatures {
            extractor,
            buffer: Vec::new(),
            base: 0,
            received: 0,
            next: 0,
            maxima: DbMaxima::default(),
            finished: false,
        })
    }

    /// Samples held for frames still to come (bounded: memory stays flat).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Index of the first frame the next call of [`Self::push`] or [`Self::finish`] returns.
    pub fn next_frame(&self) -> usize {
        self.next
    }

    /// Adds samples (mono, at the configured rate) and returns the raw feature frames that
    /// became complete, from [`Self::next_frame`] on (possibly none).
    pub fn push(&mut self, samples: &[f32]) -> Result<FeatureMatrix> {
        if let Some(index) = crate::extract::first_non_finite(samples) {
            return Err(FeatureError::NonFinite {
                index: self.received + index,
            });
        }
        self.buffer.extend_from_slice(samples);
        self.received += samples.len();
        let mut out = FeatureMatrix {
            frames: 0,
            data: Vec::new(),
        };
        loop {
            let (first, end) = self.block_span(self.next + BLOCK);
            if end > self.received {
                break;
            }
            let block = self.compute(first, end, BLOCK)?;
            out.frames += block.frames;
            out.data.extend_from_slice(&block.data);
        }
        Ok(out)
    }

    /// The end of the signal: the frames still owed (as offline, the last ones read zeros
    /// past the end). Nothing more may be pushed after.
    pub fn finish(&mut self) -> Result<FeatureMatrix> {
        if self.finished || self.received == 0 {
            self.finished = true;
            return Ok(FeatureMatrix {
                frames: 0,
                data: Vec::new(),
            });
        }
        self.finished = true;
        let c = self.extractor.config();
        let total = c.n_frames(self.received);
        if total <= self.next {
            return Ok(FeatureMatrix {
                frames: 0,
                data: Vec::new(),
            });
        }
        let (first, _) = self.block_span(total);
        self.compute(first, self.received, total - self.next)
    }

    /// The samples frames `next .. end_frame` read: from the first (or from 0, where the
    /// windows reach before the start) to the end of the last frame's window.
    fn block_span(&self, end_frame: usize) -> (usize, usize) {
        let c = self.extractor.config();
        let half = c.n_fft / 2;
        let first = (self.next * c.hop_length).saturating_sub(half);
        (first, (end_frame - 1) * c.hop_length + half)
    }

    /// Computes `count` frames from `next`, reading samples `first .. end`.
    fn compute(&mut self, first: usize, end: usize, count: usize) -> Result<FeatureMatrix> {
        let hop = self.extractor.config().hop_length;
        let y = &self.buffer[first - self.base..end - self.base];
        // Frame k of the slice is centred on sample first + k·hop.
        let skip = self.next - first / hop;
        let f = self
            .extractor
            .compute_frames(y, skip..skip + count, &mut self.maxima)?;
        let m = f.to_matrix();
        debug_assert_eq!(m.data.len(), count * N_FEATURES);
        self.next += count;
        // Keep only what later frames read.
        let keep_from = (self.next * hop)
            .saturating_sub(self.extractor.config().n_fft / 2)
            .min(self.received);
        if keep_from > self.base {
            self.buffer.drain(..keep_from - self.base);
            self.base = keep_from;
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FeatureConfig;

    fn streaming() -> StreamingFeatures {
        StreamingFeatures::new(FeatureExtractor::new(&FeatureConfig::default()).unwrap()).unwrap()
    }

    /// A loud tone sweep first, then quieter noise: the running maxima are the clip's
    /// from the first block on, so streaming must equal offline exactly.
    fn signal(n: usize) -> Vec<f32> {
        let mut state = 12345u32;
        (0..n)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5;
                let t = i as f32 / 22050.0;
                if i < 4096 {
                    0.9 * (2.0 * std::f32::consts::PI * (300.0 + 2000.0 * t) * t).sin()
                } else {
                    0.05 * noise + 0.02 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                }
            })
            .collect()
    }

    fn feed(y: &[f32], pieces: &[usize]) -> FeatureMatrix {
        let mut s = streaming();
        let mut out = FeatureMatrix {
            frames: 0,
            data: Vec::new(),
        };
        let mut at = 0;
        let mut k = 0;
        while at < y.len() {
            let n = pieces[k % pieces.len()].min(y.len() - at);
            let m = s.push(&y[at..at + n]).unwrap();
            assert_eq!(s.next_frame(), out.frames + m.frames);
            out.frames += m.frames;
            out.data.extend(m.data);
            at += n;
            k += 1;
            // Only what the next block reads is kept, whatever the stream's length.
            assert!(
                s.buffered() <= (BLOCK + 4) * 512 + n,
                "{} samples held",
                s.buffered()
            );
        }
        let m = s.finish().unwrap();
        out.frames += m.frames;
        out.data.extend(m.data);
        out
    }

    #[test]
    fn any_cutting_of_the_signal_gives_the_offline_features() {
        for n in [1, 700, 2048, 22050, 22050 * 3 + 333] {
            let y = signal(n);
            let offline = FeatureExtractor::new(&FeatureConfig::default())
                .unwrap()
                .extract(&y)
                .unwrap();
            for pieces in [&[n][..], &[1, 511, 4096][..], &[10_000][..]] {
                let streamed = feed(&y, pieces);
                assert_eq!(
                    streamed.frames, offline.frames,
                    "n = {n}, pieces {pieces:?}"
                );
                assert!(streamed.data == offline.data, "n = {n}, pieces {pieces:?}");
            }
        }
    }

    #[test]
    fn floors_follow_the_running_maximum() {
        // Quiet first, loud later: offline floors the quiet part at the loud maximum
        // minus 80 dB; the stream, not knowing it yet, floors it at its own.
        let mut y = vec![0f32; 22050];
        for (i, v) in y.iter_mut().enumerate() {
            *v = 1e-6 * ((i as f32) * 0.3).sin();
        }
        y.extend(signal(22050).iter().map(|v| v * 1000.0));
        let offline = FeatureExtractor::new(&FeatureConfig::default())
            .unwrap()
            .extract(&y)
            .unwrap();
        let streamed = feed(&y, &[1000]);
        let mfcc0 = crate::columns::MFCC.start;
        let row =
            |m: &FeatureMatrix, t: usize| m.data[t * N_FEATURES..(t + 1) * N_FEATURES].to_vec();
        // Early on the MFCC differ (the floors differ); the spectral shape features do not.
        assert_ne!(row(&offline, 5)[mfcc0], row(&streamed, 5)[mfcc0]);
        assert_eq!(row(&offline, 5)[..4], row(&streamed, 5)[..4]);
        // Once the loud part has been seen, both agree.
        let last = offline.frames - 1;
        assert_eq!(row(&offline, last), row(&streamed, last));
    }

    #[test]
    fn refuses_non_finite_samples_by_their_stream_index() {
        let mut s = streaming();
        s.push(&[0.0; 100]).unwrap();
        let e = s.push(&[0.0, f32::NAN]).unwrap_err();
        assert!(e.to_string().contains("101"), "{e}");
    }
}
