//! `avad features`: the paper's 160 audio features of one recording.

use std::path::{Path, PathBuf};

use anyhow::Result;
use avad::avad_atomic::leftovers::{register_temp, Leftover};
use avad::features::{recording_features, write_features};
use avad_features::{FeatureConfig, N_FEATURES};

/// Compute the eight audio features of the paper (§3.1.1) as librosa 0.11.0
/// does with its defaults, at 22,050 Hz: spectral flatness, zero-crossing
/// rate, spectral centroid, spectral bandwidth, MFCC 1-20, mel 1-128,
/// spectral roll-off, spectral contrast 1-7 (160 columns, in that order), one
/// row per audio frame (hop 512 samples, about 43 frames a second). Values are
/// raw, not normalised.
///
/// AUDIO is an audio file (WAV, FLAC, MP3, Ogg, M4A) or, in a build with the
/// `ffmpeg` feature, a video file whose audio track is read.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Audio file, or video file with an audio track (ffmpeg builds).
    audio: PathBuf,
    /// Output: `.npy` (float32, frames x 160) or `.csv` (with a header). Without it,
    /// a summary is printed.
    #[arg(long, short)]
    out: Option<PathBuf>,
}

pub fn run(args: &Args) -> Result<()> {
    let config = FeatureConfig::default();
    let features = recording_features(&args.audio, &config)?;
    let matrix = &features.matrix;
    let Some(out) = &args.out else {
        print_summary(&args.audio, matrix);
        return Ok(());
    };
    let _interrupt = register_temp(out, Leftover::File);
    write_features(out, matrix)?;
    eprintln!(
        "{}: {} frames x {N_FEATURES} features ({:.2} s at {} Hz) -> {}",
        args.audio.display(),
        matrix.frames,
        features.seconds,
        config.sample_rate,
        out.display()
    );
    Ok(())
}

fn print_summary(path: &Path, m: &avad_features::FeatureMatrix) {
    println!(
        "{}: {} frames x {N_FEATURES} features",
        path.display(),
        m.frames
    );
    let names = avad_features::column_names();
    for (c, name) in names
        .iter()
        .enumerate()
        .filter(|(c, _)| [0, 1, 2, 3, 4, 24, 152, 153].contains(c))
    {
        let col = m.column(c);
        let (lo, hi) = col
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / col.len().max(1) as f64;
        println!("  {name:<20} min {lo:>12.5}  mean {mean:>12.5}  max {hi:>12.5}");
    }
    println!("  (write all columns with --out FILE.npy or --out FILE.csv)");
}
