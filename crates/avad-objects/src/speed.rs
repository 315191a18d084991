//! How fast things move for their place in the frame, with no objects cut out.
//!
//! Each frame is split into square blocks, and each block's displacement since the frame
//! before is found by block matching on lightly blurred frames. A block moves when its
//! best shift matches the frame before clearly better than no shift at all; its speed is
//! then the shift's length. In a camera's perspective, what is a normal speed depends on
//! the row: [`SpeedModel`] keeps, for each row of blocks, a high percentile of the
//! speeds of normal footage's moving blocks, and a frame's score is the mean of its few
//! fastest blocks, each as a multiple of its row's normal speed.
//!
//! Frame `t` is scored from frames `t - 1` and `t` alone ([`SpeedState`]), so a live
//! detector computes exactly what an offline run does.

use serde::{Deserialize, Serialize};

use crate::Frame;

/// How motion is measured and scored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedConfig {
    /// Side of a block, in pixels.
    pub block: usize,
    /// Largest shift searched, in pixels each way.
    pub search: usize,
    /// Standard deviation of the Gaussian blur applied before matching, in pixels.
    pub blur: f32,
    /// A block moves when its best shift's mean absolute difference is lower than no
    /// shift's by more than this many times the scene's noise...
    pub evidence: f32,
    /// ... where the noise is the median no-shift difference of normal blocks, and at
    /// least this much (of the [0, 1] gray range).
    pub min_noise: f32,
    /// The percentile of a row's normal speeds that a speed is read against.
    pub percentile: f64,
    /// A frame scores the mean of this many of its fastest blocks.
    pub top: usize,
}

impl Default for SpeedConfig {
    fn default() -> Self {
        SpeedConfig {
            block: 6,
            search: 6,
            blur: 1.0,
            evidence: 4.0,
            min_noise: 2.0 / 255.0,
            percentile: 99.0,
            top: 3,
        }
    }
}

/// The displacement of every block of a frame since the frame before.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockMotion {
    /// Blocks across and down.
    pub cols: usize,
    pub rows: usize,
    /// Per block, row-major: its motion since the frame before, in pixels (x right, y
    /// down): the block at `(x, y)` matches the frame before best at `(x - dx, y - dy)`.
    pub dx: Vec<i8>,
    pub dy: Vec<i8>,
    /// Per block: the mean absolute difference at the best shift, and at no shift.
    pub best: Vec<f32>,
    pub still: Vec<f32>,
}

impl BlockMotion {
    /// Matches every `block`-square block of `current` within `search` pixels of its place
    /// in `previous` (the two already blurred, of one size). Outside the frame, the
    /// previous frame's edge pixels repeat. Ties go to the first place looked at, rows
    /// then columns of the frame before from `-search` up, so that the result is
    /// deterministic.
    pub fn measure(
        previous: &[f32],
        current: &[f32],
        width: usize,
        block: usize,
        search: usize,
    ) -> Self {
        Self::measure_where(previous, current, width, block, search, f32::NEG_INFINITY)
    }

