//! `avad eval`: every row of its table, the fused scores of every frame, a report that renders.

use super::*;

/// The evaluation: every modality, both fusions, a report that renders in a browser, and
/// scores.csv with the fused regularity scores of every frame: the label-free mean is the
/// mean of the two modalities' regularity scores, the net's is 1 − P(anomalous).
#[test]
fn eval_reports_every_row_and_the_fused_scores_of_every_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let (s, m) = scene_and_model();
    let (a, ev) = (arg(&fixture().audio), tmp.path().join("eval"));
    let table = ok(&avad(&[
        "eval",
        s,
        "--model",
        m,
        "--model",
        a,
        "--out",
        arg(&ev),
        "--fusion-epochs",
        "2",
        "--fusion-seeds",
        "2",
    ]));
    for row in [
        "| audio, per-video min-max |",
        "| video alone: autoencoder, calibrated |",
        "| video alone: speed, per-video min-max |",
        "| joint (mean), calibrated |",
        "| joint (Table 4 net), calibrated |",
        "| joint | 93.1 | 8.1 |",
    ] {
        assert!(table.contains(row), "{row} missing from\n{table}");
    }
    let md = read(&ev.join("results.md"));
    let live = md
        .lines()
        .find(|l| l.starts_with("**The live decision** (joint (mean), calibrated"))
        .unwrap_or_else(|| panic!("no live decision in\n{md}"));
    let results = json(&ev.join("results.json"));
    let rows = results["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        12,
        "audio, video, its autoencoder and speed score alone, two fusions, two normalisations each"
    );
    let joint = rows
        .iter()
        .find(|r| r["modality"] == "joint (mean)" && r["normalisation"] == "calibrated")
        .unwrap();
    let pct = |k: &str| format!("{:.1} %", 100.0 * joint[k].as_f64().unwrap());
    for k in ["auc", "eer", "recall", "false_alarms"] {
        assert!(live.contains(&pct(k)), "{k}: {} not in {live}", pct(k));
    }
    assert_eq!(results["fusion_seeds"].as_u64(), Some(2));
    let csv = read(&ev.join("scores.csv"));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| {
        let i = header.iter().position(|h| *h == name);
        column(
            &csv,
            i.unwrap_or_else(|| panic!("{name} missing from {header:?}")),
        )
    };
    let mean = |m: &str, v: &str, a: &str| {
        let (m, v, a) = (col(m), col(v), col(a));
        assert_eq!(m.len(), 80);
        for ((m, v), a) in m.iter().zip(&v).zip(&a) {
            assert_eq!(*m, 0.5 * (v + a), "{m} {v} {a}");
        }
    };
    for norm in ["minmax", "calibrated"] {
        mean(
            &format!("joint_mean_regularity_{norm}"),
            &format!("video_regularity_{norm}"),
            &format!("audio_regularity_{norm}"),
        );
        // The video score with its speed score: the mean of the two scorers alone.
        let (v, ae, sp) = (
            col(&format!("video_regularity_{norm}")),
            col(&format!("video_autoencoder_regularity_{norm}")),
            col(&format!("video_speed_regularity_{norm}")),
        );
        if norm == "calibrated" {
            for ((v, ae), sp) in v.iter().zip(&ae).zip(&sp) {
                assert!((v - 0.5 * (ae + sp)).abs() < 1e-12, "{v} {ae} {sp}");
            }
        }
        let net = col(&format!("joint_net_regularity_{norm}"));
        assert!(net.iter().all(|p| (0.0..=1.0).contains(p)), "{net:?}");
    }
    check_report_renders(&ev.join("report.html"), 3);
}

/// Opens `report` in headless Chromium and checks that its tables and all its images
/// rendered (the page records both in `<body data-rendered>` once loaded). Skipped, with a
/// note, where Chromium is not installed (CI installs Debian's `chromium`).
fn check_report_renders(report: &Path, images: usize) {
    let html = read(report);
    assert_eq!(
        html.matches("<img ").count(),
        images,
        "one ROC and one plot per test clip"
    );
    assert!(
        !html.contains("src=\"plots/") && html.contains("data:image/png;base64,"),
        "images are embedded"
    );
    let Some(browser) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!(
            "SKIPPED: report rendering check: no chromium on PATH (apt-get install chromium)"
        );
        return;
    };
    let url = format!("file://{}", report.canonicalize().unwrap().display());
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
            &url,
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let rendered = dom
        .split("data-rendered=\"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    assert_eq!(
        rendered,
        Some(format!("tables=2 rows={} images={images}/{images}", 1 + 12 + 1 + 3).as_str()),
        "report did not render: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
