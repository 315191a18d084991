//! What an interrupted process should not leave behind: the unfinished things a piece of
//! work registers as its own (a temporary file or folder, an output folder it made) until
//! it finishes. A front end that handles Ctrl-C calls [`clean_up`] before it exits.
//! Finished outputs and checkpoints are never registered, so they always stay.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// What to remove of a registered path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    /// A temporary file.
    File,
    /// A temporary folder, with all it holds.
    Tree,
    /// A folder the work made: removed only as far as it is empty
    /// ([`remove_empty_folders`]).
    EmptyFolders,
}

type Entry = (u64, PathBuf, Leftover);

static REGISTERED: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A registration; dropping it (the work finished, or failed and cleaned up after itself)
/// takes the path off the list.
#[must_use]
#[derive(Debug)]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        registered().retain(|(id, _, _)| *id != self.0);
    }
}

fn registered() -> MutexGuard<'static, Vec<Entry>> {
    REGISTERED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers `path` to be removed (as `kind` says) by [`clean_up`] until the returned
/// guard is dropped.
pub fn register(path: &Path, kind: Leftover) -> Registered {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    registered().push((id, path.to_path_buf(), kind));
    Registered(id)
}

/// Registers the temporary that `target` is written under ([`crate::temp_path`]), as
/// [`register`] does; `None` if it has no name to register.
pub fn register_temp(target: &Path, kind: Leftover) -> Option<Registered> {
    crate::temp_path(target).ok().map(|t| register(&t, kind))
}

/// Removes what is registered, the latest first (a temporary inside an output folder
/// goes before the folder is looked at).
pub fn clean_up() {
    let list = std::mem::take(&mut *registered());
    remove(&list);
}

fn remove(list: &[Entry]) {
    for (_, path, kind) in list.iter().rev() {
        match kind {
            Leftover::File => {
                let _ = std::fs::remove_file(path);
            }
            Leftover::Tree => {
                // The work's threads go on writing into it until the process exits: a
                // file made during the removal fails it, so it is tried again.
                for _ in 0..20 {
                    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
                        break;
                    }
                }
            }
            Leftover::EmptyFolders => remove_empty_folders(path),
        }
    }
}

/// Removes `dir` if it holds nothing but empty folders (those too); leaves any file.
pub fn remove_empty_folders(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_empty_folders(&entry.path());
            }
        }
    }
    // Fails, as it should, on a folder with a file left in it.
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_registered_and_unfinished_goes_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join(".out.csv.tmp1");
        let tree = tmp.path().join("scene.tmp-1");
        let out = tmp.path().join("out");
        let done = tmp.path().join("done.csv");
        std::fs::write(&file, b"half").unwrap();
        std::fs::create_dir_all(tree.join("train/clip01")).unwrap();
        std::fs::write(tree.join("train/clip01/000001.png"), b"x").unwrap();
        std::fs::create_dir_all(out.join("plots")).unwrap();
        std::fs::create_dir_all(out.join("checkpoint")).unwrap();
        std::fs::write(out.join("checkpoint/epoch-1"), b"keep").unwrap();
        std::fs::write(&done, b"finished").unwrap();
        let _a = register(&out, Leftover::EmptyFolders);
        let _b = register(&tree, Leftover::Tree);
        let _c = register(&file, Leftover::File);
        {
            // Finished and dropped: no longer registered.
            let _d = register(&done, Leftover::File);
        }
        // What clean_up would take: ours only (other tests of this binary may register
        // their own paths meanwhile, and those are left alone).
        let ours: Vec<_> = registered()
            .iter()
            .filter(|(_, p, _)| p.starts_with(tmp.path()))
            .cloned()
            .collect();
        assert_eq!(ours.len(), 3);
        remove(&ours);
        assert!(!file.exists() && !tree.exists());
        assert!(!out.join("plots").exists(), "an empty folder goes");
        assert!(
            out.join("checkpoint/epoch-1").is_file(),
            "a checkpoint stays"
        );
        assert!(done.is_file());
    }
}
