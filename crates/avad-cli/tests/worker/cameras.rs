//! Cameras on their own queue: owned by one worker at a time, moved to another when the
//! owner dies (after ack_wait) or stops (at once), several watched by one worker.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    all_events, avad, frames_of, long_clip, nats, ok, statuses, submit_with, wait_for,
    wait_for_frames, Nats, Worker,
};

/// Waits (at most `limit`) until camera `id`'s status is `running` by `worker`: how long
/// that took.
fn wait_for_owner(nats: &Nats, id: &str, worker: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let s = statuses(nats);
        if s[id]["state"] == "running" && s[id]["worker"] == worker {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < limit,
            "{id} not taken by {worker}: {}",
            s[id]
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The camera's frames were each published once, all `total` of them, and it ended done
/// with `worker`.
fn assert_watched_once(nats: &Nats, id: &str, total: usize, worker: &str) {
    let after = wait_for(nats, &[id.to_string()], Duration::from_secs(180));
    let status = &after[id];
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["worker"], worker, "{status}");
    assert!(status["delivery"].as_i64().unwrap() >= 2, "{status}");
    let frames = frames_of(&all_events(nats), id);
    assert_eq!(
        frames.keys().copied().collect::<Vec<_>>(),
        (1..=total as u64).collect::<Vec<_>>()
    );
}

/// A camera's owner is killed (SIGKILL) while it watches: a worker standing by takes the
/// camera once ack_wait (2 s) has passed without an acknowledgement, and no frame of the
/// camera is published twice.
#[test]
fn a_camera_goes_to_another_worker_when_its_owner_dies() {
    let Some(nats) = nats("a_camera_goes_to_another_worker_when_its_owner_dies") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (camera, total) = long_clip(dir.path(), "camera", 100);
    let owner = Worker::start(&nats, "owner", &["--ack-wait", "2"]);
    let id = submit_with(&nats, &["--camera"], &[&camera]).remove(0);
    wait_for_frames(&nats, &id, 1, total);
    wait_for_owner(&nats, &id, "owner", Duration::from_secs(10));
    let standby = Worker::start(&nats, "standby", &[]);
    drop(owner); // SIGKILL
                 // Within ack_wait, and a margin for a loaded machine.
    let taken = wait_for_owner(&nats, &id, "standby", Duration::from_secs(30));
    assert!(taken < Duration::from_secs(2 + 5), "taken after {taken:?}");
    assert_watched_once(&nats, &id, total, "standby");
    let table = ok(&avad(&["jobs", "--nats", &nats.url]));
    assert!(table.contains("cameras: 0 waiting, 0 watched"), "{table}");
    let (code, err) = standby.stop();
    assert!(code.success(), "{err}");
}

/// SIGTERM makes the owner hand its camera back at once: another worker has it long before
/// ack_wait (120 s) would have passed, and no frame is published twice.
#[test]
fn a_stopped_worker_hands_its_camera_back_at_once() {
    let Some(nats) = nats("a_stopped_worker_hands_its_camera_back_at_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (camera, total) = long_clip(dir.path(), "camera", 100);
    let owner = Worker::start(&nats, "owner", &["--ack-wait", "120"]);
    let id = submit_with(&nats, &["--camera"], &[&camera]).remove(0);
    wait_for_frames(&nats, &id, 1, total);
    let heir = Worker::start(&nats, "heir", &[]);
    let (code, said) = owner.stop();
    assert!(code.success(), "{said}");
    assert!(
        said.contains(&format!("{id}: handed back (stopping)")),
        "{said}"
    );
    let taken = wait_for_owner(&nats, &id, "heir", Duration::from_secs(60));
    assert!(taken < Duration::from_secs(20), "taken after {taken:?}");
    assert_watched_once(&nats, &id, total, "heir");
    let (code, err) = heir.stop();
    assert!(code.success(), "{err}");
}

/// A worker with `--max-streams 2` watches two of three cameras at once and the third
/// after one of them ends; every frame of each is published once.
#[test]
fn one_worker_watches_max_streams_cameras_at_once() {
    let Some(nats) = nats("one_worker_watches_max_streams_cameras_at_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cameras: Vec<_> = (0..3)
        .map(|i| long_clip(dir.path(), &format!("camera{i}"), 50))
        .collect();
    let worker = Worker::start(&nats, "w", &["--max-streams", "2"]);
    let sources: Vec<&Path> = cameras.iter().map(|(p, _)| p.as_path()).collect();
    let ids = submit_with(&nats, &["--camera"], &sources);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = statuses(&nats);
        let running = ids.iter().filter(|id| s[*id]["state"] == "running").count();
        if running == 2 {
            let queued = ids.iter().filter(|id| s[*id]["state"] == "queued").count();
            assert_eq!(queued, 1, "{s:?}");
            break;
        }
        assert!(running < 3, "three cameras at once: {s:?}");
        assert!(Instant::now() < deadline, "never two at once: {s:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let done = wait_for(&nats, &ids, Duration::from_secs(300));
    let published = all_events(&nats);
    for (id, (_, total)) in ids.iter().zip(&cameras) {
        assert_eq!(done[id]["state"], "done", "{}", done[id]);
        assert_eq!(frames_of(&published, id).len(), *total, "{id}");
    }
    let (code, err) = worker.stop();
    assert!(code.success(), "{err}");
    assert!(err.contains("up to 2 cameras"), "{err}");
    assert!(err.contains("3 done, 0 failed"), "{err}");
}
