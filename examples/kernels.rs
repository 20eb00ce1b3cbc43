//! The classic fixed convolution kernels — 5×5 mean blur, 5×5 Gaussian (weights /273), sharpen, horizontal and
//! vertical Sobel — loaded into one `Conv2d` layer and applied to a mosaic of digits, each written as a PNG.
//!
//! `cargo run --release --example kernels -- [--data DIR] [--out DIR]`

mod common;

use nn::prelude::*;
use std::path::Path;

/// Mosaic side: 4×4 digits of 28 pixels.
const SIDE: usize = 112;

network! {
    /// Five 5×5 filters, zero-padded so the output keeps the input's size.
    pub struct Filters {
        Input<1, 112, 112> -> conv: Conv2d<1, 5, 5, padding = 2, bias = false>
    }
}

/// The kernels, each padded to 5×5 (3×3 kernels sit in the centre).
fn kernels() -> [(&'static str, [[f32; 5]; 5]); 5] {
    let mean = [[1.0 / 25.0; 5]; 5];
    let g = [
        [1.0, 4.0, 7.0, 4.0, 1.0],
        [4.0, 16.0, 26.0, 16.0, 4.0],
        [7.0, 26.0, 41.0, 26.0, 7.0],
        [4.0, 16.0, 26.0, 16.0, 4.0],
        [1.0, 4.0, 7.0, 4.0, 1.0],
    ];
    let gaussian = g.map(|row| row.map(|v| v / 273.0));
    let centre = |k: [[f32; 3]; 3]| {
        let mut out = [[0.0; 5]; 5];
        for (i, row) in k.iter().enumerate() {
            out[i + 1][1..4].copy_from_slice(row);
        }
        out
    };
    [
        ("mean_blur", mean),
        ("gaussian", gaussian),
        ("sharpen", centre([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]])),
        ("sobel_horizontal", centre([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]])),
        ("sobel_vertical", centre([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])),
    ]
}

/// Writes a grey PNG, mapping `[lo, hi]` to 0..255.
fn write_png(path: &Path, pixels: &[[f32; SIDE]; SIDE], lo: f32, hi: f32) -> std::io::Result<()> {
    let bytes: Vec<u8> =
        pixels.iter().flatten().map(|&v| (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8).collect();
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, SIDE as u32, SIDE as u32);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer.write_image_data(&bytes).map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

fn main() {
    let args = common::parse("kernels", "data/mnist-sample", 0);
    let (_, test) = load_mnist::<[[f32; 28]; 28]>(&args.data).unwrap_or_else(|e| common::fail(e));
    if test.len() < 16 {
        common::fail("need at least 16 test images for the mosaic");
    }
    let mut image = [[[0.0f32; SIDE]; SIDE]; 1];
    for (k, digit) in test.inputs.iter().take(16).enumerate() {
        let (r, c) = (k / 4 * 28, k % 4 * 28);
        for (i, row) in digit.iter().enumerate() {
            image[0][r + i][c..c + 28].copy_from_slice(row);
        }
    }
    let mut net = Filters::new(0);
    let conv = net.conv;
    let weights = conv.weight_mut(&mut net.params);
    for (w, (_, k)) in weights.iter_mut().zip(kernels()) {
        w[0] = k;
    }
    let out = net.forward(&image);
    let write = |name: &str, pixels: &[[f32; SIDE]; SIDE], lo, hi| {
        let path = args.out.join(format!("{name}.png"));
        write_png(&path, pixels, lo, hi).unwrap_or_else(|e| common::fail(format!("{}: {e}", path.display())));
        println!("wrote {}", path.display());
    };
    write("original", &image[0], 0.0, 1.0);
    for (plane, (name, _)) in out.iter().zip(kernels()) {
        // Edge detectors give signed responses: show their magnitude.
        let shown = if name.starts_with("sobel") { plane.map(|row| row.map(f32::abs)) } else { *plane };
        let hi = shown.iter().flatten().fold(1e-6f32, |m, &v| m.max(v));
        write(name, &shown, 0.0, hi);
    }
}
