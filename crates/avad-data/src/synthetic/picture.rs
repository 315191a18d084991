//! The picture: a textured walkway, pedestrians, the visual anomalies with their masks,
//! and per-frame sensor noise.

use std::f32::consts::{PI, TAU};
use std::ops::Range;

use super::{sound, AnomalyKind, ObjectKind, ObjectTrack, Rng, SceneConfig, Stream};

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

/// The layout of the view in pixels. The walkway crosses the frame left to right and
/// narrows a little towards the right, as a fixed camera looking along it at an angle sees it.
struct Geometry {
    w: f32,
    h: f32,
    /// Pixels per design unit: the figures are designed for a 120-pixel-high frame.
    size: f32,
    /// Speed factor: walking pace is 1-1.5 px/frame at 160 px width.
    speed: f32,
    /// How far outside the view objects appear and disappear.
    margin: f32,
}

impl Geometry {
    fn new(config: &SceneConfig) -> Self {
        let (w, h) = (config.width as f32, config.height as f32);
        let size = h / 120.0;
        Self {
            w,
            h,
            size,
            speed: w / 160.0,
            margin: 16.0 * size,
        }
    }

    fn walk_top(&self, x: f32) -> f32 {
        self.h * (0.36 - 0.06 * x / self.w)
    }

    fn walk_bottom(&self, x: f32) -> f32 {
        self.h * (0.93 - 0.08 * x / self.w)
    }

    /// Ground height of lane `u` (0 the far side of the walkway, 1 the near side) at `x`.
    fn lane_y(&self, x: f32, u: f32) -> f32 {
        let top = self.walk_top(x) + 6.0 * self.size;
        let bottom = self.walk_bottom(x) - 2.0 * self.size;
        top + (bottom - top) * u
    }

    /// Perspective: nearer objects (lower in the frame) look bigger.
    fn depth_scale(&self, y: f32) -> f32 {
        self.size * (0.8 + 0.35 * (y / self.h).clamp(0.0, 1.0))
    }

    /// 1 inside the view, falling to 0 one margin outside it.
    fn in_view(&self, [x, y]: [f32; 2]) -> f32 {
        let outside = (-x).max(x - self.w).max(-y).max(y - self.h).max(0.0);
        (1.0 - outside / self.margin).max(0.0)
    }
}

/// A gray-level canvas that paints anti-aliased shapes given by signed distance functions,
/// and, while `masking`, marks the pixels a shape covers at least half.
struct Canvas<'a> {
    w: usize,
    h: usize,
    px: &'a mut [f32],
    mask: &'a mut [bool],
    masking: bool,
    covered: usize,
}

