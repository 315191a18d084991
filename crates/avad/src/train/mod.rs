//! Training: the visual autoencoder on a dataset's normal clips ([`train_visual`]), the
//! acoustic autoencoder on normal sound ([`train_audio`]), and recalibrating a visual model
//! on normal clips it did not train on ([`calibrate`]).

mod audio;
mod calibrate;
mod visual;

pub use audio::{train_audio, NormalSound};
pub use calibrate::{calibrate, Calibrated};
pub use visual::{
    calibrate_on, note_overrides, override_training, override_visual_preset, train_visual,
};

/// "1 clip", "3 clips": `n` with its noun, in the plural unless it is one.
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
