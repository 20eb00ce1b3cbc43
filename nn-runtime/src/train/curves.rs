//! Loss and accuracy curves, other line plots, and scatter plots of points by class (a latent space), as SVG
//! (plotters).

use super::history::History;
use crate::io::write_atomic;
use crate::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One line of a plot: its name and its `(x, y)` points.
pub type Line<'a> = (&'a str, &'a [(f32, f32)]);

type Drawn = std::result::Result<(), Box<dyn std::error::Error>>;

/// A line kept for drawing: name, drawable points, colour.
type Kept<'a> = (&'a str, Vec<(f32, f32)>, RGBColor);

/// Draws the training and validation loss (left) and accuracy (right) per epoch into an SVG file (atomically).
pub fn write_curves(history: &History, path: &Path) -> Result<()> {
    let mut svg = String::new();
    draw_curves(history, &mut svg).map_err(|e| Error::format(path, format!("could not draw the curves: {e}")))?;
    write_atomic(path, svg.as_bytes())
}

fn draw_curves(history: &History, svg: &mut String) -> Drawn {
    let root = SVGBackend::with_string(svg, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let points = |f: &dyn Fn(&super::EpochRecord) -> Option<f32>| -> Vec<(f32, f32)> {
        history.epochs.iter().filter_map(|r| f(r).map(|v| (r.epoch as f32, v))).collect()
    };
    let (train, valid) = (points(&|r| Some(r.train_loss)), points(&|r| r.valid_loss));
    chart(&left, "loss", ("epoch", ""), &[("train loss", &train), ("validation loss", &valid)], false)?;
    let (train, valid) = (points(&|r| r.train_accuracy), points(&|r| r.valid_accuracy));
    chart(&right, "accuracy", ("epoch", ""), &[("train accuracy", &train), ("validation accuracy", &valid)], false)?;
    root.present()?;
    Ok(())
}

/// Draws `lines` into an SVG file (atomically) under `title`, with axis names `x_label` and `y_label`; with
/// `log_y`, the y axis is logarithmic (points with `y ≤ 0` or not finite are left out). Used by the examples for
/// per-step gradient norms and comparisons; [`write_curves`] draws a training history.
///
/// # Errors
/// [`Error::Io`](crate::Error) if the file cannot be written, a format error if no line has a point to draw.
pub fn write_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Line<'_>],
    log_y: bool,
) -> Result<()> {
    let drawable = |&(x, y): &(f32, f32)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    if !lines.iter().any(|(_, points)| points.iter().any(drawable)) {
        return Err(Error::format(path, "could not draw the plot: no finite points"));
    }
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (800, 480)).into_drawing_area();
    let drawn = root
        .fill(&WHITE)
        .map_err(Into::into)
        .and_then(|()| chart(&root, title, (x_label, y_label), lines, log_y))
        .and_then(|()| root.present().map_err(Into::into));
    drawn.map_err(|e| Error::format(path, format!("could not draw the plot: {e}")))?;
    drop(root);
    write_atomic(path, svg.as_bytes())
}