impl Canvas<'_> {
    fn paint(&mut self, [x0, y0, x1, y1]: [f32; 4], value: f32, sd: impl Fn(f32, f32) -> f32) {
        let xa = (x0 - 1.0).max(0.0) as usize;
        let ya = (y0 - 1.0).max(0.0) as usize;
        let xb = ((x1 + 2.0).max(0.0) as usize).min(self.w);
        let yb = ((y1 + 2.0).max(0.0) as usize).min(self.h);
        for j in ya..yb {
            let yc = j as f32 + 0.5;
            for i in xa..xb {
                // Coverage of a pixel by a shape whose edge is `sd` away from its centre.
                let alpha = (0.5 - sd(i as f32 + 0.5, yc)).min(1.0);
                if alpha <= 0.0 {
                    continue;
                }
                let k = j * self.w + i;
                self.px[k] += (value - self.px[k]) * alpha;
                if self.masking && alpha >= 0.5 {
                    self.mask[k] = true;
                    self.covered += 1;
                }
            }
        }
    }

    fn ellipse(&mut self, [cx, cy]: [f32; 2], rx: f32, ry: f32, value: f32) {
        let r = rx.min(ry);
        self.paint([cx - rx, cy - ry, cx + rx, cy + ry], value, |x, y| {
            let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
            ((dx * dx + dy * dy).sqrt() - 1.0) * r
        });
    }

    fn disc(&mut self, centre: [f32; 2], r: f32, value: f32) {
        self.ellipse(centre, r, r, value);
    }

    /// A thick line segment with round ends (a limb, a tube).
    fn capsule(&mut self, [ax, ay]: [f32; 2], [bx, by]: [f32; 2], r: f32, value: f32) {
        let (ex, ey) = (bx - ax, by - ay);
        let len2 = (ex * ex + ey * ey).max(1e-6);
        let bbox = [
            ax.min(bx) - r,
            ay.min(by) - r,
            ax.max(bx) + r,
            ay.max(by) + r,
        ];
        self.paint(bbox, value, |x, y| {
            let t = (((x - ax) * ex + (y - ay) * ey) / len2).clamp(0.0, 1.0);
            let (dx, dy) = (x - ax - t * ex, y - ay - t * ey);
            (dx * dx + dy * dy).sqrt() - r
        });
    }

    fn ring(&mut self, [cx, cy]: [f32; 2], r: f32, thickness: f32, value: f32) {
        let outer = r + thickness;
        self.paint(
            [cx - outer, cy - outer, cx + outer, cy + outer],
            value,
            |x, y| ((x - cx).hypot(y - cy) - r).abs() - 0.5 * thickness,
        );
    }

    fn rect(&mut self, [cx, cy]: [f32; 2], [hx, hy]: [f32; 2], value: f32) {
        self.paint([cx - hx, cy - hy, cx + hx, cy + hy], value, |x, y| {
            let (qx, qy) = ((x - cx).abs() - hx, (y - cy).abs() - hy);
            qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0)
        });
    }
}

/// Gray levels of one figure. Clothes are mostly darker or lighter than the paving (≈150).
#[derive(Clone, Copy)]
struct Look {
    body: f32,
    head: f32,
    legs: f32,
}

impl Look {
    fn random(rng: &mut Rng) -> Self {
        const CLOTHES: [f32; 8] = [40.0, 55.0, 70.0, 85.0, 100.0, 190.0, 205.0, 220.0];
        Self {
            body: CLOTHES[rng.below(CLOTHES.len())] + rng.range(-6.0, 6.0),
            head: rng.range(60.0, 115.0),
            legs: rng.range(35.0, 80.0),
        }
    }
}

/// How a figure holds itself.
struct Pose {
    /// Each leg's angle from vertical, in radians; the legs spread symmetrically.
    swing: f32,
    /// How far forward the shoulders are over the hips, in design units.
    lean: f32,
    /// Arms held out for balance instead of swinging with the legs.
    arms_out: bool,
}

/// A human figure standing on `feet`, facing `dir` (±1).
fn draw_figure(c: &mut Canvas, [x, y]: [f32; 2], s: f32, dir: f32, pose: Pose, look: Look) {
    let Pose {
        swing,
        lean,
        arms_out,
    } = pose;
    let leg = 7.0 * s;
    // The hip rides on the legs, so walking bobs the body by leg·(1 − cos swing).
    let hip = [x, y - leg * swing.cos()];
    let stride = leg * swing.sin();
    let shoulder = [hip[0] + lean * s * dir, hip[1] - 6.0 * s];
    for foot_x in [x - stride, x + stride] {
        c.capsule([hip[0], hip[1] - 0.5 * s], [foot_x, y], 0.95 * s, look.legs);
    }
    c.capsule(
        [hip[0], hip[1] - 1.5 * s],
        [shoulder[0], shoulder[1] + 1.0 * s],
        2.3 * s,
        look.body,
    );
    let arm_shade = look.body * 0.85 + 10.0;
    let hands = if arms_out {
        [
            [shoulder[0] - 4.5 * s, shoulder[1] + 2.5 * s],
            [shoulder[0] + 4.5 * s, shoulder[1] + 2.0 * s],
        ]
    } else {
        let reach = 2.6 * s * swing.sin();
        [
            [shoulder[0] - reach, hip[1] - 0.5 * s],
            [shoulder[0] + reach, hip[1] - 0.5 * s],
        ]
    };
    for hand in hands {
        c.capsule(
            [shoulder[0], shoulder[1] + 0.5 * s],
            hand,
            0.7 * s,
            arm_shade,
        );
    }
    c.disc(
        [shoulder[0] + 0.3 * lean * s * dir, shoulder[1] - 2.8 * s],
        1.9 * s,
        look.head,
    );
}

