//! The sound track: a soft ambient bed, footsteps, and each anomaly's own sound.
//! Levels are RMS on a full scale of 1; every source is normalised to a named level so
//! that loudness does not depend on filter gains.

use std::f32::consts::TAU;
use std::ops::Range;

use super::picture::{Footstep, Video};
use super::{AnomalyKind, Rng, SceneConfig, Stream};

/// How long the bang's burst and tail last.
pub(super) const BANG_SECONDS: f32 = 0.6;
/// Shortest and longest shout.
pub(super) const SHOUT_SECONDS: (f32, f32) = (0.5, 1.0);

/// Loudness of a source at ground height `y` in a frame `h` high: nearer is louder.
pub(super) fn proximity(y: f32, h: f32) -> f32 {
    0.35 + 0.65 * (y / h).clamp(0.0, 1.0)
}

/// Footstep thump peak at proximity 1.
const FOOTSTEP_PEAK: f32 = 0.045;
/// Fade at the edges of a visual anomaly's sound, so it does not click on or off.
const FADE_SECONDS: f32 = 0.04;

/// Renders the track and, per scheduled anomaly, the frames in which it is heard.
pub(super) fn render(config: &SceneConfig, video: &Video) -> (Vec<f32>, Vec<Option<Range<usize>>>) {
    let len = config.audio_len();
    let sr = config.sample_rate as f32;
    let mut track = ambient(config, len);
    add_footsteps(
        &mut track,
        &video.footsteps,
        sr,
        &mut Rng::new(config.seed, Stream::Footsteps),
    );

    let h = config.height as f32;
    let tile_px = 14.0 * h / 120.0;
    let mut heard = Vec::with_capacity(config.anomalies.len());
    for (i, (anomaly, seen)) in config.anomalies.iter().zip(&video.seen).enumerate() {
        let mut rng = Rng::new(
            config.seed ^ (i as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407),
            Stream::AnomalySound,
        );
        let frames = match (anomaly.kind.is_visual(), seen) {
            (true, Some(seen)) => seen.frames.clone(),
            (true, None) => {
                heard.push(None);
                continue;
            }
            (false, _) => {
                let seconds = match anomaly.kind {
                    AnomalyKind::Shout => rng.range(SHOUT_SECONDS.0, SHOUT_SECONDS.1),
                    _ => BANG_SECONDS,
                };
                // The tolerance keeps 0.6 s × 25 fps at 15 frames despite f32 rounding.
                let end = anomaly.start_frame + (seconds * config.fps - 1e-3).ceil() as usize;
                anomaly.start_frame..end.min(config.frames)
            }
        };
        let start = config.sample_at_frame(frames.start);
        let samples = config
            .sample_at_frame(frames.end)
            .min(len)
            .saturating_sub(start);
        let mut source = match (anomaly.kind, seen) {
            (AnomalyKind::Bicycle, _) => bicycle(&mut rng, sr, samples),
            (AnomalyKind::Cart, _) => cart(&mut rng, sr, samples),
            (AnomalyKind::Skater, Some(seen)) => {
                let joint_period_s = tile_px / seen.speed.max(1e-3) / config.fps;
                skater(&mut rng, sr, samples, joint_period_s)
            }
            (AnomalyKind::Bang, _) => bang(&mut rng, sr, samples),
            (AnomalyKind::Shout, _) => shout(&mut rng, sr, samples),
            (AnomalyKind::Skater, None) => Vec::new(),
        };
        match seen.as_ref().and_then(|s| video.tracks.get(s.track)) {
            Some(object) => {
                // Loudness follows the object's distance, frame by frame, faded in and out.
                let fade = (FADE_SECONDS * sr).max(1.0);
                let last = source.len().saturating_sub(1) as f32;
                for (k, x) in source.iter_mut().enumerate() {
                    let frame = (start + k) as f64 * f64::from(config.fps) / f64::from(sr);
                    let at = (frame as usize).saturating_sub(object.first_frame);
                    let y = object
                        .feet
                        .get(at)
                        .or(object.feet.last())
                        .map_or(h, |p| p[1]);
                    let edge = (k as f32 / fade)
                        .min((last - k as f32) / fade)
                        .clamp(0.0, 1.0);
                    *x *= proximity(y, h) * edge;
                }
            }
            // Sound-only events happen somewhere out of view, at a random distance.
            None => {
                let gain = rng.range(0.6, 1.0);
                source.iter_mut().for_each(|x| *x *= gain);
            }
        }
        if let Some(slot) = track.get_mut(start..start + source.len()) {
            slot.iter_mut().zip(&source).for_each(|(t, s)| *t += s);
        }
        heard.push(Some(frames));
    }
    track.iter_mut().for_each(|x| *x = x.clamp(-1.0, 1.0));
    (track, heard)
}

