use super::*;

fn tone(n: usize, rate: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32 / rate;
            0.5 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                + 0.3 * (2.0 * std::f32::consts::PI * 7000.0 * t * t).sin()
        })
        .collect()
}

#[test]
fn a_stream_resamples_like_the_whole_signal_however_it_is_cut() {
    for (from, n) in [(48000u32, 48000 * 2 + 77), (44100, 30000), (16000, 500)] {
        let x = tone(n, from as f32);
        let whole = resample(&x, from, 22050);
        for piece in [n, 1000, 4093] {
            let mut r = StreamResampler::new(from, 22050);
            let mut out = Vec::new();
            for chunk in x.chunks(piece) {
                out.extend(r.push(chunk));
            }
            assert!(
                r.buffered() <= (StreamResampler::BLOCK + 3 * StreamResampler::MARGIN) * 3 + piece,
                "{} held",
                r.buffered()
            );
            out.extend(r.finish());
            assert_eq!(out.len(), whole.len(), "{from} Hz, pieces of {piece}");
            let worst = out
                .iter()
                .zip(&whole)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(worst < 1e-6, "{from} Hz, pieces of {piece}: off by {worst}");
        }
    }
}

#[test]
fn equal_rates_pass_through() {
    let mut r = StreamResampler::new(22050, 22050);
    assert_eq!(r.push(&[0.5, -0.5]), vec![0.5, -0.5]);
    assert!(r.finish().is_empty());
}
