//! [`Progress`]: what long work reports while it runs, for a front end to show.

/// What long work reports while it runs. Every method does nothing by default, so
/// [`Silent`] implements none; the command line draws bars with it. Methods take `&self`
/// (an implementation synchronises itself): work done on several threads reports from
/// each.
pub trait Progress: Sync {
    /// A stage of `total` steps begins, described by `what`.
    fn stage(&self, _what: &str, _total: u64) {}
    /// What the current stage is doing now.
    fn message(&self, _message: &str) {}
    /// `steps` more steps of the current stage are done.
    fn advance(&self, _steps: u64) {}
    /// `done` steps of the current stage are done in all.
    fn set_done(&self, _done: u64) {}
    /// The current stage is over.
    fn finish(&self) {}
    /// A line worth telling the user (what is trained on, a note on the data).
    fn note(&self, _line: &str) {}
    /// The progress of one training run (`label`: `visual`, `audio`, or an audio fold),
    /// epoch by epoch.
    fn training(&self, _label: &str) -> Box<dyn avad_model::train::Progress + '_> {
        Box::new(avad_model::train::Silent)
    }
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}
