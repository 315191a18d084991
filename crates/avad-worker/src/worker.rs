//! The worker: takes jobs off the queue one at a time, runs each through the live
//! detector, publishes its events, and acknowledges it only when they are all published.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{AckKind, Context, Message};
use avad::live::{open_source, SourceSpec};
use avad::{Detector, DetectorConfig, Event, EventSink, Models, WatchOptions};
use futures_util::StreamExt;
use tokio::runtime::Handle;

use crate::job::{valid_job_id, Job, State, Status, Work};
use crate::streams::{ensure_streams, subject, workers_consumer, QueueSettings};
use crate::{Error, Result};

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
    /// The consumer's settings, if this worker makes it.
    pub settings: QueueSettings,
    /// Threads that score visual windows per job (0: one per core).
    pub threads: usize,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".into());
        WorkerOptions {
            name: format!("{host}-{}", std::process::id()),
            settings: QueueSettings::default(),
            threads: 0,
        }
    }
}

/// What a worker did before it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub done: usize,
    pub failed: usize,
    /// Jobs handed back unfinished (the worker was stopped, or NATS failed mid-job).
    pub handed_back: usize,
}

/// How a job ended.
enum JobEnd {
    /// Every event published: frames scored.
    Done(usize),
    /// The job cannot succeed (a missing or corrupt input, a model that does not load).
    Failed(String),
    /// Publishing failed: another delivery may succeed.
    Queue(String),
    /// The worker was asked to stop.
    Stopped,
}

