//! Hostile files: valid inputs of every format avad parses, mutated byte by byte (bits
//! flipped, bytes overwritten with edge values, cut short, stretches deleted, repeated or
//! inserted), each mutation read back through the parser a user's file meets. Every case
//! must end in a result or an error: a panic fails the test, and so does an allocation
//! larger than [`ALLOCATION_LIMIT`] (the binary's allocator counts the largest one each
//! thread asks for). The mutations come from a fixed seed, so a failure repeats.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use avad::avad_data::labels::{parse_ucsd_m, read_labels_csv};
use avad::avad_data::{generic::clip_from_folder, Split};
use avad::avad_media::audio::load_audio;
use avad::avad_media::frames::read_gray8;
use avad::avad_model::model_dir::{AudioPreset, VisualPreset};

use crate::{copy_dir, fixture};

/// No input of these tests is over 1 MB: an allocation of 256 MiB trusts a size the file
/// declares.
pub const ALLOCATION_LIMIT: usize = 256 << 20;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, noting the largest request of each thread.
pub struct Counting;

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(layout.size())));
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(new)));
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

/// xorshift64*: the mutations' random numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four mutations of `valid`.
fn mutate(valid: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = valid.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len());
        match rng.below(7) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[at] = [0x00, 0xff, 0x7f, 0x80, b'9', b'-'][rng.below(6)],
            2 => b.truncate(at),
            3 => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                b.drain(at..end);
            }
            4 => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                let piece = b[at..end].to_vec();
                b.splice(at..at, piece);
            }
            5 => {
                let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                b.splice(at..at, junk);
            }
            _ if b.len() >= 4 => {
                // A length field's worth: four bytes at their largest.
                let at = at.min(b.len() - 4);
                b[at..at + 4].copy_from_slice(&[0xff, 0xff, 0xff, 0x7f]);
            }
            _ => {}
        }
    }
    b
}

/// Runs `cases` mutations of `valid`, each written to `path` and read by `read`; returns
/// how many ended in an error (the rest were read). Panics, naming the case, on a panic or
/// an allocation over the limit.
fn hostile(
    what: &str,
    valid: &[u8],
    path: &Path,
    cases: usize,
    seed: u64,
    read: &dyn Fn(&Path) -> bool,
) -> usize {
    assert!(
        read(path_with(path, valid)),
        "{what}: the valid input must read"
    );
    let mut rng = Rng(seed);
    let mut errors = 0;
    for case in 0..cases {
        let bytes = mutate(valid, &mut rng);
        std::fs::write(path, &bytes).unwrap();
        LARGEST.with(|l| l.set(0));
        let outcome = catch_unwind(AssertUnwindSafe(|| read(path)));
        let largest = LARGEST.with(|l| l.get());
        match outcome {
            Ok(ok) => errors += usize::from(!ok),
            Err(_) => panic!("{what}: case {case} (seed {seed}) panicked; input {bytes:?}"),
        }
        assert!(
            largest <= ALLOCATION_LIMIT,
            "{what}: case {case} (seed {seed}) asked for {largest} bytes at once"
        );
    }
    println!("{what}: {cases} mutated cases, {errors} refused, none panicked");
    errors
}

fn path_with<'a>(path: &'a Path, bytes: &[u8]) -> &'a Path {
    std::fs::write(path, bytes).unwrap();
    path
}

#[test]
fn mutated_wav_files_are_read_or_refused() {
    let d = tempfile::tempdir().unwrap();
    let tone: Vec<f32> = (0..4410).map(|i| (i as f32 * 0.07).sin() * 0.5).collect();
    let pcm = d.path().join("pcm.wav");
    avad::avad_data::wav::write_wav_pcm16(&pcm, 22050, 1, &tone).unwrap();
    let float = d.path().join("float.wav");
    avad::avad_data::wav::write_wav_f32(&float, 16000, 2, &[tone.clone(), tone].concat()).unwrap();
    let read = |p: &Path| load_audio(p, 22050).is_ok();
    let case = d.path().join("case.wav");
    for (name, valid, seed) in [("16-bit WAV", &pcm, 1), ("float WAV", &float, 2)] {
        let bytes = std::fs::read(valid).unwrap();
        hostile(name, &bytes, &case, 1500, seed, &read);
    }
}