/// RBJ audio-EQ-cookbook biquads (low-pass, high-pass, constant-0-dB band-pass).
struct Biquad {
    b: [f32; 3],
    a: [f32; 2],
    z: [f32; 2],
}

enum Filter {
    Low,
    High,
    Band,
}

impl Biquad {
    fn new(filter: Filter, sr: f32, freq: f32, q: f32) -> Self {
        let w0 = TAU * freq.min(0.45 * sr) / sr;
        let (sin, cos) = w0.sin_cos();
        let alpha = sin / (2.0 * q);
        let b = match filter {
            Filter::Low => [(1.0 - cos) / 2.0, 1.0 - cos, (1.0 - cos) / 2.0],
            Filter::High => [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0],
            Filter::Band => [alpha, 0.0, -alpha],
        };
        let a0 = 1.0 + alpha;
        Self {
            b: b.map(|v| v / a0),
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            z: [0.0; 2],
        }
    }

    fn run(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }
}

fn rms(x: &[f32]) -> f32 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>() / x.len() as f64).sqrt() as f32
}

fn scale_to_rms(x: &mut [f32], target: f32) {
    let current = rms(x);
    if current > 0.0 {
        x.iter_mut().for_each(|v| *v *= target / current);
    }
}

/// Adds `b`, scaled to RMS `level`, into `a`.
fn mix_in(a: &mut [f32], mut b: Vec<f32>, level: f32) {
    scale_to_rms(&mut b, level);
    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
}

/// Pink noise (Paul Kellet's refined filter) and brown noise in equal parts, with a slow
/// swell like wind, scaled to `ambient_rms`.
fn ambient(config: &SceneConfig, len: usize) -> Vec<f32> {
    let mut rng = Rng::new(config.seed, Stream::Ambient);
    let sr = config.sample_rate as f32;
    let mut pink = Vec::with_capacity(len);
    let mut brown = Vec::with_capacity(len);
    let mut p = [0.0f32; 7];
    let mut b = 0.0f32;
    // Keeps the brown walk centred: a leaky integrator with a ≈5 Hz corner.
    let leak = 1.0 - TAU * 5.0 / sr;
    for _ in 0..len {
        let white = rng.signed();
        p[0] = 0.99886 * p[0] + white * 0.0555179;
        p[1] = 0.99332 * p[1] + white * 0.0750759;
        p[2] = 0.96900 * p[2] + white * 0.153852;
        p[3] = 0.86650 * p[3] + white * 0.3104856;
        p[4] = 0.55000 * p[4] + white * 0.5329522;
        p[5] = -0.7616 * p[5] - white * 0.0168980;
        pink.push(p.iter().sum::<f32>() + white * 0.5362);
        p[6] = white * 0.115926;
        b = leak * b + white * 0.02;
        brown.push(b);
    }
    let mut bed = vec![0.0; len];
    mix_in(&mut bed, pink, 1.0);
    mix_in(&mut bed, brown, 1.0);
    let (swell_hz, phase) = (rng.range(0.05, 0.1), rng.range(0.0, TAU));
    for (n, x) in bed.iter_mut().enumerate() {
        *x *= 1.0 + 0.3 * (TAU * swell_hz * n as f32 / sr + phase).sin();
    }
    scale_to_rms(&mut bed, config.ambient_rms);
    bed
}

