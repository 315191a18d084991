//! Moving objects: the pixels that differ from the background, cut into connected
//! components, each with its motion since the frame before.

use serde::{Deserialize, Serialize};

use crate::{Background, Frame};

/// How objects are found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectConfig {
    /// A pixel is foreground when its difference from the background, averaged over its
    /// 3x3 neighbourhood, exceeds this many times the background's noise...
    pub noise_factor: f32,
    /// ... and at least this much (of the [0, 1] gray range).
    pub min_difference: f32,
    /// Components smaller than this share of the frame are dropped as noise.
    pub min_area: f32,
    /// Largest motion searched between two frames, in pixels each way.
    pub search: usize,
    /// How fast the background follows the scene (slow light, a parked object): each
    /// frame, a background pixel moves this share of the way to the frame's, a foreground
    /// pixel a twentieth of that. 0 keeps the background fitted to training footage.
    pub adapt: f32,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            noise_factor: 4.0,
            min_difference: 0.06,
            min_area: 0.001,
            search: 6,
            adapt: 0.02,
        }
    }
}

/// How many numbers describe an object ([`Object::features`]).
pub const N_FEATURES: usize = 5;

/// One moving object in a frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    /// Its box: first and one-past-last column and row.
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
    /// Its pixels.
    pub area: usize,
    /// Its displacement since the frame before, in pixels (x right, y down).
    pub dx: f32,
    pub dy: f32,
    /// The mean absolute change of its pixels since the frame before.
    pub change: f32,
}

impl Object {
    /// Place, size and motion: the centre's row and the box's height and width, as
    /// shares of the frame's, and the displacement's two parts in box heights per frame.
    /// In a camera's perspective an object's size and speed scale together with its
    /// distance, so a speed in its own heights is a speed for its place.
    pub fn features(&self, width: usize, height: usize) -> [f32; N_FEATURES] {
        let (w, h) = (width as f32, height as f32);
        let tall = (self.y1 - self.y0) as f32;
        [
            (self.y0 + self.y1) as f32 / (2.0 * h),
            tall / h,
            (self.x1 - self.x0) as f32 / w,
            self.dx / tall,
            self.dy / tall,
        ]
    }
}

/// The scene as a stream sees it: its background, following slow changes, and the
/// frame before. One per camera or clip; [`SceneState::objects`] takes each frame in turn.
#[derive(Clone, Debug)]
pub struct SceneState {
    background: Background,
    previous: Option<Vec<f32>>,
}

impl SceneState {
    /// A stream's state before its first frame: `background` as fitted to normal footage.
    pub fn new(background: &Background) -> Self {
        SceneState {
            background: background.clone(),
            previous: None,
        }
    }

    /// The moving objects of the next frame, with their motion since the one before;
    /// then the background moves towards the frame (see [`DetectConfig::adapt`]).
    pub fn objects(&mut self, frame: Frame<'_>, config: &DetectConfig) -> Vec<Object> {
        let previous = self
            .previous
            .as_deref()
            .map(|p| Frame::new(frame.width, frame.height, p).expect("same size"));
        let (mut objects, mask) = detect_with_mask(&self.background, previous, frame, config);
        // Most of the frame unlike the background is the light changing, not an object:
        // then every pixel follows at the full rate.
        let changed = mask.iter().filter(|&&m| m).count() * 2 > mask.len();
        if changed {
            objects.clear();
        }
        if config.adapt > 0.0 {
            let slow = if changed {
                config.adapt
            } else {
                config.adapt / 20.0
            };
            for ((b, &p), &fg) in self
                .background
                .pixels
                .iter_mut()
                .zip(frame.pixels)
                .zip(&mask)
            {
                *b += if fg { slow } else { config.adapt } * (p - *b);
            }
        }
        match &mut self.previous {
            Some(p) => p.copy_from_slice(frame.pixels),
            None => self.previous = Some(frame.pixels.to_vec()),
        }
        objects
    }
}

