//! The figures: pedestrians, bicycles, carts and skaters.

use std::f32::consts::PI;

use super::Canvas;
use crate::synthetic::Rng;

/// Gray levels of one figure. Clothes are mostly darker or lighter than the paving (≈150).
#[derive(Clone, Copy)]
pub(super) struct Look {
    body: f32,
    head: f32,
    legs: f32,
}

impl Look {
    pub(super) fn random(rng: &mut Rng) -> Self {
        const CLOTHES: [f32; 8] = [40.0, 55.0, 70.0, 85.0, 100.0, 190.0, 205.0, 220.0];
        Self {
            body: CLOTHES[rng.below(CLOTHES.len())] + rng.range(-6.0, 6.0),
            head: rng.range(60.0, 115.0),
            legs: rng.range(35.0, 80.0),
        }
    }
}

/// How a figure holds itself.
pub(super) struct Pose {
    /// Each leg's angle from vertical, in radians; the legs spread symmetrically.
    pub(super) swing: f32,
    /// How far forward the shoulders are over the hips, in design units.
    pub(super) lean: f32,
    /// Arms held out for balance instead of swinging with the legs.
    pub(super) arms_out: bool,
}

/// A human figure standing on `feet`, facing `dir` (±1).
pub(super) fn draw_figure(
    c: &mut Canvas,
    [x, y]: [f32; 2],
    s: f32,
    dir: f32,
    pose: Pose,
    look: Look,
) {
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

pub(super) fn draw_bicycle(
    c: &mut Canvas,
    [x, y]: [f32; 2],
    s: f32,
    dir: f32,
    crank: f32,
    look: Look,
) {
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

pub(super) fn draw_cart(c: &mut Canvas, [x, y]: [f32; 2], s: f32, dir: f32, body: f32) {
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

pub(super) fn draw_skater(c: &mut Canvas, [x, y]: [f32; 2], s: f32, dir: f32, look: Look) {
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
