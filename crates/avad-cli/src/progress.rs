//! Progress bars that also reach a log: on a terminal, indicatif's bar redrawn in place;
//! when stderr is a file or a pipe (a run under `nohup`, a CI log), the same line written
//! out whole every [`LOG_EVERY`], so that a long run still says what it is doing, how far
//! it is and how long is left.

use std::io::{self, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, TermLike};

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