/// The moving objects of `current`, against `background`, with their motion since
/// `previous` (the frame before; `None` for a first frame: no motion).
pub fn detect(
    background: &Background,
    previous: Option<Frame<'_>>,
    current: Frame<'_>,
    config: &DetectConfig,
) -> Vec<Object> {
    detect_with_mask(background, previous, current, config).0
}

/// [`detect`], with the foreground mask.
fn detect_with_mask(
    background: &Background,
    previous: Option<Frame<'_>>,
    current: Frame<'_>,
    config: &DetectConfig,
) -> (Vec<Object>, Vec<bool>) {
    let (w, h) = (current.width, current.height);
    assert_eq!((w, h), (background.width, background.height), "frame size");
    let threshold = (config.noise_factor * background.noise).max(config.min_difference);
    let mask = foreground(background, current, threshold);
    let min_area = ((config.min_area * (w * h) as f32).ceil() as usize).max(1);
    let mut objects = Vec::new();
    for pixels in components(&mask, w, h) {
        if pixels.len() < min_area {
            continue;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (w, h, 0, 0);
        for &i in &pixels {
            let (x, y) = (i % w, i / w);
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x + 1);
            y1 = y1.max(y + 1);
        }
        let (dx, dy, change) = match previous {
            Some(prev) => motion(prev, current, &pixels, config.search),
            None => (0.0, 0.0, 0.0),
        };
        objects.push(Object {
            x0,
            y0,
            x1,
            y1,
            area: pixels.len(),
            dx,
            dy,
            change,
        });
    }
    (objects, mask)
}

/// Foreground pixels: the 3x3 mean of |frame - background| above `threshold`.
fn foreground(background: &Background, frame: Frame<'_>, threshold: f32) -> Vec<bool> {
    let (w, h) = (frame.width, frame.height);
    let diff: Vec<f32> = frame
        .pixels
        .iter()
        .zip(&background.pixels)
        .map(|(p, b)| (p - b).abs())
        .collect();
    let mut mask = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let (mut sum, mut n) = (0.0, 0);
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    sum += diff[yy * w + xx];
                    n += 1;
                }
            }
            mask[y * w + x] = sum / n as f32 > threshold;
        }
    }
    mask
}