    /// [`Self::measure`] for the blocks that can move at `threshold` ([`Self::speeds`]):
    /// a block whose no-shift difference is at most `threshold` cannot beat it by more, so
    /// it is not searched (its best is its no-shift difference, its shift 0), and
    /// `speeds(threshold)` is that of the full search. Each block's sums run down each
    /// pixel column of the block, then across the columns, shifts in `measure`'s order.
    pub fn measure_where(
        previous: &[f32],
        current: &[f32],
        width: usize,
        block: usize,
        search: usize,
        threshold: f32,
    ) -> Self {
        let height = current.len() / width;
        let (cols, rows) = (width / block, height / block);
        let r = search.min(i8::MAX as usize);
        let n = 2 * r + 1;
        let area = (block * block) as f32;
        // The no-shift difference of every block, summed as `measure` sums it: down each
        // pixel column of the block, then across the columns.
        let mut still = vec![0f32; cols * rows];
        let mut column = vec![0f32; block];
        for by in 0..rows {
            for bx in 0..cols {
                column.iter_mut().for_each(|c| *c = 0.0);
                for y in by * block..(by + 1) * block {
                    let at = y * width + bx * block;
                    let (c, p) = (&current[at..at + block], &previous[at..at + block]);
                    for ((acc, a), b) in column.iter_mut().zip(c).zip(p) {
                        *acc += (a - b).abs();
                    }
                }
                still[by * cols + bx] = column.iter().sum::<f32>() / area;
            }
        }
        let mut best = still.clone();
        let mut dx = vec![0i8; cols * rows];
        let mut dy = vec![0i8; cols * rows];
        let moving = (0..still.len()).filter(|&i| still[i] > threshold);
        // The frame before with `r` pixels of its edge repeated all round, so that a
        // shifted row is one slice of it: only the rows a searched block reaches.
        let pw = width + 2 * r;
        let padded_row = |py: usize, out: &mut [f32]| {
            let y = py.clamp(r, r + height - 1) - r;
            let row = &previous[y * width..(y + 1) * width];
            for (px, o) in out.iter_mut().enumerate() {
                *o = row[px.clamp(r, r + width - 1) - r];
            }
        };
        let mut padded = vec![0f32; (height + 2 * r) * pw];
        let mut filled = vec![false; height + 2 * r];
        // Per pixel column of the block, the sums down it at every horizontal shift.
        let mut acc = vec![0f32; block * n];
        let mut sad = vec![0f32; n];
        for i in moving {
            let (bx, by) = (i % cols, i / cols);
            for py in by * block..(by + 1) * block + 2 * r {
                if !filled[py] {
                    padded_row(py, &mut padded[py * pw..(py + 1) * pw]);
                    filled[py] = true;
                }
            }
            let mut found = f32::INFINITY;
            // The block matched the frame before at (x + ox - r, y + oy - r): it moved by
            // the opposite.
            for oy in 0..n {
                acc.iter_mut().for_each(|a| *a = 0.0);
                for y in by * block..(by + 1) * block {
                    let c = &current[y * width + bx * block..][..block];
                    let p = &padded[(y + oy) * pw + bx * block..][..block + 2 * r];
                    for (k, &a) in c.iter().enumerate() {
                        for (s, &b) in acc[k * n..(k + 1) * n].iter_mut().zip(&p[k..k + n]) {
                            *s += (a - b).abs();
                        }
                    }
                }
                for (ox, d) in sad.iter_mut().enumerate() {
                    let sum: f32 = (0..block).map(|k| acc[k * n + ox]).sum();
                    *d = sum / area;
                }
                for (ox, &d) in sad.iter().enumerate() {
                    if d < found - 1e-6 {
                        found = d;
                        dx[i] = (r as isize - ox as isize) as i8;
                        dy[i] = (r as isize - oy as isize) as i8;
                    }
                }
            }
            best[i] = found;
        }
        BlockMotion {
            cols,
            rows,
            dx,
            dy,
            best,
            still,
        }
    }

    /// Per block: its speed in pixels per frame when it moves (its best shift beats no
    /// shift by more than `threshold`), else 0.
    pub fn speeds(&self, threshold: f32) -> Vec<f32> {
        (0..self.best.len())
            .map(|i| {
                if self.still[i] - self.best[i] > threshold {
                    f32::from(self.dx[i]).hypot(f32::from(self.dy[i]))
                } else {
                    0.0
                }
            })
            .collect()
    }
}

