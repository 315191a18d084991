//! avad on NATS JetStream: jobs on a work queue, workers that take them, and their events
//! and statuses on streams of their own.
//!
//! - **Jobs** ([`Job`]) go on the work-queue stream [`JOBS_STREAM`] (subject
//!   `avad.jobs.ID`), read by the durable pull consumer [`WORKERS`] with explicit
//!   acknowledgement, a bounded `ack_wait` and `max_deliver`. A worker sends in-progress
//!   acknowledgements while a job runs and acknowledges it only after every event of it is
//!   published (and the server has confirmed each). A worker that dies leaves its job
//!   unacknowledged: the server gives it to another after `ack_wait`.
//! - **Cameras** go on the work-queue stream [`CAMERAS_STREAM`] (subject
//!   `avad.cameras.ID`), read by the durable consumer [`CAMERA_WORKERS`]. A worker owns a
//!   camera for as long as it holds its message, sending in-progress acknowledgements while
//!   it watches. If the worker dies, the server gives the camera to another after
//!   `ack_wait`; a worker that is stopped hands its cameras back at once (a Nak). A camera
//!   is never given up: `max_deliver` is unlimited.
//! - **Jobs** of three kinds ([`Work`]): score a recording, extract audio features, train
//!   a model.
//! - **Events** go on [`EVENTS_STREAM`] (subject `avad.events.ID`): the JSON objects
//!   `avad watch` prints, with the job's id added. Each carries a `Nats-Msg-Id` made from
//!   the job and the frame (for a live stream, the job, the time its watch began and the
//!   frame), so a job run again publishes nothing twice.
//! - **Statuses** go on [`STATUS_STREAM`] (subject `avad.status.ID`, the latest of each
//!   job kept): queued, running, done or failed with its one-line error.
//!
//! [`worker::run`] is the worker; [`client`] submits jobs, follows events and lists jobs.

/// The NATS client, at the version this crate is built with.
pub use async_nats;

pub mod client;
pub mod job;
pub mod streams;
pub mod worker;

pub use job::{Job, State, Status, Trained, Work};
pub use streams::{
    Queue, QueueSettings, CAMERAS_STREAM, CAMERA_WORKERS, EVENTS_STREAM, JOBS_STREAM,
    STATUS_STREAM, WORKERS,
};

/// What can go wrong talking to NATS, or with what it holds.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server cannot be reached, or refused a request.
    #[error("{context}: {message}")]
    Nats {
        /// What was being done (with the server's URL where it matters).
        context: String,
        /// What the client library said.
        message: String,
    },
    /// A file or folder a job names that is not there.
    #[error("{}: no such {what}", path.display())]
    Missing {
        /// The path as given.
        path: std::path::PathBuf,
        /// What it should have been ("model folder", "frame folder or video file").
        what: &'static str,
    },
    /// A message that is not what it should be.
    #[error("{0}")]
    Invalid(String),
    /// The pipeline failed a job.
    #[error(transparent)]
    Avad(#[from] avad::Error),
}

impl Error {
    pub(crate) fn nats(context: impl Into<String>, e: impl std::fmt::Display) -> Self {
        Error::Nats {
            context: context.into(),
            message: e.to_string(),
        }
    }
}

/// This crate's results.
pub type Result<T> = std::result::Result<T, Error>;

/// Connects to the NATS server at `url` (`nats://host:port`), for JetStream.
pub async fn connect(url: &str) -> Result<async_nats::jetstream::Context> {
    let client = async_nats::ConnectOptions::new()
        .name("avad")
        .connect(url)
        .await
        .map_err(|e| Error::nats(format!("connecting to {url}"), e))?;
    Ok(async_nats::jetstream::new(client))
}
