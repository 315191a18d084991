//! `avad train` and `avad score` with `--device wgpu` (the `wgpu` feature), against the
//! CPU on the same synthetic scene. `.ci/run` runs them on Mesa's lavapipe, a Vulkan
//! driver on the CPU. The models' layers are compared on both devices in
//! crates/avad-model/tests/wgpu.rs.
#![cfg(feature = "wgpu")]

mod common;
use common::{arg, avad, column, ok, read, synth_scene, tiny_preset};

/// The largest difference between `a` and `b`, relative to `b`'s largest magnitude.
fn relative_gap(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    let gap = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    gap / scale
}

/// The `video_error` column of `dir/scores.csv`.
fn video_errors(dir: &std::path::Path) -> Vec<f64> {
    let csv = read(&dir.join("scores.csv"));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == "video_error").unwrap();
    column(&csv, i)
}

/// The same seed trains the same model on wgpu as on the CPU, epoch for epoch (both start
/// from the weights the CPU's generator draws, and each layer computes the same on both
/// devices); and either model scores the scene the same on either device.
#[test]
fn wgpu_trains_and_scores_what_the_cpu_does() {
    let dir = tempfile::tempdir().unwrap();
    let scene = synth_scene(dir.path());
    let preset = tiny_preset(dir.path());
    let train = |device: &str| {
        let model = dir.path().join(format!("model-{device}"));
        ok(&avad(&[
            "train",
            "visual",
            arg(&scene),
            "--out",
            arg(&model),
            "--preset",
            &preset,
            "--device",
            device,
        ]));
        model
    };
    let (cpu, gpu) = (train("cpu"), train("wgpu"));
    let history = |model: &std::path::Path, key: &str| -> Vec<f64> {
        let card: serde_json::Value =
            serde_json::from_str(&read(&model.join("model.json"))).unwrap();
        card["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[key].as_f64().unwrap())
            .collect()
    };
    for key in ["train_loss", "validation_loss"] {
        let (c, g) = (history(&cpu, key), history(&gpu, key));
        let gap = relative_gap(&g, &c);
        eprintln!("{key}: CPU {c:?}, wgpu {g:?} ({gap:.1e} apart)");
        assert!(
            !c.is_empty() && gap < 5e-3,
            "{key}: wgpu {g:?} against the CPU's {c:?}"
        );
    }
    let score = |model: &std::path::Path, device: &str| {
        let out = dir.path().join(format!(
            "scores-{}-{device}",
            model.file_name().unwrap().to_string_lossy()
        ));
        ok(&avad(&[
            "score",
            arg(&scene),
            "--model",
            arg(model),
            "--device",
            device,
            "--out",
            arg(&out),
        ]));
        video_errors(&out)
    };
    let reference = score(&cpu, "cpu");
    assert!(!reference.is_empty());
    for (model, device) in [(&cpu, "wgpu"), (&gpu, "cpu"), (&gpu, "wgpu")] {
        let errors = score(model, device);
        let gap = relative_gap(&errors, &reference);
        eprintln!(
            "{} scored on {device}: {gap:.1e} from the CPU model on the CPU",
            model.display()
        );
        assert!(
            gap < 1e-3,
            "{} scored on {device}: {gap:.1e} apart",
            model.display()
        );
    }
}
