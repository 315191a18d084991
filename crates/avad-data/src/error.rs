use std::path::{Path, PathBuf};

use avad_media::MediaError;

/// Errors name the file they concern and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Media(#[from] MediaError),
    // The OS error is in the message, so it is not also a `source()`: `{:#}` would print
    // it twice.
    #[error("{}: {error}", path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

impl DataError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            error: source,
        }
    }

    pub fn invalid(path: &Path, reason: impl Into<String>) -> Self {
        DataError::Invalid {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = DataError> = std::result::Result<T, E>;

pub(crate) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    String::from_utf8(bytes).map_err(|_| DataError::invalid(path, "not a UTF-8 text file"))
}

/// A TOML error as one line: where it is (line and column, when the parser says) and what
/// is wrong. `toml`'s own message can span lines (`invalid array` / `expected ]`).
pub fn toml_reason(text: &str, error: &toml::de::Error) -> String {
    let what = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    match error.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {what}")
        }
        None => what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_are_one_line_with_their_place() {
        // `toml` says this in two lines, at the end of the text.
        let text = "fps = 25\ngarbage = [\n";
        let error = toml::from_str::<toml::Table>(text).unwrap_err();
        assert!(error.message().contains('\n'));
        let reason = toml_reason(text, &error);
        assert_eq!(reason, "line 3, column 1: invalid array: expected `]`");
        let text = "a = 1\nb = = 2\nc = 3\n";
        let error = toml::from_str::<toml::Table>(text).unwrap_err();
        let reason = toml_reason(text, &error);
        assert!(reason.starts_with("line 2, column 5: "), "{reason}");
    }
}
