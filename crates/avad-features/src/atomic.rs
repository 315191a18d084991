use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{FeatureError, Result};

/// Writes `bytes` to `path` through a temporary file in the same directory and a
/// rename, so a reader (or a killed run) never sees a half-written file. The twin of
/// `avad_media::write_atomic`, kept here so that avad-features builds without avad-media.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path)?;
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(FeatureError::io(path, e));
    }
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        FeatureError::io(path, e)
    })
}

/// The temporary file the features are written to before they take `path`'s name: `.NAME.tmp<pid>` beside it.
pub fn temp_path(path: &Path) -> Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        FeatureError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"),
        )
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp{}", std::process::id()));
    Ok(path.with_file_name(tmp_name))
}
