//! Decoding throughput of UCSD Ped2 frames to the model's 240x240 gray, one
//! thread, beside the PyTorch peer's loader (Pillow: `convert("L").resize(BILINEAR)`).
//!
//!     cargo bench -p avad-media --bench ped2_frames
//!
//! Runs `pillow_frames.py` in the same run when python3 with Pillow and numpy
//! is available, and prints avad/Pillow as a ratio.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use avad_media::frames::{FrameFolder, GrayResizer};
use avad_media::FrameSize;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/datasets/ucsd-ped2/UCSDped2/Test");
    if !root.is_dir() {
        println!("SKIPPED: ped2_frames: ../shared not found");
        return;
    }
    let folders: Vec<FrameFolder> = (1..=12)
        .map(|i| FrameFolder::open(&root.join(format!("Test{i:03}"))).expect("Ped2 test clip"))
        .collect();
    let mut resizer = GrayResizer::default();
    let mut best = f64::INFINITY;
    let mut frames = 0;
    for round in 0..3 {
        let t = Instant::now();
        let mut checksum = 0.0f64;
        frames = 0;
        for f in &folders {
            for i in 0..f.len() {
                let g = f
                    .read(i, FrameSize::PAPER, &mut resizer)
                    .expect("Ped2 frame");
                checksum += f64::from(g.data[240 * 120 + 120]);
                frames += 1;
            }
        }
        let s = t.elapsed().as_secs_f64();
        best = best.min(s);
        println!("avad   round {round}: {frames} frames in {s:.3} s ({:.0} frames/s) [checksum {checksum:.3}]", frames as f64 / s);
    }
    let ours = frames as f64 / best;
    println!("avad:   {ours:.0} frames/s (best of 3, 1 thread)");

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/pillow_frames.py");
    match Command::new("python3").arg(&script).arg(&root).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            print!("{text}");
            if let Some(peer) = text
                .lines()
                .find_map(|l| l.strip_prefix("pillow_fps "))
                .and_then(|v| v.trim().parse::<f64>().ok())
            {
                println!("ratio avad/Pillow: {:.2}x", ours / peer);
            }
        }
        _ => println!(
            "Pillow peer not run (needs python3 with pillow and numpy: pip install pillow numpy)"
        ),
    }
}
