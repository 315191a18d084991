//! The output folder of work that writes one: made when the work starts, and taken away
//! again if it fails before writing anything into it, so that a failed run leaves no
//! empty folder behind; refused inside the work's inputs; cleared of an earlier run's
//! files that this run will not write over.

use std::path::{Path, PathBuf};

use avad_atomic::leftovers::{register, remove_empty_folders, Leftover, Registered};
use avad_model::model_dir::CARD_FILE;

use crate::error::{Context, Error, Result};

/// An output folder. Dropped without [`OutDir::keep`] (the command failed), it removes the
/// folders it made that are still empty, and nothing else: never a file, never a folder
/// that existed before. Until then, a folder it made is registered with
/// [`avad_atomic::leftovers`], so that an interrupted process takes it away the same way.
pub struct OutDir {
    path: PathBuf,
    created: bool,
    kept: bool,
    /// A folder this run made is registered for removal if the process is interrupted.
    _registered: Option<Registered>,
}

impl OutDir {
    /// Makes `path` (and its parents) if missing; refuses a path that is a file.
    pub fn create(path: &Path) -> Result<Self> {
        if path.exists() && !path.is_dir() {
            return Err(Error::invalid(format!(
                "{}: exists and is not a folder",
                path.display()
            )));
        }
        let created = !path.exists();
        std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            created,
            kept: false,
            _registered: created.then(|| register(path, Leftover::EmptyFolders)),
        })
    }

    /// Removes what an earlier run into the same folder left that this run will not write
    /// over, so that no file in it describes another run: each of `files` (names relative
    /// to the folder) that exists, and every plot (`.png`, `.svg`) in `plots/` whose name
    /// is not one of `plots` (file stems). Nothing else is touched.
    pub fn remove_stale(&self, files: &[&str], plots: &[&str]) -> Result<()> {
        for name in files {
            remove_file_if_present(&self.path.join(name))?;
        }
        let dir = self.path.join("plots");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let is_plot = path.extension().is_some_and(|e| e == "png" || e == "svg");
            let stem = path.file_stem().and_then(|s| s.to_str());
            if is_plot
                && entry.file_type().is_ok_and(|t| t.is_file())
                && !stem.is_some_and(|s| plots.contains(&s))
            {
                remove_file_if_present(&path)?;
            }
        }
        Ok(())
    }

    /// The command succeeded: leave the folder as it is.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl std::fmt::Debug for OutDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutDir")
            .field("path", &self.path)
            .field("created", &self.created)
            .field("kept", &self.kept)
            .finish()
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if self.created && !self.kept {
            remove_empty_folders(&self.path);
        }
    }
}

