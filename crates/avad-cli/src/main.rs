//! The `avad` binary: a thin layer of subcommands over the library crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod features;
mod inspect;
mod score;
mod synth;
mod train;

/// avad finds anomalous events in surveillance recordings by watching and
/// listening at once (Tariq et al., CMC 2024): it learns what a scene normally
/// looks and sounds like, then flags the frames where something unusual is
/// seen or heard.
#[derive(Parser)]
#[command(name = "avad", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Inspect(inspect::Args),
    Features(features::Args),
    Synth(synth::Args),
    Train(train::Args),
    Score(score::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Features(args) => features::run(&args),
        Command::Synth(args) => synth::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Score(args) => score::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain joined, e.g. "inspecting X: X/002.png: truncated image".
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
