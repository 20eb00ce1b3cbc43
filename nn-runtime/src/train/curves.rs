//! Loss and accuracy curves as SVG (plotters).

use super::history::History;
use crate::io::write_atomic;
use crate::{Error, Result};
use plotters::prelude::*;
use std::path::Path;

/// Draws the training and validation loss (left) and accuracy (right) per epoch into an SVG file (atomically).
pub fn write_curves(history: &History, path: &Path) -> Result<()> {
    let mut svg = String::new();
    draw(history, &mut svg).map_err(|e| Error::format(path, format!("could not draw the curves: {e}")))?;
    write_atomic(path, svg.as_bytes())
}

type Series = (&'static str, RGBColor, Vec<(f32, f32)>);

fn draw(history: &History, svg: &mut String) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::with_string(svg, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let points = |f: &dyn Fn(&super::EpochRecord) -> Option<f32>| -> Vec<(f32, f32)> {
        history.epochs.iter().filter_map(|r| f(r).map(|v| (r.epoch as f32, v))).collect()
    };
    let losses: Vec<Series> = vec![
        ("train loss", BLUE, points(&|r| Some(r.train_loss))),
        ("validation loss", RED, points(&|r| r.valid_loss)),
    ];
    let accuracies: Vec<Series> = vec![
        ("train accuracy", BLUE, points(&|r| r.train_accuracy)),
        ("validation accuracy", RED, points(&|r| r.valid_accuracy)),
    ];
    panel(&left, "loss", &losses)?;
    panel(&right, "accuracy", &accuracies)?;
    root.present()?;
    Ok(())
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    series: &[Series],
) -> std::result::Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    let all: Vec<(f32, f32)> = series.iter().flat_map(|s| s.2.iter().copied()).collect();
    let last = all.iter().map(|p| p.0).fold(1.0f32, f32::max);
    let (lo, hi) = all.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .build_cartesian_2d(1f32..last.max(2.0), (lo - pad)..(hi + pad))?;
    chart.configure_mesh().x_desc("epoch").draw()?;
    for (name, color, points) in series.iter().filter(|s| !s.2.is_empty()) {
        let color = *color;
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    Ok(())
}

/// One line of a [`write_plot`]: its name and its `(x, y)` points.
pub type Line<'a> = (&'a str, &'a [(f32, f32)]);

/// Draws `lines` into an SVG file (atomically) under `title`, with axis names `x_label` and `y_label`; with
/// `log_y`, the y axis is logarithmic (points with `y ≤ 0` or not finite are left out). Used by the examples for
/// per-step gradient norms and comparisons; [`write_curves`] draws a training history.
///
/// # Errors
/// [`Error::Io`](crate::Error) if the file cannot be written, a format error if there is nothing to draw.
pub fn write_plot(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    lines: &[Line<'_>],
    log_y: bool,
) -> Result<()> {
    let mut svg = String::new();
    draw_lines(&mut svg, title, (x_label, y_label), lines, log_y)
        .map_err(|e| Error::format(path, format!("could not draw the plot: {e}")))?;
    write_atomic(path, svg.as_bytes())
}

/// Colours of successive lines.
const PALETTE: [RGBColor; 6] = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];

fn draw_lines(
    svg: &mut String,
    title: &str,
    (x_label, y_label): (&str, &str),
    lines: &[Line<'_>],
    log_y: bool,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let keep = |&(x, y): &(f32, f32)| x.is_finite() && y.is_finite() && (!log_y || y > 0.0);
    let lines: Vec<(&str, Vec<(f32, f32)>)> =
        lines.iter().map(|(name, points)| (*name, points.iter().copied().filter(keep).collect())).collect();
    let all: Vec<(f32, f32)> = lines.iter().flat_map(|l| l.1.iter().copied()).collect();
    if all.is_empty() {
        return Err("no finite points".into());
    }
    let fold = |f: fn(&(f32, f32)) -> f32| {
        all.iter().map(f).fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let ((x_lo, x_hi), (y_lo, y_hi)) = (fold(|p| p.0), fold(|p| p.1));
    let x_hi = if x_hi > x_lo { x_hi } else { x_lo + 1.0 };
    let root = SVGBackend::with_string(svg, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder.caption(title, ("sans-serif", 20)).margin(15).x_label_area_size(40).y_label_area_size(70);
    // Both axis kinds draw the same way; plotters gives them different types.
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw()?;
            for ((name, points), color) in lines.iter().zip(PALETTE.iter().cycle()) {
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
    root.present()?;
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
}
