//! Ctrl-C (SIGINT) for the batch commands: the unfinished things a command registered as
//! its own (a temporary file or folder, an `--out` folder it made) are removed, and the
//! process exits with 130 after one line on stderr. Finished outputs and checkpoints are
//! never registered, so an interrupted `train` can still `--resume`. A process started
//! with SIGINT ignored (a background job of a script) keeps ignoring it; SIGTERM and
//! SIGHUP keep their default (and `nohup` its ignored SIGHUP). `watch` installs its own
//! handler instead: it ends its episodes and writes its summary.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// What to remove of a registered path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Leftover {
    /// A temporary file.
    File,
    /// A temporary folder, with all it holds.
    Tree,
    /// A folder the command made: removed only as far as it is empty (see `out_dir`).
    EmptyFolders,
}

static REGISTERED: Mutex<Vec<(u64, PathBuf, Leftover)>> = Mutex::new(Vec::new());
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

fn registered() -> std::sync::MutexGuard<'static, Vec<(u64, PathBuf, Leftover)>> {
    REGISTERED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers `path` to be removed (as `kind` says) if the process is interrupted before
/// the returned guard is dropped.
pub fn register(path: &Path, kind: Leftover) -> Registered {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    registered().push((id, path.to_path_buf(), kind));
    Registered(id)
}

/// Removes what is registered, the latest first (a temporary inside an `--out` folder
/// goes before the folder is looked at).
pub fn clean_up() {
    let list = std::mem::take(&mut *registered());
    remove(&list);
}

fn remove(list: &[(u64, PathBuf, Leftover)]) {
    for (_, path, kind) in list.iter().rev() {
        match kind {
            Leftover::File => {
                let _ = std::fs::remove_file(path);
            }
            Leftover::Tree => {
                // The command's threads go on writing into it until the process exits:
                // a file made during the removal fails it, so it is tried again.
                for _ in 0..20 {
                    if std::fs::remove_dir_all(path).is_ok() || !path.exists() {
                        break;
                    }
                }
            }
            Leftover::EmptyFolders => avad::out_dir::remove_empty_folders(path),
        }
    }
}

/// Whether SIGINT was set to be ignored before this process ran (`cmd &` in a script).
#[cfg(unix)]
fn sigint_ignored() -> bool {
    // SAFETY: sigaction with a null new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(not(unix))]
fn sigint_ignored() -> bool {
    false
}

/// Installs the handler (once per process; a second call is a no-op), unless SIGINT is
/// ignored.
pub fn install() {
    if sigint_ignored() {
        return;
    }
    // Fails only when a handler is already set: then that one stands.
    let _ = ctrlc::set_handler(|| {
        clean_up();
        eprintln!("error: interrupted; unfinished files removed");
        std::process::exit(130);
    });
}

/// The output folder `path`, made if missing; if this run made it, Ctrl-C before the
/// command ends removes it as far as it is empty.
pub fn out_dir(path: &Path) -> anyhow::Result<avad::out_dir::OutDir> {
    let dir = avad::out_dir::OutDir::create(path)?;
    Ok(if dir.created() {
        dir.with_guard(register(path, Leftover::EmptyFolders))
    } else {
        dir
    })
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
            // Finished and dropped: no longer the handler's to remove.
            let _d = register(&done, Leftover::File);
        }
        // What the handler would take: ours only (other tests of this binary register
        // their own folders meanwhile, and those are left alone).
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