#[test]
fn mutated_frames_are_read_or_refused() {
    let d = tempfile::tempdir().unwrap();
    let img =
        image::GrayImage::from_fn(48, 32, |x, y| image::Luma([((x * 5 + y * 3) % 256) as u8]));
    let read = |p: &Path| read_gray8(p).is_ok();
    for (ext, seed) in [("png", 3), ("jpg", 4), ("tif", 5), ("bmp", 6)] {
        let valid = d.path().join(format!("valid.{ext}"));
        img.save(&valid).unwrap();
        let bytes = std::fs::read(&valid).unwrap();
        let case = d.path().join(format!("case.{ext}"));
        hostile(&format!("{ext} frame"), &bytes, &case, 1000, seed, &read);
    }
}

#[test]
fn mutated_labels_are_read_or_refused() {
    let d = tempfile::tempdir().unwrap();
    let per_frame: String = std::iter::once("frame,label\n".to_string())
        .chain((1..=40).map(|f| format!("{f},{}\n", u8::from((15..25).contains(&f)))))
        .collect();
    let case = d.path().join("labels.csv");
    hostile(
        "per-frame labels.csv",
        per_frame.as_bytes(),
        &case,
        1500,
        7,
        &|p: &Path| read_labels_csv(p, Some(40)).is_ok(),
    );
    let ranges = "start,end\n5,12\n30,40\n";
    hostile(
        "range labels.csv",
        ranges.as_bytes(),
        &case,
        1500,
        8,
        &|p: &Path| read_labels_csv(p, Some(40)).is_ok() | read_labels_csv(p, None).is_ok(),
    );
    let m = "TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [61:180];\n\
             TestVideoFile{end+1}.gt_frame = [1:30, 95:150];\nTestVideoFile{end+1}.gt_frame = [];\n";
    let case = d.path().join("UCSDped2.m");
    hostile("UCSDped2.m", m.as_bytes(), &case, 1500, 9, &|p: &Path| {
        parse_ucsd_m(p).is_ok()
    });
}

#[test]
fn mutated_clip_settings_and_presets_are_read_or_refused() {
    let d = tempfile::tempdir().unwrap();
    // A clip folder of two frames, its clip.toml the file mutated.
    let clip = d.path().join("clip01");
    std::fs::create_dir(&clip).unwrap();
    let frame = image::GrayImage::from_pixel(16, 16, image::Luma([90]));
    for n in 1..=2 {
        frame.save(clip.join(format!("{n:03}.png"))).unwrap();
    }
    hostile(
        "clip.toml",
        b"fps = 12.5\n",
        &clip.join("clip.toml"),
        1000,
        10,
        &|_| clip_from_folder(&clip, Split::Test).is_ok(),
    );
    let presets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../presets");
    let case = d.path().join("preset.toml");
    let valid = std::fs::read(presets.join("visual-cpu.toml")).unwrap();
    hostile("visual preset", &valid, &case, 1000, 11, &|p: &Path| {
        VisualPreset::load(p.to_str().unwrap()).is_ok()
    });
    let valid = std::fs::read(presets.join("audio-paper.toml")).unwrap();
    hostile("audio preset", &valid, &case, 1000, 12, &|p: &Path| {
        AudioPreset::load(p.to_str().unwrap()).is_ok()
    });
}

#[test]
fn mutated_model_cards_are_loaded_or_refused() {
    let d = tempfile::tempdir().unwrap();
    let device = avad::cpu();
    for (kind, model, seed) in [
        ("visual", &fixture().visual, 13),
        ("audio", &fixture().audio, 14),
    ] {
        let copy = d.path().join(kind);
        copy_dir(model, &copy);
        let card = copy.join("model.json");
        let valid = std::fs::read(&card).unwrap();
        hostile(
            &format!("{kind} model.json"),
            &valid,
            &card,
            300,
            seed,
            &|_| avad::Models::load(std::slice::from_ref(&copy), &device, None).is_ok(),
        );
    }
}

#[test]
fn the_allocation_count_sees_a_request_over_the_limit() {
    LARGEST.with(|l| l.set(0));
    let big: Vec<u8> = Vec::with_capacity(ALLOCATION_LIMIT + 1);
    assert!(LARGEST.with(|l| l.get()) > ALLOCATION_LIMIT);
    drop(big);
}
