//! Video files and live streams through FFmpeg (feature `ffmpeg`).
//!
//! Frames leave here the way the model reads them (§3.2 of the paper): gray,
//! resized to the model size, `[0, 1]` f32. One swscale context converts the
//! decoder's pixel format and size straight to GRAY8 at that size with
//! `SWS_AREA` (a box average when shrinking, like OpenCV's `INTER_AREA`, so a
//! 320x240 → 240x240 reduction does not alias; swscale falls back to bilinear
//! weights when enlarging). Luma is expanded to full range on the way
//! (limited-range 16..235 video becomes 0..255), so black is 0 and white is 1
//! as they are for image frame folders.
//!
//! Without the `ffmpeg` feature every function that opens a source returns
//! [`MediaError::NeedsFfmpeg`](crate::MediaError::NeedsFfmpeg); [`is_video_path`] and [`is_stream_url`] work in
//! every build so that callers can route inputs and explain what is missing.
//!
//! Truncated files: a container FFmpeg cannot open (an MP4 cut before its
//! `moov` index, a file that is not video at all) is an error; a container
//! that opens is decoded as far as its data goes, and reading fails only if no
//! frame at all decodes. [`VideoReader::missing_frames`] then tells the caller
//! how far short of the container's own frame count the decode fell.
//!
//! Stalls: every open and every packet read has a deadline
//! ([`OpenOptions::timeout`]) enforced by an FFmpeg interrupt callback, which
//! all of FFmpeg's network protocols poll while they wait; a stream that stops
//! sending fails with an error instead of blocking forever.

use std::path::Path;
use std::time::Duration;

use crate::audio::DecodedAudio;
use crate::{GrayFrame, Result};

/// Extensions of the containers FFmpeg reads that are routed here rather than
/// to the audio or frame-folder decoders.
const VIDEO_EXTENSIONS: [&str; 11] = [
    "mp4", "avi", "mkv", "mov", "webm", "m4v", "mpg", "mpeg", "ts", "flv", "wmv",
];

const STREAM_SCHEMES: [&str; 8] = [
    "rtsp://", "rtsps://", "http://", "https://", "udp://", "rtp://", "srt://", "tcp://",
];

/// True when the path's extension names a video container (case-insensitive).
pub fn is_video_path(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|v| v.eq_ignore_ascii_case(e)))
}

/// True when `s` is a URL of a network source FFmpeg can read live.
pub fn is_stream_url(s: &str) -> bool {
    STREAM_SCHEMES.iter().any(|scheme| {
        s.get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
    })
}

/// What a container says about its video (and first audio) stream.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// Coded size of the video stream, before any resizing.
    pub width: u32,
    pub height: u32,
    /// Average frame rate, else FFmpeg's guess of the base rate; 0 when neither is known.
    pub fps: f64,
    /// Frame count as the container states it (MP4, AVI); `None` where the
    /// container does not store one (MKV, MPEG-TS, live streams). Not estimated.
    pub frames: Option<u64>,
    /// Duration of the video stream, else of the container; `None` for live streams.
    pub duration_s: Option<f64>,
    /// FFmpeg's codec name (`h264`, `mjpeg`, `mpeg4`…).
    pub codec: String,
    /// The stream FFmpeg ranks best among the audio streams, if any.
    pub audio: Option<AudioStreamInfo>,
}

/// An audio stream inside a video container.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioStreamInfo {
    pub sample_rate: u32,
    pub channels: u16,
    /// FFmpeg's codec name (`aac`, `pcm_s16le`, `opus`…).
    pub codec: String,
}

/// One decoded frame with its position in the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedFrame {
    /// 0-based count of frames delivered by this reader.
    pub index: u64,
    /// Presentation time in seconds since the start of the stream (the stream's
    /// start time, or the first frame's for streams that do not declare one);
    /// `index / fps` for frames that carry no timestamp.
    pub pts_s: f64,
    pub frame: GrayFrame,
}

/// How to open a source.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenOptions {
    /// Longest wait for the source to open and for each packet after that;
    /// a stalled or unreachable stream fails after this long.
    pub timeout: Duration,
    /// RTSP only: carry the media over the RTSP TCP connection rather than
    /// UDP, which passes firewalls and NAT and loses no packets.
    pub rtsp_over_tcp: bool,
    /// Decoder threads; 0 lets FFmpeg choose from the core count.
    pub decoder_threads: usize,
    /// Also decode the best audio stream, as it arrives between the frames
    /// ([`VideoReader::take_audio`]); a source without one just has no audio.
    pub audio: bool,
    /// RTSP only: wait for an encoder or camera to push the stream to this URL
    /// (FFmpeg's `rtsp_flags=listen`) instead of connecting to a server.
    pub rtsp_listen: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            timeout: Duration::from_secs(10),
            rtsp_over_tcp: true,
            decoder_threads: 0,
            audio: false,
            rtsp_listen: false,
        }
    }
}