/// Each heel strike: a short low thump (a decaying 70-110 Hz sine) with a scuff of noise.
fn add_footsteps(track: &mut [f32], steps: &[Footstep], sr: f32, rng: &mut Rng) {
    let len = (0.12 * sr) as usize;
    for step in steps {
        let start = (step.time_s * f64::from(sr)).round() as usize;
        let peak = FOOTSTEP_PEAK * step.gain * rng.range(0.8, 1.2);
        let Some(slot) = track.get_mut(start..) else {
            continue;
        };
        for (k, x) in slot.iter_mut().take(len).enumerate() {
            let t = k as f32 / sr;
            let thump = (TAU * step.pitch_hz * t).sin() * (-t / 0.03).exp();
            let scuff = 0.25 * rng.signed() * (-t / 0.006).exp();
            *x += peak * (thump + scuff);
        }
    }
}

/// Sharp decaying partials of a bicycle bell, struck at `at` seconds.
fn add_bell(out: &mut [f32], sr: f32, at: f32, peak: f32) {
    const PARTIALS: [(f32, f32, f32); 3] = [
        (2950.0, 1.0, 0.30),
        (4420.0, 0.55, 0.20),
        (6150.0, 0.30, 0.12),
    ];
    let start = (at * sr) as usize;
    let Some(slot) = out.get_mut(start..) else {
        return;
    };
    for (k, x) in slot.iter_mut().take((0.8 * sr) as usize).enumerate() {
        let t = k as f32 / sr;
        let ring: f32 = PARTIALS
            .iter()
            .filter(|(f, _, _)| *f < 0.45 * sr)
            .map(|&(f, a, tau)| a * (TAU * f * t).sin() * (-t / tau).exp())
            .sum();
        *x += peak * ring;
    }
}

/// Chain whir pulsing with the pedalling, freewheel ticks, and two rings of the bell.
fn bicycle(rng: &mut Rng, sr: f32, len: usize) -> Vec<f32> {
    let mut whir_filter = Biquad::new(Filter::Band, sr, 2200.0, 1.2);
    let mut tick_filter = Biquad::new(Filter::Band, sr, 4500.0, 4.0);
    let tick_period = (sr / rng.range(28.0, 36.0)).max(1.0) as usize;
    let pedal_hz = 1.3;
    let mut whir = Vec::with_capacity(len);
    let mut ticks = Vec::with_capacity(len);
    for n in 0..len {
        let t = n as f32 / sr;
        whir.push(whir_filter.run(rng.signed()) * (1.0 + 0.4 * (TAU * pedal_hz * t).sin()));
        ticks.push(tick_filter.run(if n % tick_period == 0 { 1.0 } else { 0.0 }));
    }
    let mut out = vec![0.0; len];
    mix_in(&mut out, whir, 0.05);
    mix_in(&mut out, ticks, 0.025);
    let first = rng.range(0.1, 0.3);
    add_bell(&mut out, sr, first, 0.12);
    add_bell(&mut out, sr, first + 0.28, 0.12);
    out
}

/// Low rumble of wheels on paving with a broadband rattle of loose parts.
fn cart(rng: &mut Rng, sr: f32, len: usize) -> Vec<f32> {
    let mut rumble_filter = Biquad::new(Filter::Low, sr, 180.0, 0.7);
    let mut rattle_low = Biquad::new(Filter::Band, sr, 1700.0, 2.0);
    let mut rattle_high = Biquad::new(Filter::Band, sr, 3200.0, 3.0);
    let click_chance = 45.0 / sr;
    let mut rumble = Vec::with_capacity(len);
    let mut rattle = Vec::with_capacity(len);
    for n in 0..len {
        let t = n as f32 / sr;
        rumble.push(rumble_filter.run(rng.signed()) * (1.0 + 0.35 * (TAU * 7.3 * t).sin()));
        let click = if rng.chance(click_chance) {
            rng.range(0.3, 1.0)
        } else {
            0.0
        };
        rattle.push(rattle_low.run(click) + 0.6 * rattle_high.run(click));
    }
    let mut out = vec![0.0; len];
    mix_in(&mut out, rumble, 0.06);
    mix_in(&mut out, rattle, 0.04);
    out
}

