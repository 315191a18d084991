use std::path::Path;

use avad_eval::metrics::roc_curve;
use avad_eval::plots::{
    write_loss_curve, write_roc, write_score_curve, LossCurve, PlotError, RocPlot, RocSeries,
    ScoreCurve, Series, ANOMALY_SHADE,
};

struct Decoded {
    width: u32,
    height: u32,
    rgb: Vec<[u8; 3]>,
}

fn decode_png(path: &Path) -> Decoded {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_rgb8();
    Decoded {
        width: img.width(),
        height: img.height(),
        rgb: img.pixels().map(|p| p.0).collect(),
    }
}

fn variance(img: &Decoded) -> f64 {
    let v: Vec<f64> = img
        .rgb
        .iter()
        .map(|p| p.iter().map(|&c| c as f64).sum::<f64>())
        .collect();
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / v.len() as f64
}

fn count_colour(img: &Decoded, c: [u8; 3]) -> usize {
    img.rgb.iter().filter(|&&p| p == c).count()
}

/// Only the final file is left behind: the temporary file was renamed over it.
fn only_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn clip() -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<bool>) {
    let n = 180;
    let anomalous: Vec<bool> = (0..n).map(|t| (60..130).contains(&t)).collect();
    // Deterministic noise so that the three modalities separate the classes differently.
    let noise =
        |t: usize, k: f64| ((t as f64 * 12.9898 + k * 78.233).sin() * 43758.5453).fract() * 0.3;
    let wave = |t: usize, phase: f64| 0.04 * ((t as f64) * 0.21 + phase).sin() + noise(t, phase);
    let dip = |t: usize, depth: f64| if anomalous[t] { depth } else { 0.0 };
    let audio = (0..n).map(|t| 0.9 + wave(t, 0.0) - dip(t, 0.1)).collect();
    let video = (0..n).map(|t| 0.85 + wave(t, 1.3) - dip(t, 0.2)).collect();
    let joint = (0..n).map(|t| 0.88 + wave(t, 2.1) - dip(t, 0.3)).collect();
    (audio, video, joint, anomalous)
}

#[test]
fn score_curve_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let (audio, video, joint, anomalous) = clip();
    let series = [
        Series {
            name: "audio",
            values: &audio,
        },
        Series {
            name: "video",
            values: &video,
        },
        Series {
            name: "joint",
            values: &joint,
        },
    ];
    let plot = ScoreCurve {
        title: "Ped2 Test004: regularity scores",
        y_label: "regularity score s_r",
        first_frame: 1,
        series: &series,
        anomalous: &anomalous,
        threshold: Some(0.7),
    };
    let png_path = dir.path().join("scores.png");
    write_score_curve(&plot, &png_path, (1000, 420)).unwrap();
    let img = decode_png(&png_path);
    assert_eq!((img.width, img.height), (1000, 420));
    assert!(variance(&img) > 0.0);
    let shade = count_colour(&img, [ANOMALY_SHADE.0, ANOMALY_SHADE.1, ANOMALY_SHADE.2]);
    // 70 of 180 frames shaded over a plot area of roughly 900x330 pixels.
    assert!(shade > 20_000, "only {shade} shaded pixels");
    for c in [[31, 119, 180], [255, 127, 14], [44, 160, 44]] {
        assert!(count_colour(&img, c) > 100, "series colour {c:?} missing");
    }

    let svg_path = dir.path().join("scores.svg");
    write_score_curve(&plot, &svg_path, (1000, 420)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"));
    for text in [
        "audio",
        "video",
        "joint",
        "anomalous (ground truth)",
        "threshold γ = 0.700",
        "frame",
        "Ped2 Test004",
    ] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
    assert_eq!(only_files(dir.path()), vec!["scores.png", "scores.svg"]);
    if let Ok(keep) = std::env::var("AVAD_EVAL_KEEP_PLOTS") {
        std::fs::copy(&png_path, Path::new(&keep).join("score_curve.png")).unwrap();
    }
}

