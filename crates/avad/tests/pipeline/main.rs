//! The pipeline through the library's API on the synthetic scene, one test binary whose
//! tests share one scene and its models, trained once:
//!
//! - `offline`: the scores of every frame, their smoothing, the video scores, causal
//!   scoring, the metrics and the fusion of both modalities;
//! - `training`: the visual model's directory and resuming it, calibrating it again, the
//!   audio model of a dataset's normal sound or of recordings;
//! - `sound`: `watch` of a frame folder with its sound, against causal scoring, with
//!   `min_gap` and evidence (the detector alone is tested in live.rs).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use avad::avad_data::synthetic::write_dataset;
use avad::avad_data::{open_dataset, Split};
use avad::avad_model::model_dir::{AudioPreset, FrameScore, VisualPreset};
use avad::score::ModalityScores;
use avad::{
    score_clips, train_audio, train_visual, ClipScores, ClipSelection, Models, NormalSound,
    ScoreConfig, Silent,
};

mod hostile;
mod offline;
mod sound;
mod training;

/// Counts the largest allocation of each thread, for the hostile-file tests.
#[global_allocator]
static ALLOCATOR: hostile::Counting = hostile::Counting;

/// What a training run reported, epoch by epoch: `epoch N/M` as each epoch starts,
/// `resumed after epoch N` when a checkpoint is continued.
#[derive(Default)]
pub struct Log(Mutex<Vec<String>>);

struct Epochs<'a>(&'a Mutex<Vec<String>>);

impl avad::Progress for Log {
    fn training(&self, _label: &str) -> Box<dyn avad::avad_model::train::Progress + '_> {
        Box::new(Epochs(&self.0))
    }
}

impl avad::avad_model::train::Progress for Epochs<'_> {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, _batches: usize) {
        self.0
            .lock()
            .unwrap()
            .push(format!("epoch {epoch}/{epochs}"));
    }
    fn resumed(&mut self, epoch: usize) {
        self.0
            .lock()
            .unwrap()
            .push(format!("resumed after epoch {epoch}"));
    }
}

/// The files a trained visual model's folder holds.
pub const MODEL_FILES: [&str; 7] = [
    "model.json",
    "speed.json",
    "weights.bpk",
    "loss.csv",
    "loss.png",
    "loss.svg",
    "checkpoint/checkpoint.json",
];

/// The scene of seed 3 (3 normal training clips, 2 test clips of 40 frames); a visual model
/// of [`tiny_preset`] trained on it as a user would, one epoch and then resumed to the
/// preset's two (which files the first run left, its epochs, and what each run reported
/// are kept for `training`); an audio model of the scene's normal training sound (2
/// epochs). A test that changes a model works on its own copy.
pub struct Fixture {
    _dir: tempfile::TempDir,
    pub scene: PathBuf,
    pub visual: PathBuf,
    pub audio: PathBuf,
    pub first_files: Vec<bool>,
    pub first_history: usize,
    pub first_log: Vec<String>,
    pub resumed_log: Vec<String>,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scene = dir.path().join("scene");
        write_dataset(&scene, 3, 3, 2, 40).unwrap();
        let visual = dir.path().join("visual");
        let device = avad::cpu().autodiff();
        let mut one_epoch = tiny_preset();
        one_epoch.train.epochs = 1;
        let first = Log::default();
        let model = train_visual(&scene, &visual, &one_epoch, false, &device, &first).unwrap();
        let first_files = MODEL_FILES
            .iter()
            .map(|f| visual.join(f).is_file())
            .collect();
        let resumed = Log::default();
        train_visual(&scene, &visual, &tiny_preset(), true, &device, &resumed).unwrap();
        let audio = dir.path().join("audio");
        train_audio(
            NormalSound::Dataset(&scene),
            &audio,
            &audio_preset(2),
            false,
            &device,
            &Silent,
        )
        .unwrap();
        Fixture {
            _dir: dir,
            scene,
            visual,
            audio,
            first_files,
            first_history: model.card.training.history.len(),
            first_log: first.0.into_inner().unwrap(),
            resumed_log: resumed.0.into_inner().unwrap(),
        }
    })
}

