//! `avad synth`: write the synthetic audio-visual scene as a dataset.

use std::path::PathBuf;

use anyhow::Result;
use avad::avad_atomic::leftovers::{register_temp, Leftover};
use avad::avad_data::synthetic::{write_dataset_reporting, SceneLook};

/// Write the synthetic audio-visual scene, deterministic by seed, as a
/// generic dataset (train/ normal clips, test/ clips with anomalies).
///
/// Normal: people walking along a walkway, ambient sound and footsteps.
/// Anomalies: a bicycle, a cart, a skater (each with its own sound), and
/// sound-only events (a bang, a shout). Every clip has frames (PNG), audio
/// (WAV, 22,050 Hz), per-frame labels and pixel masks.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Folder to create (must not exist).
    out: PathBuf,
    /// Random seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Normal training clips (at most 1000).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u16).range(..=1000))]
    train: u16,
    /// Test clips, each with 1-3 anomalies (at most 1000).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(..=1000))]
    test: u16,
    /// Frames per clip (25 fps; from 10, one window of the models, to 90000, an hour).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(10..=90_000))]
    frames: u32,
    /// Mean number of pedestrians in view, 0-100 (more: a harder scene to see into).
    #[arg(long, default_value_t = SceneLook::default().people_in_view)]
    people: f32,
    /// Sensor noise, standard deviation in gray levels (0-64).
    #[arg(long, default_value_t = SceneLook::default().sensor_noise)]
    sensor_noise: f32,
    /// RMS of the ambient sound bed, full scale 1 (0-0.5; louder: the events stand out less).
    #[arg(long, default_value_t = SceneLook::default().ambient_rms)]
    ambient_rms: f32,
    /// Scales the visual anomalies' speed (0.1-4; below 1 they move closer to walking pace).
    #[arg(long, default_value_t = SceneLook::default().anomaly_speed)]
    anomaly_speed: f32,
}

pub fn run(args: &Args) -> Result<()> {
    if args.train == 0 && args.test == 0 {
        anyhow::bail!("--train 0 and --test 0: no clip to write");
    }
    let look = SceneLook {
        people_in_view: args.people,
        sensor_noise: args.sensor_noise,
        ambient_rms: args.ambient_rms,
        anomaly_speed: args.anomaly_speed,
    };
    let _interrupt = register_temp(&args.out, Leftover::Tree);
    let total = u64::from(args.train) + u64::from(args.test);
    let bar = crate::progress::counter_bar(total, "writing clips");
    let clips = write_dataset_reporting(
        &args.out,
        args.seed,
        (usize::from(args.train), usize::from(args.test)),
        args.frames as usize,
        &look,
        &mut |done, _| bar.set_position(done as u64),
    )?;
    bar.finish_and_clear();
    eprintln!("wrote {} clips to {}", clips.len(), args.out.display());
    for c in clips.iter().filter(|c| !c.events.is_empty()) {
        let events: Vec<String> = c
            .events
            .iter()
            .map(|e| format!("{} (frames {}-{})", e.kind, e.start_frame + 1, e.end_frame))
            .collect();
        eprintln!(
            "  {}: {}",
            c.dir
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            events.join(", ")
        );
    }
    eprintln!(
        "see what avad sees in it with `avad inspect {}`",
        args.out.display()
    );
    Ok(())
}