fn draw_bicycle(c: &mut Canvas, [x, y]: [f32; 2], s: f32, dir: f32, crank: f32, look: Look) {
    let r = 3.4 * s;
    let rear = [x - 5.5 * s * dir, y - r];
    let front = [x + 5.5 * s * dir, y - r];
    for hub in [rear, front] {
        c.ring(hub, r, 1.1 * s, 30.0);
        c.disc(hub, 0.6 * s, 60.0);
    }
    let bb = [x - 0.3 * s * dir, y - r + 0.3 * s];
    let seat = [x - 2.2 * s * dir, y - r - 5.0 * s];
    let head_tube = [x + 3.8 * s * dir, y - r - 5.5 * s];
    for (a, b) in [
        (rear, bb),
        (rear, seat),
        (bb, seat),
        (seat, head_tube),
        (bb, head_tube),
        (head_tube, front),
    ] {
        c.capsule(a, b, 0.55 * s, 55.0);
    }
    let hip = [seat[0], seat[1] - 0.8 * s];
    for angle in [crank + PI, crank] {
        let pedal = [bb[0] + 1.8 * s * angle.cos(), bb[1] + 1.8 * s * angle.sin()];
        let knee = [
            (hip[0] + pedal[0]) * 0.5 + 2.0 * s * dir,
            (hip[1] + pedal[1]) * 0.5 - 0.5 * s,
        ];
        c.capsule(hip, knee, 0.95 * s, look.legs);
        c.capsule(knee, pedal, 0.85 * s, look.legs);
    }
    let shoulder = [hip[0] + 2.5 * s * dir, hip[1] - 6.0 * s];
    c.capsule(hip, shoulder, 2.2 * s, look.body);
    c.capsule(
        shoulder,
        [head_tube[0] - 0.3 * s * dir, head_tube[1] - 0.8 * s],
        0.7 * s,
        look.body * 0.85 + 10.0,
    );
    c.disc(
        [shoulder[0] + 0.9 * s * dir, shoulder[1] - 2.6 * s],
        1.9 * s,
        look.head,
    );
}

fn draw_cart(c: &mut Canvas, [x, y]: [f32; 2], s: f32, dir: f32, body: f32) {
    let wheel = 2.2 * s;
    c.capsule(
        [x - 11.0 * s * dir, y - wheel - 8.0 * s],
        [x - 14.0 * s * dir, y - wheel - 11.0 * s],
        0.6 * s,
        40.0,
    );
    c.rect([x, y - wheel - 5.0 * s], [11.0 * s, 5.5 * s], body);
    c.rect(
        [x + 2.0 * s * dir, y - wheel - 12.0 * s],
        [6.5 * s, 2.2 * s],
        body * 0.75,
    );
    c.rect([x, y - wheel - 5.0 * s], [9.5 * s, 0.5 * s], body * 0.6);
    for hub_x in [x - 7.0 * s, x + 7.0 * s] {
        c.disc([hub_x, y - wheel], wheel, 25.0);
        c.disc([hub_x, y - wheel], 0.8 * s, 120.0);
    }
}

fn draw_skater(c: &mut Canvas, [x, y]: [f32; 2], s: f32, dir: f32, look: Look) {
    c.capsule(
        [x - 5.0 * s, y - 1.0 * s],
        [x + 5.0 * s, y - 1.0 * s],
        0.6 * s,
        35.0,
    );
    for wheel_x in [x - 3.5 * s, x + 3.5 * s] {
        c.disc([wheel_x, y - 0.2 * s], 0.7 * s, 30.0);
    }
    // A fixed stance: gliding has neither leg swing nor bob.
    draw_figure(
        c,
        [x, y - 1.6 * s],
        s,
        dir,
        Pose {
            swing: 0.3,
            lean: 1.5,
            arms_out: true,
        },
        look,
    );
}

