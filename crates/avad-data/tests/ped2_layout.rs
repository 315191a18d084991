//! The Ped2 reader on a small made-up tree of the published layout (runs everywhere;
//! `tests/ped2.rs` checks the real dataset where ../shared has it): clips in numeric
//! order, labels from `UCSDped2.m`, masks, each test clip's audio by number, the rest of
//! the audio folder kept as extra, and a ground truth that does not fit refused.

use std::path::Path;

use avad_data::wav::write_wav_pcm16;
use avad_data::{open_dataset, AudioSource, DatasetKind, Split};

fn frames(dir: &Path, n: usize, ext: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 1..=n {
        image::GrayImage::from_pixel(12, 8, image::Luma([(i * 20) as u8]))
            .save(dir.join(format!("{i:03}.{ext}")))
            .unwrap();
    }
}

fn tree(root: &Path) {
    let ucsd = root.join("UCSDped2");
    for name in ["Train001", "Train010", "Train002"] {
        frames(&ucsd.join("Train").join(name), 3, "tif");
    }
    frames(&ucsd.join("Test/Test001"), 5, "tif");
    frames(&ucsd.join("Test/Test002"), 4, "tif");
    frames(&ucsd.join("Test/Test001_gt"), 5, "bmp");
    std::fs::write(
        ucsd.join("Test/UCSDped2.m"),
        "TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [2:3];\nTestVideoFile{end+1}.gt_frame = [1:4];\n",
    )
    .unwrap();
    let audio = root.join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    for name in ["P2Te1.wav", "P2Te2.wav", "street.wav"] {
        write_wav_pcm16(&audio.join(name), 22050, 1, &[0.0; 2205]).unwrap();
    }
}

#[test]
fn a_ped2_tree_opens_with_its_labels_masks_and_audio() {
    let tmp = tempfile::tempdir().unwrap();
    tree(tmp.path());
    for root in [tmp.path().to_path_buf(), tmp.path().join("UCSDped2")] {
        let ds = open_dataset(&root).unwrap();
        assert_eq!(ds.kind, DatasetKind::UcsdPed2);
        let train: Vec<&str> = ds.split(Split::Train).map(|c| c.name.as_str()).collect();
        assert_eq!(train, ["Train001", "Train002", "Train010"]);
        assert!(ds
            .split(Split::Train)
            .all(|c| c.labels.is_none() && c.audio.is_none()));
        let test: Vec<_> = ds.split(Split::Test).collect();
        assert_eq!(test.len(), 2, "Test001_gt is masks, not a clip");
        assert_eq!(
            test[0].labels.as_deref(),
            Some(&[false, true, true, false, false][..])
        );
        assert_eq!(test[1].labels.as_deref(), Some(&[true; 4][..]));
        assert_eq!(test[0].masks.as_ref().map(|m| m.files.len()), Some(5));
        assert!(test[1].masks.is_none());
        for (clip, wav) in test.iter().zip(["P2Te1.wav", "P2Te2.wav"]) {
            match &clip.audio {
                Some(AudioSource::File(p)) => assert!(p.ends_with(wav), "{p:?}"),
                other => panic!("{}: {other:?}", clip.name),
            }
        }
        let extra: Vec<_> = ds
            .extra_audio
            .iter()
            .map(|p| p.file_name().unwrap())
            .collect();
        assert_eq!(extra, ["street.wav"], "found beside UCSDped2/ too");
    }
}

#[test]
fn a_ground_truth_that_does_not_fit_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    tree(tmp.path());
    let gt = tmp.path().join("UCSDped2/Test/UCSDped2.m");
    std::fs::write(&gt, "TestVideoFile{end+1}.gt_frame = [2:3];\n").unwrap();
    let err = open_dataset(tmp.path()).unwrap_err().to_string();
    assert!(
        err.contains("UCSDped2.m")
            && err.contains("1 ground-truth lines for 2 TestNNN clip folders"),
        "{err}"
    );
    // A range past the clip's last frame.
    std::fs::write(
        &gt,
        "TestVideoFile{end+1}.gt_frame = [2:9];\nTestVideoFile{end+1}.gt_frame = [1:4];\n",
    )
    .unwrap();
    let err = open_dataset(tmp.path()).unwrap_err().to_string();
    assert!(err.contains("UCSDped2.m"), "{err}");
}
