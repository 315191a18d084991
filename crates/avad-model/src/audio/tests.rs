use super::*;
use crate::fixtures::values;
use avad_features::{FeatureMatrix, N_FEATURES};
use burn::optim::GradientsParams;
use burn::tensor::TensorData;

fn pattern(b: usize, t: usize, device: &Device) -> Tensor<3> {
    let data: Vec<f32> = (0..b * t * N_FEATURES)
        .map(|i| {
            let (bi, rest) = (i / (t * N_FEATURES), i % (t * N_FEATURES));
            let (ti, f) = (rest / N_FEATURES, rest % N_FEATURES);
            0.5 + 0.4 * ((0.3 * ti as f32 + 0.7 * bi as f32).sin() * (0.05 * f as f32).cos())
        })
        .collect();
    Tensor::from_data(TensorData::new(data, [b, t, N_FEATURES]), device)
}

/// Table 2's layers, counted by hand. burn's LSTM keeps PyTorch's two biases per gate
/// unit (input and recurrent), where Keras keeps one: 4u more per LSTM than
/// `model.summary()`, and the same function.
#[test]
fn has_the_parameters_of_table_2() {
    use burn::module::Module;
    let m = AudioAutoencoderConfig::new().init(&Device::flex()).unwrap();
    let lstm = |input: usize, units: usize| 4 * (input * units + units * units + 2 * units);
    let conv = |input: usize, output: usize, k: usize| k * input * output + output;
    let params = |layers: &[Conv1d]| layers.iter().map(|l| l.num_params()).sum::<usize>();
    assert_eq!(
        params(&m.encoder),
        conv(160, 32, 5) + conv(32, 64, 5) + conv(64, 128, 5)
    );
    assert_eq!(m.lstm_enc1.num_params(), lstm(128, 128));
    assert_eq!(m.lstm_enc2.num_params(), lstm(128, 64));
    assert_eq!(m.lstm_dec1.num_params(), lstm(64, 64));
    assert_eq!(m.lstm_dec2.num_params(), lstm(64, 128));
    let decoder: usize = m.decoder.iter().map(|l| l.num_params()).sum();
    assert_eq!(
        decoder,
        conv(128, 128, 5) + conv(128, 64, 5) + conv(64, 32, 5)
    );
    assert_eq!(m.output.num_params(), conv(32, 160, 9));
    // Six batch norms (32, 64, 128 and 128, 64, 32 channels): a scale, a shift, a
    // running mean and variance per channel.
    let norms: usize = m
        .encoder_norms
        .iter()
        .chain(&m.decoder_norms)
        .map(|n| n.num_params())
        .sum();
    assert_eq!(norms, 4 * 448);
}

#[test]
fn output_has_the_input_shape_in_unit_range() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex();
    device.seed(1);
    let model = AudioAutoencoderConfig::new().init(&device).unwrap();
    let out = model.forward(pattern(3, 32, &device)).unwrap();
    assert_eq!(out.dims(), [3, 32, 160]);
    let v = values(out);
    assert!(v.iter().all(|&x| x > 0.0 && x < 1.0));
    assert!(
        model.forward(pattern(1, 30, &device)).is_err(),
        "30 is not a multiple of 4"
    );
    let bad = AudioAutoencoderConfig::new()
        .with_lstm_decoder([32, 128])
        .init(&device);
    assert!(bad.unwrap_err().to_string().contains("must match"));
}