/// Smooth random field in [-1, 1] with features about `cell` pixels across.
fn value_noise(rng: &mut Rng, w: usize, h: usize, cell: f32) -> Vec<f32> {
    let gw = (w as f32 / cell) as usize + 2;
    let gh = (h as f32 / cell) as usize + 2;
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.signed()).collect();
    let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
    let mut out = Vec::with_capacity(w * h);
    for j in 0..h {
        let gy = j as f32 / cell;
        let (y0, ty) = (gy as usize, smooth(gy.fract()));
        for i in 0..w {
            let gx = i as f32 / cell;
            let (x0, tx) = (gx as usize, smooth(gx.fract()));
            let at = |x: usize, y: usize| grid[y * gw + x];
            let top = at(x0, y0) + (at(x0 + 1, y0) - at(x0, y0)) * tx;
            let bottom = at(x0, y0 + 1) + (at(x0 + 1, y0 + 1) - at(x0, y0 + 1)) * tx;
            out.push(top + (bottom - top) * ty);
        }
    }
    out
}

/// The empty scene: grass, a paved walkway with tile joints and kerbs, a lamp post, bushes.
fn background(config: &SceneConfig, geo: &Geometry) -> Vec<f32> {
    let (w, h) = (config.width as usize, config.height as usize);
    let mut rng = Rng::new(config.seed, Stream::Background);
    let s = geo.size;
    let broad = value_noise(&mut rng, w, h, 24.0 * s);
    let patchy = value_noise(&mut rng, w, h, 5.0 * s);
    let tile_w = 14.0 * s;
    let mut px = Vec::with_capacity(w * h);
    for j in 0..h {
        let yc = j as f32 + 0.5;
        for i in 0..w {
            let k = j * w + i;
            let xc = i as f32 + 0.5;
            let (top, bottom) = (geo.walk_top(xc), geo.walk_bottom(xc));
            let grass = 92.0 + 14.0 * broad[k] + 9.0 * patchy[k] + 6.0 * rng.signed();
            // Tile joints: columns every `tile_w`, four rows that follow the walkway's edges.
            let row = (yc - top) / (bottom - top) * 4.0;
            let row_px = (row - row.round()).abs() * (bottom - top) / 4.0;
            let col_px = (xc / tile_w - (xc / tile_w).round()).abs() * tile_w;
            let joint = (1.0 - row_px.min(col_px)).max(0.0);
            let paving = 150.0 + 9.0 * broad[k] + 3.0 * rng.signed() - 16.0 * joint;
            let on_walk = (yc - top + 0.5).clamp(0.0, 1.0) * (bottom - yc + 0.5).clamp(0.0, 1.0);
            let kerb = (1.6 - (yc - top).abs().min((yc - bottom).abs())).clamp(0.0, 1.0);
            let ground = grass + (paving - grass) * on_walk;
            px.push(ground + (200.0 - ground) * kerb);
        }
    }
    let mut no_mask = [];
    let mut c = Canvas {
        w,
        h,
        px: &mut px,
        mask: &mut no_mask,
        masking: false,
        covered: 0,
    };
    for _ in 0..3 {
        let x = rng.range(0.05, 0.95) * geo.w;
        let y = rng.range(0.05, 0.8) * geo.walk_top(x);
        c.ellipse(
            [x, y],
            rng.range(6.0, 11.0) * s,
            rng.range(3.5, 6.0) * s,
            rng.range(55.0, 70.0),
        );
    }
    let post_x = rng.range(0.55, 0.85) * geo.w;
    let post_foot = [post_x, geo.walk_top(post_x) - 1.0 * s];
    c.capsule(post_foot, [post_x, 0.06 * geo.h], 0.8 * s, 50.0);
    c.capsule(
        [post_x, 0.06 * geo.h],
        [post_x + 4.0 * s, 0.06 * geo.h],
        0.8 * s,
        50.0,
    );
    c.disc([post_x + 4.5 * s, 0.06 * geo.h + 1.5 * s], 1.4 * s, 230.0);
    px
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