/// Rolling wheel noise with grit, and a clack at each paving joint the board crosses.
fn skater(rng: &mut Rng, sr: f32, len: usize, joint_period_s: f32) -> Vec<f32> {
    let mut roll_filter = Biquad::new(Filter::Band, sr, 900.0, 0.8);
    let mut grit_filter = Biquad::new(Filter::High, sr, 3000.0, 0.7);
    let mut clack_filter = Biquad::new(Filter::Band, sr, 1200.0, 5.0);
    let joint_period = (joint_period_s * sr).max(1.0) as usize;
    let grit_chance = 250.0 / sr;
    let mut roll = Vec::with_capacity(len);
    let mut grit = Vec::with_capacity(len);
    let mut clacks = Vec::with_capacity(len);
    for n in 0..len {
        let t = n as f32 / sr;
        roll.push(roll_filter.run(rng.signed()) * (1.0 + 0.2 * (TAU * 3.0 * t).sin()));
        grit.push(grit_filter.run(if rng.chance(grit_chance) {
            rng.f32()
        } else {
            0.0
        }));
        clacks.push(clack_filter.run(if n % joint_period == joint_period / 2 {
            1.0
        } else {
            0.0
        }));
    }
    let mut out = vec![0.0; len];
    mix_in(&mut out, roll, 0.035);
    mix_in(&mut out, grit, 0.012);
    mix_in(&mut out, clacks, 0.02);
    out
}

/// An impulsive broadband burst, a low thump and a low-passed reverberant tail.
fn bang(rng: &mut Rng, sr: f32, len: usize) -> Vec<f32> {
    let mut tail_filter = Biquad::new(Filter::Low, sr, 1500.0, 0.7);
    let peak = rng.range(0.7, 1.0);
    let thump_hz = rng.range(45.0, 65.0);
    let fade_from = len.saturating_sub((0.03 * sr) as usize);
    (0..len)
        .map(|n| {
            let t = n as f32 / sr;
            let burst = 0.6 * rng.signed() * (-t / 0.05).exp();
            let thump = 0.5 * (TAU * thump_hz * t).sin() * (-t / 0.12).exp();
            let tail = 0.8 * tail_filter.run(rng.signed()) * (-t / 0.22).exp();
            let fade = if n >= fade_from {
                (len - n) as f32 / (len - fade_from) as f32
            } else {
                1.0
            };
            peak * (burst + thump + tail) * fade
        })
        .collect()
}

/// A voiced shout: harmonics of a 300-600 Hz fundamental that rises and falls with
/// vibrato, weighted by the formants of an open vowel (/a/: F1 750, F2 1200, F3 2600 Hz).
fn shout(rng: &mut Rng, sr: f32, len: usize) -> Vec<f32> {
    const FORMANTS: [(f32, f32, f32); 3] = [
        (750.0, 120.0, 1.0),
        (1200.0, 150.0, 0.7),
        (2600.0, 250.0, 0.3),
    ];
    let f0 = rng.range(300.0, 600.0);
    let dur = len as f32 / sr;
    let harmonics = (1..=14)
        .filter(|k| *k as f32 * f0 * 1.1 < 0.45 * sr)
        .count();
    let weight = |f: f32| {
        0.05 + FORMANTS
            .iter()
            .map(|&(c, bw, a)| a / (1.0 + ((f - c) / bw).powi(2)))
            .sum::<f32>()
    };
    let mut phases = vec![0.0f32; harmonics];
    let mut breath_filter = Biquad::new(Filter::Band, sr, 2500.0, 1.0);
    let mut out = Vec::with_capacity(len);
    for n in 0..len {
        let t = n as f32 / sr;
        let contour = 1.0 + 0.08 * (std::f32::consts::PI * t / dur).sin();
        let f = f0 * contour * (1.0 + 0.015 * (TAU * 5.5 * t).sin());
        let mut voice = 0.0;
        for (k, phase) in phases.iter_mut().enumerate() {
            let fk = f * (k + 1) as f32;
            *phase = (*phase + TAU * fk / sr) % TAU;
            voice += weight(fk) / ((k + 1) as f32).sqrt() * phase.sin();
        }
        let attack = (t / 0.06).min(1.0);
        let release = ((dur - t) / 0.15).clamp(0.0, 1.0);
        let envelope = attack * attack * (3.0 - 2.0 * attack) * release;
        out.push(envelope * (voice + 0.05 * breath_filter.run(rng.signed())));
    }
    scale_to_rms(&mut out, 0.12);
    out
}
