//! Audio feature frames against video frames.
//!
//! librosa's features are centred: feature frame `i` describes the `n_fft` samples around
//! sample `i * hop` (at 22,050 Hz with hop 512, one frame every 23.2 ms, about 43 a
//! second), while video frame `j` at `fps` shows the interval `[j / fps, (j + 1) / fps)`.
//! Both start at the clip's first frame (the audio is cut or padded to the video's length
//! first, see [`crate::dataset::align_audio`]).
//!
//! - An audio frame's **label** comes from every video frame its analysis window touches:
//!   it is normal only when all of them are, so a training window never hears the onset
//!   of an anomaly that the video labels start a frame later.
//! - A video frame's **audio score** is the mean of the audio frames whose centre falls
//!   inside it; at frame rates above the feature rate, where a video frame may contain no
//!   centre, it takes the audio frame whose centre is nearest to its own middle.

/// The timing of a clip's audio feature frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioTiming {
    /// Samples between frame centres (librosa's `hop_length`, 512).
    pub hop: usize,
    /// Samples in a frame's analysis window (`n_fft`, 2048).
    pub window: usize,
    /// Sample rate in Hz (22,050).
    pub sample_rate: u32,
}

impl AudioTiming {
    /// Seconds at the centre of feature frame `i`.
    pub fn centre_s(&self, i: usize) -> f64 {
        (i * self.hop) as f64 / f64::from(self.sample_rate)
    }

    /// The video frame (at `fps`) that holds the centre of feature frame `i`.
    pub fn video_frame(&self, i: usize, fps: f64) -> usize {
        (self.centre_s(i) * fps + 1e-9).floor() as usize
    }

    /// The first and last video frames (at `fps`) that feature frame `i`'s analysis window
    /// overlaps; negative times clamp to frame 0.
    pub fn video_span(&self, i: usize, fps: f64) -> (usize, usize) {
        let half = self.window as f64 / 2.0 / f64::from(self.sample_rate);
        let start = (self.centre_s(i) - half).max(0.0);
        let end = self.centre_s(i) + half;
        let first = (start * fps + 1e-9).floor() as usize;
        // The window ends just before `end`: a window ending exactly on a frame boundary
        // does not touch the next frame.
        let last = ((end * fps - 1e-9).ceil() as usize)
            .saturating_sub(1)
            .max(first);
        (first, last)
    }

    /// Per feature frame (of `audio_frames`): `Some(true)` when any video frame its window
    /// touches is anomalous, `Some(false)` when all are normal, `None` when its centre lies
    /// past the last video frame (audio with no picture has no label).
    pub fn audio_labels(
        &self,
        video_labels: &[bool],
        fps: f64,
        audio_frames: usize,
    ) -> Vec<Option<bool>> {
        (0..audio_frames)
            .map(|i| {
                if self.video_frame(i, fps) >= video_labels.len() {
                    return None;
                }
                let (first, last) = self.video_span(i, fps);
                let last = last.min(video_labels.len() - 1);
                Some(video_labels[first..=last].iter().any(|&a| a))
            })
            .collect()
    }

    /// Per video frame (of `video_frames` at `fps`), the audio-frame `values` mapped as the
    /// module docs say. Empty when `values` is.
    pub fn to_video_frames(&self, values: &[f64], fps: f64, video_frames: usize) -> Vec<f64> {
        if values.is_empty() {
            return Vec::new();
        }
        let mut sums = vec![0.0; video_frames];
        let mut counts = vec![0usize; video_frames];
        for (i, v) in values.iter().enumerate() {
            let j = self.video_frame(i, fps);
            if j < video_frames {
                sums[j] += v;
                counts[j] += 1;
            }
        }
        let step_s = self.hop as f64 / f64::from(self.sample_rate);
        (0..video_frames)
            .map(|j| {
                if counts[j] > 0 {
                    sums[j] / counts[j] as f64
                } else {
                    let middle = (j as f64 + 0.5) / fps;
                    let nearest = ((middle / step_s).round() as usize).min(values.len() - 1);
                    values[nearest]
                }
            })
            .collect()
    }
}

impl Default for AudioTiming {
    /// librosa's defaults, as the paper's features use them.
    fn default() -> Self {
        AudioTiming {
            hop: 512,
            window: 2048,
            sample_rate: 22050,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ped2_frames_map_to_their_times() {
        let t = AudioTiming::default();
        // Frame 43 is centred at 43 * 512 / 22050 = 0.9985 s: video frame 24 at 25 fps.
        assert_eq!(t.video_frame(43, 25.0), 24);
        assert_eq!(t.video_frame(44, 25.0), 25);
        // Its window spans 0.952-1.045 s: video frames 23 to 26.
        assert_eq!(t.video_span(43, 25.0), (23, 26));
        assert_eq!(t.video_span(0, 25.0), (0, 1));
    }

    #[test]
    fn labels_are_normal_only_when_the_whole_window_is() {
        let t = AudioTiming::default();
        // 180 frames at 25 fps (7.2 s), anomalous from frame 60 on (Ped2 Test001: 61:180).
        let video: Vec<bool> = (0..180).map(|j| j >= 60).collect();
        let n = 1 + 7 * 22050 / 512;
        let labels = t.audio_labels(&video, 25.0, n + 20);
        // The last normal audio frame ends its window before 2.4 s, the first anomalous
        // video frame's start: centre + 1024 samples ≤ 2.4 s.
        let last_normal = labels.iter().rposition(|l| *l == Some(false)).unwrap();
        assert!(t.centre_s(last_normal) + 1024.0 / 22050.0 <= 2.4 + 1e-9);
        assert!(t.centre_s(last_normal + 1) + 1024.0 / 22050.0 > 2.4);
        assert!(labels[last_normal + 1..311]
            .iter()
            .all(|l| *l == Some(true)));
        // Audio past 7.2 s has no picture and no label.
        assert_eq!(labels.iter().position(|l| l.is_none()), Some(311));
        assert!(t.centre_s(311) >= 7.2 && t.centre_s(310) < 7.2);
    }

    #[test]
    fn every_video_frame_gets_the_mean_of_its_audio_frames() {
        let t = AudioTiming::default();
        // 300 audio frames (6.97 s) under 180 video frames (7.2 s).
        let values: Vec<f64> = (0..300).map(|i| i as f64).collect();
        let v = t.to_video_frames(&values, 25.0, 180);
        assert_eq!(v.len(), 180);
        // Video frame 0 covers 0-40 ms: audio centres 0 (0 ms) and 1 (23.2 ms).
        assert_eq!(v[0], 0.5);
        // Frames past the audio's end take the nearest audio frame.
        assert_eq!(v[179], 299.0);
        // Frame 100 (4.00-4.04 s) holds the centre of audio frame 173, frame 101 those of 174, 175.
        assert_eq!((v[100], v[101]), (173.0, 174.5));
        // At 100 fps some video frames hold no centre and borrow the nearest one.
        let fast = t.to_video_frames(&values, 100.0, 400);
        assert!(
            fast.windows(2).all(|w| w[1] >= w[0]),
            "monotone input, monotone output"
        );
        assert!(t.to_video_frames(&[], 25.0, 10).is_empty());
    }
}
