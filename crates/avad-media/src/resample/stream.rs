//! [`StreamResampler`]: resampling a signal that arrives in pieces.

use super::{librosa_output_len, resample};

/// [`resample`] for a signal that arrives in pieces (a live stream): the output is
/// emitted in blocks of fixed position, each resampled from its own input segment with a
/// margin of context on both sides, so it equals the whole signal's resampling to within
/// the filters' rounding, and does not depend on how the input was cut.
#[derive(Debug)]
pub struct StreamResampler {
    from: u32,
    to: u32,
    /// Input samples from absolute index `base` on.
    input: Vec<f32>,
    base: usize,
    received: usize,
    /// The next output sample to emit.
    next: usize,
    finished: bool,
}

impl StreamResampler {
    /// Output samples per block.
    pub const BLOCK: usize = 2048;
    /// Output samples of context resampled on each side of a block and dropped: more
    /// than the longest filter of the HQ recipe reaches.
    pub const MARGIN: usize = 2048;

    pub fn new(from: u32, to: u32) -> Self {
        StreamResampler {
            from,
            to,
            input: Vec::new(),
            base: 0,
            received: 0,
            next: 0,
            finished: false,
        }
    }

    /// Input samples held for blocks still to come (bounded: memory stays flat).
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    fn passthrough(&self) -> bool {
        self.from == self.to || self.from == 0 || self.to == 0
    }

    /// Input samples per `step` output samples, both integers: segments start on
    /// multiples of the input step so that their output grid is the whole signal's.
    fn steps(&self) -> (usize, usize) {
        let g = gcd(self.from as usize, self.to as usize);
        (self.from as usize / g, self.to as usize / g)
    }

    /// The input index of output index `o` (rounded up).
    fn input_at(&self, o: usize) -> usize {
        (o as u128 * self.from as u128).div_ceil(self.to as u128) as usize
    }

    /// Adds input samples and returns the output that became final.
    pub fn push(&mut self, samples: &[f32]) -> Vec<f32> {
        if self.passthrough() {
            self.received += samples.len();
            return samples.to_vec();
        }
        self.input.extend_from_slice(samples);
        self.received += samples.len();
        let mut out = Vec::new();
        loop {
            let end = self.input_at(self.next + Self::BLOCK + Self::MARGIN);
            if end > self.received {
                break;
            }
            out.extend(self.segment(end, Self::BLOCK));
        }
        out
    }

    /// The end of the input: the rest of the output, to librosa's length
    /// `ceil(n * to / from)` in all.
    pub fn finish(&mut self) -> Vec<f32> {
        if self.passthrough() || self.finished {
            self.finished = true;
            return Vec::new();
        }
        self.finished = true;
        let total = librosa_output_len(self.received, self.from, self.to);
        if total <= self.next {
            return Vec::new();
        }
        self.segment(self.received, total - self.next)
    }

    /// Output `next .. next + count`, resampled from input up to `end`.
    fn segment(&mut self, end: usize, count: usize) -> Vec<f32> {
        let (step_in, step_out) = self.steps();
        let start_out = self.next.saturating_sub(Self::MARGIN) / step_out * step_out;
        let start = start_out / step_out * step_in;
        let y = resample(
            &self.input[start - self.base..end - self.base],
            self.from,
            self.to,
        );
        let skip = self.next - start_out;
        let mut block: Vec<f32> = y.iter().skip(skip).take(count).copied().collect();
        block.resize(count, 0.0);
        self.next += count;
        let keep = (self.next.saturating_sub(Self::MARGIN) / step_out * step_in).min(self.received);
        if keep > self.base {
            self.input.drain(..keep - self.base);
            self.base = keep;
        }
        block
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a.max(1)
    } else {
        gcd(b, a % b)
    }
}
