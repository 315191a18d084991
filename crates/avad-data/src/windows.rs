//! Cutting clips into the models' fixed-length sequences.
//!
//! A [`Window`] of length `len` with frame stride `stride` starting at frame
//! `start` covers frames `start, start + stride, …, start + (len - 1) * stride`
//! (0-based). Training uses strides 1, 2 and 3 (paper §4.3: the same footage
//! seen at normal, double and triple speed), with consecutive windows not
//! overlapping in time. Scoring uses stride 1 and a chosen hop between starts.

/// The paper's sequence length (§3.2): ten frames.
pub const WINDOW_LEN: usize = 10;

/// The paper's training strides (§4.3).
pub const TRAINING_STRIDES: [usize; 3] = [1, 2, 3];

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Window {
    pub start: usize,
    pub len: usize,
    pub stride: usize,
}

impl Window {
    /// The 0-based frames this window covers, in order.
    pub fn frames(&self) -> impl Iterator<Item = usize> {
        let (start, stride) = (self.start, self.stride);
        (0..self.len).map(move |i| start + i * stride)
    }

    pub fn first(&self) -> usize {
        self.start
    }

    /// The last frame covered: the window is complete once this frame has arrived.
    pub fn last(&self) -> usize {
        self.start + (self.len - 1) * self.stride
    }
}

/// Training windows for one clip of `frames` frames: for each stride, windows
/// that tile the clip without overlapping in time (a window at stride `s` spans
/// `len * s` frames and the next one starts there), as the PyTorch peer cuts
/// them: starts `0, len*s, 2*len*s, …` while the last covered frame exists.
pub fn training_windows(frames: usize, len: usize, strides: &[usize]) -> Vec<Window> {
    let mut out = Vec::new();
    for &stride in strides.iter().filter(|&&s| s > 0) {
        let span = (len - 1) * stride;
        let mut start = 0;
        while len > 0 && start + span < frames {
            out.push(Window { start, len, stride });
            start += len * stride;
        }
    }
    out
}

/// Scoring windows at stride 1, one every `hop` frames. When `hop` does not
/// divide the clip, a last window ending on the clip's last frame is added so
/// that every frame is covered. Empty when the clip is shorter than `len`.
pub fn scoring_windows(frames: usize, len: usize, hop: usize) -> Vec<Window> {
    if len == 0 || frames < len || hop == 0 {
        return Vec::new();
    }
    let last_start = frames - len;
    let mut out: Vec<Window> = (0..=last_start)
        .step_by(hop)
        .map(|start| Window {
            start,
            len,
            stride: 1,
        })
        .collect();
    if out.last().is_some_and(|w| w.start != last_start) {
        out.push(Window {
            start: last_start,
            len,
            stride: 1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_the_frames_they_say() {
        let w = Window {
            start: 4,
            len: 10,
            stride: 3,
        };
        assert_eq!(
            w.frames().collect::<Vec<_>>(),
            [4, 7, 10, 13, 16, 19, 22, 25, 28, 31]
        );
        assert_eq!(w.last(), 31);
    }

    #[test]
    fn training_windows_tile_each_stride_without_overlap() {
        // 120 frames: stride 1 -> 12 windows, stride 2 -> 6, stride 3 -> 4 (starts 0, 30, 60, 90: 90+27 < 120).
        let ws = training_windows(120, 10, &TRAINING_STRIDES);
        let count = |s| ws.iter().filter(|w| w.stride == s).count();
        assert_eq!((count(1), count(2), count(3)), (12, 6, 4));
        assert!(ws.iter().all(|w| w.last() < 120));
        for s in TRAINING_STRIDES {
            let mut same: Vec<_> = ws.iter().filter(|w| w.stride == s).collect();
            same.sort_by_key(|w| w.start);
            assert!(same.windows(2).all(|p| p[0].last() < p[1].first()));
        }
        // 9 frames are too few for any window.
        assert!(training_windows(9, 10, &[1]).is_empty());
        assert_eq!(training_windows(10, 10, &[1]).len(), 1);
    }

    #[test]
    fn scoring_windows_cover_every_frame() {
        let ws = scoring_windows(25, 10, 4);
        assert_eq!(
            ws.iter().map(|w| w.start).collect::<Vec<_>>(),
            [0, 4, 8, 12, 15]
        );
        let mut covered = [false; 25];
        ws.iter()
            .flat_map(|w| w.frames())
            .for_each(|f| covered[f] = true);
        assert!(covered.iter().all(|&c| c));
        assert_eq!(scoring_windows(10, 10, 1).len(), 1);
        assert!(scoring_windows(9, 10, 1).is_empty());
        assert_eq!(scoring_windows(180, 10, 1).len(), 171);
    }
}