/// Audio decoded from a video's own track, interleaved f32 at the track's rate.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    /// Time of the first sample, seconds on the video's clock (the same origin as
    /// [`TimedFrame::pts_s`]); the samples after it follow without gaps.
    pub start_s: f64,
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<f32>,
}

/// Reads the container header (and, for streams, enough packets to know the
/// codecs) without decoding frames.
pub fn probe_video(source: &str) -> Result<VideoInfo> {
    backend::probe_video(source, &OpenOptions::default())
}

/// Decodes the best audio stream of a container to interleaved f32 at its
/// native sample rate and channel count (the caller resamples and downmixes).
/// Integer PCM is scaled by `1 / 2^(bits-1)`, as libsndfile does.
pub fn decode_audio_track(source: &str) -> Result<DecodedAudio> {
    backend::decode_audio_track(source, &OpenOptions::default())
}

/// Frames of a live stream decoded before any is delivered, to settle its clock
/// ([`settle_clock`]): 0.2 s at 25 fps.
pub const SETTLE_FRAMES: usize = 5;

/// The clock of a live stream's first frames, settled on the latest of them.
///
/// An RTP receiver can date a stream's packets on the common (wall-clock) timeline only
/// once the sender's first RTCP report for that stream arrives; packets before it are
/// dated from the stream's own first packet, so the picture's and the sound's first
/// timestamps need not agree. Over RTSP FFmpeg dates the first picture 0 and the second,
/// synchronised, 86 ms later at 25 fps: the first really came 46 ms after the sound
/// began (the AAC encoder's priming, which an MP4's edit list hides).
///
/// `times`: the first frames' times (seconds), `frame_s`: the frame duration. The
/// latest frame is trusted; a frame more than half a frame off the time it implies
/// (`last - (L - k) frame_s`) is re-dated to that time. Returns the shift to subtract
/// from every time of the stream, sound included (so that the first frame stays at the
/// time it had), and the first frames' times after it. A frame really missing right
/// after the first looks the same, and then shifts the sound by that frame's duration.
pub fn settle_clock(times: &[f64], frame_s: f64) -> (f64, Vec<f64>) {
    let (Some(&first), Some(&last)) = (times.first(), times.last()) else {
        return (0.0, Vec::new());
    };
    if !(frame_s > 0.0) {
        return (0.0, times.to_vec());
    }
    let l = times.len() - 1;
    let implied = |k: usize| last - (l - k) as f64 * frame_s;
    if (first - implied(0)).abs() <= 0.5 * frame_s {
        return (0.0, times.to_vec());
    }
    let shift = implied(0) - first;
    let fixed = times
        .iter()
        .enumerate()
        .map(|(k, &t)| {
            if (t - implied(k)).abs() <= 0.5 * frame_s {
                t - shift
            } else {
                implied(k) - shift
            }
        })
        .collect();
    (shift, fixed)
}

/// Sequential reader of a video file or live stream, decoding to model-size gray frames.
pub struct VideoReader {
    inner: backend::Reader,
    /// Live streams: the first frames, decoded and held until the clock is settled
    /// ([`settle_clock`]); the sound waits for it too.
    held: std::collections::VecDeque<TimedFrame>,
    settled: bool,
    /// An error that came while frames were held: reported after them.
    held_error: Option<crate::MediaError>,
    /// Seconds subtracted from every time of the stream once settled.
    shift_s: f64,
}

