//! The three streams and the workers' consumer, made if missing.

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::stream::{Config, RetentionPolicy, StorageType, Stream};
use async_nats::jetstream::Context;

use crate::{Error, Result};

/// The work-queue stream of jobs (subjects `avad.jobs.>`).
pub const JOBS_STREAM: &str = "AVAD_JOBS";
/// The stream of events (subjects `avad.events.>`).
pub const EVENTS_STREAM: &str = "AVAD_EVENTS";
/// The stream of job statuses, the latest of each job kept (subjects `avad.status.>`).
pub const STATUS_STREAM: &str = "AVAD_STATUS";
/// The durable pull consumer the workers share.
pub const WORKERS: &str = "workers";

/// The subject of job `id` on `stream` (`jobs`, `events` or `status`).
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

/// The jobs, events and status streams, made (on file storage) if missing.
pub async fn ensure_streams(js: &Context, settings: &QueueSettings) -> Result<[Stream; 3]> {
    let jobs = stream(
        js,
        Config {
            name: JOBS_STREAM.into(),
            subjects: vec!["avad.jobs.>".into()],
            retention: RetentionPolicy::WorkQueue,
            storage: StorageType::File,
            duplicate_window: settings.duplicate_window,
            ..Default::default()
        },
    )
    .await?;
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
    Ok([jobs, events, status])
}

/// The workers' durable pull consumer on the jobs stream, made if missing.
pub async fn workers_consumer(
    jobs: &Stream,
    settings: &QueueSettings,
) -> Result<Consumer<pull::Config>> {
    jobs.get_or_create_consumer(
        WORKERS,
        pull::Config {
            durable_name: Some(WORKERS.into()),
            ack_policy: AckPolicy::Explicit,
            ack_wait: settings.ack_wait,
            max_deliver: settings.max_deliver,
            ..Default::default()
        },
    )
    .await
    .map_err(|e| Error::nats(format!("consumer {WORKERS}"), e))
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
        assert!(keda.contains("type: nats-jetstream"), "{keda}");
        let worker = manifest("worker.yaml");
        assert!(worker.contains("kind: Deployment\nmetadata:\n  name: avad-worker"));
        assert!(
            keda.contains("scaleTargetRef:\n    name: avad-worker"),
            "{keda}"
        );
        assert!(worker.contains("args: [\"worker\", \"--nats\", \"nats://nats:4222\""));
        assert!(worker.contains("terminationGracePeriodSeconds:"));
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
        assert_eq!(subject("events", ">"), "avad.events.>");
    }
}
