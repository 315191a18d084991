//! The written scene: WAV writers against symphonia, clip and dataset layouts, failed writes.

use super::*;

/// A minimal RIFF reader: format tag, channels, rate, bits and the data chunk.
fn read_wav(path: &Path) -> (u16, u16, u32, u16, Vec<u8>) {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(
        u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize,
        bytes.len() - 8
    );
    assert_eq!(&bytes[8..12], b"WAVE");
    let (mut pos, mut fmt, mut data) = (12, None, None);
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let body = &bytes[pos + 8..pos + 8 + len];
        match id {
            b"fmt " => fmt = Some(body.to_vec()),
            b"data" => data = Some(body.to_vec()),
            _ => {}
        }
        pos += 8 + len + len % 2;
    }
    let fmt = fmt.unwrap();
    let u16_at = |i: usize| u16::from_le_bytes([fmt[i], fmt[i + 1]]);
    let rate = u32::from_le_bytes(fmt[4..8].try_into().unwrap());
    (u16_at(0), u16_at(2), rate, u16_at(14), data.unwrap())
}

/// Decodes a WAV file with symphonia, an independent reader, into f32 samples.
fn decode_with_symphonia(path: &Path) -> (u32, usize, Vec<f32>) {
    use symphonia::core::audio::SampleBuffer;
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let file = fs::File::open(path).unwrap();
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("wav");
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .unwrap();
    let mut format = probed.format;
    let track = format.default_track().unwrap();
    let params = track.codec_params.clone();
    let mut decoder = symphonia::default::get_codecs()
        .make(&params, &DecoderOptions::default())
        .unwrap();
    let mut out = Vec::new();
    while let Ok(packet) = format.next_packet() {
        let decoded = decoder.decode(&packet).unwrap();
        let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, *decoded.spec());
        buf.copy_interleaved_ref(decoded);
        out.extend_from_slice(buf.samples());
    }
    (
        params.sample_rate.unwrap(),
        params.channels.unwrap().count(),
        out,
    )
}

#[test]
fn wav_writers_round_trip_through_our_reader_and_symphonia() {
    let dir = tempfile::tempdir().unwrap();
    let samples = [0.0, 0.5, -0.5, 1.0, -1.0, 2.0, 0.25, -0.125];
    let pcm = dir.path().join("pcm.wav");
    write_wav_pcm16(&pcm, 8000, 2, &samples).unwrap();
    let (tag, channels, rate, bits, data) = read_wav(&pcm);
    assert_eq!((tag, channels, rate, bits), (1, 2, 8000, 16));
    let ints: Vec<i16> = data
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(ints, [0, 16384, -16384, 32767, -32767, 32767, 8192, -4096]);
    let (sr, ch, decoded) = decode_with_symphonia(&pcm);
    assert_eq!((sr, ch), (8000, 2));
    let expected: Vec<f32> = ints.iter().map(|&i| f32::from(i) / 32768.0).collect();
    assert_eq!(decoded, expected);

    let float = dir.path().join("float.wav");
    write_wav_f32(&float, 44100, 1, &samples).unwrap();
    let (tag, channels, rate, bits, data) = read_wav(&float);
    assert_eq!((tag, channels, rate, bits), (3, 1, 44100, 32));
    let floats: Vec<f32> = data
        .chunks(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    assert_eq!(floats, samples);
    assert_eq!(decode_with_symphonia(&float).2, samples);

    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["float.wav", "pcm.wav"], "no temporary left");
    let err = write_wav_pcm16(&dir.path().join("odd.wav"), 8000, 2, &[0.0; 3]).unwrap_err();
    assert!(matches!(err, WavError::ChannelMismatch { .. }));
    assert!(err.to_string().contains("odd.wav"), "{err}");
    let err = write_wav_f32(&dir.path().join("nan.wav"), 8000, 1, &[0.0, f32::NAN]).unwrap_err();
    assert!(matches!(err, WavError::NonFinite { index: 1, .. }), "{err}");
    assert!(!dir.path().join("odd.wav").exists() && !dir.path().join("nan.wav").exists());
}

