//! MP4/M4A audio: the fixture and its edited boxes (timescales, a version-1 `mdhd`, a large or open-ended `moov`).

use super::*;

/// 0.3 s of a 440 Hz sine, AAC in MP4 at 22050 Hz mono (2475 bytes; the ffmpeg
/// command that made it is in tests/fixtures/README.md). Its `moov` box is the last
/// in the file, after `mdat`.
const M4A_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tone-22050-mono.m4a"
);

fn m4a_fixture() -> Vec<u8> {
    std::fs::read(M4A_FIXTURE).expect("read the m4a fixture")
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn set_be32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// Where the first `kind` box starts (its size field, 4 bytes before its type),
/// found by searching the bytes for the type.
fn box_at(b: &[u8], kind: &[u8; 4]) -> usize {
    let at = b
        .windows(4)
        .position(|w| w == kind)
        .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(kind)))
        - 4;
    assert!(be32(b, at) >= 8, "not a box header");
    at
}

/// Sets the time scale of the first `mdhd` or `mvhd` box, a version 0 (32-bit
/// times before it) or version 1 (64-bit times) one.
fn set_timescale(b: &mut [u8], kind: &[u8; 4], scale: u32) {
    let body = box_at(b, kind) + 8;
    let at = match b[body] {
        0 => body + 12,
        1 => body + 20,
        v => panic!("version {v}"),
    };
    assert!(be32(b, at) > 0);
    set_be32(b, at, scale);
}

/// `b` with its version 0 `mdhd` rewritten as version 1 (64-bit times and duration,
/// 12 bytes longer), the sizes of the `moov`, `trak` and `mdia` boxes around it grown
/// to match. No sample offset moves, since `moov` comes after `mdat`.
fn with_mdhd_v1(b: &[u8]) -> Vec<u8> {
    assert!(box_at(b, b"moov") > box_at(b, b"mdat"));
    let at = box_at(b, b"mdhd");
    assert_eq!(be32(b, at), 32);
    let body = &b[at + 8..at + 32];
    assert_eq!(body[0], 0, "a version 0 mdhd");
    let mut v1 = Vec::new();
    v1.extend_from_slice(&44u32.to_be_bytes());
    v1.extend_from_slice(b"mdhd");
    v1.push(1);
    v1.extend_from_slice(&body[1..4]);
    v1.extend_from_slice(&u64::from(be32(body, 4)).to_be_bytes());
    v1.extend_from_slice(&u64::from(be32(body, 8)).to_be_bytes());
    v1.extend_from_slice(&body[12..16]);
    v1.extend_from_slice(&u64::from(be32(body, 16)).to_be_bytes());
    v1.extend_from_slice(&body[20..24]);
    let mut out = [&b[..at], &v1, &b[at + 32..]].concat();
    for kind in [b"moov", b"trak", b"mdia"] {
        let p = box_at(&out, kind);
        let size = be32(&out, p);
        set_be32(&mut out, p, size + 12);
    }
    out
}

/// `b` with its `moov` box (the last in the file) given a 64-bit `largesize`
/// header: size field 1, then the size in 8 bytes.
fn with_large_moov(b: &[u8]) -> Vec<u8> {
    let at = box_at(b, b"moov");
    assert!(at > box_at(b, b"mdat"));
    let size = u64::from(be32(b, at));
    assert_eq!(at as u64 + size, b.len() as u64, "moov is the last box");
    let mut header = 1u32.to_be_bytes().to_vec();
    header.extend_from_slice(b"moov");
    header.extend_from_slice(&(size + 8).to_be_bytes());
    [&b[..at], &header, &b[at + 8..]].concat()
}

/// `b` with the size of its `moov` box (the last in the file) 0: "to the end of the file".
fn with_open_ended_moov(b: &[u8]) -> Vec<u8> {
    let mut out = b.to_vec();
    let at = box_at(&out, b"moov");
    assert_eq!(
        at + be32(&out, at) as usize,
        out.len(),
        "moov is the last box"
    );
    set_be32(&mut out, at, 0);
    out
}

