//! Figures: per-clip score curves (the paper's Figure 5), ROC curves, training loss.
//!
//! Each `write_*` function picks PNG or SVG from the path's extension and writes
//! atomically: it renders to a temporary file in the same directory and renames it
//! over `path`, so a killed run never leaves half a picture.
//!
//! Text is drawn with DejaVu Sans embedded in this crate (assets/, Bitstream Vera
//! licence) through plotters' `ab_glyph` feature, so no system font or fontconfig is
//! needed.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use thiserror::Error;

use crate::metrics::Roc;

const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// matplotlib's tab10, so our figures read like the ones in the papers we compare to.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Fill of ground-truth anomalous frames on score curves (opaque, so tests can find it).
pub const ANOMALY_SHADE: RGBColor = RGBColor(255, 205, 205);

#[derive(Debug, Error)]
pub enum PlotError {
    #[error("{path}: cannot write a plot as '{extension}': use a .png or .svg file name")]
    UnsupportedFormat { path: PathBuf, extension: String },
    #[error("{path}: {what}")]
    InvalidData { path: PathBuf, what: String },
    #[error("{path}: drawing failed: {message}")]
    Draw { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the embedded DejaVu Sans font could not be loaded")]
    Font,
}

/// One named line: `values[i]` is drawn at x = first x + i.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub name: &'a str,
    pub values: &'a [f64],
}

/// Figure 5 of the paper: scores of one clip against the frame number.
#[derive(Debug, Clone, Copy)]
pub struct ScoreCurve<'a> {
    pub title: &'a str,
    /// e.g. "regularity score s_r".
    pub y_label: &'a str,
    /// Frame number of `values[0]` of every series and of `anomalous[0]`.
    pub first_frame: usize,
    /// Audio, video, joint … scores.
    pub series: &'a [Series<'a>],
    /// Ground truth per frame; `true` frames are shaded. Empty: no shading.
    pub anomalous: &'a [bool],
    /// Decision threshold γ, drawn as a dashed horizontal line.
    pub threshold: Option<f64>,
}

/// One ROC curve; the legend shows its AUC.
#[derive(Debug, Clone, Copy)]
pub struct RocSeries<'a> {
    pub name: &'a str,
    pub roc: &'a Roc,
}

#[derive(Debug, Clone, Copy)]
pub struct RocPlot<'a> {
    pub title: &'a str,
    pub series: &'a [RocSeries<'a>],
}

/// Loss per epoch; epoch 1 is `train[0]`. `validation` may be empty.
#[derive(Debug, Clone, Copy)]
pub struct LossCurve<'a> {
    pub title: &'a str,
    pub train: &'a [f64],
    pub validation: &'a [f64],
}

pub fn write_score_curve(
    plot: &ScoreCurve,
    path: &Path,
    size: (u32, u32),
) -> Result<(), PlotError> {
    if plot.series.iter().all(|s| s.values.is_empty()) {
        return Err(invalid(path, "score curve has no scores to draw"));
    }
    for s in plot.series {
        check_finite(path, s.name, s.values)?;
    }
    if let Some(g) = plot.threshold.filter(|g| !g.is_finite()) {
        return Err(invalid(path, &format!("threshold γ is {g}")));
    }
    write_figure(plot, path, size)
}

pub fn write_roc(plot: &RocPlot, path: &Path, size: (u32, u32)) -> Result<(), PlotError> {
    if plot.series.is_empty() {
        return Err(invalid(path, "ROC plot has no curves to draw"));
    }
    for s in plot.series {
        let r = s.roc;
        if r.fpr.len() != r.tpr.len() || r.fpr.is_empty() {
            return Err(invalid(
                path,
                &format!(
                    "ROC '{}' has {} FPRs and {} TPRs",
                    s.name,
                    r.fpr.len(),
                    r.tpr.len()
                ),
            ));
        }
        check_finite(path, s.name, &r.fpr)?;
        check_finite(path, s.name, &r.tpr)?;
    }
    write_figure(plot, path, size)
}

pub fn write_loss_curve(plot: &LossCurve, path: &Path, size: (u32, u32)) -> Result<(), PlotError> {
    if plot.train.is_empty() && plot.validation.is_empty() {
        return Err(invalid(path, "loss curve has no epochs to draw"));
    }
    check_finite(path, "train", plot.train)?;
    check_finite(path, "validation", plot.validation)?;
    write_figure(plot, path, size)
}

fn invalid(path: &Path, what: &str) -> PlotError {
    PlotError::InvalidData {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

fn check_finite(path: &Path, name: &str, values: &[f64]) -> Result<(), PlotError> {
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((i, v)) => Err(invalid(path, &format!("series '{name}' value {i} is {v}"))),
        None => Ok(()),
    }
}

fn register_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Font)
    }
}

trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

fn draw_error<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

enum Format {
    Png,
    Svg,
}

