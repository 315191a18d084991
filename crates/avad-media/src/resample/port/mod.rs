mod convolve;
mod design;
mod plan;
#[cfg(test)]
mod tests;

use convolve::{fir, poly};
use plan::plan;

const MULT32: f64 = 65536.0 * 65536.0;

/// One stage of the chain, applied to a whole (zero-extended) signal.
enum Stage {
    /// `dft_stage`: linear-phase FIR at `l` times the input rate, keeping
    /// every `m`-th sample; zero delay (libsoxr preloads `num_taps / 2`).
    Fir { h: Vec<f64>, l: usize, m: usize },
    /// The arbitrary-ratio stage (`vpoly0..3`): a poly-phase FIR whose taps
    /// are read from `h_ext` (a leading zero, then the designed filter) at
    /// `phases` per input sample, interpolated with `order` when the ratio
    /// is not rational.
    Poly {
        h_ext: Vec<f64>,
        num_coefs: usize,
        phases: usize,
        order: usize,
        step: Step,
        start: f64,
    },
}

enum Step {
    /// Exact: output `j` at `(at0 + j * m) / l` input samples.
    Rational { at0: u64, l: u64, m: u64 },
    /// 32.32 fixed point, as libsoxr's standard-precision clock.
    Fixed { whole: u64 },
}

impl Stage {
    /// Input samples the stage reaches past either side of an output time.
    fn half_support(&self) -> f64 {
        match self {
            Stage::Fir { h, l, .. } => h.len() as f64 / (2 * l) as f64 + 1.0,
            Stage::Poly { num_coefs, .. } => *num_coefs as f64 / 2.0 + 1.0,
        }
    }

    /// Output-to-input rate ratio.
    fn out_per_in(&self) -> f64 {
        match self {
            Stage::Fir { l, m, .. } => *l as f64 / *m as f64,
            Stage::Poly {
                step: Step::Rational { l, m, .. },
                ..
            } => *l as f64 / *m as f64,
            Stage::Poly {
                step: Step::Fixed { whole },
                ..
            } => MULT32 / *whole as f64,
        }
    }

    /// Run over `x` (zero outside) and return `n_out` outputs, output `j`
    /// being aligned with input time `j / out_per_in`.
    fn run(&self, x: &[f64], n_out: usize) -> Vec<f64> {
        match self {
            Stage::Fir { h, l, m } => fir(x, h, *l, *m, n_out),
            Stage::Poly {
                h_ext,
                num_coefs,
                phases,
                order,
                step,
                start,
            } => poly(x, h_ext, *num_coefs, *phases, *order, step, *start, n_out),
        }
    }
}

/// Resample by `io_ratio` (input rate / output rate), returning `n_out` samples.
pub fn resample(samples: &[f32], io_ratio: f64, n_out: usize) -> Vec<f32> {
    let stages = plan(io_ratio);
    let mut x: Vec<f64> = samples.iter().map(|&s| s as f64).collect();
    let last = stages.len().saturating_sub(1);
    for (i, stage) in stages.iter().enumerate() {
        let count = if i == last {
            n_out
        } else {
            // Every output whose window still overlaps the input (plus the
            // next stage's reach), so the zero-padded flush is reproduced.
            let reach = stages.get(i + 1).map_or(0.0, |s| s.half_support());
            ((x.len() as f64 + stage.half_support()) * stage.out_per_in() + reach).ceil() as usize
        };
        x = stage.run(&x, count);
    }
    x.into_iter().map(|v| v as f32).collect()
}
