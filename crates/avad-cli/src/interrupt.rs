//! Ctrl-C (SIGINT) for the batch commands: the unfinished things a command registered as
//! its own (a temporary file or folder, an `--out` folder it made; see
//! `avad_atomic::leftovers`) are removed, and the process exits with 130 after one line
//! on stderr. Finished outputs and checkpoints are never registered, so an interrupted
//! `train` can still `--resume`. A process started
//! with SIGINT ignored (a background job of a script) keeps ignoring it; SIGTERM and
//! SIGHUP keep their default (and `nohup` its ignored SIGHUP). `watch` installs its own
//! handler instead: it ends its episodes and writes its summary.

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
        avad::avad_atomic::leftovers::clean_up();
        eprintln!("error: interrupted; unfinished files removed");
        std::process::exit(130);
    });
}
