//! What goes on the queue: [`Job`]s, and the [`Status`] of each.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One unit of work, on subject `avad.jobs.ID`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Unique on the queue; letters, digits, `-` and `_` (it is a subject token).
    pub id: String,
    /// What to do.
    #[serde(flatten)]
    pub work: Work,
}

/// The kinds of job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Work {
    /// Watch a recording (a frame folder, a video file) from start to end, as `avad watch
    /// --every-frame` does, publishing every event.
    Score {
        /// The frame folder or video file, a path every worker can read.
        source: String,
        /// The frame folder's sound (used when the models include an audio model).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sound: Option<PathBuf>,
        /// The model folders: one visual model, and an audio model if wanted.
        models: Vec<PathBuf>,
        /// The frame folder's frame rate.
        #[serde(default = "default_fps")]
        fps: f64,
        /// Score a window every `hop` frames (default: the model's preset).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hop: Option<usize>,
    },
    /// Extract the 160 audio features of recordings, as `avad features --out FOLDER`
    /// does: each recording's to `out/NAME.npy` (or `.csv`).
    Features {
        /// Audio files, or folders of them, paths every worker can read.
        audio: Vec<PathBuf>,
        /// The folder the features go to, one file per recording.
        out: PathBuf,
        /// CSV files (with a header) instead of NumPy arrays.
        #[serde(default)]
        csv: bool,
    },
    /// Train a site's model, as `avad train visual|audio` does, into `out`. A job
    /// delivered again after its worker died resumes the checkpoint the first left.
    Train {
        /// Which model.
        model: Trained,
        /// The dataset folder (for an audio model: or none, with `normal_audio`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dataset: Option<PathBuf>,
        /// A folder of recordings of normal sound (audio models).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        normal_audio: Option<PathBuf>,
        /// The model folder to write.
        out: PathBuf,
        /// A built-in preset's name or a preset file (default: `cpu` for a visual model,
        /// `paper` for an audio one).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preset: Option<String>,
        /// The preset's epochs, overridden.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        epochs: Option<usize>,
        /// The preset's seed, overridden.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seed: Option<u64>,
    },
}

/// The model a training job trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trained {
    /// The visual autoencoder (Table 3).
    Visual,
    /// The acoustic autoencoder (Table 2).
    Audio,
}

impl Trained {
    /// `visual` or `audio`.
    pub fn name(self) -> &'static str {
        match self {
            Trained::Visual => "visual",
            Trained::Audio => "audio",
        }
    }
}

fn default_fps() -> f64 {
    25.0
}

/// `path` made absolute, so that a worker started elsewhere reads the same file.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The model folders `models`, made absolute; one that is not a folder is refused.
fn model_folders(models: &[PathBuf]) -> crate::Result<Vec<PathBuf>> {
    if let Some(model) = models.iter().find(|m| !m.is_dir()) {
        return Err(crate::Error::Missing {
            path: model.clone(),
            what: "model folder",
        });
    }
    Ok(models.iter().map(|m| absolute(m)).collect())
}

impl Job {
    /// A job that scores `source` (a clip's frame folder, whose `audio.wav` if any is its
    /// sound, or a video file) with the model folders `models`. Paths are made absolute,
    /// so that a worker started elsewhere reads the same files; a source or model folder
    /// that is not there is refused here, before anything is queued.
    pub fn score(
        source: &Path,
        models: &[PathBuf],
        fps: f64,
        hop: Option<usize>,
    ) -> crate::Result<Job> {
        let models = model_folders(models)?;
        if !source.exists() {
            return Err(crate::Error::Missing {
                path: source.to_path_buf(),
                what: "frame folder or video file",
            });
        }
        let wav = source.join("audio.wav");
        let source = absolute(source).to_string_lossy().into_owned();
        Ok(Job {
            id: new_job_id(&source),
            work: Work::Score {
                sound: wav.is_file().then(|| absolute(&wav)),
                source,
                models,
                fps,
                hop,
            },
        })
    }

    /// A camera: the stream at `url` (`rtsp://`, `http://`, …), watched with the model
    /// folders `models` for as long as it runs. The models are made absolute and refused
    /// here if missing; the stream is not opened until a worker takes the camera.
    pub fn camera(
        url: &str,
        models: &[PathBuf],
        fps: f64,
        hop: Option<usize>,
    ) -> crate::Result<Job> {
        let models = model_folders(models)?;
        Ok(Job {
            id: new_job_id(url),
            work: Work::Score {
                source: url.to_string(),
                sound: None,
                models,
                fps,
                hop,
            },
        })
    }

