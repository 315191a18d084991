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
}

fn default_fps() -> f64 {
    25.0
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
        let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        if let Some(model) = models.iter().find(|m| !m.is_dir()) {
            return Err(crate::Error::Missing {
                path: model.clone(),
                what: "model folder",
            });
        }
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
                models: models.iter().map(|m| absolute(m)).collect(),
                fps,
                hop,
            },
        })
    }

    /// What the job reads, for listings.
    pub fn source(&self) -> &str {
        match &self.work {
            Work::Score { source, .. } => source,
        }
    }
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
    /// finished one.
    pub fn detail(&self) -> String {
        match (self.state, &self.error, self.frames) {
            (State::Failed, Some(e), _) => e.clone(),
            (_, _, Some(frames)) => format!("{frames} frames"),
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
    /// Frames scored, when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<usize>,
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
}
