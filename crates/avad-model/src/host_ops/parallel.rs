//! Work split over the cores, on threads of its own. On rayon's pool instead, `avad watch`
//! (two threads of its own, each scoring windows) ran 6 % slower: 235–247 frames/s against
//! 256–266 with sound on Ped2, three rounds alternating (docs/benchmarks.md).

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
    std::thread::scope(|scope| {
        let f = &f;
        // The first range runs on the calling thread, which is already running: a spawned
        // thread may wait for a core (burn's rayon workers spin on both for a while after
        // their own work).
        let handles: Vec<_> = (1..t)
            .map(|k| scope.spawn(move || f(k * per..((k + 1) * per).min(items))))
            .collect();
        let mut results = vec![f(0..per.min(items))];
        results.extend(
            handles
                .into_iter()
                .map(|h| h.join().expect("host_ops worker panicked")),
        );
        results
    })
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
    std::thread::scope(|scope| {
        let f = &f;
        let mut chunks = out.chunks_mut(per * item.max(1)).enumerate();
        let first = chunks.next();
        for (k, chunk) in chunks {
            scope.spawn(move || f(k * per, chunk));
        }
        // The first run on the calling thread (see `split`).
        if let Some((_, chunk)) = first {
            f(0, chunk);
        }
    });
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
    std::thread::scope(|scope| {
        let f = &f;
        let chunks = a
            .chunks_mut(per)
            .zip(b.chunks_mut(per))
            .zip(c.chunks_mut(per));
        let mut chunks = chunks.enumerate();
        let first = chunks.next();
        for (k, ((a, b), c)) in chunks {
            scope.spawn(move || f(k * per, a, b, c));
        }
        // The first run on the calling thread (see `split`).
        if let Some((_, ((a, b), c))) = first {
            f(0, a, b, c);
        }
    });
}