    /// A job that extracts the features of `audio` (files, or folders of them) into the
    /// folder `out`. Paths are made absolute; an input that is not there, or a folder
    /// without recordings, is refused here.
    pub fn features(audio: &[PathBuf], out: &Path, csv: bool) -> crate::Result<Job> {
        if let Some(missing) = audio.iter().find(|a| !a.exists()) {
            return Err(crate::Error::Missing {
                path: missing.clone(),
                what: "audio file or folder",
            });
        }
        // Every recording named, and no two of the same name: refused now, not on a worker.
        let paths = avad::features::recording_paths(audio)?;
        avad::features::output_paths(&paths, out, "npy")?;
        let first = audio.first().map(|p| p.to_string_lossy().into_owned());
        Ok(Job {
            id: new_job_id(&format!(
                "features-{}",
                first
                    .unwrap_or_default()
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or("")
            )),
            work: Work::Features {
                audio: audio.iter().map(|p| absolute(p)).collect(),
                out: absolute(out),
                csv,
            },
        })
    }

    /// A job that trains `model` into the folder `out`, on `dataset`'s normal clips (or,
    /// for an audio model, on `normal_audio`'s recordings), with `preset` (a built-in
    /// preset's name or a preset file) and its epochs and seed overridden where given.
    /// The preset is read here, so that one that does not load is refused before anything
    /// is queued.
    pub fn train(
        model: Trained,
        dataset: Option<&Path>,
        normal_audio: Option<&Path>,
        out: &Path,
        preset: Option<&str>,
        epochs: Option<usize>,
        seed: Option<u64>,
    ) -> crate::Result<Job> {
        for (path, what) in [
            (dataset, "dataset folder"),
            (normal_audio, "folder of recordings"),
        ] {
            if let Some(path) = path.filter(|p| !p.is_dir()) {
                return Err(crate::Error::Missing {
                    path: path.to_path_buf(),
                    what,
                });
            }
        }
        let Some(input) = normal_audio.or(dataset) else {
            return Err(crate::Error::Invalid(
                "a training job needs a dataset (or, for an audio model, a folder of normal recordings)".into(),
            ));
        };
        if model == Trained::Visual && dataset.is_none() {
            return Err(crate::Error::Invalid(
                "a visual model is trained on a dataset's normal clips: give the dataset".into(),
            ));
        }
        // A preset file is read by path: made absolute like the rest.
        let preset = preset.map(|p| {
            if Path::new(p).is_file() {
                absolute(Path::new(p)).to_string_lossy().into_owned()
            } else {
                p.to_string()
            }
        });
        load_presets(model, preset.as_deref(), epochs, seed)?;
        Ok(Job {
            id: new_job_id(&format!(
                "train-{}-{}",
                model.name(),
                input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            )),
            work: Work::Train {
                model,
                dataset: dataset.map(absolute),
                normal_audio: normal_audio.map(absolute),
                out: absolute(out),
                preset,
                epochs,
                seed,
            },
        })
    }

    /// What the job reads, for listings: the recording, the first audio input (and how
    /// many more), or the training data.
    pub fn source(&self) -> String {
        match &self.work {
            Work::Score { source, .. } => source.clone(),
            Work::Features { audio, .. } => {
                let first = audio
                    .first()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                match audio.len() {
                    0 | 1 => first,
                    n => format!("{first} and {} more", n - 1),
                }
            }
            Work::Train {
                dataset,
                normal_audio,
                ..
            } => normal_audio
                .as_ref()
                .or(dataset.as_ref())
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        }
    }

    /// What the job writes (features and training jobs), for listings.
    pub fn output(&self) -> Option<&Path> {
        match &self.work {
            Work::Score { .. } => None,
            Work::Features { out, .. } | Work::Train { out, .. } => Some(out),
        }
    }
}

/// The visual or audio preset a training job names (its default when none), with the
/// job's overrides applied and checked.
pub(crate) fn load_presets(
    model: Trained,
    preset: Option<&str>,
    epochs: Option<usize>,
    seed: Option<u64>,
) -> crate::Result<TrainPreset> {
    use avad::avad_model::model_dir::{AudioPreset, VisualPreset};
    use avad::train::{note_overrides, override_training, override_visual_preset};
    let checked = |name: &str, r: std::result::Result<(), avad::avad_model::SettingError>| {
        r.map_err(|reason| {
            crate::Error::Invalid(format!("preset {name} with the job's options: {reason}"))
        })
    };
    let loaded =
        |e: avad::avad_model::model_dir::ModelDirError| crate::Error::Invalid(e.to_string());
    Ok(match model {
        Trained::Visual => {
            let mut p = VisualPreset::load(preset.unwrap_or("cpu")).map_err(loaded)?;
            override_visual_preset(&mut p, epochs, None, seed);
            checked(&p.name.clone(), p.check())?;
            TrainPreset::Visual(p)
        }
        Trained::Audio => {
            let mut p = AudioPreset::load(preset.unwrap_or("paper")).map_err(loaded)?;
            let changed = override_training(&mut p.train, epochs, seed);
            note_overrides(&mut p.description, &changed);
            checked(&p.name.clone(), p.check())?;
            TrainPreset::Audio(p)
        }
    })
}