#[test]
fn roc_png_and_svg_show_auc_in_legend() {
    let dir = tempfile::tempdir().unwrap();
    let (audio, video, joint, anomalous) = clip();
    let anomaly = |s: &[f64]| s.iter().map(|v| 1.0 - v).collect::<Vec<f64>>();
    let rocs: Vec<_> = [&audio, &video, &joint]
        .iter()
        .map(|s| roc_curve(&anomaly(s), &anomalous).unwrap())
        .collect();
    let series = [
        RocSeries {
            name: "audio",
            roc: &rocs[0],
        },
        RocSeries {
            name: "video",
            roc: &rocs[1],
        },
        RocSeries {
            name: "joint",
            roc: &rocs[2],
        },
    ];
    let plot = RocPlot {
        title: "ROC, Ped2",
        series: &series,
    };
    let png_path = dir.path().join("roc.png");
    write_roc(&plot, &png_path, (640, 600)).unwrap();
    let img = decode_png(&png_path);
    assert_eq!((img.width, img.height), (640, 600));
    assert!(variance(&img) > 0.0);
    assert!(count_colour(&img, [44, 160, 44]) > 100);

    let svg_path = dir.path().join("roc.svg");
    write_roc(&plot, &svg_path, (640, 600)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    for (name, roc) in ["audio", "video", "joint"].iter().zip(&rocs) {
        let label = format!("{name} (AUC = {:.3})", roc.auc());
        assert!(svg.contains(&label), "SVG lacks {label:?}");
    }
    assert!(svg.contains("false positive rate") && svg.contains("true positive rate"));
    if let Ok(keep) = std::env::var("AVAD_EVAL_KEEP_PLOTS") {
        std::fs::copy(&png_path, Path::new(&keep).join("roc.png")).unwrap();
    }
}

#[test]
fn loss_curve_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let train: Vec<f64> = (0..30)
        .map(|e| 0.02 + 0.5 * (-(e as f64) / 6.0).exp())
        .collect();
    let validation: Vec<f64> = (0..30)
        .map(|e| 0.03 + 0.5 * (-(e as f64) / 7.0).exp())
        .collect();
    let plot = LossCurve {
        title: "visual autoencoder",
        train: &train,
        validation: &validation,
    };
    let png_path = dir.path().join("loss.png");
    write_loss_curve(&plot, &png_path, (800, 500)).unwrap();
    let img = decode_png(&png_path);
    assert_eq!((img.width, img.height), (800, 500));
    assert!(variance(&img) > 0.0);
    assert!(count_colour(&img, [31, 119, 180]) > 100 && count_colour(&img, [255, 127, 14]) > 100);

    let svg_path = dir.path().join("loss.svg");
    write_loss_curve(&plot, &svg_path, (800, 500)).unwrap();
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    for text in ["train", "validation", "epoch", "loss", "visual autoencoder"] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
    if let Ok(keep) = std::env::var("AVAD_EVAL_KEEP_PLOTS") {
        std::fs::copy(&png_path, Path::new(&keep).join("loss.png")).unwrap();
    }
}

#[test]
fn bad_requests_are_refused_without_leaving_files() {
    let dir = tempfile::tempdir().unwrap();
    let train = [0.5, 0.4];
    let plot = LossCurve {
        title: "t",
        train: &train,
        validation: &[],
    };
    let err = write_loss_curve(&plot, &dir.path().join("loss.jpg"), (800, 500)).unwrap_err();
    assert!(matches!(err, PlotError::UnsupportedFormat { .. }), "{err}");
    assert!(err.to_string().contains("loss.jpg"), "{err}");

    let nan = [0.5, f64::NAN];
    let plot = LossCurve {
        title: "t",
        train: &train,
        validation: &nan,
    };
    let err = write_loss_curve(&plot, &dir.path().join("loss.png"), (800, 500)).unwrap_err();
    assert!(
        err.to_string()
            .contains("series 'validation' value 1 is NaN"),
        "{err}"
    );

    let err = write_score_curve(
        &ScoreCurve {
            title: "t",
            y_label: "s",
            first_frame: 0,
            series: &[],
            anomalous: &[],
            threshold: None,
        },
        &dir.path().join("s.svg"),
        (800, 500),
    )
    .unwrap_err();
    assert!(matches!(err, PlotError::InvalidData { .. }), "{err}");

    let missing = dir.path().join("no/such/dir/loss.png");
    let plot = LossCurve {
        title: "t",
        train: &train,
        validation: &[],
    };
    let err = write_loss_curve(&plot, &missing, (800, 500)).unwrap_err();
    assert!(err.to_string().contains("no/such/dir"), "{err}");
    assert!(
        only_files(dir.path()).is_empty(),
        "{:?}",
        only_files(dir.path())
    );
}
