//! `avad inspect` end to end: what a user sees, and how bad input fails.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;
use common::avad;

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    p.is_dir().then_some(p)
}

/// A failure is one line on stderr naming `needle`, exit code 1, nothing on stdout.
fn assert_fails_naming(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(err.starts_with("error: ") && err.contains(needle), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn inspect_reports_ped2_as_published() {
    let Some(shared) = shared() else {
        println!("SKIPPED: inspect_reports_ped2_as_published: ../shared not found");
        return;
    };
    let root = shared.join("datasets/ucsd-ped2");
    let out = avad(&["inspect", root.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "UCSD Ped2 dataset",
        "train: 16 clips, 2550 frames",
        "test: 12 clips, 2010 frames",
        "1648 anomalous frames",
        "audio files: 13",
        "P2Te10.wav: 48000 Hz, 2 channel(s), 16-bit, pcm_s16le, 7.000 s",
        "1.00 s longer than the video",
        "P2Te5.wav: 44100 Hz",
        "unpaired audio P2Te4Good.wav",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    let out = avad(&["inspect", "--json", root.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["train"]["frames"], 2550);
    assert_eq!(v["test"]["anomalous_frames"], 1648);
    assert_eq!(v["clips"].as_array().unwrap().len(), 28);
}

#[test]
fn inspect_a_generic_clip_folder() {
    let d = tempfile::tempdir().unwrap();
    let clip = d.path().join("test/cam1");
    std::fs::create_dir_all(&clip).unwrap();
    for i in 1..=12 {
        image::GrayImage::from_pixel(32, 24, image::Luma([i as u8]))
            .save(clip.join(format!("{i}.png")))
            .unwrap();
    }
    std::fs::write(clip.join("labels.csv"), "start,end\n3,5\n").unwrap();
    std::fs::write(clip.join("clip.toml"), "fps = 12.5\n").unwrap();
    let out = avad(&["inspect", "--clips", d.path().to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("generic clip folder"), "{text}");
    assert!(text.contains("test: 1 clip, 12 frames"), "{text}");
    assert!(text.contains("32x24, 12.500 fps"), "{text}");
    assert!(text.contains("3 anomalous frames"), "{text}");
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn bad_input_fails_with_one_line_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let p = |s: &str| d.path().join(s);
    // An empty folder.
    std::fs::create_dir(p("empty")).unwrap();
    assert_fails_naming(&avad(&["inspect", p("empty").to_str().unwrap()]), "empty");
    // A missing path.
    assert_fails_naming(
        &avad(&["inspect", p("missing").to_str().unwrap()]),
        "missing",
    );
    // Something that is neither a folder nor a file avad reads.
    assert_fails_naming(
        &avad(&["inspect", "/dev/null"]),
        "/dev/null: not a dataset or model folder, an audio file",
    );
    write(&p("notes.txt"), b"hello");
    assert_fails_naming(
        &avad(&["inspect", p("notes.txt").to_str().unwrap()]),
        "notes.txt: not a dataset or model folder",
    );
    // A WAV that is not audio, and an empty WAV.
    write(&p("text.wav"), b"hello, I am not a WAV file at all");
    assert_fails_naming(
        &avad(&["inspect", p("text.wav").to_str().unwrap()]),
        "text.wav",
    );
    write(&p("empty.wav"), b"");
    assert_fails_naming(
        &avad(&["inspect", p("empty.wav").to_str().unwrap()]),
        "empty.wav",
    );
    // Frames of mixed sizes in a clip.
    let clip = p("mixed/test/c1");
    std::fs::create_dir_all(&clip).unwrap();
    image::GrayImage::new(8, 8)
        .save(clip.join("1.png"))
        .unwrap();
    image::GrayImage::new(8, 9)
        .save(clip.join("2.png"))
        .unwrap();
    let out = avad(&["inspect", p("mixed").to_str().unwrap()]);
    // inspect reads headers only; the size check is part of opening a clip.
    if out.status.success() {
        panic!(
            "mixed sizes accepted: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    assert_fails_naming(&out, "2.png");
    // A JPEG frame cut short (a recorder that died mid-write): the decoder alone would
    // fill in its missing rows.
    let clip = p("cut/test/c1");
    std::fs::create_dir_all(&clip).unwrap();
    let frame = image::GrayImage::from_fn(64, 48, |x, y| image::Luma([(x * 3 + y) as u8]));
    frame.save(clip.join("1.jpg")).unwrap();
    frame.save(clip.join("2.jpg")).unwrap();
    let whole = std::fs::read(clip.join("2.jpg")).unwrap();
    std::fs::write(clip.join("2.jpg"), &whole[..whole.len() / 2]).unwrap();
    assert_fails_naming(
        &avad(&["inspect", p("cut").to_str().unwrap()]),
        "2.jpg: truncated JPEG",
    );
    // A malformed label file.
    let clip = p("badlabels/test/c1");
    std::fs::create_dir_all(&clip).unwrap();
    image::GrayImage::new(8, 8)
        .save(clip.join("1.png"))
        .unwrap();
    write(&clip.join("labels.csv"), b"frame,label\n1,maybe\n");
    assert_fails_naming(
        &avad(&["inspect", p("badlabels").to_str().unwrap()]),
        "labels.csv",
    );
    // A clip's extras of the wrong kind are refused, not passed over.
    for (name, is_dir, needle) in [
        ("labels.csv", true, "labels.csv: is a folder, not a file"),
        ("clip.toml", true, "clip.toml: is a folder, not a file"),
        (
            "audio.wav",
            true,
            "audio.wav: is a folder, not an audio file",
        ),
        ("masks", false, "masks: is a file, not a folder of masks"),
    ] {
        let root = p(&format!("kinds-{name}"));
        let clip = root.join("test/c1");
        std::fs::create_dir_all(&clip).unwrap();
        image::GrayImage::new(8, 8)
            .save(clip.join("1.png"))
            .unwrap();
        if is_dir {
            std::fs::create_dir(clip.join(name)).unwrap();
        } else {
            write(&clip.join(name), b"x");
        }
        assert_fails_naming(&avad(&["inspect", root.to_str().unwrap()]), needle);
    }
    // A clip whose name is not text.
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let root = p("bytes");
        let clip = root
            .join("test")
            .join(std::ffi::OsStr::from_bytes(b"c\xff"));
        std::fs::create_dir_all(&clip).unwrap();
        image::GrayImage::new(8, 8)
            .save(clip.join("1.png"))
            .unwrap();
        assert_fails_naming(
            &avad(&["inspect", root.to_str().unwrap()]),
            "a clip's name must be UTF-8 text",
        );
    }
    // Frame rates out of range: 1e-300 once asked for an allocation past the address space.
    for (k, fps) in ["1e-300", "0.5", "0", "-25", "1001", "nan", "inf"]
        .iter()
        .enumerate()
    {
        let root = p(&format!("fps-{k}"));
        let clip = root.join("test/c1");
        std::fs::create_dir_all(&clip).unwrap();
        image::GrayImage::new(8, 8)
            .save(clip.join("1.png"))
            .unwrap();
        write(&clip.join("clip.toml"), format!("fps = {fps}\n").as_bytes());
        assert_fails_naming(
            &avad(&["inspect", root.to_str().unwrap()]),
            "clip.toml: fps must be from 1 to 1000",
        );
    }
    // A malformed UCSD ground truth in a Ped2-shaped folder.
    let ucsd = p("ped2/UCSDped2");
    std::fs::create_dir_all(ucsd.join("Train/Train001")).unwrap();
    image::GrayImage::new(8, 8)
        .save(ucsd.join("Train/Train001/001.png"))
        .unwrap();
    write(
        &ucsd.join("Test/UCSDped2.m"),
        b"TestVideoFile{end+1}.gt_frame = [61:oops];\n",
    );
    assert_fails_naming(
        &avad(&["inspect", p("ped2").to_str().unwrap()]),
        "UCSDped2.m",
    );
}