/// Adam steps lower the loss and move every layer, including the decoder LSTM that
/// only sees the encoder through its initial state and the repeated vector.
#[test]
fn training_steps_reach_every_layer() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex().autodiff();
    device.seed(2);
    let mut model = AudioAutoencoderConfig::new().init(&device).unwrap();
    let mut optim = crate::train::adam();
    let batch = pattern(4, 16, &device);
    let watched = |m: &AudioAutoencoder| {
        vec![
            values(m.encoder[0].weight.val()),
            values(m.lstm_enc1.input_gate.input_transform.weight.val()),
            values(m.lstm_enc2.cell_gate.hidden_transform.weight.val()),
            values(m.lstm_dec1.output_gate.hidden_transform.weight.val()),
            values(m.lstm_dec2.input_gate.input_transform.weight.val()),
            values(m.decoder[2].weight.val()),
            values(m.output.weight.val()),
        ]
    };
    let before = watched(&model);
    let mut losses = Vec::new();
    for _ in 0..8 {
        let loss = model.loss(batch.clone()).unwrap();
        losses.push(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(3e-3, model, grads);
    }
    assert!(losses[7] < 0.8 * losses[0], "loss did not fall: {losses:?}");
    for (k, (a, b)) in before.iter().zip(watched(&model)).enumerate() {
        let moved = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        assert!(moved > 1e-6, "watched parameter {k} did not move");
    }
}

#[test]
fn windows_stay_inside_normal_runs() {
    let mut usable = vec![true; 10];
    usable.extend([false; 3]);
    usable.extend([true; 5]);
    assert_eq!(normal_windows(&usable, 4, 2), vec![0, 2, 4, 6, 13]);
    assert_eq!(normal_windows(&usable, 6, 3), vec![0, 3]);
    assert!(normal_windows(&[false; 8], 4, 1).is_empty());
}

