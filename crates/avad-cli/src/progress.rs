//! Progress bars that also reach a log: on a terminal, indicatif's bar redrawn in place;
//! when stderr is a file or a pipe (a run under `nohup`, a CI log), the same line written
//! out whole every [`LOG_EVERY`], so that a long run still says what it is doing, how far
//! it is and how long is left.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use avad::avad_model::train::{EpochRecord, Progress as TrainProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};

/// How often a bar writes its line when stderr is not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(15);

/// A bar of `total` steps drawn on stderr as suits it (see the module's note).
pub fn bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if !io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::term_like_with_hz(
            Box::new(LogLines::new(LOG_EVERY, io::stderr())),
            1,
        ));
    }
    bar
}

/// A "terminal" that keeps what indicatif draws and writes it as a whole line, at most
/// once per `every` (the first draw at once), leaving out repeats and empty redraws.
#[derive(Debug)]
struct LogLines<W: Write + Send + std::fmt::Debug> {
    every: Duration,
    state: Mutex<LogState<W>>,
}

#[derive(Debug)]
struct LogState<W> {
    out: W,
    line: String,
    last: Option<(Instant, String)>,
}

impl<W: Write + Send + std::fmt::Debug> LogLines<W> {
    fn new(every: Duration, out: W) -> Self {
        LogLines {
            every,
            state: Mutex::new(LogState {
                out,
                line: String::new(),
                last: None,
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut LogState<W>) -> T) -> T {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut state)
    }
}

impl<W: Write + Send + std::fmt::Debug> TermLike for LogLines<W> {
    fn width(&self) -> u16 {
        120
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        self.write_str(s)
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        self.with(|st| st.line.push_str(s));
        Ok(())
    }
    fn clear_line(&self) -> io::Result<()> {
        self.with(|st| st.line.clear());
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        let every = self.every;
        self.with(|st| {
            let line = std::mem::take(&mut st.line);
            let line = line.trim_end();
            let due = st
                .last
                .as_ref()
                .is_none_or(|(at, said)| at.elapsed() >= every && said != line);
            if line.is_empty() || !due {
                return Ok(());
            }
            writeln!(st.out, "{line}")?;
            st.last = Some((Instant::now(), line.to_string()));
            st.out.flush()
        })
    }
}

/// The command line's [`avad::Progress`]: a counting bar per stage, a bar per training
/// epoch (or per audio fold over its epochs), notes on stderr.
#[derive(Default)]
pub struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

impl Bars {
    fn with(&self, f: impl FnOnce(&ProgressBar)) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bar) = current.as_ref() {
            f(bar);
        }
    }
}

/// A bar counting `total` items.
pub fn counter_bar(total: u64, message: &str) -> ProgressBar {
    let bar = bar(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:30} [{bar:30}] {pos}/{len} {elapsed_precise}, {eta} left",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(message.to_string());
    bar
}

impl avad::Progress for Bars {
    fn stage(&self, what: &str, total: u64) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = current.take() {
            old.finish_and_clear();
        }
        *current = Some(counter_bar(total, what));
    }

    fn message(&self, message: &str) {
        self.with(|b| b.set_message(message.to_string()));
    }

    fn advance(&self, steps: u64) {
        self.with(|b| b.inc(steps));
    }

    fn set_done(&self, done: u64) {
        self.with(|b| b.set_position(done));
    }

    fn finish(&self) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = current.take() {
            old.finish_and_clear();
        }
    }

    fn note(&self, line: &str) {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.as_ref() {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    fn training(&self, label: &str) -> Box<dyn TrainProgress + '_> {
        Box::new(TrainingBar {
            // The visual model: a bar per epoch over its batches, a line per epoch. An
            // audio fold: one bar over its epochs.
            label: (label != "visual").then(|| label.to_string()),
            bar: None,
            epochs: 0,
            loss_sum: 0.0,
        })
    }
}

/// Training progress with the running loss and the time left.
struct TrainingBar {
    /// An audio fold's label; `None` for the visual model.
    label: Option<String>,
    bar: Option<ProgressBar>,
    epochs: usize,
    loss_sum: f64,
}

