//! Settling the clock of a live stream's first frames.

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