#[test]
fn scaler_maps_into_unit_range_and_keeps_order() {
    let m = FeatureMatrix {
        frames: 3,
        data: (0..3 * N_FEATURES).map(|i| (i % 7) as f32 + 0.5).collect(),
    };
    let scaler = AudioScaler::fit(&[&m]).unwrap();
    let louder = FeatureMatrix {
        frames: 1,
        data: vec![100.0; N_FEATURES],
    };
    let s = scaler.apply(&louder).unwrap();
    let base = scaler.apply(&m).unwrap();
    assert!(s.data.iter().all(|&v| v > 0.0 && v <= 1.0));
    assert!(s.data[0] > base.data[0], "a larger value stays larger");
    // A column that is not in dB: the logistic of the z-score over the fitted frames.
    let c = avad_features::columns::SPECTRAL_CENTROID;
    let column: Vec<f64> = (0..3)
        .map(|t| f64::from(m.data[t * N_FEATURES + c]))
        .collect();
    let mean = column.iter().sum::<f64>() / 3.0;
    let std = (column.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
    assert!(std > 0.0);
    for t in 0..3 {
        let want = 1.0 / (1.0 + (-(column[t] - mean) / std).exp());
        let got = f64::from(base.data[t * N_FEATURES + c]);
        assert!((got - want).abs() < 1e-6, "frame {t}: {got} against {want}");
    }
    let at_mean = FeatureMatrix {
        frames: 1,
        data: vec![mean as f32; N_FEATURES],
    };
    let half = scaler.apply(&at_mean).unwrap().data[c];
    assert!((half - 0.5).abs() < 1e-6, "the mean maps to {half}");
}

/// One window: each frame's error is, by hand from the reconstruction, the root of
/// the sum of squares over the 160 values, or of the sum over the eight features of
/// each one's mean square.
#[test]
fn errors_add_up_the_values_or_the_eight_features() {
    use avad_features::columns::{
        MEL, MFCC, SPECTRAL_BANDWIDTH, SPECTRAL_CENTROID, SPECTRAL_CONTRAST, SPECTRAL_FLATNESS,
        SPECTRAL_ROLLOFF, ZERO_CROSSING_RATE,
    };
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex();
    device.seed(5);
    let model = AudioAutoencoderConfig::new().init(&device).unwrap();
    let input = pattern(1, 16, &device);
    let x = crate::tensor_values(input.clone().reshape([16 * N_FEATURES])).unwrap();
    let y = crate::tensor_values(model.forward(input).unwrap().reshape([16 * N_FEATURES])).unwrap();
    let m = FeatureMatrix {
        frames: 16,
        data: x.clone(),
    };
    let values = audio_errors(&model, &m, 16, 16, 1, AudioError::Values, &device).unwrap();
    let features = audio_errors(&model, &m, 16, 16, 1, AudioError::Features, &device).unwrap();
    let groups = [
        SPECTRAL_FLATNESS..SPECTRAL_FLATNESS + 1,
        ZERO_CROSSING_RATE..ZERO_CROSSING_RATE + 1,
        SPECTRAL_CENTROID..SPECTRAL_CENTROID + 1,
        SPECTRAL_BANDWIDTH..SPECTRAL_BANDWIDTH + 1,
        MFCC,
        MEL,
        SPECTRAL_ROLLOFF..SPECTRAL_ROLLOFF + 1,
        SPECTRAL_CONTRAST,
    ];
    assert_eq!(groups.iter().map(|g| g.len()).sum::<usize>(), N_FEATURES);
    for t in 0..16 {
        let sq = |i: usize| f64::from(x[t * N_FEATURES + i] - y[t * N_FEATURES + i]).powi(2);
        let all: f64 = (0..N_FEATURES).map(sq).sum();
        let per_feature: f64 = groups
            .iter()
            .map(|g| g.clone().map(sq).sum::<f64>() / g.len() as f64)
            .sum();
        assert!(
            (values[t] - all.sqrt()).abs() < 1e-5 * all.sqrt(),
            "frame {t}"
        );
        assert!(
            (features[t] - per_feature.sqrt()).abs() < 1e-5 * per_feature.sqrt(),
            "frame {t}"
        );
        assert!(features[t] < values[t], "the weights are at most 1");
    }
}

#[test]
fn errors_cover_every_frame_even_of_short_clips() {
    let _rng = crate::fixtures::rng_lock();
    let device = Device::flex();
    device.seed(4);
    let model = AudioAutoencoderConfig::new().init(&device).unwrap();
    let m = FeatureMatrix {
        frames: 37,
        data: (0..37 * N_FEATURES)
            .map(|i| ((i * 31) % 97) as f32 / 97.0)
            .collect(),
    };
    let e = audio_errors(&model, &m, 16, 4, 8, AudioError::Values, &device).unwrap();
    assert_eq!(e.len(), 37);
    assert!(e.iter().all(|v| v.is_finite() && *v > 0.0));
    // Batched as it may be, each window is scored on its own.
    let one_by_one = audio_errors(&model, &m, 16, 4, 1, AudioError::Values, &device).unwrap();
    for (a, b) in e.iter().zip(&one_by_one) {
        assert!((a - b).abs() <= 1e-5 * b, "{a} batched, {b} alone");
    }
    // A frame's error is the mean of its errors in the windows that cover it, each
    // window scored here as a clip of its own.
    let starts = avad_data::windows::scoring_windows(37, 16, 4);
    let alone: Vec<Vec<f64>> = starts
        .iter()
        .map(|w| {
            let window = FeatureMatrix {
                frames: 16,
                data: m.data[w.start * N_FEATURES..(w.start + 16) * N_FEATURES].to_vec(),
            };
            audio_errors(&model, &window, 16, 16, 1, AudioError::Values, &device).unwrap()
        })
        .collect();
    for (f, got) in e.iter().enumerate() {
        let covering: Vec<f64> = starts
            .iter()
            .zip(&alone)
            .filter(|(w, _)| (w.start..w.start + 16).contains(&f))
            .map(|(w, errs)| errs[f - w.start])
            .collect();
        assert!(!covering.is_empty(), "frame {f} covered");
        let want = covering.iter().sum::<f64>() / covering.len() as f64;
        assert!(
            (got - want).abs() <= 1e-5 * want,
            "frame {f}: {got} against {want}"
        );
    }
    let short = FeatureMatrix {
        frames: 5,
        data: m.data[..5 * N_FEATURES].to_vec(),
    };
    assert_eq!(
        audio_errors(&model, &short, 16, 4, 8, AudioError::Features, &device)
            .unwrap()
            .len(),
        5
    );
}
