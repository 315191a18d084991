//! The system libsoxr (feature `soxr`), called as python-soxr calls it.

use soxr::format::Mono;
use soxr::params::{QualityFlags, QualityRecipe, QualitySpec, Rolloff, RuntimeSpec};
use soxr::Soxr;

/// python-soxr's `csoxr_divide_proc`: `soxr_quality_spec(SOXR_HQ, 0)`,
/// default runtime spec, float32 in and out, input fed in chunks of
/// `48000 * in / out` frames, then one flush.
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, soxr::Error> {
    let (from_f, to_f) = (from as f64, to as f64);
    let quality =
        QualitySpec::configure(QualityRecipe::Bits20, Rolloff::Small, QualityFlags::empty());
    let mut soxr = Soxr::<Mono<f32>>::new_with_params(from_f, to_f, quality, RuntimeSpec::new(1))?;
    let olen = (samples.len() as f64 * to_f / from_f) as usize + 1;
    let mut out = vec![0.0f32; olen + 16];
    let chunk_len = ((48000.0 * from_f / to_f) as usize).max(1);
    let mut pos = 0;
    for chunk in samples.chunks(chunk_len) {
        let mut fed = 0;
        // The crate passes `idone`, so libsoxr may take less than the whole
        // chunk when the output window is short: feed until it is taken.
        while fed < chunk.len() {
            let window = out.get_mut(pos..).unwrap_or_default();
            let done = soxr.process(&chunk[fed..], window)?;
            fed += done.input_frames;
            pos += done.output_frames;
            if done.input_frames == 0 && done.output_frames == 0 {
                out.resize(out.len() + chunk_len, 0.0);
            }
        }
    }
    loop {
        if pos == out.len() {
            out.resize(out.len() + 1024, 0.0);
        }
        let window = out.get_mut(pos..).unwrap_or_default();
        let done = soxr.drain(window)?;
        if done == 0 {
            break;
        }
        pos += done;
    }
    out.truncate(pos);
    Ok(out)
}