fn write_figure<F: Figure>(figure: &F, path: &Path, size: (u32, u32)) -> Result<(), PlotError> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let format = match extension.as_str() {
        "png" => Format::Png,
        "svg" => Format::Svg,
        _ => {
            return Err(PlotError::UnsupportedFormat {
                path: path.to_path_buf(),
                extension,
            })
        }
    };
    if size.0 < 200 || size.1 < 150 {
        return Err(invalid(
            path,
            &format!(
                "plot size {}x{} is too small (at least 200x150)",
                size.0, size.1
            ),
        ));
    }
    register_font()?;
    avad_atomic::write_with(path, |tmp| match format {
        Format::Png => {
            let mut rgb = vec![0u8; size.0 as usize * size.1 as usize * 3];
            let drawn = {
                let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
                figure
                    .draw(&root)
                    .and_then(|()| root.present().map_err(draw_error))
            };
            drawn.and_then(|()| {
                image::save_buffer_with_format(
                    tmp,
                    &rgb,
                    size.0,
                    size.1,
                    image::ExtendedColorType::Rgb8,
                    image::ImageFormat::Png,
                )
                .map_err(|e| e.to_string())
            })
        }
        Format::Svg => {
            let mut svg = String::new();
            let drawn = {
                let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
                figure
                    .draw(&root)
                    .and_then(|()| root.present().map_err(draw_error))
            };
            drawn.and_then(|()| std::fs::write(tmp, svg).map_err(|e| e.to_string()))
        }
    })
    .map_err(|e| match e {
        avad_atomic::AtomicError::Write(message) => PlotError::Draw {
            path: path.to_path_buf(),
            message,
        },
        avad_atomic::AtomicError::Io { path, error } => PlotError::Io {
            path,
            source: error,
        },
    })
}

/// Range of `values` padded by 5 % each side; a flat range is widened to ±0.5.
fn padded_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_nan() || hi.is_nan() || lo > hi {
        // No values at all.
        return 0.0..1.0;
    }
    if hi - lo < 1e-12 {
        return lo - 0.5..hi + 0.5;
    }
    let pad = 0.05 * (hi - lo);
    lo - pad..hi + pad
}

/// Runs of consecutive `true`: (first index, last index), inclusive.
fn true_runs(flags: &[bool]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &f) in flags.iter().enumerate() {
        match (f, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, flags.len() - 1));
    }
    runs
}

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn legend_line(c: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3))
}

impl Figure for ScoreCurve<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_error)?;
        let first = self.first_frame as f64;
        let frames = self
            .series
            .iter()
            .map(|s| s.values.len())
            .chain([self.anomalous.len()])
            .max()
            .unwrap_or(1);
        let x_range = first - 0.5..first + frames.max(1) as f64 - 0.5;
        let values = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .chain(self.threshold);
        let y_range = padded_range(values);
        let (y0, y1) = (y_range.start, y_range.end);

        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FONT, 24))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(x_range, y_range)
            .map_err(draw_error)?;

        let runs = true_runs(self.anomalous);
        if !runs.is_empty() {
            chart
                .draw_series(runs.iter().map(|&(a, b)| {
                    Rectangle::new(
                        [(first + a as f64 - 0.5, y0), (first + b as f64 + 0.5, y1)],
                        ANOMALY_SHADE.filled(),
                    )
                }))
                .map_err(draw_error)?
                .label("anomalous (ground truth)")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 20, y + 6)], ANOMALY_SHADE.filled())
                });
        }

        chart
            .configure_mesh()
            .x_desc("frame")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(self.y_label)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(draw_error)?;

        for (i, s) in self.series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(
                    s.values
                        .iter()
                        .enumerate()
                        .map(|(k, &v)| (first + k as f64, v)),
                    c.stroke_width(2),
                ))
                .map_err(draw_error)?
                .label(s.name)
                .legend(legend_line(c));
        }

        if let Some(g) = self.threshold {
            let end = first + frames as f64 - 0.5;
            chart
                .draw_series(DashedLineSeries::new(
                    [(first - 0.5, g), (end, g)],
                    10,
                    6,
                    BLACK.stroke_width(2),
                ))
                .map_err(draw_error)?
                .label(format!("threshold γ = {g:.3}"))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2))
                });
        }

        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_error)
    }
}

impl Figure for RocPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_error)?;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FONT, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..1.0, 0.0..1.0)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("false positive rate")
            .y_desc("true positive rate")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                8,
                6,
                RGBColor(150, 150, 150).stroke_width(1),
            ))
            .map_err(draw_error)?
            .label("chance (AUC = 0.500)")
            .legend(|(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    RGBColor(150, 150, 150).stroke_width(1),
                )
            });
        for (i, s) in self.series.iter().enumerate() {
            let c = color(i);
            chart
                .draw_series(LineSeries::new(
                    s.roc.fpr.iter().zip(&s.roc.tpr).map(|(&f, &t)| (f, t)),
                    c.stroke_width(2),
                ))
                .map_err(draw_error)?
                .label(format!("{} (AUC = {:.3})", s.name, s.roc.auc()))
                .legend(legend_line(c));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_error)
    }
}

impl Figure for LossCurve<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(draw_error)?;
        let epochs = self.train.len().max(self.validation.len());
        let y_range = padded_range(self.train.iter().chain(self.validation).copied());
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, (FONT, 24))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d(0.5..epochs as f64 + 0.5, y_range)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc("loss")
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .light_line_style(TRANSPARENT)
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .map_err(draw_error)?;
        for (i, (name, values)) in [("train", self.train), ("validation", self.validation)]
            .into_iter()
            .enumerate()
        {
            if values.is_empty() {
                continue;
            }
            let c = color(i);
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .map(|(k, &v)| ((k + 1) as f64, v))
                .collect();
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                .map_err(draw_error)?
                .label(name)
                .legend(legend_line(c));
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                .map_err(draw_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_anomalous_frames() {
        assert_eq!(true_runs(&[]), vec![]);
        assert_eq!(
            true_runs(&[true, true, false, true, false, false, true]),
            vec![(0, 1), (3, 3), (6, 6)]
        );
    }
}
