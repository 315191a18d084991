//! `avad demo`: the whole pipeline on the synthetic scene, in minutes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};

/// Run the whole pipeline on the synthetic audio-visual scene: generate it, train the visual
/// model (preset `demo`) and the audio model on its normal clips, score the test clips,
/// fuse, evaluate and plot. Prints the results table and where every file is.
///
/// Each step is the avad command named in its heading, so the demo also shows how to run
/// the pipeline on your own data.
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
    let path = |p: &str| args.out.join(p).to_string_lossy().into_owned();
    let (scene, visual, audio, eval) = (
        path("scene"),
        path("visual-model"),
        path("audio-model"),
        path("eval"),
    );
    let seed = args.seed.to_string();
    let steps: [(&str, Vec<&str>); 4] = [
        ("generate the scene", vec!["synth", &scene, "--seed", &seed]),
        (
            "train the visual model",
            vec![
                "train", "visual", &scene, "--out", &visual, "--preset", "demo", "--seed", &seed,
            ],
        ),
        // 15 epochs instead of the preset's 50: the scene's sound is simpler than Ped2's.
        (
            "train the audio model",
            vec![
                "train", "audio", &scene, "--out", &audio, "--seed", &seed, "--epochs", "15",
            ],
        ),
        (
            "score, fuse, evaluate, plot",
            vec![
                "eval", &scene, "--model", &visual, "--model", &audio, "--out", &eval,
            ],
        ),
    ];
    for (k, (what, argv)) in steps.iter().enumerate() {
        eprintln!("\n== step {}/4: {what}: avad {}", k + 1, argv.join(" "));
        let mut full = vec!["avad"];
        full.extend(argv.iter().copied());
        crate::dispatch(&full)?;
    }
    eprintln!(
        "\ndemo finished in {:.1} min. Files:\n  {scene}/            the synthetic dataset (frames, sound, labels, masks)\n  \
         {visual}/, {audio}/   the trained models (model.json, weights, loss curves)\n  \
         {eval}/report.html   tables and plots in one page\n  \
         {eval}/results.md, results.json, scores.csv, roc.png, plots/",
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(())
}
