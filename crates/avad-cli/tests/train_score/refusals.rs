//! Bad model folders, presets, resumes and values: one line naming what is wrong, nothing written.

use super::*;

/// An empty folder `in` standing for the dataset and the model (neither is read far
/// enough to tell), and an output folder `o` beside it, in `tmp`.
fn input_and_output(tmp: &Path) -> (PathBuf, PathBuf) {
    let input = tmp.join("in");
    std::fs::create_dir(&input).unwrap();
    (input, tmp.join("o"))
}

#[test]
fn bad_model_folders_fail_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = input_and_output(tmp.path());
    let (t, o) = (arg(&input), arg(&out));
    assert_fails_naming(&avad(&["score", t, "--model", t, "--out", o]), "model.json");
    // An output inside an input is refused before anything is read.
    let inside = input.join("o");
    assert_fails_naming(
        &avad(&["score", t, "--model", t, "--out", arg(&inside)]),
        "in/o: is inside the dataset",
    );
    assert!(!inside.exists());
    std::fs::write(input.join("model.json"), "{\"kind\": 3}").unwrap();
    assert_fails_naming(
        &avad(&["score", t, "--model", t, "--out", o]),
        "not an avad model card",
    );
    assert_fails_naming(&avad(&["inspect", t]), "not an avad model card");
    // Weights whose card is gone are a broken model, not a dataset.
    let lost = tmp.path().join("lost");
    std::fs::create_dir(&lost).unwrap();
    std::fs::write(lost.join("weights.bpk"), b"x").unwrap();
    assert_fails_naming(
        &avad(&["inspect", arg(&lost)]),
        "lost: holds weights.bpk but no model.json",
    );
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn bad_presets_and_resumes_fail_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = input_and_output(tmp.path());
    let (t, o) = (arg(&input), arg(&out));
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", o, "--preset", "fast"]),
        "not a built-in preset (paper, cpu, cpu-240, demo)",
    );
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", o, "--size", "100"]),
        "size 100 must be a positive multiple of 8",
    );
    // --resume continues only a run of the same kind whose checkpoint is there, and a
    // refusal leaves the model as it was.
    let card = |dir: &Path, kind: &str| {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("model.json"), format!("{{\"kind\": \"{kind}\"}}")).unwrap();
    };
    let vis = tmp.path().join("vis");
    card(&vis, "visual");
    std::fs::create_dir(vis.join("checkpoint")).unwrap();
    assert_fails_naming(
        &avad(&["train", "audio", t, "--out", arg(&vis), "--resume"]),
        "vis: holds a visual model: no audio training to resume",
    );
    assert_eq!(read(&vis.join("model.json")), "{\"kind\": \"visual\"}");
    let aud = tmp.path().join("aud");
    card(&aud, "audio");
    let a = arg(&aud);
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", a, "--resume"]),
        "aud: holds an audio model: no visual training to resume",
    );
    assert_fails_naming(
        &avad(&["train", "audio", t, "--out", a, "--resume"]),
        "aud: holds a trained model and no checkpoint to resume",
    );
    // A run stopped before its card: its checkpoints say its kind.
    let stopped = tmp.path().join("stopped");
    std::fs::create_dir_all(stopped.join("checkpoint/test/Test001")).unwrap();
    std::fs::write(
        stopped.join("checkpoint/test/Test001/checkpoint.json"),
        "{}",
    )
    .unwrap();
    assert_fails_naming(
        &avad(&["train", "visual", t, "--out", arg(&stopped), "--resume"]),
        "stopped: holds the checkpoints of an audio training run",
    );
    let stopped_visual = tmp.path().join("stopped-visual");
    std::fs::create_dir_all(stopped_visual.join("checkpoint")).unwrap();
    std::fs::write(stopped_visual.join("checkpoint/checkpoint.json"), "{}").unwrap();
    assert_fails_naming(
        &avad(&[
            "train",
            "audio",
            t,
            "--out",
            arg(&stopped_visual),
            "--resume",
        ]),
        "stopped-visual: holds the checkpoints of a visual training run",
    );
    // UMN has only test clips: the visual model must learn from other normal footage.
    let umn = tmp.path().join("umn");
    std::fs::create_dir_all(umn.join("frames")).unwrap();
    for i in 1..=4 {
        image::GrayImage::from_pixel(32, 24, image::Luma([i as u8]))
            .save(umn.join(format!("frames/{i}.png")))
            .unwrap();
    }
    std::fs::write(umn.join("labels.csv"), "start,end\n2,2\n").unwrap();
    std::fs::write(umn.join("clips.csv"), "clip,start,end\na,1,2\nb,3,4\n").unwrap();
    assert_fails_naming(
        &avad(&["train", "visual", arg(&umn), "--out", o]),
        "no training clips to learn normal scenes from (UMN's clips are all test clips",
    );
    assert!(!out.exists(), "nothing written on failure");
}

/// Values that would panic, allocate without bound or decide nothing are usage errors
/// (clap's exit code 2), named on the first line; a seed past the largest is an error.
#[test]
fn values_out_of_range_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, out) = input_and_output(tmp.path());
    let (t, o) = (arg(&input), arg(&out));
    let last = u64::MAX.to_string();
    assert_fails_naming(
        &avad(&["eval", t, "--model", t, "--out", o, "--fusion-seed", &last]),
        "--fusion-seed plus --fusion-seeds is past the largest seed",
    );
    for (args, flag) in [
        (
            vec!["eval", t, "--model", t, "--out", o, "--fusion-seeds", "0"],
            "--fusion-seeds",
        ),
        (
            vec!["eval", t, "--model", t, "--out", o, "--fusion-seeds", "101"],
            "--fusion-seeds",
        ),
        (
            vec!["eval", t, "--model", t, "--out", o, "--fusion-epochs", "0"],
            "--fusion-epochs",
        ),
        (
            vec!["score", t, "--model", t, "--out", o, "--smooth", "1e9"],
            "--smooth",
        ),
        (
            vec!["score", t, "--model", t, "--out", o, "--hop", "0"],
            "--hop",
        ),
        (vec!["watch", t, "--model", t, "--fps", "0"], "--fps"),
        (vec!["watch", t, "--model", t, "--fps", "NaN"], "--fps"),
        (vec!["watch", t, "--model", t, "--gamma", "NaN"], "--gamma"),
        (
            vec!["watch", t, "--model", t, "--stall-timeout", "inf"],
            "--stall-timeout",
        ),
        (
            vec!["watch", t, "--model", t, "--workers", "100000"],
            "--workers",
        ),
        (vec!["synth", o, "--frames", "0"], "--frames"),
    ] {
        let run = avad(&args);
        assert_usage_error(&run, "error: invalid value ");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(err.contains(&format!("for '{flag}")), "{err}");
    }
    assert!(!out.exists(), "nothing written on failure");
}

#[test]
fn synth_fails_with_one_line_naming_the_folder_as_given() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    assert_fails_naming(
        &avad(&["synth", arg(&out), "--train", "0", "--test", "0"]),
        "--train 0 and --test 0: no clip to write",
    );
    assert!(!out.exists(), "nothing written on failure");
    // A folder that cannot be made is named as given, not as its temporary, and once.
    let blocked = tmp.path().join("file/scene");
    std::fs::write(tmp.path().join("file"), b"x").unwrap();
    let run = avad(&["synth", arg(&blocked)]);
    assert_fails_naming(&run, "file/scene: Not a directory (os error 20)");
    assert_eq!(
        String::from_utf8_lossy(&run.stderr)
            .matches("os error")
            .count(),
        1
    );
}
