//! The worker: takes jobs and cameras off their queues, runs each (a recording or a camera
//! through the live detector, features, training), publishes what it finds, and
//! acknowledges each only when that is published.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, Consumer};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Context, Message};
use avad::live::{open_source, SourceSpec};
use avad::{Detector, DetectorConfig, Event, EventSink, Models, WatchOptions};
use futures_util::StreamExt;
use tokio::runtime::Handle;
use tokio::task::JoinSet;

use crate::job::{load_presets, valid_job_id, Job, State, Status, TrainPreset, Trained, Work};
use crate::streams::{ensure_streams, subject, workers_consumer, Queue, QueueSettings};
use crate::{Error, Result};

/// Where a worker's lines go: one when it is ready, one per job or camera as it starts and
/// ends.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// A flag that SIGTERM or Ctrl-C sets: what [`run`] takes as `stop` in a process that is
/// only a worker. Call it within the Tokio runtime that runs the worker.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{signal, SignalKind};
    let stop = Arc::new(AtomicBool::new(false));
    let mut term = signal(SignalKind::terminate())
        .map_err(|e| Error::Invalid(format!("installing the SIGTERM handler: {e}")))?;
    let flag = stop.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        flag.store(true, Ordering::SeqCst);
    });
    Ok(stop)
}

/// How a worker runs.
#[derive(Clone, Debug)]
pub struct WorkerOptions {
    /// Its name in statuses (default: the host name and process id).
    pub name: String,
    /// The consumers' settings, if this worker makes them.
    pub settings: QueueSettings,
    /// Threads that score visual windows per recording or camera, and that extract
    /// features (0: one per core).
    pub threads: usize,
    /// Cameras watched at once (0: none, only jobs). Each has its own detector on its own
    /// threads: batching the windows of several cameras into one forward pass was measured
    /// slower on the CPU (docs/scaling.md).
    pub max_streams: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        WorkerOptions {
            name: format!("{host}-{}", std::process::id()),
            settings: QueueSettings::default(),
            threads: 0,
            max_streams: 1,
        }
    }
}

/// What a worker did before it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Jobs done, and cameras whose recording ended.
    pub done: usize,
    /// Jobs and cameras failed for good.
    pub failed: usize,
    /// Jobs and cameras handed back unfinished (the worker was stopped, or NATS failed).
    pub handed_back: usize,
}

/// What a finished job leaves.
#[derive(Clone, Debug, Default)]
struct Outcome {
    /// Frames scored (score jobs and cameras).
    frames: Option<usize>,
    /// The folder written (features and training jobs).
    output: Option<String>,
}

/// How a job ended.
enum JobEnd {
    /// Everything published or written.
    Done(Outcome),
    /// The job cannot succeed (a missing or corrupt input, a model that does not load).
    Failed(String),
    /// Publishing failed: another delivery may succeed.
    Queue(String),
    /// The worker was asked to stop.
    Stopped,
}

/// How a delivery counts in the [`WorkerReport`].
#[derive(Clone, Copy)]
enum Counted {
    Done,
    Failed,
    HandedBack,
}

/// A consumer's acknowledgement settings, as the server holds them.
#[derive(Clone, Copy)]
struct Limits {
    ack_wait: Duration,
    max_deliver: i64,
}