impl VideoReader {
    /// Opens `source` (a path or a URL) and prepares to deliver frames of `size`.
    pub fn open(source: &str, size: crate::FrameSize, options: &OpenOptions) -> Result<Self> {
        Ok(VideoReader {
            inner: backend::Reader::open(source, size, options)?,
            held: std::collections::VecDeque::new(),
            settled: !is_stream_url(source),
            held_error: None,
            shift_s: 0.0,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        self.inner.info()
    }

    /// The next frame, `Ok(None)` at the end of the source. Fails if the source
    /// ends before a single frame decodes, or if a stream stalls past the timeout.
    /// A live stream's first frame comes once [`SETTLE_FRAMES`] have decoded.
    pub fn next_frame(&mut self) -> Result<Option<TimedFrame>> {
        if !self.settled {
            self.settle()?;
        }
        if let Some(frame) = self.held.pop_front() {
            return Ok(Some(frame));
        }
        if let Some(e) = self.held_error.take() {
            return Err(e);
        }
        Ok(self.inner.next_frame()?.map(|mut f| {
            f.pts_s -= self.shift_s;
            f
        }))
    }

    fn settle(&mut self) -> Result<()> {
        self.settled = true;
        while self.held.len() < SETTLE_FRAMES {
            match self.inner.next_frame() {
                Ok(Some(frame)) => self.held.push_back(frame),
                Ok(None) => break,
                Err(e) if self.held.is_empty() => return Err(e),
                Err(e) => {
                    self.held_error = Some(e);
                    break;
                }
            }
        }
        let fps = self.inner.info().fps;
        let times: Vec<f64> = self.held.iter().map(|f| f.pts_s).collect();
        let (shift, fixed) = settle_clock(&times, if fps > 0.0 { 1.0 / fps } else { 0.0 });
        self.shift_s = shift;
        for (frame, t) in self.held.iter_mut().zip(fixed) {
            frame.pts_s = t;
        }
        Ok(())
    }

    /// The audio decoded since the last call (with [`OpenOptions::audio`]), `None`
    /// when there is none yet. Audio is decoded as its packets arrive, interleaved
    /// with the video's, so a caller that takes it after every frame holds the
    /// sound up to about that frame's time. A live stream's sound is held until its
    /// clock is settled ([`Self::next_frame`]).
    pub fn take_audio(&mut self) -> Option<AudioChunk> {
        if !self.settled {
            return None;
        }
        self.inner.take_audio().map(|mut chunk| {
            chunk.start_s -= self.shift_s;
            chunk
        })
    }

    /// Packets the demuxer or a decoder rejected as corrupt and skipped.
    pub fn skipped_packets(&self) -> u64 {
        self.inner.skipped_packets()
    }

    /// Frames delivered that the decoder flagged as damaged (concealed errors).
    pub fn damaged_frames(&self) -> u64 {
        self.inner.damaged_frames()
    }

    /// Once the end has been reached: how many fewer frames were delivered than
    /// the container declared (0 when complete); a truncated file shows here.
    /// `None` before the end or when the container declares no frame count.
    pub fn missing_frames(&self) -> Option<u64> {
        self.inner.missing_frames()
    }
}

/// Frames until the end of the source; stops after the first error.
impl Iterator for VideoReader {
    type Item = Result<TimedFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

impl std::fmt::Debug for VideoReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoReader")
            .field("info", self.info())
            .finish_non_exhaustive()
    }
}

#[cfg(not(feature = "ffmpeg"))]
mod backend {
    use std::path::Path;

    use super::{AudioChunk, OpenOptions, TimedFrame, VideoInfo};
    use crate::audio::DecodedAudio;
    use crate::{FrameSize, MediaError, Result};

    fn needs_ffmpeg(source: &str, what: &str) -> MediaError {
        MediaError::NeedsFfmpeg {
            path: Path::new(source).to_path_buf(),
            what: what.to_string(),
        }
    }

    fn kind(source: &str) -> &'static str {
        if super::is_stream_url(source) {
            "reading a live stream"
        } else {
            "reading a video file"
        }
    }

    pub fn probe_video(source: &str, _options: &OpenOptions) -> Result<VideoInfo> {
        Err(needs_ffmpeg(source, kind(source)))
    }

    pub fn decode_audio_track(source: &str, _options: &OpenOptions) -> Result<DecodedAudio> {
        Err(needs_ffmpeg(source, "decoding the audio track of a video"))
    }

    /// Uninhabited: without FFmpeg no reader can be opened.
    pub enum Reader {}

    impl Reader {
        pub fn open(source: &str, _size: FrameSize, _options: &OpenOptions) -> Result<Self> {
            Err(needs_ffmpeg(source, kind(source)))
        }

        pub fn info(&self) -> &VideoInfo {
            match *self {}
        }

        pub fn next_frame(&mut self) -> Result<Option<TimedFrame>> {
            match *self {}
        }

        pub fn missing_frames(&self) -> Option<u64> {
            match *self {}
        }

        pub fn take_audio(&mut self) -> Option<AudioChunk> {
            match *self {}
        }

        pub fn skipped_packets(&self) -> u64 {
            match *self {}
        }

        pub fn damaged_frames(&self) -> u64 {
            match *self {}
        }
    }
}

