//! Files and folders that appear whole or not at all. Each is written under a temporary
//! name beside its target ([`temp_path`]), then renamed, so that a reader, a killed run or
//! a failed write never leaves a half-written file under the target's name. Every crate of
//! avad writes its outputs through here: model cards and weights, scores, features, WAV
//! files, plots, synthetic scenes and evidence folders. What is unfinished when the
//! process is interrupted is registered in [`leftovers`], for removal.

pub mod leftovers;

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an atomic write failed.
#[derive(Debug, thiserror::Error)]
pub enum AtomicError<E> {
    /// The caller's writer failed (its error names what it was writing).
    #[error(transparent)]
    Write(E),
    /// Making, renaming or clearing the temporary failed; `path` is the target.
    #[error("{}: {error}", path.display())]
    Io {
        /// The target.
        path: PathBuf,
        /// What the file system said.
        error: std::io::Error,
    },
}

impl<E> AtomicError<E> {
    fn io(path: &Path, error: std::io::Error) -> Self {
        AtomicError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}

/// The temporary that `target` is written under before its rename: `.STEM.tmp-PID.EXT`
/// beside it (the extension kept, for writers that pick a format from it). A caller that
/// can be interrupted registers this path for removal.
pub fn temp_path(target: &Path) -> std::io::Result<PathBuf> {
    let stem = target.file_stem().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name")
    })?;
    let mut name = OsString::from(".");
    name.push(stem);
    name.push(format!(".tmp-{}", std::process::id()));
    if let Some(ext) = target.extension() {
        name.push(".");
        name.push(ext);
    }
    Ok(target.with_file_name(name))
}

/// Writes `target` by `write(temporary)`, then renames the temporary to `target`
/// (replacing a file there). On any failure the temporary is removed and `target` is left
/// as it was.
pub fn write_with<E>(
    target: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), AtomicError<E>> {
    let tmp = temp_path(target).map_err(|e| AtomicError::io(target, e))?;
    let result = write(&tmp)
        .map_err(AtomicError::Write)
        .and_then(|()| fs::rename(&tmp, target).map_err(|e| AtomicError::io(target, e)));
    if result.is_err() {
        // Ours and incomplete; the error being returned matters more.
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Writes `bytes` to `target` through a synced temporary file and a rename.
pub fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(target, |tmp| {
        let mut f = fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })
    .map_err(|e| match e {
        AtomicError::Write(e) | AtomicError::Io { error: e, .. } => e,
    })
}

/// Makes the folder `target` by `write(temporary folder)`, then renames it to `target`.
/// A folder already at `target` is never replaced: the caller is told with
/// [`std::io::ErrorKind::AlreadyExists`]. On any failure the temporary folder and all it
/// holds are removed. A temporary left by a killed process of the same id is cleared
/// first: it is never a finished folder.
pub fn create_dir_with<E>(
    target: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), AtomicError<E>> {
    let exists = || {
        AtomicError::io(
            target,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"),
        )
    };
    if target.exists() {
        return Err(exists());
    }
    let tmp = temp_path(target).map_err(|e| AtomicError::io(target, e))?;
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| AtomicError::io(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| AtomicError::io(target, e))?;
    let result = write(&tmp).map_err(AtomicError::Write).and_then(|()| {
        // rename(2) replaces an empty folder: look once more just before.
        if target.exists() {
            return Err(exists());
        }
        fs::rename(&tmp, target).map_err(|e| AtomicError::io(target, e))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn the_temporary_sits_beside_its_target_and_keeps_the_extension() {
        let pid = std::process::id();
        assert_eq!(
            temp_path(Path::new("out/loss.png")).unwrap(),
            PathBuf::from(format!("out/.loss.tmp-{pid}.png"))
        );
        assert_eq!(
            temp_path(Path::new("scene")).unwrap(),
            PathBuf::from(format!(".scene.tmp-{pid}"))
        );
        assert!(temp_path(Path::new("/")).is_err());
    }

    #[test]
    fn a_file_is_replaced_whole_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["out.json"]);
    }

    #[test]
    fn a_failed_write_keeps_the_old_file_and_removes_the_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_atomic(&path, b"kept").unwrap();
        let err = write_with(&path, |tmp| {
            fs::write(tmp, b"half")?;
            Err::<(), _>(std::io::Error::other("the writer failed"))
        })
        .unwrap_err();
        assert!(matches!(err, AtomicError::Write(_)), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"kept");
        assert_eq!(names(dir.path()), ["out.csv"]);
        // The target is a non-empty folder: the rename fails, naming the target.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"").unwrap();
        let err = write_atomic(&blocked, b"new").unwrap_err();
        assert_ne!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
        assert_eq!(names(dir.path()), ["blocked", "out.csv"]);
    }

    #[test]
    fn a_folder_appears_whole_or_not_at_all_and_never_replaces_one() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("clip");
        create_dir_with(&target, |tmp| fs::write(tmp.join("000001.png"), b"x")).unwrap();
        assert_eq!(names(&target), ["000001.png"]);
        // A second write to it is refused and leaves the first alone.
        let err = create_dir_with(&target, |tmp| fs::write(tmp.join("other"), b"y")).unwrap_err();
        assert!(
            matches!(&err, AtomicError::Io { error, .. } if error.kind() == std::io::ErrorKind::AlreadyExists),
            "{err}"
        );
        assert_eq!(names(&target), ["000001.png"]);
        // A writer that fails halfway leaves nothing.
        let half = dir.path().join("half");
        let err = create_dir_with(&half, |tmp| {
            fs::write(tmp.join("000001.png"), b"x")?;
            Err::<(), _>(std::io::Error::other("frame 2 is bad"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "frame 2 is bad");
        assert_eq!(names(dir.path()), ["clip"]);
        // A temporary a killed run left is cleared, not mixed in.
        let stale = temp_path(&half).unwrap();
        fs::create_dir_all(&stale).unwrap();
        fs::write(stale.join("stale"), b"z").unwrap();
        create_dir_with(&half, |tmp| fs::write(tmp.join("fresh"), b"f")).unwrap();
        assert_eq!(names(&half), ["fresh"]);
        assert_eq!(names(dir.path()), ["clip", "half"]);
    }
}
