//! What the commands that drive the workers do: submit jobs, follow events, list jobs.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::OrderedConfig;
use async_nats::jetstream::consumer::DeliverPolicy;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::Stream;
use async_nats::jetstream::Context;
use futures_util::StreamExt;

use crate::job::{Job, State, Status};
use crate::streams::{ensure_streams, subject, Queue, QueueSettings, CAMERA_WORKERS, WORKERS};
use crate::worker::publish_status;
use crate::{Error, Result};

/// Puts `jobs` on `queue`, each after its `queued` status. A job id already on the queue
/// within the duplicate window is not queued twice.
pub async fn submit(js: &Context, jobs: &[Job], queue: Queue) -> Result<()> {
    ensure_streams(js, &QueueSettings::default()).await?;
    for job in jobs {
        let status = Status {
            job: job.id.clone(),
            state: State::Queued,
            source: job.source(),
            worker: None,
            delivery: None,
            frames: None,
            output: None,
            error: None,
            wall_time_s: avad::live::wall_time_s(),
        };
        publish_status(js, &status).await?;
        let payload = serde_json::to_vec(job).map_err(|e| Error::Invalid(e.to_string()))?;
        let publish = PublishMessage::build()
            .payload(payload.into())
            .message_id(&job.id);
        js.send_publish(subject(queue.name(), &job.id), publish)
            .await
            .map_err(|e| Error::nats(format!("submitting {}", job.id), e))?
            .await
            .map_err(|e| Error::nats(format!("submitting {}", job.id), e))?;
    }
    Ok(())
}

/// Reads `stream`'s messages on `filter` from an ordered consumer (`deliver`), each to
/// `each`, until the stream has no more (or, with `follow`, until `each` says stop).
/// Returns how many were read.
async fn read(
    stream: &Stream,
    filter: String,
    deliver: DeliverPolicy,
    follow: bool,
    each: &mut dyn FnMut(&[u8]) -> Result<bool>,
) -> Result<usize> {
    let context = format!("reading {filter}");
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: filter,
            deliver_policy: deliver,
            ..Default::default()
        })
        .await
        .map_err(|e| Error::nats(&context, e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| Error::nats(&context, e))?;
    let mut read = 0;
    loop {
        // Caught up: when not following, a quiet second means there is no more.
        let next = if follow {
            messages.next().await
        } else {
            match tokio::time::timeout(Duration::from_secs(1), messages.next()).await {
                Ok(next) => next,
                Err(_) => break,
            }
        };
        let Some(message) = next else { break };
        let message = message.map_err(|e| Error::nats(&context, e))?;
        read += 1;
        if !each(&message.payload)? {
            break;
        }
        let pending = message.info().map_or(1, |i| i.pending);
        if !follow && pending == 0 {
            break;
        }
    }
    Ok(read)
}

/// The events of job `job` (or of every job), in order, each to `each` as the JSON text
/// a worker published; with `follow`, new ones as they come, until `each` returns false.
pub async fn events(
    js: &Context,
    job: Option<&str>,
    follow: bool,
    each: &mut dyn FnMut(&[u8]) -> Result<bool>,
) -> Result<usize> {
    let streams = ensure_streams(js, &QueueSettings::default()).await?;
    let filter = subject("events", job.unwrap_or(">"));
    read(&streams.events, filter, DeliverPolicy::All, follow, each).await
}

/// What `avad jobs` lists: every job's and camera's latest status, and the two queues as
/// the workers' consumers count them.
#[derive(Clone, Debug)]
pub struct JobList {
    /// Every job's and camera's latest status, oldest first.
    pub statuses: Vec<Status>,
    /// Jobs on the queue that no worker has taken (all of them before any worker started).
    pub waiting: u64,
    /// Jobs a worker holds and has not yet acknowledged.
    pub taken: usize,
    /// Cameras that no worker watches.
    pub cameras_waiting: u64,
    /// Cameras a worker watches.
    pub cameras_watched: usize,
}

impl JobList {
    /// The jobs in `state`.
    pub fn count(&self, state: State) -> usize {
        self.statuses.iter().filter(|s| s.state == state).count()
    }
}

/// A summary line, then a line per job: id, state, worker, source and detail.
impl std::fmt::Display for JobList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} jobs: {} queued, {} running, {} done, {} failed (the queue holds {} waiting, {} taken; cameras: {} waiting, {} watched)",
            self.statuses.len(),
            self.count(State::Queued),
            self.count(State::Running),
            self.count(State::Done),
            self.count(State::Failed),
            self.waiting,
            self.taken,
            self.cameras_waiting,
            self.cameras_watched,
        )?;
        for s in &self.statuses {
            writeln!(
                f,
                "{:<40} {:<8} {:<24} {}  {}",
                s.job,
                s.state.name(),
                s.worker.as_deref().unwrap_or("-"),
                s.source,
                s.detail()
            )?;
        }
        Ok(())
    }
}

/// How many messages of `stream` wait for the consumer `consumer`, and how many it has
/// handed out unacknowledged (all waiting before the consumer exists).
async fn queue_counts(
    stream: &mut async_nats::jetstream::stream::Stream,
    consumer: &str,
) -> Result<(u64, usize)> {
    Ok(match stream.consumer_info(consumer).await {
        Ok(info) => (info.num_pending, info.num_ack_pending),
        Err(_) => {
            let info = stream
                .info()
                .await
                .map_err(|e| Error::nats("reading a queue's stream", e))?;
            (info.state.messages, 0)
        }
    })
}

/// The jobs and the queues (see [`JobList`]).
pub async fn jobs(js: &Context) -> Result<JobList> {
    let mut streams = ensure_streams(js, &QueueSettings::default()).await?;
    let mut statuses = Vec::new();
    read(
        &streams.status,
        subject("status", ">"),
        DeliverPolicy::LastPerSubject,
        false,
        &mut |payload| {
            let s: Status = serde_json::from_slice(payload)
                .map_err(|e| Error::Invalid(format!("a status that does not parse: {e}")))?;
            statuses.push(s);
            Ok(true)
        },
    )
    .await?;
    let (waiting, taken) = queue_counts(&mut streams.jobs, WORKERS).await?;
    let (cameras_waiting, cameras_watched) =
        queue_counts(&mut streams.cameras, CAMERA_WORKERS).await?;
    Ok(JobList {
        statuses,
        waiting,
        taken,
        cameras_waiting,
        cameras_watched,
    })
}
