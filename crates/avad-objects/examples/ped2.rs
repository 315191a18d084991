//! The object scorer on a labelled dataset (UCSD Ped2 by default), as a live detector
//! would run it: fitted on the training clips but the last two, γ the 99th percentile of those two
//! held-out normal clips' scores, every test frame scored causally, smoothed as `avad
//! score` smooths (σ = 5 frames), and pooled over the test clips. The test labels are
//! used only for the numbers printed.
//!
//! cargo run --release -p avad-objects --example ped2 -- [DATASET] [WIDTHxHEIGHT] [objects|speed]
//!
//! `objects` (the default) scores with [`ObjectModel`], `speed` with [`SpeedModel`].
//! With `SCORES_OUT=FILE`, every held-out normal and test frame's raw score is written
//! to FILE as CSV (`split,clip,frame,score`; frames from 1), for
//! `scripts/speed_fusion.py`. `SPEED_CONFIG` (a [`SpeedConfig`] as JSON) tries
//! other settings of the speed score.

use std::path::PathBuf;
use std::time::Instant;

use avad_data::{open_dataset, Split};
use avad_eval::gaussian_smooth;
use avad_eval::metrics::{eer, roc_curve};
use avad_media::{FrameSize, GrayFrame};
use avad_objects::{Frame, ObjectModel, ObjectModelConfig, SpeedConfig, SpeedModel};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dataset = PathBuf::from(
        args.first()
            .map_or("../shared/datasets/ucsd-ped2", |s| s.as_str()),
    );
    let size: FrameSize = args
        .get(1)
        .map_or("180x120", |s| s.as_str())
        .parse()
        .expect("WIDTHxHEIGHT");
    let data = open_dataset(&dataset).unwrap_or_else(|e| panic!("{e}"));
    // Labels; for a synthetic scene (whose clips hold masks/) only the frames where an
    // anomaly can be seen are anomalous (a sound no picture shows counts as normal).
    let synthetic = data
        .split(Split::Test)
        .any(|c| c.video.path().join("masks").is_dir());
    let read = |split: Split| -> Vec<(String, Vec<GrayFrame>, Option<Vec<bool>>)> {
        data.split(split)
            .map(|c| {
                let frames = c.video.read_frames(size).unwrap_or_else(|e| panic!("{e}"));
                let masks = c.video.path().join("masks");
                let labels = c.labels.clone().map(|l| {
                    l.iter()
                        .enumerate()
                        .map(|(t, &a)| {
                            let mask = masks.join(format!("{:06}.png", t + 1));
                            let visible = !synthetic
                                || (mask.is_file()
                                    && avad_media::frames::read_gray8(&mask)
                                        .unwrap()
                                        .1
                                        .iter()
                                        .any(|&p| p > 0));
                            a && visible
                        })
                        .collect()
                });
                (c.name.clone(), frames, labels)
            })
            .collect()
    };
    let started = Instant::now();
    let train = read(Split::Train);
    let test = read(Split::Test);
    eprintln!(
        "read {} training and {} test clips at {size} in {:.1} s",
        train.len(),
        test.len(),
        started.elapsed().as_secs_f64()
    );
    let (w, h) = (size.width as usize, size.height as usize);
    fn view(frames: &[GrayFrame], w: usize, h: usize) -> Vec<Frame<'_>> {
        frames
            .iter()
            .map(|f| Frame::new(w, h, &f.data).unwrap())
            .collect()
    }
    let held_out = 2.min(train.len() - 1);
    let fit: Vec<Vec<Frame>> = train[..train.len() - held_out]
        .iter()
        .map(|c| view(&c.1, w, h))
        .collect();
    let started = Instant::now();
    let scorer = match args.get(2).map_or("objects", |s| s.as_str()) {
        "objects" => {
            let model = ObjectModel::fit(&fit, &ObjectModelConfig::default())
                .expect("objects in the training clips");
            eprintln!(
                "fitted on {} clips in {:.1} s: background noise {:.4}, {} normal objects kept",
                fit.len(),
                started.elapsed().as_secs_f64(),
                model.background.noise,
                model.objects.len()
            );
            Scorer::Objects(model)
        }
        "speed" => {
            // SPEED_CONFIG: a SpeedConfig as JSON, to try other settings.
            let config: SpeedConfig = std::env::var("SPEED_CONFIG").map_or_else(
                |_| SpeedConfig::default(),
                |json| serde_json::from_str(&json).expect("SPEED_CONFIG: a SpeedConfig"),
            );
            let model = SpeedModel::fit(&fit, &config).expect("motion in the training clips");
            eprintln!(
                "fitted on {} clips in {:.1} s: noise {:.4}, normal speed per row of blocks {:?}",
                fit.len(),
                started.elapsed().as_secs_f64(),
                model.noise,
                model.row_speed
            );
            Scorer::Motion(model)
        }
        other => panic!("unknown scorer {other}: objects or speed"),
    };
    let sigma = 5.0;
    let mut csv = String::from("split,clip,frame,score\n");
    let mut write = |split: &str, clip: &str, raw: &[f64]| {
        for (t, s) in raw.iter().enumerate() {
            csv.push_str(&format!("{split},{clip},{},{s}\n", t + 1));
        }
    };
    let mut normal: Vec<f64> = Vec::new();
    for (name, frames, _) in &train[train.len() - held_out..] {
        let raw = scorer.clip_scores(&view(frames, w, h));
        write("held-out", name, &raw);
        normal.extend(gaussian_smooth(&raw, sigma));
    }
    normal.sort_by(f64::total_cmp);
    let gamma = normal[((normal.len() - 1) as f64 * 0.99).round() as usize];
    let started = Instant::now();
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    let mut frames_scored = 0;
    for (name, frames, clip_labels) in &test {
        if let (Some(_), Scorer::Objects(model)) = (std::env::var_os("OBJECTS_DEBUG"), &scorer) {
            eprintln!("{name}:");
            let dir = data
                .split(Split::Test)
                .find(|c| &c.name == name)
                .unwrap()
                .video
                .path()
                .to_path_buf();
            debug_objects(model, &dir, frames, w, h);
        }
        let raw = scorer.clip_scores(&view(frames, w, h));
        write("test", name, &raw);
        frames_scored += raw.len();
        let smooth = gaussian_smooth(&raw, sigma);
        let l = clip_labels.as_ref().expect("test labels");
        let flagged = smooth
            .iter()
            .zip(l)
            .filter(|(s, &a)| a && **s > gamma)
            .count();
        eprintln!(
            "{name}: {} frames, {} anomalous, {} of them above γ",
            raw.len(),
            l.iter().filter(|&&a| a).count(),
            flagged
        );
        scores.extend(smooth);
        labels.extend(l.iter().copied());
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = std::env::var_os("SCORES_OUT") {
        std::fs::write(&path, csv).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let roc = roc_curve(&scores, &labels).unwrap();
    let anomalous = labels.iter().filter(|&&a| a).count();
    let tp = scores
        .iter()
        .zip(&labels)
        .filter(|(s, &a)| a && **s > gamma)
        .count();
    let fp = scores
        .iter()
        .zip(&labels)
        .filter(|(s, &a)| !a && **s > gamma)
        .count();
    println!(
        "frame-level, pooled over {} test clips ({frames_scored} frames, {:.0} frames/s):",
        test.len(),
        frames_scored as f64 / secs
    );
    println!(
        "  AUC {:.1} %, EER {:.1} %",
        100.0 * roc.auc(),
        100.0 * eer(&roc)
    );
    println!(
        "  at the label-free γ ({gamma:.3}, 99th percentile of {} held-out normal frames): {:.1} % of anomalous frames flagged, {:.1} % of normal frames",
        normal.len(),
        100.0 * tp as f64 / anomalous as f64,
        100.0 * fp as f64 / (labels.len() - anomalous) as f64
    );
}

enum Scorer {
    Objects(ObjectModel),
    Motion(SpeedModel),
}

impl Scorer {
    fn clip_scores(&self, frames: &[Frame<'_>]) -> Vec<f64> {
        match self {
            Scorer::Objects(m) => m.clip_scores(frames),
            Scorer::Motion(m) => m.clip_scores(frames),
        }
    }
}

/// With `OBJECTS_DEBUG=1` on a synthetic scene (masks at the working size): the objects
/// that overlap an anomaly's mask against the others, feature by feature.
fn debug_objects(
    model: &ObjectModel,
    dir: &std::path::Path,
    frames: &[GrayFrame],
    w: usize,
    h: usize,
) {
    let mut scene = model.scene();
    let (mut on, mut off): (Vec<(f64, [f32; avad_objects::N_FEATURES])>, Vec<_>) =
        (Vec::new(), Vec::new());
    for (t, f) in frames.iter().enumerate() {
        let frame = Frame::new(w, h, &f.data).unwrap();
        let mask_path = dir.join("masks").join(format!("{:06}.png", t + 1));
        let mask = avad_media::frames::read_gray8(&mask_path)
            .map(|m| m.1)
            .unwrap_or_default();
        for o in scene.objects(frame, &model.config.detect) {
            let s = model.object_score(&o);
            let hit =
                !mask.is_empty() && (o.y0..o.y1).any(|y| (o.x0..o.x1).any(|x| mask[y * w + x] > 0));
            let feat = o.features(w, h);
            if hit {
                on.push((s, feat))
            } else {
                off.push((s, feat))
            }
        }
    }
    let mean = |v: &[(f64, [f32; avad_objects::N_FEATURES])], d: Option<usize>| -> f64 {
        v.iter()
            .map(|(s, f)| d.map_or(*s, |d| f64::from(f[d])))
            .sum::<f64>()
            / v.len().max(1) as f64
    };
    eprintln!(
        "  objects on an anomaly: {}, elsewhere: {}",
        on.len(),
        off.len()
    );
    eprintln!("  score: {:.2} vs {:.2}", mean(&on, None), mean(&off, None));
    for d in 0..avad_objects::N_FEATURES {
        eprintln!(
            "  feature {d}: {:.3} vs {:.3}",
            mean(&on, Some(d)),
            mean(&off, Some(d))
        );
    }
}