/// Runs a worker on `js` until `stop` is set. It holds at most one job (from
/// [`Queue::Jobs`]) and `options.max_streams` cameras (from [`Queue::Cameras`]) at a time,
/// each run on its own threads, and sends each an in-progress acknowledgement every third
/// of `ack_wait` while it runs. When `stop` is set, everything it holds is handed back
/// at once (a Nak): a recording's or camera's watch ends at its next frame; a features or
/// training job is abandoned where it is (its files are written whole or not at all, and
/// training resumes from its last checkpoint on the next delivery), and its thread runs
/// on until the process exits.
pub async fn run(
    js: Context,
    options: &WorkerOptions,
    stop: Arc<AtomicBool>,
    log: Log,
) -> Result<WorkerReport> {
    let streams = ensure_streams(&js, &options.settings).await?;
    let jobs = workers_consumer(&streams, Queue::Jobs, &options.settings).await?;
    let cameras = workers_consumer(&streams, Queue::Cameras, &options.settings).await?;
    let limits = |c: &Consumer<pull::Config>| {
        let config = &c.cached_info().config;
        Limits {
            ack_wait: config.ack_wait,
            max_deliver: config.max_deliver,
        }
    };
    let queues = [
        (Queue::Jobs, jobs, 1),
        (Queue::Cameras, cameras, options.max_streams),
    ];
    let job_limits = limits(&queues[0].1);
    log(&format!(
        "waiting for jobs (ack_wait {:.1} s, max_deliver {}) and up to {} cameras",
        job_limits.ack_wait.as_secs_f64(),
        job_limits.max_deliver,
        options.max_streams
    ));
    let options = Arc::new(options.clone());
    let mut report = WorkerReport::default();
    let mut running: JoinSet<(usize, Result<Counted>)> = JoinSet::new();
    let mut held = [0usize; 2];
    loop {
        while let Some(joined) = running.try_join_next() {
            tally(&mut report, &mut held, joined)?;
        }
        if stop.load(Ordering::SeqCst) {
            let Some(joined) = running.join_next().await else {
                break;
            };
            tally(&mut report, &mut held, joined)?;
            continue;
        }
        let mut waited = false;
        for (slot, (queue, consumer, limit)) in queues.iter().enumerate() {
            if held[slot] >= *limit || stop.load(Ordering::SeqCst) {
                continue;
            }
            waited = true;
            let Some(message) = next_message(consumer).await? else {
                continue;
            };
            held[slot] += 1;
            let task = handle(
                js.clone(),
                message,
                *queue,
                limits(consumer),
                options.clone(),
                stop.clone(),
                log.clone(),
            );
            running.spawn(async move { (slot, task.await) });
        }
        if !waited {
            // Every slot is taken: wait for one to free, or for `stop`.
            tokio::select! {
                Some(joined) = running.join_next() => tally(&mut report, &mut held, joined)?,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
    Ok(report)
}

/// The next message of `consumer`, if one comes within a quarter of a second.
async fn next_message(consumer: &Consumer<pull::Config>) -> Result<Option<Message>> {
    let mut batch = consumer
        .batch()
        .max_messages(1)
        .expires(Duration::from_millis(250))
        .messages()
        .await
        .map_err(|e| Error::nats("asking for a job", e))?;
    match batch.next().await {
        Some(message) => Ok(Some(
            message.map_err(|e| Error::nats("receiving a job", e))?,
        )),
        None => Ok(None),
    }
}

/// Publishes `status` (a job's latest).
pub(crate) async fn publish_status(js: &Context, status: &Status) -> Result<()> {
    let payload = serde_json::to_vec(status).map_err(|e| Error::Invalid(e.to_string()))?;
    js.publish(subject("status", &status.job), payload.into())
        .await
        .map_err(|e| Error::nats("publishing a status", e))?
        .await
        .map_err(|e| Error::nats("publishing a status", e))?;
    Ok(())
}

/// Counts a finished delivery in `report`, freeing its slot.
fn tally(
    report: &mut WorkerReport,
    held: &mut [usize; 2],
    joined: std::result::Result<(usize, Result<Counted>), tokio::task::JoinError>,
) -> Result<()> {
    let (slot, counted) =
        joined.map_err(|e| Error::Invalid(format!("a job's task failed: {e}")))?;
    held[slot] -= 1;
    match counted? {
        Counted::Done => report.done += 1,
        Counted::Failed => report.failed += 1,
        Counted::HandedBack => report.handed_back += 1,
    }
    Ok(())
}

/// Runs one delivered job or camera to its end, and acknowledges it as that end says.
async fn handle(
    js: Context,
    message: Message,
    queue: Queue,
    limits: Limits,
    options: Arc<WorkerOptions>,
    stop: Arc<AtomicBool>,
    log: Log,
) -> Result<Counted> {
    let Limits {
        ack_wait,
        max_deliver,
    } = limits;
    let delivery = message.info().map_or(1, |i| i.delivered);
    // An acknowledgement is buffered by the client: flushing makes sure the server has it
    // before this goes on (a worker that stops exits right after handing its work back).
    let ack = |kind: AckKind| {
        let (message, js) = (&message, &js);
        async move {
            message
                .ack_with(kind)
                .await
                .map_err(|e| Error::nats("acknowledging a job", e))?;
            js.client()
                .flush()
                .await
                .map_err(|e| Error::nats("acknowledging a job", e))
        }
    };
    let status = |job: &str, source: &str, state: State| Status {
        job: job.to_string(),
        state,
        source: source.to_string(),
        worker: Some(options.name.clone()),
        delivery: Some(delivery),
        frames: None,
        output: None,
        error: None,
        wall_time_s: avad::live::wall_time_s(),
    };
    let job: Job = match serde_json::from_slice::<Job>(&message.payload) {
        Ok(job) if valid_job_id(&job.id) => job,
        parsed => {
            let id = message.subject.as_str().rsplit('.').next().unwrap_or("job");
            let error = match parsed {
                Ok(job) => format!("job id {:?}: letters, digits, - and _ only", job.id),
                Err(e) => format!("not a job: {e}"),
            };
            log(&format!("{id}: failed: {error}"));
            let mut failed = status(id, "", State::Failed);
            failed.error = Some(error);
            publish_status(&js, &failed).await?;
            ack(AckKind::Term).await?;
            return Ok(Counted::Failed);
        }
    };
    let source = job.source();
    publish_status(&js, &status(&job.id, &source, State::Running)).await?;
    let what = match queue {
        Queue::Jobs => "running",
        Queue::Cameras => "watching camera",
    };
    log(&format!(
        "{}: {what} {source} (delivery {delivery})",
        job.id
    ));

    // A watch ends at its next frame once `stop` is set; other work does not look at it,
    // and is handed back without waiting for it.
    let waits_for_stop = matches!(job.work, Work::Score { .. });
    let task = {
        let (js, job, stop, log) = (js.clone(), job.clone(), stop.clone(), log.clone());
        let threads = options.threads;
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let context = JobContext {
                queue,
                delivery,
                js: &js,
                handle: &handle,
                stop: &stop,
                threads,
                log: &log,
            };
            run_job(&job, &context)
        })
    };
    tokio::pin!(task);
    let mut progress = tokio::time::interval((ack_wait / 3).max(Duration::from_millis(100)));
    progress.tick().await;
    let mut watch_stop = tokio::time::interval(Duration::from_millis(100));
    let end = loop {
        tokio::select! {
            joined = &mut task => {
                break joined.unwrap_or_else(|e| JobEnd::Failed(format!("the job panicked: {e}")));
            }
            _ = progress.tick() => {
                // The worker still has the job: the server waits another ack_wait.
                let _ = message.ack_with(AckKind::Progress).await;
            }
            _ = watch_stop.tick(), if !waits_for_stop => {
                if stop.load(Ordering::SeqCst) {
                    break JobEnd::Stopped;
                }
            }
        }
    };
    let mut last = status(&job.id, &source, State::Done);
    let given_up = max_deliver > 0 && delivery >= max_deliver;
    Ok(match end {
        JobEnd::Done(outcome) => {
            last.frames = outcome.frames;
            last.output = outcome.output;
            publish_status(&js, &last).await?;
            message
                .double_ack()
                .await
                .map_err(|e| Error::nats("acknowledging a job", e))?;
            log(&format!("{}: done: {}", job.id, last.detail()));
            Counted::Done
        }
        JobEnd::Failed(error) => {
            last.state = State::Failed;
            last.error = Some(error.clone());
            publish_status(&js, &last).await?;
            ack(AckKind::Term).await?;
            log(&format!("{}: failed: {error}", job.id));
            Counted::Failed
        }
        JobEnd::Queue(error) if given_up => {
            last.state = State::Failed;
            last.error = Some(format!("after {delivery} deliveries: {error}"));
            publish_status(&js, &last).await?;
            ack(AckKind::Term).await?;
            log(&format!("{}: failed: {error}", job.id));
            Counted::Failed
        }
        JobEnd::Queue(error) => {
            ack(AckKind::Nak(Some(Duration::from_secs(1)))).await?;
            log(&format!("{}: handed back: {error}", job.id));
            Counted::HandedBack
        }
        JobEnd::Stopped => {
            last.state = State::Queued;
            publish_status(&js, &last).await?;
            ack(AckKind::Nak(None)).await?;
            log(&format!("{}: handed back (stopping)", job.id));
            Counted::HandedBack
        }
    })
}

/// Publishes a job's events to `avad.events.ID`, each with a message id made from the job
/// and the frame, and waits for the server to store each.
struct Publisher<'a> {
    js: &'a Context,
    handle: &'a Handle,
    job: &'a str,
    /// What message ids start with: the job's id for a recording, whose frames keep their
    /// numbers however often it is watched again; the job's id and the wall time the watch
    /// began for a live stream, whose frames do not.
    prefix: String,
    /// The error of a failed publication: the job is handed back, not failed.
    failed: Option<String>,
}

