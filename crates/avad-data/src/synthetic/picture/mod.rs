//! The picture: a textured walkway, pedestrians, the visual anomalies with their masks,
//! and per-frame sensor noise.

use std::f32::consts::{PI, TAU};
use std::ops::Range;

mod background;
mod canvas;
mod figures;
mod geometry;

use super::{sound, AnomalyKind, ObjectKind, ObjectTrack, Rng, SceneConfig, Stream};

use background::background;
use canvas::Canvas;
use figures::{draw_bicycle, draw_cart, draw_figure, draw_skater, Look, Pose};
use geometry::Geometry;

/// A heel strike, for the sound track.
pub(super) struct Footstep {
    pub time_s: f64,
    /// Loudness from 0 to 1: nearer (lower in the frame) is louder.
    pub gain: f32,
    /// Pitch of the thump, a property of the walker.
    pub pitch_hz: f32,
}

/// Where a visual anomaly was seen.
pub(super) struct Seen {
    pub frames: Range<usize>,
    /// Index into `Video::tracks`.
    pub track: usize,
    /// Speed in pixels per frame.
    pub speed: f32,
}

pub(super) struct Video {
    pub frames: Vec<Vec<u8>>,
    pub masks: Vec<Vec<bool>>,
    pub visual_labels: Vec<bool>,
    pub tracks: Vec<ObjectTrack>,
    /// Per scheduled anomaly (same order as `SceneConfig::anomalies`): where it was seen;
    /// `None` for sound-only anomalies and for any that never entered the view.
    pub seen: Vec<Option<Seen>>,
    pub footsteps: Vec<Footstep>,
}

struct Walker {
    pos: [f32; 2],
    /// Pixels per frame; lane walkers move along x and follow their lane.
    vel: [f32; 2],
    lane: Option<f32>,
    dir: f32,
    /// Gait phase in radians; heel strikes at π/2 + kπ.
    phase: f32,
    phase_step: f32,
    scale: f32,
    look: Look,
    pitch_hz: f32,
    track: usize,
}

struct Actor {
    kind: AnomalyKind,
    pos: [f32; 2],
    lane: f32,
    dir: f32,
    speed: f32,
    phase: f32,
    look: Look,
    body: f32,
    track: Option<usize>,
    done: bool,
    seen: Option<Range<usize>>,
}

/// Walking pace at 160 px width (Ped2 pedestrians cover the frame in several seconds).
const WALK_SPEED: (f32, f32) = (1.0, 1.5);
const CROSSER_SHARE: f32 = 0.15;
/// Stride frequency: one stride is two steps, so footsteps fall at ≈2 Hz.
const STRIDE_HZ: (f32, f32) = (0.9, 1.1);
const SWING_RAD: f32 = 0.45;

fn spawn_walker(
    rng: &mut Rng,
    geo: &Geometry,
    fps: f32,
    tracks: &mut Vec<ObjectTrack>,
    frame: usize,
    x: Option<f32>,
) -> Walker {
    let dir = rng.sign();
    let crosser = x.is_none() && rng.chance(CROSSER_SHARE);
    let (pos, vel, lane) = if crosser {
        let x = rng.range(0.1, 0.9) * geo.w;
        let vy = rng.range(0.6, 0.9) * geo.size * dir;
        let y = if dir > 0.0 {
            -1.0
        } else {
            geo.h + 20.0 * geo.size
        };
        ([x, y], [rng.range(-0.3, 0.3) * geo.speed, vy], None)
    } else {
        let x = x.unwrap_or(if dir > 0.0 {
            -geo.margin
        } else {
            geo.w + geo.margin
        });
        let lane = rng.range(0.0, 1.0);
        let vx = rng.range(WALK_SPEED.0, WALK_SPEED.1) * geo.speed * dir;
        ([x, geo.lane_y(x, lane)], [vx, 0.0], Some(lane))
    };
    tracks.push(ObjectTrack {
        kind: ObjectKind::Pedestrian,
        first_frame: frame,
        feet: Vec::new(),
    });
    Walker {
        pos,
        vel,
        lane,
        dir: if vel[0] < 0.0 { -1.0 } else { 1.0 },
        phase: rng.range(0.0, TAU),
        phase_step: TAU * rng.range(STRIDE_HZ.0, STRIDE_HZ.1) / fps,
        scale: rng.range(0.92, 1.08),
        look: Look::random(rng),
        pitch_hz: rng.range(70.0, 110.0),
        track: tracks.len() - 1,
    }
}

impl Walker {
    fn gone(&self, geo: &Geometry) -> bool {
        let [x, y] = self.pos;
        x < -geo.margin - 1.0
            || x > geo.w + geo.margin + 1.0
            || y < -2.0
            || y > geo.h + 21.0 * geo.size
    }

