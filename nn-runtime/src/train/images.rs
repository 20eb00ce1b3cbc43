//! Images as PNG files: a grid of samples (a generator's digits, inputs beside their reconstructions, saliency
//! maps) for looking at what a network does.

use crate::io::write_atomic;
use crate::sample::Sample;
use crate::{Error, Result};
use std::path::Path;

/// Pixels between the images of a grid, and around it.
const GAP: usize = 2;

/// Writes `images` as one PNG grid of `columns` images per row (atomically): each image `shape = [channels,
/// height, width]` values laid out as a network's `[[[f32; W]; H]; C]` input (or any sample of as many values, such
/// as a decoder's `[f32; 784]` output), 1 channel as grey, 3 as colour. Values are brightness in `[0, 1]`;
/// outside it they are clamped, as torchvision's `save_image` does (map a `Tanh` output from `[-1, 1]` first).
/// Images are separated by a grey gap of 2 pixels.
///
/// # Errors
/// [`Error::InvalidSetting`] if `images` is empty, `columns` is 0, `shape` has a zero or a channel count other than
/// 1 or 3, the samples do not hold `C·H·W` values each, or a value is NaN (naming the image and pixel); an I/O
/// error if the file cannot be written.
pub fn write_image_grid<S: Sample>(path: &Path, images: &[S], shape: [usize; 3], columns: usize) -> Result<()> {
    let bad = |problem: String| Error::InvalidSetting { name: "image grid", problem };
    let [channels, height, width] = shape;
    if images.is_empty() || columns == 0 {
        return Err(bad(format!("{} images in {columns} columns: nothing to draw", images.len())));
    }
    if !matches!(channels, 1 | 3) || height == 0 || width == 0 {
        return Err(bad(format!("shape {shape:?}: images have 1 (grey) or 3 (colour) channels and no empty side")));
    }
    let values = S::flat(images);
    let per_image = values.len() / images.len();
    if per_image != channels * height * width {
        return Err(bad(format!(
            "each sample holds {per_image} values, but a {channels}×{height}×{width} image has {}",
            channels * height * width
        )));
    }
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        let (image, pixel) = (i / per_image, i % per_image);
        return Err(bad(format!("image {image} has NaN at value {pixel} (channel-major, as the sample is laid out)")));
    }
    let rows = images.len().div_ceil(columns);
    let columns = columns.min(images.len());
    let (grid_w, grid_h) = (columns * (width + GAP) + GAP, rows * (height + GAP) + GAP);
    let mut pixels = vec![128u8; grid_w * grid_h * channels];
    for (k, image) in values.chunks_exact(per_image).enumerate() {
        let (top, left) = (GAP + (k / columns) * (height + GAP), GAP + (k % columns) * (width + GAP));
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    let v = image[(c * height + y) * width + x].clamp(0.0, 1.0);
                    pixels[((top + y) * grid_w + left + x) * channels + c] = (v * 255.0).round() as u8;
                }
            }
        }
    }
    let mut png = Vec::new();
    let encoded = (|| -> std::result::Result<(), png::EncodingError> {
        let mut encoder = png::Encoder::new(&mut png, grid_w as u32, grid_h as u32);
        encoder.set_color(if channels == 1 { png::ColorType::Grayscale } else { png::ColorType::Rgb });
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&pixels)
    })();
    encoded.map_err(|e| Error::format(path, format!("could not encode the PNG: {e}")))?;
    write_atomic(path, &png)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes a PNG: width, height, colour type and pixels.
    fn decode(path: &Path) -> (u32, u32, png::ColorType, Vec<u8>) {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(info.buffer_size());
        (info.width, info.height, info.color_type, pixels)
    }

    #[test]
    fn a_grid_places_each_image_and_clamps_its_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        // Three 2×3 grey images in two columns: the first all 0, the second all 1, the third out of range.
        let images: Vec<[[[f32; 3]; 2]; 1]> = vec![[[[0.0; 3]; 2]], [[[1.0; 3]; 2]], [[[-5.0, 0.5, 7.0], [0.5; 3]]]];
        write_image_grid(&path, &images, [1, 2, 3], 2).unwrap();
        let (w, h, color, pixels) = decode(&path);
        assert_eq!(
            (w, h, color),
            (2 * (3 + GAP as u32) + GAP as u32, 2 * (2 + GAP as u32) + GAP as u32, png::ColorType::Grayscale)
        );
        let at = |x: usize, y: usize| pixels[y * w as usize + x];
        assert_eq!(at(GAP, GAP), 0, "the first image's corner");
        assert_eq!(at(GAP + 3 + GAP, GAP), 255, "the second image, right of it");
        let third = (GAP, GAP + 2 + GAP);
        assert_eq!([at(third.0, third.1), at(third.0 + 1, third.1), at(third.0 + 2, third.1)], [0, 128, 255]);
        assert_eq!(at(0, 0), 128, "the gap");
        assert_eq!(at(GAP + 3 + GAP, GAP + 2 + GAP), 128, "the empty cell of the last row");
    }

    #[test]
    fn colour_images_are_channel_major_and_vectors_can_be_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rgb.png");
        // One 1×1 image: red 1, green 0, blue 0.5, as a network's [[[f32; 1]; 1]; 3] and as a plain [f32; 3].
        write_image_grid(&path, &[[[[1.0]], [[0.0]], [[0.5]]]], [3, 1, 1], 1).unwrap();
        let (_, _, color, pixels) = decode(&path);
        assert_eq!(color, png::ColorType::Rgb);
        let w = 1 + 2 * GAP;
        assert_eq!(&pixels[(GAP * w + GAP) * 3..][..3], &[255, 0, 128]);
        write_image_grid(&path, &[[1.0f32, 0.0, 0.5]], [3, 1, 1], 1).unwrap();
        assert_eq!(decode(&path).3, pixels);
    }

    #[test]
    fn bad_grids_are_errors_that_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.png");
        let error = |images: &[[f32; 4]], shape, columns| {
            write_image_grid(&path, images, shape, columns).unwrap_err().to_string()
        };
        assert!(error(&[], [1, 2, 2], 2).contains("0 images"));
        assert!(error(&[[0.0; 4]], [1, 2, 2], 0).contains("0 columns"));
        assert!(error(&[[0.0; 4]], [2, 1, 2], 1).contains("1 (grey) or 3 (colour)"));
        assert!(error(&[[0.0; 4]], [1, 3, 3], 1).contains("holds 4 values, but a 1×3×3 image has 9"));
        assert!(error(&[[0.0; 4], [0.0, f32::NAN, 0.0, 0.0]], [1, 2, 2], 2).contains("image 1 has NaN at value 1"));
        assert!(!path.exists(), "nothing is written on error");
    }
}
