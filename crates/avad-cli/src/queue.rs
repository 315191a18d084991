//! `avad worker`, `avad submit`, `avad events` and `avad jobs`: avad on NATS JetStream.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result};
use std::sync::Arc;

use avad_worker::worker::WorkerOptions;
use avad_worker::{Job, Queue, QueueSettings, Trained};

use crate::args;

const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// Take jobs and cameras from NATS JetStream, run them and publish what they find, until
/// SIGTERM or Ctrl-C (what is then running is handed back at once).
///
/// A recording is watched from start to end as `avad watch --every-frame` does, a camera
/// for as long as it runs; their events go to the AVAD_EVENTS stream. Features and
/// training jobs write their folder. Every job's status goes to AVAD_STATUS. A worker runs
/// one job and up to --max-streams cameras at a time. The first worker makes the streams
/// and the `workers` and `camera-workers` consumers, with --ack-wait and --max-deliver
/// (cameras are delivered again however often their worker dies).
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
    /// Threads scoring visual windows, per recording or camera (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=256))]
    workers: Option<u32>,
    /// Cameras watched at once, each by its own detector (0: jobs only).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=256))]
    max_streams: u32,
}

/// Put work on the queue, paths every worker can read:
///   avad submit SOURCE... --model M...      score recordings: clip folders (their
///                                           `audio.wav`, if any, is their sound) or video
///                                           files; stream URLs go on the camera queue
///   avad submit --camera SOURCE... --model M...
///                                           watch cameras (or recordings standing in)
///   avad submit --features AUDIO... --out DIR
///                                           extract audio features into DIR
///   avad submit --train visual|audio DATASET --out DIR [--preset P] [--epochs N]
///                                           train a model into DIR
/// Prints one JSON line per job: its id and source.
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SubmitArgs {
    /// Frame folders of one clip each, video files or stream URLs; with --features, audio
    /// files or folders of them; with --train, the dataset (or, for an audio model with
    /// --normal-audio, nothing).
    sources: Vec<String>,
    /// The model folders (a visual model, and an audio model if wanted).
    #[arg(long, short, required_unless_present_any = ["features", "train"])]
    model: Vec<PathBuf>,
    /// Put the sources on the camera queue: each is watched by one worker for as long as it
    /// runs, and moves to another worker when its owner dies or stops.
    #[arg(long, conflicts_with_all = ["features", "train"])]
    camera: bool,
    /// Extract the features of the sources (audio files or folders) into --out.
    #[arg(long, requires = "out", conflicts_with = "train")]
    features: bool,
    /// With --features: CSV files instead of NumPy arrays.
    #[arg(long, requires = "features")]
    csv: bool,
    /// Train this model into --out.
    #[arg(long, value_enum, requires = "out")]
    train: Option<TrainArg>,
    /// The folder a features or training job writes.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// With --train audio: a folder of recordings of normal sound to train on.
    #[arg(long, requires = "train")]
    normal_audio: Option<PathBuf>,
    /// With --train: a built-in preset or a preset TOML file (default: cpu for a visual
    /// model, paper for an audio one).
    #[arg(long, requires = "train")]
    preset: Option<String>,
    /// With --train: the preset's epochs, overridden.
    #[arg(long, requires = "train")]
    epochs: Option<usize>,
    /// With --train: the preset's seed, overridden.
    #[arg(long, requires = "train")]
    seed: Option<u64>,
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

/// The model a training job trains.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum TrainArg {
    Visual,
    Audio,
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
    options.max_streams = args.max_streams as usize;
    options.settings = QueueSettings {
        ack_wait: Duration::from_secs_f64(args.ack_wait),
        max_deliver: args.max_deliver,
        ..QueueSettings::default()
    };
    let runtime = runtime()?;
    let ran = runtime.block_on(async {
        let js = avad_worker::connect(&args.nats).await?;
        let stop = avad_worker::worker::stop_on_signals()?;
        eprintln!("worker {} on {}", options.name, args.nats);
        let log: avad_worker::worker::Log = Arc::new(|line: &str| eprintln!("{line}"));
        let report = avad_worker::worker::run(js, &options, stop, log).await?;
        eprintln!(
            "worker {} stopped: {} done, {} failed, {} handed back",
            options.name, report.done, report.failed, report.handed_back
        );
        anyhow::Ok(())
    });
    // A features or training job handed back on stopping is not waited for.
    runtime.shutdown_background();
    ran
}

/// The jobs `args` ask for, each with the queue it goes on.
fn jobs_asked(args: &SubmitArgs) -> Result<Vec<(Job, Queue)>> {
    let paths: Vec<PathBuf> = args.sources.iter().map(PathBuf::from).collect();
    if args.features {
        anyhow::ensure!(!paths.is_empty(), "--features needs audio files or folders");
        let out = args.out.as_deref().context("--features needs --out DIR")?;
        return Ok(vec![(Job::features(&paths, out, args.csv)?, Queue::Jobs)]);
    }
    if let Some(model) = args.train {
        let model = match model {
            TrainArg::Visual => Trained::Visual,
            TrainArg::Audio => Trained::Audio,
        };
        let dataset = match paths.as_slice() {
            [] => None,
            [one] => Some(one.as_path()),
            _ => anyhow::bail!("--train takes one dataset folder"),
        };
        let out = args.out.as_deref().context("--train needs --out DIR")?;
        let job = Job::train(
            model,
            dataset,
            args.normal_audio.as_deref(),
            out,
            args.preset.as_deref(),
            args.epochs,
            args.seed,
        )?;
        return Ok(vec![(job, Queue::Jobs)]);
    }
    anyhow::ensure!(!paths.is_empty(), "give the recordings or cameras to score");
    args.sources
        .iter()
        .map(|source| {
            let queue = if args.camera || avad::avad_media::video::is_stream_url(source) {
                Queue::Cameras
            } else {
                Queue::Jobs
            };
            let job = if queue == Queue::Cameras && avad::avad_media::video::is_stream_url(source) {
                Job::camera(source, &args.model, args.fps, args.hop)?
            } else {
                Job::score(Path::new(source), &args.model, args.fps, args.hop)?
            };
            Ok((job, queue))
        })
        .collect()
}

pub fn submit(args: &SubmitArgs) -> Result<()> {
    let jobs = jobs_asked(args)?;
    runtime()?.block_on(async {
        let js = avad_worker::connect(&args.nats).await?;
        for queue in [Queue::Jobs, Queue::Cameras] {
            let these: Vec<Job> = jobs
                .iter()
                .filter(|(_, q)| *q == queue)
                .map(|(job, _)| job.clone())
                .collect();
            if !these.is_empty() {
                avad_worker::client::submit(&js, &these, queue).await?;
            }
        }
        anyhow::Ok(())
    })?;
    for (job, _) in &jobs {
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
