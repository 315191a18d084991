//! Frame folders: reading real frames, and one-line errors for bad ones.

use std::path::{Path, PathBuf};

use avad_media::frames::{FrameFolder, GrayResizer};
use avad_media::FrameSize;

fn write_png(path: &Path, w: u32, h: u32, value: u8) {
    image::GrayImage::from_pixel(w, h, image::Luma([value]))
        .save(path)
        .unwrap();
}

fn folder_error(dir: &Path) -> String {
    match FrameFolder::open(dir).and_then(|f| {
        f.check_sizes()?;
        f.read_all(FrameSize::new(8, 8))
    }) {
        Ok(_) => panic!("{} should not read", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn reads_a_folder_in_natural_order_scaled_to_unit_range() {
    let d = tempfile::tempdir().unwrap();
    for (name, v) in [
        ("frame10.png", 10u8),
        ("frame9.png", 9),
        ("frame100.png", 100),
        ("notes.txt", 0),
    ] {
        if name.ends_with(".png") {
            write_png(&d.path().join(name), 16, 12, v);
        } else {
            std::fs::write(d.path().join(name), "ignored").unwrap();
        }
    }
    let f = FrameFolder::open(d.path()).unwrap();
    assert_eq!(f.len(), 3);
    f.check_sizes().unwrap();
    let frames = f.read_all(FrameSize::new(4, 3)).unwrap();
    let firsts: Vec<f32> = frames.iter().map(|g| g.data[0]).collect();
    assert_eq!(firsts, [9.0 / 255.0, 10.0 / 255.0, 100.0 / 255.0]);
    assert!(frames
        .iter()
        .all(|g| g.data.len() == 12 && g.size == FrameSize::new(4, 3)));
}

#[test]
fn empty_folder_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let msg = folder_error(d.path());
    assert!(
        msg.contains(&d.path().display().to_string()) && msg.contains("no frames"),
        "{msg}"
    );
}

#[test]
fn non_image_frame_is_refused_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    write_png(&d.path().join("001.png"), 8, 8, 1);
    std::fs::write(d.path().join("002.png"), "this is not a picture").unwrap();
    let msg = folder_error(d.path());
    assert!(msg.contains("002.png") && msg.contains("image"), "{msg}");
}

#[test]
fn truncated_frame_is_refused_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let full = d.path().join("full.png");
    image::GrayImage::from_fn(64, 64, |x, y| image::Luma([(x * 3 + y * 7) as u8]))
        .save(&full)
        .unwrap();
    let bytes = std::fs::read(&full).unwrap();
    std::fs::remove_file(&full).unwrap();
    write_png(&d.path().join("001.png"), 64, 64, 1);
    std::fs::write(d.path().join("002.png"), &bytes[..bytes.len() / 2]).unwrap();
    let msg = folder_error(d.path());
    assert!(msg.contains("002.png"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[test]
fn mixed_frame_sizes_are_refused_naming_the_odd_frame() {
    let d = tempfile::tempdir().unwrap();
    write_png(&d.path().join("1.png"), 8, 8, 1);
    write_png(&d.path().join("2.png"), 8, 8, 1);
    write_png(&d.path().join("3.png"), 9, 8, 1);
    let msg = folder_error(d.path());
    assert!(
        msg.contains("3.png") && msg.contains("9x8") && msg.contains("8x8"),
        "{msg}"
    );
    // Reading the odd frame alone, without the size check, is refused too.
    let f = FrameFolder::open(d.path()).unwrap();
    let err = f
        .read(2, FrameSize::new(4, 4), &mut GrayResizer::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("3.png"), "{err}");
}

#[test]
fn ped2_frame_decodes_to_the_peer_values() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/ucsd-ped2/UCSDped2");
    if !root.is_dir() {
        println!("SKIPPED: ped2_frame_decodes_to_the_peer_values: ../shared not found");
        return;
    }
    let f = FrameFolder::open(&root.join("Test/Test001")).unwrap();
    assert_eq!(f.len(), 180);
    let frame = f
        .read(0, FrameSize::PAPER, &mut GrayResizer::default())
        .unwrap();
    assert_eq!(frame.data.len(), 240 * 240);
    assert!(frame.data.iter().all(|v| (0.0..=1.0).contains(v)));
    // Golden statistics from the PyTorch peer's loader (Pillow, see shared/bench):
    // np.asarray(Image.open(".../Test001/001.jpg").convert("L").resize((240, 240), Image.BILINEAR)).
    let sum: u64 = frame.data.iter().map(|&v| (v * 255.0).round() as u64).sum();
    // JPEG decoders may differ by a level here and there (IDCT rounding), so allow
    // half a level on average and two levels on single pixels.
    let pillow_sum: u64 = 6_525_319;
    assert!(
        sum.abs_diff(pillow_sum) <= 240 * 240 / 2,
        "sum {sum} vs Pillow {pillow_sum}"
    );
    for ((row, col), pillow) in [((100, 100), 57.0), ((0, 0), 48.0), ((239, 239), 69.0)] {
        let ours = frame.data[row * 240 + col] * 255.0;
        assert!(
            (ours - pillow).abs() <= 2.0,
            "pixel ({row},{col}): {ours} vs Pillow {pillow}"
        );
    }
}
