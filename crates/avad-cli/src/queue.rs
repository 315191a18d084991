//! `avad worker`, `avad submit`, `avad events` and `avad jobs`: avad on NATS JetStream.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use avad_worker::worker::WorkerOptions;
use avad_worker::{Job, QueueSettings};

use crate::args;

const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// Take jobs from NATS JetStream, score them and publish their events, until SIGTERM or
/// Ctrl-C (a job then running is handed back at once).
///
/// Each job is watched from start to end as `avad watch --every-frame` does; its events
/// go to the AVAD_EVENTS stream, its status to AVAD_STATUS. The first worker makes the
/// streams and the `workers` consumer, with --ack-wait and --max-deliver.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct WorkerArgs {
    /// The NATS server.
    #[arg(long, default_value = DEFAULT_URL)]
    nats: String,
    /// Seconds a job may go without an acknowledgement before another worker gets it
    /// (a running job is acknowledged every third of it).
    #[arg(long, default_value_t = 30.0, value_parser = args::seconds)]
    ack_wait: f64,
    /// Deliveries of a job before it is given up as failed.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i64).range(1..=100))]
    max_deliver: i64,
    /// The worker's name in job statuses (default: host name and process id).
    #[arg(long)]
    name: Option<String>,
    /// Threads scoring visual windows (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: Option<u32>,
}

/// Put recordings on the queue as score jobs: clip folders (their `audio.wav`, if any,
/// is their sound) or video files, paths every worker can read.
#[derive(clap::Args)]
pub struct SubmitArgs {
    /// Frame folders of one clip each, or video files.
    #[arg(required = true)]
    sources: Vec<String>,
    /// The model folders (a visual model, and an audio model if wanted).
    #[arg(long, short, required = true)]
    model: Vec<PathBuf>,
    /// The NATS server.
    #[arg(long, default_value = DEFAULT_URL)]
    nats: String,
    /// The frame rate of frame folders.
    #[arg(long, default_value_t = 25.0, value_parser = args::frame_rate)]
    fps: f64,
    /// Score a window every HOP frames (default: the model's preset).
    #[arg(long, value_parser = args::at_least_one)]
    hop: Option<usize>,
}

/// Print the events workers published, as JSON lines (`avad watch`'s, with a `job`).
#[derive(clap::Args)]
pub struct EventsArgs {
    /// Only this job's.
    #[arg(long)]
    job: Option<String>,
    /// Keep printing new events as they come (until Ctrl-C).
    #[arg(long, short)]
    follow: bool,
    /// The NATS server.
    #[arg(long, default_value = DEFAULT_URL)]
    nats: String,
}

/// List the jobs: each with its state (queued, running, done, failed), its worker, and
/// the error of each failed one.
#[derive(clap::Args)]
pub struct JobsArgs {
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
    /// The NATS server.
    #[arg(long, default_value = DEFAULT_URL)]
    nats: String,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub fn worker(args: &WorkerArgs) -> Result<()> {
    let mut options = WorkerOptions::default();
    if let Some(name) = &args.name {
        options.name = name.clone();
    }
    options.threads = args.workers.map_or(0, |n| n as usize);
    options.settings = QueueSettings {
        ack_wait: Duration::from_secs_f64(args.ack_wait),
        max_deliver: args.max_deliver,
        ..QueueSettings::default()
    };
    runtime()?.block_on(async {
        let js = avad_worker::connect(&args.nats).await?;
        let stop = avad_worker::worker::stop_on_signals()?;
        eprintln!("worker {} on {}", options.name, args.nats);
        let report =
            avad_worker::worker::run(js, &options, stop, &|line| eprintln!("{line}")).await?;
        eprintln!(
            "worker {} stopped: {} done, {} failed, {} handed back",
            options.name, report.done, report.failed, report.handed_back
        );
        anyhow::Ok(())
    })
}

pub fn submit(args: &SubmitArgs) -> Result<()> {
    let jobs = args
        .sources
        .iter()
        .map(|source| Job::score(Path::new(source), &args.model, args.fps, args.hop))
        .collect::<Result<Vec<_>, _>>()?;
    runtime()?.block_on(async {
        let js = avad_worker::connect(&args.nats).await?;
        avad_worker::client::submit(&js, &jobs).await?;
        anyhow::Ok(())
    })?;
    for job in &jobs {
        println!(
            "{}",
            serde_json::json!({"job": job.id, "source": job.source()})
        );
    }
    Ok(())
}

pub fn events(args: &EventsArgs) -> Result<()> {
    use std::io::Write;
    runtime()?.block_on(async {
        let js = avad_worker::connect(&args.nats).await?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let follow = args.follow;
        avad_worker::client::events(&js, args.job.as_deref(), follow, &mut |payload| {
            let written = out
                .write_all(payload)
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| if follow { out.flush() } else { Ok(()) });
            // A reader that went away (`| head`) ends the command quietly.
            Ok(written.is_ok())
        })
        .await?;
        out.flush().ok();
        anyhow::Ok(())
    })
}

pub fn jobs(args: &JobsArgs) -> Result<()> {
    let list = runtime()?.block_on(async {
        let js = avad_worker::connect(&args.nats).await?;
        avad_worker::client::jobs(&js).await
    })?;
    if args.json {
        for s in &list.statuses {
            println!("{}", serde_json::to_string(s)?);
        }
    } else {
        print!("{list}");
    }
    Ok(())
}