/// The `cpu` preset cut to train in seconds: 32x32 frames, 2 epochs, batch 4, a window
/// scored every 5 frames.
pub fn tiny_preset() -> VisualPreset {
    let mut preset = VisualPreset::load("cpu").unwrap();
    preset.size = 32;
    preset.score_hop = 5;
    preset.train.epochs = 2;
    preset.train.batch_size = 4;
    preset
}

/// The audio model's preset (`paper`) cut to `epochs`.
pub fn audio_preset(epochs: usize) -> AudioPreset {
    let mut preset = AudioPreset::load("paper").unwrap();
    preset.train.epochs = epochs;
    preset
}

/// The models in `paths`, loaded on the CPU, scoring video with `score` (`None`: the
/// model's default).
pub fn load(paths: &[&Path], score: Option<FrameScore>) -> Models {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    Models::load(&paths, &avad::cpu(), score).unwrap()
}

/// The clips of `dataset`'s `split` (`None`: both) named `names` (all when empty), scored
/// by `models` as `config` says.
pub fn score(
    models: &Models,
    dataset: &Path,
    split: Option<Split>,
    names: &[&str],
    config: &ScoreConfig,
) -> Vec<ClipScores> {
    let data = open_dataset(dataset).unwrap();
    let selection = ClipSelection {
        split,
        names: names.iter().map(|n| n.to_string()).collect(),
    };
    let clips = avad::clips::select_clips(&data, &selection, dataset).unwrap();
    score_clips(models, &clips, config, &avad::cpu(), &Silent)
        .unwrap()
        .clips
}

/// `ScoreConfig::default()` with smoothing `sigma` (0: none).
pub fn smoothed(sigma: f64) -> ScoreConfig {
    ScoreConfig {
        smooth: sigma,
        ..ScoreConfig::default()
    }
}

/// `src`'s files and folders copied into `dst` (created).
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A model card, as JSON.
pub fn card(model: &Path) -> serde_json::Value {
    serde_json::from_str(&read(&model.join("model.json"))).unwrap()
}

/// One column of modality `modality`'s scores (`f` picks it), clip after clip.
pub fn pooled(clips: &[ClipScores], modality: usize, f: fn(&ModalityScores) -> &[f64]) -> Vec<f64> {
    clips
        .iter()
        .flat_map(|c| f(&c.modalities[modality]).to_vec())
        .collect()
}

/// The regularity scores of row `row` (a modality's, or one of its parts' when the row is
/// `MODALITY alone: PART`) of `modality`, pooled over `clips`, under the normalisation
/// `calibrated` says.
pub fn pooled_row(clips: &[ClipScores], modality: usize, row: &str, calibrated: bool) -> Vec<f64> {
    let part = row.split_once(" alone: ").map(|(_, p)| p);
    clips
        .iter()
        .flat_map(|c| {
            let m = &c.modalities[modality];
            let (minmax, cal) = match part {
                Some(name) => {
                    let p = m.parts.iter().find(|p| p.name == name).unwrap();
                    (&p.regularity_minmax, &p.regularity_calibrated)
                }
                None => (&m.regularity_minmax, &m.regularity_calibrated),
            };
            if calibrated { cal } else { minmax }.clone()
        })
        .collect()
}

pub fn errors(m: &ModalityScores) -> &[f64] {
    &m.errors
}

pub fn minmax(m: &ModalityScores) -> &[f64] {
    &m.regularity_minmax
}

pub fn calibrated(m: &ModalityScores) -> &[f64] {
    &m.regularity_calibrated
}

/// The labels of `clips`, clip after clip.
pub fn labels(clips: &[ClipScores]) -> Vec<bool> {
    clips
        .iter()
        .flat_map(|c| c.labels.clone().unwrap())
        .collect()
}
