//! Painting anti-aliased shapes, and the masks of what they cover.

/// A gray-level canvas that paints anti-aliased shapes given by signed distance functions,
/// and, while `masking`, marks the pixels a shape covers at least half.
pub(super) struct Canvas<'a> {
    pub(super) w: usize,
    pub(super) h: usize,
    pub(super) px: &'a mut [f32],
    pub(super) mask: &'a mut [bool],
    pub(super) masking: bool,
    pub(super) covered: usize,
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

    pub(super) fn ellipse(&mut self, [cx, cy]: [f32; 2], rx: f32, ry: f32, value: f32) {
        let r = rx.min(ry);
        self.paint([cx - rx, cy - ry, cx + rx, cy + ry], value, |x, y| {
            let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
            ((dx * dx + dy * dy).sqrt() - 1.0) * r
        });
    }

    pub(super) fn disc(&mut self, centre: [f32; 2], r: f32, value: f32) {
        self.ellipse(centre, r, r, value);
    }

    /// A thick line segment with round ends (a limb, a tube).
    pub(super) fn capsule(&mut self, [ax, ay]: [f32; 2], [bx, by]: [f32; 2], r: f32, value: f32) {
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

    pub(super) fn ring(&mut self, [cx, cy]: [f32; 2], r: f32, thickness: f32, value: f32) {
        let outer = r + thickness;
        self.paint(
            [cx - outer, cy - outer, cx + outer, cy + outer],
            value,
            |x, y| ((x - cx).hypot(y - cy) - r).abs() - 0.5 * thickness,
        );
    }

    pub(super) fn rect(&mut self, [cx, cy]: [f32; 2], [hx, hy]: [f32; 2], value: f32) {
        self.paint([cx - hx, cy - hy, cx + hx, cy + hy], value, |x, y| {
            let (qx, qy) = ((x - cx).abs() - hx, (y - cy).abs() - hy);
            qx.max(0.0).hypot(qy.max(0.0)) + qx.max(qy).min(0.0)
        });
    }
}
