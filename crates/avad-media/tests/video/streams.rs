//! Live streams: an unreachable URL, HTTP read to its end or stalled, UDP MPEG-TS.

use super::*;

fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn unreachable_url_is_an_error_naming_it() {
    let url = format!("http://127.0.0.1:{}/live.ts", closed_port());
    let options = OpenOptions {
        timeout: Duration::from_secs(3),
        ..OpenOptions::default()
    };
    let e = VideoReader::open(&url, SIZE, &options).unwrap_err();
    let text = error_text(&e);
    assert!(
        text.contains(&url) && text.contains("cannot open stream"),
        "{text}"
    );
    assert!(probe_video(&url).is_err());
}

/// A one-connection HTTP server on loopback that sends `body` in small paced
/// chunks (like a live source), sending only `stall_after` bytes and then
/// holding the connection open silently until `release` fires, if given.
fn serve_http(
    body: Vec<u8>,
    stall_after: Option<usize>,
) -> (String, mpsc::Sender<()>, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/live.ts", listener.local_addr().unwrap());
    let (release, released) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else {
            return;
        };
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        let send = |socket: &mut TcpStream, bytes: &[u8]| socket.write_all(bytes).is_ok();
        // With a length FFmpeg ends cleanly at the last byte; without one
        // (FFmpeg 5.1) the close counts as premature.
        let header = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        if !send(&mut socket, header.as_bytes()) {
            return;
        }
        let end = stall_after.unwrap_or(body.len()).min(body.len());
        for chunk in body[..end].chunks(16 * 1024) {
            if !send(&mut socket, chunk) {
                return;
            }
            thread::sleep(Duration::from_millis(5));
        }
        if stall_after.is_some() {
            let _ = released.recv_timeout(Duration::from_secs(30));
        }
        // Half-close and wait for the client to hang up, so that the kernel
        // sends a clean FIN rather than a reset that would drop unread data.
        let _ = socket.shutdown(std::net::Shutdown::Write);
        let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
        while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
    });
    (url, release, server)
}

fn mpegts_fixture(dir: &Path, video: &str) -> PathBuf {
    // Short GOPs without B-frames: a live viewer that joins late finds a
    // key frame soon.
    fixture(
        dir,
        "live.ts",
        video,
        1,
        &[
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "5", "-bf", "0", "-c:a", "aac", "-f",
            "mpegts",
        ],
    )
}

#[test]
fn http_live_stream_is_read_to_its_end() {
    if !ffmpeg_available("http_live_stream_is_read_to_its_end") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ts = mpegts_fixture(dir.path(), "testsrc");
    let (url, _release, server) = serve_http(std::fs::read(&ts).unwrap(), None);
    let options = OpenOptions {
        timeout: Duration::from_secs(5),
        ..OpenOptions::default()
    };
    let mut reader = VideoReader::open(&url, SIZE, &options).unwrap();
    assert_eq!((reader.info().width, reader.info().height), (320, 240));
    assert!((reader.info().fps - FPS).abs() < 1e-9);
    let frames: Vec<TimedFrame> = reader.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(frames.len() as u64, FRAMES);
    assert_timestamps(&frames);
    // Same pictures as reading the file itself.
    let (from_file, _) = read_all(source(&ts), SIZE);
    assert!(frames
        .iter()
        .zip(&from_file)
        .all(|(a, b)| a.frame == b.frame));
    server.join().unwrap();
}

#[test]
fn stalled_http_stream_times_out_instead_of_hanging() {
    if !ffmpeg_available("stalled_http_stream_times_out_instead_of_hanging") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ts = mpegts_fixture(dir.path(), "testsrc");
    let body = std::fs::read(&ts).unwrap();
    let half = body.len() / 2;
    let (url, release, server) = serve_http(body, Some(half));
    let options = OpenOptions {
        timeout: Duration::from_secs(1),
        ..OpenOptions::default()
    };
    let mut reader = VideoReader::open(&url, SIZE, &options).unwrap();
    let mut delivered = 0u64;
    let error = loop {
        match reader.next_frame() {
            Ok(Some(_)) => delivered += 1,
            Ok(None) => panic!("a stalled stream ended cleanly after {delivered} frames"),
            Err(e) => break error_text(&e),
        }
    };
    assert!(
        delivered > 0 && delivered < FRAMES,
        "{delivered} frames before the stall"
    );
    assert!(error.contains(&url) && error.contains("stalled"), "{error}");
    // The reader stays finished after an error.
    assert!(reader.next_frame().unwrap().is_none());
    let _ = release.send(());
    server.join().unwrap();
}

/// An MPEG-TS stream over UDP from the ffmpeg CLI at real-time pace: frames of
/// the mid-gray picture arrive until the sender stops, then the read times out.
#[test]
fn udp_mpegts_stream_delivers_frames_then_times_out() {
    if !ffmpeg_available("udp_mpegts_stream_delivers_frames_then_times_out") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ts = mpegts_fixture(dir.path(), "color=c=gray");
    let port = {
        let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let url = format!("udp://127.0.0.1:{port}");
    let reader_url = url.clone();
    // The reader binds the port while it opens; the sender starts after.
    let reading = thread::spawn(move || {
        let options = OpenOptions {
            timeout: Duration::from_secs(3),
            ..OpenOptions::default()
        };
        let mut reader = VideoReader::open(&reader_url, SIZE, &options)?;
        let mut frames = Vec::new();
        loop {
            match reader.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => return Ok((frames, None)),
                Err(e) => return Ok((frames, Some(e.to_string()))),
            }
        }
    });
    thread::sleep(Duration::from_millis(500));
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-re", "-i"])
        .arg(&ts)
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(format!("{url}?pkt_size=1316"))
        .status()
        .expect("run ffmpeg sender");
    assert!(status.success());
    let result: Result<_, MediaError> = reading.join().unwrap();
    let (frames, end) = result.expect("open the udp stream");
    assert!(!frames.is_empty(), "no frame arrived over udp");
    assert!(
        frames.windows(2).all(|w| w[1].pts_s > w[0].pts_s),
        "pts not increasing"
    );
    for f in &frames {
        assert_eq!(f.frame.size, SIZE);
        let mean = f.frame.data.iter().sum::<f32>() / f.frame.data.len() as f32;
        assert!(
            (mean - 128.0 / 255.0).abs() < 2.0 / 255.0,
            "frame {}: mean {mean}",
            f.index
        );
    }
    let end = end.expect("a udp stream has no end marker: the read times out");
    assert!(end.contains(&url) && end.contains("stalled"), "{end}");
}