    /// Moves one frame on, returning the fraction of the frame at which a heel struck.
    fn advance(&mut self, geo: &Geometry) -> Option<f32> {
        let before = ((self.phase - PI / 2.0) / PI).floor();
        self.phase += self.phase_step;
        let after = ((self.phase - PI / 2.0) / PI).floor();
        self.pos[0] += self.vel[0];
        self.pos[1] = match self.lane {
            Some(lane) => geo.lane_y(self.pos[0], lane),
            None => self.pos[1] + self.vel[1],
        };
        (after > before).then(|| {
            let strike = after * PI + PI / 2.0;
            (strike - (self.phase - self.phase_step)) / self.phase_step
        })
    }
}

/// How far, in design units, an anomaly reaches ahead of its ground point.
fn front_extent(kind: AnomalyKind) -> f32 {
    match kind {
        AnomalyKind::Bicycle => 5.5 + 3.4 + 0.55,
        AnomalyKind::Cart => 11.0,
        AnomalyKind::Skater => 5.6,
        AnomalyKind::Bang | AnomalyKind::Shout => 0.0,
    }
}

fn actor_speed(rng: &mut Rng, kind: AnomalyKind) -> f32 {
    match kind {
        AnomalyKind::Bicycle => rng.range(4.5, 6.0),
        AnomalyKind::Cart => rng.range(2.2, 3.0),
        AnomalyKind::Skater => rng.range(3.0, 4.0),
        AnomalyKind::Bang | AnomalyKind::Shout => 0.0,
    }
}