/// The 8-connected components of `mask`, each as its pixels' indices.
fn components(mask: &[bool], w: usize, h: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; mask.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut pixels = Vec::new();
        while let Some(i) = stack.pop() {
            pixels.push(i);
            let (x, y) = (i % w, i / w);
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = yy * w + xx;
                    if mask[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(pixels);
    }
    out
}

/// The shift (dx, dy) within ±`search` that best carries `previous` onto the object's
/// `pixels` of `current` (least mean absolute difference; ties go to the smaller shift),
/// and the pixels' mean absolute change in place.
fn motion(
    previous: Frame<'_>,
    current: Frame<'_>,
    pixels: &[usize],
    search: usize,
) -> (f32, f32, f32) {
    let (w, h) = (current.width as isize, current.height as isize);
    let s = search as isize;
    let mut best = (f32::INFINITY, 0isize, 0isize);
    let mut change = 0.0;
    for dy in -s..=s {
        for dx in -s..=s {
            let (mut sum, mut n) = (0.0f32, 0usize);
            for &i in pixels {
                let (x, y) = ((i as isize) % w, (i as isize) / w);
                let (px, py) = (x - dx, y - dy);
                if px < 0 || py < 0 || px >= w || py >= h {
                    continue;
                }
                sum += (current.pixels[i] - previous.pixels[(py * w + px) as usize]).abs();
                n += 1;
            }
            if n * 2 < pixels.len() {
                continue;
            }
            let cost = sum / n as f32;
            if dx == 0 && dy == 0 {
                change = cost;
            }
            // A small price per pixel of shift: flat regions match anywhere, and then
            // the object has not moved.
            let cost = cost + 1e-4 * (dx.abs() + dy.abs()) as f32;
            if cost < best.0 {
                best = (cost, dx, dy);
            }
        }
    }
    (best.1 as f32, best.2 as f32, change)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured square of side `side` at (`x`, `y`) on a flat background.
    fn scene(w: usize, h: usize, x: usize, y: usize, side: usize) -> Vec<f32> {
        let mut f = vec![0.5; w * h];
        for yy in y..y + side {
            for xx in x..x + side {
                f[yy * w + xx] = if (xx * 7 + yy * 3) % 5 < 2 { 0.1 } else { 0.9 };
            }
        }
        f
    }

    #[test]
    fn a_moving_square_is_one_object_with_its_box_and_its_motion() {
        let (w, h) = (64, 48);
        let empty = vec![0.5; w * h];
        let bg = Background::fit([Frame::new(w, h, &empty).unwrap()]).unwrap();
        let before = scene(w, h, 20, 10, 12);
        let after = scene(w, h, 23, 8, 12);
        let config = DetectConfig::default();
        let objects = detect(
            &bg,
            Some(Frame::new(w, h, &before).unwrap()),
            Frame::new(w, h, &after).unwrap(),
            &config,
        );
        assert_eq!(objects.len(), 1, "{objects:?}");
        let o = &objects[0];
        // The 3x3 mean widens the mask by up to a pixel each way.
        assert!(
            (22..=23).contains(&o.x0) && (35..=36).contains(&o.x1),
            "{o:?}"
        );
        assert!(
            (7..=8).contains(&o.y0) && (20..=21).contains(&o.y1),
            "{o:?}"
        );
        assert_eq!((o.dx, o.dy), (3.0, -2.0));
        assert!(o.change > 0.1);
        // Still: no motion, no change.
        let still = detect(
            &bg,
            Some(Frame::new(w, h, &after).unwrap()),
            Frame::new(w, h, &after).unwrap(),
            &config,
        );
        assert_eq!((still[0].dx, still[0].dy, still[0].change), (0.0, 0.0, 0.0));
        // Nothing but the background: no object.
        let none = detect(&bg, None, Frame::new(w, h, &empty).unwrap(), &config);
        assert!(none.is_empty());
    }

    #[test]
    fn the_background_follows_a_change_of_light() {
        let (w, h) = (64, 48);
        let dark = vec![0.3; w * h];
        let bg = Background::fit([Frame::new(w, h, &dark).unwrap()]).unwrap();
        // The light comes up by a fifth of the range, then a square walks in.
        let bright = vec![0.5; w * h];
        let square = scene(w, h, 20, 10, 12);
        for adapt in [0.02, 0.0] {
            let config = DetectConfig {
                adapt,
                ..DetectConfig::default()
            };
            let mut state = SceneState::new(&bg);
            for _ in 0..100 {
                let objects = state.objects(Frame::new(w, h, &bright).unwrap(), &config);
                assert!(objects.is_empty(), "the light is no object");
            }
            let objects = state.objects(Frame::new(w, h, &square).unwrap(), &config);
            if adapt > 0.0 {
                assert_eq!(objects.len(), 1, "{objects:?}");
                assert!((19..=20).contains(&objects[0].x0), "{:?}", objects[0]);
            } else {
                // A background that never follows sees only the changed light.
                assert!(objects.is_empty());
            }
        }
    }

    #[test]
    fn specks_below_the_least_area_are_noise() {
        let (w, h) = (100, 100);
        let empty = vec![0.5; w * h];
        let bg = Background::fit([Frame::new(w, h, &empty).unwrap()]).unwrap();
        let speck = scene(w, h, 50, 50, 2);
        let config = DetectConfig {
            min_area: 0.005, // 50 pixels
            ..DetectConfig::default()
        };
        assert!(detect(&bg, None, Frame::new(w, h, &speck).unwrap(), &config).is_empty());
        let square = scene(w, h, 50, 50, 9);
        assert_eq!(
            detect(&bg, None, Frame::new(w, h, &square).unwrap(), &config).len(),
            1
        );
    }
}
