//! `avad worker`, `avad submit`, `avad events` and `avad jobs` against a real NATS server
//! with JetStream (`nats-server -js`, started here on a free loopback port in a temporary
//! folder). Without `nats-server` the tests say so and pass, unless `CI` is set: then they
//! fail.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[path = "worker/cameras.rs"]
mod cameras;
mod common;
#[path = "worker/work.rs"]
mod work;
use common::{arg, assert_fails_naming, avad, events, ok, synth_scene, tiny_preset};

/// A `nats-server -js` of its own; killed when dropped.
struct Nats {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server_binary() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

/// A fresh server, or None (and a line saying the test is skipped) without `nats-server`.
fn nats(test: &str) -> Option<Nats> {
    let Some(binary) = nats_server_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: nats-server is not installed (apt-get install nats-server), and CI is set"
        );
        eprintln!("{test}: SKIPPED: nats-server is not installed (apt-get install nats-server)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Nats {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _dir: dir,
    })
}

/// The synthetic scene and a tiny visual model trained on it, made once.
struct Fixture {
    _dir: tempfile::TempDir,
    scene: PathBuf,
    model: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scene = synth_scene(dir.path());
        let preset = tiny_preset(dir.path());
        let model = dir.path().join("model");
        ok(&avad(&[
            "train",
            "visual",
            arg(&scene),
            "--out",
            arg(&model),
            "--preset",
            &preset,
        ]));
        Fixture {
            _dir: dir,
            scene,
            model,
        }
    })
}

/// The scene's five clips (3 training, 2 test) as frame folders.
fn clips() -> Vec<PathBuf> {
    let s = &fixture().scene;
    let mut clips = Vec::new();
    for split in ["train", "test"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(s.join(split))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        names.sort();
        clips.extend(names);
    }
    clips
}

/// A worker process and what it has said on stderr; killed (SIGKILL) when dropped.
struct Worker {
    child: Child,
    stderr: BufReader<std::process::ChildStderr>,
    said: String,
}

impl Worker {
    /// Starts a worker and waits until it is ready for jobs (its consumer made).
    fn start(nats: &Nats, name: &str, more: &[&str]) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_avad"))
            .args(["worker", "--nats", &nats.url, "--name", name])
            .args(["--workers", "1"])
            .args(more)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let mut worker = Worker {
            child,
            stderr,
            said: String::new(),
        };
        loop {
            let mut line = String::new();
            let n = worker.stderr.read_line(&mut line).unwrap();
            assert!(
                n > 0,
                "worker {name} ended before it was ready: {}",
                worker.said
            );
            worker.said.push_str(&line);
            if line.contains("waiting for jobs") {
                return worker;
            }
        }
    }

    /// SIGTERM, then its exit status and all it said.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        // SAFETY: a signal to a child process we started and have not reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stderr, &mut rest);
        self.said.push_str(&rest);
        let status = self.child.wait().unwrap();
        (status, std::mem::take(&mut self.said))
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `avad submit` of `sources` with the fixture's model: the job ids, in order.
fn submit(nats: &Nats, sources: &[&Path]) -> Vec<String> {
    submit_with(nats, &[], sources)
}

/// `avad submit` of `sources` with the fixture's model and the options `more`: the job
/// ids, in order.
fn submit_with(nats: &Nats, more: &[&str], sources: &[&Path]) -> Vec<String> {
    let m = arg(&fixture().model);
    let mut argv = vec!["submit", "--nats", &nats.url, "--model", m];
    argv.extend(more);
    argv.extend(sources.iter().map(|s| arg(s)));
    events(&ok(&avad(&argv)))
        .iter()
        .map(|j| j["job"].as_str().unwrap().to_string())
        .collect()
}

/// `avad jobs --json`: each job's latest status by id.
fn statuses(nats: &Nats) -> HashMap<String, serde_json::Value> {
    events(&ok(&avad(&["jobs", "--json", "--nats", &nats.url])))
        .into_iter()
        .map(|s| (s["job"].as_str().unwrap().to_string(), s))
        .collect()
}