pub(super) fn render(config: &SceneConfig) -> Video {
    let geo = Geometry::new(config);
    let (w, h) = (config.width as usize, config.height as usize);
    let n = w * h;
    let background = background(config, &geo);
    let mut crowd_rng = Rng::new(config.seed, Stream::Crowd);
    let mut noise_rng = Rng::new(config.seed, Stream::SensorNoise);
    let mut tracks = Vec::new();

    let mean_dwell = (geo.w + 2.0 * geo.margin) / (0.5 * (WALK_SPEED.0 + WALK_SPEED.1) * geo.speed);
    let spawn_chance = (config.people_in_view / mean_dwell).min(1.0);
    let mut walkers: Vec<Walker> = (0..config.people_in_view.round() as usize)
        .map(|_| {
            let x = crowd_rng.range(0.0, geo.w);
            spawn_walker(&mut crowd_rng, &geo, config.fps, &mut tracks, 0, Some(x))
        })
        .collect();

    let mut actors: Vec<Actor> = config
        .anomalies
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut rng = Rng::new(
                config.seed ^ (i as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407),
                Stream::Anomaly,
            );
            let dir = rng.sign();
            let speed = actor_speed(&mut rng, a.kind) * config.anomaly_speed * geo.speed;
            // Enter with the front 1.5 units inside the view, so it is seen from `start_frame`.
            let lane = rng.range(0.15, 0.9);
            let entry_y = geo.lane_y(if dir > 0.0 { 0.0 } else { geo.w }, lane);
            let inset = (front_extent(a.kind) - 1.5) * geo.depth_scale(entry_y);
            Actor {
                kind: a.kind,
                pos: [if dir > 0.0 { -inset } else { geo.w + inset }, 0.0],
                lane,
                dir,
                speed,
                phase: rng.range(0.0, TAU),
                look: Look::random(&mut rng),
                body: if rng.chance(0.5) {
                    rng.range(195.0, 225.0)
                } else {
                    rng.range(35.0, 60.0)
                },
                track: None,
                done: !a.kind.is_visual(),
                seen: None,
            }
        })
        .collect();

    // Illumination drifts by about 1% over ≈10 s, as auto-exposure does.
    let drift_phase = noise_rng.range(0.0, TAU);
    let noise_amp = config.sensor_noise / (1.0f32 / 6.0).sqrt();
    let mut frames = Vec::with_capacity(config.frames);
    let mut masks = Vec::with_capacity(config.frames);
    let mut visual_labels = Vec::with_capacity(config.frames);
    let mut footsteps = Vec::new();
    let mut px = vec![0.0f32; n];

    for frame in 0..config.frames {
        if frame > 0 && crowd_rng.chance(spawn_chance) {
            walkers.push(spawn_walker(
                &mut crowd_rng,
                &geo,
                config.fps,
                &mut tracks,
                frame,
                None,
            ));
        }
        for (actor, scheduled) in actors.iter_mut().zip(&config.anomalies) {
            if scheduled.start_frame == frame && actor.kind.is_visual() {
                actor.pos[1] = geo.lane_y(actor.pos[0], actor.lane);
                tracks.push(ObjectTrack {
                    kind: ObjectKind::Anomaly(actor.kind),
                    first_frame: frame,
                    feet: Vec::new(),
                });
                actor.track = Some(tracks.len() - 1);
            }
        }

        let gain = 1.0 + 0.01 * (TAU * frame as f32 / (10.0 * config.fps) + drift_phase).sin();
        px.iter_mut()
            .zip(&background)
            .for_each(|(p, b)| *p = b * gain);
        let mut mask = vec![false; n];
        let mut c = Canvas {
            w,
            h,
            px: &mut px,
            mask: &mut mask,
            masking: false,
            covered: 0,
        };

        // Painter's order: farther (higher in the frame) first.
        enum Item {
            Walker(usize),
            Actor(usize),
        }
        let mut items: Vec<(f32, Item)> = walkers
            .iter()
            .enumerate()
            .map(|(i, wk)| (wk.pos[1], Item::Walker(i)))
            .collect();
        items.extend(
            actors
                .iter()
                .enumerate()
                .filter(|(_, a)| a.track.is_some() && !a.done)
                .map(|(i, a)| (a.pos[1], Item::Actor(i))),
        );
        items.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, item) in items {
            match item {
                Item::Walker(i) => {
                    let wk = &walkers[i];
                    let s = geo.depth_scale(wk.pos[1]) * wk.scale;
                    c.masking = false;
                    let pose = Pose {
                        swing: SWING_RAD * wk.phase.sin(),
                        lean: 0.3,
                        arms_out: false,
                    };
                    draw_figure(&mut c, wk.pos, s, wk.dir, pose, wk.look);
                }
                Item::Actor(i) => {
                    let a = &mut actors[i];
                    let s = geo.depth_scale(a.pos[1]);
                    c.masking = true;
                    c.covered = 0;
                    match a.kind {
                        AnomalyKind::Bicycle => {
                            draw_bicycle(&mut c, a.pos, s, a.dir, a.phase, a.look)
                        }
                        AnomalyKind::Cart => draw_cart(&mut c, a.pos, s, a.dir, a.body),
                        AnomalyKind::Skater => draw_skater(&mut c, a.pos, s, a.dir, a.look),
                        AnomalyKind::Bang | AnomalyKind::Shout => {}
                    }
                    if c.covered > 0 {
                        a.seen = Some(a.seen.as_ref().map_or(frame, |r| r.start)..frame + 1);
                    }
                }
            }
        }

        for wk in &mut walkers {
            if let Some(track) = tracks.get_mut(wk.track) {
                track.feet.push(wk.pos);
            }
            let pos = wk.pos;
            if let Some(fraction) = wk.advance(&geo) {
                footsteps.push(Footstep {
                    time_s: (frame as f64 + f64::from(fraction)) / f64::from(config.fps),
                    gain: sound::proximity(pos[1], geo.h) * geo.in_view(pos),
                    pitch_hz: wk.pitch_hz,
                });
            }
        }
        walkers.retain(|wk| !wk.gone(&geo));
        for a in actors.iter_mut().filter(|a| !a.done) {
            let Some(track) = a.track.and_then(|t| tracks.get_mut(t)) else {
                continue;
            };
            track.feet.push(a.pos);
            a.pos[0] += a.speed * a.dir;
            a.pos[1] = geo.lane_y(a.pos[0], a.lane);
            // Pedalling cadence ≈1.3 rev/s.
            a.phase += TAU * 1.3 / config.fps;
            a.done = a.pos[0] < -geo.margin - 1.0 || a.pos[0] > geo.w + geo.margin + 1.0;
        }

        // Sensor noise: a triangular variate (sum of two uniforms), std `sensor_noise`.
        let bytes: Vec<u8> = px
            .iter()
            .map(|&p| {
                let r = noise_rng.next_u64();
                let (u, v) = ((r >> 40) as f32, ((r >> 8) & 0xFF_FFFF) as f32);
                let noise = ((u + v) / 16_777_216.0 - 1.0) * noise_amp;
                (p + noise).round().clamp(0.0, 255.0) as u8
            })
            .collect();
        frames.push(bytes);
        visual_labels.push(mask.iter().any(|&m| m));
        masks.push(mask);
    }

    let seen = actors
        .into_iter()
        .map(|a| match (a.seen, a.track) {
            (Some(frames), Some(track)) => Some(Seen {
                frames,
                track,
                speed: a.speed,
            }),
            _ => None,
        })
        .collect();
    Video {
        frames,
        masks,
        visual_labels,
        tracks,
        seen,
        footsteps,
    }
}