#[test]
fn written_clip_round_trips() {
    let root = tempfile::tempdir().unwrap();
    let scene = staged(2, 60, &[(AnomalyKind::Skater, 5), (AnomalyKind::Bang, 45)]);
    let dir = root.path().join("clip01");
    write_clip(&scene, &dir).unwrap();

    let names: Vec<String> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["clip01"], "no temp directory is left behind");

    for (i, frame) in scene.frames.iter().enumerate() {
        let img = image::open(dir.join(format!("{:06}.png", i + 1))).unwrap();
        assert_eq!(img.color(), image::ColorType::L8);
        assert_eq!(img.to_luma8().into_raw(), *frame, "frame {}", i + 1);
        let mask = image::open(dir.join("masks").join(format!("{:06}.png", i + 1)))
            .unwrap()
            .to_luma8();
        let bits: Vec<bool> = mask.into_raw().iter().map(|&v| v == 255).collect();
        assert_eq!(bits, scene.masks[i], "mask {}", i + 1);
    }
    assert!(!dir.join("000061.png").exists());

    let (tag, channels, rate, bits, data) = read_wav(&dir.join("audio.wav"));
    assert_eq!((tag, channels, rate, bits), (1, 1, 22050, 16));
    let pcm: Vec<i16> = data
        .chunks(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(pcm.len(), scene.audio.len());
    assert!(pcm
        .iter()
        .zip(&scene.audio)
        .all(|(&p, &a)| (f32::from(p) / 32767.0 - a).abs() <= 0.5 / 32767.0 + 1e-7));

    let csv = fs::read_to_string(dir.join("labels.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("frame,label"));
    let labels: Vec<(usize, bool)> = lines
        .map(|l| {
            let (f, v) = l.split_once(',').unwrap();
            (f.parse().unwrap(), v == "1")
        })
        .collect();
    assert_eq!(
        labels,
        scene
            .labels
            .iter()
            .enumerate()
            .map(|(i, &l)| (i + 1, l))
            .collect::<Vec<_>>()
    );
    assert!(labels.iter().any(|l| l.1) && labels.iter().any(|l| !l.1));

    let toml = fs::read_to_string(dir.join("clip.toml")).unwrap();
    assert!(toml.lines().any(|l| l == "fps = 25.0"), "{toml}");

    // A second write refuses to replace the finished clip.
    let err = write_clip(&scene, &dir).unwrap_err();
    assert!(matches!(err, SceneError::Exists { .. }), "{err}");
}

#[test]
fn clips_without_visual_anomalies_have_no_mask_folder() {
    let root = tempfile::tempdir().unwrap();
    let scene = staged(2, 20, &[(AnomalyKind::Shout, 5)]);
    write_clip(&scene, &root.path().join("c")).unwrap();
    assert!(!root.path().join("c/masks").exists());
    assert!(root.path().join("c/000020.png").exists());
}

#[test]
fn failed_write_leaves_no_temp_directory() {
    let root = tempfile::tempdir().unwrap();
    // A frame too short for its size fails halfway through the clip.
    let mut scene = staged(2, 10, &[]);
    scene.frames[6].truncate(10);
    let dir = root.path().join("broken");
    let err = write_clip(&scene, &dir).unwrap_err();
    assert!(
        matches!(err, SceneError::FrameSize { got: 10, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("000007.png"), "{err}");
    assert_eq!(
        fs::read_dir(root.path()).unwrap().count(),
        0,
        "neither the clip nor its temp dir exists"
    );
}

#[test]
fn dataset_layout_has_normal_train_and_anomalous_test_clips() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("synthetic");
    let clips = write_dataset(&root, 42, 2, 3, 40).unwrap();
    assert_eq!(clips.len(), 5);
    let entries: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(entries, ["synthetic"]);
    for split in ["train", "test"] {
        let mut names: Vec<String> = fs::read_dir(root.join(split))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let expected: &[&str] = if split == "train" {
            &["clip01", "clip02"]
        } else {
            &["clip01", "clip02", "clip03"]
        };
        assert_eq!(names, expected);
    }
    for clip in &clips {
        assert!(clip.dir.join("000040.png").exists() && clip.dir.join("labels.csv").exists());
        let labels = fs::read_to_string(clip.dir.join("labels.csv")).unwrap();
        let anomalous = labels.lines().skip(1).filter(|l| l.ends_with(",1")).count();
        if clip.dir.starts_with(root.join("train")) {
            assert!(
                clip.config.anomalies.is_empty() && anomalous == 0,
                "{}",
                clip.dir.display()
            );
        } else {
            assert!(!clip.config.anomalies.is_empty(), "{}", clip.dir.display());
        }
    }
    // Clip seeds differ, and the dataset is reproducible from its seed.
    assert_ne!(clips[0].config.seed, clips[1].config.seed);
    let again = tmp.path().join("again");
    let clips_again = write_dataset(&again, 42, 2, 3, 40).unwrap();
    assert_eq!(
        clips.iter().map(|c| &c.config).collect::<Vec<_>>(),
        clips_again.iter().map(|c| &c.config).collect::<Vec<_>>()
    );
    assert_eq!(
        fs::read(root.join("test/clip02/audio.wav")).unwrap(),
        fs::read(again.join("test/clip02/audio.wav")).unwrap()
    );
    assert!(matches!(
        write_dataset(&root, 42, 1, 1, 10),
        Err(SceneError::Exists { .. })
    ));
}

/// A harder look (crowd, sensor noise, ambient sound) keeps each clip's seed and so its
/// anomalies and their timing; the frames and the sound change, and the ambient bed gets
/// louder. A look out of range is refused by the scene's validation.
#[test]
fn a_harder_look_keeps_the_clips_and_their_anomalies() {
    let tmp = tempfile::tempdir().unwrap();
    let (plain, hard) = (tmp.path().join("plain"), tmp.path().join("hard"));
    let default = write_dataset(&plain, 9, 1, 2, 30).unwrap();
    let look = SceneLook {
        people_in_view: 12.0,
        sensor_noise: 10.0,
        ambient_rms: 0.1,
        anomaly_speed: 0.5,
    };
    assert_eq!(
        write_dataset_with(
            &plain.with_extension("again"),
            9,
            (1, 2),
            30,
            &SceneLook::default()
        )
        .unwrap()
        .iter()
        .map(|c| &c.config)
        .collect::<Vec<_>>(),
        default.iter().map(|c| &c.config).collect::<Vec<_>>(),
        "the default look is write_dataset's"
    );
    let harder = write_dataset_with(&hard, 9, (1, 2), 30, &look).unwrap();
    for (d, h) in default.iter().zip(&harder) {
        assert_eq!(d.config.seed, h.config.seed);
        assert_eq!(d.config.anomalies, h.config.anomalies);
        assert_eq!(
            (
                h.config.people_in_view,
                h.config.sensor_noise,
                h.config.ambient_rms,
                h.config.anomaly_speed
            ),
            (12.0, 10.0, 0.1, 0.5)
        );
        assert_ne!(
            fs::read(d.dir.join("000010.png")).unwrap(),
            fs::read(h.dir.join("000010.png")).unwrap()
        );
    }
    let rms = |config: &SceneConfig| {
        let s = generate(config).unwrap().audio;
        (s.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / s.len() as f64).sqrt()
    };
    // The normal training clip: ambient sound and footsteps only.
    let (quiet, loud) = (rms(&default[0].config), rms(&harder[0].config));
    assert!(loud > 3.0 * quiet, "{loud} against {quiet}");
    let bad = SceneLook {
        sensor_noise: 100.0,
        ..look
    };
    let err = write_dataset_with(&tmp.path().join("bad"), 9, (1, 1), 10, &bad).unwrap_err();
    assert!(err.to_string().contains("sensor_noise 100"), "{err}");
    assert!(!tmp.path().join("bad").exists());
}

/// At half speed a cyclist takes twice as long to cross the view; a speed out of range is
/// refused.
#[test]
fn anomaly_speed_scales_the_crossing_time() {
    let at = |speed: f32| {
        let config = SceneConfig {
            anomaly_speed: speed,
            ..staged(21, 150, &[(AnomalyKind::Bicycle, 20)]).config
        };
        let e = generate(&config).unwrap().events[0];
        assert_eq!(e.start_frame, 20);
        (e.end_frame - e.start_frame) as f64
    };
    let (full, half) = (at(1.0), at(0.5));
    assert!(full >= 20.0 && half < 130.0, "{full} {half}");
    assert!(
        (1.8..=2.2).contains(&(half / full)),
        "{full} frames against {half}"
    );
    let err = generate(&SceneConfig {
        anomaly_speed: 0.0,
        ..SceneConfig::normal(1, 10)
    })
    .unwrap_err();
    assert!(err.to_string().contains("anomaly_speed 0"), "{err}");
}

#[test]
fn written_dataset_opens_as_a_generic_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("synthetic");
    let written = write_dataset(&root, 5, 1, 2, 30).unwrap();
    let dataset = avad_data::open_dataset(&root).unwrap();
    assert_eq!(dataset.clips.len(), 3);
    for w in &written {
        let split = if w.dir.starts_with(root.join("train")) {
            avad_data::Split::Train
        } else {
            avad_data::Split::Test
        };
        let name = w.dir.file_name().unwrap().to_str().unwrap();
        let clip = dataset.split(split).find(|c| c.name == name).unwrap();
        let scene = generate(&w.config).unwrap();
        assert_eq!(clip.frames(), 30);
        assert_eq!(clip.fps, 25.0);
        assert!(clip.audio.is_some());
        assert_eq!(
            clip.labels.as_deref(),
            Some(&scene.labels[..]),
            "{}",
            w.dir.display()
        );
        assert_eq!(
            clip.masks.is_some(),
            scene.has_masks(),
            "{}",
            w.dir.display()
        );
    }
}
