//! Object-centric anomaly scores for a static camera.
//!
//! What separates the anomalies of a pedestrian scene (a cyclist, a cart, a skater) from
//! its normal traffic is mostly how the objects in it move and how big they are for their
//! place in the frame. This crate scores that directly, with no network:
//!
//! 1. [`Background`]: the per-pixel median of normal footage, and its noise.
//! 2. [`detect`]: the pixels of a frame that differ from the background, cleaned and cut
//!    into connected components; each is an [`Object`] with its box, its area and its
//!    motion since the frame before (block matching of its own pixels). A
//!    [`SceneState`] runs it over a stream, the background following slow changes.
//! 3. [`ObjectModel`]: the objects of normal training clips, each described by
//!    [`Object::features`] (place, size, and motion in the object's own heights),
//!    standardised; an object's score is its
//!    mean distance to its `k` nearest normal objects, and a frame's is that of its most
//!    unusual object (0 with none).
//!
//!
//! [`SpeedModel`] scores motion without cutting objects out: the speed of each block of
//! the frame, read against the normal speeds of its row.
//!
//! Every score is causal: frame `t` is scored from frames `t - 1` and `t` alone, so a
//! live detector computes exactly what an offline run does.

mod background;
mod detect;
mod model;
pub mod speed;

pub use background::Background;
pub use detect::{detect, DetectConfig, Object, SceneState, N_FEATURES};
pub use model::{ObjectModel, ObjectModelConfig};
pub use speed::{BlockMotion, SpeedConfig, SpeedModel, SpeedState};

/// A gray frame at the working size: row-major, values in [0, 1].
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    pub width: usize,
    pub height: usize,
    pub pixels: &'a [f32],
}

impl<'a> Frame<'a> {
    /// `pixels` as a `width` x `height` frame; `None` when the lengths disagree.
    pub fn new(width: usize, height: usize, pixels: &'a [f32]) -> Option<Self> {
        (width > 0 && height > 0 && width * height == pixels.len()).then_some(Frame {
            width,
            height,
            pixels,
        })
    }
}
