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