/// Gaussian blur of standard deviation `sigma`, separable, its kernel cut at 4 sigma and
/// the frame mirrored at its edges (`d c b a | a b c d`).
pub fn blur(frame: Frame<'_>, sigma: f32) -> Vec<f32> {
    let (w, h) = (frame.width, frame.height);
    if !(sigma > 0.0) {
        return frame.pixels.to_vec();
    }
    let radius = (4.0 * sigma + 0.5) as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|d| (-0.5 * (d as f32 / sigma).powi(2)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= total);
    let mirror = |i: isize, n: usize| -> usize {
        let n = n as isize;
        let mut i = i;
        loop {
            if i < 0 {
                i = -i - 1;
            } else if i >= n {
                i = 2 * n - i - 1;
            } else {
                return i as usize;
            }
        }
    };
    let r = radius as usize;
    // Across: each row mirrored into a padded copy, then one dot per pixel.
    let mut across = vec![0f32; w * h];
    let mut padded = vec![0f32; w + 2 * r];
    for y in 0..h {
        let row = &frame.pixels[y * w..(y + 1) * w];
        for (i, p) in padded.iter_mut().enumerate() {
            *p = row[mirror(i as isize - radius, w)];
        }
        for (x, out) in across[y * w..(y + 1) * w].iter_mut().enumerate() {
            *out = kernel
                .iter()
                .zip(&padded[x..x + kernel.len()])
                .map(|(c, p)| c * p)
                .sum();
        }
    }
    // Down: each output row the weighted sum of whole rows, in the kernel's order.
    let mut out = vec![0f32; w * h];
    for y in 0..h {
        let row = &mut out[y * w..(y + 1) * w];
        for (k, &c) in kernel.iter().enumerate() {
            let src = mirror(y as isize + k as isize - radius, h);
            for (o, &a) in row.iter_mut().zip(&across[src * w..(src + 1) * w]) {
                *o += c * a;
            }
        }
    }
    out
}

/// A stream's motion: the frame before, blurred. One per camera or clip.
#[derive(Clone, Debug, Default)]
pub struct SpeedState {
    previous: Option<(usize, Vec<f32>)>,
}

impl SpeedState {
    /// The motion of `frame`'s blocks since the frame before, `None` for a stream's first
    /// frame (or one whose size differs from the frame before, which starts it again).
    pub fn next(&mut self, frame: Frame<'_>, config: &SpeedConfig) -> Option<BlockMotion> {
        self.next_where(frame, config, f32::NEG_INFINITY)
    }

    /// [`Self::next`], searching only the blocks that can move at `threshold`
    /// ([`BlockMotion::measure_where`]): the same speeds at that threshold, for less work.
    pub fn next_where(
        &mut self,
        frame: Frame<'_>,
        config: &SpeedConfig,
        threshold: f32,
    ) -> Option<BlockMotion> {
        let current = blur(frame, config.blur);
        let motion = match &self.previous {
            Some((w, p)) if *w == frame.width && p.len() == current.len() => {
                Some(BlockMotion::measure_where(
                    p,
                    &current,
                    frame.width,
                    config.block,
                    config.search,
                    threshold,
                ))
            }
            _ => None,
        };
        self.previous = Some((frame.width, current));
        motion
    }
}

/// The normal speeds of a scene, row by row.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpeedModel {
    pub config: SpeedConfig,
    pub width: usize,
    pub height: usize,
    /// The scene's noise: the median no-shift difference of normal blocks, floored at
    /// [`SpeedConfig::min_noise`].
    pub noise: f32,
    /// Per row of blocks: the [`SpeedConfig::percentile`] of normal moving blocks'
    /// speeds, at least 1 pixel per frame (the whole frame's where a row saw fewer than
    /// 50 moving blocks).
    pub row_speed: Vec<f32>,
}