/// Runs a worker on `js` until `stop` is set: one job at a time, each handed back at
/// once (a Nak) if `stop` is set while it runs. `log` gets a line when the worker is
/// ready, and one per job.
pub async fn run(
    js: Context,
    options: &WorkerOptions,
    stop: Arc<AtomicBool>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<WorkerReport> {
    let [jobs, _, _] = ensure_streams(&js, &options.settings).await?;
    let consumer = workers_consumer(&jobs, &options.settings).await?;
    let config = &consumer.cached_info().config;
    let (ack_wait, max_deliver) = (config.ack_wait, config.max_deliver);
    let mut report = WorkerReport::default();
    log(&format!(
        "waiting for jobs (ack_wait {:.1} s, max_deliver {max_deliver})",
        ack_wait.as_secs_f64()
    ));
    while !stop.load(Ordering::SeqCst) {
        let mut batch = consumer
            .batch()
            .max_messages(1)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .map_err(|e| Error::nats("asking for a job", e))?;
        while let Some(message) = batch.next().await {
            let message = message.map_err(|e| Error::nats("receiving a job", e))?;
            let end = handle(&js, &message, options, (ack_wait, max_deliver), &stop, log).await?;
            let delivery = message.info().map_or(1, |i| i.delivered);
            match end {
                JobEnd::Done(_) => report.done += 1,
                JobEnd::Failed(_) => report.failed += 1,
                JobEnd::Queue(_) if max_deliver > 0 && delivery >= max_deliver => {
                    report.failed += 1
                }
                JobEnd::Queue(_) | JobEnd::Stopped => report.handed_back += 1,
            }
        }
    }
    Ok(report)
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

/// Runs one delivered job to its end, and acknowledges it as that end says.
async fn handle(
    js: &Context,
    message: &Message,
    options: &WorkerOptions,
    (ack_wait, max_deliver): (Duration, i64),
    stop: &Arc<AtomicBool>,
    log: &(dyn Fn(&str) + Sync),
) -> Result<JobEnd> {
    let delivery = message.info().map_or(1, |i| i.delivered);
    let ack = |kind: AckKind| async move {
        message
            .ack_with(kind)
            .await
            .map_err(|e| Error::nats("acknowledging a job", e))
    };
    let status = |job: &str, source: &str, state: State| Status {
        job: job.to_string(),
        state,
        source: source.to_string(),
        worker: Some(options.name.clone()),
        delivery: Some(delivery),
        frames: None,
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
            failed.error = Some(error.clone());
            publish_status(js, &failed).await?;
            ack(AckKind::Term).await?;
            return Ok(JobEnd::Failed(error));
        }
    };
    publish_status(js, &status(&job.id, job.source(), State::Running)).await?;
    log(&format!(
        "{}: running {} (delivery {delivery})",
        job.id,
        job.source()
    ));

    let task = {
        let (js, job, stop, threads) = (js.clone(), job.clone(), stop.clone(), options.threads);
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || run_job(&job, &js, &handle, &stop, threads))
    };
    tokio::pin!(task);
    let mut progress = tokio::time::interval((ack_wait / 3).max(Duration::from_millis(100)));
    progress.tick().await;
    let end = loop {
        tokio::select! {
            joined = &mut task => {
                break joined.unwrap_or_else(|e| JobEnd::Failed(format!("the job panicked: {e}")));
            }
            _ = progress.tick() => {
                // The worker still has the job: the server waits another ack_wait.
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    let mut last = status(&job.id, job.source(), State::Done);
    match &end {
        JobEnd::Done(frames) => {
            last.frames = Some(*frames);
            publish_status(js, &last).await?;
            message
                .double_ack()
                .await
                .map_err(|e| Error::nats("acknowledging a job", e))?;
            log(&format!("{}: done, {frames} frames", job.id));
        }
        JobEnd::Failed(error) => {
            last.state = State::Failed;
            last.error = Some(error.clone());
            publish_status(js, &last).await?;
            ack(AckKind::Term).await?;
            log(&format!("{}: failed: {error}", job.id));
        }
        JobEnd::Queue(error) if max_deliver > 0 && delivery >= max_deliver => {
            last.state = State::Failed;
            last.error = Some(format!("after {delivery} deliveries: {error}"));
            publish_status(js, &last).await?;
            ack(AckKind::Term).await?;
            log(&format!("{}: failed: {error}", job.id));
        }
        JobEnd::Queue(error) => {
            ack(AckKind::Nak(Some(Duration::from_secs(1)))).await?;
            log(&format!("{}: handed back: {error}", job.id));
        }
        JobEnd::Stopped => {
            last.state = State::Queued;
            publish_status(js, &last).await?;
            ack(AckKind::Nak(None)).await?;
            log(&format!("{}: handed back (stopping)", job.id));
        }
    }
    Ok(end)
}

/// Publishes a job's events to `avad.events.ID`, each with a message id of the job and
/// the frame, and waits for the server to store each.
struct Publisher<'a> {
    js: &'a Context,
    handle: &'a Handle,
    job: &'a str,
    /// The error of a failed publication: the job is handed back, not failed.
    failed: Option<String>,
}

impl Publisher<'_> {
    fn message_id(&self, event: &Event) -> String {
        let job = self.job;
        match event {
            Event::Start { frame, .. } => format!("{job}/start/{frame}"),
            Event::End { frame, .. } => format!("{job}/end/{frame}"),
            Event::Frame { frame, .. } => format!("{job}/frame/{frame}"),
            Event::Reconnect {
                attempt,
                after_frame,
                ..
            } => format!("{job}/reconnect/{after_frame}/{attempt}"),
            Event::Skipped { position, .. } => format!("{job}/skipped/{position}"),
            Event::Summary(_) => format!("{job}/summary"),
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

/// Runs `job` to its end on this (blocking) thread.
fn run_job(job: &Job, js: &Context, handle: &Handle, stop: &AtomicBool, threads: usize) -> JobEnd {
    let Work::Score {
        source,
        sound,
        models,
        fps,
        hop,
    } = &job.work;
    let mut publisher = Publisher {
        js,
        handle,
        job: &job.id,
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
            reconnect: 0,
            min_gap: 1,
            every_frame: true,
            fallback_fps: *fps,
        };
        let (size, needs_sound) = (detector.frame_size(), detector.needs_sound());
        let mut open = || open_source(&spec, size, needs_sound);
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
        Ok(frames) => JobEnd::Done(frames),
        Err(_) if publisher.failed.is_some() => JobEnd::Queue(publisher.failed.unwrap_or_default()),
        Err(e) => JobEnd::Failed(e.to_string()),
    }
}
