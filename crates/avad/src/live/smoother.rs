//! [`Smoother`]: offline scoring's smoothing over time, done live.

use std::collections::VecDeque;

use avad_eval::Kernel;

/// A frame with all its scores, waiting to be smoothed.
pub(crate) struct Ready<T> {
    pub video: f64,
    pub audio: Option<f64>,
    pub item: T,
}

/// `avad score`'s smoothing done live: a frame's regularity scores are smoothed with the
/// [`Kernel::radius`] frames on each side of it within its stretch of stream, so it is
/// decided once the frames after it are in, with the same bits as the whole clip offline.
pub(crate) struct Smoother<T> {
    pub kernel: Kernel,
    /// The regularity scores (video, audio) of up to `radius` frames before `ahead`'s
    /// first, back to the stretch's start.
    history: VecDeque<(f64, Option<f64>)>,
    ahead: VecDeque<Ready<T>>,
}

impl<T> Smoother<T> {
    pub fn new(kernel: Kernel) -> Self {
        Smoother {
            kernel,
            history: VecDeque::new(),
            ahead: VecDeque::new(),
        }
    }

    pub fn push(&mut self, ready: Ready<T>) {
        self.ahead.push_back(ready);
    }

    /// The first waiting frame and its smoothed (video, audio) regularity, once `radius`
    /// frames after it are in (or, at the stretch's `end`, whatever follows it).
    pub fn next(&mut self, end: bool) -> Option<(T, (f64, Option<f64>))> {
        let radius = self.kernel.radius();
        // Wait for `radius` frames after the first, unless the stretch has ended.
        if self.ahead.len() <= radius && (!end || self.ahead.is_empty()) {
            return None;
        }
        let at = self.history.len();
        let video: Vec<f64> = self
            .history
            .iter()
            .map(|h| h.0)
            .chain(self.ahead.iter().map(|r| r.video))
            .collect();
        let v = self.kernel.at(&video, at);
        let a = self.ahead[0].audio.map(|_| {
            let audio: Vec<f64> = self
                .history
                .iter()
                .map(|h| h.1.unwrap_or(f64::NAN))
                .chain(self.ahead.iter().map(|r| r.audio.unwrap_or(f64::NAN)))
                .collect();
            self.kernel.at(&audio, at)
        });
        let ready = self.ahead.pop_front()?;
        self.history.push_back((ready.video, ready.audio));
        if self.history.len() > radius {
            self.history.pop_front();
        }
        Some((ready.item, (v, a)))
    }

    /// A new stretch of stream starts: no frame before it smooths the next ones.
    pub fn restart(&mut self) {
        self.history.clear();
    }
}