impl SpeedModel {
    /// Fits the model to normal `clips` (each its frames in order, all of one size).
    /// `None` when no clip has two frames, sizes differ, or no block moved.
    pub fn fit(clips: &[Vec<Frame<'_>>], config: &SpeedConfig) -> Option<Self> {
        let first = clips.iter().flatten().next()?;
        let (width, height) = (first.width, first.height);
        let mut motions = Vec::new();
        for clip in clips {
            let mut state = SpeedState::default();
            for &frame in clip {
                if (frame.width, frame.height) != (width, height) {
                    return None;
                }
                motions.extend(state.next(frame, config));
            }
        }
        let mut still: Vec<f32> = motions
            .iter()
            .flat_map(|m| m.still.iter().copied())
            .collect();
        if still.is_empty() {
            return None;
        }
        let mid = still.len() / 2;
        let median = if still.len() % 2 == 1 {
            *still.select_nth_unstable_by(mid, f32::total_cmp).1
        } else {
            let upper = *still.select_nth_unstable_by(mid, f32::total_cmp).1;
            let lower = still[..mid]
                .iter()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
            0.5 * (lower + upper)
        };
        let noise = median.max(config.min_noise);
        let rows = height / config.block;
        let mut per_row: Vec<Vec<f32>> = vec![Vec::new(); rows];
        for m in &motions {
            let speeds = m.speeds(config.evidence * noise);
            for (i, &s) in speeds.iter().enumerate() {
                if s > 0.0 {
                    per_row[i / m.cols].push(s);
                }
            }
        }
        let mut all: Vec<f32> = per_row.iter().flatten().copied().collect();
        if all.is_empty() {
            return None;
        }
        let whole = percentile(&mut all, config.percentile);
        let row_speed = per_row
            .iter_mut()
            .map(|r| {
                if r.len() > 50 {
                    percentile(r, config.percentile)
                } else {
                    whole
                }
                .max(1.0)
            })
            .collect();
        Some(SpeedModel {
            config: config.clone(),
            width,
            height,
            noise,
            row_speed,
        })
    }

    /// A frame's score from its blocks' motion: the mean of its
    /// [`SpeedConfig::top`] fastest blocks, each as a multiple of its row's normal speed.
    pub fn score(&self, motion: &BlockMotion) -> f64 {
        let speeds = motion.speeds(self.threshold());
        let mut relative: Vec<f32> = speeds
            .iter()
            .enumerate()
            .map(|(i, &s)| s / self.row_speed[i / motion.cols])
            .collect();
        let top = self.config.top.clamp(1, relative.len().max(1));
        if relative.len() < top {
            return 0.0;
        }
        let cut = relative.len() - top;
        relative.select_nth_unstable_by(cut, f32::total_cmp);
        relative[cut..].iter().map(|&v| f64::from(v)).sum::<f64>() / top as f64
    }

    /// How much better than no shift a block's best shift must match for it to move:
    /// [`SpeedConfig::evidence`] times the scene's noise.
    pub fn threshold(&self) -> f32 {
        self.config.evidence * self.noise
    }

    /// The next frame's score in a stream whose motion `state` follows: 0 for its first
    /// frame. Only the blocks that can move are searched ([`SpeedState::next_where`]).
    pub fn next(&self, state: &mut SpeedState, frame: Frame<'_>) -> f64 {
        state
            .next_where(frame, &self.config, self.threshold())
            .map_or(0.0, |m| self.score(&m))
    }

    /// The scores of a clip's frames, in order; a clip's first frame scores 0.
    pub fn clip_scores(&self, frames: &[Frame<'_>]) -> Vec<f64> {
        let mut state = SpeedState::default();
        frames.iter().map(|&f| self.next(&mut state, f)).collect()
    }
}

/// The `p`-th percentile of `values` (0–100), interpolated linearly between the two
/// nearest ranks as numpy's default does. `values` is reordered; it must not be empty.
fn percentile(values: &mut [f32], p: f64) -> f32 {
    values.sort_unstable_by(f32::total_cmp);
    let rank = (values.len() - 1) as f64 * p.clamp(0.0, 100.0) / 100.0;
    let (lo, frac) = (rank.floor() as usize, rank - rank.floor());
    let hi = (lo + 1).min(values.len() - 1);
    (f64::from(values[lo]) + frac * (f64::from(values[hi]) - f64::from(values[lo]))) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of smooth texture, with a brighter textured square whose top-left corner
    /// is at `(x, y)`.
    fn scene(w: usize, h: usize, x: usize, y: usize, side: usize) -> Vec<f32> {
        let mut f: Vec<f32> = (0..w * h)
            .map(|i| {
                let (px, py) = ((i % w) as f32, (i / w) as f32);
                0.3 + 0.05 * (0.7 * px).sin() * (0.5 * py).cos()
            })
            .collect();
        for py in y..(y + side).min(h) {
            for px in x..(x + side).min(w) {
                let (u, v) = ((px - x) as f32, (py - y) as f32);
                f[py * w + px] = 0.7 + 0.2 * (1.3 * u).sin() * (0.9 * v + 0.4 * u).cos();
            }
        }
        f
    }

    #[test]
    fn a_moving_square_is_found_where_it_is_and_nothing_else_moves() {
        let (w, h) = (60, 48);
        let before = scene(w, h, 12, 12, 24);
        let after = scene(w, h, 15, 10, 24);
        let config = SpeedConfig::default();
        let mut state = SpeedState::default();
        assert!(state
            .next(Frame::new(w, h, &before).unwrap(), &config)
            .is_none());
        let m = state
            .next(Frame::new(w, h, &after).unwrap(), &config)
            .unwrap();
        assert_eq!((m.cols, m.rows), (10, 8));
        // Blocks wholly inside the square, at its new place (x 15..39, y 10..34): the
        // square's shift. Blocks at least a search away from both places: no motion.
        for by in 0..m.rows {
            for bx in 0..m.cols {
                let (x0, y0) = (bx * 6, by * 6);
                let i = by * m.cols + bx;
                let inside = x0 >= 18 && x0 + 6 <= 39 && y0 >= 12 && y0 + 6 <= 34;
                let far = x0 >= 39 + 6 || y0 >= 36 + 6;
                if inside {
                    assert_eq!((m.dx[i], m.dy[i]), (3, -2), "block {bx},{by}");
                    // The blur mixes in the still background near the square's edges.
                    assert!(
                        m.still[i] > 0.03 && m.best[i] < 0.1 * m.still[i],
                        "block {bx},{by}: {} {}",
                        m.still[i],
                        m.best[i]
                    );
                }
                if far {
                    assert_eq!(
                        (m.dx[i], m.dy[i], m.still[i]),
                        (0, 0, 0.0),
                        "block {bx},{by}"
                    );
                }
            }
        }
        // The nine blocks inside move at the square's speed; the far ones do not move.
        let speeds = m.speeds(0.01);
        let at_speed = speeds
            .iter()
            .filter(|&&s| (s - 13f32.sqrt()).abs() < 1e-6)
            .count();
        assert!(at_speed >= 9, "{at_speed} blocks at the square's speed");
        assert_eq!(speeds[m.cols * m.rows - 1], 0.0);
    }

    /// The search block by block gives the numbers of the search a row of blocks at a
    /// time bit for bit, and searching only the blocks that can move gives those blocks'
    /// numbers and so the same speeds, on frames with noise, several moving squares and
    /// blocks at the frame's edges (where the search reaches past it).
    #[test]
    fn searching_only_the_blocks_that_can_move_changes_no_speed() {
        let (w, h) = (66, 42);
        let mut state = 12345u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.02
        };
        let frame = |t: usize, noise: &mut dyn FnMut() -> f32| -> Vec<f32> {
            let mut f = scene(w, h, 2 + 3 * t, 4 + t, 10);
            let other = scene(w, h, 50 - 2 * t, 28, 12);
            for (i, v) in f.iter_mut().enumerate() {
                let (x, y) = (i % w, i / w);
                if (50 - 2 * t..62 - 2 * t).contains(&x) && (28..40).contains(&y) {
                    *v = other[i];
                }
                *v += noise();
            }
            f
        };
        let frames: Vec<Vec<f32>> = (0..4).map(|t| frame(t, &mut noise)).collect();
        let mut checked = (0, 0);
        for search in [3, 6] {
            for pair in frames.windows(2) {
                let (a, b) = (
                    blur(view(&pair[0], w, h), 1.0),
                    blur(view(&pair[1], w, h), 1.0),
                );
                let full = measure_by_rows(&a, &b, w, 6, search);
                let searched = BlockMotion::measure(&a, &b, w, 6, search);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&searched.best), bits(&full.best));
                assert_eq!(bits(&searched.still), bits(&full.still));
                assert_eq!((&searched.dx, &searched.dy), (&full.dx, &full.dy));
                for threshold in [0.0, 0.01, 0.05] {
                    let some = BlockMotion::measure_where(&a, &b, w, 6, search, threshold);
                    assert_eq!(some.still, full.still);
                    assert_eq!(some.speeds(threshold), full.speeds(threshold));
                    for i in 0..full.still.len() {
                        if full.still[i] > threshold {
                            checked.0 += 1;
                            assert_eq!(
                                (some.best[i].to_bits(), some.dx[i], some.dy[i]),
                                (full.best[i].to_bits(), full.dx[i], full.dy[i]),
                                "block {i}"
                            );
                        } else {
                            checked.1 += 1;
                            assert_eq!(
                                (some.best[i], some.dx[i], some.dy[i]),
                                (some.still[i], 0, 0)
                            );
                        }
                    }
                }
            }
        }
        assert!(checked.0 > 50 && checked.1 > 50, "{checked:?}");
    }

    /// The full search as `measure` first ran it (every block, a row of blocks at a time,
    /// each shift for the whole row): the reference the speed scores of fitted models
    /// were computed with.
    fn measure_by_rows(
        previous: &[f32],
        current: &[f32],
        width: usize,
        block: usize,
        search: usize,
    ) -> BlockMotion {
        let height = current.len() / width;
        let (cols, rows) = (width / block, height / block);
        let r = search.min(i8::MAX as usize);
        let mut best = vec![f32::INFINITY; cols * rows];
        let mut still = vec![0f32; cols * rows];
        let mut dx = vec![0i8; cols * rows];
        let mut dy = vec![0i8; cols * rows];
        let area = (block * block) as f32;
        // The frame before with `r` pixels of its edge repeated all round: a shifted row
        // is then one slice of it.
        let pw = width + 2 * r;
        let padded: Vec<f32> = (0..height + 2 * r)
            .flat_map(|py| {
                let y = py.clamp(r, r + height - 1) - r;
                let row = &previous[y * width..(y + 1) * width];
                (0..pw).map(move |px| row[px.clamp(r, r + width - 1) - r])
            })
            .collect();
        let span = cols * block;
        // Per column: the absolute differences of a row of blocks, summed down its rows.
        let mut column = vec![0f32; span];
        for oy in 0..=2 * r {
            for ox in 0..=2 * r {
                for by in 0..rows {
                    column.iter_mut().for_each(|c| *c = 0.0);
                    for y in by * block..(by + 1) * block {
                        let c = &current[y * width..y * width + span];
                        let p = &padded[(y + oy) * pw + ox..][..span];
                        for ((acc, a), b) in column.iter_mut().zip(c).zip(p) {
                            *acc += (a - b).abs();
                        }
                    }
                    for (bx, chunk) in column.chunks_exact(block).enumerate() {
                        let i = by * cols + bx;
                        let sad = chunk.iter().sum::<f32>() / area;
                        if ox == r && oy == r {
                            still[i] = sad;
                        }
                        if sad < best[i] - 1e-6 {
                            best[i] = sad;
                            // The block matched the frame before at (x + ox - r, y + oy - r):
                            // it moved by the opposite.
                            dx[i] = (r as isize - ox as isize) as i8;
                            dy[i] = (r as isize - oy as isize) as i8;
                        }
                    }
                }
            }
        }
        BlockMotion {
            cols,
            rows,
            dx,
            dy,
            best,
            still,
        }
    }

    fn view(f: &[f32], w: usize, h: usize) -> Frame<'_> {
        Frame::new(w, h, f).unwrap()
    }

    #[test]
    fn blur_keeps_a_flat_frame_and_its_total() {
        let (w, h) = (9, 7);
        let flat = vec![0.4f32; w * h];
        let out = blur(Frame::new(w, h, &flat).unwrap(), 1.0);
        assert!(out.iter().all(|&v| (v - 0.4).abs() < 1e-6));
        // A mirrored edge loses nothing: a point's light stays in the frame.
        let mut point = vec![0f32; w * h];
        point[w + 1] = 1.0;
        let total: f32 = blur(Frame::new(w, h, &point).unwrap(), 1.0).iter().sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
    }

    #[test]
    fn a_still_scene_has_no_normal_speeds_to_learn() {
        let (w, h) = (36, 24);
        let still = scene(w, h, 6, 6, 12);
        let clip: Vec<Frame> = (0..5).map(|_| Frame::new(w, h, &still).unwrap()).collect();
        assert!(SpeedModel::fit(&[clip], &SpeedConfig::default()).is_none());
        assert!(SpeedModel::fit(&[], &SpeedConfig::default()).is_none());
    }

    #[test]
    fn percentile_interpolates_as_numpy_does() {
        // numpy.percentile([4, 1, 3, 2], [0, 50, 99, 100]) = [1, 2.5, 3.97, 4]
        for (p, want) in [(0.0, 1.0), (50.0, 2.5), (99.0, 3.97), (100.0, 4.0)] {
            let got = percentile(&mut [4.0, 1.0, 3.0, 2.0], p);
            assert!((got - want).abs() < 1e-6, "p{p}: {got}");
        }
    }

    #[test]
    fn a_faster_square_scores_above_the_normal_ones() {
        let (w, h) = (72, 48);
        // Normal clips: the square crosses at 1 pixel per frame, in two rows of the frame.
        let clip = |y: usize, speed: usize, frames: usize| -> Vec<Vec<f32>> {
            (0..frames)
                .map(|t| scene(w, h, 2 + speed * t, y, 12))
                .collect()
        };
        let normal: Vec<Vec<Vec<f32>>> = vec![clip(6, 1, 40), clip(30, 1, 40), clip(18, 1, 40)];
        fn view(c: &[Vec<f32>], w: usize, h: usize) -> Vec<Frame<'_>> {
            c.iter().map(|f| Frame::new(w, h, f).unwrap()).collect()
        }
        let fit: Vec<Vec<Frame>> = normal.iter().map(|c| view(c, w, h)).collect();
        let model = SpeedModel::fit(&fit, &SpeedConfig::default()).unwrap();
        assert_eq!(model.row_speed.len(), 8);
        assert!(model.row_speed.iter().all(|&s| s >= 1.0));
        let normal_scores = model.clip_scores(&view(&normal[2], w, h));
        let fast = clip(18, 4, 12);
        let fast_scores = model.clip_scores(&view(&fast, w, h));
        assert_eq!(normal_scores[0], 0.0);
        assert_eq!(fast_scores[0], 0.0);
        let normal_max = normal_scores.iter().copied().fold(0.0, f64::max);
        let fast_min = fast_scores[1..]
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min);
        assert!(
            fast_min > 2.0 * normal_max,
            "fast {fast_min} against normal {normal_max}"
        );
        // The model goes through JSON unchanged, and scores the same after.
        let back: SpeedModel =
            serde_json::from_str(&serde_json::to_string(&model).unwrap()).unwrap();
        assert_eq!(back.clip_scores(&view(&fast, w, h)), fast_scores);
    }
}