impl Publisher<'_> {
    fn message_id(&self, event: &Event) -> String {
        let p = &self.prefix;
        match event {
            Event::Start { frame, .. } => format!("{p}/start/{frame}"),
            Event::End { frame, .. } => format!("{p}/end/{frame}"),
            Event::Frame { frame, .. } => format!("{p}/frame/{frame}"),
            Event::Reconnect {
                attempt,
                after_frame,
                ..
            } => format!("{p}/reconnect/{after_frame}/{attempt}"),
            Event::Skipped { position, .. } => format!("{p}/skipped/{position}"),
            Event::Summary(_) => format!("{p}/summary"),
        }
    }
}

impl EventSink for Publisher<'_> {
    fn event(&mut self, event: &mut Event) -> avad::Result<()> {
        // A stopped watch's summary is not the job's: the next delivery publishes that one.
        if matches!(event, Event::Summary(s) if s.interrupted) {
            return Ok(());
        }
        let mut value = serde_json::to_value(&*event)?;
        value["job"] = self.job.into();
        let payload = serde_json::to_vec(&value)?;
        let id = self.message_id(event);
        let subject = subject("events", self.job);
        let js = self.js;
        let published = self.handle.block_on(async move {
            let publish = PublishMessage::build()
                .payload(payload.into())
                .message_id(id);
            match js.send_publish(subject, publish).await {
                Ok(stored) => stored.await,
                Err(e) => Err(e),
            }
        });
        published.map(|_| ()).map_err(|e| {
            self.failed = Some(e.to_string());
            avad::Error::invalid(format!("publishing an event: {e}"))
        })
    }
}

