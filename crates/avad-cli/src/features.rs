//! `avad features`: the paper's 160 audio features of one recording or many.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Result};
use avad::avad_atomic::leftovers::{register_temp, Leftover};
use avad::features::{
    for_each_recording, output_paths, recording_features, recording_paths, write_features,
};
use avad::out_dir::OutDir;
use avad_features::{FeatureConfig, N_FEATURES};

/// Compute the eight audio features of the paper (§3.1.1) as librosa 0.11.0
/// does with its defaults, at 22,050 Hz: spectral flatness, zero-crossing
/// rate, spectral centroid, spectral bandwidth, MFCC 1-20, mel 1-128,
/// spectral roll-off, spectral contrast 1-7 (160 columns, in that order), one
/// row per audio frame (hop 512 samples, about 43 frames a second). Values are
/// raw, not normalised.
///
/// AUDIO is an audio file (WAV, FLAC, MP3, Ogg, M4A, AAC, Opus), a folder of
/// them, or, in a build with the `ffmpeg` feature, a video file whose audio
/// track is read. Several recordings are computed side by side in one run
/// (--threads), each written to the --out folder as its file name with .npy
/// (or .csv with --csv).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Audio files, folders of audio files, or video files with an audio track
    /// (ffmpeg builds).
    #[arg(required = true)]
    audio: Vec<PathBuf>,
    /// One recording: the output file, `.npy` (float32, frames x 160) or `.csv` (with a
    /// header). Several, or a folder: the output folder. Without it, a summary of each
    /// recording is printed.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Several recordings: write CSV files instead of `.npy`.
    #[arg(long)]
    csv: bool,
    /// Recordings computed side by side (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    threads: Option<u32>,
}

pub fn run(args: &Args) -> Result<()> {
    let config = FeatureConfig::default();
    if let [one] = args.audio.as_slice() {
        if !one.is_dir() {
            return run_one(one, args.out.as_deref(), &config);
        }
    }
    let paths = recording_paths(&args.audio)?;
    let threads = args.threads.map_or(0, |n| n as usize);
    let Some(out) = &args.out else {
        let summaries = Mutex::new(vec![String::new(); paths.len()]);
        for_each_recording(&paths, &config, threads, &|i, path, f| {
            summaries.lock().unwrap_or_else(|p| p.into_inner())[i] = summary(path, &f.matrix);
            Ok(())
        })?;
        for s in summaries.into_inner().unwrap_or_else(|p| p.into_inner()) {
            print!("{s}");
        }
        println!("  (write all columns with --out FOLDER)");
        return Ok(());
    };
    if out.is_file() {
        bail!(
            "{}: several recordings are written into a folder, and this is a file",
            out.display()
        );
    }
    let extension = if args.csv { "csv" } else { "npy" };
    let targets = output_paths(&paths, out, extension)?;
    let out_dir = OutDir::create(out)?;
    for_each_recording(&paths, &config, threads, &|i, path, f| {
        let _interrupt = register_temp(&targets[i], Leftover::File);
        write_features(&targets[i], &f.matrix)?;
        eprintln!(
            "{}: {} frames ({:.2} s) -> {}",
            path.display(),
            f.matrix.frames,
            f.seconds,
            targets[i].display()
        );
        Ok(())
    })?;
    out_dir.keep();
    eprintln!(
        "features of {} recordings written to {}",
        paths.len(),
        out.display()
    );
    Ok(())
}

fn run_one(path: &Path, out: Option<&Path>, config: &FeatureConfig) -> Result<()> {
    let features = recording_features(path, config)?;
    let matrix = &features.matrix;
    let Some(out) = out else {
        print!("{}", summary(path, matrix));
        println!("  (write all columns with --out FILE.npy or --out FILE.csv)");
        return Ok(());
    };
    let _interrupt = register_temp(out, Leftover::File);
    write_features(out, matrix)?;
    eprintln!(
        "{}: {} frames x {N_FEATURES} features ({:.2} s at {} Hz) -> {}",
        path.display(),
        matrix.frames,
        features.seconds,
        config.sample_rate,
        out.display()
    );
    Ok(())
}

/// A recording's frame count and a few columns' range and mean, a line each.
fn summary(path: &Path, m: &avad_features::FeatureMatrix) -> String {
    let mut s = format!(
        "{}: {} frames x {N_FEATURES} features\n",
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
        let _ = writeln!(
            s,
            "  {name:<20} min {lo:>12.5}  mean {mean:>12.5}  max {hi:>12.5}"
        );
    }
    s
}
