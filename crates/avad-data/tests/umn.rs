//! The UMN layout (one recording, labels, clips.csv), built here from frames.

use std::path::Path;

use avad_data::{open_dataset, AudioSource, DatasetKind, Split, VideoSource};

fn recording(dir: &Path, frames: usize) {
    let f = dir.join("frames");
    std::fs::create_dir_all(&f).unwrap();
    for i in 1..=frames {
        image::GrayImage::from_pixel(16, 12, image::Luma([i as u8]))
            .save(f.join(format!("{i}.png")))
            .unwrap();
    }
}

#[test]
fn umn_recording_is_cut_into_labelled_clips() {
    let d = tempfile::tempdir().unwrap();
    recording(d.path(), 30);
    std::fs::write(d.path().join("labels.csv"), "start,end\n8,10\n25,30\n").unwrap();
    std::fs::write(
        d.path().join("clips.csv"),
        "clip,start,end,scene\nlawn1,1,12,lawn\nindoor1,13,30,indoor\n",
    )
    .unwrap();
    avad_data::wav::write_wav_pcm16(&d.path().join("audio.wav"), 8000, 1, &vec![0.1; 8000 * 2])
        .unwrap();
    let ds = open_dataset(d.path()).unwrap();
    assert_eq!(ds.kind, DatasetKind::Umn);
    assert_eq!(ds.clips.len(), 2);
    let (a, b) = (&ds.clips[0], &ds.clips[1]);
    assert_eq!(
        (a.name.as_str(), a.frames(), b.name.as_str(), b.frames()),
        ("lawn1", 12, "indoor1", 18)
    );
    assert!(ds.clips.iter().all(|c| c.split == Split::Test));
    assert_eq!(a.anomalous_frames(), 3);
    assert_eq!(b.anomalous_frames(), 6);
    let lb = b.labels.as_ref().unwrap();
    assert!(!lb[11] && lb[12] && lb[17]); // recording frames 24 (normal), 25 and 30
                                          // The second clip's frames are the recording's frames 13..30, and its sound starts 12 frames in.
    let VideoSource::Frames(f) = &b.video else {
        panic!("frames")
    };
    assert!(f.files[0].ends_with("13.png") && f.files[17].ends_with("30.png"));
    assert_eq!(b.audio, Some(AudioSource::File(d.path().join("audio.wav"))));
    assert!((b.audio_offset_s - 12.0 / 25.0).abs() < 1e-12);
}

#[test]
fn umn_clip_list_errors_name_the_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    recording(d.path(), 10);
    std::fs::write(
        d.path().join("labels.csv"),
        "frame,label\n1,0\n2,0\n3,0\n4,0\n5,0\n6,0\n7,1\n8,1\n9,1\n10,0\n",
    )
    .unwrap();
    for (clips, needle) in [
        ("clip,start,end\na,1,5\nb,4,10\n", "overlap"),
        ("clip,start,end\na,1,11\n", "recording has 10"),
        ("clip,start,end\na,5,2\n", "start <= end"),
        ("name,from,to\na,1,2\n", "header"),
        ("clip,start,end\n", "no clips"),
    ] {
        std::fs::write(d.path().join("clips.csv"), clips).unwrap();
        let msg = open_dataset(d.path()).unwrap_err().to_string();
        assert!(
            msg.contains("clips.csv") && msg.contains(needle),
            "{clips:?}: {msg}"
        );
    }
    // Labels must cover the whole recording.
    std::fs::write(d.path().join("clips.csv"), "clip,start,end\na,1,10\n").unwrap();
    std::fs::write(d.path().join("labels.csv"), "frame,label\n1,0\n").unwrap();
    let msg = open_dataset(d.path()).unwrap_err().to_string();
    assert!(
        msg.contains("labels.csv") && msg.contains("clip has 10"),
        "{msg}"
    );
}
