//! Decoding throughput of a video file to model-size gray frames.
//!
//! `cargo run --release -p avad-media --features ffmpeg --example video_decode_bench -- FILE [WIDTHxHEIGHT] [THREADS]`
//!
//! Prints frames/s of `VideoReader` (demux + decode + swscale to GRAY8 + f32),
//! best of three passes over the file.

#[cfg(feature = "ffmpeg")]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use std::time::Instant;

    use avad_media::video::{OpenOptions, VideoReader};
    use avad_media::FrameSize;

    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .ok_or("usage: video_decode_bench FILE [WIDTHxHEIGHT] [THREADS]")?;
    let size = match args.next() {
        Some(s) => {
            let (w, h) = s.split_once('x').ok_or("size must look like 240x240")?;
            FrameSize {
                width: w.parse()?,
                height: h.parse()?,
            }
        }
        None => FrameSize::PAPER,
    };
    let options = OpenOptions {
        decoder_threads: args.next().map(|t| t.parse()).transpose()?.unwrap_or(0),
        ..OpenOptions::default()
    };

    let info = avad_media::video::probe_video(&file)?;
    println!(
        "{file}: {} {}x{} at {:.3} fps, {} frames declared; decoding to gray {}x{}, decoder threads {}",
        info.codec,
        info.width,
        info.height,
        info.fps,
        info.frames.map_or("no".to_string(), |n| n.to_string()),
        size.width,
        size.height,
        if options.decoder_threads == 0 { "auto".to_string() } else { options.decoder_threads.to_string() },
    );
    let mut best = f64::INFINITY;
    let mut frames = 0u64;
    let mut checksum = 0.0f64;
    for pass in 1..=3 {
        let start = Instant::now();
        let mut reader = VideoReader::open(&file, size, &options)?;
        frames = 0;
        for frame in reader.by_ref() {
            let frame = frame?;
            // Touch the pixels so the conversion cannot be skipped.
            checksum += frame
                .frame
                .data
                .iter()
                .step_by(101)
                .map(|&v| f64::from(v))
                .sum::<f64>();
            frames += 1;
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "pass {pass}: {frames} frames in {seconds:.3} s = {:.0} frames/s",
            frames as f64 / seconds
        );
        best = best.min(seconds);
    }
    println!(
        "best: {:.0} frames/s ({frames} frames, checksum {checksum:.3})",
        frames as f64 / best
    );
    Ok(())
}

#[cfg(not(feature = "ffmpeg"))]
fn main() {
    eprintln!("video_decode_bench needs the `ffmpeg` feature: cargo run --release -p avad-media --features ffmpeg --example video_decode_bench -- FILE");
    std::process::exit(2);
}
