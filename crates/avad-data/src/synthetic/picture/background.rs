//! The empty scene the figures walk over.

use super::{Canvas, Geometry};
use crate::synthetic::{Rng, SceneConfig, Stream};

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
pub(super) fn background(config: &SceneConfig, geo: &Geometry) -> Vec<f32> {
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