/// Refuses an output folder that is, or lies inside, one of the command's inputs (each
/// named by what it is: "the dataset", "the model"): a dataset would take the outputs for
/// clips, a model folder would mix them with its weights.
pub fn refuse_inside(out: &Path, inputs: &[(&str, &Path)]) -> Result<()> {
    let Some(out_abs) = resolved(out) else {
        return Ok(());
    };
    for (what, input) in inputs {
        let Ok(input_abs) = input.canonicalize() else {
            continue;
        };
        if input_abs.is_dir() && out_abs.starts_with(&input_abs) {
            return Err(Error::invalid(format!(
                "{}: is inside {what} {}; write the output somewhere else",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// `path` made absolute with its links resolved, as far as it exists (the rest appended),
/// so that a folder not made yet can be compared with those that are.
fn resolved(path: &Path) -> Option<PathBuf> {
    use std::path::Component;
    let absolute = std::path::absolute(path).ok()?;
    let parts: Vec<Component> = absolute.components().collect();
    // The longest prefix that exists, resolved; the rest read as written (`..` steps up).
    for split in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..split].iter().collect();
        if let Ok(mut out) = head.canonicalize() {
            for part in &parts[split..] {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return Some(out);
        }
    }
    None
}

fn remove_file_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing the stale {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// `out` may not lie inside the dataset or a model folder.
pub fn refuse_out_inside_inputs(out: &Path, dataset: &Path, models: &[PathBuf]) -> Result<()> {
    let mut inputs = vec![("the dataset", dataset)];
    inputs.extend(models.iter().map(|m| ("the model", m.as_path())));
    refuse_inside(out, &inputs)
}

/// Refuses to train a `kind` model into `out` when it already holds a trained model, unless
/// `resume` continues its `checkpoints` (which must be there, and of the same kind), so a
/// finished model is never overwritten by accident.
pub fn refuse_trained_model(out: &Path, resume: bool, checkpoints: &str, kind: &str) -> Result<()> {
    let card = out.join(CARD_FILE);
    // A run stopped before its card was written leaves only checkpoints: a visual run's
    // `checkpoint/checkpoint.json`, an audio run's `checkpoint/FOLD/checkpoint.json` (FOLD
    // `all`, or a clip such as `test/Test001`).
    let checkpoint = out.join("checkpoint");
    let visual_checkpoint = checkpoint.join("checkpoint.json").is_file();
    fn below(dir: &Path, depth: usize) -> bool {
        depth > 0
            && std::fs::read_dir(dir).is_ok_and(|entries| {
                entries.flatten().any(|e| {
                    let p = e.path();
                    p.is_dir() && (p.join("checkpoint.json").is_file() || below(&p, depth - 1))
                })
            })
    }
    let audio_checkpoint = below(&checkpoint, 2);
    let other = match kind {
        "visual" if audio_checkpoint && !visual_checkpoint => Some("audio"),
        "audio" if visual_checkpoint => Some("visual"),
        _ => None,
    };
    if let Some(other) = other {
        return Err(Error::invalid(format!(
            "{}: holds the checkpoints of {} training run; train into another folder",
            out.display(),
            avad_model::model_dir::article(other)
        )));
    }
    if !card.exists() {
        return Ok(());
    }
    if !resume {
        return Err(Error::invalid(format!(
            "{}: already holds a trained model; train into another folder, or resume its {checkpoints}",
            out.display()
        )));
    }
    let held = std::fs::read_to_string(&card)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["kind"].as_str().map(str::to_string));
    if let Some(held) = held.filter(|h| h != kind) {
        return Err(Error::invalid(format!(
            "{}: holds {} model: no {kind} training to resume; train into another folder",
            out.display(),
            avad_model::model_dir::article(&held)
        )));
    }
    if !out.join("checkpoint").is_dir() {
        return Err(Error::invalid(format!(
            "{}: holds a trained model and no checkpoint to resume; train into another folder",
            out.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_command_leaves_no_empty_folder_and_no_file_lost() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("a/out");
        {
            let dir = OutDir::create(&out).unwrap();
            std::fs::create_dir_all(out.join("plots/deep")).unwrap();
            drop(dir);
        }
        assert!(
            !out.exists(),
            "an empty tree made by the command is removed"
        );
        assert!(tmp.path().join("a").is_dir(), "parents are left");

        let dir = OutDir::create(&out).unwrap();
        std::fs::create_dir_all(out.join("checkpoint")).unwrap();
        std::fs::write(out.join("checkpoint/epoch-1"), b"x").unwrap();
        std::fs::create_dir_all(out.join("plots")).unwrap();
        drop(dir);
        assert!(out.join("checkpoint/epoch-1").is_file(), "files stay");
        assert!(!out.join("plots").exists());

        // A folder that was there before is never removed, even empty.
        let before = tmp.path().join("before");
        std::fs::create_dir(&before).unwrap();
        drop(OutDir::create(&before).unwrap());
        assert!(before.is_dir());

        // Kept: left as it is.
        let kept = tmp.path().join("kept");
        OutDir::create(&kept).unwrap().keep();
        assert!(kept.is_dir());
    }

    #[test]
    fn stale_outputs_of_an_earlier_run_go_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("plots")).unwrap();
        for name in [
            "metrics.md",
            "notes.txt",
            "plots/Test001.png",
            "plots/Test001.svg",
            "plots/Test002.png",
            "plots/Test002.svg",
            "plots/readme.txt",
        ] {
            std::fs::write(out.join(name), b"old").unwrap();
        }
        std::fs::create_dir(out.join("plots/old.png")).unwrap();
        let dir = OutDir::create(&out).unwrap();
        dir.remove_stale(&["metrics.md", "metrics.json"], &["Test002"])
            .unwrap();
        let mut left: Vec<String> = walk(&out);
        left.sort();
        assert_eq!(
            left,
            [
                "notes.txt",
                "plots/Test002.png",
                "plots/Test002.svg",
                "plots/old.png/",
                "plots/readme.txt"
            ]
        );
        dir.keep();
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.file_type().unwrap().is_dir() {
                let inner = walk(&entry.path());
                if inner.is_empty() {
                    out.push(format!("{name}/"));
                }
                out.extend(inner.into_iter().map(|n| format!("{name}/{n}")));
            } else {
                out.push(name);
            }
        }
        out
    }

    #[test]
    fn an_output_inside_an_input_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(data.join("test/c1")).unwrap();
        let model = tmp.path().join("model");
        std::fs::create_dir(&model).unwrap();
        let inputs = [
            ("the dataset", data.as_path()),
            ("the model", model.as_path()),
        ];
        for (out, what) in [
            (data.clone(), "the dataset"),
            (data.join("test/results"), "the dataset"),
            (data.join("test/c1/../../new/deeper"), "the dataset"),
            (data.join("new/../results"), "the dataset"),
            (model.join("scores"), "the model"),
        ] {
            let err = refuse_inside(&out, &inputs).unwrap_err().to_string();
            assert!(err.contains(&format!("is inside {what}")), "{err}");
        }
        // Beside them, or above them, is fine.
        for out in [
            tmp.path().join("out"),
            tmp.path().to_path_buf(),
            tmp.path().join("data2"),
        ] {
            refuse_inside(&out, &inputs).unwrap();
        }
        // Through a link to the dataset as well.
        #[cfg(unix)]
        {
            let link = tmp.path().join("link");
            std::os::unix::fs::symlink(&data, &link).unwrap();
            assert!(refuse_inside(&link.join("out"), &inputs).is_err());
        }
    }

    #[test]
    fn a_file_is_not_a_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f.wav");
        std::fs::write(&file, b"x").unwrap();
        let err = OutDir::create(&file).unwrap_err().to_string();
        assert!(err.ends_with("f.wav: exists and is not a folder"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }
}
