//! The layout of the view: the walkway, its lanes, perspective.

use crate::synthetic::SceneConfig;

/// The layout of the view in pixels. The walkway crosses the frame left to right and
/// narrows a little towards the right, as a fixed camera looking along it at an angle sees it.
pub(super) struct Geometry {
    pub(super) w: f32,
    pub(super) h: f32,
    /// Pixels per design unit: the figures are designed for a 120-pixel-high frame.
    pub(super) size: f32,
    /// Speed factor: walking pace is 1-1.5 px/frame at 160 px width.
    pub(super) speed: f32,
    /// How far outside the view objects appear and disappear.
    pub(super) margin: f32,
}

impl Geometry {
    pub(super) fn new(config: &SceneConfig) -> Self {
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

    pub(super) fn walk_top(&self, x: f32) -> f32 {
        self.h * (0.36 - 0.06 * x / self.w)
    }

    pub(super) fn walk_bottom(&self, x: f32) -> f32 {
        self.h * (0.93 - 0.08 * x / self.w)
    }

    /// Ground height of lane `u` (0 the far side of the walkway, 1 the near side) at `x`.
    pub(super) fn lane_y(&self, x: f32, u: f32) -> f32 {
        let top = self.walk_top(x) + 6.0 * self.size;
        let bottom = self.walk_bottom(x) - 2.0 * self.size;
        top + (bottom - top) * u
    }

    /// Perspective: nearer objects (lower in the frame) look bigger.
    pub(super) fn depth_scale(&self, y: f32) -> f32 {
        self.size * (0.8 + 0.35 * (y / self.h).clamp(0.0, 1.0))
    }

    /// 1 inside the view, falling to 0 one margin outside it.
    pub(super) fn in_view(&self, [x, y]: [f32; 2]) -> f32 {
        let outside = (-x).max(x - self.w).max(-y).max(y - self.h).max(0.0);
        (1.0 - outside / self.margin).max(0.0)
    }
}
