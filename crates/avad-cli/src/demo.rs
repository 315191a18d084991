//! `avad demo`: the whole pipeline on the synthetic scene, in minutes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use avad::avad_atomic::leftovers::{register_temp, Leftover};
use avad::avad_data::synthetic::{write_dataset_reporting, SceneLook};
use avad::avad_data::{open_dataset, Split};
use avad::avad_model::device::Accelerator;
use avad::avad_model::model_dir::{AudioPreset, VisualPreset};
use avad::evaluate::EvaluationContext;
use avad::train::{override_training, override_visual_preset};
use avad::{
    evaluate, score_clips, train_audio, train_visual, ClipSelection, FusionConfig, Models,
    NormalSound, ScoreConfig,
};

use crate::progress::{counter_bar, Bars};

/// Run the whole pipeline on the synthetic audio-visual scene: generate it, train the visual
/// model (preset `demo`) and the audio model on its normal clips, score the test clips,
/// fuse, evaluate and plot. Prints the results table and where every file is.
///
/// Each step does what the avad command named in its heading does (with the library's
/// functions), so the demo also shows how to run the pipeline on your own data.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Folder to create (must not exist).
    #[arg(default_value = "avad-demo")]
    out: PathBuf,
    /// Seed of the scene and of training.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

pub fn run(args: &Args) -> Result<()> {
    if args.out.exists() {
        bail!(
            "{}: already exists; the demo writes a new folder",
            args.out.display()
        );
    }
    let started = Instant::now();
    let (scene, visual, audio, eval) = (
        args.out.join("scene"),
        args.out.join("visual-model"),
        args.out.join("audio-model"),
        args.out.join("eval"),
    );
    let seed = args.seed;
    let (s, v, a, e) = (
        scene.display(),
        visual.display(),
        audio.display(),
        eval.display(),
    );
    // Each step and the command that does the same.
    let steps = [
        ("generate the scene", format!("synth {s} --seed {seed}")),
        (
            "train the visual model",
            format!("train visual {s} --out {v} --preset demo --seed {seed}"),
        ),
        (
            "train the audio model",
            format!("train audio {s} --out {a} --seed {seed} --epochs 15"),
        ),
        (
            "score, fuse, evaluate, plot",
            format!("eval {s} --model {v} --model {a} --out {e}"),
        ),
    ];
    let step = |k: usize| eprintln!("\n== step {}/4: {}: avad {}", k + 1, steps[k].0, steps[k].1);
    let bars = Bars::default();
    let training = Accelerator::Cpu.training_device()?;

    step(0);
    let _interrupt = register_temp(&scene, Leftover::Tree);
    let bar = counter_bar(10, "writing clips");
    let look = SceneLook::default();
    let set = |done: usize, _| bar.set_position(done as u64);
    let clips = write_dataset_reporting(&scene, seed, (6, 4), 200, &look, &mut { set })?;
    bar.finish_and_clear();
    eprintln!("wrote {} clips to {s}", clips.len());

    step(1);
    let mut preset = VisualPreset::load("demo")?;
    override_visual_preset(&mut preset, None, None, Some(seed));
    train_visual(&scene, &visual, &preset, false, &training, &bars)?;

    // 15 epochs instead of the preset's 50: the scene's sound is simpler than Ped2's.
    step(2);
    let mut preset = AudioPreset::load("paper")?;
    let changed = override_training(&mut preset.train, Some(15), Some(seed));
    avad::train::note_overrides(&mut preset.description, &changed);
    train_audio(
        NormalSound::Dataset(&scene),
        &audio,
        &preset,
        false,
        &training,
        &bars,
    )?;

    step(3);
    let device = avad::cpu();
    let models = Models::load(&[visual.clone(), audio.clone()], &device, None)?;
    let dataset = open_dataset(&scene)?;
    let selection = ClipSelection {
        split: Some(Split::Test),
        names: Vec::new(),
    };
    let clips = avad::clips::select_clips(&dataset, &selection, &scene)?;
    let config = ScoreConfig::default();
    let scored = score_clips(&models, &clips, &config, &device, &bars)?;
    let fusion = FusionConfig::default();
    let evaluation = evaluate(scored.clips, &models, &fusion, &bars)?;
    std::fs::create_dir_all(&eval)?;
    let md = evaluation.write(
        &eval,
        &EvaluationContext {
            dataset: &scene,
            models: &models,
            smoothing_frames: config.smooth,
            fusion: &fusion,
        },
    )?;
    println!("{md}");
    eprintln!(
        "\ndemo finished in {:.1} min. Files:\n  {s}/            the synthetic dataset (frames, sound, labels, masks)\n  \
         {v}/, {a}/   the trained models (model.json, weights, loss curves)\n  \
         {e}/report.html   tables and plots in one page\n  \
         {e}/results.md, results.json, scores.csv, roc.png, plots/",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