/// Draws `points` into an SVG file (atomically) under `title`, each coloured by its class in `classes` (one per
/// point, below 10; a legend names them): a 2-D latent space — an autoencoder's or a VAE's codes of test images,
/// by digit. Points that are not finite are left out.
///
/// # Errors
/// [`Error::InvalidSetting`] if `classes` is not one per point or holds a class of 10 or more; a format error if
/// no point is finite; [`Error::Io`](crate::Error) if the file cannot be written.
pub fn write_scatter(path: &Path, title: &str, points: &[(f32, f32)], classes: &[usize]) -> Result<()> {
    let bad = |problem: String| Error::InvalidSetting { name: "scatter plot", problem };
    if classes.len() != points.len() {
        return Err(bad(format!("{} points but {} classes; give one class per point", points.len(), classes.len())));
    }
    if let Some(i) = classes.iter().position(|&c| c >= SCATTER_PALETTE.len()) {
        return Err(bad(format!("point {i} has class {}; classes are 0 to 9", classes[i])));
    }
    let kept: Vec<((f32, f32), usize)> = points
        .iter()
        .copied()
        .zip(classes.iter().copied())
        .filter(|((x, y), _)| x.is_finite() && y.is_finite())
        .collect();
    if kept.is_empty() {
        return Err(Error::format(path, "could not draw the scatter plot: no finite points"));
    }
    let fold = |f: fn(&((f32, f32), usize)) -> f32| {
        kept.iter().map(f).fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let pad = |(lo, hi): (f32, f32)| {
        let margin = ((hi - lo) * 0.05).max(1e-3);
        (lo - margin, hi + margin)
    };
    let ((x_lo, x_hi), (y_lo, y_hi)) = (pad(fold(|p| p.0 .0)), pad(fold(|p| p.0 .1)));
    let mut svg = String::new();
    let root = SVGBackend::with_string(&mut svg, (720, 640)).into_drawing_area();
    let drawn = (|| -> Drawn {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x_lo..x_hi, y_lo..y_hi)?;
        chart.configure_mesh().draw()?;
        for (class, &color) in SCATTER_PALETTE.iter().enumerate() {
            if !kept.iter().any(|&(_, c)| c == class) {
                continue;
            }
            let mine = kept.iter().filter(|&&(_, c)| c == class).map(|&(p, _)| p);
            chart
                .draw_series(mine.map(|p| Circle::new(p, 2, color.filled())))?
                .label(class.to_string())
                .legend(move |(x, y)| Circle::new((x, y), 4, color.filled()));
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
        root.present()?;
        Ok(())
    })();
    drawn.map_err(|e| Error::format(path, format!("could not draw the scatter plot: {e}")))?;
    drop(root);
    write_atomic(path, svg.as_bytes())
}

/// Colours of the classes of a scatter plot (matplotlib's `tab10`).
const SCATTER_PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colours of successive lines.
const PALETTE: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

/// One chart of `lines` in `area`; lines without a drawable point are left out, an empty chart has axes only.
fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    (x_label, y_label): (&str, &str),
    lines: &[Line<'_>],
    log_y: bool,
) -> Drawn
where
    DB::ErrorType: 'static,
{
    let keep = |&(x, y): &(f32, f32)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let lines: Vec<Kept<'_>> = lines
        .iter()
        .zip(PALETTE.iter().cycle())
        .map(|((name, points), &color)| (*name, points.iter().copied().filter(keep).collect::<Vec<_>>(), color))
        .filter(|(_, points, _)| !points.is_empty())
        .collect();
    let fold = |f: fn(&(f32, f32)) -> f32| {
        lines
            .iter()
            .flat_map(|l| l.1.iter())
            .map(f)
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let ((x_lo, x_hi), (y_lo, y_hi)) = (fold(|p| p.0), fold(|p| p.1));
    let (x_lo, x_hi) = if x_lo.is_finite() { (x_lo, x_hi.max(x_lo + 1.0)) } else { (0.0, 1.0) };
    let (y_lo, y_hi) = if y_lo.is_finite() { (y_lo, y_hi) } else { (0.1, 1.0) };
    let mut builder = ChartBuilder::on(area);
    builder.caption(title, ("sans-serif", 20)).margin(15).x_label_area_size(40).y_label_area_size(70);
    // Both axis kinds draw the same way; plotters gives them different types.
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw()?;
            for (name, points, color) in &lines {
                let color = *color;
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            }
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
        }};
    }
    if log_y {
        let (lo, hi) = (y_lo * 0.8, if y_hi > y_lo { y_hi * 1.25 } else { y_lo * 2.0 });
        draw!(builder.build_cartesian_2d(x_lo..x_hi, (lo..hi).log_scale())?);
    } else {
        let pad = ((y_hi - y_lo) * 0.05).max(1e-3);
        draw!(builder.build_cartesian_2d(x_lo..x_hi, (y_lo - pad)..(y_hi + pad))?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plots_draw_every_named_line_and_refuse_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.svg");
        let a = [(1.0, 1e-3), (2.0, 1e-1), (3.0, 0.0)];
        let b = [(1.0, 2.0), (3.0, 4.0)];
        write_plot(&path, "norms", "step", "norm", &[("first", &a), ("second", &b)], true).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains("first") && svg.contains("second") && svg.contains("norms"));
        let nothing = [(1.0, 0.0), (2.0, f32::NAN)];
        assert!(write_plot(&dir.path().join("none.svg"), "t", "x", "y", &[("zero", &nothing)], true).is_err());
        assert!(!dir.path().join("none.svg").exists());
    }

    #[test]
    fn scatter_plots_colour_points_by_class_and_refuse_bad_classes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latent.svg");
        let points = [(0.0, 0.0), (1.0, 2.0), (-1.0, 0.5), (f32::NAN, 1.0)];
        write_scatter(&path, "codes", &points, &[0, 3, 3, 9]).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.contains("codes"));
        // Three finite points, each a circle in its class's colour; the legend names the classes drawn.
        assert_eq!(svg.matches("<circle").count(), 3 + 2, "{svg}");
        assert!(svg.contains("#1F77B4") && svg.contains("#D62728"), "tab10's blue (0) and red (3)");
        let error = |classes: &[usize]| write_scatter(&dir.path().join("bad.svg"), "t", &points, classes).unwrap_err();
        assert!(error(&[0, 1]).to_string().contains("4 points but 2 classes"));
        assert!(error(&[0, 1, 10, 2]).to_string().contains("point 2 has class 10"));
        assert!(write_scatter(&dir.path().join("bad.svg"), "t", &[(f32::NAN, 0.0)], &[1]).is_err());
        assert!(!dir.path().join("bad.svg").exists());
    }
}