/// What a job runs with, besides the job.
struct JobContext<'a> {
    /// The queue it came from.
    queue: Queue,
    /// Which delivery of it this is (1 the first).
    delivery: i64,
    js: &'a Context,
    handle: &'a Handle,
    stop: &'a AtomicBool,
    /// Threads for visual windows and features (0: one per core).
    threads: usize,
    log: &'a Log,
}

/// Runs `job` to its end on this (blocking) thread.
fn run_job(job: &Job, context: &JobContext) -> JobEnd {
    let result = match &job.work {
        Work::Score { .. } => return score(job, context),
        Work::Features { audio, out, csv } => features(audio, out, *csv, context.threads),
        Work::Train { .. } => train(job, context),
    };
    match result {
        Ok(outcome) => JobEnd::Done(outcome),
        Err(e) => JobEnd::Failed(e.to_string()),
    }
}

/// A score job or a camera: the source watched from start to end (a camera on a live
/// stream: for as long as it runs, reopened whenever it drops), every event published.
fn score(job: &Job, context: &JobContext) -> JobEnd {
    let JobContext {
        queue,
        js,
        handle,
        stop,
        threads,
        ..
    } = *context;
    let Work::Score {
        source,
        sound,
        models,
        fps,
        hop,
    } = &job.work
    else {
        unreachable!("score() is called for score jobs");
    };
    let spec_live = SourceSpec::new(source).is_live();
    let mut publisher = Publisher {
        js,
        handle,
        job: &job.id,
        prefix: if spec_live {
            let ms = (avad::live::wall_time_s() * 1e3) as u64;
            format!("{}/{ms}", job.id)
        } else {
            job.id.clone()
        },
        failed: None,
    };
    let result = (|| -> avad::Result<usize> {
        let device = avad::cpu();
        let models = Models::load(models, &device, None)?;
        if models.visual().is_none() {
            return Err(avad::Error::Models(
                "a score job needs a visual model".into(),
            ));
        }
        let config = DetectorConfig {
            hop: *hop,
            workers: threads,
            ..DetectorConfig::default()
        };
        let mut detector = Detector::new(&models, config, &device)?;
        let spec = SourceSpec {
            source: source.clone(),
            sound: sound.clone().filter(|_| detector.needs_sound()),
            fps: *fps,
            ..SourceSpec::new(source)
        };
        let options = WatchOptions {
            source_name: source.clone(),
            live: spec.is_live(),
            // A camera is kept however long its stream is down; a job's stream is not.
            reconnect: match queue {
                Queue::Cameras => u32::MAX,
                Queue::Jobs => 3,
            },
            min_gap: 1,
            every_frame: true,
            fallback_fps: *fps,
        };
        let (size, needs_sound) = (detector.frame_size(), detector.needs_sound());
        let speed_size = detector.speed_frame_size();
        let mut open = || open_source(&spec, size, speed_size, needs_sound);
        let mut sinks: [&mut dyn EventSink; 1] = [&mut publisher];
        let summary = avad::watch(
            &mut detector,
            &mut open,
            &mut sinks,
            stop,
            &options,
            &mut |_| {},
        )?;
        if let Some(error) = summary.error {
            return Err(avad::Error::invalid(error));
        }
        Ok(summary.frames)
    })();
    match result {
        _ if stop.load(Ordering::SeqCst) => JobEnd::Stopped,
        Ok(frames) => JobEnd::Done(Outcome {
            frames: Some(frames),
            output: None,
        }),
        Err(_) if publisher.failed.is_some() => JobEnd::Queue(publisher.failed.unwrap_or_default()),
        Err(e) => JobEnd::Failed(e.to_string()),
    }
}

