//! Live detection: the [`Detector`] (frames and sound in, decisions out), the [`Event`]s a
//! watch reports and the [`EventSink`]s that take them (a JSON-lines printer, the
//! [`Evidence`] writer), and [`watch`], which feeds a frame source to a detector.
//!
//! ```text
//! source ─► Detector::push_sound / push_frame
//!             picture: model input ─► last `steps` frames ─► every `hop` frames a window
//!                      to a pool of worker threads ─► frame errors ─► calibrated s_r
//!             sound:   StreamResampler ─► StreamingFeatures ─► fold's scaler ─► audio
//!                      windows ─► a frame's error once no later window covers it
//!             per frame, in order, once every modality has scored it: smoothed over time
//!             ─► decision (video's s_r, or the mean of both) < γ
//!        ─► Detector::decisions ─► Episodes (start / end) ─► EventSinks
//! ```

mod audio;
mod detector;
mod event;
mod evidence;
mod monitor;
mod pool;
mod smoother;
mod source;
mod status;

pub(crate) use audio::clip_errors_causal;
pub use detector::{
    Decision, Detector, DetectorConfig, DetectorStats, FrameScores, StretchEnd, VideoParts,
};
pub use event::{wall_time_s, Episodes, Event, EventSink, JsonLines, Summary};
pub use evidence::Evidence;
pub use monitor::{watch, WatchOptions};
pub use source::{open_source, SourceSpec};
pub use status::StatusLine;
