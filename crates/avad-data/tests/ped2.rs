//! UCSD Ped2 as it lies in ../shared: counts from the dataset's README and UCSDped2.m.

use std::path::PathBuf;

use avad_data::windows::{training_windows, TRAINING_STRIDES, WINDOW_LEN};
use avad_data::{open_dataset, AudioSource, DatasetKind, Split};

fn ped2_root(test: &str) -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/ucsd-ped2");
    if root.is_dir() {
        Some(root)
    } else {
        println!("SKIPPED: {test}: ../shared not found");
        None
    }
}

#[test]
fn ped2_counts_match_the_official_release() {
    let Some(root) = ped2_root("ped2_counts_match_the_official_release") else {
        return;
    };
    let ds = open_dataset(&root).unwrap();
    assert_eq!(ds.kind, DatasetKind::UcsdPed2);
    let train: Vec<_> = ds.split(Split::Train).collect();
    let test: Vec<_> = ds.split(Split::Test).collect();
    assert_eq!(train.len(), 16);
    assert_eq!(train.iter().map(|c| c.frames()).sum::<usize>(), 2550);
    assert_eq!(test.len(), 12);
    assert_eq!(test.iter().map(|c| c.frames()).sum::<usize>(), 2010);
    assert_eq!(
        test.iter().map(|c| c.anomalous_frames()).sum::<usize>(),
        1648
    );
    // Test003 is anomalous on frames 1..146 of 150 (UCSDped2.m line 3).
    let t3 = ds.clip("Test003").unwrap();
    let l = t3.labels.as_ref().unwrap();
    assert!(l[0] && l[145] && !l[146] && l.len() == 150);
    // Each test clip is paired with P2TeN.wav; P2Te4Good.wav is the one left over.
    for (n, c) in test.iter().enumerate() {
        assert_eq!(
            c.audio,
            Some(AudioSource::File(
                root.join("audio").join(format!("P2Te{}.wav", n + 1))
            ))
        );
        assert!(c
            .masks
            .as_ref()
            .is_some_and(|m| m.files.len() == c.frames()));
    }
    assert_eq!(ds.extra_audio, [root.join("audio/P2Te4Good.wav")]);
    // Frame folders sort by number: 001.jpg .. 180.jpg.
    let t1 = ds.clip("Test001").unwrap();
    let avad_data::VideoSource::Frames(f) = &t1.video else {
        panic!("Ped2 clips are frame folders")
    };
    assert!(f.files[9].ends_with("010.jpg") && f.files[179].ends_with("180.jpg"));
    assert_eq!((f.native_size.width, f.native_size.height), (360, 240));
    // The paper's training augmentation (§4.3) as the PyTorch peer cuts it: 464 sequences.
    let n: usize = train
        .iter()
        .map(|c| training_windows(c.frames(), WINDOW_LEN, &TRAINING_STRIDES).len())
        .sum();
    assert_eq!(n, 464);
}

#[test]
fn ped2_masks_agree_with_the_frame_labels() {
    let Some(root) = ped2_root("ped2_masks_agree_with_the_frame_labels") else {
        return;
    };
    let ds = open_dataset(&root).unwrap();
    // Test006/009/012 name their masks frameNNN: natural order must still line them up.
    for clip in ds.split(Split::Test) {
        let masks = clip.masks.as_ref().unwrap();
        let labels = clip.labels.as_ref().unwrap();
        for (i, &label) in labels.iter().enumerate() {
            assert_eq!(
                masks.any_set(i).unwrap(),
                label,
                "{} frame {}",
                clip.name,
                i + 1
            );
        }
    }
}
