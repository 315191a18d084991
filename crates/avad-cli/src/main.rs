//! The `avad` binary: a thin layer of subcommands over the `avad` library: arguments,
//! progress bars, output folders and Ctrl-C.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod calibrate;
mod demo;
mod eval;
mod features;
mod inspect;
mod interrupt;
mod progress;
mod queue;
mod score;
mod synth;
mod train;
mod watch;

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
    Calibrate(calibrate::Args),
    Score(score::Args),
    Eval(eval::Args),
    Demo(demo::Args),
    Watch(watch::Args),
    Worker(queue::WorkerArgs),
    Submit(queue::SubmitArgs),
    Events(queue::EventsArgs),
    Jobs(queue::JobsArgs),
}

fn main() -> ExitCode {
    avad_model::device::keep_freed_memory();
    let cli = Cli::parse();
    // `watch` handles a closed output and Ctrl-C itself (its events end with a summary).
    if !matches!(cli.command, Command::Watch(_) | Command::Worker(_)) {
        // Output piped into a reader that stops early (`avad inspect … | head`) ends the
        // process quietly, as for any Unix tool, instead of panicking in println!.
        #[cfg(unix)]
        // SAFETY: restoring a signal's default disposition, before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
        interrupt::install();
    }
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the context chain joined, e.g. "inspecting X: X/002.png: truncated image".
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Features(args) => features::run(&args),
        Command::Synth(args) => synth::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Calibrate(args) => calibrate::run(&args),
        Command::Score(args) => score::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Watch(args) => watch::run(&args),
        Command::Worker(args) => queue::worker(&args),
        Command::Submit(args) => queue::submit(&args),
        Command::Events(args) => queue::events(&args),
        Command::Jobs(args) => queue::jobs(&args),
    }
}