/// A training job's preset, loaded.
pub(crate) enum TrainPreset {
    Visual(avad::avad_model::model_dir::VisualPreset),
    Audio(avad::avad_model::model_dir::AudioPreset),
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// On the queue, not yet taken.
    Queued,
    /// A worker has it.
    Running,
    /// Its events are all published.
    Done,
    /// It failed for good (its error says why).
    Failed,
}

impl State {
    /// `queued`, `running`, `done` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

impl Status {
    /// What a listing shows after the source: the error of a failed job, the frames of a
    /// finished score job, what a finished features or training job wrote.
    pub fn detail(&self) -> String {
        match (self.state, &self.error, self.frames, &self.output) {
            (State::Failed, Some(e), _, _) => e.clone(),
            (_, _, _, Some(out)) => format!("-> {out}"),
            (_, _, Some(frames), _) => format!("{frames} frames"),
            _ => String::new(),
        }
    }
}

/// A job's latest state, on subject `avad.status.ID`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub job: String,
    pub state: State,
    pub source: String,
    /// The worker that has it or had it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// Which delivery of the job this is (1 the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<i64>,
    /// Frames scored, when done (score jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<usize>,
    /// What the job wrote, when done (features and training jobs): the folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds since the Unix epoch.
    pub wall_time_s: f64,
}

/// A job id for `source`: its last path component, cut to what a subject token may hold,
/// and a suffix unique to this process and moment.
pub fn new_job_id(source: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let stem = source
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("job");
    let stem = std::path::Path::new(stem)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if clean.is_empty() {
        clean.push_str("job");
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "{clean}-{:x}{:x}{n:x}",
        nanos as u64 & 0xffff_ffff_ffff,
        std::process::id() & 0xffff
    )
}

/// Whether `id` can name a job (a subject token of letters, digits, `-` and `_`).
pub fn valid_job_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_are_subject_tokens_and_unique() {
        let a = new_job_id("/data/ped2/Test001");
        let b = new_job_id("/data/ped2/Test001");
        assert!(a.starts_with("Test001-"), "{a}");
        assert_ne!(a, b);
        for s in [
            "rtsp://cam.local:554/live.sdp",
            "x/y.z.mp4",
            "",
            "/",
            "a b*c>",
        ] {
            let id = new_job_id(s);
            assert!(valid_job_id(&id), "{s:?} gave {id:?}");
        }
        assert!(!valid_job_id("a.b") && !valid_job_id("a*") && !valid_job_id(""));
    }

    #[test]
    fn a_job_round_trips_through_json_with_its_kind() {
        let job = Job {
            id: "clip01-1".into(),
            work: Work::Score {
                source: "/scene/test/clip01".into(),
                sound: Some("/scene/test/clip01/audio.wav".into()),
                models: vec!["/m/visual".into(), "/m/audio".into()],
                fps: 25.0,
                hop: Some(5),
            },
        };
        let text = serde_json::to_string(&job).unwrap();
        assert!(text.contains("\"kind\":\"score\""), "{text}");
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), job);
        // What a person writes by hand: defaults for the rest.
        let typed: Job =
            serde_json::from_str(r#"{"id":"j","kind":"score","source":"v.mp4","models":["m"]}"#)
                .unwrap();
        assert!(
            matches!(typed.work, Work::Score { fps, hop: None, sound: None, .. } if fps == 25.0)
        );
    }

    #[test]
    fn features_and_training_jobs_round_trip_and_refuse_what_no_worker_could_run() {
        let dir = tempfile::tempdir().unwrap();
        let train = Job::train(
            Trained::Visual,
            Some(dir.path()),
            None,
            &dir.path().join("model"),
            Some("demo"),
            Some(1),
            Some(7),
        )
        .unwrap();
        let text = serde_json::to_string(&train).unwrap();
        assert!(text.contains("\"kind\":\"train\"") && text.contains("\"model\":\"visual\""));
        assert_eq!(serde_json::from_str::<Job>(&text).unwrap(), train);
        assert_eq!(train.output(), Some(dir.path().join("model").as_path()));
        // No such preset, no dataset for a visual model, a missing folder.
        let err = |r: crate::Result<Job>| r.unwrap_err().to_string();
        let model = dir.path().join("m");
        assert!(err(Job::train(
            Trained::Visual,
            Some(dir.path()),
            None,
            &model,
            Some("nope"),
            None,
            None
        ))
        .contains("nope"));
        assert!(err(Job::train(
            Trained::Visual,
            None,
            Some(dir.path()),
            &model,
            None,
            None,
            None
        ))
        .contains("dataset"));
        assert!(err(Job::train(
            Trained::Audio,
            Some(&dir.path().join("gone")),
            None,
            &model,
            None,
            None,
            None
        ))
        .contains("gone: no such dataset folder"));
        assert!(
            err(Job::features(&[dir.path().join("x.wav")], &model, false))
                .contains("x.wav: no such audio file or folder")
        );
        // A folder without recordings is refused before it is queued.
        assert!(Job::features(&[dir.path().to_path_buf()], &model, false).is_err());
    }
}
