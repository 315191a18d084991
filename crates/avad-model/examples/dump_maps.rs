//! Writes a visual model's per-frame motion and patch maps (the squared residual change and
//! the squared residual, pooled at the patch score's block, as `avad score` computes them)
//! for the model's held-out normal clips and a dataset's test clips, so that other frame
//! scores can be tried on them outside the binary (`scripts/score_variants.py`).
//!
//!     cargo run --release -p avad-model --example dump_maps -- MODEL_DIR DATASET OUT
//!
//! OUT gets `<role>-<clip>.motion.f32` and `<role>-<clip>.patch.f32` (role `normal` or
//! `test`: a training and a test clip may share a name; little-endian f32, frames x grid x
//! grid, row-major) and `index.json` (per clip: name, role, frames, grid, labels).

use std::error::Error;
use std::path::Path;

use avad_data::dataset::Split;
use avad_media::frames::FrameSize;
use avad_model::model_dir::VisualModel;
use avad_model::score::{visual_errors, PatchScorer, ScoreOptions};
use avad_model::sequences::FrameClip;
use burn::tensor::Device;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    if let Err(e) = run() {
        eprintln!("dump_maps: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn Error>> {
    avad_model::device::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model_dir, dataset, out] = args.as_slice() else {
        return Err("usage: dump_maps MODEL_DIR DATASET OUT".into());
    };
    let out = Path::new(out);
    std::fs::create_dir_all(out)?;
    let device = Device::flex();
    let model = VisualModel::load(Path::new(model_dir), &device)?;
    let preset = &model.card.preset;
    let side = preset.size;
    let block = PatchScorer::block_for(side);
    let options = ScoreOptions {
        steps: preset.steps,
        hop: preset.score_hop,
        batch: 4,
        map_block: None,
        patch_block: Some(block),
        causal: false,
    };
    let data = avad_data::open_dataset(Path::new(dataset))?;
    let held_out = &model.card.training.validation_clips;
    let mut index = Vec::new();
    for clip in &data.clips {
        let role = match clip.split {
            Split::Train if held_out.contains(&clip.name) => "normal",
            Split::Test => "test",
            _ => continue,
        };
        let frames = clip
            .video
            .read_frames(FrameSize::new(side as u32, side as u32))?;
        let frames = FrameClip::new(
            clip.name.clone(),
            side,
            side,
            frames.into_iter().map(|f| f.data).collect(),
        )?
        .with_input(preset.input);
        let errors = visual_errors(&model.network, &frames, &options, &device, &mut |_, _| {})?;
        for (kind, maps) in [
            ("motion", &errors.motion_maps),
            ("patch", &errors.patch_maps),
        ] {
            let maps = maps.as_ref().ok_or("the model gave no maps")?;
            let bytes: Vec<u8> = maps.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let file = format!("{role}-{}.{kind}.f32", clip.name);
            avad_atomic::write_atomic(&out.join(file), &bytes)?;
        }
        let labels: Vec<u8> = match &clip.labels {
            Some(l) => l.iter().map(|&b| u8::from(b)).collect(),
            None => vec![0; frames.frames()],
        };
        index.push(serde_json::json!({
            "clip": clip.name, "role": role, "frames": frames.frames(),
            "grid": side / block, "labels": labels,
        }));
        eprintln!("{} ({role}): {} frames", clip.name, frames.frames());
    }
    avad_atomic::write_atomic(
        &out.join("index.json"),
        serde_json::to_string(&index)?.as_bytes(),
    )?;
    Ok(())
}
