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
