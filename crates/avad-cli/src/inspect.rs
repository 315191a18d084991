//! `avad inspect`: what avad sees in a recording, a dataset or a model directory.

use std::path::PathBuf;

use anyhow::Result;

/// Print what avad sees in PATH: its kind, clips, frames, frame size, frame
/// rate, audio (rate, channels, duration) and label counts.
///
/// PATH may be a dataset folder (UCSD Ped2, UMN, or a generic folder of clips:
/// see the README), a single clip (a frame folder or a video file), an audio
/// file, or a stream URL (rtsp/http/udp; video needs the `ffmpeg` feature).
/// A model directory (`avad train`'s output) shows its card instead: preset,
/// input, training, the scores it can give and their label-free γ; its weights
/// are loaded, so a damaged model fails here as it would when scoring.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Dataset folder, clip folder, video, audio file, stream URL or model directory.
    path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// List every clip, not only the totals per split (clips with sound are listed with
    /// their audio either way).
    #[arg(long, short)]
    clips: bool,
}

pub fn run(args: &Args) -> Result<()> {
    print!(
        "{}",
        avad::inspect::inspect(&args.path, args.json, args.clips)?
    );
    Ok(())
}
