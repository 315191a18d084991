//! Dataset layouts (UCSD Ped2, UMN, generic clip folders), labels and masks,
//! the synthetic audio-visual scene, audio/video alignment, and windowing.
//!
//! [`open_dataset`] recognises a layout and returns a [`Dataset`] of [`Clip`]s;
//! [`windows`] cuts clips into the model's 10-step sequences and maps window
//! scores back to frames.

pub mod alignment;
pub mod dataset;
mod error;
pub mod generic;
pub mod labels;
pub mod ped2;
pub mod synthetic;
pub mod umn;
pub mod wav;
pub mod windows;

use std::path::Path;

pub use dataset::{AudioSource, Clip, Dataset, DatasetKind, Split, VideoSource};
pub use error::{toml_reason, DataError, Result};

/// Opens `path` as UCSD Ped2, UMN (a folder with `umn.toml`) or a generic clip folder, in that order.
pub fn open_dataset(path: &Path) -> Result<Dataset> {
    if !path.exists() {
        return Err(DataError::invalid(path, "no such file or folder"));
    }
    if ped2::find_ucsd_dir(path).is_some() {
        ped2::open(path)
    } else if umn::is_umn(path) {
        umn::open(path)
    } else {
        generic::open(path)
    }
}
