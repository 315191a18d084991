//! Helpers shared by the CLI's end-to-end tests (each test file uses some of them).
#![allow(dead_code)]

use std::process::{Command, Output};

/// Runs the `avad` binary built for these tests.
pub fn avad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_avad"))
        .args(args)
        .output()
        .unwrap()
}

/// Stdout of a run that must succeed (its stderr in the failure message otherwise).
pub fn ok(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "avad failed: {err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON objects of newline-delimited JSON (`avad watch`'s events).
pub fn events(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// A failure is one line on stderr naming `needle` (the last: progress may come before
/// it), exit code 1, and no panic.
pub fn assert_fails_naming(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    let last = err.trim_end().lines().last().unwrap_or("");
    assert!(
        last.starts_with("error: ") && last.contains(needle),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A usage error: clap's exit code 2, its message starting `start`.
pub fn assert_usage_error(out: &Output, start: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "a usage error: {err}");
    assert!(err.starts_with(start), "{err}");
}

pub fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `path` as the `&str` an argument takes.
pub fn arg(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

/// A preset small enough to train in seconds, written into `dir`: the `cpu` preset cut to
/// 32x32 frames, 2 epochs, batch 4, a window scored every 5 frames.
pub fn tiny_preset(dir: &std::path::Path) -> String {
    let text = include_str!("../../../../presets/visual-cpu.toml")
        .replace("size = 96", "size = 32")
        .replace("epochs = 8", "epochs = 2")
        .replace("batch_size = 10", "batch_size = 4")
        .replace("score_hop = 2", "score_hop = 5");
    let path = dir.join("tiny.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The synthetic scene the train, score and watch tests share: seed 3, 3 normal training
/// clips and 2 test clips of 40 frames, written to `dir/scene` by `avad synth`.
pub fn synth_scene(dir: &std::path::Path) -> std::path::PathBuf {
    let scene = dir.join("scene");
    ok(&avad(&[
        "synth",
        arg(&scene),
        "--train",
        "3",
        "--test",
        "2",
        "--frames",
        "40",
        "--seed",
        "3",
    ]));
    scene
}

/// One column of a CSV's rows (header skipped), as numbers.
pub fn column(csv: &str, i: usize) -> Vec<f64> {
    csv.lines()
        .skip(1)
        .map(|l| l.split(',').nth(i).unwrap().parse().unwrap())
        .collect()
}
