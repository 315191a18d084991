//! Features and training jobs: what a worker writes equals what `avad features` and
//! `avad train` write locally.

use std::time::Duration;

use super::{
    arg, avad, clips, events, fixture, nats, ok, statuses, tiny_preset, wait_for, Nats, Worker,
};

/// `avad submit` with `argv` (options and sources for one job): the job's id.
fn submit_one(nats: &Nats, argv: &[&str]) -> String {
    let mut all = vec!["submit", "--nats", &nats.url];
    all.extend(argv);
    let jobs = events(&ok(&avad(&all)));
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    jobs[0]["job"].as_str().unwrap().to_string()
}

/// A features job writes the features `avad features` writes, byte for byte; a training
/// job trains the model `avad train visual` trains with the same preset and seed, to the
/// same weights; `avad jobs` names what each wrote.
#[test]
fn features_and_training_jobs_write_what_the_commands_write() {
    let Some(nats) = nats("features_and_training_jobs_write_what_the_commands_write") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let worker = Worker::start(&nats, "w", &[]);
    let wav = clips()[3].join("audio.wav");
    let features = dir.path().join("features");
    let submitted = |argv: &[&str]| submit_one(&nats, argv);
    let f = submitted(&["--features", "--out", arg(&features), arg(&wav)]);
    let preset = tiny_preset(dir.path());
    let model = dir.path().join("model");
    let t = submitted(&[
        "--train",
        "visual",
        arg(&fixture().scene),
        "--out",
        arg(&model),
        "--preset",
        &preset,
    ]);
    let done = wait_for(&nats, &[f.clone(), t.clone()], Duration::from_secs(600));
    for id in [&f, &t] {
        assert_eq!(done[id]["state"], "done", "{}", done[id]);
    }
    assert_eq!(done[&f]["output"], arg(&features));
    assert_eq!(done[&t]["output"], arg(&model));

    let local = dir.path().join("local.npy");
    ok(&avad(&["features", arg(&wav), "--out", arg(&local)]));
    assert!(
        std::fs::read(features.join("audio.npy")).unwrap() == std::fs::read(&local).unwrap(),
        "the worker's features differ from avad features'"
    );
    // The fixture's model was trained by `avad train visual` on the same scene and preset:
    // the two score a clip the same, frame by frame. (The weight files differ: each
    // parameter has a random id.)
    let frames = |model: &std::path::Path| -> Vec<serde_json::Value> {
        let watched = ok(&avad(&[
            "watch",
            arg(&clips()[4]),
            "--model",
            arg(model),
            "--every-frame",
        ]));
        events(&watched)
            .into_iter()
            .filter(|e| e["event"] == "frame")
            .map(|e| e["video_error"].clone())
            .collect()
    };
    let (remote, local) = (frames(&model), frames(&fixture().model));
    assert!(!remote.is_empty());
    assert_eq!(
        remote, local,
        "the worker's model scores unlike avad train's"
    );
    let table = ok(&avad(&["jobs", "--nats", &nats.url]));
    assert!(
        table.contains(&format!("-> {}", features.display())),
        "{table}"
    );
    assert_eq!(statuses(&nats).len(), 2);

    // A features job over a file that is not audio fails with one line naming it.
    let bad = dir.path().join("noise.wav");
    std::fs::write(&bad, b"RIFF not really").unwrap();
    let b = submitted(&[
        "--features",
        "--out",
        arg(&dir.path().join("bad")),
        arg(&bad),
    ]);
    let failed = &wait_for(&nats, std::slice::from_ref(&b), Duration::from_secs(60))[&b];
    assert_eq!(failed["state"], "failed", "{failed}");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("noise.wav") && !error.contains('\n'),
        "{error}"
    );
    let (code, err) = worker.stop();
    assert!(code.success(), "{err}");
    assert!(err.contains("2 done, 1 failed"), "{err}");
}

/// A training job whose worker is killed (SIGKILL) after its first checkpoint goes to
/// another worker, which resumes the checkpoint rather than starting again, and finishes
/// the preset's epochs.
#[test]
fn a_training_job_whose_worker_dies_resumes_its_checkpoint() {
    let Some(nats) = nats("a_training_job_whose_worker_dies_resumes_its_checkpoint") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let preset = tiny_preset(dir.path());
    let model = dir.path().join("model");
    let first = Worker::start(&nats, "doomed", &["--ack-wait", "2"]);
    let heir = Worker::start(&nats, "heir", &[]);
    let id = submit_one(
        &nats,
        &[
            "--train",
            "visual",
            arg(&fixture().scene),
            "--out",
            arg(&model),
            "--preset",
            &preset,
            "--epochs",
            "12",
        ],
    );
    // Killed once the first epoch's checkpoint is written.
    let checkpoint = model.join("checkpoint").join("checkpoint.json");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !checkpoint.is_file() {
        assert!(std::time::Instant::now() < deadline, "no checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    let running = statuses(&nats)[&id].clone();
    assert_eq!(running["worker"], "doomed", "{running}");
    drop(first); // SIGKILL
    assert!(
        !model.join("model.json").exists(),
        "training finished before the kill: give it more epochs"
    );
    let done = &wait_for(&nats, std::slice::from_ref(&id), Duration::from_secs(600))[&id];
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["worker"], "heir", "{done}");
    assert!(done["delivery"].as_i64().unwrap() >= 2, "{done}");
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
    // Epochs 1 to n, n at most the 12 asked for (training stops early when the validation
    // loss stops falling); the heir trained the last of them, and not the first.
    let history = card["history"].as_array().unwrap();
    let epochs: Vec<u64> = history
        .iter()
        .map(|e| e["epoch"].as_u64().unwrap())
        .collect();
    let n = epochs.len() as u64;
    assert!((2..=12).contains(&n), "{epochs:?}");
    assert_eq!(epochs, (1..=n).collect::<Vec<_>>());
    let (code, said) = heir.stop();
    assert!(code.success(), "{said}");
    assert!(
        said.contains(&format!("{id}: visual: resuming after epoch")),
        "{said}"
    );
    assert!(
        said.contains(&format!("{id}: visual: epoch {n}: train loss")),
        "{said}"
    );
    assert!(
        !said.contains(&format!("{id}: visual: epoch 1: ")),
        "{said}"
    );
}