/// A features job: each recording's features written to the folder `out`, each file whole
/// or not at all (a delivery after a dead worker's writes them again, the same).
fn features(
    audio: &[std::path::PathBuf],
    out: &Path,
    csv: bool,
    threads: usize,
) -> avad::Result<Outcome> {
    use avad::features::{for_each_recording, output_paths, recording_paths, write_features};
    let config = avad::avad_features::FeatureConfig::default();
    let paths = recording_paths(audio)?;
    let targets = output_paths(&paths, out, if csv { "csv" } else { "npy" })?;
    std::fs::create_dir_all(out).map_err(|e| avad::Error::Io {
        path: out.to_path_buf(),
        error: e,
    })?;
    for_each_recording(&paths, &config, threads, &|i, _, f| {
        write_features(&targets[i], &f.matrix)
    })?;
    Ok(Outcome {
        frames: None,
        output: Some(out.display().to_string()),
    })
}

/// A training job: the model trained into `out`, on the CPU. A later delivery (its worker
/// died or was stopped) resumes the checkpoint the last one left, or, if that one finished
/// and only its acknowledgement was lost, takes the model it wrote.
fn train(job: &Job, context: &JobContext) -> avad::Result<Outcome> {
    use avad::out_dir::{refuse_inside, refuse_trained_model};
    let delivery = context.delivery;
    let Work::Train {
        model,
        dataset,
        normal_audio,
        out,
        preset,
        epochs,
        seed,
    } = &job.work
    else {
        unreachable!("train() is called for training jobs");
    };
    let done = Outcome {
        frames: None,
        output: Some(out.display().to_string()),
    };
    let card = out.join(avad::avad_model::model_dir::CARD_FILE);
    if card.is_file() && delivery > 1 {
        return Ok(done);
    }
    let preset = load_presets(*model, preset.as_deref(), *epochs, *seed)
        .map_err(|e| avad::Error::invalid(e.to_string()))?;
    let inputs: Vec<(&str, &Path)> = [
        ("the dataset", dataset),
        ("the recordings' folder", normal_audio),
    ]
    .into_iter()
    .filter_map(|(what, p)| p.as_deref().map(|p| (what, p)))
    .collect();
    refuse_inside(out, &inputs)?;
    let resume = !card.is_file() && out.join("checkpoint").is_dir();
    refuse_trained_model(
        out,
        resume,
        if *model == Trained::Visual {
            "checkpoint"
        } else {
            "checkpoints"
        },
        model.name(),
    )?;
    std::fs::create_dir_all(out).map_err(|e| avad::Error::Io {
        path: out.to_path_buf(),
        error: e,
    })?;
    let device = avad::cpu().autodiff();
    let progress = EpochLog {
        job: &job.id,
        log: context.log,
    };
    match preset {
        TrainPreset::Visual(preset) => {
            let dataset = dataset
                .as_deref()
                .ok_or_else(|| avad::Error::invalid("a visual model needs a dataset"))?;
            avad::train_visual(dataset, out, &preset, resume, &device, &progress)?;
        }
        TrainPreset::Audio(preset) => {
            let source = match (normal_audio, dataset) {
                (Some(dir), _) => avad::NormalSound::Recordings(dir),
                (None, Some(dataset)) => avad::NormalSound::Dataset(dataset),
                (None, None) => {
                    return Err(avad::Error::invalid(
                        "an audio model needs a dataset or a folder of normal recordings",
                    ))
                }
            };
            avad::train_audio(source, out, &preset, resume, &device, &progress)?;
        }
    }
    Ok(done)
}

/// A training job's progress: a line to the worker's log per epoch, and one when a
/// checkpoint is resumed.
struct EpochLog<'a> {
    job: &'a str,
    log: &'a Log,
}

impl avad::Progress for EpochLog<'_> {
    fn training(&self, label: &str) -> Box<dyn avad::avad_model::train::Progress + '_> {
        Box::new(EpochLines {
            prefix: format!("{}: {label}", self.job),
            log: self.log,
        })
    }
}

struct EpochLines<'a> {
    prefix: String,
    log: &'a Log,
}

impl avad::avad_model::train::Progress for EpochLines<'_> {
    fn epoch_done(&mut self, record: &avad::avad_model::train::EpochRecord, _best: bool) {
        let validation = record
            .validation_loss
            .map_or(String::new(), |v| format!(", validation loss {v:.5}"));
        (self.log)(&format!(
            "{}: epoch {}: train loss {:.5}{validation} ({:.1} s)",
            self.prefix, record.epoch, record.train_loss, record.seconds
        ));
    }

    fn resumed(&mut self, epoch: usize) {
        (self.log)(&format!("{}: resuming after epoch {epoch}", self.prefix));
    }
}
