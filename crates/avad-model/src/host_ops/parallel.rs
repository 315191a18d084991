//! Work split over the cores, on rayon's pool: the threads burn's own operations run on,
//! so a host operation neither starts threads nor competes with rayon's workers while
//! they wait for work.

use rayon::prelude::*;

/// The cores to split over, read once: `available_parallelism` reads the cgroup's files at
/// every call, which cost a small operation more than its work.
pub(crate) fn threads() -> usize {
    static THREADS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *THREADS.get_or_init(|| std::thread::available_parallelism().map_or(1, |t| t.get()))
}

/// `f` over `items` split into one contiguous range per core, in order.
pub(super) fn split<T: Send>(
    items: usize,
    f: impl Fn(std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let t = threads().min(items).max(1);
    if t == 1 {
        return vec![f(0..items)];
    }
    let per = items.div_ceil(t);
    (0..t)
        .into_par_iter()
        .map(|k| f(k * per..((k + 1) * per).min(items)))
        .collect()
}

/// Below this many values a thread costs more than it saves (an LSTM step of the audio
/// model writes a few thousand).
const SMALL: usize = 1 << 15;

/// `f(first_item, chunk)` over `out` cut into whole items of `item` values, one run of items
/// per core.
pub(crate) fn split_mut(out: &mut [f32], item: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let items = out.len().checked_div(item).unwrap_or(0);
    let t = if out.len() < SMALL {
        1
    } else {
        threads().min(items).max(1)
    };
    if t == 1 {
        if !out.is_empty() {
            f(0, out);
        }
        return;
    }
    let per = items.div_ceil(t).max(1);
    out.par_chunks_mut(per * item.max(1))
        .enumerate()
        .for_each(|(k, chunk)| f(k * per, chunk));
}

/// `f(first, a, b, c)` over three slices of one length, cut into one run per core (on the
/// calling thread below [`SMALL`] values).
pub(super) fn split3(
    a: &mut [f32],
    b: &mut [f32],
    c: &mut [f32],
    f: impl Fn(usize, &mut [f32], &mut [f32], &mut [f32]) + Sync,
) {
    let t = threads();
    if a.len() < SMALL || t == 1 {
        f(0, a, b, c);
        return;
    }
    let per = a.len().div_ceil(t);
    a.par_chunks_mut(per)
        .zip(b.par_chunks_mut(per))
        .zip(c.par_chunks_mut(per))
        .enumerate()
        .for_each(|(k, ((a, b), c))| f(k * per, a, b, c));
}
