//! [`WindowPool`]: worker threads that score visual windows while the caller goes on
//! reading and scoring the sound.

use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// One visual window to score: its frames, the index of its first frame in the segment,
/// and the first frame no earlier window covered (the frames its scores go to).
pub(crate) struct Window {
    pub frames: Vec<Vec<f32>>,
    pub start: usize,
    pub from: usize,
}

/// A window's frame errors, with the frames they belong to.
pub(crate) struct Scored {
    pub errors: Vec<f64>,
    pub start: usize,
    pub from: usize,
}

type Scorer = dyn Fn(Vec<Vec<f32>>) -> Result<Vec<f64>> + Send + Sync;

/// Worker threads that score visual windows, fed through a bounded queue (a full queue
/// makes `submit` wait for a result, so a slow model holds back the reading rather than
/// piling up frames). Results come back in the order the workers finish them. Each window
/// is computed exactly as on one thread, so no score depends on the number of workers.
pub(crate) struct WindowPool {
    jobs: Option<SyncSender<Window>>,
    done: Receiver<Result<Scored>>,
    outstanding: usize,
    threads: Vec<JoinHandle<()>>,
}

fn stopped() -> Error {
    Error::invalid("the window scoring threads stopped")
}

impl WindowPool {
    pub fn start(workers: usize, score: Arc<Scorer>) -> Self {
        let workers = workers.max(1);
        let (jobs, queue) = sync_channel::<Window>(1);
        let (results, done) = channel();
        let queue = Arc::new(Mutex::new(queue));
        let threads = (0..workers)
            .map(|_| {
                let (queue, results, score) = (queue.clone(), results.clone(), score.clone());
                std::thread::spawn(move || loop {
                    // The lock is held only while taking a job, not while scoring it.
                    let job = match queue.lock() {
                        Ok(q) => q.recv(),
                        Err(_) => break,
                    };
                    let Ok(Window {
                        frames,
                        start,
                        from,
                    }) = job
                    else {
                        break;
                    };
                    let scored = score(frames).map(|errors| Scored {
                        errors,
                        start,
                        from,
                    });
                    if results.send(scored).is_err() {
                        break;
                    }
                })
            })
            .collect();
        WindowPool {
            jobs: Some(jobs),
            done,
            outstanding: 0,
            threads,
        }
    }

    /// Queues `job`, returning the windows finished meanwhile.
    pub fn submit(&mut self, job: Window) -> Result<Vec<Scored>> {
        let mut finished = Vec::new();
        let jobs = self.jobs.clone().ok_or_else(stopped)?;
        let mut job = job;
        loop {
            match jobs.try_send(job) {
                Ok(()) => break,
                // Every worker is busy: take in a result, then try again.
                Err(TrySendError::Full(j)) if self.outstanding > 0 => {
                    job = j;
                    finished.push(self.wait()?);
                }
                // None is busy, but none has come back for the next job yet.
                Err(TrySendError::Full(j)) => {
                    jobs.send(j).map_err(|_| stopped())?;
                    break;
                }
                Err(TrySendError::Disconnected(_)) => return Err(stopped()),
            }
        }
        self.outstanding += 1;
        Ok(finished)
    }

    /// The windows finished so far, without waiting.
    pub fn ready(&mut self) -> Result<Vec<Scored>> {
        let mut finished = Vec::new();
        while let Ok(scored) = self.done.try_recv() {
            self.outstanding -= 1;
            finished.push(scored?);
        }
        Ok(finished)
    }

    /// Every window still being scored.
    pub fn flush(&mut self) -> Result<Vec<Scored>> {
        let mut finished = Vec::new();
        while self.outstanding > 0 {
            finished.push(self.wait()?);
        }
        Ok(finished)
    }

    fn wait(&mut self) -> Result<Scored> {
        let scored = self.done.recv().map_err(|_| stopped())?;
        self.outstanding -= 1;
        scored
    }
}

impl Drop for WindowPool {
    /// The workers stop once the queue closes; each finishes the window it holds.
    fn drop(&mut self) {
        self.jobs = None;
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