/// Waits until every job in `ids` is done or failed (at most `limit`).
fn wait_for(nats: &Nats, ids: &[String], limit: Duration) -> HashMap<String, serde_json::Value> {
    let deadline = Instant::now() + limit;
    loop {
        let s = statuses(nats);
        let finished = ids.iter().all(|id| {
            s.get(id)
                .is_some_and(|st| st["state"] == "done" || st["state"] == "failed")
        });
        if finished {
            return s;
        }
        assert!(Instant::now() < deadline, "jobs not finished: {s:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The first test clip's 40 frames, `copies` times over (links to them), as the frame
/// folder `dir/name`: the folder and its number of frames.
fn long_clip(dir: &Path, name: &str, copies: usize) -> (PathBuf, usize) {
    let clip = &clips()[3];
    let mut names: Vec<PathBuf> = std::fs::read_dir(clip)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    names.sort();
    let long = dir.join(name);
    std::fs::create_dir(&long).unwrap();
    let total = copies * names.len();
    for k in 0..total {
        std::os::unix::fs::symlink(
            &names[k % names.len()],
            long.join(format!("{:05}.png", k + 1)),
        )
        .unwrap();
    }
    (long, total)
}

/// Waits (at most a minute) until job `id` has published at least `n` frames, and fails if
/// it has published all `total` (the job would have ended before what the test does next).
fn wait_for_frames(nats: &Nats, id: &str, n: usize, total: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let published = frames_of(&all_events(nats), id).len();
        if published >= n {
            assert!(
                published < total,
                "{id} finished before the test could act on it: make it longer"
            );
            return published;
        }
        assert!(
            Instant::now() < deadline,
            "{id}: {published} frames published, waiting for {n}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every event the workers published (`avad events`).
fn all_events(nats: &Nats) -> Vec<serde_json::Value> {
    events(&ok(&avad(&["events", "--nats", &nats.url])))
}

/// A job's frame events by frame number; fails on a frame published twice.
fn frames_of(events: &[serde_json::Value], job: &str) -> BTreeMap<u64, serde_json::Value> {
    let mut frames = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e["job"] == job && e["event"] == "frame")
    {
        let n = e["frame"].as_u64().unwrap();
        assert!(
            frames.insert(n, e.clone()).is_none(),
            "{job}: frame {n} twice"
        );
    }
    frames
}

/// Three workers over the scene's five clips publish, for each, exactly the frame events
/// `avad watch --every-frame` prints for it locally, each frame once, and share the work.
#[test]
fn three_workers_publish_what_watch_prints_locally() {
    let Some(nats) = nats("three_workers_publish_what_watch_prints_locally") else {
        return;
    };
    let clips = clips();
    let workers: Vec<Worker> = (0..3)
        .map(|i| Worker::start(&nats, &format!("w{i}"), &[]))
        .collect();
    let sources: Vec<&Path> = clips.iter().map(PathBuf::as_path).collect();
    let ids = submit(&nats, &sources);
    assert_eq!(ids.len(), clips.len());
    let statuses = wait_for(&nats, &ids, Duration::from_secs(180));
    let published = all_events(&nats);
    let m = arg(&fixture().model);
    for (id, clip) in ids.iter().zip(&clips) {
        let status = &statuses[id];
        assert_eq!(status["state"], "done", "{status}");
        let local = ok(&avad(&["watch", arg(clip), "--model", m, "--every-frame"]));
        let local: Vec<serde_json::Value> = events(&local)
            .into_iter()
            .filter(|e| e["event"] == "frame")
            .collect();
        let remote = frames_of(&published, id);
        assert_eq!(remote.len(), local.len(), "{id}");
        assert_eq!(status["frames"].as_u64(), Some(local.len() as u64));
        for l in &local {
            let r = &remote[&l["frame"].as_u64().unwrap()];
            for key in ["video_error", "video_regularity", "regularity", "anomalous"] {
                assert_eq!(r[key], l[key], "{id} frame {}: {key}", l["frame"]);
            }
        }
        // The episodes too: the same starts and ends.
        let episodes =
            |events: &mut dyn Iterator<Item = &serde_json::Value>| -> Vec<(String, u64)> {
                events
                    .filter(|e| e["event"] == "start" || e["event"] == "end")
                    .map(|e| (e["event"].to_string(), e["frame"].as_u64().unwrap()))
                    .collect()
            };
        let local_all = events(&ok(&avad(&["watch", arg(clip), "--model", m])));
        assert_eq!(
            episodes(&mut published.iter().filter(|e| e["job"] == id.as_str())),
            episodes(&mut local_all.iter()),
            "{id}"
        );
    }
    // Each of the three took a share of the five.
    let mut by_worker: HashMap<String, usize> = HashMap::new();
    for id in &ids {
        *by_worker
            .entry(statuses[id]["worker"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(by_worker.len(), 3, "every worker took a job: {by_worker:?}");
    for w in workers {
        let (status, err) = w.stop();
        assert!(status.success(), "{err}");
        assert!(err.contains("stopped:"), "{err}");
    }
}

/// A worker killed (SIGKILL) in the middle of a long job: the job goes to another worker
/// after ack_wait, and every frame of it is published exactly once.
#[test]
fn a_job_whose_worker_is_killed_is_redelivered_and_no_frame_repeats() {
    let Some(nats) = nats("a_job_whose_worker_is_killed_is_redelivered_and_no_frame_repeats")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (long, total) = long_clip(dir.path(), "long", 100);
    let first = Worker::start(&nats, "doomed", &["--ack-wait", "2"]);
    let id = submit(&nats, &[&long]).remove(0);
    // Killed once it has published some of the job's frames.
    wait_for_frames(&nats, &id, 1, total);
    drop(first); // SIGKILL
    let before = statuses(&nats)[&id].clone();
    assert_eq!(before["state"], "running", "{before}");
    let second = Worker::start(&nats, "heir", &[]);
    let after = wait_for(&nats, std::slice::from_ref(&id), Duration::from_secs(120));
    let status = &after[&id];
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["worker"], "heir");
    assert!(status["delivery"].as_i64().unwrap() >= 2, "{status}");
    let frames = frames_of(&all_events(&nats), &id);
    assert_eq!(
        frames.keys().copied().collect::<Vec<_>>(),
        (1..=total as u64).collect::<Vec<_>>()
    );
    let summaries = all_events(&nats)
        .into_iter()
        .filter(|e| e["job"] == id.as_str() && e["event"] == "summary")
        .count();
    assert_eq!(summaries, 1);
    let (code, err) = second.stop();
    assert!(code.success(), "{err}");
}

/// A job that cannot succeed (a video file that is not one) ends as failed with its
/// one-line error naming the file, after at most max_deliver deliveries, and the worker
/// goes on to the next job.
#[test]
fn a_poisoned_job_fails_with_its_error_and_the_worker_goes_on() {
    let Some(nats) = nats("a_poisoned_job_fails_with_its_error_and_the_worker_goes_on") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("camera.mp4");
    std::fs::write(&bad, b"not a video at all").unwrap();
    let worker = Worker::start(&nats, "w", &["--max-deliver", "2"]);
    let ids = submit(&nats, &[&bad, &clips()[3]]);
    let statuses = wait_for(&nats, &ids, Duration::from_secs(120));
    let failed = &statuses[&ids[0]];
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("camera.mp4") && !error.contains('\n'),
        "{error}"
    );
    assert!(failed["delivery"].as_i64().unwrap() <= 2, "{failed}");
    assert_eq!(statuses[&ids[1]]["state"], "done");
    let table = ok(&avad(&["jobs", "--nats", &nats.url]));
    assert!(
        table.starts_with("2 jobs: 0 queued, 0 running, 1 done, 1 failed"),
        "{table}"
    );
    assert!(table.contains("camera.mp4"), "{table}");
    let (code, err) = worker.stop();
    assert!(code.success(), "{err}");
    assert!(err.contains("1 done, 1 failed"), "{err}");
}

/// What `avad submit` refuses before anything is queued, and a server that is not there.
#[test]
fn submit_refuses_what_no_worker_could_run() {
    let m = arg(&fixture().model);
    let out = avad(&[
        "submit",
        "/no/such/clip",
        "--model",
        m,
        "--nats",
        "nats://127.0.0.1:1",
    ]);
    assert_fails_naming(&out, "/no/such/clip: no such frame folder or video file");
    let clip = clips().remove(3);
    let out = avad(&[
        "submit",
        arg(&clip),
        "--model",
        "/no/model",
        "--nats",
        "nats://127.0.0.1:1",
    ]);
    assert_fails_naming(&out, "/no/model: no such model folder");
    let out = avad(&[
        "submit",
        arg(&clip),
        "--model",
        m,
        "--nats",
        "nats://127.0.0.1:1",
    ]);
    assert_fails_naming(&out, "connecting to nats://127.0.0.1:1");
}