impl TrainingBar {
    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for TrainingBar {
    fn drop(&mut self) {
        self.clear();
    }
}

fn styled(len: u64, template: &str, prefix: String) -> ProgressBar {
    let bar = bar(len);
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix);
    bar.set_message("loss -");
    bar
}

impl TrainProgress for TrainingBar {
    fn epoch_started(&mut self, epoch: usize, epochs: usize, batches: usize) {
        self.epochs = epochs;
        self.loss_sum = 0.0;
        match &self.label {
            None => {
                self.clear();
                let template = "epoch {prefix} [{bar:30}] {pos}/{len} batches, {msg}, {elapsed_precise}, {eta} left";
                self.bar = Some(styled(
                    batches as u64,
                    template,
                    format!("{epoch}/{epochs}"),
                ));
            }
            Some(label) => {
                let template =
                    "{prefix} [{bar:30}] epoch {pos}/{len}, {msg}, {elapsed_precise}, {eta} left";
                let bar = self
                    .bar
                    .get_or_insert_with(|| styled(epochs as u64, template, label.clone()));
                bar.set_position(epoch as u64 - 1);
            }
        }
    }

    fn batch_done(&mut self, batch: usize, loss: f64) {
        self.loss_sum += loss;
        if let (None, Some(bar)) = (&self.label, &self.bar) {
            bar.set_message(format!("loss {:.5}", self.loss_sum / batch as f64));
            bar.inc(1);
        }
    }

    fn epoch_done(&mut self, r: &EpochRecord, best: bool) {
        let validation = |sep: &str| {
            r.validation_loss
                .map(|v| format!("{sep}{v:.5}"))
                .unwrap_or_default()
        };
        if let (Some(_), Some(bar)) = (&self.label, &self.bar) {
            bar.set_message(format!(
                "loss {:.5}{}",
                r.train_loss,
                validation(" / validation ")
            ));
            bar.set_position(r.epoch as u64);
            return;
        }
        self.clear();
        let left = (self.epochs - r.epoch) as f64 * r.seconds / 60.0;
        eprintln!(
            "epoch {}/{}: train loss {:.5}{}{} in {:.0} s (at most {left:.0} min left)",
            r.epoch,
            self.epochs,
            r.train_loss,
            validation(", validation loss "),
            if best { " (best)" } else { "" },
            r.seconds,
        );
    }

    fn resumed(&mut self, epoch: usize) {
        match &self.label {
            Some(label) => eprintln!("{label}: resuming after epoch {epoch}"),
            None => eprintln!("resuming after epoch {epoch}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default)]
    struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_bar_in_a_log_writes_whole_lines_and_not_too_often() {
        let out = Shared::default();
        let bar = ProgressBar::with_draw_target(
            Some(10),
            ProgressDrawTarget::term_like_with_hz(
                Box::new(LogLines::new(Duration::from_millis(200), out.clone())),
                20,
            ),
        );
        bar.set_style(indicatif::ProgressStyle::with_template("{msg} {pos}/{len}").unwrap());
        bar.set_message("scoring");
        let started = Instant::now();
        for _ in 0..10 {
            bar.inc(1);
            std::thread::sleep(Duration::from_millis(60));
        }
        bar.finish_and_clear();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // At least 600 ms of work, one line per 200 ms at most: the first draw, then more,
        // but never two within 200 ms (however slow the machine made the loop).
        let most = 1 + started.elapsed().as_millis() as usize / 200;
        assert!(lines.len() >= 2 && lines.len() <= most, "{most}: {text:?}");
        assert!(lines[0].starts_with("scoring "), "{text:?}");
        for l in &lines {
            let (_, count) = l.split_once(' ').unwrap();
            let (pos, len) = count.split_once('/').unwrap();
            assert_eq!(len, "10", "{text:?}");
            assert!(pos.parse::<u64>().unwrap() <= 10, "{text:?}");
        }
        assert!(!text.contains('\r') && !text.contains('\x1b'), "{text:?}");
    }
}
