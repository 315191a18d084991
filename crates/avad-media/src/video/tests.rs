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
        "a.mp4", "b.AVI", "c.mkv", "d.MoV", "e.webm", "f.m4v", "g.mpg", "h.mpeg", "i.ts", "j.flv",
        "k.wmv",
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
