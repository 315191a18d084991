//! The four streams and the workers' two consumers, made if missing.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::stream::{Config, RetentionPolicy, StorageType, Stream};
use async_nats::jetstream::Context;

use crate::{Error, Result};

/// The work-queue stream of jobs (subjects `avad.jobs.>`).
pub const JOBS_STREAM: &str = "AVAD_JOBS";
/// The work-queue stream of cameras (subjects `avad.cameras.>`): a worker owns a camera
/// while it holds its message unacknowledged.
pub const CAMERAS_STREAM: &str = "AVAD_CAMERAS";
/// The stream of events (subjects `avad.events.>`).
pub const EVENTS_STREAM: &str = "AVAD_EVENTS";
/// The stream of job statuses, the latest of each job kept (subjects `avad.status.>`).
pub const STATUS_STREAM: &str = "AVAD_STATUS";
/// The durable pull consumer of jobs the workers share.
pub const WORKERS: &str = "workers";
/// The durable pull consumer of cameras the workers share.
pub const CAMERA_WORKERS: &str = "camera-workers";

/// Where a job is queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    /// [`JOBS_STREAM`]: work with an end (a recording, features, training), one at a time
    /// per worker, given up after `max_deliver` deliveries.
    Jobs,
    /// [`CAMERAS_STREAM`]: a camera (or a recording standing in for one), watched for as
    /// long as it delivers frames, up to `--max-streams` per worker, handed to another
    /// worker whenever its owner dies or stops, however many times.
    Cameras,
}

impl Queue {
    /// The subject token: `jobs` or `cameras`.
    pub fn name(self) -> &'static str {
        match self {
            Queue::Jobs => "jobs",
            Queue::Cameras => "cameras",
        }
    }
}

/// The subject of job `id` on `stream` (`jobs`, `cameras`, `events` or `status`).
pub fn subject(stream: &str, id: &str) -> String {
    format!("avad.{stream}.{id}")
}

/// The workers' consumer settings, fixed by whoever makes the consumer first (the first
/// worker to start); a consumer that exists keeps its own.
#[derive(Clone, Copy, Debug)]
pub struct QueueSettings {
    /// How long a job may go without an acknowledgement (workers send one every third of
    /// it while a job runs) before the server gives it to another worker.
    pub ack_wait: Duration,
    /// How many times a job is delivered before it is given up.
    pub max_deliver: i64,
    /// How long a published message's id is remembered, to drop a second publication
    /// (a job run again after its worker died).
    pub duplicate_window: Duration,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            ack_wait: Duration::from_secs(30),
            max_deliver: 3,
            duplicate_window: Duration::from_secs(3600),
        }
    }
}

async fn stream(js: &Context, config: Config) -> Result<Stream> {
    let name = config.name.clone();
    js.get_or_create_stream(config)
        .await
        .map_err(|e| Error::nats(format!("stream {name}"), e))
}

/// The streams, as [`ensure_streams`] returns them.
pub struct Streams {
    pub jobs: Stream,
    pub cameras: Stream,
    pub events: Stream,
    pub status: Stream,
}

/// The jobs, cameras, events and status streams, made (on file storage) if missing.
pub async fn ensure_streams(js: &Context, settings: &QueueSettings) -> Result<Streams> {
    let queue = |name: &str, subject: &str| Config {
        name: name.into(),
        subjects: vec![subject.into()],
        retention: RetentionPolicy::WorkQueue,
        storage: StorageType::File,
        duplicate_window: settings.duplicate_window,
        ..Default::default()
    };
    let jobs = stream(js, queue(JOBS_STREAM, "avad.jobs.>")).await?;
    let cameras = stream(js, queue(CAMERAS_STREAM, "avad.cameras.>")).await?;
    let events = stream(
        js,
        Config {
            name: EVENTS_STREAM.into(),
            subjects: vec!["avad.events.>".into()],
            storage: StorageType::File,
            duplicate_window: settings.duplicate_window,
            ..Default::default()
        },
    )
    .await?;
    let status = stream(
        js,
        Config {
            name: STATUS_STREAM.into(),
            subjects: vec!["avad.status.>".into()],
            storage: StorageType::File,
            max_messages_per_subject: 1,
            ..Default::default()
        },
    )
    .await?;
    Ok(Streams {
        jobs,
        cameras,
        events,
        status,
    })
}

/// The workers' durable pull consumer on `queue`'s stream, made if missing. Jobs are
/// given up after `max_deliver` deliveries; cameras never are.
pub async fn workers_consumer(
    streams: &Streams,
    queue: Queue,
    settings: &QueueSettings,
) -> Result<Consumer<pull::Config>> {
    let (stream, name, max_deliver) = match queue {
        Queue::Jobs => (&streams.jobs, WORKERS, settings.max_deliver),
        Queue::Cameras => (&streams.cameras, CAMERA_WORKERS, -1),
    };
    stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: settings.ack_wait,
                max_deliver,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| Error::nats(format!("consumer {name}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str) -> String {
        let path = format!(
            "{}/../../deploy/kubernetes/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The Kubernetes manifests name the stream, the consumer and the deployment the code
    /// and each other use (the API schemas are checked by scripts/validate_manifests.sh).
    #[test]
    fn the_manifests_name_what_the_workers_use() {
        let keda = manifest("keda-scaledobject.yaml");
        assert!(
            keda.contains(&format!("stream: \"{JOBS_STREAM}\"")),
            "{keda}"
        );
        assert!(keda.contains(&format!("consumer: \"{WORKERS}\"")), "{keda}");
        assert!(
            keda.contains(&format!(
                "stream: \"{CAMERAS_STREAM}\"\n        consumer: \"{CAMERA_WORKERS}\"\n        lagThreshold: \"2\""
            )),
            "{keda}"
        );
        assert!(keda.contains("type: nats-jetstream"), "{keda}");
        let worker = manifest("worker.yaml");
        assert!(worker.contains("kind: Deployment\nmetadata:\n  name: avad-worker"));
        assert!(
            keda.contains("scaleTargetRef:\n    name: avad-worker"),
            "{keda}"
        );
        assert!(worker.contains("args: [\"worker\", \"--nats\", \"nats://nats:4222\""));
        assert!(worker.contains("terminationGracePeriodSeconds:"));
        // One worker per two cameras in the ScaledObject: each watches up to two.
        assert!(worker.contains("\"--max-streams\", \"2\"]"), "{worker}");
        let nats = manifest("nats.yaml");
        assert!(
            nats.contains("jetstream {") && nats.contains("store_dir:"),
            "{nats}"
        );
        // The monitoring port KEDA reads the consumer's lag from.
        assert!(nats.contains("http: 0.0.0.0:8222") && keda.contains(":8222"));
    }

    #[test]
    fn subjects_are_per_stream_and_job() {
        assert_eq!(subject("jobs", "clip01-1a"), "avad.jobs.clip01-1a");
        assert_eq!(subject(Queue::Cameras.name(), "gate"), "avad.cameras.gate");
        assert_eq!(subject("events", ">"), "avad.events.>");
    }
}
