//! The FFmpeg backend (feature `ffmpeg`): opening sources, stream info, decoders.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use ff::ffi;
use ff::format::context::Input;
use ff::media::Type as MediaType;
use ffmpeg_next as ff;

use super::{AudioStreamInfo, OpenOptions, VideoInfo};
use crate::{MediaError, Result};

mod audio;
mod reader;
mod scaler;

pub use audio::decode_audio_track;
pub use reader::Reader;

const AV_NOPTS_VALUE: i64 = i64::MIN;

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // Only registers devices (unused) and error strings: cannot fail.
        let _ = ff::init();
        ff::format::network::init();
        // Failures come back as MediaError; FFmpeg's own per-packet
        // warnings would interleave with the caller's output.
        ff::log::set_level(ff::log::Level::Fatal);
    });
}

fn err(source: &str, reason: impl Into<String>) -> MediaError {
    MediaError::invalid(Path::new(source), reason)
}

/// The open/read deadline polled by FFmpeg's interrupt callback.
#[derive(Clone)]
struct Watchdog {
    clock: Instant,
    deadline_ms: Arc<AtomicU64>,
    timeout: Duration,
}

impl Watchdog {
    fn new(timeout: Duration) -> Self {
        Watchdog {
            clock: Instant::now(),
            deadline_ms: Arc::new(AtomicU64::new(u64::MAX)),
            timeout,
        }
    }

    fn arm(&self) {
        let deadline = self.clock.elapsed().saturating_add(self.timeout);
        self.deadline_ms.store(
            u64::try_from(deadline.as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn callback(&self) -> impl FnMut() -> bool + Send + 'static {
        let clock = self.clock;
        let deadline_ms = Arc::clone(&self.deadline_ms);
        move || {
            let now = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
            now > deadline_ms.load(Ordering::Relaxed)
        }
    }

    fn describe(&self, e: ff::Error) -> String {
        match e {
            ff::Error::Exit => format!(
                "no data for {:.1} s: the stream stalled or the source is unreachable",
                self.timeout.as_secs_f64()
            ),
            e => e.to_string(),
        }
    }
}

/// Local files are checked first: std's error kind (not found, permission)
/// says more than FFmpeg's errno text.
fn check_local_source(source: &str) -> Result<()> {
    if source.contains("://") {
        return Ok(());
    }
    let path = Path::new(source);
    let meta = std::fs::metadata(path).map_err(|e| MediaError::io(path, e))?;
    if meta.is_dir() {
        return Err(MediaError::invalid(
            path,
            "is a directory, not a video file",
        ));
    }
    Ok(())
}

struct Opened {
    input: Input,
    watchdog: Watchdog,
}

fn open_input(source: &str, options: &OpenOptions) -> Result<Opened> {
    init();
    if source.contains('\0') {
        return Err(err(source, "the path contains a NUL byte"));
    }
    check_local_source(source)?;
    let mut dict = ff::Dictionary::new();
    let rtsp = source
        .get(..4)
        .is_some_and(|s| s.eq_ignore_ascii_case("rtsp"));
    if options.rtsp_over_tcp && rtsp {
        dict.set("rtsp_transport", "tcp");
    }
    if options.rtsp_listen && rtsp {
        dict.set("rtsp_flags", "listen");
    }
    let watchdog = Watchdog::new(options.timeout);
    watchdog.arm();
    let input = ff::format::input_with_interrupt_and_dictionary(source, watchdog.callback(), dict)
        .map_err(|e| match e {
            ff::Error::InvalidData => err(
                source,
                "not a media file FFmpeg can read (truncated, corrupt, or not audio/video)",
            ),
            e if super::is_stream_url(source) => err(
                source,
                format!("cannot open stream: {}", watchdog.describe(e)),
            ),
            e => err(source, format!("cannot open: {}", watchdog.describe(e))),
        })?;
    Ok(Opened { input, watchdog })
}

fn rational(r: ff::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0).then(|| f64::from(r))
}

fn codec_name(id: ff::codec::Id) -> String {
    ff::decoder::find(id).map_or_else(|| id.name().to_string(), |c| c.name().to_string())
}

fn video_info(input: &Input, stream: &ff::Stream) -> VideoInfo {
    let params = stream.parameters();
    // SAFETY: `params` wraps the stream's live AVCodecParameters, valid while `input` is.
    let (width, height) = unsafe { ((*params.as_ptr()).width, (*params.as_ptr()).height) };
    let fps = rational(stream.avg_frame_rate())
        .or_else(|| rational(stream.rate()))
        .unwrap_or(0.0);
    let time_base = f64::from(stream.time_base());
    let duration_s = if stream.duration() > 0 && time_base > 0.0 {
        Some(stream.duration() as f64 * time_base)
    } else if input.duration() > 0 {
        Some(input.duration() as f64 / f64::from(ffi::AV_TIME_BASE))
    } else {
        None
    };
    let audio = input.streams().best(MediaType::Audio).map(|a| {
        let p = a.parameters();
        // SAFETY: as above.
        let (rate, channels) = unsafe {
            (
                (*p.as_ptr()).sample_rate,
                (*p.as_ptr()).ch_layout.nb_channels,
            )
        };
        AudioStreamInfo {
            sample_rate: u32::try_from(rate).unwrap_or(0),
            channels: u16::try_from(channels).unwrap_or(0),
            codec: codec_name(p.id()),
        }
    });
    VideoInfo {
        width: u32::try_from(width).unwrap_or(0),
        height: u32::try_from(height).unwrap_or(0),
        fps,
        frames: u64::try_from(stream.frames()).ok().filter(|&n| n > 0),
        duration_s,
        codec: codec_name(params.id()),
        audio,
    }
}

fn no_video(source: &str, input: &Input) -> MediaError {
    if input.streams().best(MediaType::Audio).is_some() {
        err(
            source,
            "has no video stream (audio only): give it as the audio input instead",
        )
    } else {
        err(source, "has no video stream")
    }
}

pub fn probe_video(source: &str, options: &OpenOptions) -> Result<VideoInfo> {
    let opened = open_input(source, options)?;
    let stream = opened
        .input
        .streams()
        .best(MediaType::Video)
        .ok_or_else(|| no_video(source, &opened.input))?;
    Ok(video_info(&opened.input, &stream))
}

fn decoder_options(options: &OpenOptions) -> ff::Dictionary<'static> {
    let mut dict = ff::Dictionary::new();
    let threads = if options.decoder_threads == 0 {
        "auto".to_string()
    } else {
        options.decoder_threads.to_string()
    };
    dict.set("threads", &threads);
    dict
}

fn open_decoder(
    source: &str,
    stream: &ff::Stream,
    options: &OpenOptions,
) -> Result<ff::decoder::Opened> {
    let context = ff::codec::Context::from_parameters(stream.parameters())
        .map_err(|e| err(source, format!("cannot read the codec parameters: {e}")))?;
    let id = context.id();
    let codec = ff::decoder::find(id).ok_or_else(|| {
        err(
            source,
            format!("this FFmpeg has no decoder for {}", id.name()),
        )
    })?;
    let mut decoder = context.decoder();
    decoder.set_packet_time_base(stream.time_base());
    decoder
        .open_as_with(codec, decoder_options(options))
        .map_err(|e| {
            err(
                source,
                format!("cannot open the {} decoder: {e}", codec.name()),
            )
        })
}