#[cfg(feature = "ffmpeg")]
mod backend {
    use std::ffi::CString;
    use std::path::Path;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Once};
    use std::time::{Duration, Instant};

    use ff::ffi;
    use ff::format::context::Input;
    use ff::media::Type as MediaType;
    use ffmpeg_next as ff;

    use super::{AudioChunk, AudioStreamInfo, OpenOptions, TimedFrame, VideoInfo};
    use crate::audio::DecodedAudio;
    use crate::{FrameSize, GrayFrame, MediaError, Result};

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
        let input =
            ff::format::input_with_interrupt_and_dictionary(source, watchdog.callback(), dict)
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

    /// swscale context from one decoded format/size to full-range GRAY8 at the model size.
    struct GrayScaler {
        ptr: *mut ffi::SwsContext,
        input: (ffi::AVPixelFormat, i32, i32, bool),
        output: ff::frame::Video,
    }

    // SAFETY: the SwsContext is owned by this struct alone and only used through
    // `&mut self`; swscale keeps no thread-local state, so moving it between
    // threads is sound (it is not shared, hence no Sync).
    unsafe impl Send for GrayScaler {}

    impl GrayScaler {
        fn new(
            format: ffi::AVPixelFormat,
            width: i32,
            height: i32,
            full_range: bool,
            size: FrameSize,
        ) -> Option<Self> {
            let (dst_w, dst_h) = (
                i32::try_from(size.width).ok()?,
                i32::try_from(size.height).ok()?,
            );
            // Options rather than sws_getContext + sws_setColorspaceDetails: the
            // ranges must be known when the context is initialised, or a
            // same-size yuv→gray conversion takes the plane-copy path and never
            // expands limited-range luma.
            let settings: [(&str, i64); 9] = [
                ("srcw", i64::from(width)),
                ("srch", i64::from(height)),
                ("src_format", format as i64),
                ("dstw", i64::from(dst_w)),
                ("dsth", i64::from(dst_h)),
                ("dst_format", ffi::AVPixelFormat::AV_PIX_FMT_GRAY8 as i64),
                ("sws_flags", i64::from(ffi::SWS_AREA)),
                ("src_range", i64::from(full_range)),
                ("dst_range", 1),
            ];
            // SAFETY: a fresh context is configured through the AVOptions API and
            // freed on every failure path; nothing else holds the pointer.
            unsafe {
                let ptr = ffi::sws_alloc_context();
                if ptr.is_null() {
                    return None;
                }
                for (name, value) in settings {
                    let name = CString::new(name).ok()?;
                    if ffi::av_opt_set_int(ptr.cast(), name.as_ptr(), value, 0) < 0 {
                        ffi::sws_freeContext(ptr);
                        return None;
                    }
                }
                if ffi::sws_init_context(ptr, std::ptr::null_mut(), std::ptr::null_mut()) < 0 {
                    ffi::sws_freeContext(ptr);
                    return None;
                }
                let output =
                    ff::frame::Video::new(ff::format::Pixel::GRAY8, size.width, size.height);
                Some(GrayScaler {
                    ptr,
                    input: (format, width, height, full_range),
                    output,
                })
            }
        }

        fn convert(&mut self, frame: &ff::frame::Video, size: FrameSize) -> GrayFrame {
            // SAFETY: `frame` matches `self.input` (checked by the caller), so its
            // planes hold `height` rows of the strides it declares; `output` was
            // allocated by FFmpeg as GRAY8 at `size`.
            unsafe {
                let src = frame.as_ptr();
                let dst = self.output.as_mut_ptr();
                ffi::sws_scale(
                    self.ptr,
                    (*src).data.as_ptr() as *const *const u8,
                    (*src).linesize.as_ptr(),
                    0,
                    self.input.2,
                    (*dst).data.as_ptr(),
                    (*dst).linesize.as_ptr(),
                );
            }
            let (w, h) = (size.width as usize, size.height as usize);
            let stride = self.output.stride(0);
            let plane = self.output.data(0);
            let mut data = Vec::with_capacity(w * h);
            for row in plane.chunks(stride).take(h) {
                data.extend(row.iter().take(w).map(|&v| f32::from(v) / 255.0));
            }
            GrayFrame { size, data }
        }
    }

    impl Drop for GrayScaler {
        fn drop(&mut self) {
            // SAFETY: `ptr` came from sws_alloc_context and is freed exactly once.
            unsafe { ffi::sws_freeContext(self.ptr) }
        }
    }

    fn is_full_range(frame: &ff::frame::Video) -> bool {
        // The deprecated yuvj* formats are full range whatever the flag says;
        // swscale knows that by itself, the flag covers the rest (full-range H.264).
        frame.color_range() == ff::color::Range::JPEG
    }

    #[derive(PartialEq)]
    enum State {
        Reading,
        Draining,
        Done,
    }

    pub struct Reader {
        source: String,
        size: FrameSize,
        info: VideoInfo,
        input: Input,
        watchdog: Watchdog,
        decoder: ff::decoder::Video,
        stream_index: usize,
        time_base: f64,
        start_ts: Option<i64>,
        decoded: ff::frame::Video,
        scaler: Option<GrayScaler>,
        delivered: u64,
        state: State,
        read_error: Option<String>,
        audio: Option<AudioTrack>,
        skipped: u64,
        damaged: u64,
    }

    /// The audio stream decoded beside the video.
    struct AudioTrack {
        decoder: ff::decoder::Audio,
        stream_index: usize,
        time_base: f64,
        /// Seconds (stream clock) of the first decoded sample.
        first_s: Option<f64>,
        /// Samples per channel handed out so far.
        taken: u64,
        frame: ff::frame::Audio,
        sink: AudioSink,
    }

    /// The one audio decode loop: `decode_audio_track` runs it over a whole file, the
    /// reader beside its video.
    impl AudioTrack {
        fn open(source: &str, stream: &ff::Stream, options: &OpenOptions) -> Result<Self> {
            Ok(AudioTrack {
                decoder: open_decoder(source, stream, options)?
                    .audio()
                    .map_err(|e| err(source, format!("cannot open the audio decoder: {e}")))?,
                stream_index: stream.index(),
                time_base: f64::from(stream.time_base()),
                first_s: None,
                taken: 0,
                frame: ff::frame::Audio::empty(),
                sink: AudioSink::default(),
            })
        }

        /// Decodes one packet of this stream into the sink; a corrupt one is counted in
        /// `skipped` and passed over.
        fn send(
            &mut self,
            packet: &ff::Packet,
            skipped: &mut u64,
        ) -> std::result::Result<(), String> {
            match self.decoder.send_packet(packet) {
                Ok(()) => {}
                Err(ff::Error::InvalidData) => *skipped += 1,
                Err(e) => return Err(format!("audio decoder failed: {e}")),
            }
            self.drain(skipped)
        }

        /// The end of the stream: what the decoder still holds.
        fn end(&mut self, skipped: &mut u64) -> std::result::Result<(), String> {
            self.decoder
                .send_eof()
                .map_err(|e| format!("audio decoder failed at the end: {e}"))?;
            self.drain(skipped)
        }

        fn drain(&mut self, skipped: &mut u64) -> std::result::Result<(), String> {
            loop {
                match self.decoder.receive_frame(&mut self.frame) {
                    Ok(()) => {
                        if self.first_s.is_none() {
                            if let Some(ts) = self.frame.timestamp().or_else(|| self.frame.pts()) {
                                self.first_s = Some(ts as f64 * self.time_base);
                            }
                        }
                        self.sink.push(&self.frame)?;
                    }
                    // A damaged frame: the next may decode again.
                    Err(ff::Error::InvalidData) => *skipped += 1,
                    Err(ff::Error::Eof) => return Ok(()),
                    Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => return Ok(()),
                    Err(e) => return Err(format!("audio decoder failed: {e}")),
                }
            }
        }
    }

    impl Reader {
        pub fn open(source: &str, size: FrameSize, options: &OpenOptions) -> Result<Self> {
            if size.width == 0 || size.height == 0 {
                return Err(err(
                    source,
                    format!(
                        "cannot decode to an empty frame size {}x{}",
                        size.width, size.height
                    ),
                ));
            }
            let Opened { input, watchdog } = open_input(source, options)?;
            let stream = input
                .streams()
                .best(MediaType::Video)
                .ok_or_else(|| no_video(source, &input))?;
            let info = video_info(&input, &stream);
            let decoder = open_decoder(source, &stream, options)?
                .video()
                .map_err(|e| err(source, format!("cannot open the video decoder: {e}")))?;
            let stream_index = stream.index();
            let time_base = f64::from(stream.time_base());
            let start_ts = Some(stream.start_time()).filter(|&t| t != AV_NOPTS_VALUE);
            let audio = match input
                .streams()
                .best(MediaType::Audio)
                .filter(|_| options.audio)
            {
                None => None,
                Some(a) => Some(AudioTrack::open(source, &a, options)?),
            };
            Ok(Reader {
                source: source.to_string(),
                size,
                info,
                input,
                watchdog,
                decoder,
                stream_index,
                time_base,
                start_ts,
                decoded: ff::frame::Video::empty(),
                scaler: None,
                delivered: 0,
                state: State::Reading,
                read_error: None,
                audio,
                skipped: 0,
                damaged: 0,
            })
        }

        pub fn skipped_packets(&self) -> u64 {
            self.skipped
        }

        pub fn damaged_frames(&self) -> u64 {
            self.damaged
        }

        pub fn take_audio(&mut self) -> Option<AudioChunk> {
            let track = self.audio.as_mut()?;
            let (_, sample_rate, channels) = track.sink.converter.as_ref()?.1;
            if track.sink.samples.is_empty() {
                return None;
            }
            let samples = std::mem::take(&mut track.sink.samples);
            // Times on the video's clock: its first timestamp is 0.
            let origin = self.start_ts.map_or(0.0, |t| t as f64 * self.time_base);
            let start_s = track.first_s.unwrap_or(origin) - origin
                + track.taken as f64 / f64::from(sample_rate);
            track.taken += (samples.len() / usize::from(channels.max(1))) as u64;
            Some(AudioChunk {
                start_s,
                sample_rate,
                channels,
                samples,
            })
        }

        pub fn info(&self) -> &VideoInfo {
            &self.info
        }

        pub fn missing_frames(&self) -> Option<u64> {
            if self.state != State::Done {
                return None;
            }
            self.info
                .frames
                .map(|declared| declared.saturating_sub(self.delivered))
        }

        pub fn next_frame(&mut self) -> Result<Option<TimedFrame>> {
            let result = self.advance();
            if result.is_err() {
                self.state = State::Done;
            }
            result
        }

        fn advance(&mut self) -> Result<Option<TimedFrame>> {
            loop {
                if self.state == State::Done {
                    return Ok(None);
                }
                match self.decoder.receive_frame(&mut self.decoded) {
                    Ok(()) => return self.deliver().map(Some),
                    Err(ff::Error::Eof) => return self.finish(),
                    Err(ff::Error::Other { errno }) if errno == ff::error::EAGAIN => {}
                    // A damaged frame: FFmpeg has already concealed what it
                    // could; the next packet may decode again.
                    Err(ff::Error::InvalidData) => {
                        self.skipped += 1;
                        continue;
                    }
                    Err(e) => {
                        return Err(err(
                            &self.source,
                            format!("video decoder failed after {} frames: {e}", self.delivered),
                        ))
                    }
                }
                if self.state == State::Draining {
                    // EOF was sent and the decoder wants more: nothing left.
                    return self.finish();
                }
                self.feed()?;
            }
        }

        /// Reads packets until one of the video stream reaches the decoder, or the end.
        fn feed(&mut self) -> Result<()> {
            loop {
                let mut packet = ff::Packet::empty();
                self.watchdog.arm();
                match packet.read(&mut self.input) {
                    Ok(()) if packet.stream() == self.stream_index => {
                        return match self.decoder.send_packet(&packet) {
                            Ok(()) => Ok(()),
                            Err(ff::Error::InvalidData) => {
                                self.skipped += 1;
                                Ok(())
                            }
                            Err(e) => Err(err(
                                &self.source,
                                format!(
                                    "video decoder failed after {} frames: {e}",
                                    self.delivered
                                ),
                            )),
                        };
                    }
                    Ok(()) => {
                        if let Some(track) = self
                            .audio
                            .as_mut()
                            .filter(|a| a.stream_index == packet.stream())
                        {
                            track
                                .send(&packet, &mut self.skipped)
                                .map_err(|reason| err(&self.source, reason))?;
                        }
                    }
                    // The demuxer resyncs past a corrupt packet.
                    Err(ff::Error::InvalidData) => self.skipped += 1,
                    Err(e) => {
                        if let Some(track) = self.audio.as_mut() {
                            track
                                .end(&mut self.skipped)
                                .map_err(|reason| err(&self.source, reason))?;
                        }
                        if e != ff::Error::Eof {
                            // Frames the decoder already holds are still
                            // delivered; the failure is reported after them.
                            self.read_error = Some(self.watchdog.describe(e));
                        }
                        self.state = State::Draining;
                        return self.decoder.send_eof().map_err(|e| {
                            err(
                                &self.source,
                                format!("video decoder failed at the end: {e}"),
                            )
                        });
                    }
                }
            }
        }

        fn finish(&mut self) -> Result<Option<TimedFrame>> {
            self.state = State::Done;
            if let Some(reason) = self.read_error.take() {
                return Err(err(
                    &self.source,
                    format!("read failed after {} frames: {reason}", self.delivered),
                ));
            }
            if self.delivered == 0 {
                return Err(err(
                    &self.source,
                    "no video frame could be decoded: the file is truncated or corrupt",
                ));
            }
            Ok(None)
        }

        fn deliver(&mut self) -> Result<TimedFrame> {
            let frame = &self.decoded;
            let format: ffi::AVPixelFormat = frame.format().into();
            let key = (
                format,
                frame.width() as i32,
                frame.height() as i32,
                is_full_range(frame),
            );
            if self.scaler.as_ref().is_none_or(|s| s.input != key) {
                // A new context only when the stream changes format or size mid-way.
                self.scaler = Some(
                    GrayScaler::new(key.0, key.1, key.2, key.3, self.size).ok_or_else(|| {
                        err(
                            &self.source,
                            format!(
                                "cannot convert {:?} {}x{} frames to gray {}x{}",
                                frame.format(),
                                key.1,
                                key.2,
                                self.size.width,
                                self.size.height
                            ),
                        )
                    })?,
                );
            }
            let index = self.delivered;
            let pts_s = match frame.timestamp().or_else(|| frame.pts()) {
                Some(ts) => {
                    let start = *self.start_ts.get_or_insert(ts);
                    (ts - start) as f64 * self.time_base
                }
                None if self.info.fps > 0.0 => index as f64 / self.info.fps,
                None => {
                    return Err(err(
                        &self.source,
                        format!(
                            "frame {index} has no timestamp and the stream declares no frame rate"
                        ),
                    ));
                }
            };
            let Some(scaler) = self.scaler.as_mut() else {
                return Err(err(&self.source, "internal: no scaler"));
            };
            let gray = scaler.convert(&self.decoded, self.size);
            // SAFETY: reading plain fields of the decoded frame.
            let (flags, errors) = unsafe {
                (
                    (*self.decoded.as_ptr()).flags,
                    (*self.decoded.as_ptr()).decode_error_flags,
                )
            };
            if errors != 0 || flags & ffi::AV_FRAME_FLAG_CORRUPT != 0 {
                self.damaged += 1;
            }
            self.delivered += 1;
            Ok(TimedFrame {
                index,
                pts_s,
                frame: gray,
            })
        }
    }

    pub fn decode_audio_track(source: &str, options: &OpenOptions) -> Result<DecodedAudio> {
        let Opened {
            mut input,
            watchdog,
        } = open_input(source, options)?;
        let stream = input
            .streams()
            .best(MediaType::Audio)
            .ok_or_else(|| err(source, "has no audio stream"))?;
        let mut track = AudioTrack::open(source, &stream, options)?;
        // Corrupt packets are passed over, as the reader does; a file has no one to tell.
        let mut skipped = 0;
        loop {
            let mut packet = ff::Packet::empty();
            watchdog.arm();
            match packet.read(&mut input) {
                Ok(()) if packet.stream() == track.stream_index => {
                    track
                        .send(&packet, &mut skipped)
                        .map_err(|reason| err(source, reason))?;
                }
                Ok(()) | Err(ff::Error::InvalidData) => {}
                Err(ff::Error::Eof) => {
                    track
                        .end(&mut skipped)
                        .map_err(|reason| err(source, reason))?;
                    break;
                }
                Err(e) => {
                    return Err(err(
                        source,
                        format!("read failed: {}", watchdog.describe(e)),
                    ))
                }
            }
        }
        track.sink.finish().map_err(|reason| err(source, reason))
    }

    /// Collects decoded audio frames as interleaved f32 through swresample.
    #[derive(Default)]
    struct AudioSink {
        converter: Option<(
            ff::software::resampling::Context,
            (ff::format::Sample, u32, u16),
        )>,
        samples: Vec<f32>,
    }

    impl AudioSink {
        fn push(&mut self, frame: &ff::frame::Audio) -> std::result::Result<(), String> {
            // SAFETY: reading plain fields of a decoded frame.
            let channels =
                u16::try_from(unsafe { (*frame.as_ptr()).ch_layout.nb_channels }).unwrap_or(0);
            let key = (frame.format(), frame.rate(), channels);
            if channels == 0 || key.1 == 0 {
                return Err(format!(
                    "audio frame with {channels} channels at {} Hz",
                    key.1
                ));
            }
            if let Some((_, current)) = &self.converter {
                if *current != key {
                    // Both values come from the same stream's decoder; a change
                    // mid-stream would need resampling the caller did not ask for.
                    return Err(format!(
                        "the audio track changes from {} Hz x{} to {} Hz x{} mid-stream",
                        current.1, current.2, key.1, key.2
                    ));
                }
            } else {
                // Same layout in and out: swresample only converts the sample
                // format and interleaves; the layout's channel order is irrelevant.
                let layout = ff::ChannelLayout::default(i32::from(channels));
                let context = ff::software::resampling::Context::get(
                    key.0,
                    layout,
                    key.1,
                    ff::format::Sample::F32(ff::format::sample::Type::Packed),
                    layout,
                    key.1,
                )
                .map_err(|e| format!("cannot convert {:?} x{channels} audio to f32: {e}", key.0))?;
                self.converter = Some((context, key));
            }
            let in_count =
                i32::try_from(frame.samples()).map_err(|_| "audio frame too long".to_string())?;
            // SAFETY: extended_data points at the frame's plane pointers (one per
            // channel when planar), each holding `samples()` samples.
            let input = unsafe { (*frame.as_ptr()).extended_data as *mut *const u8 };
            self.convert(input, in_count, channels)
        }

        fn convert(
            &mut self,
            input: *mut *const u8,
            in_count: i32,
            channels: u16,
        ) -> std::result::Result<(), String> {
            let Some((context, _)) = self.converter.as_mut() else {
                return Ok(());
            };
            // SAFETY: swr_get_out_samples bounds what swr_convert writes; the
            // output buffer holds that many interleaved f32 frames.
            unsafe {
                let ctx = context.as_mut_ptr();
                let capacity = ffi::swr_get_out_samples(ctx, in_count);
                if capacity < 0 {
                    return Err(format!("swresample failed: {}", ff::Error::from(capacity)));
                }
                let start = self.samples.len();
                self.samples
                    .resize(start + capacity as usize * usize::from(channels), 0.0);
                let mut out_ptr = self.samples.as_mut_ptr().add(start).cast::<u8>();
                let written = ffi::swr_convert(ctx, &mut out_ptr, capacity, input, in_count);
                if written < 0 {
                    return Err(format!("swresample failed: {}", ff::Error::from(written)));
                }
                self.samples
                    .truncate(start + written as usize * usize::from(channels));
            }
            Ok(())
        }

        fn finish(mut self) -> std::result::Result<DecodedAudio, String> {
            let Some((_, sample_rate, channels)) = self.converter.as_ref().map(|(_, key)| *key)
            else {
                return Err(
                    "no audio could be decoded: the track is empty, truncated or corrupt"
                        .to_string(),
                );
            };
            self.convert(std::ptr::null_mut(), 0, channels)?;
            Ok(DecodedAudio {
                sample_rate,
                channels,
                samples: self.samples,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(not(feature = "ffmpeg"))]
    use crate::MediaError;

    #[test]
    fn a_live_streams_first_frame_is_redated_on_the_latest_frames_clock() {
        // As FFmpeg dates an RTSP push at 25 fps: the first picture 0 (before the
        // stream's first RTCP report), the rest 86.4 ms on and 40 ms apart.
        let times = [0.0, 0.0864, 0.1264, 0.1664, 0.2064];
        let (shift, fixed) = settle_clock(&times, 0.04);
        assert!((shift - 0.0464).abs() < 1e-12, "{shift}");
        for (k, t) in fixed.iter().enumerate() {
            assert!((t - 0.04 * k as f64).abs() < 1e-12, "frame {k}: {t}");
        }
        // A regular clock, with jitter under half a frame, is left alone.
        let regular = [0.1, 0.14, 0.185, 0.22, 0.26];
        assert_eq!(settle_clock(&regular, 0.04), (0.0, regular.to_vec()));
        // Only the frame off the latest frame's clock moves; no frame rate, no change;
        // one frame or none, nothing to settle.
        let (shift, fixed) = settle_clock(&[0.0, 0.5, 0.54], 0.04);
        assert!((shift - 0.46).abs() < 1e-12);
        assert!(
            fixed
                .iter()
                .zip([0.0, 0.04, 0.08])
                .all(|(a, b)| (a - b).abs() < 1e-12),
            "{fixed:?}"
        );
        assert_eq!(settle_clock(&[0.0, 0.5], 0.0), (0.0, vec![0.0, 0.5]));
        assert_eq!(settle_clock(&[3.0], 0.04), (0.0, vec![3.0]));
        assert_eq!(settle_clock(&[], 0.04), (0.0, vec![]));
    }

    #[test]
    fn video_paths_are_recognised_by_extension_in_any_case() {
        for name in [
            "a.mp4", "b.AVI", "c.mkv", "d.MoV", "e.webm", "f.m4v", "g.mpg", "h.mpeg", "i.ts",
            "j.flv", "k.wmv",
        ] {
            assert!(is_video_path(Path::new(name)), "{name}");
        }
        for name in [
            "a.wav",
            "b.m4a",
            "c.png",
            "mp4",
            "dir.mp4/frame.tif",
            "noext",
        ] {
            assert!(!is_video_path(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn stream_urls_are_recognised_by_scheme() {
        for url in [
            "rtsp://cam/1",
            "RTSPS://cam",
            "http://h/x.ts",
            "https://h/x.m3u8",
            "udp://0.0.0.0:5000",
            "rtp://h:1",
            "srt://h:9000",
            "tcp://h:1",
        ] {
            assert!(is_stream_url(url), "{url}");
        }
        for s in [
            "file:///x.mp4",
            "/data/rtsp/clip.mp4",
            "rtsp:/cam",
            "ftp://h/x",
            "",
            "ud",
        ] {
            assert!(!is_stream_url(s), "{s}");
        }
    }

    #[cfg(not(feature = "ffmpeg"))]
    #[test]
    fn without_ffmpeg_every_source_asks_for_the_feature() {
        let size = crate::FrameSize::PAPER;
        for source in ["clip.mp4", "rtsp://cam/1"] {
            let e = VideoReader::open(source, size, &OpenOptions::default()).unwrap_err();
            assert!(matches!(e, MediaError::NeedsFfmpeg { .. }), "{e}");
            assert!(
                e.to_string().starts_with(source) && e.to_string().contains("--features ffmpeg"),
                "{e}"
            );
            assert!(matches!(
                probe_video(source),
                Err(MediaError::NeedsFfmpeg { .. })
            ));
            assert!(matches!(
                decode_audio_track(source),
                Err(MediaError::NeedsFfmpeg { .. })
            ));
        }
    }
}
