//! `avad train visual` and `avad train audio`: train a model and write its directory.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use avad::avad_model::model_dir::{AudioPreset, VisualPreset};
use avad::train::{note_overrides, override_training, override_visual_preset};
use avad::{train_audio, train_visual, NormalSound};

use crate::args::DeviceArg;
use avad::out_dir::{refuse_inside, refuse_trained_model};

use crate::progress::Bars;
use avad::out_dir::OutDir;

/// Train a model on the normal clips of a dataset.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    model: Model,
}

#[derive(clap::Subcommand)]
enum Model {
    Visual(VisualArgs),
    Audio(AudioArgs),
}

/// Train the visual autoencoder (Table 3 of Tariq et al. 2024) on the training clips of
/// DATASET, holding whole clips out for validation, early stopping and calibration.
///
/// Writes OUT/model.json, OUT/weights.bpk, OUT/loss.{csv,png,svg} and OUT/checkpoint/
/// (a checkpoint after every epoch: rerun with --resume to continue a stopped run).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct VisualArgs {
    /// Dataset folder (UCSD Ped2 or a generic train/ test/ folder; UMN has no normal clips
    /// to train a visual model on).
    dataset: PathBuf,
    /// Model directory to write.
    #[arg(long, short)]
    out: PathBuf,
    /// Built-in preset (paper, cpu, cpu-240, demo) or a preset TOML file.
    #[arg(long, default_value = "cpu")]
    preset: String,
    /// Override the preset's epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the preset's frame side (a multiple of 8).
    #[arg(long)]
    size: Option<usize>,
    /// Override the preset's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Continue the checkpoint in OUT/checkpoint.
    #[arg(long)]
    resume: bool,
    /// Where to train (cuda and wgpu need avad built with that feature). Scores for the
    /// calibration are computed on the CPU, as `avad score` computes them.
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
}

/// Train the acoustic autoencoder (Table 2 of Tariq et al. 2024) on normal sound.
///
/// Where the normal sound comes from, in this order:
///   --normal-audio DIR     every audio file in DIR is normal (a user's own site);
///   DATASET's train clips  when they have sound, all of it is normal;
///   DATASET's labelled clips otherwise (UCSD Ped2, whose only audio is the test clips'):
///                          leave-one-clip-out, one fold per clip, each trained on the
///                          normal-labelled stretches of the other clips and never on the
///                          clip it will score.
///
/// Writes OUT/model.json (preset, feature scaling, calibration and history of each fold),
/// the weights (OUT/weights.bpk, or OUT/folds/<clip>.bpk), OUT/loss.{csv,png,svg} and
/// OUT/checkpoint/ (rerun with --resume to continue a stopped run).
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct AudioArgs {
    /// Dataset folder (UCSD Ped2, UMN or a generic train/ test/ folder).
    dataset: Option<PathBuf>,
    /// A folder of normal recordings to train on instead of the dataset's sound.
    #[arg(long)]
    normal_audio: Option<PathBuf>,
    /// Model directory to write.
    #[arg(long, short)]
    out: PathBuf,
    /// Built-in preset (paper) or a preset TOML file.
    #[arg(long, default_value = "paper")]
    preset: String,
    /// Override the preset's epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the preset's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Continue the checkpoints in OUT/checkpoint.
    #[arg(long)]
    resume: bool,
    /// Where to train (cuda and wgpu need avad built with that feature).
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    device: DeviceArg,
}

pub fn run(args: &Args) -> Result<()> {
    match &args.model {
        Model::Visual(a) => run_visual(a),
        Model::Audio(a) => run_audio(a),
    }
}

fn run_visual(args: &VisualArgs) -> Result<()> {
    let mut preset = VisualPreset::load(&args.preset)?;
    override_visual_preset(&mut preset, args.epochs, args.size, args.seed);
    preset.check().map_err(|reason| {
        anyhow::anyhow!("preset {} with the options given: {reason}", preset.name)
    })?;
    refuse_inside(&args.out, &[("the dataset", args.dataset.as_path())])?;
    refuse_trained_model(&args.out, args.resume, "checkpoint", "visual")?;
    let device = args.device.training()?;
    let out_dir = OutDir::create(&args.out)?;
    train_visual(
        &args.dataset,
        &args.out,
        &preset,
        args.resume,
        &device,
        &Bars::default(),
    )?;
    out_dir.keep();
    eprintln!("model written to {}", args.out.display());
    Ok(())
}

fn run_audio(args: &AudioArgs) -> Result<()> {
    let mut preset = AudioPreset::load(&args.preset)?;
    let changed = override_training(&mut preset.train, args.epochs, args.seed);
    note_overrides(&mut preset.description, &changed);
    preset.check().map_err(|reason| {
        anyhow::anyhow!("preset {} with the options given: {reason}", preset.name)
    })?;
    let inputs: Vec<(&str, &Path)> = [
        ("the dataset", args.dataset.as_deref()),
        ("the recordings' folder", args.normal_audio.as_deref()),
    ]
    .into_iter()
    .filter_map(|(what, p)| p.map(|p| (what, p)))
    .collect();
    refuse_inside(&args.out, &inputs)?;
    refuse_trained_model(&args.out, args.resume, "checkpoints", "audio")?;
    let source = match (&args.normal_audio, &args.dataset) {
        (Some(dir), _) if dir.is_file() => bail!(
            "{}: --normal-audio takes a folder of recordings, not a file",
            dir.display()
        ),
        (Some(dir), _) => NormalSound::Recordings(dir),
        (None, Some(dataset)) => NormalSound::Dataset(dataset),
        (None, None) => {
            bail!("give a DATASET, or --normal-audio DIR with recordings of normal sound")
        }
    };
    let device = args.device.training()?;
    let out_dir = OutDir::create(&args.out)?;
    train_audio(
        source,
        &args.out,
        &preset,
        args.resume,
        &device,
        &Bars::default(),
    )
    .map_err(|e| match e {
        avad::Error::Invalid(r) if r.contains("fewer than two labelled clips do") => {
            anyhow::anyhow!(
                "{}",
                r.replace(
                    "train on a folder of recordings of normal sound instead",
                    "give recordings of normal sound with --normal-audio DIR"
                )
            )
        }
        e => e.into(),
    })?;
    out_dir.keep();
    eprintln!("model written to {}", args.out.display());
    Ok(())
}