#[test]
fn m4a_fixture_decodes() {
    // The workspace builds symphonia with its `isomp4` and `aac` features.
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = m4a_fixture();
    let path = write(dir.path(), "tone.m4a", &fixture);
    let info = probe_audio(&path).expect("probe");
    assert_eq!((info.sample_rate, info.channels), (22050, 1));
    assert_eq!(info.codec, "aac");
    // 0.3 s, give or take the encoder's priming and padding frames (1024 samples each).
    assert!(
        (0.25..0.45).contains(&info.duration_s),
        "{}",
        info.duration_s
    );
    let a = decode_audio(&path).expect("decode");
    assert_eq!((a.sample_rate, a.channels), (22050, 1));
    assert!((0.25..0.45).contains(&a.duration_s()), "{}", a.duration_s());
    assert!(a.samples.iter().all(|s| s.is_finite()));
    // lavfi's sine has amplitude 1/8: an RMS of 0.088 over the 0.3 s of tone, a
    // little less over the decoded length with its silent priming and padding.
    let rms = (a.samples.iter().map(|s| s * s).sum::<f32>() / a.samples.len() as f32).sqrt();
    assert!((0.06..0.1).contains(&rms), "rms {rms}");
    let loaded = load_audio(&path, 16000).expect("load");
    assert_eq!(loaded.sample_rate, 16000);
    assert!((0.25..0.45).contains(&(loaded.samples.len() as f64 / 16000.0)));
    let mut stream = AudioStream::open(&path).expect("stream");
    let mut streamed = 0;
    while let Some(chunk) = stream.next_chunk().expect("chunk") {
        streamed += chunk.len();
    }
    assert_eq!(streamed, a.samples.len());
    // The layouts the time scale check walks are ones symphonia reads: a version 1
    // mdhd and a 64-bit moov size decode to the same samples.
    for (name, bytes) in [
        ("v1.m4a", with_mdhd_v1(&fixture)),
        ("large.m4a", with_large_moov(&fixture)),
    ] {
        let path = write(dir.path(), name, &bytes);
        assert_eq!(
            decode_audio(&path).expect(name).samples,
            a.samples,
            "{name}"
        );
    }
}

#[test]
fn mp4_time_scale_0_is_an_error_not_a_panic() {
    // symphonia panics ("TimeBase cannot have 0 numerator or denominator") on a track
    // whose mdhd box gives a time scale of 0: it must be refused before symphonia reads it.
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = m4a_fixture();
    let zero = |b: &[u8]| {
        let mut b = b.to_vec();
        set_timescale(&mut b, b"mdhd", 0);
        b
    };
    let needle = "the mdhd box of track 1 gives a time scale of 0";
    for (name, bytes) in [
        ("mdhd0.m4a", zero(&fixture)),
        ("mdhd0-v1.m4a", zero(&with_mdhd_v1(&fixture))),
        ("mdhd0-large.m4a", zero(&with_large_moov(&fixture))),
        ("mdhd0-open.m4a", zero(&with_open_ended_moov(&fixture))),
        (
            "mdhd0-v1-large.mp4",
            zero(&with_large_moov(&with_mdhd_v1(&fixture))),
        ),
    ] {
        let path = write(dir.path(), name, &bytes);
        assert_every_path_refuses(&path, needle);
    }
}

#[test]
fn mp4_movie_time_scale_0_is_read() {
    // symphonia does not use the mvhd (movie header) time scale: a 0 there does not
    // stop it, and the guard leaves it alone. Were symphonia to start panicking on
    // it, this test would say so.
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = m4a_fixture();
    let want = decode_audio(&write(dir.path(), "tone.m4a", &fixture))
        .expect("decode")
        .samples;
    for (name, mut bytes) in [
        ("mvhd0.m4a", fixture.clone()),
        ("mvhd0-v1.m4a", with_mdhd_v1(&fixture)),
    ] {
        set_timescale(&mut bytes, b"mvhd", 0);
        let path = write(dir.path(), name, &bytes);
        assert_eq!(probe_audio(&path).expect(name).sample_rate, 22050);
        assert_eq!(decode_audio(&path).expect(name).samples, want, "{name}");
    }
}
